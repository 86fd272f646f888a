//! `cutover rollback`: one customer, a batch or everything, confirmed, then verified.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use crate::args::{Cli, RollbackArgs};
use crate::workspace::{open, refuse_readonly};
use crate::{Usage, outln};
use cutover_core::engine::rollback;

/// Rolls back what `a` names, after confirmation.
///
/// Errors: bad usage, nothing to roll back, a batch in flight, a database failing.
pub async fn run(cli: &Cli, a: &RollbackArgs) -> eyre::Result<ExitCode> {
    refuse_readonly(cli, "rollback")?;
    let scope = match (&a.customer, &a.batch, a.all) {
        (Some(c), None, false) => rollback::Scope::Customer(c.clone()),
        (None, Some(b), false) => rollback::Scope::Batch(b.clone()),
        (None, None, true) => rollback::Scope::All,
        _ => {
            return Err(Usage(
                "rollback takes exactly one of --customer ID, --batch ID, --all".into(),
            )
            .into());
        }
    };
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Usage(format!(
                "rollback of {} needs confirmation: pass --yes",
                scope.label()
            ))
            .into());
        }
        eprint!("Roll back {}? Type yes to confirm: ", scope.label());
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        if line.trim() != "yes" {
            eprintln!("cancelled");
            return Ok(ExitCode::from(1));
        }
    }
    let ctx = open(cli).await?;
    let reason = if a.yes {
        "confirmed with --yes"
    } else {
        "confirmed at the prompt"
    };
    let r = rollback::rollback(&ctx, &scope, reason).await?;
    outln!(
        "rolled back {} customers ({}) in {:.2}s; {} unverified",
        r.rolled_back,
        r.scope,
        r.seconds,
        r.unverified.len()
    );
    for (c, why) in &r.unverified {
        outln!("  customer {c}: {why}");
    }
    if !r.unverified.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

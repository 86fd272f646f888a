//! `cutover rollback`: one customer, a batch, a wave or everything; its blast radius shown,
//! confirmed, then verified.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use crate::args::{Cli, RollbackArgs};
use crate::workspace::{open_as_worker, refuse_readonly};
use crate::{Usage, outln};
use cutover_core::engine::rollback;

/// Rolls back what `a` names, after showing its blast radius and a confirmation; with
/// `--dry-run` only shows the radius.
///
/// Errors: bad usage, an unknown customer, batch or wave, nothing to roll back, a batch in
/// flight, a database failing.
pub async fn run(cli: &Cli, a: &RollbackArgs) -> eyre::Result<ExitCode> {
    let scope = match (&a.customer, &a.batch, &a.segment, a.all) {
        (Some(c), None, None, false) => rollback::Scope::Customer(c.clone()),
        (None, Some(b), None, false) => rollback::Scope::Batch(b.clone()),
        (None, None, Some(s), false) => rollback::Scope::Segment(s.clone()),
        (None, None, None, true) => rollback::Scope::All,
        _ => {
            return Err(Usage(
                "rollback takes exactly one of --customer ID, --batch ID, --segment NAME, --all"
                    .into(),
            )
            .into());
        }
    };
    if !a.dry_run {
        refuse_readonly(cli, "rollback")?;
        if !a.yes && !std::io::stdin().is_terminal() {
            return Err(Usage(format!(
                "rollback of {} needs confirmation: pass --yes (or --dry-run to see what it touches)",
                scope.label()
            ))
            .into());
        }
    }
    let ctx = open_as_worker(cli).await?;
    if !a.dry_run {
        // Refused before anything is read or asked: only on-call and admin roll back.
        ctx.require(cutover_core::roles::Action::Rollback, &scope.label())
            .await?;
    }
    let radius = rollback::blast_radius(&ctx, &scope).await?;
    if a.dry_run {
        if a.json {
            outln!("{}", serde_json::to_string_pretty(&radius)?);
        } else {
            outln!(
                "rollback of {} would touch (nothing changed):",
                radius.scope
            );
            for l in radius.lines() {
                outln!("  {l}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if radius.customers == 0 {
        eyre::bail!(
            "{}: nothing to roll back (no customer in it was migrated or started)",
            scope.label()
        );
    }
    if !a.yes {
        eprintln!("Rollback of {}:", radius.scope);
        for l in radius.lines() {
            eprintln!("  {l}");
        }
        eprint!("Type yes to roll back: ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        if line.trim() != "yes" {
            eprintln!("cancelled");
            return Ok(ExitCode::from(1));
        }
    }
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
    outln!("`cutover plan` requeues the customers rolled back; `cutover run` migrates them again");
    Ok(ExitCode::SUCCESS)
}

//! `cutover plans`: success plans with their milestone progress.

use std::process::ExitCode;

use crate::args::Cli;
use crate::outln;
use crate::workspace::open;
use cutover_core::engine::status;

/// Lists success plans.
///
/// Errors: the state database failing.
pub async fn run(cli: &Cli, json: bool) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let as_of = ctx.cfg.as_of().format("%Y-%m-%d").to_string();
    let plans = status::plans(&ctx.state, "", &as_of, i64::MAX).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&plans)?);
    } else {
        outln!(
            "{:<5} {:<26} {:<11} {:<10} {:<14} {:>9} {:<10} {:>7}",
            "id",
            "plan",
            "type",
            "status",
            "owner",
            "progress",
            "next due",
            "overdue"
        );
        for p in &plans {
            outln!(
                "{:<5} {:<26} {:<11} {:<10} {:<14} {:>5}/{:<3} {:<10} {:>7}",
                p.id,
                p.title,
                p.kind,
                p.status,
                p.owner,
                p.completed,
                p.milestones,
                p.next_due.as_deref().unwrap_or("-"),
                p.overdue
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

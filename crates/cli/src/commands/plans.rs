//! `cutover plans`: success plans with their milestone progress.

use std::process::ExitCode;

use crate::args::Cli;
use crate::outln;
use crate::workspace::open;
use cutover_core::engine::status;

/// `plans new` and `plans set`: opens a plan, or moves one to a status, as the operator.
///
/// Errors: the operator may not edit plans; no such customer, template or plan; a status
/// move the lifecycle refuses (named in the message).
pub async fn act(cli: &Cli, cmd: &crate::args::PlansCmd) -> eyre::Result<ExitCode> {
    use crate::args::PlansCmd;
    use cutover_core::plans::{self, PlanStatus};
    let ctx = open(cli).await?;
    match cmd {
        PlansCmd::New {
            customer,
            template,
            owner,
            draft,
        } => {
            let new = plans::NewPlan {
                customer,
                template,
                owner: owner.as_deref(),
                draft: *draft,
            };
            let (id, created) = plans::open(&ctx, &new, &ctx.actor).await?;
            let d = plans::detail(
                &ctx.state,
                id,
                &ctx.cfg.as_of().format("%Y-%m-%d").to_string(),
            )
            .await?
            .ok_or_else(|| eyre::eyre!("plan {id} vanished"))?;
            outln!(
                "plan {id} {} for customer {customer}: {}, owner {}",
                if created { "opened" } else { "already there" },
                d.status.as_str(),
                d.owner
            );
            for m in &d.milestones {
                outln!(
                    "  {:>2}. {:<50} due {}  {}",
                    m.seq,
                    m.title,
                    m.due_on,
                    m.status.as_str()
                );
            }
        }
        PlansCmd::Set {
            plan,
            status,
            reason,
        } => {
            let Some(to) = PlanStatus::parse(&status.replace(' ', "_")) else {
                eyre::bail!(
                    "plan status `{status}` is not one of {}",
                    PlanStatus::ALL.map(PlanStatus::as_str).join(", ")
                );
            };
            outln!(
                "{}",
                plans::set_status(&ctx, *plan, to, reason, &ctx.actor).await?
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Lists success plans.
///
/// Errors: the state database failing.
pub async fn run(cli: &Cli, json: bool, filter: &str) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let as_of = ctx.cfg.as_of().format("%Y-%m-%d").to_string();
    let plans = status::plans(&ctx.state, filter, &as_of, i64::MAX).await?;
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

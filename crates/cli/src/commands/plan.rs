//! `cutover plan`: mapping → metrics → audit → segments → waves → batches.

use std::process::ExitCode;

use crate::args::Cli;
use crate::outln;
use crate::workspace::{refuse_readonly, resolve_config, warn_exposed};
use cutover_core::engine::{Ctx, plan};

/// Plans the workspace, printing a summary (or JSON).
///
/// Errors: see [`plan::plan`].
pub async fn run(cli: &Cli, json: bool) -> eyre::Result<ExitCode> {
    refuse_readonly(cli, "plan")?;
    let cfg = resolve_config(cli).await?;
    // The first plan of a new workspace creates its state (and platform) databases.
    let ctx = if Ctx::is_new(&cfg) {
        Ctx::create(cfg).await?
    } else {
        Ctx::open(cfg, false).await?
    };
    warn_exposed(&ctx);
    let s = plan::plan(&ctx).await?;
    cutover_core::alerts::refresh(&ctx, None).await;
    if json {
        outln!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        outln!(
            "{} customers planned; {} quarantined, {} with warnings, {} source rows rejected",
            s.customers,
            s.quarantined,
            s.warned,
            s.rejected_rows
        );
        outln!(
            "{:<4} {:<14} {:>9} {:>8} {:>11} {:>8}",
            "prio",
            "segment",
            "customers",
            "pending",
            "quarantined",
            "batches"
        );
        for g in &s.segments {
            outln!(
                "{:<4} {:<14} {:>9} {:>8} {:>11} {:>8}",
                g.priority,
                g.name,
                g.customers,
                g.pending,
                g.quarantined,
                g.batches_pending
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

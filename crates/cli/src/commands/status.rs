//! `cutover status`: a snapshot of the state, as text or the documented JSON.

use std::process::ExitCode;

use crate::args::Cli;
use crate::outln;
use crate::workspace::open;
use cutover_core::engine::status;

/// Prints the state's status.
///
/// Errors: the state database failing.
pub async fn run(cli: &Cli, json: bool) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let mut s = status::status(&ctx.state).await?;
    // A worker beats at every step; two lease periods of silence mean none is alive.
    s.runner
        .mark_stale(ctx.cfg.runner.lease_seconds as i64 * 2, chrono::Utc::now());
    if json {
        outln!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        let c = &s.customers;
        outln!("{} — runner {}", ctx.cfg.workspace.name, s.runner.label());
        outln!(
            "customers {}: {} pending, {} running, {} migrated, {} failed, {} rolled back, {} quarantined",
            c.total,
            c.pending,
            c.running,
            c.migrated,
            c.failed,
            c.rolled_back,
            c.quarantined
        );
        for g in &s.segments {
            outln!(
                "  {} {:<12} {:>6} customers, {:>6} migrated, {:>4} failed, {:>4} quarantined (target {:.0}%)",
                g.priority,
                g.name,
                g.customers,
                g.migrated,
                g.failed,
                g.quarantined,
                g.target_success_rate
            );
        }
        outln!(
            "batches: {} pending, {} running, {} done, {} rolled back; open alerts: {}",
            s.batches.pending,
            s.batches.running,
            s.batches.done,
            s.batches.rolled_back,
            s.alerts.open
        );
    }
    Ok(ExitCode::SUCCESS)
}

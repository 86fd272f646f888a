//! `cutover status`: a snapshot of the state, as text or the documented JSON.

use std::process::ExitCode;

use crate::args::Cli;
use crate::outln;
use crate::table::{Align, Table};
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
        let mut t = Table::new(&[
            ("", Align::Right),
            ("wave", Align::Left),
            ("customers", Align::Right),
            ("migrated", Align::Right),
            ("failed", Align::Right),
            ("quarantined", Align::Right),
            ("rolled back", Align::Right),
            ("success", Align::Right),
            ("target", Align::Right),
            ("state", Align::Left),
        ]);
        for g in &s.segments {
            t.push(vec![
                g.priority.to_string(),
                g.name.clone(),
                g.customers.to_string(),
                g.migrated.to_string(),
                g.failed.to_string(),
                g.quarantined.to_string(),
                g.rolled_back.to_string(),
                g.success_rate()
                    .map_or_else(|| "-".into(), |r| format!("{r:.1}%")),
                format!("{:.0}%", g.target_success_rate),
                g.eta(s.runner.state).to_string(),
            ]);
        }
        for l in t.lines() {
            outln!("  {l}");
        }
        if !s.tiers.is_empty() {
            let tiers: Vec<String> = s
                .tiers
                .iter()
                .map(|t| format!("{} {} ({} migrated)", t.name, t.customers, t.migrated))
                .collect();
            outln!("tiers: {}", tiers.join(", "));
        }
        outln!(
            "batches: {} pending, {} running, {} done, {} rolled back; open alerts: {}",
            s.batches.pending,
            s.batches.running,
            s.batches.done,
            s.batches.rolled_back,
            s.alerts.open
        );
        let running = status::running_batches(&ctx.state).await?;
        if !running.is_empty() {
            let ids: Vec<&str> = running.iter().map(|b| b.id.as_str()).collect();
            outln!("running batches: {}", ids.join(", "));
        }
        outln!(
            "`cutover batches` lists every batch by id (what `rollback --batch` takes); `cutover quarantine` says why each customer is held"
        );
    }
    Ok(ExitCode::SUCCESS)
}

//! `cutover run`: drive batches without the console; progress on stderr.

use std::process::ExitCode;

use crate::Usage;
use crate::args::{Cli, RunArgs};
use crate::workspace::{open_as_worker, print_notices, refuse_readonly};
use cutover_core::engine::{plan, run};

/// Runs batches as `a` asks.
///
/// Errors: the runner is halted, or a database failed past its retries.
pub async fn run(cli: &Cli, a: &RunArgs) -> eyre::Result<ExitCode> {
    if !a.dry_run {
        refuse_readonly(cli, "run")?;
    }
    let mut ctx = open_as_worker(cli).await?;
    let state = ctx.state.clone();
    if let Some(n) = a.batch_size {
        if n == 0 {
            return Err(Usage("--batch-size must be at least 1".into()).into());
        }
        // A dry run writes nothing: it shows the batches as they are.
        if !a.dry_run {
            plan::rebatch(&ctx.state, n).await?;
        }
    }
    // Deliver notifications while this run lasts; what is left waits in the outbox.
    // Unacknowledged alerts climb on time here too, not only where a console is open.
    // Both start before the notice printer, so they hold no sender that keeps it waiting.
    let (stop_outbox, stop) = tokio::sync::watch::channel(false);
    let outbox = tokio::spawn(cutover_core::programme::worker(
        ctx.clone(),
        stop,
        cutover_core::programme::FirstTick::AfterAMinute,
    ));
    let ladder = tokio::spawn(cutover_core::alerts::watch(ctx.clone()));
    let printer = print_notices(&mut ctx);
    let opts = run::RunOpts {
        segment: a.segment.clone(),
        max_batches: a.batches,
        dry_run: a.dry_run,
    };
    let s = run::run(&ctx, &opts).await;
    ladder.abort();
    let _ = stop_outbox.send(true);
    let _ = outbox.await;
    cutover_core::notify::drain(&ctx).await;
    // The printer ends when the last sender (this context's) is gone.
    drop(ctx);
    let _ = printer.await;
    let s = s?;
    eprintln!(
        "{} batches: {} migrated, {} failed, {} quarantined{}{}",
        s.batches,
        s.migrated,
        s.failed,
        s.quarantined,
        if s.lost > 0 {
            format!("; {} given up to another worker (lease lost)", s.lost)
        } else {
            String::new()
        },
        s.stopped
            .map(|r| format!(" (stopped: {r})"))
            .unwrap_or_default()
    );
    if s.batches == 0 {
        // Nothing was queued: say what would queue something.
        let c = cutover_core::engine::status::status(&state)
            .await?
            .customers;
        let (rolled_back, pending) = (c.rolled_back, c.pending);
        if rolled_back > 0 {
            eprintln!(
                "{rolled_back} customers are rolled back and wait for a plan: `cutover plan` requeues them into new batches"
            );
        } else if pending == 0 {
            eprintln!("no customer is waiting: `cutover status` shows where they are");
        }
    }
    Ok(ExitCode::SUCCESS)
}

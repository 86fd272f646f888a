//! What every console and runner does for the programme while it is up: deliver the outbox
//! every second, and once a minute schedule the notices due today, store today's snapshot
//! (the waves and KPIs, for trends and reports) and send yesterday's daily report when it is
//! due. Every step is keyed in the state, so any number of processes may run it at once.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ctx::Ctx;

/// What one [`tick`] did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Tick {
    /// The notices scheduled.
    pub notices: crate::comms::Pass,
    /// Whether yesterday's daily report was put into the outbox.
    pub daily_report: bool,
}

/// One pass at `now` (a parameter, so a whole programme can be run day by day in a test).
///
/// Errors: the state database failing; a `[[kpi]]` query failing (naming its key).
pub async fn tick(ctx: &Ctx, now: DateTime<Utc>) -> eyre::Result<Tick> {
    let today = now.date_naive();
    let notices = crate::comms::schedule(ctx, today).await?;
    crate::kpi::snapshot(ctx, today).await?;
    let daily_report = crate::report::period::send_daily(ctx, now).await?;
    Ok(Tick {
        notices,
        daily_report,
    })
}

/// How often [`worker`] ticks.
const TICK_SECS: u64 = 60;

/// When a [`worker`] ticks first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstTick {
    /// At once: a console shows today's notices and KPIs as it opens.
    Now,
    /// After a minute: `cutover run` gives its first minute to claiming and moving; a run
    /// shorter than that leaves the programme to the consoles and `cutover tick`. (A worker
    /// stopped inside the tick's write would hold a SQLite state's write lock for as long as
    /// it is stopped; the stall tests stop runs in their first second.)
    AfterAMinute,
}

/// Delivers the outbox every second and ticks every minute (the first as `first` says) until
/// `stop` turns true or its sender is dropped. A pass that has begun runs to its end.
pub async fn worker(ctx: Ctx, mut stop: tokio::sync::watch::Receiver<bool>, first: FirstTick) {
    let Some(http) = crate::notify::http_client() else {
        return;
    };
    let mut last_tick = (first == FirstTick::AfterAMinute).then(std::time::Instant::now);
    while !*stop.borrow() {
        if last_tick.is_none_or(|t| t.elapsed().as_secs() >= TICK_SECS) {
            last_tick = Some(std::time::Instant::now());
            if let Err(e) = tick(&ctx, Utc::now()).await {
                tracing::warn!(error = %format!("{e:#}"), "programme tick failed");
            }
        }
        crate::notify::pass(&ctx, &http).await;
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            r = stop.changed() => if r.is_err() { return },
        }
    }
}

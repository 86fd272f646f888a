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
    /// Plans opened and milestones completed by the engine's facts.
    pub plans: crate::plans::auto::Pass,
}

/// One pass at `now` (a parameter, so a whole programme can be run day by day in a test).
///
/// Errors: the state database failing; a `[[kpi]]` query failing (naming its key).
pub async fn tick(ctx: &Ctx, now: DateTime<Utc>) -> eyre::Result<Tick> {
    // A ticker that has seen nothing yet does all three.
    Ticker::default().tick(ctx, now).await
}

/// How often [`worker`] ticks.
const TICK_SECS: u64 = 60;

/// The longest a [`Ticker`] goes without storing today's snapshot while nothing changes.
const SNAPSHOT_SECS: u64 = 600;

/// What a scheduling pass reads besides the day and the outbox: the customers per wave and
/// status (the trigger-kept counters, a few rows), the runner's state and the waves' windows.
/// Unchanged on the same day, a pass would send nothing new.
async fn fingerprint(ctx: &Ctx) -> eyre::Result<String> {
    let counts: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT segment, status, customers FROM customer_counts ORDER BY segment, status",
    )
    .fetch_all(&ctx.state)
    .await?;
    let runner: String = sqlx::query_scalar("SELECT state FROM runner WHERE id = 1")
        .fetch_one(&ctx.state)
        .await?;
    let windows: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT name, window_start_day, window_end_day FROM segments ORDER BY name")
            .fetch_all(&ctx.state)
            .await?;
    Ok(format!("{counts:?}|{runner}|{windows:?}"))
}

/// A process's ticks: like [`tick`], but a scheduling pass runs only when the day or what it
/// reads ([`fingerprint`]) changed since this process's last one, and today's snapshot is
/// stored when that changed or every ten minutes. At 100,000 customers a full tick took 3.2 s
/// with nothing to send; every console ticks once a minute.
#[derive(Debug, Default)]
pub struct Ticker {
    last: Option<(chrono::NaiveDate, String)>,
    snapshot_at: Option<std::time::Instant>,
}

impl Ticker {
    /// One tick at `now`.
    ///
    /// Errors: as [`tick`].
    pub async fn tick(&mut self, ctx: &Ctx, now: DateTime<Utc>) -> eyre::Result<Tick> {
        let today = now.date_naive();
        let print = fingerprint(ctx).await?;
        let changed = self.last.as_ref() != Some(&(today, print.clone()));
        let t0 = std::time::Instant::now();
        let notices = if changed {
            crate::comms::schedule(ctx, today).await?
        } else {
            crate::comms::Pass::default()
        };
        let scheduled = t0.elapsed();
        let mut plans = crate::plans::auto::Pass::default();
        if changed
            || self
                .snapshot_at
                .is_none_or(|t| t.elapsed().as_secs() >= SNAPSHOT_SECS)
        {
            let t = std::time::Instant::now();
            crate::kpi::snapshot(ctx, today).await?;
            self.snapshot_at = Some(std::time::Instant::now());
            tracing::debug!(seconds = t.elapsed().as_secs_f64(), "tick: snapshot");
            let t = std::time::Instant::now();
            // Alerts and health scores are not in the fingerprint: every ten minutes at the
            // latest, plans opened on an alert and milestones bound to health catch up.
            plans = crate::plans::auto::pass(ctx, now).await?;
            tracing::debug!(seconds = t.elapsed().as_secs_f64(), "tick: plans");
        }
        tracing::debug!(seconds = scheduled.as_secs_f64(), "tick: notices scheduled");
        // The fingerprint read before the pass: a change during it shows at the next tick.
        self.last = Some((today, print));
        let daily_report = crate::report::period::send_daily(ctx, now).await?;
        Ok(Tick {
            notices,
            daily_report,
            plans,
        })
    }
}

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
    let mut ticker = Ticker::default();
    while !*stop.borrow() {
        if last_tick.is_none_or(|t| t.elapsed().as_secs() >= TICK_SECS) {
            last_tick = Some(std::time::Instant::now());
            if let Err(e) = ticker.tick(&ctx, Utc::now()).await {
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

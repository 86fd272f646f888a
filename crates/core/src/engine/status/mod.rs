//! Read models of the state database: the `status --json` contract (brief 3.1) here, the
//! console's lists in [`lists`], one customer in full in [`customer`]. Plain data, no terminal
//! types; every number comes from a query, and every poll query reads an index range or a
//! trigger-kept counter.

mod certificate;
mod customer;
mod lists;
mod ops;

pub use certificate::{Certificate, EntityProof, RollbackEntry, certificate, verify};
pub use customer::{
    AuditEntry, Backup, CustomerDetail, Finding, HealthPoint, StepRow, Validation, customer,
};
pub use lists::{
    AuditRow, PlanRow, RecentRow, RunningBatch, audit_log, plans, recent, running_batches,
    throughput,
};
pub use ops::{BatchRow, QuarantineRow, batches, quarantine};

use chrono::Utc;
use serde::Serialize;

use super::runner::RunnerState;
use crate::clock;

/// Customers by status.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Counts {
    /// All.
    pub total: i64,
    /// Not started.
    pub pending: i64,
    /// In flight.
    pub running: i64,
    /// Customers migrated.
    pub migrated: i64,
    /// Customers failed.
    pub failed: i64,
    /// Rolled back.
    pub rolled_back: i64,
    /// Customers quarantined.
    pub quarantined: i64,
    /// Customers being rolled back.
    pub rolling_back: i64,
}

impl Counts {
    fn add(&mut self, status: &str, n: i64) {
        self.total += n;
        match status {
            "pending" => self.pending += n,
            "running" => self.running += n,
            "migrated" => self.migrated += n,
            "failed" => self.failed += n,
            "rolled_back" => self.rolled_back += n,
            "quarantined" => self.quarantined += n,
            "rolling_back" => self.rolling_back += n,
            _ => {}
        }
    }

    /// Customers that reached an end state (migrated, failed or quarantined), percent of all.
    pub fn settled_pct(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        ((self.migrated + self.failed + self.quarantined) as f64 * 100.0 / self.total as f64)
            .clamp(0.0, 100.0)
    }
}

/// One segment (a priority wave) and its progress.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SegmentStatus {
    /// Its name.
    pub name: String,
    /// Priority (1 first).
    pub priority: i64,
    /// Customers.
    pub customers: i64,
    /// Not started.
    pub pending: i64,
    /// In flight.
    pub running: i64,
    /// Customers migrated.
    pub migrated: i64,
    /// Customers failed.
    pub failed: i64,
    /// Customers quarantined.
    pub quarantined: i64,
    /// Rolled back.
    pub rolled_back: i64,
    /// Sum of the customers' annual revenue, in cents of the source's currency (exact: integer
    /// cents kept by the state's triggers). JSON: `revenue`, in currency units.
    #[serde(rename = "revenue", serialize_with = "crate::schema::serialize_cents")]
    pub revenue_cents: i64,
    /// Percent (0–100), from the config.
    pub target_success_rate: f64,
    /// First and last day of the programme in its window.
    pub window_days: [i64; 2],
    /// Customers migrated in the last 10 minutes, per minute.
    pub rate_per_min: f64,
}

impl SegmentStatus {
    /// Counts `n` customers of status `status` with `revenue` into the segment.
    fn add(&mut self, status: &str, n: i64, revenue_cents: i64) {
        self.customers += n;
        self.revenue_cents += revenue_cents;
        match status {
            "pending" => self.pending += n,
            "running" | "rolling_back" => self.running += n,
            "migrated" => self.migrated += n,
            "failed" => self.failed += n,
            "quarantined" => self.quarantined += n,
            "rolled_back" => self.rolled_back += n,
            _ => {}
        }
    }

    /// The success rate, defined once for the panes, `status` and `report` (README, "Success
    /// rate"): migrated ÷ (migrated + failed + rolled back), in percent. A rolled-back
    /// customer counts against its wave until it is migrated again; quarantined customers were
    /// never attempted and count in neither. `None` before any attempt.
    pub fn success_rate(&self) -> Option<f64> {
        let tried = self.migrated + self.failed + self.rolled_back;
        (tried > 0).then(|| self.migrated as f64 * 100.0 / tried as f64)
    }

    /// Customers the runner still has to move: pending, in flight, or rolled back (the next
    /// plan requeues them).
    pub fn to_move(&self) -> i64 {
        (self.pending + self.running + self.rolled_back).max(0)
    }

    /// Every customer of the wave is migrated. A wave with any customer not migrated (failed,
    /// quarantined, rolled back) is never done.
    pub fn done(&self) -> bool {
        self.customers > 0 && self.migrated == self.customers
    }

    /// Minutes until the customers still to move are done at the current rate; `None` when
    /// nothing remains or nothing moved recently. Never negative.
    pub fn eta_minutes(&self) -> Option<f64> {
        let remaining = self.to_move();
        (remaining > 0 && self.rate_per_min > 0.0).then(|| remaining as f64 / self.rate_per_min)
    }

    /// The wave's ETA as the runner's state allows it (see [`Eta`]).
    pub fn eta(&self, runner: RunnerState) -> Eta {
        if self.done() {
            return Eta::Done;
        }
        if self.to_move() == 0 {
            return Eta::Held;
        }
        match runner {
            RunnerState::Paused => Eta::Paused,
            RunnerState::Halted => Eta::Halted,
            RunnerState::Running => self.eta_minutes().map_or(Eta::Waiting, Eta::Minutes),
            // Nothing is running: a rate from the last ten minutes promises nothing.
            _ => Eta::Idle,
        }
    }
}

/// A wave's ETA. It stops, and says why, while the runner is paused or halted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Eta {
    /// Every customer migrated.
    Done,
    /// Nothing left to move, but failed or quarantined customers keep it from done.
    Held,
    /// The runner is paused: no ETA.
    Paused,
    /// The runner is halted: no ETA.
    Halted,
    /// Customers to move and the runner idle (rolled-back customers wait for a plan).
    Idle,
    /// The runner is running, but none of the wave's customers moved in the last 10 minutes
    /// (it waits behind a wave of higher priority): no rate, no ETA.
    Waiting,
    /// At the current rate.
    Minutes(f64),
}

impl std::fmt::Display for Eta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Eta::Done => f.write_str("done"),
            Eta::Held => f.write_str("held"),
            Eta::Paused => f.write_str("paused"),
            Eta::Halted => f.write_str("halted"),
            Eta::Idle => f.write_str("idle"),
            Eta::Waiting => f.write_str("-"),
            Eta::Minutes(m) if *m < 1.0 => f.write_str("<1m"),
            Eta::Minutes(m) => f.write_str(&clock::age((m * 60.0).ceil() as i64)),
        }
    }
}

/// The runner row: state, who changed it and when, the last heartbeat.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunnerStatus {
    /// `[state]`: the state database.
    pub state: RunnerState,
    /// Who changed it last.
    pub changed_by: Option<String>,
    /// When the state last changed.
    pub changed_at: String,
    /// Why.
    pub reason: Option<String>,
    /// The last time a worker beat.
    pub heartbeat_at: Option<String>,
    /// Running, but no worker has beaten for longer than the threshold (two lease periods: a
    /// worker was killed, or the console that ran it quit): set by [`snapshot`] and
    /// [`RunnerStatus::mark_stale`] only, so it flips once and the console redraws once.
    #[serde(rename = "no_live_worker")]
    pub stale: bool,
}

impl RunnerStatus {
    /// Sets [`RunnerStatus::stale`]: running, and no heartbeat (nor state change) for more
    /// than `after_secs` seconds before `now`; never when `after_secs` is 0.
    pub fn mark_stale(&mut self, after_secs: i64, now: chrono::DateTime<Utc>) {
        self.stale = after_secs > 0
            && self.state == RunnerState::Running
            && self
                .heartbeat_at
                .as_deref()
                .or(Some(self.changed_at.as_str()))
                .and_then(clock::parse)
                .is_some_and(|t| (now - t).num_seconds() > after_secs);
    }

    /// The state as operators read it: `running (no live worker)` when it is stale.
    pub fn label(&self) -> String {
        if self.stale {
            format!("{} (no live worker)", self.state.as_str())
        } else {
            self.state.as_str().to_string()
        }
    }
}

/// Open alerts (trigger-kept counter).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Alerts {
    /// Open alerts.
    pub open: i64,
}

/// The notification outbox.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Outbox {
    /// Waiting for delivery (including retries).
    pub pending: i64,
    /// Dead-lettered: refused, or out of attempts.
    pub dead: i64,
}

/// Batches per status (trigger-kept counter).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Batches {
    /// Not started.
    pub pending: i64,
    /// In flight.
    pub running: i64,
    /// Done.
    pub done: i64,
    /// Rolled back.
    pub rolled_back: i64,
}

/// Customers of one tier (`[[tier]]`), from the trigger-kept counters.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TierStatus {
    /// Its name.
    pub name: String,
    /// Customers.
    pub customers: i64,
    /// Customers migrated.
    pub migrated: i64,
    /// Their revenue in the 12 months before the as-of date, in cents.
    pub revenue_cents: i64,
}

/// The `status --json` document (brief 3.1), a superset of the contract.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Status {
    /// Customers.
    pub customers: Counts,
    /// Per segment.
    pub segments: Vec<SegmentStatus>,
    /// Per tier, by revenue per customer (most first); customers with no tier are not listed.
    pub tiers: Vec<TierStatus>,
    /// The runner.
    pub runner: RunnerStatus,
    /// Open alerts.
    pub alerts: Alerts,
    /// Batches.
    pub batches: Batches,
    /// The notification outbox.
    pub notifications: Outbox,
}

/// A segment as the plan stored it.
#[derive(sqlx::FromRow)]
struct SegmentRow {
    name: String,
    priority: i64,
    target_success_rate: f64,
    window_start_day: i64,
    window_end_day: i64,
}

/// One trigger-kept counter row (migrations 0003, 0017): customers and revenue per segment,
/// tier and status.
#[derive(sqlx::FromRow)]
struct CountRow {
    segment: String,
    tier: String,
    status: String,
    customers: i64,
    revenue_cents: i64,
}

/// Customers migrated per segment since a minute, and the earliest start among them.
#[derive(sqlx::FromRow)]
struct RateRow {
    segment: String,
    customers: i64,
    first_started: String,
}

/// The runner row.
#[derive(sqlx::FromRow)]
struct RunnerRow {
    state: String,
    changed_by: Option<String>,
    changed_at: String,
    reason: Option<String>,
    heartbeat_at: Option<String>,
}

/// A count per status (batches, notifications).
#[derive(sqlx::FromRow)]
struct PerStatus {
    status: String,
    n: i64,
}

/// Reads the status. Errors: the state database failing.
pub async fn status(state: &crate::db::Pool) -> eyre::Result<Status> {
    let mut customers = Counts::default();
    let mut segments: Vec<SegmentStatus> = sqlx::query_as::<_, SegmentRow>(
        "SELECT name, priority, target_success_rate, window_start_day, window_end_day FROM segments ORDER BY priority",
    )
    .fetch_all(state)
    .await?
    .into_iter()
    .map(|r| SegmentStatus {
        name: r.name,
        priority: r.priority,
        target_success_rate: r.target_success_rate,
        window_days: [r.window_start_day, r.window_end_day],
        ..Default::default()
    })
    .collect();
    // Counters kept by triggers (migration 0003): a few rows, whatever the number of customers.
    let rows: Vec<CountRow> = sqlx::query_as(
        "SELECT segment, tier, status, customers, revenue_cents FROM customer_counts WHERE customers <> 0",
    )
    .fetch_all(state)
    .await?;
    let mut tiers: Vec<TierStatus> = Vec::new();
    for r in rows {
        customers.add(&r.status, r.customers);
        if !r.tier.is_empty() {
            let i = match tiers.iter().position(|t| t.name == r.tier) {
                Some(i) => i,
                None => {
                    tiers.push(TierStatus {
                        name: r.tier.clone(),
                        ..Default::default()
                    });
                    tiers.len() - 1
                }
            };
            let t = &mut tiers[i];
            t.customers += r.customers;
            t.revenue_cents += r.revenue_cents;
            if r.status == "migrated" {
                t.migrated += r.customers;
            }
        }
        if let Some(s) = segments.iter_mut().find(|s| s.name == r.segment) {
            s.add(&r.status, r.customers, r.revenue_cents);
        }
    }
    // Rate over the last 10 minutes, or since the segment's first completion in them (at
    // least one minute), so a run that just started is not diluted by idle minutes.
    let now = Utc::now();
    let since = clock::fmt(now - chrono::Duration::minutes(10));
    // Trigger-kept per minute (migration 0011); the minute `since` falls in is left out, so
    // the window is between 9 and 10 minutes long.
    let rates: Vec<RateRow> = sqlx::query_as(
        "SELECT segment, CAST(SUM(customers) AS BIGINT) AS customers, MIN(first_started) AS first_started
         FROM migrated_minutes WHERE minute > $1 GROUP BY segment",
    )
    .bind(since[..16].to_string())
    .fetch_all(state)
    .await?;
    for r in rates {
        let minutes = clock::parse(&r.first_started)
            .map_or(10.0, |t| (now - t).num_milliseconds() as f64 / 60_000.0)
            .clamp(1.0, 10.0);
        if let Some(s) = segments.iter_mut().find(|s| s.name == r.segment) {
            s.rate_per_min = r.customers as f64 / minutes;
        }
    }
    let r: RunnerRow = sqlx::query_as(
        "SELECT state, changed_by, changed_at, reason, heartbeat_at FROM runner WHERE id = 1",
    )
    .fetch_one(state)
    .await?;
    let runner = RunnerStatus {
        state: RunnerState::parse(&r.state),
        changed_by: r.changed_by,
        changed_at: r.changed_at,
        reason: r.reason,
        heartbeat_at: r.heartbeat_at,
        stale: false,
    };
    let mut batches = Batches::default();
    // Trigger-kept (migration 0007).
    for r in sqlx::query_as::<_, PerStatus>("SELECT status, batches AS n FROM batch_counts")
        .fetch_all(state)
        .await?
    {
        match r.status.as_str() {
            "pending" => batches.pending = r.n,
            "running" => batches.running = r.n,
            "done" => batches.done = r.n,
            _ => batches.rolled_back = r.n,
        }
    }
    let mut notifications = Outbox::default();
    for r in sqlx::query_as::<_, PerStatus>(
        "SELECT status, COUNT(*) AS n FROM notifications WHERE status IN ('pending', 'dead') GROUP BY status",
    )
    .fetch_all(state)
    .await?
    {
        match r.status.as_str() {
            "pending" => notifications.pending = r.n,
            _ => notifications.dead = r.n,
        }
    }
    let alerts = Alerts {
        // Trigger-kept (migration 0005): the poll never counts alerts.
        open: sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(alerts), 0) AS BIGINT) FROM alert_counts WHERE status <> 'resolved'",
        )
        .fetch_one(state)
        .await?,
    };
    // The richest customers' tier first (revenue per customer), as the tiers are defined.
    let per = |t: &TierStatus| t.revenue_cents as f64 / t.customers.max(1) as f64;
    tiers.sort_by(|a, b| per(b).total_cmp(&per(a)).then(a.name.cmp(&b.name)));
    Ok(Status {
        notifications,
        customers,
        segments,
        tiers,
        runner,
        alerts,
        batches,
    })
}

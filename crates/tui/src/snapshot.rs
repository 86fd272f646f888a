//! What the console polls: the view (what each pane asks for: filters, how many rows), the
//! snapshot read for it, and the poller task that sends a snapshot only when it changed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cutover_core::engine::status;
use tokio::sync::{Notify, mpsc, watch};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    pub recent_filter: String,
    /// Matched against customer, segment, tier, rule, owner and level; `mine` means owned by
    /// `operator`, `breached` past a service-level deadline, `owner:NAME` owned by NAME.
    pub alerts_filter: String,
    pub plans_filter: String,
    /// The audit log's filter while the Audit pane is showing; `None` reads no audit rows.
    pub audit_filter: Option<String>,
    /// The Batches view's filter while it shows; `None` reads no batches.
    pub batches_filter: Option<String>,
    /// The Quarantine view's filter while it shows; `None` reads no quarantined customers.
    pub quarantine_filter: Option<String>,
    /// The Communications view's filter (wave or notice) while it shows; `None` reads none.
    pub comms_filter: Option<String>,
    /// The KPI view's filter (name) while it shows; `None` reads none.
    pub kpi_filter: Option<String>,
    pub operator: String,
    /// At most this many rows per list (the console asks for what it can show and scroll to).
    pub limit: i64,
    /// As-of date for overdue milestones (`YYYY-MM-DD`).
    pub as_of: String,
    /// Seconds without a heartbeat after which a running runner is flagged stale (0: never).
    pub stale_after_secs: i64,
}

/// Everything the console's four panes show, read in one poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub status: status::Status,
    /// Customers migrated per minute, oldest first, over the last 30 minutes.
    pub throughput: Vec<u64>,
    pub running: Vec<status::RunningBatch>,
    pub recent: Vec<status::RecentRow>,
    /// Open alerts in triage order (see [`cutover_core::alerts::open`]).
    pub alerts: Vec<cutover_core::alerts::AlertView>,
    pub plans: Vec<status::PlanRow>,
    /// The newest audit rows, read only while the Audit pane shows (see [`View`]).
    pub audit: Vec<status::AuditRow>,
    /// Batches, read only while the Batches view shows.
    pub batches: Vec<status::BatchRow>,
    /// Quarantined customers, read only while the Quarantine view shows.
    pub quarantine: Vec<status::QuarantineRow>,
    /// Each wave's notices, read only while the Communications view shows.
    pub comms: Vec<cutover_core::comms::NoticeStatus>,
    /// The KPIs, read only while the KPI view shows.
    pub kpis: Vec<cutover_core::kpi::KpiValue>,
    /// Customers per health level after the latest full scoring run, and the run before's
    /// (two rows of `health_runs`).
    pub health: Option<cutover_core::health::Distribution>,
}

/// Reads a snapshot for `view`. Errors: the state database failing.
pub async fn snapshot(state: &cutover_core::db::Pool, view: &View) -> eyre::Result<Snapshot> {
    let mut status = status::status(state).await?;
    let now = Utc::now();
    status.runner.mark_stale(view.stale_after_secs, now);
    let throughput = status::throughput(state, now).await?;
    let running = status::running_batches(state).await?;
    let recent = status::recent(state, &view.recent_filter, view.limit).await?;
    let alerts =
        cutover_core::alerts::open(state, &view.alerts_filter, &view.operator, view.limit).await?;
    let plans = status::plans(state, &view.plans_filter, &view.as_of, view.limit).await?;
    let health = cutover_core::health::distribution(state).await?;
    let audit = match &view.audit_filter {
        Some(f) => status::audit_log(state, f, view.limit).await?,
        None => Vec::new(),
    };
    let batches = match &view.batches_filter {
        Some(f) => status::batches(state, f, Some(view.limit)).await?,
        None => Vec::new(),
    };
    let quarantine = match &view.quarantine_filter {
        Some(f) => status::quarantine(state, f, Some(view.limit)).await?,
        None => Vec::new(),
    };
    Ok(Snapshot {
        health,
        comms: Vec::new(),
        kpis: Vec::new(),
        batches,
        quarantine,
        status,
        throughput,
        running,
        recent,
        alerts,
        plans,
        audit,
    })
}

/// Adds the Communications or KPI view's rows to `snap` while that view shows (they read the
/// config, and a KPI its own database, so they need the workspace, not only the state).
async fn with_programme(
    ctx: &cutover_core::ctx::Ctx,
    snap: eyre::Result<Snapshot>,
    view: &View,
) -> eyre::Result<Snapshot> {
    let mut snap = snap?;
    let today = Utc::now().date_naive();
    let has = |f: &str, words: &[&str]| {
        let f = f.to_lowercase();
        words.iter().any(|w| w.to_lowercase().contains(&f))
    };
    if let Some(f) = &view.comms_filter {
        snap.comms = cutover_core::comms::overview(ctx, today)
            .await?
            .into_iter()
            .filter(|r| has(f, &[&r.wave, &r.notice]))
            .collect();
    }
    if let Some(f) = &view.kpi_filter {
        snap.kpis = cutover_core::kpi::evaluate(ctx, today)
            .await?
            .into_iter()
            .filter(|k| has(f, &[&k.name, k.standing.as_str()]))
            .collect();
    }
    Ok(snap)
}

/// What the poller reports.
#[derive(Debug)]
pub enum PollMsg {
    Snapshot(Arc<Snapshot>),
    /// The poll failed: the error, how many polls in a row failed, and seconds since the last
    /// successful one.
    Failed(String, u32, i64),
}

/// How often the poller reads a full snapshot even when the database reports no change.
const FULL_POLL: Duration = Duration::from_secs(10);

/// Polls the state database every `interval` (or at once when nudged or the view changes) and
/// sends a snapshot only when it differs from the last one sent.
pub async fn poller(
    ctx: cutover_core::ctx::Ctx,
    mut view: watch::Receiver<View>,
    tx: mpsc::UnboundedSender<PollMsg>,
    nudge: Arc<Notify>,
    interval: Duration,
) {
    let mut last: Option<Arc<Snapshot>> = None;
    let mut last_ok = Instant::now();
    let mut failures = 0u32;
    let mut last_view: Option<View> = None;
    let mut last_full = Instant::now();
    let mut changes = cutover_core::db::ChangeWatch::new(ctx.state.clone());
    loop {
        let v = view.borrow_and_update().clone();
        // Unchanged data and view: skip the snapshot's queries, except every FULL_POLL, which
        // moves what depends on the clock alone (the per-minute window, the stale flag).
        // Asked every tick, so that the version a full poll saw is the one compared next time
        // (asking only when deciding to skip made every forced poll cause a second one).
        let changed = changes.changed().await;
        let same_view = last_view.as_ref() == Some(&v);
        if same_view && last.is_some() && last_full.elapsed() < FULL_POLL && !changed {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = nudge.notified() => {}
                r = view.changed() => if r.is_err() { return },
            }
            continue;
        }
        last_view = Some(v.clone());
        last_full = Instant::now();
        let sent = match with_programme(&ctx, snapshot(&ctx.state, &v).await, &v).await {
            Ok(s) => {
                last_ok = Instant::now();
                failures = 0;
                if last.as_deref() != Some(&s) {
                    let s = Arc::new(s);
                    last = Some(s.clone());
                    tx.send(PollMsg::Snapshot(s))
                } else {
                    Ok(())
                }
            }
            Err(e) => {
                last = None;
                failures += 1;
                tx.send(PollMsg::Failed(
                    format!("{e:#}"),
                    failures,
                    last_ok.elapsed().as_secs() as i64,
                ))
            }
        };
        if sent.is_err() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = nudge.notified() => {}
            r = view.changed() => if r.is_err() { return },
        }
    }
}

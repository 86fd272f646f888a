//! `cutover plan`: customers and their metrics from the source through the mapping → audit →
//! segments → waves (one per segment, in priority order) → batches.
//!
//! Idempotent: customers already migrated, running or rolling back are never touched; pending,
//! quarantined, failed and rolled-back customers are re-evaluated (so a quarantined customer
//! whose source was fixed becomes pending, and a failed one is queued again). Only batches no
//! worker has claimed are rebuilt.

mod batches;
mod judge;
mod write;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::config::{Config, Severity};
use crate::db::write_tx;
use crate::schema::{self, ColType, Entity, Raw};
use crate::source::conn::{Source, SourceError};
use crate::source::{self, audit};

pub use batches::rebatch;
use judge::{
    Duplicates, Judge, Judged, OWNER_COL, REPAIRS_COL, REVENUE_COL, Streamed,
    customers_with_metrics,
};
use write::write_chunk;

/// What a plan found, per segment and overall.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PlanSummary {
    /// Customers.
    pub customers: i64,
    /// Customers quarantined.
    pub quarantined: i64,
    /// Customers migrating with warnings.
    pub warned: i64,
    /// Source rows rejected.
    pub rejected_rows: i64,
    /// Batches not claimed yet.
    pub batches_pending: i64,
    /// Per segment.
    pub segments: Vec<SegmentPlan>,
    /// What the plan left out and why (a default audit rule whose column the mapping lacks).
    pub notes: Vec<String>,
}

/// One segment as planned.
#[derive(Debug, Clone, Default, Serialize, PartialEq, sqlx::FromRow)]
pub struct SegmentPlan {
    /// Its name.
    pub name: String,
    /// Priority (1 first).
    pub priority: i64,
    /// Customers.
    pub customers: i64,
    /// Customers not started.
    pub pending: i64,
    /// Customers quarantined.
    pub quarantined: i64,
    /// Batches not claimed yet.
    pub batches_pending: i64,
}

/// Where a plan is, for a progress display: its phase and the customers read and judged so
/// far. Published through a `tokio::sync::watch` channel by [`plan_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanProgress {
    /// `audit` (the entity rules and orphan checks over the mappings), `customers` (the
    /// customers stream: read, judged, written), `batches`, `done`.
    pub phase: &'static str,
    /// Customers read from the source and judged.
    pub customers: u64,
}

/// Customers read, judged and written per chunk.
const PLAN_CHUNK: usize = 2000;

/// Runs the plan as this process's operator (a migrator or admin). See the module docs for what it touches. Memory is bounded by the chunk
/// size and the number of defective rows, not by the number of customers.
///
/// Errors: a mapping query failing on the source, a customer no segment matches, or the state
/// database refusing a write. A plan that stops half way leaves every customer it reached
/// re-evaluated; running it again finishes the job.
pub async fn plan(ctx: &super::Ctx) -> eyre::Result<PlanSummary> {
    plan_with(ctx, None).await
}

/// [`plan`], publishing its progress on `progress`.
pub async fn plan_with(
    ctx: &super::Ctx,
    progress: Option<&tokio::sync::watch::Sender<PlanProgress>>,
) -> eyre::Result<PlanSummary> {
    ctx.require(crate::roles::Action::Plan, "all").await?;
    let s = build_with(&ctx.cfg, &ctx.state, &ctx.source, &ctx.layout, progress).await?;
    // The plan writes in many transactions; its audit row commits after the last one.
    let mut tx = write_tx(&ctx.state).await?;
    let detail = format!("{} customers, {} quarantined", s.customers, s.quarantined);
    ctx.audit(&mut tx, "plan", "all", "", &detail).await?;
    tx.commit().await?;
    Ok(s)
}

/// The plan itself, without the role check and audit row of [`plan`].
pub async fn build(
    cfg: &Config,
    state: &crate::db::Pool,
    src: &Source,
    layout: &crate::target::Layout,
) -> eyre::Result<PlanSummary> {
    build_with(cfg, state, src, layout, None).await
}

/// [`build`], publishing its progress on `progress`.
pub async fn build_with(
    cfg: &Config,
    state: &crate::db::Pool,
    src: &Source,
    layout: &crate::target::Layout,
    progress: Option<&tokio::sync::watch::Sender<PlanProgress>>,
) -> eyre::Result<PlanSummary> {
    let t0 = std::time::Instant::now();
    let tell = |phase: &'static str, customers: u64| {
        if let Some(p) = progress {
            p.send_replace(PlanProgress { phase, customers });
        }
    };
    tell("audit", 0);
    // The audit's queries run one after another on a pool of one SQLite connection (the
    // customers stream on the shared pool): through the shared pool, where
    // consecutive queries alternate between connections, the orphan checks ran 8–10× slower
    // about half the time at 10^6 customers, re-reading B-tree pages from the OS (see
    // BENCHMARKS.md); on one connection they never did.
    let single = if src.backend().is_embedded() {
        Some(
            Source::open_with(&cfg.source.url, true, 1)
                .await
                .map_err(|e| eyre::eyre!("key `source.url`: {e:#}"))?,
        )
    } else {
        None
    };
    let auditor = single.as_ref().unwrap_or(src);
    let (rules, notes) = audit::applicable(auditor, &cfg.mapping, &cfg.audit).await?;
    for n in &notes {
        tracing::info!("plan: {n}");
    }
    let checks = audit::CustomerChecks::prepare(auditor, &cfg.mapping, &rules).await?;
    let (mut found, rejected) = audit::entity_findings(auditor, &cfg.mapping, &rules).await?;
    found.extend(audit::platform_findings(auditor, &cfg.mapping, layout).await?);
    drop(single);
    tracing::debug!(
        seconds = t0.elapsed().as_secs_f64(),
        findings = found.len(),
        "plan: entity audit"
    );
    let mut entity_findings: HashMap<String, Vec<audit::Finding>> = HashMap::new();
    // A customer id two source rows share is planned once (quarantined by its finding).
    let duplicated: HashSet<String> = found
        .iter()
        .filter(|f| f.rule == audit::DUPLICATE_LEGACY_ID && f.severity == Severity::Block)
        .map(|f| f.customer.clone())
        .collect();
    for f in found {
        entity_findings
            .entry(f.customer.clone())
            .or_default()
            .push(f);
    }
    let mut judge = Judge {
        as_of: cfg.as_of(),
        checks,
        entity_findings,
        segments: cfg.segments_by_priority(),
        tiers: &cfg.tier,
        owners: &cfg.mapping.owner,
        duplicates: Duplicates {
            ids: duplicated,
            seen: HashSet::new(),
        },
    };

    let mut tx = write_tx(state).await?;
    for s in &judge.segments {
        sqlx::query(
            "INSERT INTO segments (name, priority, window_start_day, window_end_day, support, target_success_rate) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET priority = excluded.priority, \
             window_start_day = excluded.window_start_day, window_end_day = excluded.window_end_day, \
             support = excluded.support, target_success_rate = excluded.target_success_rate",
        )
        .bind(s.name.clone())
        .bind(s.priority)
        .bind(s.window_days[0])
        .bind(s.window_days[1])
        .bind(s.support.clone())
        .bind(s.target_success_rate)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM findings")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM rejected_rows")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    write_chunk(state, &[], &[], &rejected).await?;

    let mut judging = std::time::Duration::ZERO;
    let mut judged_n = 0u64;
    tell("customers", 0);
    let (sql, binds) = customers_with_metrics(src, cfg, judge.as_of).await;
    // The writer is a task of its own, so it runs on a runtime worker while the stream reads
    // and judges on this thread: as a future joined with the stream, both shared one thread,
    // and the writer's binding of 15 values per customer waited on the judging (10^6
    // customers: 12.4 s writing inside a 16 s stream).
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Judged>(2);
    let writer = tokio::spawn({
        let state = state.clone();
        async move {
            let mut writing = std::time::Duration::ZERO;
            while let Some((planned, findings, rejected)) = receiver.recv().await {
                let t = std::time::Instant::now();
                write_chunk(&state, &planned, &findings, &rejected).await?;
                writing += t.elapsed();
            }
            eyre::Ok(writing)
        }
    });
    // The row shape and where the revenue, repairs and owner columns are, read once.
    let mut shape: Option<(source::Shape, [Option<usize>; 3])> = None;
    let read = async {
        // Moved in, so the writer sees the channel close when the stream ends or fails.
        let sender = sender;
        src.stream(&sql, &binds, PLAN_CHUNK, async |names, raws| {
            let (shape, [rev, rep, own]) = shape.get_or_insert_with(|| {
                let at = |c: &str| names.iter().position(|n| n == c);
                (
                    source::Shape::of(&names, Entity::Customers),
                    [at(REVENUE_COL), at(REPAIRS_COL), at(OWNER_COL)],
                )
            });
            let rows = raws
                .iter()
                .map(|r| Streamed {
                    row: source::canonical(r, Entity::Customers, shape),
                    revenue_cents: rev
                        .and_then(|i| r.get(i))
                        .and_then(|raw| schema::normalize(raw, ColType::Money).ok())
                        .and_then(|v| v.as_decimal())
                        .and_then(schema::to_cents)
                        .unwrap_or(0),
                    repairs: match rep.and_then(|i| r.get(i)) {
                        Some(Raw::Int(n)) => *n,
                        _ => 0,
                    },
                    owner: match own.and_then(|i| r.get(i)) {
                        Some(Raw::Text(t)) => Some(t.clone()),
                        Some(Raw::Int(n)) => Some(n.to_string()),
                        _ => None,
                    },
                })
                .collect();
            let t = std::time::Instant::now();
            let n = raws.len() as u64;
            let judged = judge.judge(rows)?;
            judging += t.elapsed();
            judged_n += n;
            tell("customers", judged_n);
            // The writer only stops early on an error, which its task returns.
            sender
                .send(judged)
                .await
                .map_err(|_| eyre::eyre!("plan: the state writer stopped"))
        })
        .await
        .map_err(|e| match e {
            SourceError::Query(e) => eyre::eyre!(
                "mapping.customers.query (with the revenue and repairs of mapping.payments and \
                 mapping.repairs, and mapping.owner.query) failed on the source: {e}"
            ),
            SourceError::Callback(e) => e,
        })
    }
    .await;
    // A failed write is the cause when the stream stopped because the writer did; otherwise
    // the writer has written every chunk judged before the stream failed.
    let writing = writer
        .await
        .map_err(|e| eyre::eyre!("plan: the state writer panicked: {e}"))??;
    read?;
    tracing::debug!(
        judging = judging.as_secs_f64(),
        writing = writing.as_secs_f64(),
        "plan: time inside the customer stream"
    );
    tracing::debug!(
        seconds = t0.elapsed().as_secs_f64(),
        "plan: customers judged and written"
    );
    tell("batches", judged_n);
    rebatch(state, cfg.runner.batch_size).await?;
    tracing::debug!(
        seconds = t0.elapsed().as_secs_f64(),
        "plan: batches rebuilt"
    );
    tell("done", judged_n);
    crate::db::analyze(
        state,
        &[
            "customers",
            "batches",
            "findings",
            "rejected_rows",
            "segments",
        ],
    )
    .await?;
    let mut s = summary(state).await?;
    tracing::debug!(seconds = t0.elapsed().as_secs_f64(), "plan: summary read");
    s.notes = notes;
    Ok(s)
}

/// The plan's current shape, from the state database.
pub async fn summary(state: &crate::db::Pool) -> eyre::Result<PlanSummary> {
    let mut s = PlanSummary::default();
    let segs: Vec<SegmentPlan> = sqlx::query_as(
        "SELECT s.name, s.priority,
           (SELECT COUNT(*) FROM customers c WHERE c.segment = s.name) AS customers,
           (SELECT COUNT(*) FROM customers c WHERE c.segment = s.name AND c.status = 'pending') AS pending,
           (SELECT COUNT(*) FROM customers c WHERE c.segment = s.name AND c.status = 'quarantined')
             AS quarantined,
           (SELECT COUNT(*) FROM batches b WHERE b.segment = s.name AND b.status = 'pending')
             AS batches_pending
         FROM segments s ORDER BY s.priority",
    )
    .fetch_all(state)
    .await?;
    for seg in segs {
        s.customers += seg.customers;
        s.quarantined += seg.quarantined;
        s.batches_pending += seg.batches_pending;
        s.segments.push(seg);
    }
    s.warned = sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE warnings IS NOT NULL")
        .fetch_one(state)
        .await?;
    s.rejected_rows = sqlx::query_scalar("SELECT COUNT(*) FROM rejected_rows")
        .fetch_one(state)
        .await?;
    Ok(s)
}

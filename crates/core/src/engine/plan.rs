//! `cutover plan`: customers and their metrics from the source through the mapping → audit →
//! segments → waves (one per segment, in priority order) → batches.
//!
//! Idempotent: customers already migrated, running or rolling back are never touched; pending,
//! quarantined, failed and rolled-back customers are re-evaluated (so a quarantined customer
//! whose source was fixed becomes pending, and a failed one is queued again). Only batches no
//! worker has claimed are rebuilt.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::clock;
use crate::config::segment::{self, Facts};
use crate::config::{Config, SegmentRule, Severity};
use crate::db::write_tx;
use crate::schema::{Entity, Raw, Row, Val};
use crate::source::TransformError;
use crate::source::conn::{Bind, Source, SourceError};
use crate::source::{self, audit};

/// Customers written to the state database per statement.
const UPSERT_ROWS: usize = 500;

/// What a plan found, per segment and overall.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PlanSummary {
    pub customers: i64,
    pub quarantined: i64,
    pub warned: i64,
    pub rejected_rows: i64,
    pub batches_pending: i64,
    pub segments: Vec<SegmentPlan>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, sqlx::FromRow)]
pub struct SegmentPlan {
    pub name: String,
    pub priority: i64,
    pub customers: i64,
    pub pending: i64,
    pub quarantined: i64,
    pub batches_pending: i64,
}

struct Planned {
    legacy_id: String,
    name: String,
    email: Option<String>,
    account_type: Option<String>,
    special_needs: bool,
    country: Option<String>,
    revenue: f64,
    repairs: i64,
    segment: String,
    priority: i64,
    status: &'static str,
    reason: Option<String>,
    warnings: Option<String>,
}

fn opt_text(row: &Row, col: &str) -> Option<String> {
    row.get(Entity::Customers, col)
        .filter(|v| !v.is_null())
        .map(Val::display)
}

/// Result columns the plan adds to the customers mapping; `canonical` ignores `__` columns.
const REVENUE_COL: &str = "__cutover_revenue";
const REPAIRS_COL: &str = "__cutover_repairs";

/// The customers mapping with each customer's revenue and repair count in the 12 months
/// before `as_of` as two more columns ([`REVENUE_COL`], [`REPAIRS_COL`]): correlated
/// subqueries over the payments and repairs mappings, so the source computes them in the one
/// streaming pass over the customers (an index seek per customer) and memory stays bounded.
/// Per-chunk `IN` lists were 9.6 of a 10^6-customer plan's 46 s (see BENCHMARKS.md).
/// Payments with status failed, refunded, void or cancelled do not count as revenue.
///
/// The child key is compared with the customer's `legacy_id` directly when both are integers
/// or both are not (so the source's index serves it), and as text otherwise.
async fn customers_with_metrics(
    src: &Source,
    cfg: &Config,
    as_of: NaiveDate,
) -> (String, Vec<Bind>) {
    let customers = &cfg.mapping.customers.query;
    let from = (as_of - Duration::days(365)).format("%Y-%m-%d").to_string();
    let to = (as_of + Duration::days(1)).format("%Y-%m-%d").to_string();
    let customer_int = src.key_is_int(customers, "legacy_id").await;
    let mut binds = Vec::new();
    let mut cols = String::new();
    // Dates compare as ISO text, whatever type the source keeps them in; each subquery has
    // its own placeholders (MySQL's `?` cannot be reused).
    for (entity, col) in [
        (Entity::Payments, REVENUE_COL),
        (Entity::Repairs, REPAIRS_COL),
    ] {
        let Some(q) = cfg.mapping.get(entity) else {
            continue;
        };
        let same = src.key_is_int(q, "customer_legacy_id").await == customer_int;
        let key = if same {
            "m.customer_legacy_id = c.legacy_id".to_string()
        } else {
            format!(
                "{} = {}",
                src.cast_text("m.customer_legacy_id"),
                src.cast_text("c.legacy_id")
            )
        };
        let (p1, p2) = (
            src.placeholders(binds.len() + 1, 1),
            src.placeholders(binds.len() + 2, 1),
        );
        binds.extend([Bind::Text(from.clone()), Bind::Text(to.clone())]);
        let sub = if entity == Entity::Payments {
            let (amount, paid) = (src.cast_real("m.amount"), src.cast_text("m.paid_at"));
            format!(
                "SELECT SUM({amount}) FROM ({q}) AS m WHERE {key} AND {paid} >= {p1} AND {paid} < {p2} \
                 AND (m.status IS NULL OR lower(m.status) NOT IN ('failed', 'refunded', 'void', 'cancelled'))"
            )
        } else {
            let opened = src.cast_text("m.opened_at");
            format!(
                "SELECT COUNT(*) FROM ({q}) AS m WHERE {key} AND {opened} >= {p1} AND {opened} < {p2}"
            )
        };
        cols.push_str(&format!(", ({sub}) AS {col}"));
    }
    (format!("SELECT c.*{cols} FROM ({customers}) AS c"), binds)
}

/// A judged chunk on its way to the state database: customers, findings, rejected rows.
type Judged = (Vec<Planned>, Vec<audit::Finding>, Vec<audit::Rejected>);

/// One streamed customer: its row as normalised, and the metrics the source computed.
struct Streamed {
    row: Result<Row, TransformError>,
    revenue: f64,
    repairs: i64,
}

/// Everything a chunk of customers is judged by, gathered once per plan.
struct Judge<'a> {
    as_of: NaiveDate,
    checks: audit::CustomerChecks<'a>,
    /// Child-entity findings by customer (defects only, so small).
    entity_findings: HashMap<String, Vec<audit::Finding>>,
    segments: Vec<&'a SegmentRule>,
    duplicates: Duplicates,
}

/// Customer legacy ids more than one source row has (defects only, so small), and which of
/// them were judged already.
struct Duplicates {
    ids: HashSet<String>,
    seen: HashSet<String>,
}

impl Duplicates {
    /// Whether `id` is duplicated and its first row was judged already: only that first row
    /// is planned (quarantined by its finding).
    fn seen_before(&mut self, id: &str) -> bool {
        self.ids.contains(id) && !self.seen.insert(id.to_string())
    }
}

impl Judge<'_> {
    /// Evaluates one chunk of customer rows: metrics, audit, segment. Rows that do not
    /// normalise are quarantined under their legacy id, or rejected when they have none.
    fn judge(&mut self, rows: Vec<Streamed>) -> eyre::Result<Judged> {
        let as_of_dt = self.as_of.and_hms_opt(0, 0, 0).unwrap_or_default();
        let last = self.segments.last();
        let (mut planned, mut findings, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
        for Streamed {
            row: res,
            revenue,
            repairs,
        } in rows
        {
            let row = match res {
                Ok(r) => r,
                Err(e) if e.legacy_id.is_empty() => {
                    rejected.push(audit::Rejected {
                        entity: "customers",
                        legacy_id: String::new(),
                        rule: "transform".into(),
                        detail: e.to_string(),
                    });
                    continue;
                }
                Err(e) if self.duplicates.seen_before(&e.legacy_id) => continue,
                Err(e) => {
                    let f = audit::Finding {
                        customer: e.legacy_id.clone(),
                        rule: format!("transform:customers.{}", e.column),
                        severity: Severity::Block,
                        detail: e.to_string(),
                    };
                    planned.push(Planned {
                        legacy_id: e.legacy_id.clone(),
                        name: String::new(),
                        email: None,
                        account_type: None,
                        special_needs: false,
                        country: None,
                        revenue: 0.0,
                        repairs: 0,
                        segment: last.map(|s| s.name.clone()).unwrap_or_default(),
                        priority: last.map_or(0, |s| s.priority),
                        status: "quarantined",
                        reason: Some(format!("{}: {}", f.rule, f.detail)),
                        warnings: None,
                    });
                    findings.push(f);
                    continue;
                }
            };
            let attrs = match serde_json::from_str(&row.attributes) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            let id = row.legacy_id().to_string();
            if self.duplicates.seen_before(&id) {
                continue;
            }
            let rev = row
                .get(Entity::Customers, "annual_revenue")
                .and_then(Val::as_f64)
                .unwrap_or(revenue);
            let rep = match row.get(Entity::Customers, "repairs_12m") {
                Some(Val::Int(n)) => *n,
                _ => repairs,
            };
            let created =
                opt_text(&row, "created_at").and_then(|t| crate::schema::parse_timestamp(&t));
            let account_type = opt_text(&row, "account_type");
            let country = opt_text(&row, "country");
            let special_needs = matches!(
                row.get(Entity::Customers, "special_needs"),
                Some(Val::Int(1))
            );
            let facts = Facts {
                annual_revenue: rev,
                repairs_12m: rep,
                account_type: account_type.as_deref(),
                country: country.as_deref(),
                special_needs,
                tenure_years: created.map_or(0.0, |c| (as_of_dt - c).num_days() as f64 / 365.25),
                attributes: Some(&attrs),
            };
            let Some(seg) = segment::assign(&self.segments, &facts) else {
                eyre::bail!(
                    "customer {id}: no segment matches (add a segment with no rules as a catch-all)"
                );
            };
            let mut fs = self.checks.check(&row, &attrs);
            fs.extend(self.entity_findings.remove(&id).unwrap_or_default());
            let blocking: Vec<_> = fs
                .iter()
                .filter(|f| f.severity == Severity::Block)
                .collect();
            let reason = (!blocking.is_empty()).then(|| {
                blocking
                    .iter()
                    .map(|f| format!("{}: {}", f.rule, f.detail))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            let warns: Vec<_> = fs
                .iter()
                .filter(|f| f.severity == Severity::Warn)
                .map(|f| f.rule.clone())
                .collect();
            planned.push(Planned {
                legacy_id: id,
                name: opt_text(&row, "name").unwrap_or_default(),
                email: opt_text(&row, "email"),
                account_type,
                special_needs,
                country,
                revenue: rev,
                repairs: rep,
                segment: seg.name.clone(),
                priority: seg.priority,
                status: if reason.is_some() {
                    "quarantined"
                } else {
                    "pending"
                },
                reason,
                warnings: (!warns.is_empty()).then(|| warns.join(", ")),
            });
            findings.extend(fs);
        }
        Ok((planned, findings, rejected))
    }
}

/// The columns a plan sets from what it judges; a customer is rewritten when one differs.
const CHANGED_COLUMNS: [&str; 12] = [
    "name",
    "email",
    "account_type",
    "special_needs",
    "country",
    "annual_revenue",
    "repairs_12m",
    "segment",
    "priority",
    "status",
    "reason",
    "warnings",
];

/// Writes one chunk's customers (the upsert that leaves migrated and in-flight ones alone),
/// findings and rejected rows, in one state transaction.
async fn write_chunk(
    state: &crate::db::Pool,
    planned: &[Planned],
    findings: &[audit::Finding],
    rejected: &[audit::Rejected],
) -> eyre::Result<()> {
    let now = clock::now();
    let mut tx = write_tx(state).await?;
    for chunk in planned.chunks(UPSERT_ROWS) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_pool(state),
            "INSERT INTO customers (legacy_id, name, email, account_type, special_needs, country, \
             annual_revenue, repairs_12m, segment, priority, status, reason, warnings, planned_at, updated_at) ",
        );
        qb.push_values(chunk, |mut b, p| {
            b.push_bind(p.legacy_id.clone())
                .push_bind(p.name.clone())
                .push_bind(p.email.clone())
                .push_bind(p.account_type.clone())
                .push_bind(i64::from(p.special_needs))
                .push_bind(p.country.clone())
                .push_bind(p.revenue)
                .push_bind(p.repairs)
                .push_bind(p.segment.clone())
                .push_bind(p.priority)
                .push_bind(p.status)
                .push_bind(p.reason.clone())
                .push_bind(p.warnings.clone())
                .push_bind(now.clone())
                .push_bind(now.clone());
        });
        // Every judged column is set, and a customer the plan judges as before is not written
        // at all (its `planned_at` is when the plan last changed it): a re-plan of 10^6
        // unchanged customers otherwise rewrites every row and its six index entries.
        let set: Vec<String> = CHANGED_COLUMNS
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let changed: Vec<String> = CHANGED_COLUMNS
            .iter()
            .map(|c| format!("customers.{c} IS DISTINCT FROM excluded.{c}"))
            .collect();
        qb.push(format!(
            " ON CONFLICT (legacy_id) DO UPDATE SET {}, planned_at = excluded.planned_at, \
             updated_at = CASE WHEN customers.status = excluded.status THEN customers.updated_at \
                          ELSE excluded.updated_at END \
             WHERE customers.status IN ('pending', 'quarantined', 'failed', 'rolled_back') \
               AND ({})",
            set.join(", "),
            changed.join(" OR ")
        ));
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in findings.chunks(UPSERT_ROWS) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_pool(state),
            "INSERT INTO findings (customer_legacy_id, rule, severity, detail) ",
        );
        qb.push_values(chunk, |mut b, f| {
            b.push_bind(f.customer.clone())
                .push_bind(f.rule.clone())
                .push_bind(f.severity.as_str())
                .push_bind(f.detail.clone());
        });
        qb.push(" ON CONFLICT DO NOTHING");
        qb.build().execute(&mut *tx).await?;
    }
    for chunk in rejected.chunks(UPSERT_ROWS) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_pool(state),
            "INSERT INTO rejected_rows (entity, legacy_id, rule, detail) ",
        );
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(r.entity)
                .push_bind(r.legacy_id.clone())
                .push_bind(r.rule.clone())
                .push_bind(r.detail.clone());
        });
        qb.push(" ON CONFLICT DO NOTHING");
        qb.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
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
    ctx.require(crate::roles::Action::Plan, "all").await?;
    let s = build(&ctx.cfg, &ctx.state, &ctx.source).await?;
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
) -> eyre::Result<PlanSummary> {
    let t0 = std::time::Instant::now();
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
    let checks = audit::CustomerChecks::prepare(auditor, &cfg.mapping, &cfg.audit).await?;
    let (found, rejected) = audit::entity_findings(auditor, &cfg.mapping, &cfg.audit).await?;
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
    let mut shape: Option<(source::Shape, Option<usize>, Option<usize>)> = None;
    let read = async {
        // Moved in, so the writer sees the channel close when the stream ends or fails.
        let sender = sender;
        src.stream(&sql, &binds, PLAN_CHUNK, async |names, raws| {
            let (shape, rev, rep) = shape.get_or_insert_with(|| {
                let at = |c: &str| names.iter().position(|n| n == c);
                (
                    source::Shape::of(&names, Entity::Customers),
                    at(REVENUE_COL),
                    at(REPAIRS_COL),
                )
            });
            let rows = raws
                .iter()
                .map(|r| Streamed {
                    row: source::canonical(r, Entity::Customers, shape),
                    revenue: match rev.and_then(|i| r.get(i)) {
                        Some(Raw::Real(f)) => *f,
                        Some(Raw::Int(i)) => *i as f64,
                        _ => 0.0,
                    },
                    repairs: match rep.and_then(|i| r.get(i)) {
                        Some(Raw::Int(n)) => *n,
                        _ => 0,
                    },
                })
                .collect();
            let t = std::time::Instant::now();
            let judged = judge.judge(rows)?;
            judging += t.elapsed();
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
                 mapping.repairs) failed on the source: {e}"
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
    rebatch(state, cfg.runner.batch_size).await?;
    tracing::debug!(
        seconds = t0.elapsed().as_secs_f64(),
        "plan: batches rebuilt"
    );
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
    let s = summary(state).await;
    tracing::debug!(seconds = t0.elapsed().as_secs_f64(), "plan: summary read");
    s
}

/// Rebuilds the batches no worker has claimed: pending customers are grouped by segment, most
/// valuable first, into batches of `size`. Batch ids are `<SEGMENT>-<seq>` and continue after
/// the segment's claimed batches, so re-running gives the same ids.
pub async fn rebatch(state: &crate::db::Pool, size: usize) -> eyre::Result<()> {
    let mut tx = write_tx(state).await?;
    // Only rows whose batch changes are written: a re-plan of 10^6 customers that first cleared
    // every pending batch id and then set it again rewrote each row twice (7.9 s for the
    // clearing alone).
    sqlx::query("UPDATE customers SET batch_id = NULL WHERE status = 'quarantined' AND batch_id IS NOT NULL")
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM batches WHERE status = 'pending'")
        .execute(&mut *tx)
        .await?;
    let rebuild_index = bulk_batch_index(&mut tx).await?;
    // One set-based statement numbers every pending customer within its segment. `base` is
    // materialized so its MAX(seq) runs once per segment, and UPDATE … FROM joins `moved` once
    // (a correlated subquery here re-scanned it per customer: O(n²) at 10^6). `moved` keeps
    // only the customers whose batch changes, so a re-plan that moves nobody joins nothing
    // (joining all 966,931 pending customers to find that out took 1.4 s of 4.4 at 10^6).
    // `moved` is in id order so the update walks the table once in order: in ranking order
    // it read and rewrote a random page per customer (a first plan at 10^6: 13.5 → 9.7 s).
    let seq = crate::db::Backend::of_pool(state).zero_pad("r.last + r.k + 1", 4);
    let batch = format!("r.slug || '-' || {seq}");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH base AS MATERIALIZED (
            SELECT s.name, upper(replace(s.name, ' ', '-')) AS slug,
                   COALESCE((SELECT MAX(b.seq) FROM batches b WHERE b.segment = s.name), 0) AS last
            FROM segments s),
         ranked AS (
            SELECT c.id, c.batch_id AS old, base.slug, base.last,
                   (ROW_NUMBER() OVER (PARTITION BY c.segment ORDER BY c.annual_revenue DESC, c.legacy_id) - 1) / $1 AS k
            FROM customers c JOIN base ON base.name = c.segment
            WHERE c.status = 'pending'),
         moved AS MATERIALIZED (
            SELECT r.id, {batch} AS batch FROM ranked r
            WHERE r.old IS NULL OR r.old <> {batch}
            ORDER BY r.id)
         UPDATE customers SET batch_id = m.batch
         FROM moved m WHERE m.id = customers.id",
    )))
    .bind(size as i64)
    .execute(&mut *tx)
    .await?;
    if let Some(index) = rebuild_index {
        sqlx::raw_sql(sqlx::AssertSqlSafe(index))
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO batches (id, segment, priority, seq, status, size)
         SELECT c.batch_id, c.segment, MIN(c.priority),
                CAST(substr(c.batch_id, length(c.batch_id) - 3) AS INTEGER), 'pending', COUNT(*)
         FROM customers c WHERE c.status = 'pending' AND c.batch_id IS NOT NULL GROUP BY c.batch_id, c.segment",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// On SQLite, when most customers have no batch yet (a first plan), drops the batch index
/// and returns the statement that creates it again after the update: building it once from
/// sorted keys beats updating it per customer at random places (a first plan's rebatch at
/// 10^6 customers: 10.0 → 6.1 s in the `sqlite3` shell). Readers see the old index until the
/// transaction commits (WAL). `None` elsewhere: on PostgreSQL `DROP INDEX` would lock the
/// table against the console's reads for the whole transaction.
///
/// Errors: the state database failing.
async fn bulk_batch_index(tx: &mut crate::db::Tx) -> eyre::Result<Option<String>> {
    if !crate::db::Backend::of_conn(tx).is_embedded() {
        return Ok(None);
    }
    // The trigger-kept `customer_counts` gives the total without counting every customer.
    let index: Option<String> = sqlx::query_scalar(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'customers_batch'
           AND (SELECT COUNT(*) FROM customers WHERE batch_id IS NULL) * 2
               >= (SELECT COALESCE(SUM(customers), 0) FROM customer_counts)",
    )
    .fetch_optional(&mut **tx)
    .await?;
    if index.is_some() {
        sqlx::query("DROP INDEX customers_batch")
            .execute(&mut **tx)
            .await?;
    }
    Ok(index)
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

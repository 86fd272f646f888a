//! Rollback (brief section 2, "Rollback levels"): one customer, a batch, or everything.
//!
//! A customer's rollback removes what the migration wrote on the platform, restores the
//! platform rows its backup holds, verifies the platform's checksum for that customer against
//! the backup, runs the source's `on_rollback` hook, records the step and a notification, and
//! leaves the customer eligible for re-migration (the next plan queues it). Customers are
//! first marked `rolling_back`, so an interrupted rollback is finished by running it again.

mod blast;

pub use blast::{BlastRadius, EntityRows, blast_radius};

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;

use super::lease::{self, Lease};
use super::pipeline;
use super::runner::{RunnerState, set_runner_state};
use crate::ctx::Ctx;
use crate::db::write_tx;
use crate::roles::Action;
use crate::source::CHUNK;
use crate::{clock, source};

/// What to roll back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A customer by legacy id.
    Customer(String),
    /// A batch by id.
    Batch(String),
    /// A wave: every customer of a segment (the migration plan's partial rollback level).
    Segment(String),
    /// Halt the runner and roll back every customer the migration touched.
    All,
}

impl Scope {
    /// How operators read the scope: `customer 1053`, `batch VIP-0002`, `all`.
    pub fn label(&self) -> String {
        match self {
            Scope::Customer(c) => format!("customer {c}"),
            Scope::Batch(b) => format!("batch {b}"),
            Scope::Segment(s) => format!("wave {s}"),
            Scope::All => "all".into(),
        }
    }
}

/// The scope as a condition on `customers c` with its one bind (`$1`).
fn scope_filter(scope: &Scope) -> (&'static str, Option<String>) {
    match scope {
        Scope::Customer(c) => ("c.legacy_id = $1", Some(c.clone())),
        Scope::Batch(b) => ("c.batch_id = $1", Some(b.clone())),
        Scope::Segment(s) => ("c.segment = $1", Some(s.clone())),
        Scope::All => ("$1 IS NULL", None),
    }
}

/// Fails, naming it, when the customer, batch or wave of `scope` does not exist.
async fn check_exists(ctx: &Ctx, scope: &Scope) -> eyre::Result<()> {
    let (sql, what, bind) = match scope {
        Scope::Customer(c) => (
            "SELECT COUNT(*) FROM customers WHERE legacy_id = $1",
            format!("customer {c}: no such legacy id in the plan"),
            c,
        ),
        Scope::Batch(b) => (
            "SELECT COUNT(*) FROM batches WHERE id = $1",
            format!("batch {b}: no such batch (`cutover batches` lists them)"),
            b,
        ),
        Scope::Segment(s) => (
            "SELECT COUNT(*) FROM segments WHERE name = $1",
            format!("wave {s}: no such segment (`cutover status` lists them)"),
            s,
        ),
        Scope::All => return Ok(()),
    };
    let n: i64 = sqlx::query_scalar(sql)
        .bind(bind.clone())
        .fetch_one(&ctx.state)
        .await?;
    if n == 0 {
        eyre::bail!("{what}");
    }
    Ok(())
}

/// What a rollback did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RollbackReport {
    /// What it was done to.
    pub scope: String,
    /// Customers rolled back.
    pub rolled_back: usize,
    /// Customers whose restored checksum did not match the backup, with the reason.
    pub unverified: Vec<(String, String)>,
    /// How long it took, in seconds.
    pub seconds: f64,
}

/// Rolls `scope` back and verifies it, as this process's operator (who must be on-call or
/// admin); `reason` is recorded in the audit row.
///
/// Errors: nothing to roll back (unknown customer or batch, or nothing migrated in it), work
/// still in flight under a live lease (pause or halt first), or a database failing.
pub async fn rollback(ctx: &Ctx, scope: &Scope, reason: &str) -> eyre::Result<RollbackReport> {
    ctx.require(Action::Rollback, &scope.label()).await?;
    let t0 = std::time::Instant::now();
    if *scope == Scope::All {
        set_runner_state(ctx, RunnerState::Halted, "rollback --all").await?;
        wait_for_leases(ctx).await?;
    }
    let Targets { who, batch_of } = targets(ctx, scope).await?;
    // New fencing tokens for every batch touched, committed before the platform is touched: a
    // migration of those batches that stalled past its lease can write nothing after this,
    // neither to the state nor to the platform, so it cannot resurrect what is rolled back.
    let batches: Vec<String> = batch_of
        .values()
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut tx = write_tx(&ctx.state).await?;
    let fences = lease::take_tokens(ctx, &mut tx, &batches).await?;
    crate::fault::point("commit.state");
    tx.commit().await?;
    let mut report = RollbackReport {
        scope: scope.label(),
        ..Default::default()
    };
    for chunk in who.chunks(CHUNK) {
        let touched: HashSet<&String> = chunk
            .iter()
            .filter_map(|(id, _)| batch_of.get(id))
            .collect();
        let chunk_fences: Vec<Lease> = fences
            .iter()
            .filter(|l| touched.contains(&l.batch))
            .cloned()
            .collect();
        let bad = roll_back_chunk(ctx, scope, chunk, &chunk_fences).await?;
        report.rolled_back += chunk.len() - bad.len();
        report.unverified.extend(bad);
    }
    report.seconds = t0.elapsed().as_secs_f64();
    finish(ctx, scope, reason, &report).await?;
    let ids: Vec<i64> = who.iter().map(|(id, _)| *id).collect();
    crate::alerts::refresh(ctx, Some(&ids)).await;
    tracing::info!(scope = %report.scope, rolled_back = report.rolled_back, unverified = report.unverified.len(), "rollback done");
    Ok(report)
}

/// The customers a rollback of `scope` touches (state id, legacy id) and each one's batch.
struct Targets {
    who: Vec<(i64, String)>,
    batch_of: HashMap<i64, String>,
}

/// The customers `scope` names that a migration touched (migrated, failed, in flight, or
/// half rolled back), after checking that the scope exists and no live worker holds its batch.
///
/// Errors: an unknown customer or batch, a batch in flight under a live lease, nothing to roll
/// back, or the state database failing.
async fn targets(ctx: &Ctx, scope: &Scope) -> eyre::Result<Targets> {
    let now = clock::now();
    let (filter, bind) = scope_filter(scope);
    check_exists(ctx, scope).await?;
    let live: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT DISTINCT b.id FROM customers c JOIN batches b ON b.id = c.batch_id
         WHERE {filter} AND c.status = 'running' AND b.status = 'running' AND b.lease_until > $2 LIMIT 1"
    )))
    .bind(bind.clone())
    .bind(now)
    .fetch_optional(&ctx.state)
    .await?;
    if let Some(b) = live {
        eyre::bail!(
            "batch {b} is in flight on another worker: pause (p) or halt (X) the runner first"
        );
    }
    let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT c.id, c.legacy_id, c.batch_id FROM customers c
         WHERE {filter} AND c.status IN ('migrated', 'failed', 'running', 'rolling_back') ORDER BY c.id"
    )))
    .bind(bind)
    .fetch_all(&ctx.state)
    .await?;
    let batch_of: HashMap<i64, String> = rows
        .iter()
        .filter_map(|(id, _, b)| Some((*id, b.clone()?)))
        .collect();
    let who: Vec<(i64, String)> = rows.into_iter().map(|(id, l, _)| (id, l)).collect();
    if who.is_empty() {
        eyre::bail!(
            "{}: nothing to roll back (no customer in it was migrated or started)",
            scope.label()
        );
    }
    Ok(Targets { who, batch_of })
}

/// Rolls back one chunk of customers: marks them `rolling_back` (so an interrupted rollback
/// is finished by running it again), restores the platform from their backups under
/// `fences`, runs the source's `on_rollback` hook, and records each outcome. Returns the
/// customers whose restore did not verify, with the reason.
async fn roll_back_chunk(
    ctx: &Ctx,
    scope: &Scope,
    chunk: &[(i64, String)],
    fences: &[Lease],
) -> eyre::Result<HashMap<String, String>> {
    let started = clock::now();
    let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
    let mut tx = write_tx(&ctx.state).await?;
    by_ids(
        "UPDATE customers SET status = 'rolling_back', updated_at = $1 WHERE id IN",
        &[&started],
        &ids,
    )
    .build()
    .execute(&mut *tx)
    .await?;
    crate::fault::point("commit.state");
    tx.commit().await?;
    let bad = pipeline::restore(ctx, chunk, fences).await?;
    type Members<'a> = Vec<&'a (i64, String)>;
    let (ok, failed): (Members, Members) = chunk.iter().partition(|(_, l)| !bad.contains_key(l));
    let ok_ids: Vec<i64> = ok.iter().map(|(id, _)| *id).collect();
    let ok_legacy: Vec<String> = ok.iter().map(|(_, l)| l.clone()).collect();
    if let Some(sql) = &ctx.cfg.source.on_rollback {
        source::run_hook(
            &ctx.source,
            &ctx.cfg.mapping,
            "on_rollback",
            sql,
            &ok_legacy,
        )
        .await?;
    }
    let done = clock::now();
    let mut tx = write_tx(&ctx.state).await?;
    if !ok_ids.is_empty() {
        let detail = format!("rolled back ({})", scope.label());
        record_rolled_back(ctx, &mut tx, &ok_ids, &started, &done, &detail).await?;
    }
    // Unverified customers are rare and each has its own reason.
    for (id, legacy) in failed {
        let detail = format!("rollback not verified: {}", bad[legacy]);
        sqlx::query(
            "UPDATE customers SET status = 'failed', step = NULL, platform_id = NULL, reason = $1,
             updated_at = $2, migrated_at = NULL WHERE id = $3",
        )
        .bind(detail.clone())
        .bind(done.clone())
        .bind(*id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO steps (customer_id, batch_id, step, started_at, finished_at, outcome, detail, worker)
             SELECT c.id, c.batch_id, 'rollback', $1, $2, 'failed', $3, b.lease_owner
             FROM customers c LEFT JOIN batches b ON b.id = c.batch_id WHERE c.id = $4",
        )
        .bind(started.clone())
        .bind(done.clone())
        .bind(detail)
        .bind(*id)
        .execute(&mut *tx)
        .await?;
    }
    crate::fault::point("commit.state");
    tx.commit().await?;
    Ok(bad)
}

/// Records the customers `ids` rolled back, in `tx`: their status, a `rollback` step each, and
/// the "moved back" notice (its dedup key makes a resumed rollback record it once).
async fn record_rolled_back(
    ctx: &Ctx,
    tx: &mut crate::db::Tx,
    ids: &[i64],
    started: &str,
    done: &str,
    detail: &str,
) -> eyre::Result<()> {
    by_ids(
        "UPDATE customers SET status = 'rolled_back', step = NULL, platform_id = NULL, reason = NULL,
         updated_at = $1, migrated_at = NULL WHERE id IN",
        &[done],
        ids,
    )
    .build()
    .execute(&mut **tx)
    .await?;
    by_ids(
        "INSERT INTO steps (customer_id, batch_id, step, started_at, finished_at, outcome, detail, worker)
         SELECT c.id, c.batch_id, 'rollback', $1, $2, 'ok', $3, b.lease_owner
         FROM customers c LEFT JOIN batches b ON b.id = c.batch_id WHERE c.id IN",
        &[started, done, detail],
        ids,
    )
    .build()
    .execute(&mut **tx)
    .await?;
    let who: Vec<(i64, String, i64, String, String, Option<String>)> = by_ids(
        "SELECT c.id, c.legacy_id, c.attempts, c.name, c.segment, s.support
         FROM customers c LEFT JOIN segments s ON s.name = c.segment WHERE c.id IN",
        &[],
        ids,
    )
    .build_query_as()
    .fetch_all(&mut **tx)
    .await?;
    // The "moved back" text the customer reads, through the same outbox as "moved".
    let (template, target) = crate::comms::engine_notice(ctx, "moved_back");
    let messages: Vec<_> = who
        .into_iter()
        .map(|(id, legacy, n, name, wave, support)| {
            let message = crate::comms::render(
                &template,
                &crate::comms::Vars {
                    name: name.clone(),
                    customer_id: legacy.clone(),
                    wave: wave.clone(),
                    migration_date: done.get(..10).unwrap_or(done).to_string(),
                    support: support.unwrap_or_else(|| "customer".into()),
                },
            );
            let payload = serde_json::json!({
                "event": "customer.moved_back", "at": done, "notice": "moved_back",
                "customer": { "legacy_id": legacy, "name": name, "segment": wave },
                "message": message,
            });
            (
                format!("rolled_back:{legacy}:{n}"),
                Some(id),
                payload.to_string(),
            )
        })
        .collect();
    crate::notify::enqueue_many(tx, "moved_back", target.as_deref(), &messages).await?;
    Ok(())
}

/// The action's one audit row, committed with its last write (a batch's status).
async fn finish(
    ctx: &Ctx,
    scope: &Scope,
    reason: &str,
    report: &RollbackReport,
) -> eyre::Result<()> {
    let outcome = if report.unverified.is_empty() {
        "ok"
    } else {
        "unverified"
    };
    let mut tx = write_tx(&ctx.state).await?;
    // A batch, or every batch of a wave that had started: none of their customers is on
    // the platform any more (the next plan requeues them into new batches).
    let batches = match scope {
        Scope::Batch(_) => Some("id = $2"),
        Scope::Segment(_) => Some("segment = $2 AND status IN ('running', 'done')"),
        Scope::Customer(_) | Scope::All => None,
    };
    if let (Some(which), Scope::Batch(name) | Scope::Segment(name)) = (batches, scope) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE batches SET status = 'rolled_back', lease_until = NULL, finished_at = $1 WHERE {which}"
        )))
        .bind(clock::now())
        .bind(name.clone())
        .execute(&mut *tx)
        .await?;
    }
    let entry = crate::db::AuditEntry {
        actor: &ctx.actor,
        role: ctx.role().as_str(),
        action: "rollback",
        scope: &scope.label(),
        reason,
        result: outcome,
        detail: &format!(
            "{} rolled back, {} unverified, {:.2}s",
            report.rolled_back,
            report.unverified.len(),
            report.seconds
        ),
    };
    crate::db::audit(&mut tx, entry).await?;
    crate::fault::point("commit.state");
    tx.commit().await?;
    Ok(())
}

/// `sql` (ending in `… IN`) with `binds` as `$1…` and `ids` as the list after them.
fn by_ids(sql: &str, binds: &[&str], ids: &[i64]) -> crate::db::Builder {
    let mut b = crate::db::Builder::new(sql);
    // The fixed binds take $1…$k; the builder numbers on from there.
    for v in binds {
        b.bind_only(v.to_string());
    }
    b.push(" ").push_list(ids.iter().copied());
    b
}

/// After a halt, waits until no batch holds a live lease (workers stop at their next step
/// boundary and release it), at most two lease periods.
async fn wait_for_leases(ctx: &Ctx) -> eyre::Result<()> {
    let deadline =
        std::time::Instant::now() + Duration::from_secs(ctx.cfg.runner.lease_seconds * 2);
    loop {
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM batches WHERE status = 'running' AND lease_until > $1",
        )
        .bind(clock::now())
        .fetch_one(&ctx.state)
        .await?;
        if live == 0 || std::time::Instant::now() > deadline {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

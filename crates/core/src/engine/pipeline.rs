//! The per-customer pipeline (brief section 2): backup → create_account → migrate_data →
//! validate → notify, run for a whole batch at a time.
//!
//! Each step does its platform work in one target transaction, then records the step for every
//! customer in one state transaction behind the lease fence. Every step can be re-run: a
//! process killed between the two commits redoes the step on resume and ends in the same state.
//! `validate` gates `notify`: a customer that did not validate is restored to its backup and
//! marked failed, and is never told it moved.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::Row as _;

use super::lease::{self, Lease, fence, heartbeat};
use super::runner::{Gate, gate};
pub use super::validate::{CustomerCheck, EntityCheck, validate};
use crate::ctx::Ctx;
use crate::db::{InDb, placeholders, write_tx};
use crate::schema::{Checksum, Entity, Row, checksum};
use crate::source::{self, CHUNK, SourceRows};
use crate::{clock, target};

/// Rows per multi-row upsert of backups and validations (8 values each).
const UPSERT_ROWS: usize = 400;
/// The steps in order; `customers.step` holds the last one completed.
pub const STEPS: [&str; 5] = [
    "backup",
    "create_account",
    "migrate_data",
    "validate",
    "notify",
];

fn steps_done(step: Option<&str>) -> usize {
    step.and_then(|s| STEPS.iter().position(|x| *x == s))
        .map_or(0, |i| i + 1)
}

/// Counts of what happened to a batch's customers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub migrated: usize,
    pub failed: usize,
    pub quarantined: usize,
}

#[derive(Debug)]
pub enum BatchOutcome {
    Done(Tally),
    Stopped(String),
}

#[derive(Debug, Clone)]
struct Member {
    id: i64,
    legacy_id: String,
    attempts: i64,
    done: usize,
}

/// Reads every mapped entity's rows for the customers `ids` from the source.
pub async fn read_source(ctx: &Ctx, ids: &[String]) -> eyre::Result<SourceRows> {
    source::read(&ctx.source, &ctx.cfg.mapping, ids).await
}

/// Writes `rows` (all of these customers' rows, every entity) to the platform, replacing
/// whatever the platform had for them. With `customers_too` unset only child rows are replaced.
pub async fn write_target(
    conn: &mut crate::db::Conn,
    ids: &[String],
    rows: &HashMap<Entity, Vec<&Row>>,
    customers_too: bool,
) -> eyre::Result<()> {
    let empty = Vec::new();
    if customers_too {
        target::delete_customers(conn, ids).await?;
        let cs = rows.get(&Entity::Customers).unwrap_or(&empty);
        target::insert(
            conn,
            Entity::Customers,
            cs,
            &HashMap::new(),
            &HashMap::new(),
        )
        .await?;
    } else {
        target::delete_children(conn, ids).await?;
    }
    let platform = target::customer_ids(conn, ids).await?;
    let devs = rows.get(&Entity::Devices).unwrap_or(&empty);
    target::insert(conn, Entity::Devices, devs, &platform, &HashMap::new()).await?;
    let device_ids = target::device_ids(conn, ids).await?;
    for e in [Entity::Repairs, Entity::Payments, Entity::Communications] {
        target::insert(
            conn,
            e,
            rows.get(&e).unwrap_or(&empty),
            &platform,
            &device_ids,
        )
        .await?;
    }
    Ok(())
}

/// Inserts one `steps` row per customer and moves their `step` forward, in `tx`.
async fn record_step(
    tx: &mut crate::db::Tx,
    members: &[&Member],
    batch: &str,
    step: &str,
    started: &str,
    outcome: &str,
    detail: Option<&HashMap<i64, String>>,
) -> eyre::Result<()> {
    let now = clock::now();
    for chunk in members.chunks(CHUNK) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_conn(tx),
            "INSERT INTO steps (customer_id, batch_id, step, started_at, finished_at, outcome, detail) ",
        );
        qb.push_values(chunk, |mut b, m| {
            b.push_bind(m.id)
                .push_bind(batch.to_string())
                .push_bind(step.to_string())
                .push_bind(started.to_string())
                .push_bind(now.clone())
                .push_bind(outcome.to_string())
                .push_bind(detail.and_then(|d| d.get(&m.id).cloned()));
        });
        qb.build().execute(&mut **tx).await?;
        if outcome == "ok" {
            let sql = format!(
                "UPDATE customers SET step = $1, updated_at = $2 WHERE id IN ({})",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(step.to_string())
                .bind(now.clone());
            for m in chunk {
                q = q.bind(m.id);
            }
            q.execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// Marks customers failed or quarantined with their reason, in `tx`.
async fn set_outcome(
    tx: &mut crate::db::Tx,
    members: &[&Member],
    status: &str,
    reasons: &HashMap<i64, String>,
) -> eyre::Result<()> {
    let now = clock::now();
    for m in members {
        sqlx::query("UPDATE customers SET status = $1, reason = $2, platform_id = NULL, updated_at = $3 WHERE id = $4")
            .bind(status.to_string())
            .bind(reasons.get(&m.id).cloned())
            .bind(now.clone())
            .bind(m.id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Restores the platform to the customers' backups (nothing, for a customer that had nothing)
/// and verifies the target checksums against the backup. Returns the customers whose
/// verification failed, with the reason.
///
/// `fences` are the leases of the batches these customers belong to: the restore's platform
/// transaction checks and advances each ([`lease::fence_platform`]).
///
/// Errors: [`lease::LeaseLost`] when the platform saw a newer token for one of the batches
/// (nothing was written), or a database failing.
pub async fn restore(
    ctx: &Ctx,
    ids: &[(i64, String)],
    fences: &[Lease],
) -> eyre::Result<HashMap<String, String>> {
    let mut backups: HashMap<Entity, Vec<Row>> = HashMap::new();
    let mut expected: HashMap<(String, Entity), Checksum> = HashMap::new();
    let mut with_backup: Vec<String> = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT c.legacy_id, b.entity, b.target_rows, b.target_count, b.target_checksum
             FROM backups b JOIN customers c ON c.id = b.customer_id WHERE b.customer_id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, _) in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(&ctx.state).await? {
            let cust: String = r.try_get(0)?;
            let Some(e) = Entity::parse(&r.try_get::<String, _>(1)?) else {
                continue;
            };
            let rows: Vec<Row> = serde_json::from_str(&r.try_get::<String, _>(2)?)?;
            backups.entry(e).or_default().extend(rows);
            expected.insert(
                (cust.clone(), e),
                Checksum {
                    count: r.try_get(3)?,
                    sha256: r.try_get(4)?,
                },
            );
            if e == Entity::Customers {
                with_backup.push(cust);
            }
        }
    }
    // A customer without a backup never reached create_account: the platform has nothing of it.
    let all: Vec<String> = ids.iter().map(|(_, l)| l.clone()).collect();
    let refs: HashMap<Entity, Vec<&Row>> = backups
        .iter()
        .map(|(e, v)| (*e, v.iter().collect()))
        .collect();
    async {
        let mut tx = write_tx(&ctx.target).await?;
        for l in fences {
            lease::fence_platform(&mut tx, l).await?;
        }
        write_target(&mut tx, &with_backup, &refs, true).await?;
        tx.commit().await?;
        Ok::<_, eyre::Report>(())
    }
    .await
    .in_db("platform")?;
    crate::fault::point("commit.target");
    super::validate::against_backup(ctx, &all, &expected).await
}

async fn load_members(ctx: &Ctx, batch: &str) -> eyre::Result<Vec<Member>> {
    let rows = sqlx::query(
        "SELECT id, legacy_id, attempts, step FROM customers WHERE batch_id = $1 AND status = 'running' ORDER BY id",
    )
    .bind(batch.to_string())
    .fetch_all(&ctx.state)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Member {
                id: r.try_get(0)?,
                legacy_id: r.try_get(1)?,
                attempts: r.try_get(2)?,
                done: steps_done(r.try_get::<Option<String>, _>(3)?.as_deref()),
            })
        })
        .collect()
}

/// Drives one claimed batch to the end, or until the runner is paused-and-halted or stopped.
pub async fn process_batch(ctx: &Ctx, lease: &Lease) -> eyre::Result<BatchOutcome> {
    let mut members = load_members(ctx, &lease.batch).await?;
    let mut tally = Tally::default();
    let delay = Duration::from_millis(ctx.cfg.runner.step_delay_ms);
    let mut source: Option<SourceRows> = None;
    for (k, step) in STEPS.iter().enumerate() {
        crate::fault::point("step");
        if let Gate::Stop(why) = gate(ctx, Some(lease)).await? {
            return Ok(BatchOutcome::Stopped(why));
        }
        heartbeat(ctx).await?;
        let todo: Vec<&Member> = members.iter().filter(|m| m.done == k).collect();
        if todo.is_empty() {
            continue;
        }
        let started = clock::now();
        let t0 = std::time::Instant::now();
        let ids: Vec<String> = todo.iter().map(|m| m.legacy_id.clone()).collect();
        let mut failed: HashMap<i64, String> = HashMap::new();
        let mut quarantined: HashMap<i64, String> = HashMap::new();
        match *step {
            "backup" => {
                let src = read_source(ctx, &ids).await?;
                let pre = target::read_all(&ctx.target, &ids).await?;
                let mut tx = write_tx(&ctx.state).await?;
                fence(ctx, &mut tx, lease).await?;
                let mut backups = Vec::with_capacity(todo.len() * Entity::ALL.len());
                for m in &todo {
                    if let Some(why) = src.bad.get(&m.legacy_id) {
                        quarantined.insert(m.id, why.clone());
                        continue;
                    }
                    for e in Entity::ALL {
                        let s = checksum(&mut src.of(e, &m.legacy_id).iter().collect::<Vec<_>>());
                        let t_rows: Vec<&Row> = pre
                            .get(&e)
                            .and_then(|x| x.get(&m.legacy_id))
                            .map(|v| v.iter().map(|t| &t.row).collect())
                            .unwrap_or_default();
                        let t = checksum(&mut t_rows.clone());
                        backups.push((m.id, e, s, t, serde_json::to_string(&t_rows)?));
                    }
                }
                // A resumed backup step replaces the snapshot it took before the crash.
                for chunk in backups.chunks(UPSERT_ROWS) {
                    let mut b = crate::db::Builder::on(
                        crate::db::Backend::of_pool(&ctx.state),
                        "INSERT INTO backups (customer_id, entity, taken_at, source_count, source_checksum, \
                         target_count, target_checksum, target_rows) ",
                    );
                    b.push_values(chunk, |mut v, (id, e, s, t, rows)| {
                        v.push_bind(*id)
                            .push_bind(e.name())
                            .push_bind(started.clone())
                            .push_bind(s.count)
                            .push_bind(s.sha256.clone())
                            .push_bind(t.count)
                            .push_bind(t.sha256.clone())
                            .push_bind(rows.clone());
                    });
                    b.push(
                        " ON CONFLICT (customer_id, entity) DO UPDATE SET taken_at = excluded.taken_at, \
                         source_count = excluded.source_count, source_checksum = excluded.source_checksum, \
                         target_count = excluded.target_count, target_checksum = excluded.target_checksum, \
                         target_rows = excluded.target_rows",
                    );
                    b.build().execute(&mut *tx).await?;
                }
                let ok: Vec<&Member> = todo
                    .iter()
                    .copied()
                    .filter(|m| !quarantined.contains_key(&m.id))
                    .collect();
                record_step(&mut tx, &ok, &lease.batch, step, &started, "ok", None).await?;
                let q: Vec<&Member> = todo
                    .iter()
                    .copied()
                    .filter(|m| quarantined.contains_key(&m.id))
                    .collect();
                record_step(
                    &mut tx,
                    &q,
                    &lease.batch,
                    step,
                    &started,
                    "quarantined",
                    Some(&quarantined),
                )
                .await?;
                set_outcome(&mut tx, &q, "quarantined", &quarantined).await?;
                crate::fault::point("commit.state");
                tx.commit().await?;
                source = Some(src);
            }
            "create_account" | "migrate_data" => {
                let src = match source.take() {
                    Some(s) => s,
                    None => read_source(ctx, &ids).await?,
                };
                for m in &todo {
                    if let Some(why) = src.bad.get(&m.legacy_id) {
                        failed.insert(m.id, why.clone());
                    }
                }
                let go: Vec<String> = todo
                    .iter()
                    .filter(|m| !failed.contains_key(&m.id))
                    .map(|m| m.legacy_id.clone())
                    .collect();
                let mut rows: HashMap<Entity, Vec<&Row>> = HashMap::new();
                for e in Entity::ALL {
                    rows.insert(e, go.iter().flat_map(|c| src.of(e, c)).collect());
                }
                async {
                    let mut tx = write_tx(&ctx.target).await?;
                    lease::fence_platform(&mut tx, lease).await?;
                    if *step == "create_account" {
                        target::delete_customers(&mut tx, &go).await?;
                        let cs = rows.get(&Entity::Customers).cloned().unwrap_or_default();
                        target::insert(
                            &mut tx,
                            Entity::Customers,
                            &cs,
                            &HashMap::new(),
                            &HashMap::new(),
                        )
                        .await?;
                    } else {
                        write_target(&mut tx, &go, &rows, false).await?;
                    }
                    tx.commit().await?;
                    Ok::<_, eyre::Report>(())
                }
                .await
                .in_db("platform")?;
                crate::fault::point("commit.target");
                let mut tx = write_tx(&ctx.state).await?;
                fence(ctx, &mut tx, lease).await?;
                let ok: Vec<&Member> = todo
                    .iter()
                    .copied()
                    .filter(|m| !failed.contains_key(&m.id))
                    .collect();
                if *step == "create_account" {
                    let pids = async {
                        let mut conn = ctx.target.acquire().await?;
                        target::customer_ids(&mut conn, &go).await
                    }
                    .await
                    .in_db("platform")?;
                    // One statement per chunk, not per customer: `CASE id WHEN … THEN …`.
                    let backend = crate::db::Backend::of_pool(&ctx.state);
                    for chunk in ok.chunks(UPSERT_ROWS) {
                        let mut b = crate::db::Builder::on(
                            backend,
                            "UPDATE customers SET platform_id = CASE id",
                        );
                        for m in chunk {
                            b.push(" WHEN ")
                                .push_bind(m.id)
                                .push(" THEN ")
                                .push_bind(pids.get(&m.legacy_id).copied());
                        }
                        b.push(" END WHERE id IN ")
                            .push_list(chunk.iter().map(|m| m.id));
                        b.build().execute(&mut *tx).await?;
                    }
                }
                record_step(&mut tx, &ok, &lease.batch, step, &started, "ok", None).await?;
                crate::fault::point("commit.state");
                tx.commit().await?;
                source = Some(src);
            }
            "validate" => {
                let checks = validate(ctx, &ids).await?;
                let mut tx = write_tx(&ctx.state).await?;
                fence(ctx, &mut tx, lease).await?;
                let rows: Vec<(i64, &EntityCheck)> = todo
                    .iter()
                    .zip(&checks)
                    .flat_map(|(m, c)| c.entities.iter().map(move |e| (m.id, e)))
                    .collect();
                for chunk in rows.chunks(UPSERT_ROWS) {
                    let mut b = crate::db::Builder::on(
                        crate::db::Backend::of_pool(&ctx.state),
                        "INSERT INTO validations (customer_id, entity, checked_at, source_count, \
                         target_count, source_checksum, target_checksum, ok) ",
                    );
                    b.push_values(chunk, |mut v, (id, e)| {
                        v.push_bind(*id)
                            .push_bind(e.entity)
                            .push_bind(started.clone())
                            .push_bind(e.source_count)
                            .push_bind(e.target_count)
                            .push_bind(e.source_checksum.clone())
                            .push_bind(e.target_checksum.clone())
                            .push_bind(i64::from(e.ok()));
                    });
                    b.push(
                        " ON CONFLICT (customer_id, entity) DO UPDATE SET checked_at = excluded.checked_at, \
                         source_count = excluded.source_count, target_count = excluded.target_count, \
                         source_checksum = excluded.source_checksum, \
                         target_checksum = excluded.target_checksum, ok = excluded.ok",
                    );
                    b.build().execute(&mut *tx).await?;
                }
                for (m, c) in todo.iter().zip(&checks) {
                    if !c.ok() {
                        failed.insert(m.id, format!("validate: {}", c.reason()));
                    }
                }
                let ok: Vec<&Member> = todo
                    .iter()
                    .copied()
                    .filter(|m| !failed.contains_key(&m.id))
                    .collect();
                record_step(&mut tx, &ok, &lease.batch, step, &started, "ok", None).await?;
                crate::fault::point("commit.state");
                tx.commit().await?;
            }
            _ => {
                if let Some(sql) = &ctx.cfg.source.on_migrated {
                    source::run_hook(&ctx.source, &ctx.cfg.mapping, "on_migrated", sql, &ids)
                        .await?;
                }
                let mut tx = write_tx(&ctx.state).await?;
                fence(ctx, &mut tx, lease).await?;
                let now = clock::now();
                let moved: Vec<(String, Option<i64>, serde_json::Value)> = todo
                    .iter()
                    .map(|m| {
                        let payload = serde_json::json!({
                            "event": "customer.moved", "at": now, "customer": { "legacy_id": m.legacy_id },
                            "attempt": m.attempts,
                        });
                        (format!("moved:{}:{}", m.legacy_id, m.attempts), Some(m.id), payload)
                    })
                    .collect();
                crate::notify::enqueue_many(
                    &mut tx,
                    "moved",
                    ctx.cfg.notify.moved.as_deref(),
                    &moved,
                )
                .await?;
                for chunk in todo.chunks(CHUNK) {
                    let sql = format!(
                        "UPDATE customers SET status = 'migrated', migrated_at = $1, reason = NULL WHERE id IN ({})",
                        placeholders(2, chunk.len())
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now.clone());
                    for m in chunk {
                        q = q.bind(m.id);
                    }
                    q.execute(&mut *tx).await?;
                }
                record_step(&mut tx, &todo, &lease.batch, step, &started, "ok", None).await?;
                crate::fault::point("commit.state");
                tx.commit().await?;
                tally.migrated += todo.len();
            }
        }
        let n = todo.len();
        if !failed.is_empty() {
            fail(ctx, lease, &members, step, &started, &failed).await?;
            tally.failed += failed.len();
        }
        tally.quarantined += quarantined.len();
        for m in members.iter_mut() {
            if failed.contains_key(&m.id) || quarantined.contains_key(&m.id) {
                m.done = usize::MAX;
            } else if m.done == k {
                m.done = k + 1;
            }
        }
        tracing::debug!(batch = %lease.batch, step, customers = n, seconds = t0.elapsed().as_secs_f64(), "step done");
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
    crate::fault::point("batch.finish");
    let mut tx = write_tx(&ctx.state).await?;
    fence(ctx, &mut tx, lease).await?;
    // The batch owes its customers' scoring from the same commit that marks it done, so a
    // kill before the scoring below leaves the debt for the next run or console ([`settle`]).
    sqlx::query(
        "UPDATE batches SET status = 'done', finished_at = $1, lease_until = NULL, scoring_owed = 1
         WHERE id = $2",
    )
    .bind(clock::now())
    .bind(lease.batch.clone())
    .execute(&mut *tx)
    .await?;
    crate::fault::point("commit.state");
    tx.commit().await?;
    crate::fault::point("batch.done");
    settle(ctx, &lease.batch).await;
    Ok(BatchOutcome::Done(tally))
}

/// Pays `batch`'s scoring debt: scores its customers' health (when health is configured),
/// refreshes their alerts, and clears the batch's `scoring_owed`. Health and alerts are read
/// models: a failure is logged and the debt stays, to be paid by the next [`settle_owed`].
pub async fn settle(ctx: &Ctx, batch: &str) {
    let t0 = std::time::Instant::now();
    let r: eyre::Result<()> = async {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE batch_id = $1")
            .bind(batch.to_string())
            .fetch_all(&ctx.state)
            .await?;
        if crate::health::enabled(&ctx.cfg.health) {
            crate::health::score(ctx, Some(&ids), &format!("batch {batch}")).await?;
        }
        crate::alerts::evaluate(ctx, chrono::Utc::now(), Some(&ids)).await?;
        sqlx::query("UPDATE batches SET scoring_owed = 0 WHERE id = $1")
            .bind(batch.to_string())
            .execute(&ctx.state)
            .await?;
        Ok(())
    }
    .await;
    match r {
        Ok(()) => {
            tracing::debug!(batch, seconds = t0.elapsed().as_secs_f64(), "batch scored")
        }
        Err(e) => {
            tracing::warn!(batch, error = %format!("{e:#}"), "scoring after batch failed; still owed")
        }
    }
}

/// Pays every batch's scoring debt ([`settle`]) left by a process that died between marking a
/// batch done and scoring it. `cutover run` and the console call it when they start.
///
/// Errors: the state database failing while listing the debts.
pub async fn settle_owed(ctx: &Ctx) -> eyre::Result<usize> {
    let owed: Vec<String> =
        sqlx::query_scalar("SELECT id FROM batches WHERE scoring_owed = 1 ORDER BY id")
            .fetch_all(&ctx.state)
            .await?;
    for b in &owed {
        settle(ctx, b).await;
    }
    if !owed.is_empty() {
        tracing::info!(batches = owed.len(), "scoring owed by earlier runs paid");
    }
    Ok(owed.len())
}

/// Restores failed customers' platform state from their backup and marks them failed.
async fn fail(
    ctx: &Ctx,
    lease: &Lease,
    members: &[Member],
    step: &str,
    started: &str,
    failed: &HashMap<i64, String>,
) -> eyre::Result<()> {
    let who: Vec<&Member> = members
        .iter()
        .filter(|m| failed.contains_key(&m.id))
        .collect();
    let ids: Vec<(i64, String)> = who.iter().map(|m| (m.id, m.legacy_id.clone())).collect();
    let unrestored = restore(ctx, &ids, std::slice::from_ref(lease)).await?;
    let mut reasons = failed.clone();
    for m in &who {
        if let Some(why) = unrestored.get(&m.legacy_id) {
            reasons
                .entry(m.id)
                .and_modify(|r| r.push_str(&format!("; restore not verified: {why}")));
        }
    }
    let mut tx = write_tx(&ctx.state).await?;
    fence(ctx, &mut tx, lease).await?;
    record_step(
        &mut tx,
        &who,
        &lease.batch,
        step,
        started,
        "failed",
        Some(&reasons),
    )
    .await?;
    set_outcome(&mut tx, &who, "failed", &reasons).await?;
    crate::fault::point("commit.state");
    tx.commit().await?;
    Ok(())
}

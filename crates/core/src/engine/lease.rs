//! Leases on batches and the fencing token that guards every write made under one.
//!
//! A claim takes a batch under a lease (`lease_owner`, `lease_until`) and bumps its
//! `lease_token`. The token is checked where the writes land, in the same transaction as the
//! write, never only by the lock service:
//!
//! - on the state, every write of the batch renews the lease only if the token and owner are
//!   still this worker's ([`fence`]);
//! - on the platform, every write transaction of the batch first checks and advances the
//!   batch's token in the platform's own `cutover_fence` table ([`crate::target::fence`]).
//!
//! A rollback takes a new token for every batch it touches ([`take_tokens`]), so a worker that
//! stalled past its lease can neither finish a batch another worker finished nor resurrect rows
//! a rollback removed. This is the standard fencing-token design (Kleppmann, "How to do
//! distributed locking", 2016): the resource rejects the stale writer.

use std::time::Duration;

use chrono::Utc;

use crate::ctx::Ctx;
use crate::{clock, db};

/// A claimed batch and the token that fences its writes.
#[derive(Debug, Clone)]
pub struct Lease {
    /// The batch id.
    pub batch: String,
    /// Its fencing token: bumped by every claim and rollback.
    pub token: i64,
}

/// The worker lost its lease on a batch: another worker (or a rollback) took a newer token.
/// Nothing it was about to commit was committed; it must give the batch up and go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lease on batch {batch} lost (token {token}): another worker owns it now")]
pub struct LeaseLost {
    /// The batch id.
    pub batch: String,
    /// Its fencing token: bumped by every claim and rollback.
    pub token: i64,
}

impl LeaseLost {
    /// The value for `x`.
    pub fn of(lease: &Lease) -> Self {
        LeaseLost {
            batch: lease.batch.clone(),
            token: lease.token,
        }
    }

    /// Whether `e` (or what it wraps) is a lost lease.
    pub fn is(e: &eyre::Report) -> bool {
        e.chain().any(|c| c.downcast_ref::<LeaseLost>().is_some())
    }
}

/// The lease's expiry if renewed now.
pub(crate) fn lease_until(ctx: &Ctx) -> String {
    clock::fmt(Utc::now() + chrono::Duration::seconds(ctx.cfg.runner.lease_seconds as i64))
}

/// Renews `lease` inside `tx` (a state transaction), failing if another worker holds the
/// batch now.
///
/// Errors: [`LeaseLost`]: nothing in `tx` may be committed.
pub(crate) async fn fence(ctx: &Ctx, tx: &mut db::Tx, lease: &Lease) -> eyre::Result<()> {
    if renew(ctx, &mut **tx, lease).await? != 1 {
        return Err(LeaseLost::of(lease).into());
    }
    Ok(())
}

/// Checks and advances `lease`'s token in the platform's own fence table, on `conn`: the first
/// statement of every platform write transaction made for a batch (a migration step, a
/// restore, a rollback).
///
/// Errors: [`LeaseLost`] when the platform has seen a newer token for the batch: nothing in
/// the transaction may be committed.
pub async fn fence_platform(conn: &mut db::Conn, lease: &Lease) -> eyre::Result<()> {
    if !crate::target::advance_fence(conn, &lease.batch, lease.token).await? {
        return Err(LeaseLost::of(lease).into());
    }
    Ok(())
}

/// Claims the next pending batch, or one whose lease expired, in priority order.
pub async fn claim(ctx: &Ctx, segment: Option<&str>) -> eyre::Result<Option<(Lease, usize)>> {
    let mut tx = db::write_tx(&ctx.state).await?;
    let now = clock::now();
    // On SQLite the transaction holds the write lock, so one claimer runs at a time; on
    // PostgreSQL each claimer locks the row it takes and skips rows other claimers hold.
    let lock = db::Backend::of_pool(&ctx.state).skip_locked();
    // Waves whose window has not opened wait, under `runner.respect_windows`; a batch already
    // started (an expired lease) is always finished, and a wave named by hand always runs.
    let closed: Vec<String> = match (&ctx.cfg.programme, ctx.cfg.runner.respect_windows, segment) {
        (Some(p), true, None) => {
            let today = Utc::now().date_naive();
            ctx.cfg
                .segment
                .iter()
                .filter(|s| !p.window_open(s.window_days, today))
                .map(|s| s.name.clone())
                .collect()
        }
        _ => Vec::new(),
    };
    let waiting = if closed.is_empty() {
        String::new()
    } else {
        format!(
            " AND NOT (status = 'pending' AND segment IN ({}))",
            db::placeholders(3, closed.len())
        )
    };
    let sql = format!(
        "SELECT id, lease_token FROM batches
         WHERE (status = 'pending' OR (status = 'running' AND (lease_until IS NULL OR lease_until < $1)))
           AND ($2 IS NULL OR segment = $2){waiting}
         ORDER BY priority, seq LIMIT 1{lock}"
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now.clone())
        .bind(segment.map(str::to_string));
    for c in &closed {
        q = q.bind(c.clone());
    }
    let row: Option<(String, i64)> = q.fetch_optional(&mut *tx).await?;
    let Some((batch, token)) = row else {
        return Ok(None);
    };
    let token = token + 1;
    sqlx::query(
        "UPDATE batches SET status = 'running', lease_owner = $1, lease_until = $2, lease_token = $3,
         started_at = COALESCE(started_at, $4) WHERE id = $5",
    )
    .bind(ctx.worker.clone())
    .bind(lease_until(ctx))
    .bind(token)
    .bind(now.clone())
    .bind(batch.clone())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE customers SET status = 'running', attempts = attempts + 1, step = NULL, updated_at = $1
         WHERE batch_id = $2 AND status = 'pending'",
    )
    .bind(now)
    .bind(batch.clone())
    .execute(&mut *tx)
    .await?;
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM customers WHERE batch_id = $1 AND status = 'running'",
    )
    .bind(batch.clone())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    crate::fault::point("claim");
    Ok(Some((Lease { batch, token }, n as usize)))
}

/// Takes a new fencing token for each of `batches` (ids) in the state, in `tx`, and returns
/// the leases that carry them. Every older token of those batches is dead from this commit on:
/// a worker still holding one fails its next state write ([`fence`]) and its next platform
/// write ([`crate::target::fence`]). Used by rollback, which must not be undone by a migration
/// that stalled past its lease.
pub(crate) async fn take_tokens(
    ctx: &Ctx,
    tx: &mut db::Tx,
    batches: &[String],
) -> eyre::Result<Vec<Lease>> {
    let mut out = Vec::with_capacity(batches.len());
    for chunk in batches.chunks(crate::source::CHUNK) {
        let mut b = db::Builder::new(
            "UPDATE batches SET lease_token = lease_token + 1, lease_owner = $1, lease_until = NULL \
             WHERE id IN ",
        );
        b.bind_only(format!("rollback:{}", ctx.worker));
        b.push_list(chunk.iter().cloned());
        b.build().execute(&mut **tx).await?;
        let mut b = db::Builder::new("SELECT id, lease_token FROM batches WHERE id IN ");
        b.push_list(chunk.iter().cloned());
        for (batch, token) in b
            .build_query_as::<(String, i64)>()
            .fetch_all(&mut **tx)
            .await?
        {
            out.push(Lease { batch, token });
        }
    }
    Ok(out)
}

/// Extends `lease` if this worker still holds it; returns the rows changed (0: lost).
async fn renew<'e>(
    ctx: &Ctx,
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    lease: &Lease,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE batches SET lease_until = $1 WHERE id = $2 AND lease_token = $3 AND lease_owner = $4",
    )
    .bind(lease_until(ctx))
    .bind(lease.batch.clone())
    .bind(lease.token)
    .bind(ctx.worker.clone())
    .execute(db)
    .await?
    .rows_affected())
}

/// Renews `lease` every third of the lease period until it is aborted or the lease is lost
/// (then the fence refuses the worker's next commit).
pub(crate) async fn keep(ctx: Ctx, lease: Lease) {
    let period = Duration::from_millis(ctx.cfg.runner.lease_seconds * 1000 / 3)
        .max(Duration::from_millis(200));
    loop {
        tokio::time::sleep(period).await;
        match renew(&ctx, &ctx.state, &lease).await {
            Ok(1) => {}
            Ok(_) => return,
            Err(e) => tracing::warn!(batch = %lease.batch, error = %e, "lease renewal failed"),
        }
    }
}

/// Gives a batch back without finishing it, so that any worker may resume it at once.
pub async fn release(ctx: &Ctx, lease: &Lease) -> eyre::Result<()> {
    sqlx::query(
        "UPDATE batches SET lease_until = NULL WHERE id = $1 AND lease_token = $2 AND lease_owner = $3",
    )
    .bind(lease.batch.clone())
    .bind(lease.token)
    .bind(ctx.worker.clone())
    .execute(&ctx.state)
    .await?;
    Ok(())
}

/// Records that a worker of this workspace is alive now (the console's "no live worker" flag
/// reads it).
pub(crate) async fn heartbeat(ctx: &Ctx) -> eyre::Result<()> {
    use std::sync::atomic::Ordering;
    // Every worker writes this one row, and on PostgreSQL each write notifies every console:
    // at most once per HEARTBEAT_EVERY_MS (well inside the two lease periods after which the
    // runner reads "no live worker"), not at every step boundary and every 250 ms while
    // paused (issue 21: the runner row is what 100 workers would queue on).
    let now_ms = chrono::Utc::now().timestamp_millis();
    let every = HEARTBEAT_EVERY_MS.min(ctx.cfg.runner.lease_seconds as i64 * 1000 / 2);
    if now_ms - ctx.heartbeat_ms.load(Ordering::Relaxed) < every {
        return Ok(());
    }
    sqlx::query("UPDATE runner SET heartbeat_at = $1 WHERE id = 1")
        .bind(clock::now())
        .execute(&ctx.state)
        .await?;
    ctx.heartbeat_ms.store(now_ms, Ordering::Relaxed);
    Ok(())
}

/// The longest a worker goes between heartbeats while it runs or waits, in ms.
const HEARTBEAT_EVERY_MS: i64 = 5_000;

/// Checks that the state still gives `lease`'s batch its token: on an HTTP platform, where no
/// platform transaction can fence, the check made right before a step's requests (see
/// [`crate::target::http`]).
///
/// Errors: [`LeaseLost`] when a newer token was taken (a claim or a rollback).
pub async fn still_held(ctx: &Ctx, lease: &Lease) -> eyre::Result<()> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM batches WHERE id = $1 AND lease_token = $2")
            .bind(lease.batch.clone())
            .bind(lease.token)
            .fetch_one(&ctx.state)
            .await?;
    if n != 1 {
        return Err(LeaseLost::of(lease).into());
    }
    Ok(())
}

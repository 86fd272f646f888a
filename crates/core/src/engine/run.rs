//! The batch runner: claims the next batch in priority order under a lease, drives it through
//! the pipeline, and obeys the shared runner state at every step boundary.
//!
//! Claims, leases and the fencing token live in [`super::lease`]; a worker that lost a lease
//! gives that batch up and goes on with others.

use std::time::Duration;

use super::lease::{self, Lease, LeaseLost, release};
use super::pipeline;
use super::runner::{Gate, RunnerState, gate, runner_state, set_runner_state};
use crate::clock;
use crate::ctx::{Ctx, Notice};
use crate::db::InDb;
use chrono::Utc;
use serde::Serialize;

pub use super::lease::claim;

/// The page cache, in KiB, of each SQLite connection a process that drives batches opens
/// (`cutover run`, `rollback`, `bench pipeline`; the console has its own cap), set through
/// [`crate::db::cap_sqlite_cache`] before the pools open. A batch reads its customers through
/// every pooled connection in turn, so each filled its own 2 MB (SQLite's default) with the
/// same pages: at 1,000 and 5,000 customers a batch, 7 and 16 MB of a worker's peak heap
/// (issue 21, goal 7). Pages past the cap are read again from the OS's cache, which cost no
/// throughput that showed (BENCHMARKS.md, "A worker's page caches capped").
pub const WORKER_SQLITE_CACHE_KIB: i64 = 512;

/// What `cutover run` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct RunOpts {
    /// Only batches of this segment.
    pub segment: Option<String>,
    /// Stop after this many batches.
    pub max_batches: Option<usize>,
    /// Only say what would run.
    pub dry_run: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RunSummary {
    /// Batches driven to the end.
    pub batches: usize,
    /// Customers migrated.
    pub migrated: usize,
    /// Customers failed.
    pub failed: usize,
    /// Customers quarantined.
    pub quarantined: usize,
    /// Batches given up because another worker or a rollback took their lease.
    pub lost: usize,
    /// Why the run stopped, if it did before the queue emptied.
    pub stopped: Option<String>,
}

/// Whether `e` is a database error that may pass: the database locked or busy, the connection
/// lost or refused, the server shutting down or restarting, the disk full. Every step is
/// idempotent, so a batch that met one is simply run again from its last recorded step.
pub fn transient(e: &eyre::Report) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<sqlx::Error>())
        .any(|e| match e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => true,
            sqlx::Error::Database(d) => d.code().is_some_and(|c| {
                // SQLite: BUSY, LOCKED, IOERR, FULL (primary codes; extended ones share the
                // low byte). PostgreSQL: connection exceptions (08…), serialization failure,
                // deadlock, disk full, out of memory, admin/crash shutdown, cannot connect now.
                match c.parse::<i64>() {
                    Ok(n) => matches!(n & 0xff, 5 | 6 | 10 | 13),
                    Err(_) => {
                        c.starts_with("08")
                            || matches!(
                                c.as_ref(),
                                "40001" | "40P01" | "53100" | "53200" | "57P01" | "57P02" | "57P03"
                            )
                    }
                }
            }),
            _ => false,
        })
}

/// Runs `work` (what names it in messages), running it again after a transient database
/// error ([`transient`]) with a doubling backoff from `runner.retry_backoff_ms`, up to
/// `runner.retries` times; each retry is reported as a notice. Every database call of the run
/// loop goes through it, the claim and the runner state as much as the batch itself.
///
/// When the retries are spent, the runner is paused with the reason, so that no worker claims
/// again until an operator looks. Pausing is best effort (the database may still refuse the
/// write); the error then says so.
///
/// Errors: the last error, once the retries are spent (saying whether the runner was paused),
/// or at once and as it is when it is not transient.
async fn with_retries<T, F, Fut>(ctx: &Ctx, what: &str, mut work: F) -> eyre::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = eyre::Result<T>>,
{
    let n = ctx.cfg.runner.retries;
    let mut attempt = 0;
    let e = loop {
        match work().await {
            Err(e) if transient(&e) && attempt < n => {
                attempt += 1;
                let wait = Duration::from_millis(
                    ctx.cfg
                        .runner
                        .retry_backoff_ms
                        .saturating_mul(1 << (attempt - 1).min(16)),
                );
                tracing::warn!(what, attempt, error = %format!("{e:#}"), "will be retried");
                ctx.notice(Notice::Error(format!(
                    "{what}: {e:#}; retry {attempt} of {n} in {:.1} s",
                    wait.as_secs_f64()
                )));
                tokio::time::sleep(wait).await;
            }
            Err(e) if transient(&e) => break e,
            other => return other,
        }
    };
    let why = format!("{what} failed after {n} retries: {e:#}");
    Err(
        match set_runner_state(ctx, RunnerState::Paused, &why).await {
            Ok(_) => e.wrap_err(format!("{what}: runner paused after {n} retries")),
            Err(p) => e.wrap_err(format!(
                "{what}: gave up after {n} retries; pausing the runner failed too: {p:#}"
            )),
        },
    )
}

/// Runs a claimed batch with retries. The lease is kept across attempts, so the batch resumes
/// from its last recorded step; a lost lease is not transient and ends the retries.
async fn process_with_retries(ctx: &Ctx, lease: &Lease) -> eyre::Result<pipeline::BatchOutcome> {
    with_retries(ctx, &format!("batch {}", lease.batch), || async {
        // The heartbeat keeps the lease while a long step runs; it stops with the batch, and a
        // process that stalls (or is stopped) stops beating with it.
        let beat = tokio::spawn(lease::keep(ctx.clone(), lease.clone()));
        // What the pipeline did not name came from the state database.
        let out = pipeline::process_batch(ctx, lease).await.in_db("state");
        beat.abort();
        out
    })
    .await
}

/// The running batch whose lease ends first, and when (in `segment` if given); `None` when no
/// batch is leased.
async fn next_lease_end(
    ctx: &Ctx,
    segment: Option<&str>,
) -> eyre::Result<Option<(String, chrono::DateTime<Utc>)>> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT id, lease_until FROM batches
         WHERE status = 'running' AND lease_until IS NOT NULL AND ($1 IS NULL OR segment = $1)
         ORDER BY lease_until LIMIT 1",
    )
    .bind(segment.map(str::to_string))
    .fetch_optional(&ctx.state)
    .await?;
    Ok(row.and_then(|(id, t)| clock::parse(&t).map(|t| (id, t))))
}

/// Runs batches until the work asked for is done, the runner is paused-then-halted, or an
/// error stops it. Sets the runner to `running` first (refusing when it is halted) and back to
/// `idle` when the queue is empty.
///
/// Errors: the runner is halted (release it first), or a database failed.
pub async fn run(ctx: &Ctx, opts: &RunOpts) -> eyre::Result<RunSummary> {
    let mut summary = RunSummary::default();
    if opts.dry_run {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT id, size FROM batches WHERE status IN ('pending', 'running') AND ($1 IS NULL OR segment = $1)
             ORDER BY priority, seq LIMIT $2",
        )
        .bind(opts.segment.clone())
        .bind(opts.max_batches.map_or(i64::MAX, |n| n as i64))
        .fetch_all(&ctx.state)
        .await?;
        for (id, n) in rows {
            ctx.notice(Notice::BatchClaimed {
                batch: id,
                customers: n as usize,
            });
            summary.batches += 1;
        }
        summary.stopped = Some("dry run: nothing was written".into());
        return Ok(summary);
    }
    match runner_state(&ctx.state).await? {
        RunnerState::Halted => {
            eyre::bail!(
                "the runner is halted; release it with `cutover resume` (or `s` in the console) first; after a rollback, `cutover plan` requeues the customers rolled back"
            )
        }
        RunnerState::Running => {}
        _ => set_runner_state(ctx, RunnerState::Running, "run started").await?,
    }
    audit_outside_window(ctx, opts.segment.as_deref()).await?;
    // A run killed between a batch's done commit and its scoring left that scoring owed.
    with_retries(ctx, "scoring owed by an earlier run", || {
        pipeline::settle_owed(ctx)
    })
    .await?;
    let mut waited_for: Option<String> = None;
    loop {
        // A batch given up to another worker counts: it was attempted.
        if opts
            .max_batches
            .is_some_and(|m| summary.batches + summary.lost >= m)
        {
            break;
        }
        if let Gate::Stop(why) =
            with_retries(ctx, "reading the runner state", || gate(ctx, None)).await?
        {
            summary.stopped = Some(why);
            break;
        }
        let claimed = with_retries(ctx, "claiming a batch", || {
            claim(ctx, opts.segment.as_deref())
        });
        let Some((lease, n)) = claimed.await? else {
            // Nothing claimable. A batch still leased finishes, or comes back when its lease
            // ends (its worker died): wait for it rather than leave it behind.
            let leased = with_retries(ctx, "reading leases", || {
                next_lease_end(ctx, opts.segment.as_deref())
            });
            let Some((batch, until)) = leased.await? else {
                break;
            };
            let left = (until - Utc::now()).num_milliseconds().max(0);
            if waited_for.as_deref() != Some(batch.as_str()) {
                ctx.notice(Notice::Waiting {
                    batch: batch.clone(),
                    seconds: (left + 999) / 1000,
                });
                waited_for = Some(batch);
            }
            // Looked at again within a second: the other worker may finish sooner.
            tokio::time::sleep(Duration::from_millis(left.clamp(50, 1000) as u64)).await;
            continue;
        };
        ctx.notice(Notice::BatchClaimed {
            batch: lease.batch.clone(),
            customers: n,
        });
        tracing::info!(batch = %lease.batch, token = lease.token, customers = n, worker = %ctx.worker, "batch claimed");
        let out = process_with_retries(ctx, &lease).await;
        match out {
            Ok(pipeline::BatchOutcome::Done(t)) => {
                summary.batches += 1;
                summary.migrated += t.migrated;
                summary.failed += t.failed;
                summary.quarantined += t.quarantined;
                ctx.notice(Notice::BatchDone {
                    batch: lease.batch.clone(),
                    migrated: t.migrated,
                    failed: t.failed,
                    quarantined: t.quarantined,
                });
            }
            Ok(pipeline::BatchOutcome::Stopped(why)) => {
                release(ctx, &lease).await?;
                summary.stopped = Some(why);
                break;
            }
            Err(e) if LeaseLost::is(&e) => {
                // Another worker (or a rollback) holds a newer token: what this worker was
                // about to write was refused where it would have landed. The batch is theirs.
                tracing::warn!(batch = %lease.batch, token = lease.token, "lease lost; batch given up");
                summary.lost += 1;
                ctx.notice(Notice::LeaseLost {
                    batch: lease.batch.clone(),
                });
            }
            Err(e) => {
                tracing::error!(batch = %lease.batch, error = %format!("{e:#}"), "batch failed");
                // A transient error paused the runner when its retries were spent: the batch
                // released now is not claimed by another worker first.
                let _ = release(ctx, &lease).await;
                return Err(e);
            }
        }
    }
    if summary.stopped.is_none() {
        with_retries(ctx, "closing the run", || async {
            let busy: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM batches WHERE status IN ('pending', 'running')",
            )
            .fetch_one(&ctx.state)
            .await?;
            if busy == 0 && runner_state(&ctx.state).await? == RunnerState::Running {
                set_runner_state(ctx, RunnerState::Idle, "queue empty").await?;
            }
            Ok(())
        })
        .await?;
    }
    ctx.notice(Notice::Stopped {
        reason: summary.stopped.clone().unwrap_or_else(|| "done".into()),
    });
    Ok(summary)
}

/// A wave started by hand before its window opens, under `runner.respect_windows`: allowed
/// (a migration lead's call), and recorded in the audit log with the day and the window.
async fn audit_outside_window(ctx: &Ctx, segment: Option<&str>) -> eyre::Result<()> {
    let (Some(p), true, Some(name)) = (&ctx.cfg.programme, ctx.cfg.runner.respect_windows, segment)
    else {
        return Ok(());
    };
    let Some(s) = ctx.cfg.segment.iter().find(|s| s.name == name) else {
        return Ok(());
    };
    let today = chrono::Utc::now().date_naive();
    if p.window_open(s.window_days, today) {
        return Ok(());
    }
    let mut tx = crate::db::write_tx(&ctx.state).await?;
    let detail = format!(
        "day {} of {}; its window is days {}–{}",
        p.day_of(today),
        p.days,
        s.window_days[0],
        s.window_days[1]
    );
    ctx.audit(
        &mut tx,
        "run outside window",
        &format!("wave {name}"),
        "started by hand",
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

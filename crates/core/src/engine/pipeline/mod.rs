//! The per-customer pipeline (brief section 2): backup → create_account → migrate_data →
//! validate → notify, run for a whole batch at a time, one function per [`Step`] in
//! [`steps`].
//!
//! Each step does its platform work in one target transaction, then records the step for every
//! customer in one state transaction behind the lease fence. Every step can be re-run: a
//! process killed between the two commits redoes the step on resume and ends in the same state.
//! `validate` gates `notify`: a customer that did not validate is restored to its backup and
//! marked failed, and is never told it moved.

mod http;
mod platform;
mod record;
mod steps;

use std::collections::HashMap;
use std::time::Duration;

pub use super::validate::{CustomerCheck, EntityCheck, validate};
pub use platform::{restore, write_target};

use super::lease::{Lease, fence, heartbeat};
use super::runner::{Gate, gate};
use crate::clock;
use crate::ctx::Ctx;
use crate::db::write_tx;
use crate::source::SourceRows;
use record::{By, Outcome, record_step, set_outcome};

/// The pipeline's steps, in order (brief section 2); `customers.step` holds the last one a
/// customer completed, by [`Step::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Snapshot the customer's source rows and the platform's rows, with checksums.
    Backup,
    /// The customer row on the platform.
    CreateAccount,
    /// Repairs, payments, communications and devices.
    MigrateData,
    /// Counts and checksums per entity, source against platform; relationships intact.
    Validate,
    /// The "your account has moved" notification; the customer is migrated.
    Notify,
}

impl Step {
    /// Every step, in pipeline order.
    pub const ALL: [Step; 5] = [
        Step::Backup,
        Step::CreateAccount,
        Step::MigrateData,
        Step::Validate,
        Step::Notify,
    ];

    /// The step's name as the state stores it (`steps.step`, `customers.step`).
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Backup => "backup",
            Step::CreateAccount => "create_account",
            Step::MigrateData => "migrate_data",
            Step::Validate => "validate",
            Step::Notify => "notify",
        }
    }

    /// The step named `s`, if it is one.
    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// How many steps a customer whose last completed step is `last` has done: 0 for none
    /// (or a name that is not a step, such as `claimed`), 5 after notify.
    pub fn done_after(last: Option<&str>) -> usize {
        last.and_then(Step::parse).map_or(0, |s| s as usize + 1)
    }
}

/// Counts of what happened to a batch's customers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// Customers migrated (validated and notified).
    pub migrated: usize,
    /// Customers that failed a step, restored to their backup.
    pub failed: usize,
    /// Customers whose source rows did not normalise at backup.
    pub quarantined: usize,
}

/// How driving a batch ended.
#[derive(Debug)]
pub enum BatchOutcome {
    /// Every step ran for every customer still in the batch.
    Done(Tally),
    /// The runner was paused-then-halted or stopped at a step boundary; the reason.
    Stopped(String),
}

/// One customer of the batch being driven.
#[derive(Debug, Clone)]
struct Member {
    id: i64,
    legacy_id: String,
    attempts: i64,
    /// Steps completed ([`Step::done_after`]); `usize::MAX` once it failed or was quarantined.
    done: usize,
}

/// What one step decided for the customers it ran for.
#[derive(Debug, Default)]
struct StepOutcome {
    /// Customers that failed, with the reason: restored to their backup, marked failed.
    failed: HashMap<i64, String>,
    /// Customers quarantined, with the reason (already recorded by the step).
    quarantined: HashMap<i64, String>,
    /// Customers that completed the pipeline in this step.
    migrated: usize,
}

/// Reads every mapped entity's rows for the customers `ids` from the source.
pub async fn read_source(ctx: &Ctx, ids: &[String]) -> eyre::Result<SourceRows> {
    crate::source::read(&ctx.source, &ctx.cfg.mapping, ids).await
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: i64,
    legacy_id: String,
    attempts: i64,
    step: Option<String>,
}

/// The batch's customers still in flight, with the steps each has done.
async fn load_members(ctx: &Ctx, batch: &str) -> eyre::Result<Vec<Member>> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT id, legacy_id, attempts, step FROM customers WHERE batch_id = $1 AND status = 'running' ORDER BY id",
    )
    .bind(batch.to_string())
    .fetch_all(&ctx.state)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Member {
            id: r.id,
            legacy_id: r.legacy_id,
            attempts: r.attempts,
            done: Step::done_after(r.step.as_deref()),
        })
        .collect())
}

/// Drives one claimed batch to the end, or until the runner is paused-and-halted or stopped.
///
/// Errors: [`super::lease::LeaseLost`] when another worker or a rollback took the batch (nothing
/// of this worker's was written after that), or a database failing (the batch resumes from
/// its last recorded step).
pub async fn process_batch(ctx: &Ctx, lease: &Lease) -> eyre::Result<BatchOutcome> {
    let mut members = load_members(ctx, &lease.batch).await?;
    let mut tally = Tally::default();
    let delay = Duration::from_millis(ctx.cfg.runner.step_delay_ms);
    // The source rows read by one step, for the next (backup's feed the copies).
    let mut source: Option<SourceRows> = None;
    for step in Step::ALL {
        crate::fault::point("step");
        if let Gate::Stop(why) = gate(ctx, Some(lease)).await? {
            return Ok(BatchOutcome::Stopped(why));
        }
        heartbeat(ctx).await?;
        let todo: Vec<&Member> = members.iter().filter(|m| m.done == step as usize).collect();
        if todo.is_empty() {
            continue;
        }
        let started = clock::now();
        let t0 = std::time::Instant::now();
        let run = steps::Run {
            ctx,
            lease,
            todo: &todo,
            started: &started,
        };
        let out = match step {
            Step::Backup => run.backup(&mut source).await?,
            Step::CreateAccount | Step::MigrateData => run.copy(step, &mut source).await?,
            Step::Validate => run.validate().await?,
            Step::Notify => run.notify().await?,
        };
        let n = todo.len();
        if !out.failed.is_empty() {
            fail(ctx, lease, &members, step, &started, &out.failed).await?;
        }
        tally.failed += out.failed.len();
        tally.quarantined += out.quarantined.len();
        tally.migrated += out.migrated;
        for m in members.iter_mut() {
            if out.failed.contains_key(&m.id) || out.quarantined.contains_key(&m.id) {
                m.done = usize::MAX;
            } else if m.done == step as usize {
                m.done = step as usize + 1;
            }
        }
        tracing::debug!(batch = %lease.batch, step = step.as_str(), customers = n, seconds = t0.elapsed().as_secs_f64(), "step done");
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
    finish(ctx, lease).await?;
    Ok(BatchOutcome::Done(tally))
}

/// Marks the batch done, owing its customers' scoring in the same commit, then pays it.
async fn finish(ctx: &Ctx, lease: &Lease) -> eyre::Result<()> {
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
    Ok(())
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
    step: Step,
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
        By {
            batch: &lease.batch,
            worker: &ctx.worker,
        },
        step,
        started,
        Outcome::Not("failed", &reasons),
    )
    .await?;
    set_outcome(&mut tx, &who, "failed", &reasons).await?;
    crate::fault::point("commit.state");
    tx.commit().await?;
    Ok(())
}

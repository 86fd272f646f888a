//! Rollback (brief section 2, "Rollback levels"): one customer, a batch, or everything.
//!
//! A customer's rollback removes what the migration wrote on the platform, restores the
//! platform rows its backup holds, verifies the platform's checksum for that customer against
//! the backup, runs the source's `on_rollback` hook, records the step and a notification, and
//! leaves the customer eligible for re-migration (the next plan queues it). Customers are
//! first marked `rolling_back`, so an interrupted rollback is finished by running it again.

use std::time::Duration;

use serde::Serialize;
use sqlx::Row as _;

use super::{Ctx, RunnerState, pipeline, set_runner_state};
use crate::db::write_tx;
use crate::{clock, source};

/// What to roll back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A customer by legacy id.
    Customer(String),
    Batch(String),
    /// Halt the runner and roll back every customer the migration touched.
    All,
}

impl Scope {
    pub fn label(&self) -> String {
        match self {
            Scope::Customer(c) => format!("customer {c}"),
            Scope::Batch(b) => format!("batch {b}"),
            Scope::All => "all".into(),
        }
    }
}

/// What a rollback did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RollbackReport {
    pub scope: String,
    pub rolled_back: usize,
    /// Customers whose restored checksum did not match the backup, with the reason.
    pub unverified: Vec<(String, String)>,
    pub seconds: f64,
}

/// Rolls `scope` back and verifies it.
///
/// Errors: nothing to roll back (unknown customer or batch, or nothing migrated in it), work
/// still in flight under a live lease (pause or halt first), or a database failing.
pub async fn rollback(ctx: &Ctx, scope: &Scope) -> eyre::Result<RollbackReport> {
    let t0 = std::time::Instant::now();
    if *scope == Scope::All {
        set_runner_state(ctx, RunnerState::Halted, "rollback --all").await?;
        wait_for_leases(ctx).await?;
    }
    let now = clock::now();
    let (filter, bind): (&str, Option<String>) = match scope {
        Scope::Customer(c) => ("c.legacy_id = ?1", Some(c.clone())),
        Scope::Batch(b) => ("c.batch_id = ?1", Some(b.clone())),
        Scope::All => ("?1 IS NULL", None),
    };
    match scope {
        Scope::Customer(c) => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE legacy_id = ?")
                .bind(c.clone())
                .fetch_one(&ctx.state)
                .await?;
            if n == 0 {
                eyre::bail!("customer {c}: no such legacy id in the plan");
            }
        }
        Scope::Batch(b) => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM batches WHERE id = ?")
                .bind(b.clone())
                .fetch_one(&ctx.state)
                .await?;
            if n == 0 {
                eyre::bail!("batch {b}: no such batch");
            }
        }
        Scope::All => {}
    }
    let live: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT DISTINCT b.id FROM customers c JOIN batches b ON b.id = c.batch_id
         WHERE {filter} AND c.status = 'running' AND b.status = 'running' AND b.lease_until > ?2 LIMIT 1"
    )))
    .bind(bind.clone())
    .bind(now.clone())
    .fetch_optional(&ctx.state)
    .await?;
    if let Some(b) = live {
        eyre::bail!(
            "batch {b} is in flight on another worker: pause (p) or halt (X) the runner first"
        );
    }
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT c.id, c.legacy_id FROM customers c
         WHERE {filter} AND c.status IN ('migrated', 'failed', 'running', 'rolling_back') ORDER BY c.id"
    )))
    .bind(bind.clone())
    .fetch_all(&ctx.state)
    .await?;
    let who: Vec<(i64, String)> = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<sqlx::Result<_>>()?;
    if who.is_empty() {
        eyre::bail!(
            "{}: nothing to roll back (no customer in it was migrated or started)",
            scope.label()
        );
    }
    let mut report = RollbackReport {
        scope: scope.label(),
        ..Default::default()
    };
    for chunk in who.chunks(500) {
        let started = clock::now();
        let mut tx = write_tx(&ctx.state).await?;
        for (id, _) in chunk {
            sqlx::query(
                "UPDATE customers SET status = 'rolling_back', updated_at = ? WHERE id = ?",
            )
            .bind(started.clone())
            .bind(*id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        let bad = pipeline::restore(ctx, chunk).await?;
        let ok_ids: Vec<String> = chunk
            .iter()
            .filter(|(_, l)| !bad.contains_key(l))
            .map(|(_, l)| l.clone())
            .collect();
        if let Some(sql) = &ctx.cfg.source.on_rollback {
            source::run_hook(&ctx.source, "on_rollback", sql, &ok_ids).await?;
        }
        let done = clock::now();
        let mut tx = write_tx(&ctx.state).await?;
        for (id, legacy) in chunk {
            let (status, outcome, detail) = match bad.get(legacy) {
                None => (
                    "rolled_back",
                    "ok",
                    format!("rolled back ({})", scope.label()),
                ),
                Some(why) => ("failed", "failed", format!("rollback not verified: {why}")),
            };
            sqlx::query(
                "UPDATE customers SET status = ?, step = NULL, platform_id = NULL, reason = ?, updated_at = ?,
                 migrated_at = NULL WHERE id = ?",
            )
            .bind(status)
            .bind(if outcome == "ok" { None } else { Some(detail.clone()) })
            .bind(done.clone())
            .bind(*id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO steps (customer_id, batch_id, step, started_at, finished_at, outcome, detail)
                 SELECT id, batch_id, 'rollback', ?, ?, ?, ? FROM customers WHERE id = ?",
            )
            .bind(started.clone())
            .bind(done.clone())
            .bind(outcome)
            .bind(detail.clone())
            .bind(*id)
            .execute(&mut *tx)
            .await?;
            if outcome == "ok" {
                sqlx::query(
                    "INSERT OR IGNORE INTO notifications (dedup_key, customer_id, kind, payload, created_at)
                     SELECT 'rolled_back:' || legacy_id || ':' || attempts, id, 'rolled_back', ?, ? FROM customers WHERE id = ?",
                )
                .bind(serde_json::json!({"kind": "rolled_back", "customer": legacy}).to_string())
                .bind(done.clone())
                .bind(*id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        report.rolled_back += chunk.len() - bad.len();
        report.unverified.extend(bad);
    }
    if let Scope::Batch(b) = scope {
        sqlx::query("UPDATE batches SET status = 'rolled_back', lease_until = NULL, finished_at = ? WHERE id = ?")
            .bind(clock::now())
            .bind(b.clone())
            .execute(&ctx.state)
            .await?;
    }
    let ids: Vec<i64> = who.iter().map(|(id, _)| *id).collect();
    crate::alerts::refresh(ctx, Some(&ids)).await;
    report.seconds = t0.elapsed().as_secs_f64();
    tracing::info!(scope = %report.scope, rolled_back = report.rolled_back, unverified = report.unverified.len(), "rollback done");
    let outcome = if report.unverified.is_empty() {
        "ok"
    } else {
        "unverified"
    };
    ctx.audit(
        "rollback",
        &scope.label(),
        outcome,
        &format!(
            "{} rolled back, {} unverified, {:.2}s",
            report.rolled_back,
            report.unverified.len(),
            report.seconds
        ),
    )
    .await?;
    Ok(report)
}

/// After a halt, waits until no batch holds a live lease (workers stop at their next step
/// boundary and release it), at most two lease periods.
async fn wait_for_leases(ctx: &Ctx) -> eyre::Result<()> {
    let deadline =
        std::time::Instant::now() + Duration::from_secs(ctx.cfg.runner.lease_seconds * 2);
    loop {
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM batches WHERE status = 'running' AND lease_until > ?",
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

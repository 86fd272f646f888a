//! What the pipeline records on the state: each step per customer, and the customers that
//! failed or were quarantined with their reason. Always inside the step's fenced transaction.

use std::collections::HashMap;

use super::Member;
use super::Step;
use crate::clock;
use crate::db::placeholders;
use crate::source::CHUNK;

/// Who records a step: the batch and the worker holding its lease (`Ctx::worker`, the owner
/// the claim wrote).
pub(super) struct By<'a> {
    pub batch: &'a str,
    pub worker: &'a str,
}

/// Inserts one `steps` row per customer, naming the worker, and moves their `step` forward,
/// in `tx`.
pub(super) async fn record_step(
    tx: &mut crate::db::Tx,
    members: &[&Member],
    by: By<'_>,
    step: Step,
    started: &str,
    outcome: &str,
    detail: Option<&HashMap<i64, String>>,
) -> eyre::Result<()> {
    let now = clock::now();
    for chunk in members.chunks(CHUNK) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_conn(tx),
            "INSERT INTO steps (customer_id, batch_id, step, started_at, finished_at, outcome, detail, worker) ",
        );
        qb.push_values(chunk, |mut b, m| {
            b.push_bind(m.id)
                .push_bind(by.batch.to_string())
                .push_bind(step.as_str())
                .push_bind(started.to_string())
                .push_bind(now.clone())
                .push_bind(outcome.to_string())
                .push_bind(detail.and_then(|d| d.get(&m.id).cloned()))
                .push_bind(by.worker.to_string());
        });
        qb.build().execute(&mut **tx).await?;
        if outcome == "ok" {
            let sql = format!(
                "UPDATE customers SET step = $1, updated_at = $2 WHERE id IN ({})",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(step.as_str())
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
pub(super) async fn set_outcome(
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

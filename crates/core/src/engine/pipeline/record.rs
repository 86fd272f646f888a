//! What the pipeline records on the state: each step per customer, and the customers that
//! failed or were quarantined with their reason. Always inside the step's fenced transaction,
//! and constant in statements whatever the batch's size: the customers travel as one JSON
//! parameter ([`Builder::push_json_rows`]).

use std::collections::HashMap;

use serde_json::json;

use super::Member;
use super::Step;
use crate::clock;
use crate::db::{Backend, Builder, JsonCol};

/// Who records a step: the batch and the worker holding its lease (`Ctx::worker`, the owner
/// the claim wrote).
pub(super) struct By<'a> {
    pub batch: &'a str,
    pub worker: &'a str,
}

/// Inserts one `steps` row per customer, naming the worker, and, when the outcome is `ok`,
/// moves their `step` forward, in `tx`: two statements for the whole batch.
pub(super) async fn record_step(
    tx: &mut crate::db::Tx,
    members: &[&Member],
    by: By<'_>,
    step: Step,
    started: &str,
    outcome: &str,
    detail: Option<&HashMap<i64, String>>,
) -> eyre::Result<()> {
    if members.is_empty() {
        return Ok(());
    }
    let now = clock::now();
    let backend = Backend::of_conn(tx);
    let rows: Vec<serde_json::Value> = members
        .iter()
        .map(|m| json!([m.id, detail.and_then(|d| d.get(&m.id))]))
        .collect();
    let cols = [("id", JsonCol::Int), ("detail", JsonCol::Text)];
    let mut b = Builder::on(
        backend,
        "INSERT INTO steps (customer_id, batch_id, step, started_at, finished_at, outcome, detail, worker) \
         SELECT r.id, ",
    );
    b.push_bind(by.batch.to_string())
        .push(", ")
        .push_bind(step.as_str())
        .push(", ")
        .push_bind(started.to_string())
        .push(", ")
        .push_bind(now.clone())
        .push(", ")
        .push_bind(outcome.to_string())
        .push(", r.detail, ")
        .push_bind(by.worker.to_string())
        .push(" FROM ")
        .push_json_rows(backend, &cols, &rows, "r");
    b.build().execute(&mut **tx).await?;
    if outcome == "ok" {
        let mut b = Builder::on(backend, "UPDATE customers SET step = ");
        b.push_bind(step.as_str())
            .push(", updated_at = ")
            .push_bind(now)
            .push(" WHERE id ")
            .push_json_in(backend, JsonCol::Int, members.iter().map(|m| m.id));
        b.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Marks customers failed or quarantined with their reason, in `tx`: one statement.
pub(super) async fn set_outcome(
    tx: &mut crate::db::Tx,
    members: &[&Member],
    status: &str,
    reasons: &HashMap<i64, String>,
) -> eyre::Result<()> {
    if members.is_empty() {
        return Ok(());
    }
    let backend = Backend::of_conn(tx);
    let rows: Vec<serde_json::Value> = members
        .iter()
        .map(|m| json!([m.id, reasons.get(&m.id)]))
        .collect();
    let mut b = Builder::on(backend, "UPDATE customers SET status = ");
    b.push_bind(status.to_string())
        .push(", reason = r.reason, platform_id = NULL, updated_at = ")
        .push_bind(clock::now())
        .push(" FROM ")
        .push_json_rows(
            backend,
            &[("id", JsonCol::Int), ("reason", JsonCol::Text)],
            &rows,
            "r",
        )
        .push(" WHERE customers.id = r.id");
    b.build().execute(&mut **tx).await?;
    Ok(())
}

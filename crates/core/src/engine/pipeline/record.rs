//! What the pipeline records on the state: each step per customer, and the customers that
//! failed or were quarantined with their reason. Always inside the step's fenced transaction,
//! and constant in statements whatever the batch's size: the customers travel as one JSON
//! parameter ([`Builder::push_json_rows`]).

use std::collections::HashMap;

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

/// What a step that went through also writes on its customers, in the same `UPDATE` that
/// moves their `step` forward: a customer row rewritten once per step, not twice (each
/// rewrite is a new row version; on PostgreSQL these updates were a quarter to a third of the
/// server's time per batch while each one also took an entry in every index of `customers`,
/// before they stopped touching `updated_at`: see [`record_step`]).
pub(super) enum Also<'a> {
    /// Nothing more.
    Nothing,
    /// `platform_write`, the word [`crate::engine::preimage`] reads, per customer id.
    PlatformWrite(&'a HashMap<i64, &'static str>),
    /// `platform_id`, the platform's id of the customer row (`NULL` when it has none), per
    /// customer id.
    PlatformId(&'a HashMap<i64, Option<i64>>),
    /// Migrated at this time: `status`, `migrated_at`, and no `reason` left.
    Migrated(&'a str),
}

/// How a step ended for the customers it records.
pub(super) enum Outcome<'a> {
    /// It went through: their `step` moves forward, with [`Also`].
    Ok(Also<'a>),
    /// It did not (`failed`, `quarantined`): the `steps` rows only, each customer's detail
    /// from the map.
    Not(&'a str, &'a HashMap<i64, String>),
}

/// Inserts one `steps` row per customer, naming the worker, and, when the outcome is `ok`,
/// moves their `step` forward with what the step [`Also`] writes, in `tx`: two statements for
/// the whole batch. `updated_at` is when a customer's status last changed, so only
/// [`Also::Migrated`] sets it: the other steps then change no indexed column of `customers`,
/// and on PostgreSQL their update is heap-only (no new index entries; migration 19 leaves the
/// pages room for it).
pub(super) async fn record_step(
    tx: &mut crate::db::Tx,
    members: &[&Member],
    by: By<'_>,
    step: Step,
    started: &str,
    outcome: Outcome<'_>,
) -> eyre::Result<()> {
    if members.is_empty() {
        return Ok(());
    }
    let now = clock::now();
    let backend = Backend::of_conn(tx);
    let (word, detail) = match outcome {
        Outcome::Ok(_) => ("ok", None),
        Outcome::Not(word, detail) => (word, Some(detail)),
    };
    let rows: Vec<(i64, Option<&String>)> = members
        .iter()
        .map(|m| (m.id, detail.and_then(|d| d.get(&m.id))))
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
        .push_bind(word.to_string())
        .push(", r.detail, ")
        .push_bind(by.worker.to_string())
        .push(" FROM ")
        .push_json_rows(backend, &cols, &rows, "r");
    b.build().execute(&mut **tx).await?;
    let Outcome::Ok(also) = outcome else {
        return Ok(());
    };
    let mut b = Builder::on(backend, "UPDATE customers SET step = ");
    b.push_bind(step.as_str());
    let ids = || members.iter().map(|m| m.id);
    match also {
        Also::Nothing => {
            b.push(" WHERE id ")
                .push_json_in(backend, JsonCol::Int, ids());
        }
        Also::Migrated(at) => {
            b.push(", updated_at = ")
                .push_bind(now)
                .push(", status = 'migrated', reason = NULL, migrated_at = ")
                .push_bind(at.to_string())
                .push(" WHERE id ")
                .push_json_in(backend, JsonCol::Int, ids());
        }
        Also::PlatformWrite(words) => {
            let rows: Vec<(i64, Option<&str>)> =
                ids().map(|id| (id, words.get(&id).copied())).collect();
            // A customer with no word keeps the one it has.
            b.push(", platform_write = COALESCE(r.v, customers.platform_write)");
            from_values(&mut b, backend, JsonCol::Text, &rows);
        }
        Also::PlatformId(pids) => {
            let rows: Vec<(i64, Option<i64>)> = ids()
                .map(|id| (id, pids.get(&id).copied().flatten()))
                .collect();
            b.push(", platform_id = r.v");
            from_values(&mut b, backend, JsonCol::Int, &rows);
        }
    }
    b.build().execute(&mut **tx).await?;
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
    let rows: Vec<(i64, Option<&String>)> =
        members.iter().map(|m| (m.id, reasons.get(&m.id))).collect();
    let mut b = Builder::on(backend, "UPDATE customers SET status = ");
    b.push_bind(status.to_string())
        .push(", reason = r.v, platform_id = NULL, updated_at = ")
        .push_bind(clock::now());
    from_values(&mut b, backend, JsonCol::Text, &rows);
    b.build().execute(&mut **tx).await?;
    Ok(())
}

/// Ends an `UPDATE customers SET …` with `FROM` the rows `(id, v)`, one value per customer
/// id, bound as one JSON parameter ([`Builder::push_json_rows`]), joined on the customer: the
/// `SET` reads each customer's value as `r.v`, of type `ty`.
pub(super) fn from_values(
    b: &mut Builder,
    backend: Backend,
    ty: JsonCol,
    rows: &[(i64, impl serde::Serialize)],
) {
    b.push(" FROM ")
        .push_json_rows(backend, &[("id", JsonCol::Int), ("v", ty)], rows, "r")
        .push(" WHERE customers.id = r.id");
}

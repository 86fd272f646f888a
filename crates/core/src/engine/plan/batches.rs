//! Batches: pending customers grouped by segment, most valuable first.

use crate::db::{Backend, write_tx};

/// Each segment as both rebatch statements number its batches: its slug (the id's prefix) and
/// `last`, the highest number its claimed batches took (the pending ones are deleted first).
const SEGMENTS: &str = "SELECT s.name, s.priority, upper(replace(s.name, ' ', '-')) AS slug,
       COALESCE((SELECT MAX(b.seq) FROM batches b WHERE b.segment = s.name), 0) AS last
    FROM segments s";

/// The id of batch `k` (from 0) of the segment row `alias` (its `slug`, `last` and `k`):
/// `<SLUG>-<last + k + 1>`, zero-padded to four digits. The customers' update and the batches'
/// insert take it from here, so a batch's members and its row always agree.
fn batch_id(backend: Backend, alias: &str) -> String {
    let n = backend.zero_pad(&format!("{alias}.last + {alias}.k + 1"), 4);
    format!("{alias}.slug || '-' || {n}")
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
    let backend = Backend::of_pool(state);
    let batch = batch_id(backend, "r");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH base AS MATERIALIZED ({SEGMENTS}),
         ranked AS (
            SELECT c.id, c.batch_id AS old, base.slug, base.last,
                   (ROW_NUMBER() OVER (PARTITION BY c.segment ORDER BY c.annual_revenue_cents DESC, c.legacy_id) - 1) / $1 AS k
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
    // The batches follow from each segment's count of pending customers: the ranking above
    // puts customer `r` (from 0) in batch `last + r / size + 1`. Grouping the customers by
    // their new batch id re-read every pending row (1.0 s at 10^6 in the `sqlite3` shell), and
    // read the batch's seq back from the id's last four characters, which wrapped past 9,999.
    let id = batch_id(backend, "b");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO batches (id, segment, priority, seq, status, size)
         WITH RECURSIVE n AS (
            SELECT base.*,
                   (SELECT COUNT(*) FROM customers c WHERE c.status = 'pending' AND c.segment = base.name) AS pending
            FROM ({SEGMENTS}) AS base),
         b AS (
            SELECT n.name, n.priority, n.slug, n.last, n.pending, 0 AS k FROM n WHERE n.pending > 0
            UNION ALL
            SELECT b.name, b.priority, b.slug, b.last, b.pending, b.k + 1 FROM b WHERE (b.k + 1) * $1 < b.pending)
         SELECT {id}, b.name, b.priority, b.last + b.k + 1, 'pending',
                CASE WHEN b.pending - b.k * $1 < $1 THEN b.pending - b.k * $1 ELSE $1 END
         FROM b",
    )))
    .bind(size as i64)
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

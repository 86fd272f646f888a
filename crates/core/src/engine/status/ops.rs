//! The lists operators ask for by name: every batch with its wave, state, size, rows, times
//! and worker; every quarantined customer with the rule that held it. Read by `cutover
//! batches`, `cutover quarantine` and the console's views of the same names (only while they
//! show).

use serde::Serialize;

use super::lists::like;

/// One batch.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct BatchRow {
    /// Its id (`VIP-0002`), the one `rollback --batch` takes.
    pub id: String,
    /// Its wave (segment).
    pub wave: String,
    /// pending, running, done or rolled_back.
    pub state: String,
    /// Customers planned into it.
    pub customers: i64,
    /// Of them, migrated now.
    pub migrated: i64,
    /// Source rows of its customers as their backups counted them (what the batch writes to
    /// the platform); 0 before the backup step.
    pub rows: i64,
    /// When a worker first claimed it (UTC, RFC 3339).
    pub started: Option<String>,
    /// When it finished or was rolled back.
    pub finished: Option<String>,
    /// The worker holding or last holding its lease (`host:pid`).
    pub worker: Option<String>,
}

/// Batches matching `filter` (id, wave, state), running first, then in claim order; at most
/// `limit` (`None`: all).
///
/// Errors: the state database failing.
pub async fn batches(
    state: &crate::db::Pool,
    filter: &str,
    limit: Option<i64>,
) -> eyre::Result<Vec<BatchRow>> {
    // The page of batches first, then its customers and their backups through the indexes on
    // customers.batch_id and backups' primary key: a page costs the same at 10^6 customers.
    Ok(sqlx::query_as(
        "SELECT b.id, b.segment AS wave, b.status AS state, b.size AS customers,
                CAST(COUNT(DISTINCT CASE WHEN c.status = 'migrated' THEN c.id END) AS BIGINT) AS migrated,
                CAST(COALESCE(SUM(k.source_count), 0) AS BIGINT) AS rows,
                b.started_at AS started, b.finished_at AS finished, b.lease_owner AS worker
         FROM (SELECT id, segment, status, size, started_at, finished_at, lease_owner, priority, seq
               FROM batches
               WHERE ($1 = '%%' OR lower(id) LIKE $1 OR lower(segment) LIKE $1 OR lower(status) LIKE $1)
               ORDER BY CASE status WHEN 'running' THEN 0 ELSE 1 END, priority, seq
               LIMIT $2) AS b
         LEFT JOIN customers c ON c.batch_id = b.id
         LEFT JOIN backups k ON k.customer_id = c.id
         GROUP BY b.id, b.segment, b.status, b.size, b.started_at, b.finished_at, b.lease_owner, b.priority, b.seq
         ORDER BY CASE b.status WHEN 'running' THEN 0 ELSE 1 END, b.priority, b.seq",
    )
    .bind(like(filter))
    .bind(limit.unwrap_or(i64::MAX))
    .fetch_all(state)
    .await?)
}

/// One quarantined customer and what held it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct QuarantineRow {
    /// Legacy id.
    pub customer: String,
    /// Its name.
    pub name: String,
    /// Its wave.
    pub wave: String,
    /// The blocking rule (`email_format:customers.email`), or `pipeline` when a step held it.
    pub rule: String,
    /// What the rule found.
    pub detail: String,
    /// When it was quarantined (UTC, RFC 3339).
    pub since: String,
}

/// Quarantined customers matching `filter` (id, name, wave, rule, detail), newest first, one
/// row per blocking finding; at most `limit` (`None`: all).
///
/// Errors: the state database failing.
pub async fn quarantine(
    state: &crate::db::Pool,
    filter: &str,
    limit: Option<i64>,
) -> eyre::Result<Vec<QuarantineRow>> {
    Ok(sqlx::query_as(
        "SELECT c.legacy_id AS customer, c.name, c.segment AS wave,
                COALESCE(f.rule, 'pipeline') AS rule, COALESCE(f.detail, c.reason, '') AS detail,
                c.updated_at AS since
         FROM customers c
         LEFT JOIN findings f ON f.customer_legacy_id = c.legacy_id AND f.severity = 'block'
         WHERE c.status = 'quarantined'
           AND ($1 = '%%' OR lower(c.legacy_id) LIKE $1 OR lower(c.name) LIKE $1 OR lower(c.segment) LIKE $1
                OR lower(COALESCE(f.rule, '')) LIKE $1 OR lower(COALESCE(f.detail, c.reason, '')) LIKE $1)
         ORDER BY c.updated_at DESC, c.legacy_id, f.rule
         LIMIT $2",
    )
    .bind(like(filter))
    .bind(limit.unwrap_or(i64::MAX))
    .fetch_all(state)
    .await?)
}

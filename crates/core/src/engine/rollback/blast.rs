//! The blast radius of a rollback, read before anything changes: who, which rows, which
//! batches and waves, who was already told they moved, and how long it should take at the
//! rate rollbacks have measured on this workspace. The console's confirm, the CLI's prompt and
//! `rollback --dry-run` all print this one read.

use serde::Serialize;

use super::{Scope, scope_filter};
use crate::ctx::Ctx;

/// What a rollback of one scope would touch. Every number is read from the state database.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BlastRadius {
    /// `customer 1053`, `batch VIP-0002`, `wave VIP`, `all`.
    pub scope: String,
    /// Customers the rollback takes back (migrated, failed, in flight or half rolled back).
    pub customers: i64,
    /// Of them, migrated.
    pub migrated: i64,
    /// Platform rows the migration wrote for them, per canonical entity, as their backups
    /// counted them at the source: what the rollback removes (a customer the platform had
    /// before gets its own row back instead). Entity order of the schema.
    pub rows: Vec<EntityRows>,
    /// Batches with a customer in the scope.
    pub batches: Vec<String>,
    /// Waves (segments) with a customer in the scope.
    pub waves: Vec<String>,
    /// Customers whose "moved" notice was delivered (or recorded, where no target is set):
    /// each gets a "moved back" notice.
    pub told_moved: i64,
    /// Expected seconds at the measured rate; `None` before any rollback was measured.
    pub estimate_seconds: Option<f64>,
    /// Customers per second over every rollback recorded so far (sum of customers over sum
    /// of chunk durations); `None` before any.
    pub measured_per_second: Option<f64>,
}

/// One entity's rows in a [`BlastRadius`].
#[derive(Debug, Clone, Default, Serialize, PartialEq, sqlx::FromRow)]
pub struct EntityRows {
    /// The canonical entity.
    pub entity: String,
    /// Platform rows.
    pub rows: i64,
}

impl BlastRadius {
    /// Platform rows over every entity.
    pub fn total_rows(&self) -> i64 {
        self.rows.iter().map(|r| r.rows).sum()
    }

    /// The radius as lines for a prompt or a dialog, most important first; numbers whole.
    pub fn lines(&self) -> Vec<String> {
        if self.customers == 0 {
            return vec![format!(
                "nothing to roll back: no customer of {} was migrated or started",
                self.scope
            )];
        }
        let mut out = vec![format!(
            "{} customer{} ({} migrated) · {} platform rows: {}",
            self.customers,
            plural(self.customers),
            self.migrated,
            self.total_rows(),
            if self.rows.is_empty() {
                "none".to_string()
            } else {
                self.rows
                    .iter()
                    .map(|r| format!("{} {}", r.entity, r.rows))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )];
        out.push(format!(
            "{} batch{}: {} · wave{}: {}",
            self.batches.len(),
            if self.batches.len() == 1 { "" } else { "es" },
            list(&self.batches, 4),
            if self.waves.len() == 1 { "" } else { "s" },
            list(&self.waves, 4),
        ));
        out.push(format!(
            "{} already told they moved: each gets a \"moved back\" notice",
            self.told_moved
        ));
        out.push(match (self.estimate_seconds, self.measured_per_second) {
            (Some(s), Some(r)) => format!(
                "estimate {} at the measured {:.1} customers/s",
                crate::clock::duration(s),
                r
            ),
            _ => "estimate: no rollback measured on this workspace yet".into(),
        });
        out
    }
}

fn plural(n: i64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The first `n` items and how many more.
fn list(items: &[String], n: usize) -> String {
    if items.is_empty() {
        return "none".into();
    }
    let head = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        format!("{head} and {} more", items.len() - n)
    } else {
        head
    }
}

#[derive(sqlx::FromRow)]
struct Who {
    customers: i64,
    migrated: i64,
}

/// Reads what rolling back `scope` would touch; writes nothing.
///
/// Errors: an unknown customer, batch or wave (named), or the state database failing. A scope
/// with nothing to roll back is not an error here: the radius says 0 customers.
pub async fn blast_radius(ctx: &Ctx, scope: &Scope) -> eyre::Result<BlastRadius> {
    super::check_exists(ctx, scope).await?;
    let (filter, bind) = scope_filter(scope);
    let touched = "c.status IN ('migrated', 'failed', 'running', 'rolling_back')";
    let who: Who = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS customers,
                CAST(COALESCE(SUM(CASE WHEN c.status = 'migrated' THEN 1 ELSE 0 END), 0) AS BIGINT) AS migrated
         FROM customers c WHERE {filter} AND {touched}"
    )))
    .bind(bind.clone())
    .fetch_one(&ctx.state)
    .await?;
    let mut rows: Vec<EntityRows> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT b.entity, CAST(SUM(b.source_count) AS BIGINT) AS rows
         FROM customers c JOIN backups b ON b.customer_id = c.id
         WHERE {filter} AND {touched} GROUP BY b.entity"
    )))
    .bind(bind.clone())
    .fetch_all(&ctx.state)
    .await?;
    let order = |e: &str| crate::schema::Entity::parse(e).map(|x| x as usize);
    rows.sort_by_key(|r| order(&r.entity));
    let batches: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT DISTINCT c.batch_id FROM customers c
         WHERE {filter} AND {touched} AND c.batch_id IS NOT NULL ORDER BY c.batch_id"
    )))
    .bind(bind.clone())
    .fetch_all(&ctx.state)
    .await?;
    let waves: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT c.segment FROM customers c WHERE {filter} AND {touched}
         GROUP BY c.segment ORDER BY MIN(c.priority)"
    )))
    .bind(bind.clone())
    .fetch_all(&ctx.state)
    .await?;
    let told_moved: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(DISTINCT c.id) FROM customers c JOIN notifications n ON n.customer_id = c.id
         WHERE {filter} AND {touched} AND n.kind = 'moved' AND n.status IN ('delivered', 'recorded')"
    )))
    .bind(bind)
    .fetch_one(&ctx.state)
    .await?;
    let measured_per_second = measured_rate(ctx).await?;
    Ok(BlastRadius {
        scope: scope.label(),
        customers: who.customers,
        migrated: who.migrated,
        rows,
        batches,
        waves,
        told_moved,
        estimate_seconds: measured_per_second.map(|r| who.customers as f64 / r),
        measured_per_second,
    })
}

/// Customers rolled back per second over every recorded rollback: a rollback works in chunks
/// whose customers share the chunk's start and end, so the chunks are the `(started_at,
/// finished_at)` groups of the `rollback` steps.
async fn measured_rate(ctx: &Ctx) -> eyre::Result<Option<f64>> {
    let chunks: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT COUNT(*), started_at, finished_at FROM steps
         WHERE step = 'rollback' AND outcome = 'ok' GROUP BY started_at, finished_at",
    )
    .fetch_all(&ctx.state)
    .await?;
    let (mut n, mut secs) = (0i64, 0f64);
    for (k, a, b) in chunks {
        if let (Some(a), Some(b)) = (crate::clock::parse(&a), crate::clock::parse(&b)) {
            n += k;
            // A chunk recorded within the same millisecond still took time: count 1 ms.
            secs += ((b - a).num_milliseconds().max(1)) as f64 / 1000.0;
        }
    }
    Ok((n > 0).then(|| n as f64 / secs))
}

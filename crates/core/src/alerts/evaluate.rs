//! Alert rules evaluated as SQL over the state: open alerts for new breaches, update those
//! whose score or detail changed, resolve those whose condition cleared.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{SYSTEM, notifies, notify_alert};
use crate::clock;
use crate::config::{AlertKind, AlertRule};
use crate::ctx::Ctx;
use crate::db::{Backend, write_tx};

/// What an evaluation changed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Evaluation {
    /// Alerts opened.
    pub opened: usize,
    /// Alerts updated.
    pub updated: usize,
    /// Alerts resolved.
    pub resolved: usize,
}

/// The rule's breach set as SQL: `(id, score, previous, detail)` rows, with its binds, which
/// take the placeholders from `$start`. `only` is an SQL condition on `c` (the customer) that
/// narrows it.
fn breaches(rule: &AlertRule, only: &str, start: usize, db: Backend) -> (String, Vec<f64>) {
    // Per-segment thresholds as a CASE, the rule's own threshold as the default.
    let mut binds = Vec::new();
    let mut threshold = String::new();
    if !rule.segments.is_empty() {
        threshold.push_str("(CASE c.segment");
        for (segment, t) in &rule.segments {
            threshold.push_str(&format!(
                " WHEN '{}' THEN ${}",
                segment.replace('\'', "''"),
                start + binds.len()
            ));
            binds.push(*t);
        }
        threshold.push_str(&format!(" ELSE ${} END)", start + binds.len()));
    } else {
        threshold = format!("${}", start + binds.len());
    }
    binds.push(rule.threshold.unwrap_or(0.0));
    let status = |s: &str, what: &str, and: &str| {
        format!(
            "SELECT c.id AS id, h.score AS score, h.previous AS previous,
                    '{what}' || COALESCE(': ' || c.reason, '') AS detail
             FROM customers c LEFT JOIN health_latest h ON h.customer_id = c.id WHERE c.status = '{s}'{and} AND {only}"
        )
    };
    // The validate step's failures name it first (`validate: payments: checksum …`).
    let at_validation = "c.reason LIKE 'validate:%'";
    let sql = match rule.kind {
        AlertKind::ScoreDrop => format!(
            "SELECT c.id AS id, h.score AS score, h.previous AS previous,
                    'score fell ' || {} || ' points (' || {} || ' → ' || {} || ')' AS detail
             FROM health_latest h JOIN customers c ON c.id = h.customer_id
             WHERE h.previous IS NOT NULL AND h.previous - h.score > {threshold} AND {only}",
            db.fmt_num("h.previous - h.score", 1),
            db.fmt_num("h.previous", 1),
            db.fmt_num("h.score", 1),
        ),
        AlertKind::ScoreBelow => format!(
            "SELECT c.id AS id, h.score AS score, h.previous AS previous,
                    'score ' || {} || ' is below ' || {} AS detail
             FROM health_latest h JOIN customers c ON c.id = h.customer_id WHERE h.score < {threshold} AND {only}",
            db.fmt_num("h.score", 1),
            db.fmt_num(&threshold, 0),
        ),
        AlertKind::ScoreAbove => format!(
            "SELECT c.id AS id, h.score AS score, h.previous AS previous,
                    'score ' || {} || ' is above ' || {} || ': an expansion opportunity' AS detail
             FROM health_latest h JOIN customers c ON c.id = h.customer_id WHERE h.score > {threshold} AND {only}",
            db.fmt_num("h.score", 1),
            db.fmt_num(&threshold, 0),
        ),
        AlertKind::MigrationFailed => {
            let and = format!(" AND (c.reason IS NULL OR NOT {at_validation})");
            return (status("failed", "migration failed", &and), Vec::new());
        }
        AlertKind::ValidationFailed => {
            let and = format!(" AND {at_validation}");
            return (status("failed", "data integrity", &and), Vec::new());
        }
        AlertKind::Quarantined => return (status("quarantined", "quarantined", ""), Vec::new()),
        AlertKind::RolledBack => return (status("rolled_back", "rolled back", ""), Vec::new()),
    };
    (sql, binds)
}

/// The deadlines a `rule`'s alert opened `now` gets from its customer's tier, as two SQL
/// expressions over the customer `c`: `CASE c.tier WHEN 'Enterprise' THEN '<time>' … END`
/// (NULL for a customer with no tier). Times are the clock's own format, so they are
/// written into the SQL as they are; tier names are quoted.
fn deadlines(ctx: &Ctx, rule: &AlertRule, now: DateTime<Utc>) -> (String, String) {
    if ctx.cfg.tier.is_empty() {
        return ("NULL".into(), "NULL".into());
    }
    let (mut ack, mut resolve) = ("(CASE c.tier".to_string(), "(CASE c.tier".to_string());
    for t in &ctx.cfg.tier {
        let (a, r) = t.service_level(rule.severity);
        let name = t.name.replace('\'', "''");
        let at = |m: i64| clock::fmt(now + chrono::Duration::minutes(m));
        ack.push_str(&format!(" WHEN '{name}' THEN '{}'", at(a)));
        resolve.push_str(&format!(" WHEN '{name}' THEN '{}'", at(r)));
    }
    (ack + " END)", resolve + " END)")
}

/// Audit rows for many alerts at once (a rule can open 10^6 of them); `detail` is an SQL
/// expression over the alert's columns.
pub(super) async fn audit_many(
    tx: &mut crate::db::Tx,
    ids: &[i64],
    action: &str,
    detail: &str,
) -> eyre::Result<()> {
    let m = crate::db::Many {
        table: "alerts",
        actor: SYSTEM,
        action,
        reason: "",
        scope: "'alert ' || id",
        detail,
    };
    Ok(crate::db::audit_many(tx, ids, m).await?)
}

/// Applies every rule to the customers `only` (state ids), or to everyone: opens alerts for
/// new breaches, updates open ones whose score or detail changed, resolves those whose
/// condition cleared.
///
/// Errors: the state database failing.
pub async fn evaluate(
    ctx: &Ctx,
    now: DateTime<Utc>,
    only: Option<&[i64]>,
) -> eyre::Result<Evaluation> {
    let mut out = Evaluation::default();
    let at = clock::fmt(now);
    // Ids are integers from the state database, so they are written into the SQL as they are.
    let (on_c, on_alert) = match only {
        Some([]) => return Ok(out),
        Some(ids) => {
            let list = ids
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            (
                format!("c.id IN ({list})"),
                format!("customer_id IN ({list})"),
            )
        }
        None => ("1 = 1".to_string(), "1 = 1".to_string()),
    };
    // After a batch, every rule in one transaction: one commit for the batch's customers, not
    // one per rule (8 with the shipped rules). Over every customer, a transaction per rule, so
    // that a worker waiting for SQLite's write lock waits for one rule's, not for all of them.
    let mut shared = match only {
        Some(_) => Some(write_tx(&ctx.state).await?),
        None => None,
    };
    for rule in &ctx.cfg.alerts.rule {
        let db = Backend::of_pool(&ctx.state);
        let (ack_due, resolve_due) = deadlines(ctx, rule, now);
        let (sql, binds) = breaches(rule, &on_c, 9, db);
        let mut own = None;
        let tx = match shared.as_mut() {
            Some(t) => t,
            None => own.insert(write_tx(&ctx.state).await?),
        };
        // `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT's join.
        let upsert = format!(
            "INSERT INTO alerts (dedup_key, customer_id, rule, severity, severity_rank, priority, status, level,
                                 level_since, score, previous_score, detail, opened_at, updated_at,
                                 tier, owner, ack_due, resolve_due)
             SELECT $1 || ':' || c.legacy_id, b.id, $2, $3, $4, c.priority, 'triggered', $8, $5, b.score, b.previous,
                    b.detail, $6, $7, c.tier, c.owner, {ack_due}, {resolve_due}
             FROM ({sql}) AS b JOIN customers c ON c.id = b.id WHERE true
             ON CONFLICT (dedup_key) WHERE status <> 'resolved' DO UPDATE SET updates = alerts.updates + 1, score = excluded.score,
               previous_score = excluded.previous_score, detail = excluded.detail, updated_at = excluded.updated_at
             WHERE alerts.detail IS DISTINCT FROM excluded.detail OR alerts.score IS DISTINCT FROM excluded.score
             RETURNING id, CASE WHEN updates = 0 THEN 1 ELSE 0 END"
        );
        // Decoded row by row into the two id lists: the first evaluation at 10^6 customers
        // opens about 340,000 alerts, and holding every returned row first took 50 MB.
        // The deadlines are in the text, so with tiers it is new each time.
        let mut q = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(upsert))
            .persistent(only.is_none() && ctx.cfg.tier.is_empty())
            .bind(rule.name.clone())
            .bind(rule.name.clone())
            .bind(rule.severity.as_str())
            .bind(rule.severity.rank())
            .bind(at.clone())
            .bind(at.clone())
            .bind(at.clone())
            .bind(rule.start_index(&ctx.cfg.escalation));
        for b in &binds {
            q = q.bind(*b);
        }
        let (mut opened, mut updated) = (Vec::new(), Vec::new());
        {
            use futures_util::TryStreamExt as _;
            let mut rows = q.fetch(&mut **tx);
            while let Some((id, new)) = rows.try_next().await? {
                if new == 1 {
                    opened.push(id);
                } else {
                    updated.push(id);
                }
            }
        }
        audit_many(
            tx,
            &opened,
            "alert opened",
            &format!("'{}: ' || detail", rule.name.replace('\'', "''")),
        )
        .await?;
        audit_many(
            tx,
            &updated,
            "alert updated",
            &format!("'{}: ' || detail", rule.name.replace('\'', "''")),
        )
        .await?;
        if notifies(ctx) {
            for id in &opened {
                notify_alert(ctx, tx, *id, "alert.opened", SYSTEM, "").await?;
            }
        }
        out.opened += opened.len();
        out.updated += updated.len();
        let resolve = format!(
            "UPDATE alerts SET status = 'resolved', resolved_at = $1, resolved_by = 'cutover', updated_at = $2,
               resolution = 'condition cleared: ' || detail
             WHERE rule = $3 AND status <> 'resolved' AND {on_alert}
               AND customer_id NOT IN (SELECT b.id FROM ({sql}) AS b)
             RETURNING id",
            sql = breaches(rule, &on_c, 4, db).0
        );
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(resolve))
            .persistent(only.is_none())
            .bind(at.clone())
            .bind(at.clone())
            .bind(rule.name.clone());
        for b in &binds {
            q = q.bind(*b);
        }
        let resolved: Vec<i64> = q.fetch_all(&mut **tx).await?;
        audit_many(tx, &resolved, "alert resolved", "'condition cleared'").await?;
        if notifies(ctx) {
            for id in &resolved {
                notify_alert(ctx, tx, *id, "alert.resolved", SYSTEM, "condition cleared").await?;
            }
        }
        out.resolved += resolved.len();
        if let Some(t) = own {
            t.commit().await?;
        }
    }
    if let Some(t) = shared {
        t.commit().await?;
    }
    Ok(out)
}

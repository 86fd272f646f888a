//! Alerts (brief section 2, "Health score" and "Escalation ladder"): rules from config raise
//! one open alert per customer and rule (the dedup key `rule:legacy_id`); a new breach updates
//! it; an alert whose condition clears is resolved automatically and says so. Operators
//! acknowledge, escalate, resolve, snooze and take ownership; an unacknowledged alert climbs a
//! level when its level's timeout passes. Every change writes one audit row in the same
//! transaction.
//!
//! Time is a parameter (`now`) wherever it decides something, so tests control the clock.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row as _;

use crate::clock;
use crate::config::{AlertKind, AlertRule};
use crate::ctx::Ctx;
use crate::db::{Backend, write_tx};
use crate::roles::Action;

/// What an evaluation changed.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Evaluation {
    pub opened: usize,
    pub updated: usize,
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
    let status = |s: &str, what: &str| {
        format!(
            "SELECT c.id AS id, h.score AS score, h.previous AS previous,
                    '{what}' || COALESCE(': ' || c.reason, '') AS detail
             FROM customers c LEFT JOIN health_latest h ON h.customer_id = c.id WHERE c.status = '{s}' AND {only}"
        )
    };
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
        AlertKind::MigrationFailed => return (status("failed", "migration failed"), Vec::new()),
        AlertKind::Quarantined => return (status("quarantined", "quarantined"), Vec::new()),
        AlertKind::RolledBack => return (status("rolled_back", "rolled back"), Vec::new()),
    };
    (sql, binds)
}

pub use crate::roles::SYSTEM;

/// Audit rows for many alerts at once (a rule can open 10^6 of them), written from the alerts
/// table in chunks; `detail` is an SQL expression over the alert's columns.
async fn audit_many(
    tx: &mut crate::db::Tx,
    ids: &[i64],
    action: &str,
    detail: &str,
) -> eyre::Result<()> {
    for chunk in ids.chunks(crate::source::CHUNK) {
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO audit_log (at, actor, role, action, scope, reason, outcome, detail)
             SELECT $1, $3, 'system', $2, 'alert ' || id, '', 'ok', {detail} FROM alerts WHERE id IN ({list}) ORDER BY id"
        );
        // Not kept in the connection's statement cache: every list makes a new text.
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .persistent(false)
            .bind(clock::now())
            .bind(action.to_string())
            .bind(SYSTEM)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Whether any escalation level has notification targets (else no outbox rows are written).
fn notifies(ctx: &Ctx) -> bool {
    ctx.cfg
        .escalation
        .level
        .iter()
        .any(|l| !l.targets.is_empty())
}

/// Writes the outbox messages for an alert `event` (alert.opened, alert.escalated,
/// alert.acknowledged, alert.resolved) to the targets of the alert's current level, in `tx`.
async fn notify_alert(
    ctx: &Ctx,
    tx: &mut crate::db::Tx,
    id: i64,
    event: &str,
    actor: &str,
    note: &str,
) -> eyre::Result<()> {
    let ladder = &ctx.cfg.escalation.level;
    if ladder.iter().all(|l| l.targets.is_empty()) {
        return Ok(());
    }
    let r = sqlx::query(
        "SELECT a.dedup_key, a.rule, a.severity, a.level, a.score, a.previous_score, a.detail, a.customer_id,
                c.legacy_id, c.name, c.segment
         FROM alerts a JOIN customers c ON c.id = a.customer_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    let level: i64 = r.try_get(3)?;
    let Some(step) = ladder.get((level.max(1) - 1) as usize) else {
        return Ok(());
    };
    let customer_id: i64 = r.try_get(7)?;
    let payload = serde_json::json!({
        "event": event,
        "at": clock::now(),
        "actor": actor,
        "note": note,
        "alert": {
            "id": id,
            "dedup_key": r.try_get::<String, _>(0)?,
            "rule": r.try_get::<String, _>(1)?,
            "severity": r.try_get::<String, _>(2)?,
            "level": step.name,
            "level_title": step.title,
            "score": r.try_get::<Option<f64>, _>(4)?,
            "previous_score": r.try_get::<Option<f64>, _>(5)?,
            "detail": r.try_get::<String, _>(6)?,
        },
        "customer": {
            "legacy_id": r.try_get::<String, _>(8)?,
            "name": r.try_get::<String, _>(9)?,
            "segment": r.try_get::<String, _>(10)?,
        },
    });
    for t in &step.targets {
        let key = format!("alert:{id}:{event}:{level}:{t}");
        crate::notify::enqueue(tx, &key, Some(customer_id), "alert", Some(t), &payload).await?;
    }
    Ok(())
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
    for rule in &ctx.cfg.alerts.rule {
        let db = Backend::of_pool(&ctx.state);
        let (sql, binds) = breaches(rule, &on_c, 8, db);
        let mut tx = write_tx(&ctx.state).await?;
        // `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT's join.
        let upsert = format!(
            "INSERT INTO alerts (dedup_key, customer_id, rule, severity, severity_rank, priority, status, level,
                                 level_since, score, previous_score, detail, opened_at, updated_at)
             SELECT $1 || ':' || c.legacy_id, b.id, $2, $3, $4, c.priority, 'triggered', 1, $5, b.score, b.previous,
                    b.detail, $6, $7
             FROM ({sql}) AS b JOIN customers c ON c.id = b.id WHERE true
             ON CONFLICT (dedup_key) WHERE status <> 'resolved' DO UPDATE SET updates = alerts.updates + 1, score = excluded.score,
               previous_score = excluded.previous_score, detail = excluded.detail, updated_at = excluded.updated_at
             WHERE alerts.detail IS DISTINCT FROM excluded.detail OR alerts.score IS DISTINCT FROM excluded.score
             RETURNING id, CASE WHEN updates = 0 THEN 1 ELSE 0 END"
        );
        // Decoded row by row into the two id lists: the first evaluation at 10^6 customers
        // opens about 340,000 alerts, and holding every returned row first took 50 MB.
        let mut q = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(upsert))
            .persistent(only.is_none())
            .bind(rule.name.clone())
            .bind(rule.name.clone())
            .bind(rule.severity.as_str())
            .bind(rule.severity.rank())
            .bind(at.clone())
            .bind(at.clone())
            .bind(at.clone());
        for b in &binds {
            q = q.bind(*b);
        }
        let (mut opened, mut updated) = (Vec::new(), Vec::new());
        {
            use futures_util::TryStreamExt as _;
            let mut rows = q.fetch(&mut *tx);
            while let Some((id, new)) = rows.try_next().await? {
                if new == 1 {
                    opened.push(id);
                } else {
                    updated.push(id);
                }
            }
        }
        audit_many(
            &mut tx,
            &opened,
            "alert opened",
            &format!("'{}: ' || detail", rule.name.replace('\'', "''")),
        )
        .await?;
        audit_many(
            &mut tx,
            &updated,
            "alert updated",
            &format!("'{}: ' || detail", rule.name.replace('\'', "''")),
        )
        .await?;
        if notifies(ctx) {
            for id in &opened {
                notify_alert(ctx, &mut tx, *id, "alert.opened", SYSTEM, "").await?;
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
        let resolved: Vec<i64> = q.fetch_all(&mut *tx).await?;
        audit_many(&mut tx, &resolved, "alert resolved", "'condition cleared'").await?;
        if notifies(ctx) {
            for id in &resolved {
                notify_alert(
                    ctx,
                    &mut tx,
                    *id,
                    "alert.resolved",
                    SYSTEM,
                    "condition cleared",
                )
                .await?;
            }
        }
        out.resolved += resolved.len();
        tx.commit().await?;
    }
    Ok(out)
}

/// Climbs every unacknowledged, unsnoozed alert whose level's timeout has passed by one level
/// (a level with timeout 0, and the top level, never climb). Returns the alerts that climbed.
///
/// Errors: the state database failing.
pub async fn escalate_due(ctx: &Ctx, now: DateTime<Utc>) -> eyre::Result<Vec<i64>> {
    let at = clock::fmt(now);
    let levels = &ctx.cfg.escalation.level;
    let mut climbed = Vec::new();
    let mut tx = write_tx(&ctx.state).await?;
    for (i, level) in levels.iter().enumerate() {
        if level.timeout_minutes == 0 || i + 1 >= levels.len() {
            continue;
        }
        let due = clock::fmt(now - chrono::Duration::minutes(level.timeout_minutes as i64));
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE alerts SET level = level + 1, level_since = $1, updated_at = $1
             WHERE status = 'triggered' AND level = $2 AND level_since <= $3
               AND (snoozed_until IS NULL OR snoozed_until <= $1)
             RETURNING id",
        )
        .bind(at.clone())
        .bind(i as i64 + 1)
        .bind(due)
        .fetch_all(&mut *tx)
        .await?;
        for id in ids {
            let to = &levels[i + 1];
            let detail = format!(
                "{} → {} ({}) after {} min unacknowledged",
                level.name, to.name, to.title, level.timeout_minutes
            );
            ctx.audit_as(
                &mut tx,
                SYSTEM,
                "alert escalated",
                &format!("alert {id}"),
                "",
                &detail,
            )
            .await?;
            notify_alert(ctx, &mut tx, id, "alert.escalated", SYSTEM, &detail).await?;
            climbed.push(id);
        }
    }
    tx.commit().await?;
    Ok(climbed)
}

/// An operator's action on one alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    Acknowledge,
    /// Climb one level now, with a note.
    Escalate(String),
    Resolve(String),
    /// Quiet until the time, with a reason.
    Snooze(DateTime<Utc>, String),
    TakeOwnership,
}

/// Applies `act` to alert `id` as `actor`, with its audit row, in one transaction.
///
/// Errors: no such alert, the alert already resolved, escalation past the top level, or the
/// database failing. A failed action changes nothing and leaves no audit row.
pub async fn act(
    ctx: &Ctx,
    id: i64,
    act: &Act,
    actor: &str,
    now: DateTime<Utc>,
) -> eyre::Result<String> {
    ctx.require_as(actor, Action::TriageAlert, &format!("alert {id}"))
        .await?;
    let at = clock::fmt(now);
    let mut tx = write_tx(&ctx.state).await?;
    let row = sqlx::query("SELECT status, level FROM alerts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        eyre::bail!("alert {id}: no such alert")
    };
    let (status, level): (String, i64) = (row.try_get(0)?, row.try_get(1)?);
    if status == "resolved" {
        eyre::bail!("alert {id} is already resolved");
    }
    let levels = &ctx.cfg.escalation.level;
    let (action, detail) = match act {
        Act::Acknowledge => {
            sqlx::query(
                "UPDATE alerts SET status = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2, updated_at = $3
                 WHERE id = $4",
            )
            .bind(at.clone())
            .bind(actor.to_string())
            .bind(at.clone())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            ("alert acknowledged", String::new())
        }
        Act::Escalate(note) => {
            let Some(to) = levels.get(level as usize) else {
                eyre::bail!(
                    "alert {id} is already at the top level ({})",
                    levels.last().map_or("", |l| l.name.as_str())
                );
            };
            sqlx::query(
                "UPDATE alerts SET level = level + 1, level_since = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(at.clone())
            .bind(at.clone())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            (
                "alert escalated",
                format!("to {} ({}): {note}", to.name, to.title),
            )
        }
        Act::Resolve(note) => {
            sqlx::query(
                "UPDATE alerts SET status = 'resolved', resolved_at = $1, resolved_by = $2, resolution = $3, updated_at = $4
                 WHERE id = $5",
            )
            .bind(at.clone())
            .bind(actor.to_string())
            .bind(note.clone())
            .bind(at.clone())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            ("alert resolved", note.clone())
        }
        Act::Snooze(until, reason) => {
            sqlx::query("UPDATE alerts SET snoozed_until = $1, snooze_reason = $2, updated_at = $3 WHERE id = $4")
                .bind(clock::fmt(*until))
                .bind(reason.clone())
                .bind(at.clone())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            (
                "alert snoozed",
                format!("until {}: {reason}", clock::fmt(*until)),
            )
        }
        Act::TakeOwnership => {
            sqlx::query("UPDATE alerts SET owner = $1, updated_at = $2 WHERE id = $3")
                .bind(actor.to_string())
                .bind(at.clone())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            ("alert owned", format!("by {actor}"))
        }
    };
    let reason = match act {
        Act::Escalate(n) | Act::Resolve(n) | Act::Snooze(_, n) => n.as_str(),
        Act::Acknowledge | Act::TakeOwnership => "",
    };
    ctx.audit_as(
        &mut tx,
        actor,
        action,
        &format!("alert {id}"),
        reason,
        &detail,
    )
    .await?;
    let event = match act {
        Act::Acknowledge => Some("alert.acknowledged"),
        Act::Escalate(_) => Some("alert.escalated"),
        Act::Resolve(_) => Some("alert.resolved"),
        Act::Snooze(..) | Act::TakeOwnership => None,
    };
    if let Some(event) = event {
        notify_alert(ctx, &mut tx, id, event, actor, &detail).await?;
    }
    tx.commit().await?;
    Ok(format!(
        "alert {id}: {action}{}",
        if detail.is_empty() {
            String::new()
        } else {
            format!(" {detail}")
        }
    ))
}

/// An alert as the console lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertView {
    pub id: i64,
    pub legacy_id: String,
    pub name: String,
    pub segment: String,
    pub priority: i64,
    pub rule: String,
    pub severity: String,
    pub status: String,
    pub level: i64,
    pub level_since: String,
    pub score: Option<f64>,
    pub previous_score: Option<f64>,
    pub detail: String,
    pub owner: Option<String>,
    pub snoozed_until: Option<String>,
    pub opened_at: String,
}

/// Open alerts, most severe first, then by segment priority, then oldest first; at most
/// `limit`, narrowed by `filter` (matched against customer, segment, rule, owner, `l<level>`);
/// the filter `mine` keeps the alerts `operator` owns.
pub async fn open(
    state: &crate::db::Pool,
    filter: &str,
    operator: &str,
    limit: i64,
) -> eyre::Result<Vec<AlertView>> {
    let f = filter.trim().to_lowercase();
    let mine = f == "mine";
    let like = if mine {
        "%%".to_string()
    } else {
        format!("%{f}%")
    };
    let rows = sqlx::query(
        "SELECT a.id, c.legacy_id, c.name, c.segment, c.priority, a.rule, a.severity, a.status, a.level, a.level_since,
                a.score, a.previous_score, a.detail, a.owner, a.snoozed_until, a.opened_at
         FROM alerts a JOIN customers c ON c.id = a.customer_id
         WHERE a.status <> 'resolved'
           AND ($1 = '%%' OR lower(c.name) LIKE $1 OR lower(c.legacy_id) LIKE $1 OR lower(c.segment) LIKE $1
                OR lower(a.rule) LIKE $1 OR lower(COALESCE(a.owner, '')) LIKE $1 OR ('l' || a.level) LIKE $1)
           AND ($3 = 0 OR a.owner = $4)
         ORDER BY a.severity_rank, a.priority, a.opened_at, a.id
         LIMIT $2",
    )
    .bind(like)
    .bind(limit)
    .bind(i64::from(mine))
    .bind(operator.to_string())
    .fetch_all(state)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AlertView {
                id: r.try_get(0)?,
                legacy_id: r.try_get(1)?,
                name: r.try_get(2)?,
                segment: r.try_get(3)?,
                priority: r.try_get(4)?,
                rule: r.try_get(5)?,
                severity: r.try_get(6)?,
                status: r.try_get(7)?,
                level: r.try_get(8)?,
                level_since: r.try_get(9)?,
                score: r.try_get(10)?,
                previous_score: r.try_get(11)?,
                detail: r.try_get(12)?,
                owner: r.try_get(13)?,
                snoozed_until: r.try_get(14)?,
                opened_at: r.try_get(15)?,
            })
        })
        .collect::<sqlx::Result<_>>()
        .map_err(Into::into)
}

/// Re-evaluates the rules for `only` (or everyone) now, logging instead of failing: alerts are a
/// read model of the state, and the work that changed it has already been committed.
pub async fn refresh(ctx: &Ctx, only: Option<&[i64]>) {
    if let Err(e) = evaluate(ctx, Utc::now(), only).await {
        tracing::warn!(error = %format!("{e:#}"), "alert evaluation failed");
    }
}

/// Climbs due alerts every 30 seconds until aborted (the console runs it).
pub async fn watch(ctx: Ctx) {
    loop {
        if let Err(e) = escalate_due(&ctx, Utc::now()).await {
            tracing::warn!(error = %format!("{e:#}"), "alert escalation failed");
        }
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    }
}

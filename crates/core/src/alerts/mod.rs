//! Alerts (brief section 2, "Health score" and "Escalation ladder"): rules from config raise
//! one open alert per customer and rule (the dedup key `rule:legacy_id`); a new breach updates
//! it; an alert whose condition clears is resolved automatically and says so. Operators
//! acknowledge, escalate, resolve, snooze and take ownership; an unacknowledged alert climbs a
//! level when its level's timeout passes. Every change writes one audit row in the same
//! transaction.
//!
//! Time is a parameter (`now`) wherever it decides something, so tests control the clock.

mod act;
mod escalate;
mod evaluate;

pub use act::{Act, act};
pub use escalate::escalate_due;
pub use evaluate::{Evaluation, evaluate};

use chrono::Utc;
use serde::Serialize;

use crate::clock;
use crate::config::AlertSeverity;
use crate::ctx::Ctx;

pub use crate::roles::SYSTEM;

/// Whether any escalation level has notification targets (else no outbox rows are written).
pub(crate) fn notifies(ctx: &Ctx) -> bool {
    ctx.cfg
        .escalation
        .level
        .iter()
        .any(|l| !l.targets.is_empty())
}

/// What an alert's notification says about it and its customer.
#[derive(sqlx::FromRow)]
struct Notified {
    dedup_key: String,
    rule: String,
    severity: String,
    level: i64,
    score: Option<f64>,
    previous_score: Option<f64>,
    detail: String,
    customer_id: i64,
    legacy_id: String,
    name: String,
    segment: String,
}

/// Writes the outbox messages for an alert `event` (alert.opened, alert.escalated,
/// alert.acknowledged, alert.resolved) to the targets of the alert's current level, in `tx`.
pub(super) async fn notify_alert(
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
    let r: Notified = sqlx::query_as(
        "SELECT a.dedup_key, a.rule, a.severity, a.level, a.score, a.previous_score, a.detail, a.customer_id,
                c.legacy_id, c.name, c.segment
         FROM alerts a JOIN customers c ON c.id = a.customer_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    let level = r.level;
    let Some(step) = ladder.get((level.max(1) - 1) as usize) else {
        return Ok(());
    };
    let customer_id = r.customer_id;
    let payload = serde_json::json!({
        "event": event,
        "at": clock::now(),
        "actor": actor,
        "note": note,
        "alert": {
            "id": id,
            "dedup_key": r.dedup_key,
            "rule": r.rule,
            "severity": r.severity,
            "level": step.name,
            "level_title": step.title,
            "score": r.score,
            "previous_score": r.previous_score,
            "detail": r.detail,
        },
        "customer": {
            "legacy_id": r.legacy_id,
            "name": r.name,
            "segment": r.segment,
        },
    });
    for t in &step.targets {
        let key = format!("alert:{id}:{event}:{level}:{t}");
        crate::notify::enqueue(tx, &key, Some(customer_id), "alert", Some(t), &payload).await?;
    }
    Ok(())
}

/// An alert as the console lists it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AlertView {
    /// Its id.
    pub id: i64,
    /// The customer's legacy id (the source's).
    pub legacy_id: String,
    /// Its name.
    pub name: String,
    /// The segment (wave).
    pub segment: String,
    /// Priority (1 first).
    pub priority: i64,
    /// The rule's name.
    pub rule: String,
    /// Its severity.
    #[sqlx(try_from = "String")]
    pub severity: AlertSeverity,
    /// Its status.
    pub status: String,
    /// The escalation level, 1-based: `escalation.level[level - 1]` of the config.
    pub level: i64,
    /// Since when it is at its level.
    pub level_since: String,
    /// The score (0–100).
    pub score: Option<f64>,
    /// The score before.
    pub previous_score: Option<f64>,
    /// What happened, in words.
    pub detail: String,
    /// Who owns it.
    pub owner: Option<String>,
    /// Quiet until.
    pub snoozed_until: Option<String>,
    /// When it opened.
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
    let rows: Vec<AlertView> = sqlx::query_as(
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
    Ok(rows)
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

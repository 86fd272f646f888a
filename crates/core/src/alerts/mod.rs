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
    owner: Option<String>,
    tier: Option<String>,
    ack_due: Option<String>,
    resolve_due: Option<String>,
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
                c.legacy_id, c.name, c.segment, a.owner, a.tier, a.ack_due, a.resolve_due
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
            "owner": r.owner,
            "acknowledge_by": r.ack_due,
            "resolve_by": r.resolve_due,
        },
        "customer": {
            "legacy_id": r.legacy_id,
            "name": r.name,
            "segment": r.segment,
            "tier": r.tier,
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
    /// Who owns it: the customer's owning CSM when it opened (`[mapping.owner]`), or whoever
    /// took it since (`o`).
    pub owner: Option<String>,
    /// Quiet until.
    pub snoozed_until: Option<String>,
    /// When it opened.
    pub opened_at: String,
    /// The customer's tier when it opened (`[[tier]]`), if it had one.
    pub tier: Option<String>,
    /// When it must be acknowledged by, from its tier's service level for its severity.
    pub ack_due: Option<String>,
    /// When it must be resolved by.
    pub resolve_due: Option<String>,
}

/// Where an open alert stands against its tier's service level at some time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceLevel {
    /// No tier, so no service level.
    None,
    /// Seconds left to acknowledge it.
    AckLeft(i64),
    /// Seconds since it should have been acknowledged.
    AckLate(i64),
    /// Acknowledged: seconds left to resolve it.
    ResolveLeft(i64),
    /// Seconds since it should have been resolved.
    ResolveLate(i64),
}

impl ServiceLevel {
    /// Whether a deadline has passed.
    pub fn breached(self) -> bool {
        matches!(
            self,
            ServiceLevel::AckLate(_) | ServiceLevel::ResolveLate(_)
        )
    }

    /// A countdown for a table cell: "ack 1h 20m" (left to acknowledge), "ack -3h" (late by),
    /// "fix 1d 22h" (left to resolve), "fix -2h", or "-"; whole units, never cut.
    pub fn cell(self) -> String {
        match self {
            ServiceLevel::None => "-".into(),
            ServiceLevel::AckLeft(s) => format!("ack {}", clock::span(s)),
            ServiceLevel::AckLate(s) => format!("ack -{}", clock::span(s)),
            ServiceLevel::ResolveLeft(s) => format!("fix {}", clock::span(s)),
            ServiceLevel::ResolveLate(s) => format!("fix -{}", clock::span(s)),
        }
    }

    /// In words: "1h left to acknowledge", "3h late to acknowledge", "22h left to resolve",
    /// "2h late to resolve", "no service level".
    pub fn words(self) -> String {
        match self {
            ServiceLevel::None => "no service level".into(),
            ServiceLevel::AckLeft(s) => format!("{} left to acknowledge", clock::span(s)),
            ServiceLevel::AckLate(s) => format!("{} late to acknowledge", clock::span(s)),
            ServiceLevel::ResolveLeft(s) => format!("{} left to resolve", clock::span(s)),
            ServiceLevel::ResolveLate(s) => format!("{} late to resolve", clock::span(s)),
        }
    }
}

impl AlertView {
    /// Where it stands against its service level at `now`: a passed resolve deadline first,
    /// then (unacknowledged) the acknowledge deadline, then the resolve deadline.
    pub fn service_level(&self, now: chrono::DateTime<Utc>) -> ServiceLevel {
        let left = |t: &Option<String>| {
            t.as_deref()
                .and_then(clock::parse)
                .map(|d| (d - now).num_seconds())
        };
        let (ack, fix) = (left(&self.ack_due), left(&self.resolve_due));
        match (fix, ack) {
            (Some(f), _) if f < 0 => ServiceLevel::ResolveLate(-f),
            (_, Some(a)) if self.status == "triggered" && a < 0 => ServiceLevel::AckLate(-a),
            (_, Some(a)) if self.status == "triggered" => ServiceLevel::AckLeft(a),
            (Some(f), _) => ServiceLevel::ResolveLeft(f),
            _ => ServiceLevel::None,
        }
    }
}

/// Which open alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// Matched against customer, segment, tier, rule, owner and `l<level>`; empty: all.
    pub text: String,
    /// Only alerts this person owns.
    pub owner: Option<String>,
    /// Only alerts past a service-level deadline at `now`.
    pub breached: bool,
}

impl AlertQuery {
    /// The console's filter line: `mine` (the operator's alerts), `breached`, `owner:NAME`,
    /// or text to match.
    pub fn parse(filter: &str, operator: &str) -> Self {
        let f = filter.trim().to_lowercase();
        match f.as_str() {
            "mine" => AlertQuery {
                owner: Some(operator.to_string()),
                ..Default::default()
            },
            "breached" => AlertQuery {
                breached: true,
                ..Default::default()
            },
            _ => match f.strip_prefix("owner:") {
                Some(o) => AlertQuery {
                    owner: Some(o.trim().to_string()),
                    ..Default::default()
                },
                None => AlertQuery {
                    text: f,
                    ..Default::default()
                },
            },
        }
    }
}

/// Open alerts, most severe first, then by segment priority, then oldest first; at most
/// `limit`, narrowed by `filter` as [`AlertQuery::parse`] reads it (`mine` keeps the alerts
/// `operator` owns).
pub async fn open(
    state: &crate::db::Pool,
    filter: &str,
    operator: &str,
    limit: i64,
) -> eyre::Result<Vec<AlertView>> {
    list(
        state,
        &AlertQuery::parse(filter, operator),
        Utc::now(),
        limit,
    )
    .await
}

/// Open alerts as `q` narrows them at `now`, in triage order (severity, segment priority,
/// age); at most `limit`.
///
/// Errors: the state database failing.
pub async fn list(
    state: &crate::db::Pool,
    q: &AlertQuery,
    now: chrono::DateTime<Utc>,
    limit: i64,
) -> eyre::Result<Vec<AlertView>> {
    let like = format!("%{}%", q.text.to_lowercase());
    let rows: Vec<AlertView> = sqlx::query_as(
        "SELECT a.id, c.legacy_id, c.name, c.segment, c.priority, a.rule, a.severity, a.status, a.level, a.level_since,
                a.score, a.previous_score, a.detail, a.owner, a.snoozed_until, a.opened_at, a.tier, a.ack_due,
                a.resolve_due
         FROM alerts a JOIN customers c ON c.id = a.customer_id
         WHERE a.status <> 'resolved'
           AND ($1 = '%%' OR lower(c.name) LIKE $1 OR lower(c.legacy_id) LIKE $1 OR lower(c.segment) LIKE $1
                OR lower(a.rule) LIKE $1 OR lower(COALESCE(a.owner, '')) LIKE $1 OR ('l' || a.level) LIKE $1
                OR lower(COALESCE(a.tier, '')) LIKE $1)
           AND ($3 = '' OR lower(a.owner) = $3)
           AND ($4 = 0 OR a.resolve_due <= $5 OR (a.status = 'triggered' AND a.ack_due <= $5))
         ORDER BY a.severity_rank, a.priority, a.opened_at, a.id
         LIMIT $2",
    )
    .bind(like)
    .bind(limit)
    .bind(q.owner.clone().unwrap_or_default().to_lowercase())
    .bind(i64::from(q.breached))
    .bind(clock::fmt(now))
    .fetch_all(state)
    .await?;
    Ok(rows)
}

/// Service-level figures for one tier and severity: how many alerts had a deadline, and how
/// many met or breached it (an alert still open counts as breached once its deadline passed).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ServiceLevelRow {
    /// The tier.
    pub tier: String,
    /// The severity.
    pub severity: String,
    /// Alerts opened with a service level.
    pub alerts: i64,
    /// Acknowledged (or resolved) by the acknowledge deadline.
    pub ack_met: i64,
    /// Not acknowledged by it.
    pub ack_breached: i64,
    /// Resolved by the resolve deadline.
    pub resolve_met: i64,
    /// Not resolved by it.
    pub resolve_breached: i64,
    /// Still open.
    pub open: i64,
}

/// Every alert that had a service level, opened from `since` on, per tier and severity, as
/// it stands at `now`; only `owner`'s when given.
///
/// Errors: the state database failing.
pub async fn service_levels(
    state: &crate::db::Pool,
    since: &str,
    owner: Option<&str>,
    now: chrono::DateTime<Utc>,
) -> eyre::Result<Vec<ServiceLevelRow>> {
    let rows = sqlx::query_as(
        "SELECT tier, severity, COUNT(*) AS alerts,
           SUM(CASE WHEN COALESCE(acknowledged_at, resolved_at) <= ack_due THEN 1 ELSE 0 END) AS ack_met,
           SUM(CASE WHEN COALESCE(acknowledged_at, resolved_at, $1) > ack_due THEN 1 ELSE 0 END) AS ack_breached,
           SUM(CASE WHEN resolved_at <= resolve_due THEN 1 ELSE 0 END) AS resolve_met,
           SUM(CASE WHEN COALESCE(resolved_at, $1) > resolve_due THEN 1 ELSE 0 END) AS resolve_breached,
           SUM(CASE WHEN status <> 'resolved' THEN 1 ELSE 0 END) AS open
         FROM alerts
         WHERE tier IS NOT NULL AND ack_due IS NOT NULL AND opened_at >= $2 AND ($3 = '' OR lower(owner) = $3)
         GROUP BY tier, severity, severity_rank
         ORDER BY tier, severity_rank",
    )
    .bind(clock::fmt(now))
    .bind(since.to_string())
    .bind(owner.unwrap_or_default().to_lowercase())
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

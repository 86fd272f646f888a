//! Operators' actions on one alert: acknowledge, escalate, resolve, snooze, take ownership.

use chrono::{DateTime, Utc};

use super::notify_alert;
use crate::clock;
use crate::ctx::Ctx;
use crate::db::write_tx;
use crate::roles::Action;

/// "within its service level (due …)" or "3h after its service level (due …)" for an
/// action at `now` against the deadline `due`; empty for an alert with no service level.
fn against(due: Option<&str>, now: DateTime<Utc>) -> String {
    let Some(d) = due.and_then(clock::parse) else {
        return String::new();
    };
    let due = due.unwrap_or_default();
    if now <= d {
        format!("within its service level (due {due})")
    } else {
        format!(
            "{} after its service level (due {due})",
            clock::age((now - d).num_seconds())
        )
    }
}

/// An operator's action on one alert.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    /// Stop the climb: someone is on it.
    Acknowledge,
    /// Climb one level now, with a note.
    Escalate(String),
    /// Close it, with a note.
    Resolve(String),
    /// Quiet until the time, with a reason.
    Snooze(DateTime<Utc>, String),
    /// Own it.
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
    #[derive(sqlx::FromRow)]
    struct Current {
        status: String,
        level: i64,
        ack_due: Option<String>,
        resolve_due: Option<String>,
    }
    let row: Option<Current> =
        sqlx::query_as("SELECT status, level, ack_due, resolve_due FROM alerts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(Current {
        status,
        level,
        ack_due,
        resolve_due,
    }) = row
    else {
        eyre::bail!("alert {id}: no such alert")
    };
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
            ("alert acknowledged", against(ack_due.as_deref(), now))
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
            let sl = against(resolve_due.as_deref(), now);
            (
                "alert resolved",
                if sl.is_empty() {
                    note.clone()
                } else {
                    format!("{note} ({sl})")
                },
            )
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

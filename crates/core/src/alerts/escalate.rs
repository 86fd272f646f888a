//! Timed escalation: an unacknowledged alert climbs the ladder when its level's timeout (its
//! tier's, where `[[tier]] ladder_minutes` gives one) passes; an alert that breaches its
//! tier's service level (not acknowledged, or not resolved, by its deadline) climbs once for
//! each breach, acknowledged or not (brief section 2: time to acknowledge and to resolve are
//! measured against the tier's service level).

use chrono::{DateTime, Utc};

use super::{SYSTEM, notifies, notify_alert};
use crate::clock;
use crate::ctx::Ctx;
use crate::db::write_tx;

/// `rule NOT IN (…)` for the rules whose alerts wait for their owner (`climbs = false`), names
/// quoted as SQL literals; `None` when every rule climbs.
fn staying_rules(ctx: &Ctx) -> Option<String> {
    let stay: Vec<String> = ctx
        .cfg
        .alerts
        .rule
        .iter()
        .filter(|r| !r.climbs)
        .map(|r| format!("'{}'", r.name.replace('\'', "''")))
        .collect();
    (!stay.is_empty()).then(|| format!("rule NOT IN ({})", stay.join(", ")))
}

/// `level_from → level_to` names for an alert whose level (the SQL expression `level`) just
/// rose by one, as an SQL CASE over the ladder's names.
fn transition(levels: &[crate::config::EscalationLevel], level: &str) -> String {
    let mut sql = format!("(CASE {level}");
    for (k, pair) in levels.windows(2).enumerate() {
        sql.push_str(&format!(
            " WHEN {} THEN '{} → {}'",
            k + 2,
            pair[0].name.replace('\'', "''"),
            pair[1].name.replace('\'', "''")
        ));
    }
    sql + " ELSE '' END)"
}

/// Climbs every unacknowledged, unsnoozed alert whose level's timeout has passed by one level
/// (a level with timeout 0, and the top level, never climb), then records every service-level
/// breach found at `now` and climbs its alert one level (a rule with `climbs = false` records
/// the breach and stays). Returns the alerts that climbed.
///
/// Errors: the state database failing.
pub async fn escalate_due(ctx: &Ctx, now: DateTime<Utc>) -> eyre::Result<Vec<i64>> {
    let at = clock::fmt(now);
    let levels = &ctx.cfg.escalation.level;
    let top = levels.len() as i64;
    let mut climbed = Vec::new();
    let stay = staying_rules(ctx);
    let and_climbs = stay.as_ref().map_or(String::new(), |s| format!(" AND {s}"));
    let mut tx = write_tx(&ctx.state).await?;
    // Breaches first: an alert that climbs for one starts its new level now, so the timed
    // climb below does not move it a second time in the same pass.
    for (which, due, mark, open) in [
        (
            "acknowledge",
            "ack_due",
            "ack_breached_at",
            "status = 'triggered'",
        ),
        (
            "resolve",
            "resolve_due",
            "resolve_breached_at",
            "status <> 'resolved'",
        ),
    ] {
        let climbs = stay.as_ref().map_or("true".to_string(), |s| s.clone());
        // Those that climb, then the rest (at the top, or a rule that stays): two statements,
        // so each knows what it did.
        for (rises, set, only) in [
            (
                true,
                ", level = level + 1, level_since = $1",
                format!("level < $2 AND {climbs}"),
            ),
            (false, "", format!("NOT (level < $2 AND {climbs})")),
        ] {
            let sql = format!(
                "UPDATE alerts SET {mark} = $1, updated_at = $1{set}
                 WHERE {open} AND {mark} IS NULL AND {due} IS NOT NULL AND {due} <= $1 AND {only}
                 RETURNING id, level, {due}, COALESCE(tier, ''), severity"
            );
            let rows: Vec<(i64, i64, String, String, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(at.clone())
                    .bind(top)
                    .fetch_all(&mut *tx)
                    .await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
            // The audit rows in one statement per chunk (a day's breaches at 10^6 customers
            // are 10^5 alerts), the same words as the notification below.
            let words = format!(
                "'service level breached: not {which}d by ' || {due} || ' (' || COALESCE(tier, '') || ' ' || severity || ')'{}",
                if rises {
                    format!(" || '; ' || {}", transition(levels, "level"))
                } else {
                    String::new()
                }
            );
            super::evaluate::audit_many(&mut tx, &ids, "service level breached", &words).await?;
            if !rises {
                continue;
            }
            for (id, level, deadline, tier, severity) in rows {
                if notifies(ctx) {
                    let name = |l: i64| {
                        levels
                            .get((l.max(1) - 1) as usize)
                            .map_or("?", |x| x.name.as_str())
                    };
                    let detail = format!(
                        "service level breached: not {which}d by {deadline} ({tier} {severity}); {} → {}",
                        name(level - 1),
                        name(level)
                    );
                    notify_alert(ctx, &mut tx, id, "alert.escalated", SYSTEM, &detail).await?;
                }
                climbed.push(id);
            }
        }
    }
    for (i, level) in levels.iter().enumerate() {
        if i + 1 >= levels.len() {
            continue;
        }
        // The time an alert must have been at this level since to climb, per tier; a timeout
        // of 0 never climbs ('' is before every time).
        let due = |minutes: u64| {
            if minutes == 0 {
                String::new()
            } else {
                clock::fmt(now - chrono::Duration::minutes(minutes as i64))
            }
        };
        let mut since = String::from("(CASE COALESCE(tier, '')");
        for t in &ctx.cfg.tier {
            since.push_str(&format!(
                " WHEN '{}' THEN '{}'",
                t.name.replace('\'', "''"),
                due(t.timeout(level))
            ));
        }
        since.push_str(&format!(" ELSE '{}' END)", due(level.timeout_minutes)));
        if level.timeout_minutes == 0 && ctx.cfg.tier.iter().all(|t| t.timeout(level) == 0) {
            continue;
        }
        let sql = format!(
            "UPDATE alerts SET level = level + 1, level_since = $1, updated_at = $1
             WHERE status = 'triggered' AND level = $2 AND level_since <= {since}
               AND (snoozed_until IS NULL OR snoozed_until <= $1){and_climbs}
             RETURNING id, COALESCE(tier, '')"
        );
        let ids: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .persistent(false)
            .bind(at.clone())
            .bind(i as i64 + 1)
            .fetch_all(&mut *tx)
            .await?;
        // Each tier's timeout at this level, for the audit row's words.
        let mut minutes = String::from("(CASE COALESCE(tier, '')");
        for t in &ctx.cfg.tier {
            minutes.push_str(&format!(
                " WHEN '{}' THEN '{}'",
                t.name.replace('\'', "''"),
                t.timeout(level)
            ));
        }
        minutes.push_str(&format!(" ELSE '{}' END)", level.timeout_minutes));
        let to = &levels[i + 1];
        let head =
            format!("{} → {} ({}) after ", level.name, to.name, to.title).replace('\'', "''");
        let list: Vec<i64> = ids.iter().map(|r| r.0).collect();
        super::evaluate::audit_many(
            &mut tx,
            &list,
            "alert escalated",
            &format!("'{head}' || {minutes} || ' min unacknowledged'"),
        )
        .await?;
        for (id, tier) in ids {
            if notifies(ctx) {
                let minutes = ctx
                    .cfg
                    .tier(&tier)
                    .map_or(level.timeout_minutes, |t| t.timeout(level));
                let detail = format!(
                    "{} → {} ({}) after {minutes} min unacknowledged",
                    level.name, to.name, to.title
                );
                notify_alert(ctx, &mut tx, id, "alert.escalated", SYSTEM, &detail).await?;
            }
            climbed.push(id);
        }
    }
    tx.commit().await?;
    Ok(climbed)
}

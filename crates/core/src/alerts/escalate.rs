//! Timed escalation: an unacknowledged alert climbs the ladder when its level's timeout passes.

use chrono::{DateTime, Utc};

use super::{SYSTEM, notify_alert};
use crate::clock;
use crate::ctx::Ctx;
use crate::db::write_tx;

/// Climbs every unacknowledged, unsnoozed alert whose level's timeout has passed by one level
/// (a level with timeout 0, and the top level, never climb). Returns the alerts that climbed.
///
/// Errors: the state database failing.
pub async fn escalate_due(ctx: &Ctx, now: DateTime<Utc>) -> eyre::Result<Vec<i64>> {
    let at = clock::fmt(now);
    let levels = &ctx.cfg.escalation.level;
    let mut climbed = Vec::new();
    // Rules whose alerts wait for their owner (`climbs = false`): names from the config,
    // quoted as SQL literals.
    let stay: Vec<String> = ctx
        .cfg
        .alerts
        .rule
        .iter()
        .filter(|r| !r.climbs)
        .map(|r| format!("'{}'", r.name.replace('\'', "''")))
        .collect();
    let stay = if stay.is_empty() {
        String::new()
    } else {
        format!(" AND rule NOT IN ({})", stay.join(", "))
    };
    let mut tx = write_tx(&ctx.state).await?;
    for (i, level) in levels.iter().enumerate() {
        if level.timeout_minutes == 0 || i + 1 >= levels.len() {
            continue;
        }
        let due = clock::fmt(now - chrono::Duration::minutes(level.timeout_minutes as i64));
        let sql = format!(
            "UPDATE alerts SET level = level + 1, level_since = $1, updated_at = $1
             WHERE status = 'triggered' AND level = $2 AND level_since <= $3
               AND (snoozed_until IS NULL OR snoozed_until <= $1){stay}
             RETURNING id"
        );
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
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

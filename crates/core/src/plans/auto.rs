//! Plans that move by themselves: `[[plans.auto]]` opens a plan on an engine event (a customer
//! migrated, an alert of a rule open) and a milestone bound to an engine fact
//! (`completes_when`) completes when the fact holds, its plan with it when it was the last.
//! Each is one set-based statement per rule or fact, whatever the number of customers, with
//! an audit row per plan opened and per milestone completed in the same transaction. The
//! programme's tick runs [`pass`].

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock;
use crate::config::plans::{AutoEvent, AutoPlan, Fact};
use crate::ctx::Ctx;
use crate::db::write_tx;
use crate::roles::SYSTEM;

/// What one [`pass`] did.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct Pass {
    /// Plans opened by `[[plans.auto]]`.
    pub opened: usize,
    /// Milestones completed by their engine fact.
    pub milestones_completed: usize,
    /// Plans completed because their last open milestone did.
    pub plans_completed: usize,
}

/// Opens the automatic plans due and completes the milestones whose fact holds, at `now`.
///
/// Errors: the state database failing.
pub async fn pass(ctx: &Ctx, now: DateTime<Utc>) -> eyre::Result<Pass> {
    let mut out = Pass::default();
    for rule in &ctx.cfg.plans.auto {
        out.opened += open_for(ctx, rule, now).await?;
    }
    let (m, p) = complete_facts(ctx, now).await?;
    out.milestones_completed = m;
    out.plans_completed = p;
    Ok(out)
}

/// `'…'` with quotes doubled: names from the config written into SQL.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Opens `rule`'s plans: one insert per tier (an onboarding's due dates follow the tier's
/// length), then the milestones of every plan opened, then an audit row each.
async fn open_for(ctx: &Ctx, rule: &AutoPlan, now: DateTime<Utc>) -> eyre::Result<usize> {
    let base = super::template(&rule.template)?;
    let at = clock::fmt(now);
    let today = now.date_naive();
    let event = match rule.on {
        AutoEvent::Migrated => "c.status = 'migrated'".to_string(),
        // From the open alerts of the rule (their index), not a probe per customer: alerts
        // have no index by customer, and the probe took 93 ms per tier at 10^5 customers.
        AutoEvent::Alert => format!(
            "c.id IN (SELECT a.customer_id FROM alerts a WHERE a.rule = {} AND a.status <> 'resolved')",
            lit(rule.rule.as_deref().unwrap_or_default())
        ),
    };
    let mut only = String::new();
    if let Some(s) = &rule.segment {
        only.push_str(&format!(" AND c.segment = {}", lit(s)));
    }
    // Each tier's customers with its onboarding length, then those with no tier.
    let mut groups: Vec<(String, Option<i64>)> = ctx
        .cfg
        .tier
        .iter()
        .filter(|t| rule.tier.as_ref().is_none_or(|x| x == &t.name))
        .map(|t| {
            (
                format!("c.tier = {}", lit(&t.name)),
                Some(t.onboarding_days),
            )
        })
        .collect();
    if rule.tier.is_none() {
        groups.push(("c.tier IS NULL".into(), None));
    }
    let why = format!(
        "on {}{}{}{}",
        rule.on.as_str(),
        rule.rule
            .as_ref()
            .map(|r| format!(" {r}"))
            .unwrap_or_default(),
        rule.segment
            .as_ref()
            .map(|s| format!(", segment {s}"))
            .unwrap_or_default(),
        rule.tier
            .as_ref()
            .map(|s| format!(", tier {s}"))
            .unwrap_or_default(),
    );
    let mut opened = 0;
    let mut tx = write_tx(&ctx.state).await?;
    for (tier, length) in groups {
        let t = base.clone().for_length(length);
        let sql = format!(
            "INSERT INTO success_plans (customer_legacy_id, kind, status, owner, title, created_at, updated_at)
             SELECT c.legacy_id, $1, 'active', COALESCE(c.owner, 'unassigned'), $2 || ' ' || c.legacy_id, $3, $3
             FROM customers c
             WHERE {event}{only} AND {tier}
               AND NOT EXISTS (SELECT 1 FROM success_plans p WHERE p.customer_legacy_id = c.legacy_id AND p.kind = $1)
             ORDER BY c.id
             ON CONFLICT DO NOTHING
             RETURNING id"
        );
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .persistent(false)
            .bind(t.kind.clone())
            .bind(t.title.clone())
            .bind(at.clone())
            .fetch_all(&mut *tx)
            .await?;
        // The template's milestones as rows (names, due dates), crossed with the new plans.
        let rows = t
            .milestone
            .iter()
            .enumerate()
            .map(|(k, m)| {
                format!(
                    "SELECT {} AS seq, {} AS title, {} AS priority, {} AS due_on, {} AS completes_when",
                    k + 1,
                    lit(&m.title),
                    lit(&m.priority),
                    lit(&(today + chrono::Duration::days(m.due_days)).format("%Y-%m-%d").to_string()),
                    m.completes_when.as_deref().map_or("NULL".into(), lit),
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        for chunk in ids.chunks(crate::source::CHUNK) {
            let mut q = crate::db::Builder::on(
                crate::db::Backend::of_conn(&tx),
                format!(
                    "INSERT INTO milestones (plan_id, seq, title, owner, priority, due_on, status, completes_when)
                     SELECT p.id, m.seq, m.title, p.owner, m.priority, m.due_on, 'pending', m.completes_when
                     FROM success_plans p CROSS JOIN ({rows}) AS m WHERE p.id IN "
                ),
            );
            q.push_list(chunk.iter().copied());
            q.build().persistent(false).execute(&mut *tx).await?;
        }
        let m = crate::db::Many {
            table: "success_plans",
            actor: SYSTEM,
            action: &format!("{} plan opened", t.kind),
            reason: &why,
            scope: "'customer ' || customer_legacy_id",
            detail: "'plan ' || id || ' (automatic, owner ' || owner || ')'",
        };
        crate::db::audit_many(&mut tx, &ids, m).await?;
        opened += ids.len();
    }
    tx.commit().await?;
    Ok(opened)
}

/// The plans `p` (active ones) for which `fact` holds, as an SQL condition on `p`.
fn holds(fact: &Fact) -> String {
    let customer = "SELECT 1 FROM customers c WHERE c.legacy_id = p.customer_legacy_id";
    let wave = "SELECT 1 FROM segments s WHERE p.customer_legacy_id = 'wave:' || s.name";
    // From the trigger-kept counters: a few rows per wave.
    let count = |statuses: &str| {
        format!(
            "COALESCE((SELECT SUM(k.customers) FROM customer_counts k WHERE k.segment = s.name AND k.status IN ({statuses})), 0)"
        )
    };
    let started = count("'running', 'migrated', 'failed', 'rolled_back', 'rolling_back'");
    let open = count("'pending', 'running', 'rolling_back'");
    let all = count("'pending', 'running', 'migrated', 'failed', 'rolled_back', 'rolling_back'");
    let migrated = count("'migrated'");
    let done = format!("{all} > 0 AND {open} = 0");
    match fact {
        Fact::CustomerMigrated => format!("EXISTS ({customer} AND c.status = 'migrated')"),
        Fact::HealthAbove(n) => format!(
            "EXISTS ({customer} AND EXISTS (SELECT 1 FROM health_latest h WHERE h.customer_id = c.id AND h.score > {n}))"
        ),
        Fact::WaveStarted => format!("EXISTS ({wave} AND {started} > 0)"),
        Fact::WaveDone => format!("EXISTS ({wave} AND {done})"),
        Fact::WaveAtTarget => format!(
            "EXISTS ({wave} AND {done} AND {migrated} * 100.0 >= s.target_success_rate * {all})"
        ),
        Fact::WaveNotified(notice) => format!(
            "EXISTS ({wave} AND {all} > 0 AND NOT EXISTS (
               SELECT 1 FROM customers c WHERE c.segment = s.name AND c.status <> 'quarantined'
                 AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.customer_id = c.id AND n.kind = {})))",
            lit(notice)
        ),
    }
}

/// Completes every open milestone of an active plan whose fact holds, then every active plan
/// left with no open milestone. Returns the milestones and plans completed.
async fn complete_facts(ctx: &Ctx, now: DateTime<Utc>) -> eyre::Result<(usize, usize)> {
    let at = clock::fmt(now);
    let facts: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT completes_when FROM milestones
         WHERE completes_when IS NOT NULL AND status IN ('pending', 'in_progress', 'overdue')",
    )
    .fetch_all(&ctx.state)
    .await?;
    if facts.is_empty() {
        return Ok((0, 0));
    }
    let mut tx = write_tx(&ctx.state).await?;
    let mut plans: Vec<i64> = Vec::new();
    let mut done = 0;
    for text in facts {
        // A milestone bound to a fact this version does not know stays as it is.
        let Ok(fact) = Fact::parse(&text) else {
            tracing::warn!(fact = %text, "milestone bound to an unknown engine fact");
            continue;
        };
        let sql = format!(
            "UPDATE milestones SET status = 'completed', completed_at = $1
             WHERE completes_when = $2 AND status IN ('pending', 'in_progress', 'overdue')
               AND plan_id IN (SELECT p.id FROM success_plans p WHERE p.status = 'active' AND {})
             RETURNING id, plan_id",
            holds(&fact)
        );
        let rows: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(at.clone())
            .bind(text.clone())
            .fetch_all(&mut *tx)
            .await?;
        // One audit statement per chunk: a fact can complete 10^5 milestones at once.
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let m = crate::db::Many {
            table: "milestones",
            actor: SYSTEM,
            action: "milestone completed",
            reason: &text,
            scope: "'plan ' || plan_id",
            detail: "'milestone ' || id || ': ' || title",
        };
        crate::db::audit_many(&mut tx, &ids, m).await?;
        done += rows.len();
        plans.extend(rows.into_iter().map(|r| r.1));
    }
    plans.sort_unstable();
    plans.dedup();
    // The plans left with no open milestone, a chunk of them per statement.
    let mut completed: Vec<i64> = Vec::new();
    for chunk in plans.chunks(crate::source::CHUNK) {
        let mut q = crate::db::Builder::on(
            crate::db::Backend::of_conn(&tx),
            "UPDATE success_plans SET status = 'completed', updated_at = ",
        );
        q.push_bind(at.clone()).push(
            " WHERE status = 'active' AND NOT EXISTS (SELECT 1 FROM milestones m WHERE m.plan_id = success_plans.id
               AND m.status NOT IN ('completed', 'cancelled')) AND id IN ",
        );
        q.push_list(chunk.iter().copied()).push(" RETURNING id");
        let ids: Vec<i64> = q
            .build_query_as::<(i64,)>()
            .persistent(false)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| r.0)
            .collect();
        completed.extend(ids);
    }
    let m = crate::db::Many {
        table: "success_plans",
        actor: SYSTEM,
        action: "plan completed",
        reason: "",
        scope: "'plan ' || id",
        detail: "'active -> completed: its last milestone completed'",
    };
    crate::db::audit_many(&mut tx, &completed, m).await?;
    let completed = completed.len();
    tx.commit().await?;
    Ok((done, completed))
}

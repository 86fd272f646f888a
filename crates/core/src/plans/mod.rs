//! Success plans (brief section 2): plans and milestones from templates in `assets/templates/`,
//! milestone status and owners, and the recovery plan a CSM opens for a customer in trouble.
//! Every change writes one audit row in its transaction.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use sqlx::Row as _;

use crate::clock;
use crate::ctx::Ctx;
use crate::db::write_tx;
use crate::roles::Action;

/// A plan template: a kind, a title, and milestones due some days after the plan starts.
#[derive(Debug, Clone, Deserialize)]
pub struct Template {
    pub kind: String,
    pub title: String,
    pub milestone: Vec<TemplateMilestone>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TemplateMilestone {
    pub title: String,
    pub due_days: i64,
    pub priority: String,
}

/// The templates shipped in `assets/templates/`: onboarding, recovery, migration (per wave).
pub fn template(name: &str) -> eyre::Result<Template> {
    let text = match name {
        "onboarding" => include_str!("../../assets/templates/onboarding.toml"),
        "recovery" => include_str!("../../assets/templates/recovery.toml"),
        "migration" => include_str!("../../assets/templates/migration.toml"),
        other => eyre::bail!("no plan template `{other}` (onboarding, recovery, migration)"),
    };
    Ok(toml::from_str(text)?)
}

/// Creates a plan from `template` for `subject` (a customer's legacy id, or `wave:<segment>`)
/// starting `start`, in `tx`; an existing plan with the same subject, kind and title is kept.
/// Returns the plan's id and whether it was created.
pub async fn create(
    tx: &mut crate::db::Tx,
    t: &Template,
    subject: &str,
    owner: &str,
    start: NaiveDate,
) -> eyre::Result<(i64, bool)> {
    let title = format!("{} {subject}", t.title);
    if let Some(id) = sqlx::query_scalar::<_, i64>(
        "SELECT id FROM success_plans WHERE customer_legacy_id = $1 AND kind = $2 AND title = $3",
    )
    .bind(subject.to_string())
    .bind(t.kind.clone())
    .bind(title.clone())
    .fetch_optional(&mut **tx)
    .await?
    {
        return Ok((id, false));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO success_plans (customer_legacy_id, kind, status, owner, title, created_at)
         VALUES ($1, $2, 'active', $3, $4, $5) RETURNING id",
    )
    .bind(subject.to_string())
    .bind(t.kind.clone())
    .bind(owner.to_string())
    .bind(title)
    .bind(clock::now())
    .fetch_one(&mut **tx)
    .await?;
    let mut qb = crate::db::Builder::on(
        crate::db::Backend::of_conn(tx),
        "INSERT INTO milestones (plan_id, seq, title, owner, priority, due_on, status) ",
    );
    qb.push_values(t.milestone.iter().enumerate(), |mut b, (k, m)| {
        b.push_bind(id)
            .push_bind(k as i64 + 1)
            .push_bind(m.title.clone())
            .push_bind(owner.to_string())
            .push_bind(m.priority.clone())
            .push_bind(
                (start + Duration::days(m.due_days))
                    .format("%Y-%m-%d")
                    .to_string(),
            )
            .push_bind("pending");
    });
    qb.build().execute(&mut **tx).await?;
    Ok((id, true))
}

/// Opens (or finds) the recovery plan for customer `legacy_id`, owned by `actor`, starting
/// today. Errors: no such customer.
pub async fn open_recovery(ctx: &Ctx, legacy_id: &str, actor: &str) -> eyre::Result<(i64, bool)> {
    ctx.require_as(actor, Action::EditPlan, &format!("customer {legacy_id}"))
        .await?;
    let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE legacy_id = $1")
        .bind(legacy_id.to_string())
        .fetch_one(&ctx.state)
        .await?;
    if known == 0 {
        eyre::bail!("customer {legacy_id}: no such legacy id in the plan");
    }
    let t = template("recovery")?;
    let mut tx = write_tx(&ctx.state).await?;
    let (id, created) = create(
        &mut tx,
        &t,
        legacy_id,
        actor,
        chrono::Utc::now().date_naive(),
    )
    .await?;
    if created {
        let scope = format!("customer {legacy_id}");
        ctx.audit_as(
            &mut tx,
            actor,
            "recovery plan opened",
            &scope,
            "",
            &format!("plan {id}"),
        )
        .await?;
    }
    tx.commit().await?;
    Ok((id, created))
}

/// Milestone statuses an operator may set.
pub const SETTABLE: [&str; 4] = ["pending", "in_progress", "completed", "cancelled"];

/// Sets a milestone's status, or its owner when `owner` is given; completes the plan when its
/// last open milestone completes. Errors: no such milestone, or a status not in [`SETTABLE`].
pub async fn update_milestone(
    ctx: &Ctx,
    id: i64,
    status: Option<&str>,
    owner: Option<&str>,
    actor: &str,
) -> eyre::Result<String> {
    ctx.require_as(actor, Action::EditPlan, &format!("milestone {id}"))
        .await?;
    if let Some(s) = status.filter(|s| !SETTABLE.contains(s)) {
        eyre::bail!(
            "milestone status `{s}` is not one of {}",
            SETTABLE.join(", ")
        );
    }
    let mut tx = write_tx(&ctx.state).await?;
    let Some(r) = sqlx::query("SELECT plan_id, title FROM milestones WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        eyre::bail!("milestone {id}: no such milestone");
    };
    let (plan, title): (i64, String) = (r.try_get(0)?, r.try_get(1)?);
    let detail = match (status, owner) {
        (Some(s), _) => {
            sqlx::query("UPDATE milestones SET status = $1 WHERE id = $2")
                .bind(s.to_string())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            format!("{title}: {s}")
        }
        (None, Some(o)) => {
            sqlx::query("UPDATE milestones SET owner = $1 WHERE id = $2")
                .bind(o.to_string())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            format!("{title}: reassigned to {o}")
        }
        (None, None) => eyre::bail!("nothing to change on milestone {id}"),
    };
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM milestones WHERE plan_id = $1 AND status NOT IN ('completed', 'cancelled')",
    )
    .bind(plan)
    .fetch_one(&mut *tx)
    .await?;
    let new_status = if open == 0 { "completed" } else { "active" };
    sqlx::query(
        "UPDATE success_plans SET status = $1 WHERE id = $2 AND status IN ('active', 'completed')",
    )
    .bind(new_status)
    .bind(plan)
    .execute(&mut *tx)
    .await?;
    ctx.audit_as(
        &mut tx,
        actor,
        "milestone updated",
        &format!("plan {plan}"),
        "",
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(format!("plan {plan}: {detail}"))
}

/// One milestone as the plan view shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Milestone {
    pub id: i64,
    pub seq: i64,
    pub title: String,
    pub owner: String,
    pub priority: String,
    pub due_on: String,
    /// As stored, except a pending or in-progress milestone past its due date reads `overdue`.
    pub status: String,
}

/// A plan with its milestones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanDetail {
    pub id: i64,
    pub subject: String,
    pub title: String,
    pub kind: String,
    pub status: String,
    pub owner: String,
    pub milestones: Vec<Milestone>,
}

/// Reads a plan; milestones past due on `as_of` and not done read `overdue`.
pub async fn detail(
    state: &crate::db::Pool,
    id: i64,
    as_of: &str,
) -> eyre::Result<Option<PlanDetail>> {
    let Some(p) = sqlx::query(
        "SELECT customer_legacy_id, title, kind, status, owner FROM success_plans WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(state)
    .await?
    else {
        return Ok(None);
    };
    let milestones = sqlx::query(
        "SELECT id, seq, title, owner, priority, due_on,
                CASE WHEN status IN ('pending', 'in_progress') AND due_on < $1 THEN 'overdue' ELSE status END
         FROM milestones WHERE plan_id = $2 ORDER BY seq",
    )
    .bind(as_of.to_string())
    .bind(id)
    .fetch_all(state)
    .await?
    .iter()
    .map(|r| {
        Ok(Milestone {
            id: r.try_get(0)?,
            seq: r.try_get(1)?,
            title: r.try_get(2)?,
            owner: r.try_get(3)?,
            priority: r.try_get(4)?,
            due_on: r.try_get(5)?,
            status: r.try_get(6)?,
        })
    })
    .collect::<sqlx::Result<_>>()?;
    Ok(Some(PlanDetail {
        id,
        subject: p.try_get(0)?,
        title: p.try_get(1)?,
        kind: p.try_get(2)?,
        status: p.try_get(3)?,
        owner: p.try_get(4)?,
        milestones,
    }))
}

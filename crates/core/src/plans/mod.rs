//! Success plans (brief section 2): plans and milestones from templates in `assets/templates/`,
//! milestone status and owners, and the recovery plan a CSM opens for a customer in trouble.
//! Every change writes one audit row in its transaction.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::clock;
use crate::ctx::Ctx;
use crate::db::write_tx;
use crate::roles::Action;

/// A plan template: a kind, a title, and milestones due some days after the plan starts.
#[derive(Debug, Clone, Deserialize)]
pub struct Template {
    /// Its kind.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// The milestones.
    pub milestone: Vec<TemplateMilestone>,
}

/// A milestone of a plan template.
#[derive(Debug, Clone, Deserialize)]
pub struct TemplateMilestone {
    /// Its title.
    pub title: String,
    /// Days after the plan starts that it is due.
    pub due_days: i64,
    /// Priority (1 first).
    pub priority: String,
}

/// The templates shipped in `assets/templates/`: onboarding, recovery, expansion (growth),
/// migration (per wave).
pub fn template(name: &str) -> eyre::Result<Template> {
    let text = match name {
        "onboarding" => include_str!("../../assets/templates/onboarding.toml"),
        "recovery" => include_str!("../../assets/templates/recovery.toml"),
        "expansion" => include_str!("../../assets/templates/expansion.toml"),
        "migration" => include_str!("../../assets/templates/migration.toml"),
        other => {
            eyre::bail!("no plan template `{other}` (onboarding, recovery, expansion, migration)")
        }
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
    open_plan(ctx, legacy_id, actor, "recovery").await
}

/// Opens (or finds) a plan from the shipped `template` (`recovery` for a customer in trouble,
/// `expansion` for an opportunity) for customer `legacy_id`, owned by `actor`, starting today,
/// with an audit row `<kind> plan opened`. Returns the plan's id and whether it was created.
///
/// Errors: the operator may not edit plans; no such customer or template.
pub async fn open_plan(
    ctx: &Ctx,
    legacy_id: &str,
    actor: &str,
    template_name: &str,
) -> eyre::Result<(i64, bool)> {
    ctx.require_as(actor, Action::EditPlan, &format!("customer {legacy_id}"))
        .await?;
    let known: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE legacy_id = $1")
        .bind(legacy_id.to_string())
        .fetch_one(&ctx.state)
        .await?;
    if known == 0 {
        eyre::bail!("customer {legacy_id}: no such legacy id in the plan");
    }
    let t = template(template_name)?;
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
            &format!("{} plan opened", t.kind),
            &scope,
            "",
            &format!("plan {id}"),
        )
        .await?;
    }
    tx.commit().await?;
    Ok((id, created))
}

/// A milestone's status (brief section 2, "Success plans"). `Overdue` is also what a pending or
/// in-progress milestone past its due date reads as ([`detail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MilestoneStatus {
    /// Not started.
    Pending,
    /// Being worked on.
    InProgress,
    /// Done.
    Completed,
    /// Past its due date.
    Overdue,
    /// Cancelled.
    Cancelled,
}

impl MilestoneStatus {
    /// Every status.
    pub const ALL: [MilestoneStatus; 5] = [
        MilestoneStatus::Pending,
        MilestoneStatus::InProgress,
        MilestoneStatus::Completed,
        MilestoneStatus::Overdue,
        MilestoneStatus::Cancelled,
    ];

    /// The status as the state stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            MilestoneStatus::Pending => "pending",
            MilestoneStatus::InProgress => "in_progress",
            MilestoneStatus::Completed => "completed",
            MilestoneStatus::Overdue => "overdue",
            MilestoneStatus::Cancelled => "cancelled",
        }
    }

    /// The status named `s`, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A status equals its stored name (`status == "completed"`).
impl PartialEq<&str> for MilestoneStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl TryFrom<String> for MilestoneStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("`{s}` is not a milestone status"))
    }
}

/// A success plan's status (brief section 2, "Success plans").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Not started.
    Draft,
    /// In progress.
    Active,
    /// Done.
    Completed,
    /// Paused.
    OnHold,
    /// Cancelled.
    Cancelled,
}

impl PlanStatus {
    /// Every status.
    pub const ALL: [PlanStatus; 5] = [
        PlanStatus::Draft,
        PlanStatus::Active,
        PlanStatus::Completed,
        PlanStatus::OnHold,
        PlanStatus::Cancelled,
    ];

    /// The status as the state stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Draft => "draft",
            PlanStatus::Active => "active",
            PlanStatus::Completed => "completed",
            PlanStatus::OnHold => "on_hold",
            PlanStatus::Cancelled => "cancelled",
        }
    }

    /// The status named `s`, if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A status equals its stored name (`status == "completed"`).
impl PartialEq<&str> for PlanStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl TryFrom<String> for PlanStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("`{s}` is not a plan status"))
    }
}

/// Milestone statuses an operator may set (overdue is read from the due date, not set).
pub const SETTABLE: [MilestoneStatus; 4] = [
    MilestoneStatus::Pending,
    MilestoneStatus::InProgress,
    MilestoneStatus::Completed,
    MilestoneStatus::Cancelled,
];

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
    let status = match status {
        None => None,
        Some(s) => match MilestoneStatus::parse(s).filter(|m| SETTABLE.contains(m)) {
            Some(m) => Some(m),
            None => eyre::bail!(
                "milestone status `{s}` is not one of {}",
                SETTABLE.map(MilestoneStatus::as_str).join(", ")
            ),
        },
    };
    let mut tx = write_tx(&ctx.state).await?;
    #[derive(sqlx::FromRow)]
    struct Of {
        plan_id: i64,
        title: String,
    }
    let Some(Of {
        plan_id: plan,
        title,
    }) = sqlx::query_as::<_, Of>("SELECT plan_id, title FROM milestones WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        eyre::bail!("milestone {id}: no such milestone");
    };
    let detail = match (status, owner) {
        (Some(s), _) => {
            let s = s.as_str();
            // Cleared again when a completed milestone is reopened.
            sqlx::query(
                "UPDATE milestones SET status = $1,
                 completed_at = CASE WHEN $1 = 'completed' THEN COALESCE(completed_at, $3) END
                 WHERE id = $2",
            )
            .bind(s)
            .bind(id)
            .bind(clock::now())
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
    let new_status = if open == 0 {
        PlanStatus::Completed
    } else {
        PlanStatus::Active
    };
    sqlx::query(
        "UPDATE success_plans SET status = $1 WHERE id = $2 AND status IN ('active', 'completed')",
    )
    .bind(new_status.as_str())
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
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Milestone {
    /// Its id.
    pub id: i64,
    /// Its place in order.
    pub seq: i64,
    /// Its title.
    pub title: String,
    /// Who owns it.
    pub owner: String,
    /// Priority (1 first).
    pub priority: String,
    /// Due date (`YYYY-MM-DD`).
    pub due_on: String,
    /// As stored, except a pending or in-progress milestone past its due date reads `overdue`.
    #[sqlx(try_from = "String")]
    pub status: MilestoneStatus,
}

/// A plan with its milestones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanDetail {
    /// Its id.
    pub id: i64,
    /// What the plan is for (a customer's legacy id, or `wave:<segment>`).
    pub subject: String,
    /// Its title.
    pub title: String,
    /// Its kind.
    pub kind: String,
    /// Its status.
    pub status: PlanStatus,
    /// Who owns it.
    pub owner: String,
    /// Milestones.
    pub milestones: Vec<Milestone>,
}

/// Reads a plan; milestones past due on `as_of` and not done read `overdue`.
pub async fn detail(
    state: &crate::db::Pool,
    id: i64,
    as_of: &str,
) -> eyre::Result<Option<PlanDetail>> {
    #[derive(sqlx::FromRow)]
    struct Plan {
        customer_legacy_id: String,
        title: String,
        kind: String,
        #[sqlx(try_from = "String")]
        status: PlanStatus,
        owner: String,
    }
    let Some(p) = sqlx::query_as::<_, Plan>(
        "SELECT customer_legacy_id, title, kind, status, owner FROM success_plans WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(state)
    .await?
    else {
        return Ok(None);
    };
    let milestones = sqlx::query_as(
        "SELECT id, seq, title, owner, priority, due_on,
                CASE WHEN status IN ('pending', 'in_progress') AND due_on < $1 THEN 'overdue' ELSE status END
                  AS status
         FROM milestones WHERE plan_id = $2 ORDER BY seq",
    )
    .bind(as_of.to_string())
    .bind(id)
    .fetch_all(state)
    .await?;
    Ok(Some(PlanDetail {
        id,
        subject: p.customer_legacy_id,
        title: p.title,
        kind: p.kind,
        status: p.status,
        owner: p.owner,
        milestones,
    }))
}

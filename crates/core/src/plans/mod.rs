//! Success plans (brief section 2): plans and milestones from templates in `assets/templates/`,
//! milestone status and owners, the plan's own status (draft → active → on hold / completed /
//! cancelled), the plan a CSM opens for a customer, and (`auto`) plans opened on engine
//! events and milestones completed by engine facts. Every change writes its audit rows in its
//! transaction.

pub mod auto;

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
    /// An engine fact that completes it by itself (`config::plans::Fact`: `wave_done`,
    /// `customer_migrated`, `health_above:80`, …).
    pub completes_when: Option<String>,
}

impl Template {
    /// The onboarding template stretched or shrunk to a tier's onboarding length
    /// (`[[tier]] onboarding_days`): each due day scaled so the last milestone falls on the
    /// last day. Other kinds, or no length, are as they are.
    pub fn for_length(mut self, days: Option<i64>) -> Self {
        let last = self.milestone.iter().map(|m| m.due_days).max().unwrap_or(0);
        if let Some(d) = days
            && self.kind == "onboarding"
            && last > 0
        {
            for m in &mut self.milestone {
                m.due_days = (m.due_days * d + last / 2) / last;
            }
        }
        self
    }
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
    create_as(tx, t, subject, owner, start, PlanStatus::Active).await
}

/// [`create`], the plan starting in `status` (a plan drafted first is `draft`).
pub async fn create_as(
    tx: &mut crate::db::Tx,
    t: &Template,
    subject: &str,
    owner: &str,
    start: NaiveDate,
    status: PlanStatus,
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
        "INSERT INTO success_plans (customer_legacy_id, kind, status, owner, title, created_at, updated_at)
         VALUES ($1, $2, $6, $3, $4, $5, $5) RETURNING id",
    )
    .bind(subject.to_string())
    .bind(t.kind.clone())
    .bind(owner.to_string())
    .bind(title)
    .bind(clock::now())
    .bind(status.as_str())
    .fetch_one(&mut **tx)
    .await?;
    let mut qb = crate::db::Builder::on(
        crate::db::Backend::of_conn(tx),
        "INSERT INTO milestones (plan_id, seq, title, owner, priority, due_on, status, completes_when) ",
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
            .push_bind("pending")
            .push_bind(m.completes_when.clone());
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
/// active. See [`open`].
pub async fn open_plan(
    ctx: &Ctx,
    legacy_id: &str,
    actor: &str,
    template_name: &str,
) -> eyre::Result<(i64, bool)> {
    open(
        ctx,
        &NewPlan {
            customer: legacy_id,
            template: template_name,
            owner: Some(actor),
            draft: false,
        },
        actor,
    )
    .await
}

/// What `cutover plans new` and the console's template picker ask for.
#[derive(Debug, Clone, Copy)]
pub struct NewPlan<'a> {
    /// The customer's legacy id.
    pub customer: &'a str,
    /// One of `config::plans::CUSTOMER_TEMPLATES`.
    pub template: &'a str,
    /// Its owner; default the customer's owning CSM, else the operator.
    pub owner: Option<&'a str>,
    /// Start as a draft instead of active.
    pub draft: bool,
}

/// Opens (or finds: one plan per customer, kind and title) a plan as `actor` starting today,
/// an onboarding one as long as the customer's tier's onboarding (`[[tier]]
/// onboarding_days`), with an audit row `<kind> plan opened`. Returns the plan's id and
/// whether it was created.
///
/// Errors: the operator may not edit plans; no such customer; no such template.
pub async fn open(ctx: &Ctx, new: &NewPlan<'_>, actor: &str) -> eyre::Result<(i64, bool)> {
    let legacy_id = new.customer;
    ctx.require_as(actor, Action::EditPlan, &format!("customer {legacy_id}"))
        .await?;
    if !crate::config::plans::CUSTOMER_TEMPLATES.contains(&new.template) {
        eyre::bail!(
            "no customer plan template `{}` ({})",
            new.template,
            crate::config::plans::CUSTOMER_TEMPLATES.join(", ")
        );
    }
    let Some((tier, owner)) = sqlx::query_as::<_, (Option<String>, Option<String>)>(
        "SELECT tier, owner FROM customers WHERE legacy_id = $1",
    )
    .bind(legacy_id.to_string())
    .fetch_optional(&ctx.state)
    .await?
    else {
        eyre::bail!("customer {legacy_id}: no such legacy id in the plan");
    };
    let length = tier
        .as_deref()
        .and_then(|t| ctx.cfg.tier(t))
        .map(|t| t.onboarding_days);
    let t = template(new.template)?.for_length(length);
    let owner = new
        .owner
        .map(str::to_string)
        .or(owner)
        .unwrap_or_else(|| actor.to_string());
    let status = if new.draft {
        PlanStatus::Draft
    } else {
        PlanStatus::Active
    };
    let mut tx = write_tx(&ctx.state).await?;
    let (id, created) = create_as(
        &mut tx,
        &t,
        legacy_id,
        &owner,
        chrono::Utc::now().date_naive(),
        status,
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
            &format!("plan {id} ({}, owner {owner})", status.as_str()),
        )
        .await?;
    }
    tx.commit().await?;
    Ok((id, created))
}

/// Whether a plan may go from `from` to `to` (brief section 2: draft, active, completed, on
/// hold, cancelled): a draft is activated or dropped; an active plan is held, completed or
/// cancelled; a held one resumes or is cancelled; a completed one may be reopened. Cancelled
/// is final.
pub fn may_move(from: PlanStatus, to: PlanStatus) -> bool {
    use PlanStatus::*;
    matches!(
        (from, to),
        (Draft, Active | Cancelled)
            | (Active, OnHold | Completed | Cancelled)
            | (OnHold, Active | Cancelled)
            | (Completed, Active)
    )
}

/// Moves plan `id` to `to` as `actor`, with an audit row `plan <status>` giving the move and
/// `reason`. Returns what was done, in words.
///
/// Errors: the operator may not edit plans; no such plan; a move [`may_move`] refuses (the
/// message names the moves there are).
pub async fn set_status(
    ctx: &Ctx,
    id: i64,
    to: PlanStatus,
    reason: &str,
    actor: &str,
) -> eyre::Result<String> {
    ctx.require_as(actor, Action::EditPlan, &format!("plan {id}"))
        .await?;
    let mut tx = write_tx(&ctx.state).await?;
    let Some(from) =
        sqlx::query_scalar::<_, String>("SELECT status FROM success_plans WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
    else {
        eyre::bail!("plan {id}: no such plan");
    };
    let from = PlanStatus::parse(&from).ok_or_else(|| eyre::eyre!("plan {id}: status `{from}`"))?;
    if from == to {
        return Ok(format!("plan {id} is already {}", to.as_str()));
    }
    if !may_move(from, to) {
        let there: Vec<&str> = PlanStatus::ALL
            .into_iter()
            .filter(|s| may_move(from, *s))
            .map(PlanStatus::as_str)
            .collect();
        eyre::bail!(
            "plan {id} is {}: it cannot become {} ({})",
            from.as_str(),
            to.as_str(),
            if there.is_empty() {
                "a cancelled plan stays cancelled".to_string()
            } else {
                format!("it can become {}", there.join(" or "))
            }
        );
    }
    sqlx::query("UPDATE success_plans SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(to.as_str())
        .bind(clock::now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let detail = format!("{} -> {}", from.as_str(), to.as_str());
    ctx.audit_as(
        &mut tx,
        actor,
        &format!("plan {}", to.as_str()),
        &format!("plan {id}"),
        reason,
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(format!("plan {id}: {detail}"))
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
        "UPDATE success_plans SET status = $1, updated_at = $3 WHERE id = $2 AND status IN ('active', 'completed') AND status <> $1",
    )
    .bind(new_status.as_str())
    .bind(plan)
    .bind(clock::now())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_template_reads_and_binds_only_known_facts() {
        for name in ["onboarding", "recovery", "expansion", "migration"] {
            let t = template(name).unwrap();
            assert!(!t.milestone.is_empty(), "{name}");
            for m in &t.milestone {
                if let Some(f) = &m.completes_when {
                    crate::config::plans::Fact::parse(f).unwrap();
                }
            }
        }
        assert_eq!(
            template("migration").unwrap().milestone[2]
                .completes_when
                .as_deref(),
            Some("wave_done")
        );
    }

    #[test]
    fn an_onboarding_follows_its_tiers_length_and_others_do_not_move() {
        let due = |t: Template| t.milestone.iter().map(|m| m.due_days).collect::<Vec<_>>();
        let on = || template("onboarding").unwrap();
        assert_eq!(due(on().for_length(None)), [7, 14, 28, 35, 90]);
        assert_eq!(due(on().for_length(Some(45))), [4, 7, 14, 18, 45]);
        assert_eq!(due(on().for_length(Some(90))), [7, 14, 28, 35, 90]);
        let rec = due(template("recovery").unwrap());
        assert_eq!(due(template("recovery").unwrap().for_length(Some(10))), rec);
    }

    #[test]
    fn plan_status_moves_follow_the_lifecycle() {
        use PlanStatus::*;
        assert!(may_move(Draft, Active));
        assert!(may_move(Active, OnHold) && may_move(OnHold, Active));
        assert!(may_move(Active, Completed) && may_move(Completed, Active));
        assert!(!may_move(Draft, Completed));
        assert!(!may_move(Cancelled, Active));
        assert!(!may_move(OnHold, Completed));
    }
}

//! Who may do what. Roles are assigned to OS users in the config's `[roles]` table; users it
//! does not list get `roles.default` (`viewer` unless the workspace says otherwise).
//!
//! The engine checks the role before it opens the action's transaction, so a refused action
//! changes nothing; the refusal itself is recorded, one audit row with the result `refused`,
//! so attempts are visible. The console greys out what it would refuse, but the check that
//! counts is the engine's.
//!
//! Who the operator is comes from the OS (the uid's name) on a SQLite state and from the
//! database's authenticated login on a PostgreSQL state (`engine::identity`), never from an
//! environment variable.
//!
//! The matrix (issue "PostgreSQL, many operators at once, roles and audit"):
//!
//! | action                                  | viewer | csm | migrator | oncall | admin |
//! |-----------------------------------------|--------|-----|----------|--------|-------|
//! | triage alerts (ack, escalate, resolve, snooze, own) | | ✓ |       |        | ✓     |
//! | edit success plans (milestones, recovery plan)      | | ✓ |       |        | ✓     |
//! | plan, start or resume the runner, pause             | |   | ✓     |        | ✓     |
//! | roll back, halt, release a halt                     | |   |       | ✓      | ✓     |
//!
//! On-call may also pause, since a pause is the gentler halt. Reading (the console, `status`,
//! `report`, `validate`) needs no role.

use serde::Deserialize;

/// The actor of what the console and the runner do on their own (timed escalation, alert
/// evaluation): not an operator, so it needs no role; its audit rows say `system`.
pub const SYSTEM: &str = "cutover";

/// An operator's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Looks only.
    Viewer,
    /// Customer success manager.
    Csm,
    /// Migration team.
    Migrator,
    /// On-call engineer.
    Oncall,
    /// Everything.
    Admin,
}

impl Role {
    /// Every value, in order.
    pub const ALL: [Role; 5] = [
        Role::Viewer,
        Role::Csm,
        Role::Migrator,
        Role::Oncall,
        Role::Admin,
    ];

    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Csm => "csm",
            Role::Migrator => "migrator",
            Role::Oncall => "oncall",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do `action`.
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Admin => true,
            Role::Viewer => false,
            Role::Csm => matches!(action, TriageAlert | EditPlan),
            Role::Migrator => matches!(action, Plan | Start | Pause),
            Role::Oncall => matches!(action, Rollback | Halt | Release | Pause),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A write action an operator can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Acknowledge, escalate, resolve, snooze or take an alert.
    TriageAlert,
    /// Change a milestone, or open a recovery plan.
    EditPlan,
    /// `cutover plan`.
    Plan,
    /// Start the runner (or resume it from a pause).
    Start,
    /// Pause the runner.
    Pause,
    /// Roll back a customer, a batch or everything.
    Rollback,
    /// Halt everything.
    Halt,
    /// Resume from a halt.
    Release,
}

impl Action {
    /// Every value, in order.
    pub const ALL: [Action; 8] = [
        Action::TriageAlert,
        Action::EditPlan,
        Action::Plan,
        Action::Start,
        Action::Pause,
        Action::Rollback,
        Action::Halt,
        Action::Release,
    ];

    /// `rollback`, `triage_alert`: the action's name in audit rows of refusals.
    pub fn name(self) -> &'static str {
        match self {
            Action::TriageAlert => "triage_alert",
            Action::EditPlan => "edit_plan",
            Action::Plan => "plan",
            Action::Start => "start",
            Action::Pause => "pause",
            Action::Rollback => "rollback",
            Action::Halt => "halt",
            Action::Release => "release",
        }
    }

    /// "roll back", "triage alerts": for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Action::TriageAlert => "triage alerts",
            Action::EditPlan => "edit success plans",
            Action::Plan => "plan",
            Action::Start => "start the runner",
            Action::Pause => "pause the runner",
            Action::Rollback => "roll back",
            Action::Halt => "halt",
            Action::Release => "release a halt",
        }
    }

    /// The roles that may do this, for the refusal message.
    pub fn roles(self) -> Vec<&'static str> {
        Role::ALL
            .into_iter()
            .filter(|r| r.may(self))
            .map(Role::as_str)
            .collect()
    }
}

/// `[roles]`: role per OS user.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// The role of users not listed below. Default: viewer.
    #[serde(default)]
    pub default: Option<Role>,
    /// Operators who may do everything.
    #[serde(default)]
    pub admin: Vec<String>,
    /// On-call engineers: roll back and halt.
    #[serde(default)]
    pub oncall: Vec<String>,
    /// Operators who plan, start and pause.
    #[serde(default)]
    pub migrator: Vec<String>,
    /// Customer success managers: triage alerts, edit plans.
    #[serde(default)]
    pub csm: Vec<String>,
    /// Operators who only look.
    #[serde(default)]
    pub viewer: Vec<String>,
}

impl Roles {
    /// The role of OS user `user`: the highest role that lists them, else `default`.
    pub fn role_of(&self, user: &str) -> Role {
        let listed = |v: &[String]| v.iter().any(|u| u == user);
        [
            (Role::Admin, &self.admin),
            (Role::Oncall, &self.oncall),
            (Role::Migrator, &self.migrator),
            (Role::Csm, &self.csm),
            (Role::Viewer, &self.viewer),
        ]
        .into_iter()
        .find(|(_, v)| listed(v))
        .map(|(r, _)| r)
        .unwrap_or(self.default.unwrap_or(Role::Viewer))
    }

    /// Checks that `user` may do `action`.
    ///
    /// Errors: [`Denied`], naming the user, their role and the roles that may.
    pub fn require(&self, user: &str, action: Action) -> Result<Role, Denied> {
        let role = self.role_of(user);
        if role.may(action) {
            Ok(role)
        } else {
            Err(Denied {
                user: user.to_string(),
                role,
                action,
            })
        }
    }
}

/// An action refused for the operator's role.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "refused: {user} is {role}, and to {} needs {} (roles are assigned in the config's [roles] table)",
    action.describe(),
    action.roles().join(" or ")
)]
pub struct Denied {
    /// The operator.
    pub user: String,
    /// The role.
    pub role: Role,
    /// What was done.
    pub action: Action,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_users_are_viewers_and_the_highest_listing_wins() {
        let r = Roles {
            csm: vec!["amara".into()],
            oncall: vec!["amara".into(), "kofi".into()],
            ..Default::default()
        };
        assert_eq!(r.role_of("amara"), Role::Oncall);
        assert_eq!(r.role_of("stranger"), Role::Viewer);
        let e = r.require("stranger", Action::Rollback).unwrap_err();
        assert_eq!(
            e.to_string(),
            "refused: stranger is viewer, and to roll back needs oncall or admin (roles are assigned in the config's [roles] table)"
        );
    }
}

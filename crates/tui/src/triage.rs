//! Triage from the console: alert actions (acknowledge, escalate, resolve, snooze, own, open
//! a recovery plan) and the plan view's milestone actions, with the one-line text input some of
//! them ask for. A second `impl App`, kept apart from navigation and drawing.

use super::app::{App, Command, Confirm, InputFor, Mode, Tone};
use super::keymap::Action;
use super::panes::PaneId;

impl App {
    /// The selected alert's id, when the Alerts pane has the focus.
    pub(super) fn selected_alert(&self) -> Option<i64> {
        if self.focus != PaneId::Alerts || !matches!(self.mode, Mode::Normal) {
            return None;
        }
        let s = self.snap.as_ref()?;
        s.alerts
            .get(self.lists[PaneId::Alerts.index()].selected)
            .map(|a| a.id)
    }

    pub(super) fn on_alert_action(&mut self, a: Action) -> Vec<Command> {
        use cutover_core::alerts::Act;
        let Some(id) = self.selected_alert() else {
            self.message = Some(("select an alert in the Alerts pane first".into(), Tone::Bad));
            return vec![];
        };
        let input = |prompt: &str, purpose| Mode::Input {
            prompt: prompt.into(),
            text: String::new(),
            purpose,
            error: None,
        };
        match a {
            Action::Recovery => {
                let alert = self
                    .snap
                    .as_ref()
                    .and_then(|s| s.alerts.iter().find(|x| x.id == id));
                return alert
                    .map(|x| {
                        if self.opportunities.contains(&x.rule) {
                            Command::OpenGrowth(x.legacy_id.clone())
                        } else {
                            Command::OpenRecovery(x.legacy_id.clone())
                        }
                    })
                    .into_iter()
                    .collect();
            }
            Action::Acknowledge => return vec![Command::AlertAct(id, Act::Acknowledge)],
            Action::Own => return vec![Command::AlertAct(id, Act::TakeOwnership)],
            Action::Escalate => {
                self.mode = input(
                    &format!("escalate alert {id}: note"),
                    InputFor::EscalateNote(id),
                )
            }
            Action::Resolve => {
                self.mode = input(
                    &format!("resolve alert {id}: note"),
                    InputFor::ResolveNote(id),
                )
            }
            Action::Snooze => {
                self.mode = input(
                    &format!(
                        "snooze alert {id}: duration and reason (e.g. 4h waiting on the customer)"
                    ),
                    InputFor::Snooze(id),
                )
            }
            _ => {}
        }
        vec![]
    }

    pub(super) fn on_input(&mut self, a: Action) -> Vec<Command> {
        use cutover_core::alerts::Act;
        let Mode::Input {
            prompt,
            mut text,
            purpose,
            ..
        } = self.mode.clone()
        else {
            return vec![];
        };
        match a {
            Action::Cancel => {
                self.mode = match (purpose, self.plan_id) {
                    (InputFor::Reassign(_), Some(p)) => Mode::Plan(p),
                    _ => Mode::Normal,
                };
                return vec![];
            }
            Action::DeleteChar => {
                text.pop();
            }
            Action::Type(c) => text.push(c),
            Action::Submit => {
                let note = text.trim().to_string();
                let act = match purpose {
                    InputFor::EscalateNote(id) | InputFor::ResolveNote(id) if note.is_empty() => {
                        Err(("a note is required".to_string(), id))
                    }
                    InputFor::Reassign(m) if note.is_empty() => {
                        Err(("give the new owner".to_string(), m))
                    }
                    InputFor::Reassign(m) => {
                        self.mode = Mode::Plan(self.plan_id.unwrap_or_default());
                        return vec![Command::Milestone(m, None, Some(note))];
                    }
                    InputFor::EscalateNote(id) => Ok((id, Act::Escalate(note))),
                    InputFor::ResolveNote(id) => Ok((id, Act::Resolve(note))),
                    InputFor::Snooze(id) => match parse_snooze(&note) {
                        Some((until, reason)) => Ok((id, Act::Snooze(until, reason))),
                        None => Err(("give a duration (30m, 4h, 2d) and a reason".to_string(), id)),
                    },
                };
                match act {
                    Ok((id, act)) => {
                        self.mode = Mode::Normal;
                        return vec![Command::AlertAct(id, act)];
                    }
                    Err((e, _)) => {
                        self.mode = Mode::Input {
                            prompt,
                            text,
                            purpose,
                            error: Some(e),
                        };
                        return vec![];
                    }
                }
            }
            _ => {}
        }
        self.mode = Mode::Input {
            prompt,
            text,
            purpose,
            error: None,
        };
        vec![]
    }

    /// The plan's milestones the filter lets through (title, owner, priority or status), in
    /// the order shown: overdue first, then by due date.
    pub fn visible_milestones(&self) -> Vec<&cutover_core::plans::Milestone> {
        let f = self.plan_filter.to_lowercase();
        self.plan.as_ref().map_or_else(Vec::new, |p| {
            p.milestones
                .iter()
                .filter(|m| {
                    f.is_empty()
                        || [
                            m.title.as_str(),
                            m.owner.as_str(),
                            m.priority.as_str(),
                            m.status.as_str(),
                        ]
                        .iter()
                        .any(|x| x.to_lowercase().contains(&f))
                })
                .collect()
        })
    }

    /// Keys of the plan view: move among milestones, mark one done or in progress, reassign it.
    pub(super) fn on_plan_action(&mut self, a: Action) -> Vec<Command> {
        let shown = self.visible_milestones();
        let n = shown.len();
        let selected = shown.get(self.plan_sel).map(|m| m.id);
        match (a, selected) {
            (Action::Up, _) => self.plan_sel = self.plan_sel.saturating_sub(1),
            (Action::Down, _) => self.plan_sel = (self.plan_sel + 1).min(n.saturating_sub(1)),
            (Action::MilestoneDone, Some(m)) => {
                return vec![Command::Milestone(m, Some("completed".into()), None)];
            }
            (Action::MilestoneStarted, Some(m)) => {
                return vec![Command::Milestone(m, Some("in_progress".into()), None)];
            }
            (Action::Reassign, Some(m)) => {
                self.mode = Mode::Input {
                    prompt: format!("reassign milestone {m} to"),
                    text: String::new(),
                    purpose: InputFor::Reassign(m),
                    error: None,
                }
            }
            (Action::MilestoneDone | Action::MilestoneStarted | Action::Reassign, None) => {
                self.message = Some(("no milestone selected".into(), Tone::Bad));
            }
            _ => {}
        }
        vec![]
    }

    /// Opens the plan view on plan `id` (after Enter on a plan, or a new recovery plan).
    pub fn open_plan(&mut self, id: i64) -> Vec<Command> {
        self.mode = Mode::Plan(id);
        self.plan_filter.clear();
        self.plan_id = Some(id);
        self.plan = None;
        self.plan_sel = 0;
        vec![Command::LoadPlan(id)]
    }

    /// A plan read for the plan view; a late answer for another plan is dropped.
    pub fn on_plan(&mut self, p: Option<cutover_core::plans::PlanDetail>) {
        if let Mode::Plan(id) = self.mode
            && p.as_ref().is_none_or(|p| p.id == id)
        {
            if p.is_none() {
                self.message = Some((format!("plan {id} no longer exists"), Tone::Bad));
            }
            let mut p = p;
            if let Some(p) = &mut p {
                // Overdue first, then by due date: what needs doing comes first.
                p.milestones.sort_by(|a, b| {
                    let late = |m: &cutover_core::plans::Milestone| {
                        m.status != cutover_core::plans::MilestoneStatus::Overdue
                    };
                    (late(a), &a.due_on, a.seq).cmp(&(late(b), &b.due_on, b.seq))
                });
            }
            self.plan = p;
            let n = self.visible_milestones().len();
            self.plan_sel = self.plan_sel.min(n.saturating_sub(1));
        }
    }

    pub(super) fn selected_plan(&self) -> Option<i64> {
        let s = self.snap.as_ref()?;
        (self.focus == PaneId::Plans).then(|| {
            s.plans
                .get(self.lists[PaneId::Plans.index()].selected)
                .map(|p| p.id)
        })?
    }
}

/// "4h waiting on the customer" → (now + 4 h, "waiting on the customer"). Units m, h, d; the
/// reason is required.
pub fn parse_snooze(text: &str) -> Option<(chrono::DateTime<chrono::Utc>, String)> {
    let (dur, reason) = text.trim().split_once(' ')?;
    let reason = reason.trim();
    if reason.is_empty() {
        return None;
    }
    let (n, unit) = dur.split_at(dur.len().checked_sub(1)?);
    let n: i64 = n.parse().ok().filter(|n| *n > 0)?;
    let d = match unit {
        "m" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        _ => return None,
    };
    Some((chrono::Utc::now() + d, reason.to_string()))
}

impl App {
    /// Keys while typing a filter: Enter keeps it, Esc clears it; both leave the text mode.
    /// With a plan open the filter is the milestones', else the focused list's.
    pub(super) fn on_filter(&mut self, a: Action) -> Vec<Command> {
        let in_plan = self.plan_id.is_some() && self.plan.is_some();
        let f = if in_plan {
            &mut self.plan_filter
        } else {
            &mut self.filters[self.focus.index()]
        };
        match a {
            Action::Submit => {
                self.mode = self
                    .plan_id
                    .filter(|_| in_plan)
                    .map_or(Mode::Normal, Mode::Plan);
                return vec![];
            }
            Action::Cancel => {
                let had = !f.is_empty();
                f.clear();
                self.mode = self
                    .plan_id
                    .filter(|_| in_plan)
                    .map_or(Mode::Normal, Mode::Plan);
                if in_plan || !had {
                    return vec![];
                }
            }
            Action::DeleteChar => {
                f.pop();
            }
            Action::Type(c) => f.push(c),
            _ => return vec![],
        }
        if in_plan {
            self.plan_sel = 0;
            return vec![];
        }
        self.lists[self.focus.index()].selected = 0;
        self.view_changed()
    }

    pub(super) fn on_confirm(&mut self, mut c: Confirm, a: Action) -> Vec<Command> {
        let n = c.options.len();
        match a {
            Action::Cancel => {
                self.mode = Mode::Normal;
                return vec![];
            }
            Action::NextOption => c.focus = (c.focus + 1) % n,
            Action::PrevOption => c.focus = (c.focus + n - 1) % n,
            Action::DeleteChar => {
                c.typed.pop();
            }
            Action::Submit => {
                if c.focus == 0 {
                    self.mode = Mode::Normal;
                    self.message = Some(("cancelled".into(), Tone::Info));
                    return vec![];
                }
                let (label, cmd, needs) = c.options[c.focus].clone();
                if let Some(want) = needs
                    && c.typed.trim() != want
                {
                    c.error = Some(format!("type {want} to confirm “{label}”"));
                    self.mode = Mode::Confirm(c);
                    return vec![];
                }
                self.mode = Mode::Normal;
                self.message = Some((format!("{label}: working…"), Tone::Info));
                return vec![cmd];
            }
            Action::Type(ch) => c.typed.push(ch),
            _ => {}
        }
        self.mode = Mode::Confirm(c);
        vec![]
    }
}

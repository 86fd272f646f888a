//! The console's state and its reaction to keys. It owns its state; background work reaches it
//! only as messages (`on_snapshot`, `on_detail`, `on_message`), and it asks for work by
//! returning [`Command`]s, which the loop in `tui::run` carries out.

use std::cell::Cell as StdCell;
use std::sync::Arc;

use crossterm::event::KeyEvent;

use super::keymap::{self, Action, KeyMode};
use super::panes::{self, PaneId};
use super::theme::Theme;
use super::widgets::table::ListState;
use crate::snapshot::{Snapshot, View};
use cutover_core::engine::rollback::Scope as RollbackScope;
use cutover_core::engine::status::CustomerDetail;

/// The smallest terminal the console draws in.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// Rows PgUp/PgDn move.
const PAGE: isize = 10;

/// Work the console asks the loop to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Start,
    Pause,
    Halt,
    Rollback(RollbackScope),
    /// Read the blast radius of each scope for the open confirmation.
    LoadBlast(Vec<RollbackScope>),
    LoadCustomer(String),
    SetView(View),
    /// An operator action on an alert (by id).
    AlertAct(i64, cutover_core::alerts::Act),
    LoadPlan(i64),
    /// A milestone's new status or owner.
    Milestone(i64, Option<String>, Option<String>),
    /// Open (or find) the recovery plan of a customer (legacy id).
    OpenRecovery(String),
    /// Open (or find) the growth plan of a customer (legacy id), on an expansion opportunity.
    OpenGrowth(String),
    /// Open (or find) a plan from a template for a customer, owned by the customer's CSM.
    OpenPlan(String, &'static str),
    Quit,
}

/// A destructive action waiting for confirmation. Option 0 is always Cancel, and focused.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub title: String,
    /// (label, command, text the operator must type first)
    pub options: Vec<(String, Command, Option<String>)>,
    pub focus: usize,
    pub typed: String,
    pub error: Option<String>,
    /// Per option, what it would touch (lines of the blast radius), once read; an option
    /// without a rollback has none.
    pub radius: Vec<Option<Result<Vec<String>, String>>>,
}

impl Confirm {
    /// A confirmation of `options` (option 0 is Cancel), nothing read yet.
    pub fn new(title: String, options: Vec<(String, Command, Option<String>)>) -> Self {
        let n = options.len();
        Self {
            title,
            options,
            focus: 0,
            typed: String::new(),
            error: None,
            radius: vec![None; n],
        }
    }

    /// The rollback scopes among the options, for [`Command::LoadBlast`].
    pub fn scopes(&self) -> Vec<RollbackScope> {
        self.options
            .iter()
            .filter_map(|(_, c, _)| match c {
                Command::Rollback(s) => Some(s.clone()),
                _ => None,
            })
            .collect()
    }
}

/// What a line of text typed in [`Mode::Input`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFor {
    EscalateNote(i64),
    ResolveNote(i64),
    /// "<duration> <reason>", e.g. "4h waiting on the customer".
    Snooze(i64),
    /// A milestone's new owner.
    Reassign(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    /// Typing the focused list's filter (or, with a plan open, the milestones').
    Filter,
    /// The keys and commands, scrolled by [`App::help_scroll`].
    Help,
    /// The `:` command line: what is typed, the completions on offer, and an error.
    Command {
        text: String,
        shown: Vec<String>,
        error: Option<String>,
    },
    Confirm(Confirm),
    Customer(String),
    /// The plan view, on a plan id.
    Plan(i64),
    Input {
        prompt: String,
        text: String,
        purpose: InputFor,
        error: Option<String>,
    },
}

/// How a message in the footer should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Ok,
    Bad,
}

pub struct App {
    pub workspace: String,
    /// The operator's role, shown beside their name in the header.
    pub role: Option<String>,
    pub operator: String,
    pub readonly: bool,
    pub theme: Theme,
    pub snap: Option<Arc<Snapshot>>,
    /// Seconds since the last successful poll, and the error of the last failed one with how
    /// many polls in a row failed.
    pub data_age: Option<i64>,
    pub poll_error: Option<(String, u32)>,
    pub focus: PaneId,
    pub zoomed: bool,
    pub lists: [ListState; 9],
    pub filters: [String; 9],
    /// The plan view's milestone filter (title, owner, priority or status, e.g. `overdue`).
    pub plan_filter: String,
    /// Lines the help is scrolled by.
    pub help_scroll: u16,
    /// Command lines run, oldest first, and where ↑/↓ is in them while typing.
    pub history: Vec<String>,
    pub history_pos: Option<usize>,
    pub mode: Mode,
    pub detail: Option<CustomerDetail>,
    pub detail_scroll: u16,
    pub message: Option<(String, Tone)>,
    pub view: View,
    /// The escalation ladder, for the alerts' countdowns.
    pub ladder: Vec<cutover_core::config::EscalationLevel>,
    /// The programme (`[programme]`), for the day in the header and the waves' windows.
    pub programme: Option<cutover_core::config::Programme>,
    /// The alert rules that are expansion opportunities (`score_above`): `n` on one of their
    /// alerts opens a growth plan rather than a recovery plan.
    pub opportunities: Vec<String>,
    /// The alert rules whose alerts do not climb the ladder (`climbs = false`).
    pub stays: Vec<String>,
    /// The date the calendar is read for; `None`: today (UTC). Tests pin it.
    pub today: Option<chrono::NaiveDate>,
    /// The plan view's plan, its id, and the selected milestone.
    pub plan: Option<cutover_core::plans::PlanDetail>,
    pub plan_id: Option<i64>,
    pub plan_sel: usize,
    pub(crate) too_small: StdCell<bool>,
}

/// Rows each list asks the poll for: what a tall terminal shows and a few pages to scroll to
/// (a filter searches every row, not only these). 100 keeps every poll query under 5 ms at
/// p95 at 10^6 customers: at 200 the recent-customers list took 6.3 ms once 245,000 customers
/// had migrated (its four status ranges touch more pages than SQLite's 2 MB cache holds), and
/// at 500 the open alerts took 7.5 ms (`cutover bench poll --limit N`).
pub const LIST_LIMIT: i64 = 100;

impl App {
    pub fn new(
        workspace: String,
        operator: String,
        readonly: bool,
        theme: Theme,
        as_of: String,
    ) -> Self {
        Self {
            workspace,
            operator: operator.clone(),
            role: None,
            readonly,
            theme,
            snap: None,
            data_age: None,
            poll_error: None,
            focus: PaneId::Migration,
            zoomed: false,
            lists: Default::default(),
            filters: Default::default(),
            mode: Mode::Normal,
            detail: None,
            detail_scroll: 0,
            message: None,
            view: View {
                limit: LIST_LIMIT,
                as_of,
                operator,
                ..Default::default()
            },
            ladder: Vec::new(),
            programme: None,
            opportunities: Vec::new(),
            stays: Vec::new(),
            today: None,
            plan: None,
            plan_id: None,
            plan_sel: 0,
            plan_filter: String::new(),
            help_scroll: 0,
            history: Vec::new(),
            history_pos: None,
            too_small: StdCell::new(false),
        }
    }

    pub fn on_snapshot(&mut self, snap: Arc<Snapshot>) -> Vec<Command> {
        self.snap = Some(snap);
        self.data_age = Some(0);
        self.poll_error = None;
        for p in PaneId::ALL {
            let n = self.list_len(p);
            self.lists[p.index()].clamp(n);
        }
        match &self.mode {
            Mode::Customer(id) => vec![Command::LoadCustomer(id.clone())],
            Mode::Plan(id) => vec![Command::LoadPlan(*id)],
            _ => vec![],
        }
    }

    pub fn on_poll_error(&mut self, error: String, failures: u32, age_secs: i64) {
        self.poll_error = Some((error, failures));
        self.data_age = Some(age_secs);
    }

    pub fn on_detail(&mut self, d: Option<CustomerDetail>) {
        let Mode::Customer(id) = &self.mode else {
            return;
        };
        match d {
            None => self.message = Some((format!("customer {id} is not in the plan"), Tone::Bad)),
            // A late answer for a customer no longer on screen is dropped.
            Some(d) if &d.legacy_id != id => return,
            Some(_) => {}
        }
        self.detail = d;
    }

    pub fn on_message(&mut self, text: String, tone: Tone) {
        self.message = Some((text, tone));
    }

    fn list_len(&self, p: PaneId) -> usize {
        let Some(s) = &self.snap else { return 0 };
        match p {
            PaneId::Migration => s.recent.len(),
            PaneId::Segments => panes::segments::rows(s, &self.filters[1]).len(),
            PaneId::Alerts => s.alerts.len(),
            PaneId::Plans => s.plans.len(),
            PaneId::Audit => s.audit.len(),
            PaneId::Batches => s.batches.len(),
            PaneId::Quarantine => s.quarantine.len(),
            PaneId::Comms => s.comms.len(),
            PaneId::Kpi => s.kpis.len(),
        }
    }

    /// The selected customer (legacy id) and its batch, in the focused pane or customer view.
    fn selection(&self) -> Option<(String, Option<String>)> {
        if let (Mode::Customer(id), d) = (&self.mode, &self.detail) {
            return Some((id.clone(), d.as_ref().and_then(|d| d.batch_id.clone())));
        }
        let s = self.snap.as_ref()?;
        let i = self.lists[self.focus.index()].selected;
        match self.focus {
            PaneId::Migration => s
                .recent
                .get(i)
                .map(|r| (r.legacy_id.clone(), r.batch_id.clone())),
            PaneId::Alerts => s.alerts.get(i).map(|r| (r.legacy_id.clone(), None)),
            PaneId::Plans => s.plans.get(i).map(|r| (r.customer.clone(), None)),
            PaneId::Quarantine => s.quarantine.get(i).map(|r| (r.customer.clone(), None)),
            PaneId::Segments | PaneId::Audit | PaneId::Batches | PaneId::Comms | PaneId::Kpi => {
                None
            }
        }
    }

    /// Which keys apply now: the mode's own bindings in the keymap.
    pub fn key_mode(&self) -> KeyMode {
        match self.mode {
            Mode::Normal | Mode::Customer(_) => KeyMode::Browse,
            Mode::Plan(_) => KeyMode::Plan,
            Mode::Help => KeyMode::Help,
            Mode::Filter => KeyMode::Filter,
            Mode::Command { .. } => KeyMode::Command,
            Mode::Confirm(_) => KeyMode::Confirm,
            Mode::Input { .. } => KeyMode::Input,
        }
    }

    /// Handles a key; returns the work it asks for.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if self.too_small.get() {
            // Nothing is drawn but the size: only leaving means anything.
            return match keymap::lookup(&key, KeyMode::Browse) {
                Some(Action::Quit) => vec![Command::Quit],
                _ => vec![],
            };
        }
        let Some(a) = keymap::lookup(&key, self.key_mode()) else {
            return vec![];
        };
        if a == Action::ForceQuit {
            return vec![Command::Quit];
        }
        match self.mode.clone() {
            Mode::Confirm(c) => self.on_confirm(c, a),
            Mode::Input { .. } => self.on_input(a),
            Mode::Filter => self.on_filter(a),
            Mode::Command { .. } => self.on_command_key(a),
            Mode::Help => {
                self.on_help_key(a);
                vec![]
            }
            Mode::Plan(_) => match a {
                Action::Quit => vec![Command::Quit],
                Action::Help => {
                    self.open_help();
                    vec![]
                }
                Action::CommandLine => {
                    self.open_command_line();
                    vec![]
                }
                Action::Filter => {
                    self.plan_filter.clear();
                    self.plan_sel = 0;
                    self.mode = Mode::Filter;
                    vec![]
                }
                Action::Back if !self.plan_filter.is_empty() => {
                    self.plan_filter.clear();
                    vec![]
                }
                Action::Back => {
                    self.mode = Mode::Normal;
                    self.plan = None;
                    self.plan_id = None;
                    vec![]
                }
                a if self.readonly && a.writes() => {
                    self.message = Some((
                        "read-only console: write actions are disabled".into(),
                        Tone::Bad,
                    ));
                    vec![]
                }
                a => self.on_plan_action(a),
            },
            Mode::Normal | Mode::Customer(_) => self.on_action(a),
        }
    }

    fn on_action(&mut self, a: Action) -> Vec<Command> {
        if self.readonly && a.writes() {
            self.message = Some((
                "read-only console: write actions are disabled".into(),
                Tone::Bad,
            ));
            return vec![];
        }
        let in_customer = matches!(self.mode, Mode::Customer(_));
        let len = self.list_len(self.focus);
        let list = &mut self.lists[self.focus.index()];
        match a {
            Action::Quit => return vec![Command::Quit],
            Action::Help => self.open_help(),
            Action::CommandLine => self.open_command_line(),
            Action::FocusNext | Action::FocusPrev | Action::Focus(_) if !in_customer => {
                let i = self.focus.index();
                let n = PaneId::ALL.len();
                let next = match a {
                    Action::FocusNext => (i + 1) % n,
                    Action::FocusPrev => (i + n - 1) % n,
                    Action::Focus(k) => k.min(n - 1),
                    _ => i,
                };
                return self.focus_on(PaneId::ALL[next]);
            }
            Action::Up if in_customer => self.detail_scroll = self.detail_scroll.saturating_sub(1),
            Action::Down if in_customer => {
                self.detail_scroll = self.detail_scroll.saturating_add(1)
            }
            Action::PageUp if in_customer => {
                self.detail_scroll = self.detail_scroll.saturating_sub(10)
            }
            Action::PageDown if in_customer => {
                self.detail_scroll = self.detail_scroll.saturating_add(10)
            }
            Action::Top if in_customer => self.detail_scroll = 0,
            Action::Up => list.step(-1, len),
            Action::Down => list.step(1, len),
            Action::PageUp => list.step(-PAGE, len),
            Action::PageDown => list.step(PAGE, len),
            Action::Top => list.selected = 0,
            Action::Bottom => list.selected = len.saturating_sub(1),
            Action::Enter if !in_customer => {
                // The views already take the whole screen: Enter opens the row.
                if !self.zoomed && !self.focus.is_view() {
                    self.zoomed = true;
                } else if let Some(plan) = self.selected_plan() {
                    return self.open_plan(plan);
                } else if let Some((id, _)) = self.selection() {
                    self.mode = Mode::Customer(id.clone());
                    self.detail = None;
                    self.detail_scroll = 0;
                    return vec![Command::LoadCustomer(id)];
                }
            }
            Action::Back => {
                if in_customer {
                    self.mode = Mode::Normal;
                    self.detail = None;
                } else if self.zoomed {
                    self.zoomed = false;
                } else if !self.filters[self.focus.index()].is_empty() {
                    self.filters[self.focus.index()].clear();
                    return self.view_changed();
                }
            }
            Action::Filter if !in_customer => {
                // A new filter each time: `/` never appends to the last one.
                let had = !self.filters[self.focus.index()].is_empty();
                self.filters[self.focus.index()].clear();
                self.mode = Mode::Filter;
                if had {
                    return self.view_changed();
                }
            }
            Action::Filter => {
                self.message = Some((
                    "the customer view has no filter: Esc goes back to the list".into(),
                    Tone::Info,
                ))
            }
            Action::Start => return vec![Command::Start],
            Action::Pause => return vec![Command::Pause],
            Action::Halt => {
                self.mode = Mode::Confirm(Confirm::new(
                    "Halt everything: no worker claims or continues work until released with s"
                        .into(),
                    vec![
                        ("Cancel".into(), Command::Quit, None),
                        ("Halt".into(), Command::Halt, Some("HALT".into())),
                    ],
                ))
            }
            Action::Rollback => return self.ask_rollback(),
            Action::Acknowledge
            | Action::Escalate
            | Action::Resolve
            | Action::Snooze
            | Action::Own
            | Action::Recovery
                if !in_customer =>
            {
                return self.on_alert_action(a);
            }
            Action::Recovery => {
                // On a customer: which plan to open.
                if let Mode::Customer(id) = &self.mode {
                    let id = id.clone();
                    let mut options = vec![("Cancel".into(), Command::Quit, None)];
                    for (label, t) in [
                        ("Onboarding", "onboarding"),
                        ("Recovery", "recovery"),
                        ("Growth", "expansion"),
                    ] {
                        options.push((label.into(), Command::OpenPlan(id.clone(), t), None));
                    }
                    self.mode = Mode::Confirm(Confirm::new(
                        format!(
                            "Open a plan for customer {id} (owned by its CSM; an onboarding lasts as long as its tier's)"
                        ),
                        options,
                    ));
                }
            }
            _ => {}
        }
        vec![]
    }

    /// Moves the focus to `p`; the views read only while they show get their reads changed.
    pub(crate) fn focus_on(&mut self, p: PaneId) -> Vec<Command> {
        let before = self.focus;
        self.focus = p;
        if before != p && (before.is_view() || p.is_view()) {
            return self.view_changed();
        }
        vec![]
    }

    /// Opens the rollback confirmation for the selection: the customer or its batch, in the
    /// Segments pane the wave, in the Batches view the batch; asks for each option's blast
    /// radius.
    fn ask_rollback(&mut self) -> Vec<Command> {
        let batch = (self.focus == PaneId::Batches && matches!(self.mode, Mode::Normal))
            .then(|| {
                let s = self.snap.as_ref()?;
                s.batches
                    .get(self.lists[PaneId::Batches.index()].selected)
                    .map(|b| b.id.clone())
            })
            .flatten();
        if let Some(b) = batch {
            return self.confirm_rollback(RollbackScope::Batch(b));
        }
        let wave = (self.focus == PaneId::Segments && matches!(self.mode, Mode::Normal))
            .then(|| {
                let s = self.snap.as_ref()?;
                let rows = panes::segments::rows(s, &self.filters[1]);
                rows.get(self.lists[1].selected).map(|s| s.name.clone())
            })
            .flatten();
        if let Some(w) = wave {
            return self.confirm_rollback(RollbackScope::Segment(w));
        }
        let c = if let Some((id, batch)) = self.selection() {
            let mut options = vec![
                ("Cancel".into(), Command::Quit, None),
                (
                    format!("Customer {id}"),
                    Command::Rollback(RollbackScope::Customer(id.clone())),
                    None,
                ),
            ];
            if let Some(b) = batch {
                options.push((
                    format!("Batch {b}"),
                    Command::Rollback(RollbackScope::Batch(b.clone())),
                    Some(b),
                ));
            }
            Confirm::new(
                format!(
                    "Roll back customer {id} or its whole batch? The platform is restored to the backup and verified."
                ),
                options,
            )
        } else {
            self.message = Some((
                "select a customer (Migration, Alerts, Plans, Quarantine), a wave (Segments) or a batch (Batches) first".into(),
                Tone::Bad,
            ));
            return vec![];
        };
        let scopes = c.scopes();
        self.mode = Mode::Confirm(c);
        vec![Command::LoadBlast(scopes)]
    }

    /// The blast radius of `scope`, read for the open confirmation.
    pub fn on_blast(&mut self, scope: RollbackScope, r: Result<Vec<String>, String>) {
        if let Mode::Confirm(c) = &mut self.mode {
            for (i, (_, cmd, _)) in c.options.iter().enumerate() {
                if *cmd == Command::Rollback(scope.clone()) {
                    c.radius[i] = Some(r.clone());
                }
            }
        }
    }

    /// The calendar of the latest snapshot's waves, when the workspace has a programme.
    pub fn calendar(&self) -> Option<cutover_core::calendar::Calendar> {
        let (p, s) = (self.programme.as_ref()?, self.snap.as_ref()?);
        let today = self
            .today
            .unwrap_or_else(|| chrono::Utc::now().date_naive());
        Some(cutover_core::calendar::calendar(
            p,
            &s.status.segments,
            today,
        ))
    }

    pub(super) fn view_changed(&mut self) -> Vec<Command> {
        self.view.recent_filter = self.filters[0].clone();
        self.view.alerts_filter = self.filters[2].clone();
        self.view.plans_filter = self.filters[3].clone();
        self.view.audit_filter = (self.focus == PaneId::Audit).then(|| self.filters[4].clone());
        self.view.batches_filter = (self.focus == PaneId::Batches).then(|| self.filters[5].clone());
        self.view.quarantine_filter =
            (self.focus == PaneId::Quarantine).then(|| self.filters[6].clone());
        self.view.comms_filter = (self.focus == PaneId::Comms).then(|| self.filters[7].clone());
        self.view.kpi_filter = (self.focus == PaneId::Kpi).then(|| self.filters[8].clone());
        vec![Command::SetView(self.view.clone())]
    }

    /// Which screen is showing (grid, a zoomed pane, the customer or plan view, an overlay).
    /// When it changes the loop clears the terminal first: ratatui's diff and some terminals
    /// disagree on the width of combining marks (Devanagari, Thai), which can leave stray
    /// glyphs behind when a whole screen is replaced.
    pub fn screen_key(&self) -> (u8, bool, usize) {
        let mode = match self.mode {
            Mode::Normal | Mode::Filter | Mode::Command { .. } => 0,
            Mode::Help => 1,
            Mode::Confirm(_) => 2,
            Mode::Customer(_) => 3,
            Mode::Plan(_) => 4,
            Mode::Input { .. } => 5,
        };
        // In the grid, moving the focus changes no layout; a zoomed pane or a view (5–9) is a
        // screen of its own.
        let whole = self.zoomed || self.focus.is_view();
        (mode, whole, if whole { self.focus.index() } else { 0 })
    }
}

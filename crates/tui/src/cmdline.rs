//! The keyboard grammar's text parts, a third `impl App`: the `:` command line (completion,
//! history), the help overlay (scrolling, closing), and the rollback confirmation a command
//! opens for any scope.

use super::app::{App, Command, Confirm, Mode, Tone};
use super::command::{self, Cmd};
use super::keymap::Action;
use super::panes::PaneId;
use cutover_core::engine::rollback::Scope as RollbackScope;

/// Command lines kept for ↑/↓.
const HISTORY: usize = 50;

impl App {
    pub(crate) fn open_help(&mut self) {
        self.help_scroll = 0;
        self.mode = Mode::Help;
    }

    /// Help keys: scroll, or close on Esc, `?` or `q`; anything else leaves it open.
    pub(crate) fn on_help_key(&mut self, a: Action) {
        let s = &mut self.help_scroll;
        match a {
            Action::Up => *s = s.saturating_sub(1),
            Action::Down => *s = s.saturating_add(1),
            Action::PageUp => *s = s.saturating_sub(10),
            Action::PageDown => *s = s.saturating_add(10),
            Action::Top => *s = 0,
            Action::Bottom => *s = u16::MAX,
            Action::CloseHelp => {
                self.mode = match self.plan_id {
                    Some(p) if self.plan.is_some() => Mode::Plan(p),
                    _ => Mode::Normal,
                }
            }
            _ => {}
        }
    }

    pub(crate) fn open_command_line(&mut self) {
        self.history_pos = None;
        self.mode = Mode::Command {
            text: String::new(),
            shown: Vec::new(),
            error: None,
        };
    }

    /// Keys of the command line: type, complete (Tab), walk the history (↑/↓), run (Enter),
    /// leave (Esc).
    pub(crate) fn on_command_key(&mut self, a: Action) -> Vec<Command> {
        let Mode::Command { mut text, .. } = self.mode.clone() else {
            return vec![];
        };
        let mut shown = Vec::new();
        match a {
            Action::Cancel => {
                self.mode = self.back_from_text();
                return vec![];
            }
            Action::Type(c) => text.push(c),
            Action::DeleteChar => {
                text.pop();
            }
            Action::Complete => {
                let waves: Vec<String> = self.snap.as_ref().map_or_else(Vec::new, |s| {
                    s.status.segments.iter().map(|g| g.name.clone()).collect()
                });
                let mut batches: Vec<String> = self.snap.as_ref().map_or_else(Vec::new, |s| {
                    s.recent.iter().filter_map(|r| r.batch_id.clone()).collect()
                });
                batches.sort();
                batches.dedup();
                (text, shown) = command::complete(&text, &waves, &batches);
            }
            Action::HistoryPrev | Action::HistoryNext if !self.history.is_empty() => {
                let n = self.history.len();
                let pos = match (a, self.history_pos) {
                    (Action::HistoryPrev, None) => Some(n - 1),
                    (Action::HistoryPrev, Some(p)) => Some(p.saturating_sub(1)),
                    (_, Some(p)) if p + 1 < n => Some(p + 1),
                    _ => None,
                };
                self.history_pos = pos;
                text = pos.map_or_else(String::new, |p| self.history[p].clone());
            }
            Action::Submit => {
                let line = text.trim().to_string();
                return match command::parse(&line) {
                    Ok(cmd) => {
                        if self.history.last() != Some(&line) {
                            self.history.push(line);
                            if self.history.len() > HISTORY {
                                self.history.remove(0);
                            }
                        }
                        self.mode = self.back_from_text();
                        self.run_command(cmd)
                    }
                    Err(e) => {
                        self.mode = Mode::Command {
                            text,
                            shown,
                            error: Some(e),
                        };
                        vec![]
                    }
                };
            }
            _ => {}
        }
        self.mode = Mode::Command {
            text,
            shown,
            error: None,
        };
        vec![]
    }

    /// Where a text mode returns to: the plan view when a plan is open, else the panes.
    fn back_from_text(&self) -> Mode {
        match self.plan_id {
            Some(p) if self.plan.is_some() => Mode::Plan(p),
            _ => Mode::Normal,
        }
    }

    fn run_command(&mut self, cmd: Cmd) -> Vec<Command> {
        if self.readonly && matches!(cmd, Cmd::Rollback(_)) {
            self.message = Some((
                "read-only console: write actions are disabled".into(),
                Tone::Bad,
            ));
            return vec![];
        }
        // A command leaves the plan or customer view for what it names.
        let leave = |app: &mut App| {
            app.plan = None;
            app.plan_id = None;
            app.detail = None;
            app.mode = Mode::Normal;
        };
        match cmd {
            Cmd::Quit => vec![Command::Quit],
            Cmd::Help => {
                self.open_help();
                vec![]
            }
            Cmd::Show(p) => {
                leave(self);
                self.zoomed = !p.is_view();
                self.focus_on(p)
            }
            Cmd::Alerts(filter) => {
                leave(self);
                self.zoomed = true;
                let mut out = self.focus_on(PaneId::Alerts);
                self.filters[PaneId::Alerts.index()] = filter;
                self.lists[PaneId::Alerts.index()].selected = 0;
                out.extend(self.view_changed());
                out
            }
            Cmd::Customer(id) => {
                leave(self);
                self.mode = Mode::Customer(id.clone());
                self.detail_scroll = 0;
                vec![Command::LoadCustomer(id)]
            }
            Cmd::Rollback(scope) => self.confirm_rollback(scope),
        }
    }

    /// The confirmation of one rollback scope, its blast radius asked for; a batch or wave
    /// needs its name typed.
    pub(crate) fn confirm_rollback(&mut self, scope: RollbackScope) -> Vec<Command> {
        let typed = match &scope {
            RollbackScope::Batch(b) | RollbackScope::Segment(b) => Some(b.clone()),
            RollbackScope::All => Some("ALL".into()),
            RollbackScope::Customer(_) => None,
        };
        let label = scope.label();
        let mut label_cap = label.clone();
        if let Some(f) = label_cap.get_mut(0..1) {
            f.make_ascii_uppercase();
        }
        let c = Confirm::new(
            format!("Roll back {label}? The platform is restored to the backups and verified."),
            vec![
                ("Cancel".into(), Command::Quit, None),
                (label_cap, Command::Rollback(scope.clone()), typed),
            ],
        );
        self.mode = Mode::Confirm(c);
        vec![Command::LoadBlast(vec![scope])]
    }
}

//! Keys → actions, as data, per mode (after television's `InputMap` and gitui's key config).
//! The dispatcher ([`lookup`]), the footer hints ([`hints`], [`prompt_hints`]) and the `?` help
//! ([`help`]) are all read from [`BINDINGS`], so they cannot drift apart; every binding says
//! through its action whether it writes ([`Action::writes`]), so a read-only console hides and
//! refuses exactly those. Text-entry modes (filter, confirm, a note) turn every other printable
//! key into [`Action::Type`], so typed text never runs a command.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::panes::PaneId;

/// What the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    FocusNext,
    FocusPrev,
    Focus(usize),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Enter,
    Back,
    Filter,
    Start,
    Pause,
    Rollback,
    Halt,
    Help,
    Acknowledge,
    Escalate,
    Resolve,
    Snooze,
    Own,
    Recovery,
    MilestoneDone,
    MilestoneStarted,
    Reassign,
    /// Leave the console from any mode (Ctrl-c).
    ForceQuit,
    /// Text modes: accept what was typed.
    Submit,
    /// Text modes: leave without acting.
    Cancel,
    /// Text modes: delete the last character.
    DeleteChar,
    /// Confirm dialog: the next / previous option.
    NextOption,
    PrevOption,
    /// Text modes: a character typed.
    Type(char),
    /// Help: close it.
    CloseHelp,
    /// Open the `:` command line.
    CommandLine,
    /// Command line: complete the word under the cursor.
    Complete,
    /// Command line: the previous / next line run.
    HistoryPrev,
    HistoryNext,
}

impl Action {
    /// Actions that write to the state; hidden from the footer and help and refused in a
    /// read-only console: the runner keys, rollback, every alert action and every plan edit.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Action::Start
                | Action::Pause
                | Action::Rollback
                | Action::Halt
                | Action::Acknowledge
                | Action::Escalate
                | Action::Resolve
                | Action::Snooze
                | Action::Own
                | Action::Recovery
                | Action::MilestoneDone
                | Action::MilestoneStarted
                | Action::Reassign
        )
    }
}

/// What has the keys: the console's modes, each with its own bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// The panes, a zoomed pane or the customer view.
    Browse,
    /// A success plan's milestones.
    Plan,
    /// The help overlay.
    Help,
    /// Typing a list's filter.
    Filter,
    /// A destructive action waiting for its confirmation.
    Confirm,
    /// Typing a note, a duration or an owner.
    Input,
    /// The `:` command line.
    Command,
}

impl KeyMode {
    /// Whether printable keys type text in this mode.
    fn types(self) -> bool {
        matches!(
            self,
            KeyMode::Filter | KeyMode::Confirm | KeyMode::Input | KeyMode::Command
        )
    }
}

/// Where a binding applies, for the footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    List,
    /// Only where a customer or batch is selected.
    Selection,
    /// Only in the Alerts pane.
    Alert,
    /// Only in the plan view.
    Plan,
}

/// One binding: its keys, in which modes, what it does, and how the footer and help name it.
pub struct Binding {
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub modes: &'static [KeyMode],
    pub action: Action,
    /// Short label for the footer.
    pub hint: &'static str,
    /// Line for the help screen.
    pub help: &'static str,
    pub scope: Scope,
}

mod bindings;

pub use bindings::{ANY, BINDINGS};

/// The action `key` means in `mode`: its binding there; in a text mode, any other printable
/// key is typed (in a filter, not with Ctrl). In the help, unbound keys do nothing: it closes
/// on Esc, `?` or `q` only, so a stray key does not lose the place scrolled to.
pub fn lookup(key: &KeyEvent, mode: KeyMode) -> Option<Action> {
    let bound = BINDINGS
        .iter()
        .find(|b| {
            b.modes.contains(&mode)
                && b.keys
                    .iter()
                    .any(|(c, m)| *c == key.code && (*m == key.modifiers || *m == ANY))
        })
        .map(|b| b.action);
    if bound.is_some() {
        return bound;
    }
    match key.code {
        KeyCode::Char(c)
            if mode.types()
                && (mode != KeyMode::Filter || !key.modifiers.contains(KeyModifiers::CONTROL)) =>
        {
            Some(Action::Type(c))
        }
        _ => None,
    }
}

/// The scopes whose hints the footer shows in `mode`: in the customer view what acts on the
/// customer, in the plan view the milestone keys, and in the panes what the focused pane
/// offers (triage keys first in Alerts; the runner's keys are one Tab away).
pub fn footer_scopes(mode: KeyMode, customer: bool, focus: PaneId) -> &'static [Scope] {
    match mode {
        KeyMode::Plan => &[Scope::Plan],
        _ if customer => &[Scope::Global, Scope::Selection],
        _ if focus == PaneId::Segments => &[Scope::Global, Scope::List, Scope::Selection],
        _ if focus == PaneId::Alerts => &[Scope::Alert],
        _ => &[Scope::Global, Scope::List, Scope::Selection],
    }
}

/// The footer of a text mode: its bindings' hints, `Enter ok · Esc cancel`.
pub fn prompt_hints(mode: KeyMode) -> String {
    BINDINGS
        .iter()
        .filter(|b| b.modes.contains(&mode) && !b.hint.is_empty())
        .map(|b| format!("{} {}", key_name(b.keys[0]), b.hint))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// How a key is written in hints: `q`, `Tab`, `Ctrl-c`, `↑`.
pub fn key_name((code, mods): (KeyCode, KeyModifiers)) -> String {
    let base = match code {
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "S-Tab".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        other => format!("{other:?}"),
    };
    if mods != ANY && mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{base}")
    } else {
        base
    }
}

/// Footer hints `(key, label)` for the bindings in `scopes`, minus writes when read-only.
pub fn hints(scopes: &[Scope], readonly: bool) -> Vec<(String, &'static str)> {
    BINDINGS
        .iter()
        .filter(|b| {
            b.modes.contains(&KeyMode::Browse)
                && !b.hint.is_empty()
                && scopes.contains(&b.scope)
                && !(readonly && b.action.writes())
        })
        .map(|b| (key_name(b.keys[0]), b.hint))
        .collect()
}

/// The help's groups, in order, with their titles: what applies everywhere, in a list, on a
/// selection, in the Alerts pane, in the plan view.
pub const HELP_GROUPS: [(Scope, &str); 5] = [
    (Scope::Global, "Everywhere"),
    (Scope::List, "In a list"),
    (Scope::Selection, "On the selected customer, batch or wave"),
    (Scope::Alert, "Alerts pane"),
    (Scope::Plan, "Plan view"),
];

/// Help lines `(keys, text)` for every binding of `scope`, minus writes when read-only. A
/// binding with no help text folds its keys into the line before (j after k, 2–7 after 1).
pub fn help(scope: Scope, readonly: bool) -> Vec<(String, &'static str)> {
    let mut out: Vec<(Vec<String>, &'static str)> = Vec::new();
    let listed = BINDINGS.iter().filter(|b| {
        b.modes.contains(&KeyMode::Browse) && b.scope == scope && !(readonly && b.action.writes())
    });
    for b in listed {
        let names = b.keys.iter().map(|k| key_name(*k));
        match out.last_mut() {
            Some((keys, _)) if b.help.is_empty() => keys.extend(names),
            _ => out.push((names.collect(), b.help)),
        }
    }
    out.into_iter()
        .map(|(mut k, h)| {
            k.dedup();
            (k.join(" "), h)
        })
        .collect()
}

/// Every help line of every group, for the read-only checks.
#[cfg(test)]
fn help_all(readonly: bool) -> Vec<(String, &'static str)> {
    HELP_GROUPS
        .iter()
        .flat_map(|(s, _)| help(*s, readonly))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hint_dispatches_to_its_action() {
        for b in BINDINGS {
            for k in b.keys {
                let mods = if k.1 == ANY { KeyModifiers::NONE } else { k.1 };
                for mode in b.modes {
                    assert_eq!(
                        lookup(&KeyEvent::new(k.0, mods), *mode),
                        Some(b.action),
                        "{k:?} in {mode:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn typed_text_never_runs_a_command() {
        for mode in [
            KeyMode::Filter,
            KeyMode::Confirm,
            KeyMode::Input,
            KeyMode::Command,
        ] {
            for c in "qsprXaexzondiw/?:1234567".chars() {
                let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
                assert_eq!(lookup(&key, mode), Some(Action::Type(c)), "{c} in {mode:?}");
            }
        }
        assert_eq!(prompt_hints(KeyMode::Input), "Enter ok · Esc cancel");
        assert_eq!(prompt_hints(KeyMode::Filter), "Enter keep · Esc clear");
        assert_eq!(
            prompt_hints(KeyMode::Command),
            "Enter run · Esc cancel · Tab complete · ↑ history"
        );
    }

    #[test]
    fn every_key_that_writes_is_hidden_and_refused_when_read_only() {
        let writing = "aexzondiwsprX";
        for c in writing.chars() {
            let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            let a = lookup(&key, KeyMode::Browse).unwrap_or_else(|| panic!("{c} is bound"));
            assert!(a.writes(), "{c} ({a:?}) writes");
        }
        let scopes = [
            Scope::Global,
            Scope::List,
            Scope::Selection,
            Scope::Alert,
            Scope::Plan,
        ];
        let shown: Vec<String> = hints(&scopes, true).into_iter().map(|(k, _)| k).collect();
        let help: Vec<String> = help_all(true).into_iter().map(|(k, _)| k).collect();
        for c in writing.chars() {
            let k = c.to_string();
            assert!(!shown.contains(&k), "{c} in the read-only footer");
            assert!(
                !help.iter().any(|h| h.split(' ').any(|x| x == k)),
                "{c} in the read-only help"
            );
        }
    }

    #[test]
    fn readonly_hides_writes() {
        assert!(
            hints(&[Scope::Global, Scope::Selection], true)
                .iter()
                .all(|(_, h)| *h != "rollback" && *h != "HALT")
        );
        assert!(
            help_all(false)
                .iter()
                .any(|(_, h)| h.contains("halt everything"))
        );
    }
}

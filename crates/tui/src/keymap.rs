//! Keys → actions, as data. The dispatcher, the footer hints and the `?` help are all read
//! from [`BINDINGS`], so they cannot drift apart.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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

pub struct Binding {
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub action: Action,
    /// Short label for the footer.
    pub hint: &'static str,
    /// Line for the help screen.
    pub help: &'static str,
    pub scope: Scope,
}

const N: KeyModifiers = KeyModifiers::NONE;
const S: KeyModifiers = KeyModifiers::SHIFT;
const C: KeyModifiers = KeyModifiers::CONTROL;

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[(KeyCode::Char('q'), N), (KeyCode::Char('c'), C)],
        action: Action::Quit,
        hint: "quit",
        help: "quit (the runner keeps its state)",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::Tab, N)],
        action: Action::FocusNext,
        hint: "pane",
        help: "focus the next / previous pane",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::BackTab, S), (KeyCode::BackTab, N)],
        action: Action::FocusPrev,
        hint: "",
        help: "",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::Char('1'), N)],
        action: Action::Focus(0),
        hint: "",
        help: "focus a pane: 1 Migration, 2 Segments, 3 Alerts, 4 Plans",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::Char('2'), N)],
        action: Action::Focus(1),
        hint: "",
        help: "",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::Char('3'), N)],
        action: Action::Focus(2),
        hint: "",
        help: "",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::Char('4'), N)],
        action: Action::Focus(3),
        hint: "",
        help: "",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::Char('5'), N)],
        action: Action::Focus(4),
        hint: "",
        help: "audit log: who did what, in which role, why; / filters",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::Char('k'), N), (KeyCode::Up, N)],
        action: Action::Up,
        hint: "",
        help: "move up / down",
        scope: Scope::List,
    },
    Binding {
        keys: &[(KeyCode::Char('j'), N), (KeyCode::Down, N)],
        action: Action::Down,
        hint: "",
        help: "",
        scope: Scope::List,
    },
    Binding {
        keys: &[(KeyCode::PageUp, N)],
        action: Action::PageUp,
        hint: "",
        help: "page up / down",
        scope: Scope::List,
    },
    Binding {
        keys: &[(KeyCode::PageDown, N)],
        action: Action::PageDown,
        hint: "",
        help: "",
        scope: Scope::List,
    },
    Binding {
        keys: &[(KeyCode::Char('g'), N), (KeyCode::Home, N)],
        action: Action::Top,
        hint: "",
        help: "first / last row",
        scope: Scope::List,
    },
    Binding {
        keys: &[
            (KeyCode::Char('G'), S),
            (KeyCode::Char('G'), N),
            (KeyCode::End, N),
        ],
        action: Action::Bottom,
        hint: "",
        help: "",
        scope: Scope::List,
    },
    Binding {
        keys: &[(KeyCode::Enter, N)],
        action: Action::Enter,
        hint: "open",
        help: "zoom the pane; in a zoomed list, open the customer",
        scope: Scope::List,
    },
    Binding {
        keys: &[(KeyCode::Esc, N)],
        action: Action::Back,
        hint: "back",
        help: "back out of a view, filter or zoom",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::Char('/'), N)],
        action: Action::Filter,
        hint: "filter",
        help: "filter the focused list",
        scope: Scope::List,
    },
    Binding {
        keys: &[(KeyCode::Char('s'), N)],
        action: Action::Start,
        hint: "start",
        help: "start or resume the runner (releases a halt)",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::Char('p'), N)],
        action: Action::Pause,
        hint: "pause",
        help: "pause the runner at the next step boundary",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::Char('r'), N)],
        action: Action::Rollback,
        hint: "rollback",
        help: "roll back the selected customer or its batch",
        scope: Scope::Selection,
    },
    Binding {
        keys: &[(KeyCode::Char('X'), S), (KeyCode::Char('X'), N)],
        action: Action::Halt,
        hint: "halt",
        help: "halt everything (type HALT to confirm)",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::Char('?'), N), (KeyCode::Char('?'), S)],
        action: Action::Help,
        hint: "help",
        help: "this help",
        scope: Scope::Global,
    },
    Binding {
        keys: &[(KeyCode::Char('a'), N)],
        action: Action::Acknowledge,
        hint: "ack",
        help: "acknowledge the alert (stops its climb)",
        scope: Scope::Alert,
    },
    Binding {
        keys: &[(KeyCode::Char('e'), N)],
        action: Action::Escalate,
        hint: "escalate",
        help: "escalate the alert one level now (asks for a note)",
        scope: Scope::Alert,
    },
    Binding {
        keys: &[(KeyCode::Char('x'), N)],
        action: Action::Resolve,
        hint: "resolve",
        help: "resolve the alert (asks for a note)",
        scope: Scope::Alert,
    },
    Binding {
        keys: &[(KeyCode::Char('z'), N)],
        action: Action::Snooze,
        hint: "snooze",
        help: "snooze the alert: a duration (30m, 4h, 2d) and a reason",
        scope: Scope::Alert,
    },
    Binding {
        keys: &[(KeyCode::Char('o'), N)],
        action: Action::Own,
        hint: "own",
        help: "take ownership of the alert",
        scope: Scope::Alert,
    },
    Binding {
        keys: &[(KeyCode::Char('n'), N)],
        action: Action::Recovery,
        hint: "recovery",
        help: "open a recovery plan for the selected alert's customer",
        scope: Scope::Alert,
    },
    Binding {
        keys: &[(KeyCode::Char('d'), N)],
        action: Action::MilestoneDone,
        hint: "done",
        help: "plan view: mark the milestone completed",
        scope: Scope::Plan,
    },
    Binding {
        keys: &[(KeyCode::Char('i'), N)],
        action: Action::MilestoneStarted,
        hint: "in progress",
        help: "plan view: mark the milestone in progress",
        scope: Scope::Plan,
    },
    Binding {
        keys: &[(KeyCode::Char('w'), N)],
        action: Action::Reassign,
        hint: "reassign",
        help: "plan view: reassign the milestone (asks for the owner)",
        scope: Scope::Plan,
    },
];

/// The action bound to `key`, if any.
pub fn lookup(key: &KeyEvent) -> Option<Action> {
    BINDINGS
        .iter()
        .find(|b| {
            b.keys
                .iter()
                .any(|(c, m)| *c == key.code && *m == key.modifiers)
        })
        .map(|b| b.action)
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
    if mods.contains(KeyModifiers::CONTROL) {
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
            !b.hint.is_empty() && scopes.contains(&b.scope) && !(readonly && b.action.writes())
        })
        .map(|b| (key_name(b.keys[0]), b.hint))
        .collect()
}

/// Help lines `(keys, text)` for every binding, minus writes when read-only. A binding with
/// no help text folds its keys into the line before (j after k, 2–4 after 1).
pub fn help(readonly: bool) -> Vec<(String, &'static str)> {
    let mut out: Vec<(Vec<String>, &'static str)> = Vec::new();
    for b in BINDINGS.iter().filter(|b| !(readonly && b.action.writes())) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hint_dispatches_to_its_action() {
        for b in BINDINGS {
            for k in b.keys {
                assert_eq!(lookup(&KeyEvent::new(k.0, k.1)), Some(b.action), "{:?}", k);
            }
        }
    }

    #[test]
    fn every_key_that_writes_is_hidden_and_refused_when_read_only() {
        let writing = "aexzondiwsprX";
        for c in writing.chars() {
            let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            let a = lookup(&key).unwrap_or_else(|| panic!("{c} is bound"));
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
        let help: Vec<String> = help(true).into_iter().map(|(k, _)| k).collect();
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
            help(false)
                .iter()
                .any(|(_, h)| h.contains("halt everything"))
        );
    }
}

//! The `:` command line (after k9s): a word names a view or an action, completion and history
//! as a shell has them. Commands are data ([`COMMANDS`]), so completion and the help read the
//! same list the parser accepts.

use cutover_core::engine::rollback::Scope;

use crate::panes::PaneId;

/// What a command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    /// Show a pane (zoomed, for the four of the grid).
    Show(PaneId),
    /// The Alerts pane zoomed with this filter (`mine`, `breached`, `owner:NAME`).
    Alerts(String),
    /// Open a customer's view.
    Customer(String),
    /// Ask to roll back a scope (the confirmation, with its blast radius, follows).
    Rollback(Scope),
    Help,
    Quit,
}

/// One command: its word, its argument, and what it does (for completion and help).
pub struct Spec {
    pub word: &'static str,
    pub args: &'static str,
    pub help: &'static str,
}

pub const COMMANDS: &[Spec] = &[
    Spec {
        word: "migration",
        args: "",
        help: "the Migration pane",
    },
    Spec {
        word: "segments",
        args: "",
        help: "the Segments (waves) pane",
    },
    Spec {
        word: "alerts",
        args: "",
        help: "the Alerts pane",
    },
    Spec {
        word: "mine",
        args: "",
        help: "my customers' alerts, and those I took",
    },
    Spec {
        word: "breached",
        args: "",
        help: "alerts past their service level's deadline",
    },
    Spec {
        word: "owner",
        args: "NAME",
        help: "the alerts a CSM owns",
    },
    Spec {
        word: "plans",
        args: "",
        help: "the Plans pane",
    },
    Spec {
        word: "audit",
        args: "",
        help: "the audit log",
    },
    Spec {
        word: "batches",
        args: "",
        help: "every batch: wave, state, customers, rows, worker",
    },
    Spec {
        word: "quarantine",
        args: "",
        help: "quarantined customers: rule, detail, since",
    },
    Spec {
        word: "comms",
        args: "",
        help: "notices per wave: due, sent, delivered, failed, held, reach",
    },
    Spec {
        word: "kpi",
        args: "",
        help: "KPIs against their targets: met, at risk, missed, trend",
    },
    Spec {
        word: "customer",
        args: "ID",
        help: "open a customer by legacy id",
    },
    Spec {
        word: "rollback",
        args: "customer ID | batch ID | wave NAME",
        help: "what it touches first, then asks",
    },
    Spec {
        word: "help",
        args: "",
        help: "the keys and commands",
    },
    Spec {
        word: "q",
        args: "",
        help: "quit",
    },
];

/// The scopes `:rollback` takes.
const SCOPES: [&str; 3] = ["customer", "batch", "wave"];

/// Parses a command line (without the `:`).
///
/// Errors: an unknown command or a missing argument, said so the operator can fix it.
pub fn parse(line: &str) -> Result<Cmd, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let arg = |i: usize, what: &str| {
        words
            .get(i)
            .map(|s| s.to_string())
            .ok_or_else(|| format!(":{} needs {what}", words[..i].join(" ")))
    };
    let Some(first) = words.first() else {
        return Err("type a command: Tab completes, :help lists them".into());
    };
    Ok(match *first {
        "migration" => Cmd::Show(PaneId::Migration),
        "segments" | "waves" => Cmd::Show(PaneId::Segments),
        "alerts" => Cmd::Show(PaneId::Alerts),
        "mine" => Cmd::Alerts("mine".into()),
        "breached" => Cmd::Alerts("breached".into()),
        "owner" => Cmd::Alerts(format!("owner:{}", arg(1, "a CSM's name")?)),
        "plans" => Cmd::Show(PaneId::Plans),
        "audit" => Cmd::Show(PaneId::Audit),
        "batches" => Cmd::Show(PaneId::Batches),
        "quarantine" => Cmd::Show(PaneId::Quarantine),
        "comms" | "communications" => Cmd::Show(PaneId::Comms),
        "kpi" | "kpis" => Cmd::Show(PaneId::Kpi),
        "customer" => Cmd::Customer(arg(1, "a legacy id")?),
        "rollback" => {
            let scope = arg(1, "customer ID, batch ID or wave NAME")?;
            let what = match scope.as_str() {
                "customer" => "a legacy id",
                "batch" => "a batch id",
                "wave" | "segment" => "a wave name",
                other => {
                    return Err(format!(
                        ":rollback {other}: roll back a customer, batch or wave"
                    ));
                }
            };
            let id = words[2.min(words.len())..].join(" ");
            if id.is_empty() {
                return Err(format!(":rollback {scope} needs {what}"));
            }
            Cmd::Rollback(match scope.as_str() {
                "customer" => Scope::Customer(id),
                "batch" => Scope::Batch(id),
                _ => Scope::Segment(id),
            })
        }
        "help" | "?" => Cmd::Help,
        "q" | "quit" | "q!" => Cmd::Quit,
        other => return Err(format!(":{other}: no such command (:help lists them)")),
    })
}

/// Completes `line`: the command word, `:rollback`'s scope, or a wave or batch name among
/// `names` (what the console has on screen). Returns the line completed as far as every
/// candidate agrees, and the candidates when more than one remains.
pub fn complete(line: &str, waves: &[String], batches: &[String]) -> (String, Vec<String>) {
    let ends_in_space = line.ends_with(' ');
    let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    if ends_in_space || words.is_empty() {
        words.push(String::new());
    }
    let pos = words.len() - 1;
    let candidates: Vec<String> = match (pos, words.first().map(String::as_str)) {
        (0, _) => COMMANDS.iter().map(|c| c.word.to_string()).collect(),
        (1, Some("rollback")) => SCOPES.iter().map(|s| s.to_string()).collect(),
        (2, Some("rollback")) if words[1] == "wave" => waves.to_vec(),
        (2, Some("rollback")) if words[1] == "batch" => batches.to_vec(),
        _ => vec![],
    };
    let part = &words[pos];
    let matching: Vec<String> = candidates
        .into_iter()
        .filter(|c| c.to_lowercase().starts_with(&part.to_lowercase()))
        .collect();
    let prefix = common_prefix(&matching);
    if prefix.chars().count() > part.chars().count() {
        words[pos] = prefix;
        if matching.len() == 1 {
            words.push(String::new());
        }
    }
    let shown = if matching.len() > 1 { matching } else { vec![] };
    (words.join(" "), shown)
}

fn common_prefix(items: &[String]) -> String {
    let Some(first) = items.first() else {
        return String::new();
    };
    let mut n = first.chars().count();
    for s in &items[1..] {
        n = n.min(
            first
                .chars()
                .zip(s.chars())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    first.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_bad_ones_are_named() {
        assert_eq!(parse("alerts"), Ok(Cmd::Show(PaneId::Alerts)));
        assert_eq!(parse(" customer 1053 "), Ok(Cmd::Customer("1053".into())));
        assert_eq!(
            parse("rollback batch VIP-0002"),
            Ok(Cmd::Rollback(Scope::Batch("VIP-0002".into())))
        );
        assert_eq!(
            parse("rollback wave High value"),
            Ok(Cmd::Rollback(Scope::Segment("High value".into())))
        );
        assert_eq!(parse("q"), Ok(Cmd::Quit));
        assert_eq!(
            parse("rollback batch"),
            Err(":rollback batch needs a batch id".into())
        );
        assert_eq!(parse("customer"), Err(":customer needs a legacy id".into()));
        assert!(parse("mnie").unwrap_err().contains("no such command"));
    }

    #[test]
    fn tab_completes_words_scopes_and_names() {
        assert_eq!(complete("al", &[], &[]).0, "alerts ");
        let (line, shown) = complete("a", &[], &[]);
        assert_eq!(line, "a");
        assert_eq!(shown, vec!["alerts", "audit"]);
        assert_eq!(complete("rollback b", &[], &[]).0, "rollback batch ");
        let waves = vec!["VIP".to_string(), "High-value".to_string()];
        assert_eq!(
            complete("rollback wave h", &waves, &[]).0,
            "rollback wave High-value "
        );
        let batches = vec!["VIP-0001".to_string(), "VIP-0002".to_string()];
        let (line, shown) = complete("rollback batch V", &[], &batches);
        assert_eq!(line, "rollback batch VIP-000");
        assert_eq!(shown.len(), 2);
        // Every word completion offers is one the parser accepts.
        for c in COMMANDS {
            let line = if c.args.is_empty() {
                c.word.to_string()
            } else {
                format!("{} customer 1", c.word)
            };
            assert!(parse(&line).is_ok(), "{line}");
        }
    }
}

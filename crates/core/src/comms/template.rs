//! The notices' templates: the shipped ones, their placeholders, and rendering. Below the
//! config (which checks a workspace's templates at load) and free of the workspace context.

use std::path::Path;

/// The placeholders a template may use, each `{like_this}`.
pub const PLACEHOLDERS: [&str; 5] = ["name", "customer_id", "wave", "migration_date", "support"];

/// The shipped templates, by name.
pub const BUILT_IN: [(&str, &str); 8] = [
    (
        "announcement",
        include_str!("../../assets/templates/comms/announcement.txt"),
    ),
    (
        "guide",
        include_str!("../../assets/templates/comms/guide.txt"),
    ),
    (
        "reminder",
        include_str!("../../assets/templates/comms/reminder.txt"),
    ),
    (
        "starts",
        include_str!("../../assets/templates/comms/starts.txt"),
    ),
    (
        "moved",
        include_str!("../../assets/templates/comms/moved.txt"),
    ),
    (
        "survey",
        include_str!("../../assets/templates/comms/survey.txt"),
    ),
    (
        "moved_back",
        include_str!("../../assets/templates/comms/moved_back.txt"),
    ),
    (
        "crisis",
        include_str!("../../assets/templates/comms/crisis.txt"),
    ),
];

/// A shipped template's text.
pub fn built_in(name: &str) -> Option<&'static str> {
    BUILT_IN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The text of `template`: a shipped template's name, or a file (relative to `dir`, the
/// config file's directory).
///
/// Errors: neither, or a file that cannot be read, in words that name it.
pub fn template_text(dir: &Path, template: &str) -> Result<String, String> {
    if let Some(t) = built_in(template) {
        return Ok(t.to_string());
    }
    let path = dir.join(template);
    std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "`{template}` is neither a shipped template ({}) nor a readable file ({}: {e})",
            BUILT_IN.map(|(n, _)| n).join(", "),
            path.display()
        )
    })
}

/// The `{placeholders}` a template uses, in order, each once.
pub fn placeholders_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        match after.find('}') {
            Some(j)
                if j > 0
                    && after[..j]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                let p = after[..j].to_string();
                if !out.contains(&p) {
                    out.push(p);
                }
                rest = &after[j + 1..];
            }
            _ => rest = after,
        }
    }
    out
}

/// The first placeholder of `text` that is not one of [`PLACEHOLDERS`].
pub fn unknown_placeholder(text: &str) -> Option<String> {
    placeholders_in(text)
        .into_iter()
        .find(|p| !PLACEHOLDERS.contains(&p.as_str()))
}

/// What a template's placeholders stand for, for one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Vars {
    /// The customer's name.
    pub name: String,
    /// Its legacy id.
    pub customer_id: String,
    /// Its wave (segment).
    pub wave: String,
    /// `YYYY-MM-DD`: the day it moved, or the first day of its wave's window.
    pub migration_date: String,
    /// Its wave's support model (`white-glove`, `priority`, …).
    pub support: String,
}

/// `text` with every known placeholder replaced.
pub fn render(text: &str, v: &Vars) -> String {
    text.replace("{name}", &v.name)
        .replace("{customer_id}", &v.customer_id)
        .replace("{wave}", &v.wave)
        .replace("{migration_date}", &v.migration_date)
        .replace("{support}", &v.support)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_templates_use_only_known_placeholders() {
        for (name, text) in BUILT_IN {
            assert_eq!(unknown_placeholder(text), None, "{name}");
            assert!(
                placeholders_in(text).contains(&"name".to_string()),
                "{name}"
            );
        }
        assert_eq!(
            placeholders_in("{a} {b} {a} {not a placeholder"),
            ["a", "b"]
        );
        assert_eq!(unknown_placeholder("Dear {nmae}"), Some("nmae".into()));
        let v = Vars {
            name: "Zoë".into(),
            customer_id: "1053".into(),
            wave: "VIP".into(),
            migration_date: "2026-11-28".into(),
            support: "white-glove".into(),
        };
        let t = render(built_in("reminder").unwrap(), &v);
        assert!(t.starts_with("Hello Zoë,"), "{t}");
        assert!(t.contains("tomorrow, 2026-11-28"), "{t}");
        assert!(!t.contains('{'), "{t}");
    }
}

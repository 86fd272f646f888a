//! Alert rules and the escalation ladder (brief section 2, "Health score" and "Escalation
//! ladder") as the config gives them.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::notify::Notify;

/// Alert rules (brief section 2, "Health score" and "Escalation ladder").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// The rule's name.
    pub rule: Vec<AlertRule>,
}

/// What an alert rule watches.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The latest score fell more than `threshold` points below the previous one.
    ScoreDrop,
    /// The latest score is below `threshold`.
    ScoreBelow,
    /// The customer's migration failed, other than at validation.
    MigrationFailed,
    /// The customer's validation failed: the platform's rows differ from the source's (a
    /// checksum mismatch, a lost row), which is data corruption.
    ValidationFailed,
    /// The customer is quarantined.
    Quarantined,
    /// The customer was rolled back.
    RolledBack,
    /// The latest score is above `threshold`: an expansion opportunity (brief section 2:
    /// health above 85, within two weeks). `n` on it opens a growth plan.
    ScoreAbove,
}

/// How urgent an alert is; triage order is critical, warning, info.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    /// Act now.
    Critical,
    /// Act soon.
    Warning,
    /// For information.
    Info,
}

impl AlertSeverity {
    /// Triage order: critical first.
    pub fn rank(self) -> i64 {
        match self {
            AlertSeverity::Critical => 0,
            AlertSeverity::Warning => 1,
            AlertSeverity::Info => 2,
        }
    }

    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Critical => "critical",
            AlertSeverity::Warning => "warning",
            AlertSeverity::Info => "info",
        }
    }
}

impl TryFrom<String> for AlertSeverity {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        [
            AlertSeverity::Critical,
            AlertSeverity::Warning,
            AlertSeverity::Info,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| format!("`{s}` is not an alert severity"))
    }
}

/// One alert rule: what it watches, its threshold and severity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// The rule's name; with the customer's legacy id it forms the alert's dedup key.
    pub name: String,
    /// Its kind.
    pub kind: AlertKind,
    /// Points, for `score_drop` and `score_below`.
    pub threshold: Option<f64>,
    /// Its severity.
    pub severity: AlertSeverity,
    /// Per-segment thresholds that replace `threshold` for that segment's customers.
    #[serde(default)]
    pub segments: BTreeMap<String, f64>,
    /// The ladder level its alerts open at (`"L3"`), where the problem belongs (brief section
    /// 2: data loss or corruption goes straight to L3 engineering, retention risk to L4);
    /// default the first.
    pub start_level: Option<String>,
    /// Whether an unacknowledged alert of this rule climbs the ladder on its level's timeout
    /// (an opportunity waits for its owner instead).
    #[serde(default = "yes")]
    pub climbs: bool,
}

fn yes() -> bool {
    true
}

impl AlertRule {
    /// The 1-based ladder index its alerts open at (checked at load).
    pub fn start_index(&self, ladder: &Escalation) -> i64 {
        self.start_level
            .as_ref()
            .and_then(|n| ladder.level.iter().position(|l| &l.name == n))
            .map_or(1, |i| i as i64 + 1)
    }
}

/// The escalation ladder, lowest level first.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Its level.
    pub level: Vec<EscalationLevel>,
}

/// One level of the escalation ladder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationLevel {
    /// "L1" … "L4".
    pub name: String,
    /// Who handles it ("standard support", …).
    pub title: String,
    /// Minutes an unacknowledged alert stays at this level before it climbs (0: it does not).
    pub timeout_minutes: u64,
    /// `[notify.target.<name>]`s told when an alert reaches, or changes at, this level.
    #[serde(default)]
    pub targets: Vec<String>,
}

/// Checks the alert rules and the ladder at load: thresholds where a rule needs one, unique
/// rule names, a ladder with at least one level whose targets exist in `notify`. Errors name
/// the key.
pub fn check(alerts: &AlertsConfig, ladder: &Escalation, notify: &Notify) -> Result<(), String> {
    for (i, r) in alerts.rule.iter().enumerate() {
        let needs = matches!(
            r.kind,
            AlertKind::ScoreDrop | AlertKind::ScoreBelow | AlertKind::ScoreAbove
        );
        if needs && r.threshold.is_none() {
            return Err(format!(
                "key `alerts.rule[{i}].threshold`: rule `{}` needs a threshold in points",
                r.name
            ));
        }
        if let Some(l) = &r.start_level
            && !ladder.level.iter().any(|x| &x.name == l)
        {
            return Err(format!(
                "key `alerts.rule[{i}].start_level` of `{}`: no ladder level `{l}` (there are {})",
                r.name,
                ladder
                    .level
                    .iter()
                    .map(|x| x.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if alerts.rule[..i].iter().any(|o| o.name == r.name) {
            return Err(format!(
                "key `alerts.rule[{i}].name`: `{}` is used twice",
                r.name
            ));
        }
    }
    for (i, l) in ladder.level.iter().enumerate() {
        if let Some(t) = l.targets.iter().find(|t| !notify.target.contains_key(*t)) {
            return Err(format!(
                "key `escalation.level[{i}].targets`: no [notify.target.{t}]"
            ));
        }
    }
    if ladder.level.is_empty() {
        return Err("key `escalation.level`: the ladder needs at least one level".into());
    }
    Ok(())
}

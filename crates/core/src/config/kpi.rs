//! `[[kpi]]` and `[report]`: the programme's KPIs against their targets and the daily report
//! (brief section 2, "Programme KPIs and their targets").

use serde::Deserialize;

use super::health::Db;

/// How a KPI's value is held against its target.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, serde::Serialize)]
pub enum Comparison {
    /// Met when the value is above the target.
    #[serde(rename = ">")]
    Above,
    /// At or above.
    #[serde(rename = ">=")]
    AtLeast,
    /// Below.
    #[serde(rename = "<")]
    Below,
    /// At or below.
    #[serde(rename = "<=")]
    AtMost,
}

impl Comparison {
    /// Whether `value` meets `target`.
    pub fn holds(self, value: f64, target: f64) -> bool {
        match self {
            Comparison::Above => value > target,
            Comparison::AtLeast => value >= target,
            Comparison::Below => value < target,
            Comparison::AtMost => value <= target,
        }
    }

    /// `>`, `>=`, `<`, `<=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
        }
    }
}

/// One `[[kpi]]`: a built-in measure's target overridden (`name` of a built-in), or a KPI of
/// the workspace's own from a query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kpi {
    /// Its name (`completion`, `integrity`, `rollback_time`, `throughput`, `reach`,
    /// `alerts_in_service_level` are built in; any other needs a `query`).
    pub name: String,
    /// The target value, in `unit`.
    pub target: Option<f64>,
    /// How the value meets the target.
    pub comparison: Option<Comparison>,
    /// The value's unit as shown (`%`, `of 5`, `s`, `GB/h`).
    pub unit: Option<String>,
    /// SQL returning one number (the first column of the first row).
    pub query: Option<String>,
    /// Where `query` runs (`state`, `source`, `target`); default `state`.
    pub database: Option<Db>,
    /// What it measures, in a line.
    pub description: Option<String>,
}

/// `[report]`: the daily report sent through the outbox.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// The time of day (UTC, `HH:MM`) from which yesterday's daily report is sent.
    pub daily_at: Option<String>,
    /// The `[notify.target.<name>]` it goes to.
    pub daily_target: Option<String>,
}

/// The built-in KPIs' names.
pub const BUILT_IN: [&str; 6] = [
    "completion",
    "integrity",
    "rollback_time",
    "throughput",
    "reach",
    "alerts_in_service_level",
];

/// Checks every `[[kpi]]` and `[report]`: a built-in's name or a query, a target and a
/// comparison for a query, a time of day and an existing target. Errors name the key. (A
/// query that fails on its database is found when it first runs: `cutover kpi` exits 2
/// naming its key.)
pub fn check(cfg: &super::Config) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for (i, k) in cfg.kpi.iter().enumerate() {
        let key = format!("kpi[{i}]");
        if !seen.insert(k.name.as_str()) {
            return Err(format!("key `{key}.name`: `{}` is defined twice", k.name));
        }
        let built_in = BUILT_IN.contains(&k.name.as_str());
        match (&k.query, built_in) {
            (Some(_), true) => {
                return Err(format!(
                    "key `{key}.query` of `{}`: a built-in KPI is measured by cutover; give it another name to measure it by a query",
                    k.name
                ));
            }
            (None, false) => {
                return Err(format!(
                    "key `{key}` of `{}`: not a built-in KPI ({}), so it needs a `query`",
                    k.name,
                    BUILT_IN.join(", ")
                ));
            }
            (Some(q), false) if q.trim().is_empty() => {
                return Err(format!("key `{key}.query` of `{}`: empty", k.name));
            }
            (Some(_), false) if k.target.is_none() || k.comparison.is_none() => {
                return Err(format!(
                    "key `{key}` of `{}`: a query KPI needs `target` and `comparison` (\">\", \">=\", \"<\", \"<=\")",
                    k.name
                ));
            }
            _ => {}
        }
        if k.database == Some(Db::Target) && cfg.target.kind == super::PlatformKind::Http {
            return Err(format!(
                "key `{key}.database` of `{}`: an HTTP platform has no database to query",
                k.name
            ));
        }
    }
    if let Some(t) = &cfg.report.daily_at
        && chrono::NaiveTime::parse_from_str(t, "%H:%M").is_err()
    {
        return Err(format!(
            "key `report.daily_at`: `{t}` is not a time of day (HH:MM, UTC)"
        ));
    }
    if let Some(t) = &cfg.report.daily_target
        && !cfg.notify.target.contains_key(t)
    {
        return Err(format!(
            "key `report.daily_target`: no `[notify.target.{t}]`"
        ));
    }
    if cfg.report.daily_target.is_some() != cfg.report.daily_at.is_some() {
        return Err(
            "key `report`: `daily_at` and `daily_target` go together (when, and where to)".into(),
        );
    }
    Ok(())
}

//! Health scoring's configuration (brief section 2, "Health score"): components, weights,
//! levels.

use serde::Deserialize;

/// Health scoring (brief section 2, "Health score"): a weighted sum of components, each 0–100.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// Minutes between scheduled scoring runs (0: only after batches and on demand).
    pub interval_minutes: u64,
    /// A change smaller than this many points counts as stable.
    pub trend_threshold: f64,
    /// Levels from best to worst: a score gets the first whose `min` it reaches.
    pub levels: Vec<HealthLevel>,
    /// The health components.
    #[serde(default)]
    pub component: Vec<HealthComponent>,
}

/// One health level: a name and the lowest score it covers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthLevel {
    /// Its name.
    pub name: String,
    /// The lowest score of the level.
    pub min: f64,
}

/// Which database a health component's query runs on.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Db {
    /// The state database.
    State,
    /// The source (legacy) database.
    Source,
    /// The platform database.
    Target,
}

/// One health component: a query returning `legacy_id` and `value` (0–100) per customer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthComponent {
    /// Its name.
    pub name: String,
    /// Percent of the score; the components' weights sum to 100.
    pub weight: f64,
    /// Which database the query runs on.
    pub database: Db,
    /// SQL run on the source.
    pub query: String,
    /// The value of a customer the query does not return.
    #[serde(default)]
    pub default: f64,
}

impl Health {
    /// The level name of `score`.
    pub fn level(&self, score: f64) -> &str {
        self.levels
            .iter()
            .find(|l| score >= l.min)
            .or(self.levels.last())
            .map_or("", |l| l.name.as_str())
    }
}

/// Checks the health section at load: weights that sum to 100, defaults within 0–100, unique
/// component names, levels best first. Errors name the key.
pub fn check(h: &Health) -> Result<(), String> {
    if !h.component.is_empty() {
        let total: f64 = h.component.iter().map(|c| c.weight).sum();
        if (total - 100.0).abs() > 1e-6 {
            let list = h
                .component
                .iter()
                .map(|c| format!("{} {}", c.name, c.weight))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(format!(
                "key `health.component`: weights must sum to 100, these sum to {total} ({list}); change the `weight`s so that they do"
            ));
        }
        for (i, c) in h.component.iter().enumerate() {
            if !(0.0..=100.0).contains(&c.default) {
                return Err(format!(
                    "key `health.component[{i}].default`: {} is not within 0-100",
                    c.default
                ));
            }
            if h.component[..i].iter().any(|o| o.name == c.name) {
                return Err(format!(
                    "key `health.component[{i}].name`: `{}` is used twice",
                    c.name
                ));
            }
        }
    }
    if h.levels.is_empty() || h.levels.windows(2).any(|w| w[0].min <= w[1].min) {
        return Err("key `health.levels`: give at least one level, best first, each `min` lower than the one before".into());
    }
    Ok(())
}

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
    /// A shipped model (`success_plan`, `playbook`; `assets/health/`): its weights and levels
    /// replace the workspace's, and only its components are scored. The workspace gives each
    /// of them a `[[health.component]]` query under the same name.
    pub model: Option<String>,
}

/// The shipped health models (brief section 2 and the customer success playbook), by name.
pub const MODELS: [(&str, &str); 2] = [
    (
        "success_plan",
        include_str!("../../assets/health/success_plan.toml"),
    ),
    (
        "playbook",
        include_str!("../../assets/health/playbook.toml"),
    ),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Model {
    components: Vec<Weighted>,
    levels: Vec<HealthLevel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Weighted {
    name: String,
    weight: f64,
}

/// Applies `h.model`, if set: the model's levels, its weights on the components of the same
/// names, and only those components, in the model's order.
///
/// Errors (naming the key): an unknown model; a component the model weighs that the workspace
/// gives no query for.
pub fn apply_model(h: &mut Health) -> Result<(), String> {
    let Some(name) = &h.model else { return Ok(()) };
    let Some((_, text)) = MODELS.iter().find(|(n, _)| n == name) else {
        return Err(format!(
            "key `health.model`: no model `{name}` (there are {})",
            MODELS.map(|(n, _)| n).join(", ")
        ));
    };
    let m: Model = toml::from_str(text).map_err(|e| format!("health model {name}: {e}"))?;
    let mut scored = Vec::new();
    for w in &m.components {
        let Some(c) = h.component.iter().find(|c| c.name == w.name) else {
            return Err(format!(
                "key `health.model`: the `{name}` model weighs `{}` ({}%), and no [[health.component]] is named `{}` (give it a query returning legacy_id and value)",
                w.name, w.weight, w.name
            ));
        };
        scored.push(HealthComponent {
            weight: w.weight,
            ..c.clone()
        });
    }
    h.component = scored;
    h.levels = m.levels;
    Ok(())
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
    /// Percent of the score; the components' weights sum to 100. With a `health.model` the
    /// model gives it.
    #[serde(default)]
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

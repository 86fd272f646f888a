//! `[plans]`: success plans opened by themselves on an engine event (`[[plans.auto]]`), and the
//! engine facts a template's milestone can be bound to (`completes_when`).

use serde::Deserialize;

/// The plan templates a customer's plan can be opened from (`assets/templates/`); the
/// `migration` template is the waves' own.
pub const CUSTOMER_TEMPLATES: [&str; 3] = ["onboarding", "recovery", "expansion"];

/// `[plans]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlansConfig {
    /// `[[plans.auto]]`: plans opened on an event.
    #[serde(default)]
    pub auto: Vec<AutoPlan>,
}

/// What opens an automatic plan.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AutoEvent {
    /// The customer was migrated (validated on the platform).
    Migrated,
    /// The customer has an open alert of `rule`.
    Alert,
}

impl AutoEvent {
    /// The name as the config and the audit log give it.
    pub fn as_str(self) -> &'static str {
        match self {
            AutoEvent::Migrated => "migrated",
            AutoEvent::Alert => "alert",
        }
    }
}

/// One `[[plans.auto]]`: on `on` (narrowed by `segment`, `tier`, and for alerts `rule`), open
/// a plan from `template` for each customer that has no plan of the template's kind yet (one
/// cancelled counts: a CSM's cancellation is not undone), owned by the customer's owner.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoPlan {
    /// The event.
    pub on: AutoEvent,
    /// One of [`CUSTOMER_TEMPLATES`].
    pub template: String,
    /// For `on = "alert"`: the alert rule's name.
    pub rule: Option<String>,
    /// Only customers of this segment.
    pub segment: Option<String>,
    /// Only customers of this tier.
    pub tier: Option<String>,
}

/// An engine fact a milestone can complete on (`completes_when` in a template).
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// The plan's customer is migrated.
    CustomerMigrated,
    /// The plan's customer's latest health score is above this.
    HealthAbove(f64),
    /// A customer of the plan's wave has started (not pending, not quarantined).
    WaveStarted,
    /// The plan's wave has customers and none is pending or in flight.
    WaveDone,
    /// The wave is done and its migrated share of the customers not quarantined meets its
    /// `target_success_rate`.
    WaveAtTarget,
    /// Every customer of the wave not quarantined got this notice (`[[communication]]` name).
    WaveNotified(String),
}

impl Fact {
    /// Reads `customer_migrated`, `health_above:80`, `wave_started`, `wave_done`,
    /// `wave_at_target`, `wave_notified:<notice>`.
    ///
    /// Errors: anything else, in words that list them.
    pub fn parse(s: &str) -> Result<Fact, String> {
        Ok(match s.split_once(':') {
            None => match s {
                "customer_migrated" => Fact::CustomerMigrated,
                "wave_started" => Fact::WaveStarted,
                "wave_done" => Fact::WaveDone,
                "wave_at_target" => Fact::WaveAtTarget,
                _ => return Err(Self::unknown(s)),
            },
            Some(("health_above", n)) => match n.trim().parse::<f64>() {
                Ok(x) if (0.0..=100.0).contains(&x) => Fact::HealthAbove(x),
                _ => return Err(format!("`{s}`: health_above takes a score 0-100")),
            },
            Some(("wave_notified", n)) if !n.trim().is_empty() => {
                Fact::WaveNotified(n.trim().to_string())
            }
            _ => return Err(Self::unknown(s)),
        })
    }

    fn unknown(s: &str) -> String {
        format!(
            "`{s}` is not an engine fact (customer_migrated, health_above:N, wave_started, \
             wave_done, wave_at_target, wave_notified:NOTICE)"
        )
    }
}

/// Checks `[[plans.auto]]` at load: a customer template, an alert rule where the event needs
/// one, segments and tiers that exist. Errors name the key.
pub fn check(cfg: &super::Config) -> Result<(), String> {
    for (i, a) in cfg.plans.auto.iter().enumerate() {
        let key = |k: &str| format!("key `plans.auto[{i}].{k}`");
        if !CUSTOMER_TEMPLATES.contains(&a.template.as_str()) {
            return Err(format!(
                "{}: no customer plan template `{}` ({})",
                key("template"),
                a.template,
                CUSTOMER_TEMPLATES.join(", ")
            ));
        }
        match (a.on, &a.rule) {
            (AutoEvent::Alert, None) => {
                return Err(format!(
                    "{}: on = \"alert\" needs the alert rule's name",
                    key("rule")
                ));
            }
            (AutoEvent::Alert, Some(r)) if !cfg.alerts.rule.iter().any(|x| &x.name == r) => {
                return Err(format!("{}: no alert rule `{r}`", key("rule")));
            }
            (AutoEvent::Migrated, Some(_)) => {
                return Err(format!("{}: only on = \"alert\" takes a rule", key("rule")));
            }
            _ => {}
        }
        if let Some(s) = &a.segment
            && !cfg.segment.iter().any(|x| &x.name == s)
        {
            return Err(format!("{}: no [[segment]] named `{s}`", key("segment")));
        }
        if let Some(t) = &a.tier
            && !cfg.tier.iter().any(|x| &x.name == t)
        {
            return Err(format!("{}: no [[tier]] named `{t}`", key("tier")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_read_and_name_what_they_take() {
        assert_eq!(Fact::parse("wave_done"), Ok(Fact::WaveDone));
        assert_eq!(Fact::parse("health_above:80"), Ok(Fact::HealthAbove(80.0)));
        assert_eq!(
            Fact::parse("wave_notified:announcement"),
            Ok(Fact::WaveNotified("announcement".into()))
        );
        assert!(Fact::parse("health_above:x").unwrap_err().contains("0-100"));
        assert!(
            Fact::parse("wave_finished")
                .unwrap_err()
                .contains("wave_done")
        );
    }
}

//! Customer tiers (brief section 2, "Customer tiers and service levels"): rules like the
//! segments' over the same facts, orthogonal to them, each with a service level per alert
//! severity (time to acknowledge, time to resolve), a CSM coverage model, an onboarding length
//! and, where it differs, the ladder's timeouts. Tiers are tried in the file's order and a
//! customer gets the first that matches; one that matches none has no tier and no service
//! level.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::AlertSeverity;
use super::segment::{self, Condition, Facts, Match};

/// One `[[tier]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRule {
    /// Its name ("Enterprise").
    pub name: String,
    /// How its customers are covered ("dedicated CSM", "shared CSM", "automated").
    pub coverage: String,
    /// Days an onboarding lasts for its customers.
    pub onboarding_days: i64,
    /// Whether any or all rules must hold.
    #[serde(rename = "match", default)]
    pub match_: Match,
    /// The rules (the segments' fields and operators); none matches everyone.
    #[serde(default)]
    pub rules: Vec<Condition>,
    /// Minutes an alert may stay unacknowledged, per severity.
    pub acknowledge_minutes: PerSeverity,
    /// Hours an alert may stay open, per severity.
    pub resolve_hours: PerSeverity,
    /// Ladder timeouts that differ for this tier, in minutes, by level name (`{ L1 = 30 }`);
    /// a level not named keeps `escalation.level[].timeout_minutes`.
    #[serde(default)]
    pub ladder_minutes: BTreeMap<String, u64>,
}

/// A figure per alert severity.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PerSeverity {
    /// For critical alerts.
    pub critical: u64,
    /// For warnings.
    pub warning: u64,
    /// For information (opportunities).
    pub info: u64,
}

impl PerSeverity {
    /// The figure for `s`.
    pub fn of(&self, s: AlertSeverity) -> u64 {
        match s {
            AlertSeverity::Critical => self.critical,
            AlertSeverity::Warning => self.warning,
            AlertSeverity::Info => self.info,
        }
    }
}

impl TierRule {
    /// The service level for `severity` as minutes to acknowledge and to resolve.
    pub fn service_level(&self, severity: AlertSeverity) -> (i64, i64) {
        (
            self.acknowledge_minutes.of(severity) as i64,
            self.resolve_hours.of(severity) as i64 * 60,
        )
    }

    /// Minutes an unacknowledged alert of this tier stays at `level` before it climbs.
    pub fn timeout(&self, level: &super::EscalationLevel) -> u64 {
        self.ladder_minutes
            .get(&level.name)
            .copied()
            .unwrap_or(level.timeout_minutes)
    }
}

/// The first of `tiers` whose rules match `f`.
pub fn assign<'t>(tiers: &'t [TierRule], f: &Facts) -> Option<&'t TierRule> {
    tiers
        .iter()
        .find(|t| segment::matches(t.match_, &t.rules, f))
}

/// Checks the tiers at load: unique names, known fields, a resolve time no shorter than the
/// acknowledge time, ladder levels that exist. Errors name the key.
pub fn check_all(tiers: &[TierRule], ladder: &super::Escalation) -> Result<(), String> {
    for (i, t) in tiers.iter().enumerate() {
        if tiers[..i].iter().any(|o| o.name == t.name) {
            return Err(format!("key `tier[{i}].name`: `{}` is used twice", t.name));
        }
        for (k, c) in t.rules.iter().enumerate() {
            segment::check_condition(c).map_err(|m| format!("key `tier[{i}].rules[{k}]`: {m}"))?;
        }
        for s in [
            AlertSeverity::Critical,
            AlertSeverity::Warning,
            AlertSeverity::Info,
        ] {
            let (ack, resolve) = t.service_level(s);
            if ack == 0 || resolve < ack {
                return Err(format!(
                    "key `tier[{i}].resolve_hours.{0}` of `{1}`: {2} h to resolve is shorter than \
                     the {3} min to acknowledge (acknowledge_minutes.{0}), or that is 0",
                    s.as_str(),
                    t.name,
                    resolve / 60,
                    ack
                ));
            }
        }
        if t.onboarding_days < 0 {
            return Err(format!(
                "key `tier[{i}].onboarding_days`: {} is negative",
                t.onboarding_days
            ));
        }
        if let Some(l) = t
            .ladder_minutes
            .keys()
            .find(|l| !ladder.level.iter().any(|x| &x.name == *l))
        {
            return Err(format!(
                "key `tier[{i}].ladder_minutes.{l}` of `{}`: no ladder level `{l}`",
                t.name
            ));
        }
    }
    Ok(())
}

/// `[mapping.owner]`: each customer's owning CSM (brief section 2: "each customer has an
/// owning CSM"). The source's answer first, then a static rule by tier, then by segment, then
/// `default`; none of them, no owner.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerMapping {
    /// SQL on the source returning `legacy_id` and `owner` (an export's support-rep column);
    /// a customer it returns several rows for gets the least owner.
    pub query: Option<String>,
    /// Owner by tier name.
    #[serde(default)]
    pub tier: BTreeMap<String, String>,
    /// Owner by segment name.
    #[serde(default)]
    pub segment: BTreeMap<String, String>,
    /// Owner of everyone else.
    pub default: Option<String>,
}

impl OwnerMapping {
    /// The owner of a customer in `tier` and `segment` whose source row gave `from_source`.
    pub fn owner(
        &self,
        from_source: Option<String>,
        tier: Option<&str>,
        segment: &str,
    ) -> Option<String> {
        from_source
            .filter(|o| !o.trim().is_empty())
            .or_else(|| tier.and_then(|t| self.tier.get(t).cloned()))
            .or_else(|| self.segment.get(segment).cloned())
            .or_else(|| self.default.clone())
    }

    /// Checks the static rules name tiers and segments that exist. Errors name the key.
    pub fn check(&self, tiers: &[TierRule], segments: &[super::SegmentRule]) -> Result<(), String> {
        if let Some(t) = self
            .tier
            .keys()
            .find(|t| !tiers.iter().any(|x| &x.name == *t))
        {
            return Err(format!(
                "key `mapping.owner.tier.{t}`: no [[tier]] named `{t}`"
            ));
        }
        if let Some(s) = self
            .segment
            .keys()
            .find(|s| !segments.iter().any(|x| &x.name == *s))
        {
            return Err(format!(
                "key `mapping.owner.segment.{s}`: no [[segment]] named `{s}`"
            ));
        }
        Ok(())
    }
}

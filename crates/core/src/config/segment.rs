//! Segment rules (brief section 2, "Segments"): their types as the config gives them, their
//! check at load, and how a customer's facts match them. Rules are tried in priority order and
//! a customer gets the first segment that matches; a segment with no rules matches everyone.

use serde::Deserialize;

/// A priority wave's rule (brief section 2, "Segments").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    /// Its name.
    pub name: String,
    /// Priority (1 first).
    pub priority: i64,
    /// First and last day of the programme in which this wave runs.
    pub window_days: [i64; 2],
    /// The support model (white-glove, priority, …).
    pub support: String,
    /// Percent of the segment's customers that must migrate successfully.
    pub target_success_rate: f64,
    /// Whether any or all rules must hold.
    #[serde(rename = "match", default)]
    pub match_: Match,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<Condition>,
}

/// How a segment's rules combine.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Match {
    /// One rule is enough.
    #[default]
    Any,
    /// Every rule must hold.
    All,
}

/// `field op value`; `field` is a canonical customer metric or `attributes.<key>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// `entity.column` the rule reads.
    pub field: String,
    /// The comparison.
    pub op: Op,
    /// The value.
    pub value: toml::Value,
}

/// A segment rule's comparison.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum Op {
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `=`
    #[serde(rename = "=")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
    /// `in` a list.
    #[serde(rename = "in")]
    In,
}

/// The facts a segment rule can test, for one customer.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// Revenue in the 12 months before the as-of date, in the source's currency.
    pub annual_revenue: f64,
    /// Repairs opened in the 12 months before the as-of date.
    pub repairs_12m: i64,
    /// Account type (individual, business, enterprise).
    pub account_type: Option<&'a str>,
    /// Country (ISO code).
    pub country: Option<&'a str>,
    /// Whether the customer needs personal assistance.
    pub special_needs: bool,
    /// Years since the customer signed up.
    pub tenure_years: f64,
    /// The customer's `attributes` object, for `attributes.<key>` fields.
    pub attributes: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

const FIELDS: &[&str] = &[
    "annual_revenue",
    "repairs_12m",
    "account_type",
    "country",
    "special_needs",
    "tenure_years",
];

/// Checks a rule at config load. Errors: an unknown field, or `in` without a list.
pub fn check_condition(c: &Condition) -> Result<(), String> {
    if !FIELDS.contains(&c.field.as_str()) && !c.field.starts_with("attributes.") {
        return Err(format!(
            "unknown field `{}` (one of {}, or attributes.<key>)",
            c.field,
            FIELDS.join(", ")
        ));
    }
    match (c.op, &c.value) {
        (Op::In, toml::Value::Array(_)) => Ok(()),
        (Op::In, _) => Err("`in` needs a list value".into()),
        (_, toml::Value::Array(_)) => Err("only `in` takes a list value".into()),
        _ => Ok(()),
    }
}

enum Fact {
    Num(f64),
    Str(String),
    Missing,
}

fn fact(f: &Facts, field: &str) -> Fact {
    let s = |v: Option<&str>| v.map_or(Fact::Missing, |s| Fact::Str(s.to_lowercase()));
    match field {
        "annual_revenue" => Fact::Num(f.annual_revenue),
        "repairs_12m" => Fact::Num(f.repairs_12m as f64),
        "tenure_years" => Fact::Num(f.tenure_years),
        "special_needs" => Fact::Num(if f.special_needs { 1.0 } else { 0.0 }),
        "account_type" => s(f.account_type),
        "country" => s(f.country),
        other => {
            let key = other.trim_start_matches("attributes.");
            match f.attributes.and_then(|m| m.get(key)) {
                Some(serde_json::Value::Number(n)) => n.as_f64().map_or(Fact::Missing, Fact::Num),
                Some(serde_json::Value::String(t)) => match t.trim().parse::<f64>() {
                    Ok(n) => Fact::Num(n),
                    Err(_) => Fact::Str(t.to_lowercase()),
                },
                Some(serde_json::Value::Bool(b)) => Fact::Num(if *b { 1.0 } else { 0.0 }),
                _ => Fact::Missing,
            }
        }
    }
}

fn literal(v: &toml::Value) -> Fact {
    match v {
        toml::Value::Integer(i) => Fact::Num(*i as f64),
        toml::Value::Float(x) => Fact::Num(*x),
        toml::Value::Boolean(b) => Fact::Num(if *b { 1.0 } else { 0.0 }),
        toml::Value::String(s) => Fact::Str(s.to_lowercase()),
        _ => Fact::Missing,
    }
}

fn equal(a: &Fact, b: &Fact) -> bool {
    match (a, b) {
        (Fact::Num(x), Fact::Num(y)) => (x - y).abs() < 1e-9,
        (Fact::Str(x), Fact::Str(y)) => x == y,
        (Fact::Num(x), Fact::Str(y)) | (Fact::Str(y), Fact::Num(x)) => {
            y.parse::<f64>().ok() == Some(*x)
        }
        _ => false,
    }
}

fn holds(c: &Condition, f: &Facts) -> bool {
    let a = fact(f, &c.field);
    if matches!(a, Fact::Missing) {
        return false;
    }
    match c.op {
        Op::In => match &c.value {
            toml::Value::Array(items) => items.iter().any(|v| equal(&a, &literal(v))),
            _ => false,
        },
        Op::Eq => equal(&a, &literal(&c.value)),
        Op::Ne => !equal(&a, &literal(&c.value)),
        op => match (a, literal(&c.value)) {
            (Fact::Num(x), Fact::Num(y)) => match op {
                Op::Gt => x > y,
                Op::Ge => x >= y,
                Op::Lt => x < y,
                _ => x <= y,
            },
            _ => false,
        },
    }
}

/// The first of `segments` (already in priority order) whose rules match `f`, or `None`
/// when none does (the config then lacks a catch-all).
pub fn assign<'s>(segments: &[&'s SegmentRule], f: &Facts) -> Option<&'s SegmentRule> {
    segments
        .iter()
        .copied()
        .find(|s| matches(s.match_, &s.rules, f))
}

/// Whether `rules` combined by `how` hold for `f`; no rules match everyone. Segments and
/// tiers (`config::tier`) are both judged by it.
pub fn matches(how: Match, rules: &[Condition], f: &Facts) -> bool {
    rules.is_empty()
        || match how {
            Match::Any => rules.iter().any(|c| holds(c, f)),
            Match::All => rules.iter().all(|c| holds(c, f)),
        }
}

/// Checks every segment at load: unique priorities, success targets that are percentages,
/// rules that name known fields. Errors name the key.
pub fn check_all(segments: &[SegmentRule]) -> Result<(), String> {
    if segments.is_empty() {
        return Err("key `segment`: at least one segment is needed".into());
    }
    let mut seen = std::collections::BTreeMap::new();
    for (i, s) in segments.iter().enumerate() {
        if let Some(j) = seen.insert(s.priority, i) {
            return Err(format!(
                "key `segment[{i}].priority`: priority {} is also used by segment[{j}]",
                s.priority
            ));
        }
        if !(0.0..=100.0).contains(&s.target_success_rate) {
            return Err(format!(
                "key `segment[{i}].target_success_rate`: {} is not a percentage (0-100)",
                s.target_success_rate
            ));
        }
        for (k, c) in s.rules.iter().enumerate() {
            if let Err(m) = check_condition(c) {
                return Err(format!("key `segment[{i}].rules[{k}]`: {m}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn cfg() -> Config {
        let t = "[workspace]\nname='t'\n[state]\nurl='sqlite::memory:'\n[source]\nurl='sqlite::memory:'\n\
                 [target]\nurl='sqlite::memory:'\n[mapping.customers]\nquery='SELECT 1'\n";
        Config::from_toml(t, std::path::Path::new("t.toml")).unwrap()
    }

    fn seg(c: &Config, f: Facts) -> String {
        assign(&c.segments_by_priority(), &f).unwrap().name.clone()
    }

    #[test]
    fn default_rules_follow_the_brief() {
        let c = cfg();
        let f = |annual_revenue, repairs_12m, account_type| Facts {
            annual_revenue,
            repairs_12m,
            account_type,
            ..Facts::default()
        };
        let cases = [
            (f(5000.01, 0, None), "VIP"),
            (f(5000.0, 0, None), "High-value"),
            (f(0.0, 11, None), "VIP"),
            (f(0.0, 10, None), "High-value"),
            (f(0.0, 0, Some("Business")), "VIP"),
            (f(999.0, 0, None), "Regular"),
            (f(0.0, 2, None), "Regular"),
            (f(199.0, 1, None), "Inactive"),
        ];
        for (facts, want) in cases {
            assert_eq!(seg(&c, facts.clone()), want, "{facts:?}");
        }
    }
}

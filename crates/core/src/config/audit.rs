//! Pre-migration audit rules (brief section 2, "Pre-migration audit") as the config gives them.

use serde::Deserialize;

use crate::schema::Entity;

/// A pre-migration audit rule (brief section 2, "Pre-migration audit").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRule {
    /// The check.
    pub check: Check,
    /// `entity.column`; a column may be an attribute the mapping keeps.
    pub field: Option<String>,
    /// Its severity.
    pub severity: Severity,
    /// Threshold for `profile_completeness` (percent).
    pub min: Option<f64>,
    /// Limit for `max_length` (characters).
    pub max: Option<u64>,
    /// The allowed values for `one_of` (compared after trimming, case-sensitively).
    pub values: Option<Vec<String>>,
    /// Name shown to operators; default `check:field`.
    pub name: Option<String>,
}

impl AuditRule {
    /// The rule's name as shown in the console and stored with findings.
    pub fn display_name(&self) -> String {
        match (&self.name, &self.field) {
            (Some(n), _) => n.clone(),
            (None, Some(f)) => format!("{}:{f}", self.check.as_str()),
            (None, None) => self.check.as_str().to_string(),
        }
    }

    /// The `(entity, column)` the rule reads. Checked at load for the checks that need one.
    pub fn target(&self) -> Option<(Entity, &str)> {
        let f = self.field.as_deref()?;
        let (e, c) = f.split_once('.')?;
        Some((Entity::parse(e)?, c))
    }
}

/// What an audit rule checks.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A value that is missing.
    Required,
    /// An email address that is not one.
    EmailFormat,
    /// A phone number that is not one.
    PhoneFormat,
    /// Not a number.
    Numeric,
    /// A negative number.
    NonNegative,
    /// A value more than one customer has.
    Duplicate,
    /// A row whose parent does not exist.
    Reference,
    /// A profile less complete than `min` percent.
    ProfileCompleteness,
    /// More than `max` characters (a runaway field: a pasted file, a 1 MB note).
    MaxLength,
    /// Control characters, terminal escape sequences among them.
    Printable,
    /// A value outside `values` (an `account_type` of `corporate` where the platform knows
    /// individual, business and enterprise).
    OneOf,
}

impl Check {
    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Required => "required",
            Check::EmailFormat => "email_format",
            Check::PhoneFormat => "phone_format",
            Check::Numeric => "numeric",
            Check::NonNegative => "non_negative",
            Check::Duplicate => "duplicate",
            Check::Reference => "reference",
            Check::ProfileCompleteness => "profile_completeness",
            Check::MaxLength => "max_length",
            Check::Printable => "printable",
            Check::OneOf => "one_of",
        }
    }
}

/// What a failed audit rule does to the customer.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Quarantine the customer.
    Block,
    /// Migrate, flagged.
    Warn,
}

impl Severity {
    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Block => "block",
            Severity::Warn => "warn",
        }
    }
}

/// Checks every audit rule at load: the checks that need a field name one, `max_length` has a
/// limit. Errors name the key.
pub fn check_all(rules: &[AuditRule]) -> Result<(), String> {
    for (i, a) in rules.iter().enumerate() {
        if a.check == Check::MaxLength && a.max.is_none() {
            return Err(format!(
                "key `audit[{i}].max`: check `max_length` needs a limit in characters, e.g. `max = 200`"
            ));
        }
        if a.check == Check::OneOf && a.values.as_ref().is_none_or(|v| v.is_empty()) {
            return Err(format!(
                "key `audit[{i}].values`: check `one_of` needs the allowed values, e.g. `values = [\"individual\", \"business\"]`"
            ));
        }
        let needs_field = a.check != Check::ProfileCompleteness;
        if needs_field && a.target().is_none() {
            return Err(format!(
                "key `audit[{i}].field`: check `{}` needs a field `entity.column` with entity one of {}",
                a.check.as_str(),
                Entity::ALL.map(|e| e.name()).join(", ")
            ));
        }
    }
    Ok(())
}

impl AuditRule {
    /// Whether the embedded defaults ship this rule (same name and severity): a default that
    /// cannot run on a workspace's mapping is skipped with a note; the workspace's own rule
    /// is an error.
    pub fn is_default(&self) -> bool {
        static DEFAULT: std::sync::LazyLock<Vec<(String, Severity)>> =
            std::sync::LazyLock::new(|| {
                #[derive(Deserialize)]
                struct Defaults {
                    audit: Vec<AuditRule>,
                }
                toml::from_str::<Defaults>(super::DEFAULTS)
                    .map(|d| {
                        d.audit
                            .iter()
                            .map(|r| (r.display_name(), r.severity))
                            .collect()
                    })
                    .unwrap_or_default()
            });
        DEFAULT
            .iter()
            .any(|(n, s)| *n == self.display_name() && *s == self.severity)
    }
}

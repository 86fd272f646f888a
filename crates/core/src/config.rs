//! Workspace configuration: embedded defaults (`assets/default.toml`) with the workspace's own
//! TOML file layered on top. Unknown keys and bad values are errors naming the file and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::schema::Entity;

/// The defaults every workspace starts from.
pub const DEFAULTS: &str = include_str!("../assets/default.toml");

/// A configuration error. Its message names the file and, where there is one, the key.
#[derive(Debug, thiserror::Error)]
#[error("config {path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    /// An error about `path`; `message` names the key and, where there is one, the fix.
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.display().to_string(),
            message: message.into(),
        }
    }
}

/// One workspace: the three databases, the mapping, and the rules the plan applies.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub workspace: Workspace,
    pub state: Database,
    pub source: Source,
    pub target: Database,
    pub mapping: Mappings,
    pub segment: Vec<SegmentRule>,
    #[serde(default)]
    pub audit: Vec<AuditRule>,
    pub runner: Runner,
    pub ui: Ui,
    pub health: Health,
    pub alerts: AlertsConfig,
    pub escalation: Escalation,
    pub notify: Notify,
    /// `[roles]`: who may do what (see [`crate::roles`]).
    #[serde(default)]
    pub roles: crate::roles::Roles,
    /// The file this was loaded from (set by [`Config::load`]).
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workspace {
    pub name: String,
    /// `YYYY-MM-DD`; revenue and repair counts are taken in the 12 months before it. Default: today.
    pub as_of: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// A sqlx URL. A relative `sqlite://` path is relative to the config file's directory.
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub url: String,
    /// SQL run on the source after a customer migrated; `?` is bound to its legacy id.
    pub on_migrated: Option<String>,
    /// SQL run on the source after a customer was rolled back ("reinstate legacy access").
    pub on_rollback: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// SQL run on the source; returns the entity's canonical columns by name, anything else is
    /// kept in `attributes`.
    pub query: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mappings {
    pub customers: Mapping,
    pub devices: Option<Mapping>,
    pub repairs: Option<Mapping>,
    pub payments: Option<Mapping>,
    pub communications: Option<Mapping>,
}

impl Mappings {
    /// The mapping query of `entity`, if the workspace maps it.
    pub fn get(&self, entity: Entity) -> Option<&str> {
        let m = match entity {
            Entity::Customers => Some(&self.customers),
            Entity::Devices => self.devices.as_ref(),
            Entity::Repairs => self.repairs.as_ref(),
            Entity::Payments => self.payments.as_ref(),
            Entity::Communications => self.communications.as_ref(),
        };
        m.map(|m| m.query.as_str())
    }
}

/// A priority wave's rule (brief section 2, "Segments").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentRule {
    pub name: String,
    pub priority: i64,
    /// First and last day of the programme in which this wave runs.
    pub window_days: [i64; 2],
    pub support: String,
    /// Percent of the segment's customers that must migrate successfully.
    pub target_success_rate: f64,
    #[serde(rename = "match", default)]
    pub match_: Match,
    #[serde(default)]
    pub rules: Vec<Condition>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Match {
    #[default]
    Any,
    All,
}

/// `field op value`; `field` is a canonical customer metric or `attributes.<key>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub field: String,
    pub op: Op,
    pub value: toml::Value,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum Op {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = "in")]
    In,
}

/// A pre-migration audit rule (brief section 2, "Pre-migration audit").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRule {
    pub check: Check,
    /// `entity.column`; a column may be an attribute the mapping keeps.
    pub field: Option<String>,
    pub severity: Severity,
    /// Threshold for `profile_completeness` (percent).
    pub min: Option<f64>,
    /// Limit for `max_length` (characters).
    pub max: Option<u64>,
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

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Required,
    EmailFormat,
    PhoneFormat,
    Numeric,
    NonNegative,
    Duplicate,
    Reference,
    ProfileCompleteness,
    /// More than `max` characters (a runaway field: a pasted file, a 1 MB note).
    MaxLength,
    /// Control characters, terminal escape sequences among them.
    Printable,
}

impl Check {
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
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Block,
    Warn,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Block => "block",
            Severity::Warn => "warn",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runner {
    /// Customers per batch.
    pub batch_size: usize,
    /// How long a claimed batch stays leased without a heartbeat, in seconds.
    pub lease_seconds: u64,
    /// Pause between pipeline steps, in milliseconds (0 in production; the demo slows down so
    /// that progress can be watched).
    pub step_delay_ms: u64,
    /// How many times a batch is retried after a database error that may pass (locked, busy,
    /// connection lost, server restarting, disk full) before the runner pauses with the reason.
    pub retries: u32,
    /// The wait before the first retry, in milliseconds; it doubles with each retry.
    pub retry_backoff_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ui {
    /// How often the console polls the state database, in milliseconds.
    pub poll_interval_ms: u64,
}

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
    #[serde(default)]
    pub component: Vec<HealthComponent>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthLevel {
    pub name: String,
    pub min: f64,
}

/// Which database a health component's query runs on.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Db {
    State,
    Source,
    Target,
}

/// One health component: a query returning `legacy_id` and `value` (0–100) per customer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthComponent {
    pub name: String,
    /// Percent of the score; the components' weights sum to 100.
    pub weight: f64,
    pub database: Db,
    pub query: String,
    /// The value of a customer the query does not return.
    #[serde(default)]
    pub default: f64,
}

/// Alert rules (brief section 2, "Health score" and "Escalation ladder").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
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
    MigrationFailed,
    Quarantined,
    RolledBack,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    Critical,
    Warning,
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

    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Critical => "critical",
            AlertSeverity::Warning => "warning",
            AlertSeverity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// The rule's name; with the customer's legacy id it forms the alert's dedup key.
    pub name: String,
    pub kind: AlertKind,
    /// Points, for `score_drop` and `score_below`.
    pub threshold: Option<f64>,
    pub severity: AlertSeverity,
    /// Per-segment thresholds that replace `threshold` for that segment's customers.
    #[serde(default)]
    pub segments: BTreeMap<String, f64>,
}

/// The escalation ladder, lowest level first.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    pub level: Vec<EscalationLevel>,
}

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

/// Outgoing notifications: an outbox in the state database, delivered over HTTP with retries.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Delivery attempts before a message is dead-lettered.
    pub max_attempts: i64,
    /// The first retry's delay in ms; it doubles each attempt, plus random jitter up to as much.
    pub backoff_ms: u64,
    /// The target that receives the customers' "your account has moved" notifications.
    pub moved: Option<String>,
    #[serde(default)]
    pub target: BTreeMap<String, Target>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A Slack incoming webhook (`text` and `blocks`).
    Slack,
    /// PagerDuty Events API v2 (needs a routing key).
    Pagerduty,
    /// A JSON webhook signed with HMAC-SHA256 (needs a secret).
    Webhook,
}

/// One notification target. Each secret (the URL, a PagerDuty routing key, an HMAC secret) is
/// given as the value itself, `*_env` (an environment variable's name) or `*_file` (a file
/// readable only by its owner; a relative path is relative to the config file's directory).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub kind: TargetKind,
    pub url: Option<String>,
    pub url_env: Option<String>,
    pub url_file: Option<PathBuf>,
    pub routing_key: Option<String>,
    pub routing_key_env: Option<String>,
    pub routing_key_file: Option<PathBuf>,
    pub secret: Option<String>,
    pub secret_env: Option<String>,
    pub secret_file: Option<PathBuf>,
}

/// A target with its secrets read.
#[derive(Clone)]
pub struct ResolvedTarget {
    pub kind: TargetKind,
    pub url: String,
    pub routing_key: Option<String>,
    pub secret: Option<String>,
}

impl std::fmt::Debug for ResolvedTarget {
    // Secrets never reach a log, even through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedTarget")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Reads one secret from its value, environment variable or owner-only file.
fn secret(
    key: &str,
    value: &Option<String>,
    env: &Option<String>,
    file: &Option<PathBuf>,
) -> Result<Option<String>, String> {
    if let Some(v) = value {
        return Ok(Some(v.clone()));
    }
    if let Some(e) = env {
        return std::env::var(e)
            .map(Some)
            .map_err(|_| format!("key `{key}_env`: environment variable {e} is not set"));
    }
    if let Some(f) = file {
        use std::os::unix::fs::PermissionsExt;
        let meta =
            std::fs::metadata(f).map_err(|e| format!("key `{key}_file`: {}: {e}", f.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "key `{key}_file`: {} is readable by group or others; run `chmod 600 {}`",
                f.display(),
                f.display()
            ));
        }
        let text = std::fs::read_to_string(f)
            .map_err(|e| format!("key `{key}_file`: {}: {e}", f.display()))?;
        return Ok(Some(text.trim().to_string()));
    }
    Ok(None)
}

impl Target {
    /// Reads the target's secrets. Errors name the key and, for files, the fix.
    pub fn resolve(&self, name: &str) -> Result<ResolvedTarget, String> {
        let k = |s: &str| format!("notify.target.{name}.{s}");
        let url = secret(&k("url"), &self.url, &self.url_env, &self.url_file)?
            .ok_or_else(|| format!("key `{}`: give url, url_env or url_file", k("url")))?;
        match url::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            // The URL is a secret: the message names the key, never the value.
            Ok(u) => {
                return Err(format!(
                    "key `{}`: not an http:// or https:// URL with a host (scheme `{}`)",
                    k("url"),
                    u.scheme()
                ));
            }
            Err(e) => return Err(format!("key `{}`: not a URL ({e})", k("url"))),
        }
        let routing_key = secret(
            &k("routing_key"),
            &self.routing_key,
            &self.routing_key_env,
            &self.routing_key_file,
        )?;
        let secret = secret(
            &k("secret"),
            &self.secret,
            &self.secret_env,
            &self.secret_file,
        )?;
        if self.kind == TargetKind::Pagerduty && routing_key.is_none() {
            return Err(format!(
                "key `{}`: a pagerduty target needs a routing key",
                k("routing_key")
            ));
        }
        if self.kind == TargetKind::Webhook && secret.is_none() {
            return Err(format!(
                "key `{}`: a webhook target needs an HMAC secret",
                k("secret")
            ));
        }
        Ok(ResolvedTarget {
            kind: self.kind,
            url,
            routing_key,
            secret,
        })
    }
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

impl Config {
    /// Loads `path` over the embedded defaults and checks it.
    ///
    /// Errors: unreadable file, TOML syntax, unknown key, bad value, or a rule that does not
    /// hold (named in the message with its key).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path, format!("cannot read: {e}")))?;
        Self::from_toml(&text, path)
    }

    /// Parses `text` as if it were the file at `path` (relative SQLite URLs and secret files
    /// resolve against its directory).
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut merged: toml::Table = DEFAULTS
            .parse()
            .map_err(|e| ConfigError::new(Path::new("assets/default.toml"), format!("{e}")))?;
        let user: toml::Table = text
            .parse()
            .map_err(|e| ConfigError::new(path, format!("{e}")))?;
        merge(&mut merged, user);
        let mut cfg: Config = serde_path_to_error::deserialize(toml::Value::Table(merged))
            .map_err(|e| {
                let key = e.path().to_string();
                ConfigError::new(path, format!("key `{key}`: {}", e.inner()))
            })?;
        cfg.path = path.to_path_buf();
        cfg.resolve_paths();
        cfg.check()?;
        Ok(cfg)
    }

    fn resolve_paths(&mut self) {
        let base = self
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for url in [
            &mut self.state.url,
            &mut self.source.url,
            &mut self.target.url,
        ] {
            *url = resolve_sqlite_url(url, &base);
        }
        // Secret files too: the console may be started from any directory.
        for t in self.notify.target.values_mut() {
            for f in [&mut t.url_file, &mut t.routing_key_file, &mut t.secret_file]
                .into_iter()
                .flatten()
            {
                if f.is_relative() {
                    *f = base.join(&*f);
                }
            }
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError::new(&self.path, m));
        if let Some(d) = &self.workspace.as_of
            && NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
        {
            return err(format!(
                "key `workspace.as_of`: `{d}` is not a date (YYYY-MM-DD)"
            ));
        }
        if self.segment.is_empty() {
            return err("key `segment`: at least one segment is needed".into());
        }
        let mut seen = BTreeMap::new();
        for (i, s) in self.segment.iter().enumerate() {
            if let Some(j) = seen.insert(s.priority, i) {
                return err(format!(
                    "key `segment[{i}].priority`: priority {} is also used by segment[{j}]",
                    s.priority
                ));
            }
            if !(0.0..=100.0).contains(&s.target_success_rate) {
                return err(format!(
                    "key `segment[{i}].target_success_rate`: {} is not a percentage (0-100)",
                    s.target_success_rate
                ));
            }
            for (k, c) in s.rules.iter().enumerate() {
                if let Err(m) = crate::engine::segment::check_condition(c) {
                    return err(format!("key `segment[{i}].rules[{k}]`: {m}"));
                }
            }
        }
        for (i, a) in self.audit.iter().enumerate() {
            if a.check == Check::MaxLength && a.max.is_none() {
                return err(format!(
                    "key `audit[{i}].max`: check `max_length` needs a limit in characters, e.g. `max = 200`"
                ));
            }
            let needs_field = a.check != Check::ProfileCompleteness;
            if needs_field && a.target().is_none() {
                return err(format!(
                    "key `audit[{i}].field`: check `{}` needs a field `entity.column` with entity one of {}",
                    a.check.as_str(),
                    Entity::ALL.map(|e| e.name()).join(", ")
                ));
            }
        }
        if self.runner.lease_seconds < MIN_LEASE_SECONDS {
            return err(format!(
                "key `runner.lease_seconds`: {} is too short; at least {MIN_LEASE_SECONDS} (a worker renews its lease every third of it, and a lease that ends while a live worker is between renewals hands its batch to another)",
                self.runner.lease_seconds
            ));
        }
        if self.runner.batch_size == 0 || self.runner.batch_size > 5000 {
            return err(format!(
                "key `runner.batch_size`: {} is out of range (1-5000)",
                self.runner.batch_size
            ));
        }
        let h = &self.health;
        if !h.component.is_empty() {
            let total: f64 = h.component.iter().map(|c| c.weight).sum();
            if (total - 100.0).abs() > 1e-6 {
                let list = h
                    .component
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.weight))
                    .collect::<Vec<_>>()
                    .join(", ");
                return err(format!(
                    "key `health.component`: weights must sum to 100, these sum to {total} ({list}); change the `weight`s so that they do"
                ));
            }
            for (i, c) in h.component.iter().enumerate() {
                if !(0.0..=100.0).contains(&c.default) {
                    return err(format!(
                        "key `health.component[{i}].default`: {} is not within 0-100",
                        c.default
                    ));
                }
                if h.component[..i].iter().any(|o| o.name == c.name) {
                    return err(format!(
                        "key `health.component[{i}].name`: `{}` is used twice",
                        c.name
                    ));
                }
            }
        }
        if h.levels.is_empty() || h.levels.windows(2).any(|w| w[0].min <= w[1].min) {
            return err("key `health.levels`: give at least one level, best first, each `min` lower than the one before".into());
        }
        for (i, r) in self.alerts.rule.iter().enumerate() {
            let needs = matches!(r.kind, AlertKind::ScoreDrop | AlertKind::ScoreBelow);
            if needs && r.threshold.is_none() {
                return err(format!(
                    "key `alerts.rule[{i}].threshold`: rule `{}` needs a threshold in points",
                    r.name
                ));
            }
            if self.alerts.rule[..i].iter().any(|o| o.name == r.name) {
                return err(format!(
                    "key `alerts.rule[{i}].name`: `{}` is used twice",
                    r.name
                ));
            }
        }
        for (name, t) in &self.notify.target {
            t.resolve(name)
                .map_err(|m| ConfigError::new(&self.path, m))?;
        }
        let known = |t: &String| self.notify.target.contains_key(t);
        for (i, l) in self.escalation.level.iter().enumerate() {
            if let Some(t) = l.targets.iter().find(|t| !known(t)) {
                return err(format!(
                    "key `escalation.level[{i}].targets`: no [notify.target.{t}]"
                ));
            }
        }
        if let Some(t) = self.notify.moved.as_ref().filter(|t| !known(t)) {
            return err(format!("key `notify.moved`: no [notify.target.{t}]"));
        }
        if self.escalation.level.is_empty() {
            return err("key `escalation.level`: the ladder needs at least one level".into());
        }
        if self.ui.poll_interval_ms < 50 {
            return err("key `ui.poll_interval_ms`: must be at least 50".into());
        }
        Ok(())
    }

    /// The plan's as-of date: `workspace.as_of`, else today (UTC).
    pub fn as_of(&self) -> NaiveDate {
        self.workspace
            .as_of
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .unwrap_or_else(|| chrono::Utc::now().date_naive())
    }

    /// Segments in priority order.
    pub fn segments_by_priority(&self) -> Vec<&SegmentRule> {
        let mut v: Vec<_> = self.segment.iter().collect();
        v.sort_by_key(|s| s.priority);
        v
    }
}

/// The shortest `runner.lease_seconds` accepted.
pub const MIN_LEASE_SECONDS: u64 = 5;

/// Makes a relative `sqlite://` path absolute against `base`; other URLs pass through.
pub fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    let Some((file, query)) = crate::db::sqlite_file(url) else {
        return url.to_string();
    };
    if file.starts_with(':') || file.starts_with('/') {
        return url.to_string();
    }
    let abs = base.join(file);
    match query {
        Some(q) => format!("sqlite://{}?{q}", abs.display()),
        None => format!("sqlite://{}", abs.display()),
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Where the config is looked for: `--config`, then `CUTOVER_CONFIG` (clap fills both into
/// `explicit`), then `cutover.toml` in the user's config dir. `None` means: use the demo.
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let p = crate::paths::config_dir()?.join("cutover.toml");
    p.exists().then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"
[workspace]
name = "t"
[state]
url = "sqlite://state.db"
[source]
url = "sqlite:///abs/legacy.db"
[target]
url = "sqlite://platform.db"
[mapping.customers]
query = "SELECT 1 AS legacy_id"
"#;

    #[test]
    fn defaults_fill_in_and_relative_urls_resolve() {
        let c = Config::from_toml(MIN, Path::new("/ws/cutover.toml")).unwrap();
        assert_eq!(c.state.url, "sqlite:///ws/state.db");
        assert_eq!(c.source.url, "sqlite:///abs/legacy.db");
        assert_eq!(c.segment.len(), 4);
        assert_eq!(c.runner.batch_size, 25);
    }

    #[test]
    fn the_example_config_documents_valid_keys() {
        let text = include_str!("../../../config.example.toml");
        // Secrets come from the environment, which a unit test cannot set: the file as it
        // stands fails on the first one, naming it.
        let e = Config::from_toml(text, Path::new("/ws/config.example.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not set"), "{e}");
        let text = text
            .replace(
                "url_env = \"CUTOVER_SLACK_URL\"",
                "url = \"http://127.0.0.1:9/slack\"",
            )
            .replace(
                "routing_key_env = \"CUTOVER_PD_ROUTING_KEY\"",
                "routing_key = \"k\"",
            )
            .replace("secret_env = \"CUTOVER_CRM_SECRET\"", "secret = \"s\"");
        let c = Config::from_toml(&text, Path::new("/ws/config.example.toml")).unwrap();
        assert_eq!(c.notify.target.len(), 3);
        assert_eq!(c.escalation.level[1].targets, ["support-slack", "oncall"]);
        assert_eq!(c.segment.len(), 2);
        assert!(c.source.on_rollback.is_some());
        assert_eq!(c.audit.len(), 5);
        assert_eq!(c.health.component.len(), 2);
        assert_eq!(c.health.level(59.9), "Fair");
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let text = format!("{MIN}\n[runner]\nbatch_sizee = 3\n");
        let e = Config::from_toml(&text, Path::new("/ws/c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/ws/c.toml"), "{e}");
        assert!(e.contains("batch_sizee"), "{e}");
    }

    #[test]
    fn bad_operator_names_the_segment_rule() {
        let text = format!(
            "{MIN}\n[[segment]]\nname='x'\npriority=1\nwindow_days=[1,2]\nsupport='s'\ntarget_success_rate=90.0\nrules=[{{field='annual_revenue', op='=>', value=1}}]\n"
        );
        let e = Config::from_toml(&text, Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("segment[0].rules[0].op"), "{e}");
    }
}

//! Workspace configuration: embedded defaults (`assets/default.toml`) with the workspace's own
//! TOML file layered on top. Unknown keys and bad values are errors naming the file and the key.

mod alerts;
mod audit;
mod communication;
mod health;
mod kpi;
mod notify;
pub mod plans;
mod platform;
mod programme;
pub mod segment;
#[cfg(test)]
mod tests;
pub mod tier;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

pub use alerts::{AlertKind, AlertRule, AlertSeverity, AlertsConfig, Escalation, EscalationLevel};
pub use audit::{AuditRule, Check, Severity};
pub use communication::{Communication, From as CommsFrom, SENT_BY_ENGINE};
pub use health::{Db, Health, HealthComponent, HealthLevel};
pub use kpi::{BUILT_IN as KPI_BUILT_IN, Comparison, Kpi, ReportConfig};
pub(crate) use notify::secret;
pub use notify::{Notify, ResolvedTarget, Target, TargetKind};
pub use platform::{Kind as PlatformKind, OnExisting, Platform, PlatformEntity};
pub use programme::Programme;
pub use segment::{Condition, Match, Op, SegmentRule};
pub use tier::{OwnerMapping, PerSeverity, TierRule};

use crate::schema::Entity;

/// The defaults every workspace starts from.
pub const DEFAULTS: &str = include_str!("../../assets/default.toml");

/// A configuration error. Its message names the file and, where there is one, the key.
#[derive(Debug, thiserror::Error)]
#[error("config {path}: {message}")]
pub struct ConfigError {
    /// The config file the error is about.
    pub path: String,
    /// What is wrong, naming the key and, where there is one, the fix.
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
    /// `[workspace]`.
    pub workspace: Workspace,
    /// `[state]`: the state database.
    pub state: Database,
    /// `[source]`: the legacy database.
    pub source: Source,
    /// `[target]`: the platform database, managed or mapped.
    pub target: Platform,
    /// `[mapping]`: the source queries.
    pub mapping: Mappings,
    /// `[[segment]]`: the priority waves' rules, tried in priority order.
    pub segment: Vec<SegmentRule>,
    /// `[[tier]]`: the customer tiers and their service levels, tried in order (brief section
    /// 2, "Customer tiers and service levels"; orthogonal to the segments).
    #[serde(default)]
    pub tier: Vec<TierRule>,
    /// `[[audit]]`: the pre-migration audit rules.
    #[serde(default)]
    pub audit: Vec<AuditRule>,
    /// `[runner]`: claiming, leases, retries.
    pub runner: Runner,
    /// `[ui]`: the console.
    pub ui: Ui,
    /// `[health]`: scoring.
    pub health: Health,
    /// `[alerts]`: the alert rules.
    pub alerts: AlertsConfig,
    /// `[escalation]`: the ladder.
    pub escalation: Escalation,
    /// `[notify]`: outgoing notifications.
    pub notify: Notify,
    /// `[roles]`: who may do what (see [`crate::roles`]).
    #[serde(default)]
    pub roles: crate::roles::Roles,
    /// `[programme]`: the calendar (day 1 and the length); none, no calendar.
    #[serde(default)]
    pub programme: Option<Programme>,
    /// `[[communication]]`: the customers' notices.
    #[serde(default)]
    pub communication: Vec<Communication>,
    /// `[[kpi]]`: the programme's KPIs (the built-in ones' targets, and the workspace's own).
    #[serde(default)]
    pub kpi: Vec<Kpi>,
    /// `[report]`: the daily report.
    #[serde(default)]
    pub report: ReportConfig,
    /// `[plans]`: plans opened on engine events.
    #[serde(default)]
    pub plans: plans::PlansConfig,
    /// The file this was loaded from (set by [`Config::load`]).
    #[serde(skip)]
    pub path: PathBuf,
}

/// `[workspace]`: its name and the plan's as-of date.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workspace {
    /// Its name.
    pub name: String,
    /// `YYYY-MM-DD`; revenue and repair counts are taken in the 12 months before it. Default: today.
    pub as_of: Option<String>,
}

/// A database the workspace uses: its sqlx URL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// A sqlx URL. A relative `sqlite://` path is relative to the config file's directory.
    pub url: String,
}

/// `[source]`: the legacy database and its optional hooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The URL.
    pub url: String,
    /// SQL run on the source after a customer migrated; `?` is bound to its legacy id.
    pub on_migrated: Option<String>,
    /// SQL run on the source after a customer was rolled back ("reinstate legacy access").
    pub on_rollback: Option<String>,
}

/// One entity's mapping: a query on the source returning the canonical columns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// SQL run on the source; returns the entity's canonical columns by name, anything else is
    /// kept in `attributes`.
    pub query: String,
}

/// `[mapping.<entity>]`: the source queries, one per entity (only customers is required).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mappings {
    /// The customers mapping (the one every workspace needs).
    pub customers: Mapping,
    /// The devices mapping.
    pub devices: Option<Mapping>,
    /// The repairs mapping.
    pub repairs: Option<Mapping>,
    /// The payments mapping.
    pub payments: Option<Mapping>,
    /// The communications mapping.
    pub communications: Option<Mapping>,
    /// `[mapping.owner]`: each customer's owning CSM.
    #[serde(default)]
    pub owner: OwnerMapping,
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

/// `[runner]`: how batches are claimed, run and retried.
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
    /// How many of a batch's customers a pipeline step reads and writes at once (source rows,
    /// platform rows): what bounds a worker's memory, whatever `batch_size`. A batch of at
    /// most this many reads its source rows once; a larger one reads them again at each step.
    pub step_chunk: usize,
    /// With a `[programme]`, claim a wave's batches only from its window's first day on (a
    /// wave behind keeps going). `cutover run --segment NAME` still starts one by hand, and
    /// the audit log records it.
    #[serde(default)]
    pub respect_windows: bool,
}

/// `[ui]`: the console.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ui {
    /// How often the console polls the state database, in milliseconds.
    pub poll_interval_ms: u64,
}

impl Runner {
    /// Checks the runner section at load. Errors name the key.
    fn check(&self) -> Result<(), String> {
        if self.lease_seconds < MIN_LEASE_SECONDS {
            return Err(format!(
                "key `runner.lease_seconds`: {} is too short; at least {MIN_LEASE_SECONDS} (a worker renews its lease every third of it, and a lease that ends while a live worker is between renewals hands its batch to another)",
                self.lease_seconds
            ));
        }
        if self.batch_size == 0 || self.batch_size > 5000 {
            return Err(format!(
                "key `runner.batch_size`: {} is out of range (1-5000)",
                self.batch_size
            ));
        }
        if self.step_chunk == 0 || self.step_chunk > 5000 {
            return Err(format!(
                "key `runner.step_chunk`: {} is out of range (1-5000)",
                self.step_chunk
            ));
        }
        Ok(())
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
        health::apply_model(&mut cfg.health).map_err(|m| ConfigError::new(path, m))?;
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
        self.check_sections()
            .map_err(|m| ConfigError::new(&self.path, m))
    }

    /// Each section's rules, in the file's order; the first that fails names its key.
    fn check_sections(&self) -> Result<(), String> {
        if let Some(d) = &self.workspace.as_of
            && NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
        {
            return Err(format!(
                "key `workspace.as_of`: `{d}` is not a date (YYYY-MM-DD)"
            ));
        }
        segment::check_all(&self.segment)?;
        tier::check_all(&self.tier, &self.escalation)?;
        self.mapping.owner.check(&self.tier, &self.segment)?;
        programme::check(&self.programme, &self.segment)?;
        audit::check_all(&self.audit)?;
        self.runner.check()?;
        health::check(&self.health)?;
        notify::check(&self.notify)?;
        self.target.check(&self.mapping)?;
        if self.target.kind == PlatformKind::Http
            && let Some(c) = self
                .health
                .component
                .iter()
                .find(|c| c.database == health::Db::Target)
        {
            return Err(format!(
                "key `health.component.database` of `{}`: \"target\" queries the platform's \
                 database, and an HTTP platform (`target.kind = \"http\"`) has none",
                c.name
            ));
        }
        alerts::check(&self.alerts, &self.escalation, &self.notify)?;
        communication::check(self)?;
        kpi::check(self)?;
        plans::check(self)?;
        if self.ui.poll_interval_ms < 50 {
            return Err("key `ui.poll_interval_ms`: must be at least 50".into());
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

    /// The tier named `name`, if the config has it.
    pub fn tier(&self, name: &str) -> Option<&TierRule> {
        self.tier.iter().find(|t| t.name == name)
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

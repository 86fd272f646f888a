//! The workspace context every part of the engine works in ([`Ctx`]: the config, the three
//! databases, who the operator is, where notices go), and the notices themselves. It sits
//! below the engine, health, alerts, notify, plans and reports, which all take a `&Ctx`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use crate::config::{Config, ConfigError};
use crate::roles::{Action, Role};
use crate::{db, target};

/// Everything the engine needs: the config and the three databases.
#[derive(Clone)]
pub struct Ctx {
    /// The workspace config.
    pub cfg: Arc<Config>,
    /// The state database's pool.
    pub state: crate::db::Pool,
    /// The legacy database.
    pub source: crate::source::Source,
    /// The platform database's pool. With an HTTP platform (`target.kind = "http"`, see
    /// [`Ctx::api`]) there is no platform database: this is an empty in-memory SQLite database
    /// that no code path reads as the platform (each checks `api` first).
    pub target: crate::db::Pool,
    /// The platform's HTTP API, when `target.kind = "http"`.
    pub api: Option<Arc<target::http::Api>>,
    /// Where each entity sits on the platform: cutover's own tables, or the mapped schema of
    /// `[target.entity.*]`, checked against the catalogue when the workspace was opened.
    pub layout: Arc<target::Layout>,
    /// The platform through its native driver, read-only, one connection, for the health
    /// components that query it (`database = "target"`): the `Any` pool cannot decode
    /// PostgreSQL's `NUMERIC`, `TIMESTAMPTZ` or `JSONB`. `None` when no component does.
    pub target_reader: Option<crate::source::Source>,
    /// The operator recorded in the audit log and runner changes, whose `[roles]` entry
    /// grants what they may do: the OS user of this process's uid on a SQLite state, the
    /// database's authenticated login (`session_user`) on a PostgreSQL state ([`identity`]).
    pub actor: String,
    /// The OS user running this process, shown beside [`Ctx::actor`] when they differ; it
    /// grants nothing on a PostgreSQL state.
    pub os_user: String,
    /// This process's worker id, `host:pid`, recorded on leases.
    pub worker: String,
    /// Where small progress notices go (the console listens; the CLI prints them).
    pub notices: Option<mpsc::UnboundedSender<Notice>>,
    /// Workspace files open to group or others, one sentence each (see
    /// [`crate::files::exposed`]): the command line prints them, the console shows them.
    pub warnings: Vec<String>,
    /// The state's and platform's SQLite files as opened, checked at every step boundary.
    watched: Arc<Vec<crate::files::Watched>>,
    /// Set to ask this process's worker to stop at its next step boundary and give its lease
    /// back (the console does it when it quits); the shared runner state is left alone.
    pub stop: Arc<AtomicBool>,
    /// When this process last wrote the runner's heartbeat, in ms since the Unix epoch (0:
    /// never); see `engine::lease::heartbeat`.
    pub(crate) heartbeat_ms: Arc<std::sync::atomic::AtomicI64>,
}

/// A small message from the engine to whoever watches it.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A batch was claimed, with its customers.
    BatchClaimed {
        /// The batch id.
        batch: String,
        /// Customers in it.
        customers: usize,
    },
    /// A batch finished, with what happened to its customers.
    BatchDone {
        /// The batch id.
        batch: String,
        /// Customers migrated.
        migrated: usize,
        /// Customers failed.
        failed: usize,
        /// Customers quarantined.
        quarantined: usize,
    },
    /// The run stopped, and why.
    Stopped {
        /// Why.
        reason: String,
    },
    /// Another worker or a rollback took `batch`'s lease: this worker gave the batch up.
    LeaseLost {
        /// The batch id.
        batch: String,
    },
    /// Nothing to claim, but `batch` is leased (by another worker, or by one that died) until
    /// its lease ends in `seconds`: the run waits for it to finish or come back.
    Waiting {
        /// The batch id.
        batch: String,
        /// Seconds.
        seconds: i64,
    },
    /// Something failed.
    Error(String),
}

/// One line of text per notice, shared by the command line (stderr) and the console (its
/// message line), so both say the same thing.
impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::BatchClaimed { batch, customers } => {
                write!(f, "batch {batch}: {customers} customers")
            }
            Notice::BatchDone {
                batch,
                migrated,
                failed,
                quarantined,
            } => write!(
                f,
                "batch {batch} done: {migrated} migrated, {failed} failed, {quarantined} quarantined"
            ),
            Notice::Stopped { reason } => write!(f, "runner stopped: {reason}"),
            Notice::LeaseLost { batch } => write!(
                f,
                "batch {batch} given up: another worker or a rollback took its lease; nothing of ours was written after that"
            ),
            Notice::Waiting { batch, seconds } => write!(
                f,
                "waiting for batch {batch}: another worker holds it, for {seconds} s more unless it finishes"
            ),
            Notice::Error(e) => write!(f, "error: {e}"),
        }
    }
}

impl Ctx {
    /// Opens an existing workspace's databases. `readonly` opens the state database read-only.
    /// Nothing is created: a SQLite database whose file does not exist is a config error.
    ///
    /// Errors: a [`ConfigError`] naming the key (exit status 2) when a database is missing or
    /// cannot be opened (the message names which one and its URL, password masked), or when a
    /// mapping query does not return an entity's required columns.
    pub async fn open(cfg: Config, readonly: bool) -> eyre::Result<Self> {
        Self::open_with(cfg, readonly, false).await
    }

    /// [`Ctx::open`] for a workspace being created (`cutover demo`) or planned for the first
    /// time: a missing state or platform SQLite file is created, private to its user.
    ///
    /// Errors: as [`Ctx::open`]; the source must exist.
    pub async fn create(cfg: Config) -> eyre::Result<Self> {
        Self::open_with(cfg, false, true).await
    }

    /// Whether the workspace's state is a SQLite file not created yet: a new workspace, whose
    /// first `cutover plan` may create its databases ([`Ctx::create`]).
    pub fn is_new(cfg: &Config) -> bool {
        sqlite_path(&cfg.state.url).is_some_and(|p| !p.exists())
    }

    async fn open_with(cfg: Config, readonly: bool, create: bool) -> eyre::Result<Self> {
        let bad = |key: &str, e: eyre::Report| {
            ConfigError::new(
                &cfg.path,
                format!("key `{key}`: {e:#}; fix the URL or make the database reachable"),
            )
        };
        let missing = |key: &str, url: &str, may_create: bool| -> eyre::Result<()> {
            match sqlite_path(url).filter(|p| !may_create && !p.exists()) {
                Some(p) => Err(ConfigError::new(
                    &cfg.path,
                    format!(
                        "key `{key}`: the database {} does not exist; fix the URL (only `cutover demo` \
                         and the first `cutover plan` of a new workspace create databases)",
                        p.display()
                    ),
                )
                .into()),
                None => Ok(()),
            }
        };
        // The source and the mappings on it first: they are what a config's author wrote.
        missing("source.url", &cfg.source.url, false)?;
        // The source is only written by its hooks; without them it is opened read-only.
        let hooks = cfg.source.on_migrated.is_some() || cfg.source.on_rollback.is_some();
        let source = crate::source::Source::open(&cfg.source.url, readonly || !hooks)
            .await
            .map_err(|e| bad("source.url", e))?;
        crate::source::check_mappings(&source, &cfg.mapping)
            .await
            .map_err(|m| ConfigError::new(&cfg.path, m))?;
        missing("state.url", &cfg.state.url, create)?;
        let state = db::open_state(&cfg.state.url, create, readonly)
            .await
            .map_err(|e| bad("state.url", e))?;
        let http = cfg.target.kind == crate::config::PlatformKind::Http;
        let (target, layout, api) = if http {
            let api =
                target::http::Api::new(&cfg.target).map_err(|m| ConfigError::new(&cfg.path, m))?;
            let none = db::open("sqlite::memory:", "target", false, false)
                .await
                .map_err(|e| bad("target.url", e))?;
            (none, target::Layout::http(&cfg.target), Some(Arc::new(api)))
        } else {
            missing("target.url", &cfg.target.url, create)?;
            let target = db::open(&cfg.target.url, "target", create, readonly)
                .await
                .map_err(|e| bad("target.url", e))?;
            // A mapped platform is another team's: cutover never runs DDL there.
            if !readonly && cfg.target.managed {
                target::ensure_schema(&target).await?;
            }
            let layout = target::Layout::resolve(&target, &cfg.target)
                .await
                .map_err(|e| ConfigError::new(&cfg.path, format!("{e:#}")))?;
            (target, layout, None)
        };
        let target_reader = if cfg
            .health
            .component
            .iter()
            .any(|c| c.database == crate::config::Db::Target)
        {
            Some(
                crate::source::Source::open_with(&cfg.target.url, true, 1)
                    .await
                    .map_err(|e| bad("target.url", e))?,
            )
        } else {
            None
        };
        let dbs: Vec<(&'static str, PathBuf)> = [
            ("state.url", &cfg.state.url),
            ("source.url", &cfg.source.url),
            ("target.url", &cfg.target.url),
        ]
        .into_iter()
        .filter_map(|(k, u)| Some((k, sqlite_path(u)?)))
        .collect();
        let mut files: Vec<PathBuf> = dbs.iter().map(|(_, p)| p.clone()).collect();
        files.push(cfg.path.clone());
        let warnings = crate::files::exposed(&files);
        for w in &warnings {
            tracing::warn!("{w}");
        }
        let watched = dbs
            .iter()
            .filter(|(k, _)| *k != "source.url")
            .filter_map(|(k, p)| crate::files::Watched::new(k, p))
            .collect();
        let os_user = operator();
        let actor = identity(&state, &os_user)
            .await
            .map_err(|e| bad("state.url", e))?;
        Ok(Self {
            cfg: Arc::new(cfg),
            state,
            source,
            target,
            api,
            layout: Arc::new(layout),
            target_reader,
            actor,
            os_user,
            worker: format!("{}:{}", hostname(), std::process::id()),
            notices: None,
            stop: Arc::default(),
            heartbeat_ms: Arc::default(),
            warnings,
            watched: Arc::new(watched),
        })
    }

    /// The platform's rows of the customers `ids` (legacy ids), canonical, per entity and
    /// customer: read from its database, or through its API.
    ///
    /// Errors: the database or the API failing, or a row that does not normalise.
    pub async fn platform_rows(
        &self,
        ids: &[String],
    ) -> eyre::Result<
        std::collections::HashMap<
            crate::schema::Entity,
            std::collections::HashMap<String, Vec<target::TargetRow>>,
        >,
    > {
        use tracing::Instrument;
        match &self.api {
            Some(api) => target::http::read_all(api, &self.layout, ids).await,
            None => {
                target::read_all(&self.target, &self.layout, ids)
                    .instrument(crate::db::Scope::Platform.span())
                    .await
            }
        }
    }

    /// Errors when a SQLite database of the state or the platform disappeared (deleted,
    /// moved, replaced) since the workspace was opened: the engine must stop rather than write
    /// into a file nobody will see again. Costs one `stat` per database.
    pub fn check_files(&self) -> eyre::Result<()> {
        self.watched
            .iter()
            .try_for_each(crate::files::Watched::check)
    }

    /// Whether this worker was asked to stop ([`Ctx::stop`]).
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub(crate) fn notice(&self, n: Notice) {
        if let Some(tx) = &self.notices {
            let _ = tx.send(n);
        }
    }

    /// The operator's role, from `[roles]`; the engine checks it before every write action.
    pub fn role(&self) -> Role {
        self.cfg.roles.role_of(&self.actor)
    }

    /// Checks that this process's operator may do `action` on `scope`; call it before the
    /// action's transaction opens. A refusal is itself recorded: one audit row with the result
    /// `refused`, in its own transaction, wherever the state can be written.
    ///
    /// Errors: [`crate::roles::Denied`], naming the operator, their role and who may.
    pub async fn require(&self, action: Action, scope: &str) -> eyre::Result<Role> {
        self.require_as(&self.actor, action, scope).await
    }

    /// [`Ctx::require`] for `actor`, an operator acting by name (alerts, plans).
    pub async fn require_as(&self, actor: &str, action: Action, scope: &str) -> eyre::Result<Role> {
        match self.cfg.roles.require(actor, action) {
            Ok(role) => Ok(role),
            Err(denied) => {
                self.record_refusal(&denied, scope).await;
                Err(denied.into())
            }
        }
    }

    /// Writes the audit row of a refused action; a state that cannot be written (read-only,
    /// down) only costs the row, logged.
    async fn record_refusal(&self, denied: &crate::roles::Denied, scope: &str) {
        let r: eyre::Result<()> = async {
            let mut tx = db::write_tx(&self.state).await?;
            let entry = db::AuditEntry {
                actor: &denied.user,
                role: denied.role.as_str(),
                action: denied.action.name(),
                scope,
                reason: "",
                result: "refused",
                detail: &denied.to_string(),
            };
            db::audit(&mut tx, entry).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        if let Err(e) = r {
            tracing::warn!(error = %format!("{e:#}"), "the refusal could not be recorded in the audit log");
        }
    }

    /// Appends this operator's audit row for `action` on `scope` to `tx`, the action's own
    /// transaction.
    pub async fn audit(
        &self,
        tx: &mut db::Conn,
        action: &str,
        scope: &str,
        reason: &str,
        detail: &str,
    ) -> eyre::Result<()> {
        self.audit_as(tx, &self.actor, action, scope, reason, detail)
            .await
    }

    /// Appends `actor`'s audit row for `action` on `scope` to `tx`, the action's own
    /// transaction, with the role `[roles]` gives them (`system` for [`crate::roles::SYSTEM`]).
    /// For actions done on an operator's behalf by name (alerts, plans).
    pub async fn audit_as(
        &self,
        tx: &mut db::Conn,
        actor: &str,
        action: &str,
        scope: &str,
        reason: &str,
        detail: &str,
    ) -> eyre::Result<()> {
        let role = if actor == crate::roles::SYSTEM {
            "system"
        } else {
            self.cfg.roles.role_of(actor).as_str()
        };
        let entry = db::AuditEntry {
            actor,
            role,
            action,
            scope,
            reason,
            result: "ok",
            detail,
        };
        db::audit(tx, entry).await?;
        Ok(())
    }
}

/// The OS user running this process: the password database's name for its uid (`uid N` when
/// it has none). Never an environment variable: `USER` and `LOGNAME` are the user's to set.
pub fn operator() -> String {
    let uid = rustix::process::getuid();
    // whoami names the effective uid; a set-uid binary would be named for its owner, so it
    // is only trusted when the two agree.
    if uid == rustix::process::geteuid()
        && let Ok(name) = whoami::username()
        && !name.is_empty()
    {
        return name;
    }
    format!("uid {}", uid.as_raw())
}

/// The identity that counts for `[roles]` on the state `state`: on PostgreSQL the database's
/// authenticated login (`session_user`), which operators on many machines cannot choose for
/// themselves if the server authenticates them (password, certificate or peer); on SQLite the
/// OS user `os_user`, whom the file's permissions already admit.
///
/// Errors: the state database failing the query.
pub async fn identity(state: &db::Pool, os_user: &str) -> eyre::Result<String> {
    Ok(db::login(state)
        .await?
        .unwrap_or_else(|| os_user.to_string()))
}

/// The file of a SQLite URL, if it names one (not `:memory:`).
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let (f, _) = db::sqlite_file(url)?;
    (!f.is_empty() && !f.starts_with(":memory:")).then(|| PathBuf::from(f))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

//! The migration engine: planner, batch runner, pipeline steps and rollback. It never imports
//! the TUI; the console and the headless CLI are both its clients.

pub mod lease;
pub mod pipeline;
pub mod plan;
pub mod rollback;
pub mod run;
pub mod segment;
pub mod status;
pub mod validate;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

use crate::config::{Config, ConfigError};
use crate::roles::{Action, Role};
use crate::{clock, db, target};

/// Everything the engine needs: the config and the three databases.
#[derive(Clone)]
pub struct Ctx {
    pub cfg: Arc<Config>,
    pub state: crate::db::Pool,
    pub source: crate::source::Source,
    pub target: crate::db::Pool,
    /// The operator (OS user) recorded in the audit log and runner changes.
    pub actor: String,
    /// This process's worker id, `host:pid`, recorded on leases.
    pub worker: String,
    /// Where small progress notices go (the console listens; the CLI prints them).
    pub notices: Option<mpsc::UnboundedSender<Notice>>,
    /// Set to ask this process's worker to stop at its next step boundary and give its lease
    /// back (the console does it when it quits); the shared runner state is left alone.
    pub stop: Arc<AtomicBool>,
}

/// A small message from the engine to whoever watches it.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    BatchClaimed {
        batch: String,
        customers: usize,
    },
    BatchDone {
        batch: String,
        migrated: usize,
        failed: usize,
        quarantined: usize,
    },
    Stopped {
        reason: String,
    },
    /// Another worker or a rollback took `batch`'s lease: this worker gave the batch up.
    LeaseLost {
        batch: String,
    },
    /// Nothing to claim, but `batch` is leased (by another worker, or by one that died) until
    /// its lease ends in `seconds`: the run waits for it to finish or come back.
    Waiting {
        batch: String,
        seconds: i64,
    },
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
    /// Opens the workspace's databases. `readonly` opens the state database read-only.
    ///
    /// Errors: a database that cannot be opened; the message names which one and its URL.
    ///
    /// A database that cannot be opened, or a mapping query that does not return an entity's
    /// required columns, is a [`ConfigError`] naming the key (exit status 2).
    pub async fn open(cfg: Config, readonly: bool) -> eyre::Result<Self> {
        let bad = |key: &str, e: eyre::Report| {
            ConfigError::new(
                &cfg.path,
                format!("key `{key}`: {e:#}; fix the URL or make the database reachable"),
            )
        };
        let state = db::open_state(&cfg.state.url, true, readonly)
            .await
            .map_err(|e| bad("state.url", e))?;
        // The source is only written by its hooks; without them it is opened read-only.
        let hooks = cfg.source.on_migrated.is_some() || cfg.source.on_rollback.is_some();
        let source = crate::source::Source::open(&cfg.source.url, readonly || !hooks)
            .await
            .map_err(|e| bad("source.url", e))?;
        let target = db::open(&cfg.target.url, "target", !readonly, readonly)
            .await
            .map_err(|e| bad("target.url", e))?;
        crate::source::check_mappings(&source, &cfg.mapping)
            .await
            .map_err(|m| ConfigError::new(&cfg.path, m))?;
        if !readonly {
            target::ensure_schema(&target).await?;
        }
        let actor = operator();
        Ok(Self {
            cfg: Arc::new(cfg),
            state,
            source,
            target,
            actor,
            worker: format!("{}:{}", hostname(), std::process::id()),
            notices: None,
            stop: Arc::default(),
        })
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

    /// Checks that this process's operator may do `action`; call it before the action's
    /// transaction opens, so a refusal writes nothing.
    ///
    /// Errors: [`crate::roles::Denied`], naming the operator, their role and who may.
    pub fn require(&self, action: Action) -> eyre::Result<Role> {
        Ok(self.cfg.roles.require(&self.actor, action)?)
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

/// The OS user running this process.
pub fn operator() -> String {
    if let Ok(u) = std::env::var("USER").or_else(|_| std::env::var("LOGNAME"))
        && !u.is_empty()
    {
        return u;
    }
    // No login variables (cron, a bare `ssh host cmd`): the owner of this process, by name.
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return "unknown".into();
    };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// The shared runner state (brief 3.1 `runner.state`), seen by every console and CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunnerState {
    Idle,
    Running,
    Paused,
    Halted,
}

impl RunnerState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunnerState::Idle => "idle",
            RunnerState::Running => "running",
            RunnerState::Paused => "paused",
            RunnerState::Halted => "halted",
        }
    }

    pub fn parse(s: &str) -> RunnerState {
        match s {
            "running" => RunnerState::Running,
            "paused" => RunnerState::Paused,
            "halted" => RunnerState::Halted,
            _ => RunnerState::Idle,
        }
    }
}

/// Reads the runner state.
pub async fn runner_state(state: &crate::db::Pool) -> eyre::Result<RunnerState> {
    let s: String = sqlx::query_scalar("SELECT state FROM runner WHERE id = 1")
        .fetch_one(state)
        .await?;
    Ok(RunnerState::parse(&s))
}

/// The permission a runner change needs: leaving a halt is a release (on-call), entering one a
/// halt; starting, resuming from a pause and going idle when the queue empties are a start.
pub fn runner_action(from: RunnerState, to: RunnerState) -> Action {
    match (from, to) {
        (_, RunnerState::Halted) => Action::Halt,
        (RunnerState::Halted, _) => Action::Release,
        (_, RunnerState::Paused) => Action::Pause,
        _ => Action::Start,
    }
}

/// Sets the runner state and records who did it and why in the runner row and the audit log.
///
/// Errors: the operator's role may not make this change ([`runner_action`]); nothing is
/// written then.
pub async fn set_runner_state(ctx: &Ctx, to: RunnerState, reason: &str) -> eyre::Result<()> {
    let mut tx = db::write_tx(&ctx.state).await?;
    let from: String = sqlx::query_scalar("SELECT state FROM runner WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?;
    if from != to.as_str() {
        ctx.require(runner_action(RunnerState::parse(&from), to))?;
        let now = clock::now();
        sqlx::query(
            "UPDATE runner SET state = $1, reason = $2, changed_by = $3, changed_at = $4 WHERE id = 1",
        )
        .bind(to.as_str())
        .bind(reason.to_string())
        .bind(ctx.actor.clone())
        .bind(now.clone())
        .execute(&mut *tx)
        .await?;
        let detail = format!("{from} -> {}: {reason}", to.as_str());
        ctx.audit(&mut tx, to.as_str(), "runner", reason, &detail)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

//! The shared runner state (brief 3.1 `runner.state`) and the gate every worker passes at each
//! step boundary.

use std::time::Duration;

use crate::ctx::Ctx;
use crate::roles::Action;
use crate::{clock, db};

use super::lease::{self, Lease, heartbeat};

/// The shared runner state (brief 3.1 `runner.state`), seen by every console and CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunnerState {
    /// Nothing to do.
    Idle,
    /// Workers claim and drive batches.
    Running,
    /// Workers wait at their next step boundary.
    Paused,
    /// Stopped by an operator: nothing is claimed until released.
    Halted,
}

impl RunnerState {
    /// The name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            RunnerState::Idle => "idle",
            RunnerState::Running => "running",
            RunnerState::Paused => "paused",
            RunnerState::Halted => "halted",
        }
    }

    /// The value named `s`, if it is one.
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
        let action = runner_action(RunnerState::parse(&from), to);
        if !ctx.role().may(action) {
            // The refusal's own audit row needs the write lock this transaction holds.
            drop(tx);
            ctx.require(action, "runner").await?;
            eyre::bail!("runner: {} is not allowed", action.describe());
        }
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
        let mut detail = format!("{from} -> {}: {reason}", to.as_str());
        if to == RunnerState::Halted {
            // The crisis notice goes in the halt's own commit: a halt is never without it.
            let day = ctx
                .cfg
                .programme
                .as_ref()
                .map(|p| p.day_of(chrono::Utc::now().date_naive()));
            let told = crate::comms::crisis(ctx, &mut tx, &now, day).await?;
            if told > 0 {
                detail.push_str(&format!(" ({told} crisis notices)"));
            }
        }
        ctx.audit(&mut tx, to.as_str(), "runner", reason, &detail)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What the runner state says to do at a step boundary.
pub(crate) enum Gate {
    Go,
    Stop(String),
}

/// Waits while the runner is paused (renewing the lease), and says stop when it is halted or
/// idle (someone stopped the run).
pub(crate) async fn gate(ctx: &Ctx, lease: Option<&Lease>) -> eyre::Result<Gate> {
    loop {
        ctx.check_files()?;
        if ctx.stop_requested() {
            return Ok(Gate::Stop("this worker was asked to stop".into()));
        }
        match runner_state(&ctx.state).await? {
            RunnerState::Running => return Ok(Gate::Go),
            RunnerState::Halted => return Ok(Gate::Stop("halted".into())),
            RunnerState::Idle => return Ok(Gate::Stop("stopped".into())),
            RunnerState::Paused => {
                if let Some(l) = lease {
                    let mut tx = db::write_tx(&ctx.state).await?;
                    lease::fence(ctx, &mut tx, l).await?;
                    tx.commit().await?;
                }
                heartbeat(ctx).await?;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

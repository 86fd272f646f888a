//! `cutover pause`, `resume` and `halt`: the shared runner state.

use std::process::ExitCode;

use crate::args::{Cli, Command};
use crate::outln;
use crate::workspace::{open, refuse_readonly};
use cutover_core::engine::{self, RunnerState};

/// Moves the shared runner state as `cmd` (pause, resume or halt) asks.
///
/// Errors: the operator's role may not, or the state database failing.
pub async fn run(cli: &Cli, cmd: &Command) -> eyre::Result<ExitCode> {
    refuse_readonly(cli, "runner control")?;
    let ctx = open(cli).await?;
    let now = engine::runner_state(&ctx.state).await?;
    let (to, why) = match cmd {
        Command::Pause => (
            RunnerState::Paused,
            "paused from the command line".to_string(),
        ),
        Command::Halt { reason } => (RunnerState::Halted, reason.clone()),
        _ if now == RunnerState::Halted => (
            RunnerState::Idle,
            "halt released from the command line".into(),
        ),
        _ => (RunnerState::Running, "resumed from the command line".into()),
    };
    engine::set_runner_state(&ctx, to, &why).await?;
    outln!("runner: {} -> {}", now.as_str(), to.as_str());
    Ok(ExitCode::SUCCESS)
}

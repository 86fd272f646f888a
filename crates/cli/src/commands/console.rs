//! `cutover` with no command: the console, on the workspace the config names (the demo's
//! when there is none).

use std::process::ExitCode;

use crate::args::Cli;
use crate::workspace::open_as_console;

/// Opens the console until the operator quits or the terminal goes away.
///
/// Errors: the workspace cannot be opened, or the terminal fails.
pub async fn run(cli: &Cli) -> eyre::Result<ExitCode> {
    let ctx = open_as_console(cli).await?;
    cutover_tui::run(ctx, cli.readonly).await?;
    Ok(ExitCode::SUCCESS)
}

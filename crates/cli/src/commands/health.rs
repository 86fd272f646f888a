//! `cutover health`: score every customer's health now.

use std::process::ExitCode;

use crate::args::Cli;
use crate::outln;
use crate::workspace::{open_as_console, refuse_readonly};

/// Scores every customer and refreshes alerts.
///
/// Errors: no health components configured, a database failing.
pub async fn run(cli: &Cli, json: bool) -> eyre::Result<ExitCode> {
    refuse_readonly(cli, "health")?;
    let ctx = open_as_console(cli).await?;
    let r = cutover_core::health::score(&ctx, None, "on demand").await?;
    cutover_core::alerts::refresh(&ctx, None).await;
    if json {
        outln!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        outln!(
            "scored {} customers in {:.2}s (run {})",
            r.customers,
            r.seconds,
            r.run_id
        );
        let levels: Vec<String> = r.levels.iter().map(|(l, n)| format!("{l} {n}")).collect();
        let trends: Vec<String> = r.trends.iter().map(|(t, n)| format!("{t} {n}")).collect();
        outln!("levels: {}", levels.join(", "));
        outln!("trends: {}", trends.join(", "));
        if r.clamped > 0 {
            outln!(
                "{} component values were outside 0-100 and were clamped",
                r.clamped
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

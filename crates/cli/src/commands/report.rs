//! `cutover report`: the end-of-run summary per entity.

use std::process::ExitCode;

use crate::args::{Cli, ReportFormat};
use crate::workspace::open;
use crate::{out, outln};
use cutover_core::report;

/// Prints the report in `format`.
///
/// Errors: the state database failing.
pub async fn run(cli: &Cli, format: ReportFormat) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let r = report::build(&ctx).await?;
    match format {
        ReportFormat::Md => out!("{}", report::markdown(&r)),
        ReportFormat::Json => outln!("{}", serde_json::to_string_pretty(&r)?),
        ReportFormat::Csv => out!("{}", report::csv(&r)),
    }
    Ok(ExitCode::SUCCESS)
}

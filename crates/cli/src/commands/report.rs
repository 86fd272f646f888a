//! `cutover report`: the end-of-run summary per entity, or with `--daily` / `--weekly` the
//! report of a period.

use std::process::ExitCode;

use crate::args::{Cli, ReportFormat};
use crate::workspace::open;
use crate::{out, outln};
use cutover_core::report::{self, period};

/// Which period `--daily` or `--weekly` asked for.
pub enum Which<'a> {
    /// A day: `--date`, or today.
    Day(Option<&'a str>),
    /// An ISO week: `--week`, or this week.
    Week(Option<&'a str>),
}

/// Prints the report in `format`: the end-of-run summary, or a period's.
///
/// Errors: a bad `--date` or `--week` (exit 2), the state database failing.
pub async fn run(
    cli: &Cli,
    format: ReportFormat,
    which: Option<Which<'_>>,
) -> eyre::Result<ExitCode> {
    let Some(which) = which else {
        let ctx = open(cli).await?;
        let r = report::build(&ctx).await?;
        match format {
            ReportFormat::Md => out!("{}", report::markdown(&r)),
            ReportFormat::Json => outln!("{}", serde_json::to_string_pretty(&r)?),
            ReportFormat::Csv => out!("{}", report::csv(&r)),
        }
        return Ok(ExitCode::SUCCESS);
    };
    let (kind, from, to) = match which {
        Which::Day(d) => {
            let d = super::programme::date_or_today(d)?;
            (period::Period::Daily, d, d)
        }
        Which::Week(w) => {
            let w = w.map_or_else(
                || period::week_of(chrono::Utc::now().date_naive()),
                str::to_string,
            );
            let (a, b) = period::iso_week(&w).map_err(|e| crate::Usage(format!("--week {e}")))?;
            (period::Period::Weekly, a, b)
        }
    };
    let ctx = open(cli).await?;
    let r = period::build(&ctx, kind, from, to).await?;
    match format {
        ReportFormat::Md => out!("{}", period::markdown(&r)),
        ReportFormat::Json => outln!("{}", serde_json::to_string_pretty(&r)?),
        ReportFormat::Csv => out!("{}", period::csv(&r)),
    }
    Ok(ExitCode::SUCCESS)
}

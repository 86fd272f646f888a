//! `cutover import csv`: a CSV export into a SQLite table, byte for byte.

use std::path::Path;
use std::process::ExitCode;

use crate::args::Cli;
use crate::workspace::refuse_readonly;
use crate::{Usage, outln};
use cutover_core::source;

/// Imports `file` into `table` of the SQLite database at `into`.
///
/// Errors: see [`source::csv_import::import`]; an empty table name is bad usage.
pub async fn csv(
    cli: &Cli,
    file: &Path,
    table: &str,
    into: &Path,
    replace: bool,
) -> eyre::Result<ExitCode> {
    refuse_readonly(cli, "import")?;
    if table.trim().is_empty() {
        return Err(Usage("--table: the table needs a name".into()).into());
    }
    let r = source::csv_import::import(file, table, into, replace).await?;
    outln!(
        "imported {} rows ({} columns) into {} table {}",
        r.rows,
        r.columns,
        into.display(),
        r.table
    );
    Ok(ExitCode::SUCCESS)
}

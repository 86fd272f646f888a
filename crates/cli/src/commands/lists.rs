//! `cutover batches` and `cutover quarantine`: the lists operators ask for by name, as text
//! tables or JSON.

use std::process::ExitCode;

use crate::args::Cli;
use crate::outln;
use crate::table::{Align, Table};
use crate::workspace::open;
use cutover_core::engine::status;

/// Lists every batch: id, wave, state, customers (migrated of planned), rows, started,
/// finished, worker.
///
/// Errors: the state database failing.
pub async fn batches(cli: &Cli, json: bool) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let rows = status::batches(&ctx.state, "", None).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&[
        ("batch", Align::Left),
        ("wave", Align::Left),
        ("state", Align::Left),
        ("customers", Align::Right),
        ("migrated", Align::Right),
        ("rows", Align::Right),
        ("started", Align::Left),
        ("finished", Align::Left),
        ("worker", Align::Left),
    ]);
    for b in &rows {
        t.push(vec![
            b.id.clone(),
            b.wave.clone(),
            b.state.clone(),
            b.customers.to_string(),
            b.migrated.to_string(),
            b.rows.to_string(),
            b.started.clone().unwrap_or_else(|| "-".into()),
            b.finished.clone().unwrap_or_else(|| "-".into()),
            b.worker.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    for l in t.lines() {
        outln!("{l}");
    }
    if rows.is_empty() {
        outln!("no batches: `cutover plan` builds them");
    }
    Ok(ExitCode::SUCCESS)
}

/// Lists quarantined customers: id, name, wave, the rule that held each, its detail, since.
///
/// Errors: the state database failing.
pub async fn quarantine(cli: &Cli, json: bool) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let rows = status::quarantine(&ctx.state, "", None).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&[
        ("customer", Align::Left),
        ("name", Align::Left),
        ("wave", Align::Left),
        ("rule", Align::Left),
        ("since", Align::Left),
        ("detail", Align::Left),
    ]);
    for q in &rows {
        t.push(vec![
            q.customer.clone(),
            cutover_core::schema::shown(&q.name).into_owned(),
            q.wave.clone(),
            q.rule.clone(),
            q.since.clone(),
            cutover_core::schema::shown(&q.detail).into_owned(),
        ]);
    }
    for l in t.lines() {
        outln!("{l}");
    }
    if rows.is_empty() {
        outln!("no customer is quarantined");
    }
    Ok(ExitCode::SUCCESS)
}

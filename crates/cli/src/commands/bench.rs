//! `cutover bench`: our code against what the database does on its own, and the console's
//! queries and frames (see BENCHMARKS.md).

use std::process::ExitCode;

use crate::args::Cli;
use crate::workspace::{open, open_as_console, open_as_worker, refuse_readonly};
use crate::{Usage, outln};

/// `cutover bench copy`.
pub async fn copy(url: &str, rows: usize, json: bool) -> eyre::Result<ExitCode> {
    let b = cutover_core::bench::copy(url, rows).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&b)?);
    } else {
        outln!(
            "copy of {} payment rows on {}: ours {:.0} rows/s ({:.2}s), server-side INSERT … SELECT {:.0} rows/s ({:.2}s), ratio {:.2}",
            b.rows,
            b.backend,
            b.ours_rows_per_sec,
            b.ours_secs,
            b.server_rows_per_sec,
            b.server_secs,
            b.ratio
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `cutover bench plan`: needs no workspace.
pub async fn plan(
    customers: usize,
    purchases: usize,
    rounds: usize,
    json: bool,
) -> eyre::Result<ExitCode> {
    let b = cutover_core::bench::plan(customers, purchases, rounds).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&b)?);
    } else {
        outln!(
            "plan of an unindexed export, {} customers and {} purchases, median of {} rounds: first plan {:.2}s, re-plan {:.2}s; one GROUP BY over the purchases {:.3}s; ratio {:.1}",
            b.customers,
            b.purchases,
            b.rounds,
            b.first_secs,
            b.replan_secs,
            b.group_by_secs,
            b.ratio
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `cutover bench pipeline`: migrates real customers of a demo workspace.
pub async fn pipeline(
    cli: &Cli,
    batches: usize,
    batch_size: Option<usize>,
    json: bool,
) -> eyre::Result<ExitCode> {
    refuse_readonly(cli, "bench pipeline")?;
    if batch_size == Some(0) {
        return Err(Usage("--batch-size must be at least 1".into()).into());
    }
    let ctx = open_as_worker(cli).await?;
    let b = cutover_core::bench::pipeline(&ctx, batches, batch_size).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&b)?);
    } else {
        outln!(
            "pipeline on {}: {} batches, {} customers, {} platform rows: ours {:.0} rows/s ({:.2}s); server ({}) {} rows, {:.0} rows/s ({:.2}s); ratio {:.3}",
            b.backend,
            b.batches,
            b.customers,
            b.rows,
            b.ours_rows_per_sec,
            b.ours_secs,
            b.server_method,
            b.server_rows,
            b.server_rows_per_sec,
            b.server_secs,
            b.ratio
        );
        if let Some(c) = b.indexed {
            outln!(
                "server into the platform's indexes only {} rows, {:.0} rows/s ({:.2}s); ratio {:.3}",
                c.rows,
                c.rows_per_sec,
                c.secs,
                c.ratio
            );
        }
        if let Some(c) = b.constrained {
            outln!(
                "server into the platform's shape (its indexes and {} foreign keys) {} rows, {:.0} rows/s ({:.2}s); ratio {:.3}",
                c.foreign_keys,
                c.rows,
                c.rows_per_sec,
                c.secs,
                c.ratio
            );
        }
        if let Some(r) = b.read_back {
            outln!(
                "reading the platform's {} rows back: {:.2} µs a row through sqlx's Any driver (the engine's), {:.2} µs through its native SQLite driver",
                r.rows,
                r.any_us_per_row,
                r.native_us_per_row
            );
        }
        if let Some(s) = b.statements_per_batch {
            outln!(
                "statements per batch of {:.0} customers: state {:.1}, source {:.1}, platform {:.1}",
                b.customers_per_batch,
                s.state,
                s.source,
                s.platform
            );
        }
        if let Some(kib) = b.peak_rss_kib {
            let cache = b
                .source_cache_kib
                .map(|c| format!(" (the source's SQLite page cache {c} KiB a connection)"))
                .unwrap_or_default();
            outln!("peak resident memory {:.1} MB{cache}", kib as f64 / 1024.0);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `cutover bench poll`: the console's queries, on connections like the console's.
pub async fn poll(cli: &Cli, runs: usize, limit: i64, json: bool) -> eyre::Result<ExitCode> {
    // The console's queries, measured on connections like the console's.
    let ctx = open_as_console(cli).await?;
    let t = cutover_tui::bench::poll(&ctx, runs, limit).await?;
    print_timings(&t, json)?;
    Ok(ExitCode::SUCCESS)
}

/// `cutover bench frame`: a full frame of the console.
pub async fn frame(
    cli: &Cli,
    width: u16,
    height: u16,
    runs: usize,
    json: bool,
) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let t = cutover_tui::bench::frame(&ctx, width, height, runs).await?;
    print_timings(&[t], json)?;
    Ok(ExitCode::SUCCESS)
}

fn print_timings(t: &[cutover_core::bench::Timing], json: bool) -> eyre::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(t)?);
    } else {
        for x in t {
            outln!(
                "{:<30} {:>5} runs  p50 {:>8.3} ms  p95 {:>8.3} ms  max {:>8.3} ms",
                x.name,
                x.runs,
                x.p50_ms,
                x.p95_ms,
                x.max_ms
            );
        }
    }
    Ok(())
}

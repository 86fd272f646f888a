//! The `cutover` command line: clap definitions ([`args`]) and one file per command
//! ([`commands`]), over the engine (`cutover-core`) and the console (`cutover-tui`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::args::{BenchCmd, Cli, Command, ImportCmd, ReportFormat};
use clap::Parser;
use cutover_core::config::{self, Config, ConfigError};
use cutover_core::engine::{self, Ctx, RunnerState, plan, rollback, run, status};
use cutover_core::{demo, paths, report, source};

/// `println!` that returns the write's error instead of panicking: a reader that goes away
/// (`cutover plans | head`) closes the pipe, and the command then stops quietly (see `main`).
macro_rules! outln {
    ($($t:tt)*) => { writeln!(std::io::stdout(), $($t)*)? };
}

/// `print!` with the write's error returned, as [`outln`].
macro_rules! out {
    ($($t:tt)*) => { write!(std::io::stdout(), $($t)*)? };
}

/// Bad usage or config: exit status 2 (brief 3.1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Usage(String);

pub mod args;

/// Parses the command line, runs the command and gives the exit status (brief 3.1: 0 ok, 1
/// failure, 2 bad usage or config).
pub fn main() -> ExitCode {
    // Customer data: every file and directory this process creates is its user's alone.
    cutover_core::files::private_umask();
    let cli = Cli::parse();
    if let Err(e) = color_eyre::install() {
        eprintln!("cutover: {e}");
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cutover: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(dispatch(cli)) {
        Ok(code) => code,
        // The reader of our output went away: what it read was whole, and nobody is left to
        // tell, as with any Unix filter.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let usage =
                e.downcast_ref::<ConfigError>().is_some() || e.downcast_ref::<Usage>().is_some();
            eprintln!("cutover: {}", cutover_core::db::describe(&e));
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

fn init_logging() {
    let Ok(dir) = paths::data_dir() else { return };
    if cutover_core::files::private_dir(&dir).is_err() {
        return;
    }
    let Ok(file) = cutover_core::files::private_append(&dir.join("cutover.log")) else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CUTOVER_LOG")
        .unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

/// The config to use: explicit, user's, or the demo workspace (created once if missing).
async fn resolve_config(cli: &Cli) -> eyre::Result<Config> {
    if let Some(p) = config::locate(cli.config.as_deref()) {
        return Ok(Config::load(&p)?);
    }
    let dir = paths::demo_dir()?;
    let cfg = dir.join("cutover.toml");
    if !cfg.exists() {
        if cli.readonly {
            return Err(
                Usage("no workspace yet, and --readonly cannot create the demo".into()).into(),
            );
        }
        eprintln!(
            "No config found: creating the demo workspace in {} …",
            dir.display()
        );
        let opts = demo_opts(dir, 700, 42, None, false, 150)?;
        demo::create(&opts, |_| {}).await?;
    }
    Ok(Config::load(&cfg)?)
}

fn demo_opts(
    dir: PathBuf,
    customers: usize,
    seed: u64,
    as_of: Option<&str>,
    force: bool,
    delay: u64,
) -> eyre::Result<demo::DemoOpts> {
    let as_of = match as_of {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| Usage(format!("--as-of {d}: not a date (YYYY-MM-DD)")))?,
        None => chrono::Utc::now().date_naive(),
    };
    Ok(demo::DemoOpts {
        dir,
        customers,
        seed,
        as_of,
        force,
        step_delay_ms: delay,
        state_url: None,
        target_url: None,
    })
}

fn refuse_readonly(cli: &Cli, what: &str) -> eyre::Result<()> {
    if cli.readonly {
        return Err(Usage(format!("--readonly: `{what}` writes, so it is refused")).into());
    }
    Ok(())
}

async fn open(cli: &Cli) -> eyre::Result<Ctx> {
    let cfg = resolve_config(cli).await?;
    let ctx = Ctx::open(cfg, cli.readonly).await?;
    for w in &ctx.warnings {
        eprintln!("cutover: warning: {w}");
    }
    Ok(ctx)
}

/// [`open`] with every SQLite connection's page cache capped as the console's
/// ([`cutover_tui::SQLITE_CACHE_KIB`]): the cap applies to connections opened after it is set.
async fn open_as_console(cli: &Cli) -> eyre::Result<Ctx> {
    cutover_core::db::cap_sqlite_cache(cutover_tui::SQLITE_CACHE_KIB);
    open(cli).await
}

fn print_notices(ctx: &mut Ctx) -> tokio::task::JoinHandle<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    ctx.notices = Some(tx);
    tokio::spawn(async move {
        while let Some(n) = rx.recv().await {
            eprintln!("{n}");
        }
    })
}

async fn dispatch(cli: Cli) -> eyre::Result<ExitCode> {
    init_logging();
    let Some(cmd) = &cli.command else {
        let ctx = open_as_console(&cli).await?;
        cutover_tui::run(ctx, cli.readonly).await?;
        return Ok(ExitCode::SUCCESS);
    };
    match cmd {
        Command::Demo(a) => {
            refuse_readonly(&cli, "demo")?;
            let dir = match &a.dir {
                Some(d) => d.clone(),
                None => paths::demo_dir()?,
            };
            let opts = demo::DemoOpts {
                state_url: a.state_url.clone(),
                target_url: a.target_url.clone(),
                ..demo_opts(
                    dir,
                    a.customers,
                    a.seed,
                    a.as_of.as_deref(),
                    a.force,
                    a.step_delay_ms,
                )?
            };
            let total = a.customers;
            let t0 = std::time::Instant::now();
            let p = demo::create(&opts, |n| {
                if total >= 10_000 {
                    eprint!("\rgenerated {n}/{total} customers");
                }
            })
            .await?;
            if total >= 10_000 {
                eprintln!();
            }
            outln!(
                "Demo workspace ({} customers, seed {}) in {:.1}s:",
                total,
                a.seed,
                t0.elapsed().as_secs_f64()
            );
            outln!("  config    {}", p.config.display());
            outln!("  legacy    {}", p.legacy.display());
            let shown = |url: &Option<String>, file: &std::path::Path| {
                url.as_deref()
                    .map_or_else(|| file.display().to_string(), cutover_core::db::redact)
            };
            outln!("  platform  {}", shown(&a.target_url, &p.platform));
            outln!("  state     {}", shown(&a.state_url, &p.state));
            outln!("Open it with: cutover --config {}", p.config.display());
        }
        Command::Import(ImportCmd::Csv {
            file,
            table,
            into,
            replace,
        }) => {
            refuse_readonly(&cli, "import")?;
            if table.trim().is_empty() {
                return Err(Usage("--table: the table needs a name".into()).into());
            }
            let r = source::csv_import::import(file, table, into, *replace).await?;
            outln!(
                "imported {} rows ({} columns) into {} table {}",
                r.rows,
                r.columns,
                into.display(),
                r.table
            );
        }
        Command::Plan { json } => {
            refuse_readonly(&cli, "plan")?;
            let cfg = resolve_config(&cli).await?;
            // The first plan of a new workspace creates its state (and platform) databases.
            let ctx = if Ctx::is_new(&cfg) {
                Ctx::create(cfg).await?
            } else {
                Ctx::open(cfg, false).await?
            };
            for w in &ctx.warnings {
                eprintln!("cutover: warning: {w}");
            }
            let s = plan::plan(&ctx).await?;
            cutover_core::alerts::refresh(&ctx, None).await;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                outln!(
                    "{} customers planned; {} quarantined, {} with warnings, {} source rows rejected",
                    s.customers,
                    s.quarantined,
                    s.warned,
                    s.rejected_rows
                );
                outln!(
                    "{:<4} {:<14} {:>9} {:>8} {:>11} {:>8}",
                    "prio",
                    "segment",
                    "customers",
                    "pending",
                    "quarantined",
                    "batches"
                );
                for g in &s.segments {
                    outln!(
                        "{:<4} {:<14} {:>9} {:>8} {:>11} {:>8}",
                        g.priority,
                        g.name,
                        g.customers,
                        g.pending,
                        g.quarantined,
                        g.batches_pending
                    );
                }
            }
        }
        Command::Run(a) => {
            if !a.dry_run {
                refuse_readonly(&cli, "run")?;
            }
            let mut ctx = open(&cli).await?;
            if let Some(n) = a.batch_size {
                if n == 0 {
                    return Err(Usage("--batch-size must be at least 1".into()).into());
                }
                plan::rebatch(&ctx.state, n).await?;
            }
            // Deliver notifications while this run lasts; what is left waits in the outbox.
            // Unacknowledged alerts climb on time here too, not only where a console is open.
            // Both start before the notice printer, so they hold no sender that keeps it waiting.
            let (stop_outbox, stop) = tokio::sync::watch::channel(false);
            let outbox = tokio::spawn(cutover_core::notify::worker(ctx.clone(), stop));
            let ladder = tokio::spawn(cutover_core::alerts::watch(ctx.clone()));
            let printer = print_notices(&mut ctx);
            let opts = run::RunOpts {
                segment: a.segment.clone(),
                max_batches: a.batches,
                dry_run: a.dry_run,
            };
            let s = run::run(&ctx, &opts).await;
            ladder.abort();
            let _ = stop_outbox.send(true);
            let _ = outbox.await;
            cutover_core::notify::drain(&ctx).await;
            // The printer ends when the last sender (this context's) is gone.
            drop(ctx);
            let _ = printer.await;
            let s = s?;
            eprintln!(
                "{} batches: {} migrated, {} failed, {} quarantined{}{}",
                s.batches,
                s.migrated,
                s.failed,
                s.quarantined,
                if s.lost > 0 {
                    format!("; {} given up to another worker (lease lost)", s.lost)
                } else {
                    String::new()
                },
                s.stopped
                    .map(|r| format!(" (stopped: {r})"))
                    .unwrap_or_default()
            );
        }
        Command::Status { json } => {
            let ctx = open(&cli).await?;
            let mut s = status::status(&ctx.state).await?;
            // A worker beats at every step; two lease periods of silence mean none is alive.
            s.runner
                .mark_stale(ctx.cfg.runner.lease_seconds as i64 * 2, chrono::Utc::now());
            if *json {
                outln!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                let c = &s.customers;
                outln!("{} — runner {}", ctx.cfg.workspace.name, s.runner.label());
                outln!(
                    "customers {}: {} pending, {} running, {} migrated, {} failed, {} rolled back, {} quarantined",
                    c.total,
                    c.pending,
                    c.running,
                    c.migrated,
                    c.failed,
                    c.rolled_back,
                    c.quarantined
                );
                for g in &s.segments {
                    outln!(
                        "  {} {:<12} {:>6} customers, {:>6} migrated, {:>4} failed, {:>4} quarantined (target {:.0}%)",
                        g.priority,
                        g.name,
                        g.customers,
                        g.migrated,
                        g.failed,
                        g.quarantined,
                        g.target_success_rate
                    );
                }
                outln!(
                    "batches: {} pending, {} running, {} done, {} rolled back; open alerts: {}",
                    s.batches.pending,
                    s.batches.running,
                    s.batches.done,
                    s.batches.rolled_back,
                    s.alerts.open
                );
            }
        }
        Command::Rollback(a) => {
            refuse_readonly(&cli, "rollback")?;
            let scope = match (&a.customer, &a.batch, a.all) {
                (Some(c), None, false) => rollback::Scope::Customer(c.clone()),
                (None, Some(b), false) => rollback::Scope::Batch(b.clone()),
                (None, None, true) => rollback::Scope::All,
                _ => {
                    return Err(Usage(
                        "rollback takes exactly one of --customer ID, --batch ID, --all".into(),
                    )
                    .into());
                }
            };
            if !a.yes {
                if !std::io::stdin().is_terminal() {
                    return Err(Usage(format!(
                        "rollback of {} needs confirmation: pass --yes",
                        scope.label()
                    ))
                    .into());
                }
                eprint!("Roll back {}? Type yes to confirm: ", scope.label());
                std::io::stderr().flush()?;
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                if line.trim() != "yes" {
                    eprintln!("cancelled");
                    return Ok(ExitCode::from(1));
                }
            }
            let ctx = open(&cli).await?;
            let reason = if a.yes {
                "confirmed with --yes"
            } else {
                "confirmed at the prompt"
            };
            let r = rollback::rollback(&ctx, &scope, reason).await?;
            outln!(
                "rolled back {} customers ({}) in {:.2}s; {} unverified",
                r.rolled_back,
                r.scope,
                r.seconds,
                r.unverified.len()
            );
            for (c, why) in &r.unverified {
                outln!("  customer {c}: {why}");
            }
            if !r.unverified.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Validate { customer } => {
            let ctx = open(&cli).await?;
            let ids: Vec<String> = match customer {
                Some(c) => {
                    let st: Option<String> =
                        sqlx::query_scalar("SELECT status FROM customers WHERE legacy_id = $1")
                            .bind(c.clone())
                            .fetch_optional(&ctx.state)
                            .await?;
                    match st.as_deref() {
                        None => {
                            return Err(Usage(format!(
                                "customer {c}: no such legacy id in the plan"
                            ))
                            .into());
                        }
                        Some("migrated") => vec![c.clone()],
                        // Not migrated: all there is to check is that the platform holds
                        // nothing of it beyond its backup (the orphan check below).
                        Some(_) => Vec::new(),
                    }
                }
                None => {
                    sqlx::query_scalar(
                        "SELECT legacy_id FROM customers WHERE status = 'migrated' ORDER BY id",
                    )
                    .fetch_all(&ctx.state)
                    .await?
                }
            };
            let mut bad = 0;
            for chunk in ids.chunks(500) {
                for c in engine::pipeline::validate(&ctx, chunk).await? {
                    if !c.ok() {
                        bad += 1;
                        outln!("customer {}: {}", c.legacy_id, c.reason());
                    }
                }
            }
            let orphans = engine::validate::orphans(&ctx, customer.as_deref()).await?;
            for o in &orphans {
                outln!(
                    "customer {}: {} on the state, yet the platform holds rows for it (orphan): {}",
                    o.legacy_id,
                    o.status.as_deref().unwrap_or("not in the plan"),
                    o.reason
                );
            }
            outln!(
                "validated {} migrated customers: {} mismatched; {} orphaned on the platform",
                ids.len(),
                bad,
                orphans.len()
            );
            if bad > 0 || !orphans.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Report { format } => {
            let ctx = open(&cli).await?;
            let r = report::build(&ctx).await?;
            match format {
                ReportFormat::Md => out!("{}", report::markdown(&r)),
                ReportFormat::Json => outln!("{}", serde_json::to_string_pretty(&r)?),
                ReportFormat::Csv => out!("{}", report::csv(&r)),
            }
        }
        Command::Bench(BenchCmd::Copy { url, rows, json }) => {
            let b = cutover_core::bench::copy(url, *rows).await?;
            if *json {
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
        }
        Command::Bench(BenchCmd::Pipeline {
            batches,
            batch_size,
            json,
        }) => {
            refuse_readonly(&cli, "bench pipeline")?;
            if *batch_size == Some(0) {
                return Err(Usage("--batch-size must be at least 1".into()).into());
            }
            let ctx = open(&cli).await?;
            let b = cutover_core::bench::pipeline(&ctx, *batches, *batch_size).await?;
            if *json {
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
            }
        }
        Command::Bench(BenchCmd::Poll { runs, limit, json }) => {
            // The console's queries, measured on connections like the console's.
            let ctx = open_as_console(&cli).await?;
            let t = cutover_tui::bench::poll(&ctx, *runs, *limit).await?;
            print_timings(&t, *json)?;
        }
        Command::Bench(BenchCmd::Frame {
            width,
            height,
            runs,
            json,
        }) => {
            let ctx = open(&cli).await?;
            let t = cutover_tui::bench::frame(&ctx, *width, *height, *runs).await?;
            print_timings(&[t], *json)?;
        }
        Command::Health { json } => {
            refuse_readonly(&cli, "health")?;
            let ctx = open_as_console(&cli).await?;
            let r = cutover_core::health::score(&ctx, None, "on demand").await?;
            cutover_core::alerts::refresh(&ctx, None).await;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                outln!(
                    "scored {} customers in {:.2}s (run {})",
                    r.customers,
                    r.seconds,
                    r.run_id
                );
                let levels: Vec<String> =
                    r.levels.iter().map(|(l, n)| format!("{l} {n}")).collect();
                let trends: Vec<String> =
                    r.trends.iter().map(|(t, n)| format!("{t} {n}")).collect();
                outln!("levels: {}", levels.join(", "));
                outln!("trends: {}", trends.join(", "));
                if r.clamped > 0 {
                    outln!(
                        "{} component values were outside 0-100 and were clamped",
                        r.clamped
                    );
                }
            }
        }
        Command::Plans { json } => {
            let ctx = open(&cli).await?;
            let as_of = ctx.cfg.as_of().format("%Y-%m-%d").to_string();
            let plans = status::plans(&ctx.state, "", &as_of, i64::MAX).await?;
            if *json {
                outln!("{}", serde_json::to_string_pretty(&plans)?);
            } else {
                outln!(
                    "{:<5} {:<26} {:<11} {:<10} {:<14} {:>9} {:<10} {:>7}",
                    "id",
                    "plan",
                    "type",
                    "status",
                    "owner",
                    "progress",
                    "next due",
                    "overdue"
                );
                for p in &plans {
                    outln!(
                        "{:<5} {:<26} {:<11} {:<10} {:<14} {:>5}/{:<3} {:<10} {:>7}",
                        p.id,
                        p.title,
                        p.kind,
                        p.status,
                        p.owner,
                        p.completed,
                        p.milestones,
                        p.next_due.as_deref().unwrap_or("-"),
                        p.overdue
                    );
                }
            }
        }
        Command::Pause | Command::Resume | Command::Halt { .. } => {
            refuse_readonly(&cli, "runner control")?;
            let ctx = open(&cli).await?;
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
        }
    }
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

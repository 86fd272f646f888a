//! The `cutover` command line: clap definitions ([`args`]) and one file per command
//! ([`commands`]), over the engine (`cutover-core`) and the console (`cutover-tui`). Engine
//! notices are printed through their one `Display` (`cutover_core::engine::Notice`), the same
//! text the console shows.

pub mod args;
pub mod commands;
pub mod table;
mod workspace;

use std::process::ExitCode;

use clap::Parser;
use cutover_core::config::ConfigError;

use crate::args::{BenchCmd, Cli, Command, CommsCmd, ImportCmd};

/// `println!` that returns the write's error instead of panicking: a reader that goes away
/// (`cutover plans | head`) closes the pipe, and the command then stops quietly (see `main`).
#[macro_export]
#[doc(hidden)]
macro_rules! outln {
    ($($t:tt)*) => { { use std::io::Write as _; writeln!(std::io::stdout(), $($t)*)? } };
}

/// `print!` with the write's error returned, as [`outln`].
#[macro_export]
#[doc(hidden)]
macro_rules! out {
    ($($t:tt)*) => { { use std::io::Write as _; write!(std::io::stdout(), $($t)*)? } };
}

/// Bad usage or config: exit status 2 (brief 3.1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

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

/// Logs to a file a day in the log directory (`cutover.YYYY-MM-DD.log`, owner-only like the
/// databases: the process's umask is private), keeping `CUTOVER_LOG_KEEP_DAYS` of them (14);
/// `CUTOVER_LOG` sets the level (`info`). With no home directory, or one it cannot write,
/// nothing is logged.
///
/// With `count_statements`, every statement sqlx runs is also counted per database
/// ([`cutover_core::bench::STATEMENTS`], for `bench pipeline`).
fn init_logging(count_statements: bool) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let file = cutover_core::paths::log_dir()
        .ok()
        .filter(|dir| cutover_core::files::private_dir(dir).is_ok())
        .and_then(|dir| {
            tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("cutover")
                .filename_suffix("log")
                .max_log_files(cutover_core::paths::log_keep_days())
                .build(&dir)
                .ok()
        })
        .map(|appender| {
            let filter = tracing_subscriber::EnvFilter::try_from_env("CUTOVER_LOG")
                .unwrap_or_else(|_| "info".into());
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(appender))
                .with_filter(filter)
        });
    let counter = count_statements.then(|| {
        StatementCounter.with_filter(tracing_subscriber::filter::filter_fn(|m| {
            m.target() == "sqlx::query" || m.target() == "cutover::db"
        }))
    });
    let _ = tracing_subscriber::registry()
        .with(file)
        .with(counter)
        .try_init();
}

/// Counts sqlx's statement events per database, by the [`cutover_core::db::Scope`] span
/// they run in.
struct StatementCounter;

impl<S> tracing_subscriber::Layer<S> for StatementCounter
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        use cutover_core::db::Scope;
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let scope = ctx.event_scope(event).and_then(|mut spans| {
            spans.find_map(|s| match (s.metadata().target(), s.name()) {
                ("cutover::db", "source") => Some(Scope::Source),
                ("cutover::db", "platform") => Some(Scope::Platform),
                _ => None,
            })
        });
        cutover_core::bench::STATEMENTS.count(scope);
    }
}

/// Runs the command `cli` names (the console when it names none).
async fn dispatch(cli: Cli) -> eyre::Result<ExitCode> {
    init_logging(matches!(
        cli.command,
        Some(Command::Bench(BenchCmd::Pipeline { .. }))
    ));
    use commands::*;
    let Some(cmd) = &cli.command else {
        return console::run(&cli).await;
    };
    match cmd {
        Command::Demo(a) => demo::run(&cli, a).await,
        Command::Import(ImportCmd::Csv {
            file,
            table,
            into,
            replace,
        }) => import::csv(&cli, file, table, into, *replace).await,
        Command::Plan { json } => plan::run(&cli, *json).await,
        Command::Run(a) => run::run(&cli, a).await,
        Command::Status { json } => status::run(&cli, *json).await,
        Command::Rollback(a) => rollback::run(&cli, a).await,
        Command::Validate { customer } => validate::run(&cli, customer.as_deref()).await,
        Command::Report {
            format,
            daily,
            date,
            weekly,
            week,
        } => {
            let period = match (daily, weekly) {
                (true, _) => Some(report::Which::Day(date.as_deref())),
                (_, true) => Some(report::Which::Week(week.as_deref())),
                _ => None,
            };
            report::run(&cli, *format, period).await
        }
        Command::Bench(BenchCmd::Copy { url, rows, json }) => bench::copy(url, *rows, *json).await,
        Command::Bench(BenchCmd::Plan {
            customers,
            purchases,
            rounds,
            json,
        }) => bench::plan(*customers, *purchases, *rounds, *json).await,
        Command::Bench(BenchCmd::Pipeline {
            batches,
            batch_size,
            json,
        }) => bench::pipeline(&cli, *batches, *batch_size, *json).await,
        Command::Bench(BenchCmd::Poll { runs, limit, json }) => {
            bench::poll(&cli, *runs, *limit, *json).await
        }
        Command::Bench(BenchCmd::Frame {
            width,
            height,
            runs,
            json,
        }) => bench::frame(&cli, *width, *height, *runs, *json).await,
        Command::Health { json } => health::run(&cli, *json).await,
        Command::Plans { cmd: Some(c), .. } => plans::act(&cli, c).await,
        Command::Plans {
            cmd: None,
            json,
            filter,
        } => plans::run(&cli, *json, filter).await,
        Command::Batches { json } => lists::batches(&cli, *json).await,
        Command::Alerts {
            json,
            breached,
            owner,
            limit,
        } => alerts::run(&cli, *json, *breached, owner.as_deref(), *limit).await,
        Command::Comms {
            cmd: None,
            json,
            date,
        } => programme::comms(&cli, *json, date.as_deref()).await,
        Command::Kpi { json, date } => programme::kpi(&cli, *json, date.as_deref()).await,
        Command::Tick { json } => programme::tick(&cli, *json).await,
        Command::Comms {
            cmd: Some(CommsCmd::Preview { customer, notice }),
            ..
        } => {
            let ctx = crate::workspace::open(&cli).await?;
            let text = cutover_core::comms::preview(&ctx, customer, notice).await?;
            // Line by line: a name from the source is escaped, the template's newlines are not.
            for line in text.trim_end().lines() {
                outln!("{}", cutover_core::schema::shown(line));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Calendar { json, date } => calendar::run(&cli, *json, date.as_deref()).await,
        Command::Certificate(a) => certificate::run(&cli, a).await,
        Command::Quarantine { json } => lists::quarantine(&cli, *json).await,
        Command::Info { json } => ship::info(&cli, *json),
        Command::Serve { metrics } => ship::serve(&cli, *metrics).await,
        Command::Doctor { json, network } => ship::doctor(&cli, *json, *network).await,
        Command::Completions { shell } => ship::completions(*shell),
        Command::Man => ship::man(),
        Command::Pause | Command::Resume | Command::Halt { .. } => runner::run(&cli, cmd).await,
    }
}

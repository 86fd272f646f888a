//! Finding and opening the workspace a command works on, the same way for every command.

use std::path::PathBuf;

use crate::Usage;
use crate::args::Cli;
use cutover_core::config::{self, Config};
use cutover_core::engine::Ctx;
use cutover_core::{demo, paths};

/// The config to use: explicit, user's, or the demo workspace (created once if missing).
pub async fn resolve_config(cli: &Cli) -> eyre::Result<Config> {
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

pub fn demo_opts(
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

pub fn refuse_readonly(cli: &Cli, what: &str) -> eyre::Result<()> {
    if cli.readonly {
        return Err(Usage(format!("--readonly: `{what}` writes, so it is refused")).into());
    }
    Ok(())
}

pub async fn open(cli: &Cli) -> eyre::Result<Ctx> {
    let cfg = resolve_config(cli).await?;
    let ctx = Ctx::open(cfg, cli.readonly).await?;
    warn_exposed(&ctx);
    Ok(ctx)
}

/// [`open`] with every SQLite connection's page cache capped as the console's
/// ([`cutover_tui::SQLITE_CACHE_KIB`]): the cap applies to connections opened after it is set.
pub async fn open_as_console(cli: &Cli) -> eyre::Result<Ctx> {
    cutover_core::db::cap_sqlite_cache(cutover_tui::SQLITE_CACHE_KIB);
    open(cli).await
}

/// [`open`] with every SQLite connection's page cache capped as a worker's
/// ([`cutover_core::engine::run::WORKER_SQLITE_CACHE_KIB`]), for the commands that drive
/// batches.
pub async fn open_as_worker(cli: &Cli) -> eyre::Result<Ctx> {
    cutover_core::db::cap_sqlite_cache(cutover_core::engine::run::WORKER_SQLITE_CACHE_KIB);
    open(cli).await
}

pub fn print_notices(ctx: &mut Ctx) -> tokio::task::JoinHandle<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    ctx.notices = Some(tx);
    tokio::spawn(async move {
        while let Some(n) = rx.recv().await {
            eprintln!("{n}");
        }
    })
}

/// Prints the workspace's warnings (files open to others) on stderr.
pub fn warn_exposed(ctx: &Ctx) {
    for w in &ctx.warnings {
        eprintln!("cutover: warning: {w}");
    }
}

//! What an installation needs besides the commands: `cutover info` (where things are), shell
//! completions and the man page, both generated from the clap definitions.

use std::process::ExitCode;

use clap::CommandFactory as _;

use crate::args::Cli;
use crate::outln;
use cutover_core::config::{self, Config};
use cutover_core::{db, paths};

/// Prints the config path in use, the data and log directories and the three database URLs
/// with passwords masked (as `k9s info` does). Opens no database and creates nothing.
///
/// Errors: the config does not load (exit 2, after the paths are printed).
pub fn info(cli: &Cli, json: bool) -> eyre::Result<ExitCode> {
    let demo = paths::demo_dir().ok().map(|d| d.join("cutover.toml"));
    let config = config::locate(cli.config.as_deref()).or(demo);
    let shown = |p: Option<std::path::PathBuf>| {
        p.map_or_else(|| "-".to_string(), |p| p.display().to_string())
    };
    let data = shown(paths::data_dir().ok());
    let logs = shown(paths::log_dir().ok());
    let loaded = match &config {
        Some(p) if p.exists() => Some(Config::load(p)),
        _ => None,
    };
    let urls = match &loaded {
        Some(Ok(c)) => Some([
            db::redact(&c.state.url),
            db::redact(&c.source.url),
            db::redact(&c.target.url),
        ]),
        _ => None,
    };
    let config_text = match &config {
        Some(p) if !p.exists() => format!(
            "{} (not created yet: `cutover` creates the demo)",
            p.display()
        ),
        p => shown(p.clone()),
    };
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "version": env!("CARGO_PKG_VERSION"),
                "config": config.as_ref().map(|p| p.display().to_string()),
                "data_dir": data,
                "log_dir": logs,
                "log_keep_days": paths::log_keep_days(),
                "state": urls.as_ref().map(|u| u[0].clone()),
                "source": urls.as_ref().map(|u| u[1].clone()),
                "target": urls.as_ref().map(|u| u[2].clone()),
            }))?
        );
    } else {
        outln!("version   {}", env!("CARGO_PKG_VERSION"));
        outln!("config    {config_text}");
        outln!("data      {data}");
        outln!(
            "logs      {logs} (a file a day, {} kept)",
            paths::log_keep_days()
        );
        if let Some([state, source, target]) = &urls {
            outln!("state     {state}");
            outln!("source    {source}");
            outln!("target    {target}");
        }
    }
    if let Some(Err(e)) = loaded {
        return Err(e.into());
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs [`cutover_core::doctor`] on the workspace's config (the demo's when none is found and
/// it exists; nothing is created) and prints the table of checks.
///
/// Errors: no config; a config that does not load (exit 2).
pub async fn doctor(cli: &Cli, json: bool, network: bool) -> eyre::Result<ExitCode> {
    let path = config::locate(cli.config.as_deref())
        .or_else(|| paths::demo_dir().ok().map(|d| d.join("cutover.toml")))
        .filter(|p| p.exists())
        .ok_or_else(|| crate::Usage("no config: pass --config, or run `cutover demo`".into()))?;
    let cfg = Config::load(&path)?;
    let checks = cutover_core::doctor::run(&cfg, network).await;
    let failed = checks
        .iter()
        .filter(|c| c.outcome == cutover_core::doctor::Outcome::Fail)
        .count();
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "config": path.display().to_string(),
                "failed": failed,
                "checks": checks,
            }))?
        );
    } else {
        outln!("config {}", path.display());
        let mut t = crate::table::Table::new(&[
            ("check", crate::table::Align::Left),
            ("result", crate::table::Align::Left),
            ("detail", crate::table::Align::Left),
        ]);
        for c in &checks {
            t.push(vec![
                c.check.clone(),
                c.outcome.as_str().into(),
                c.detail.clone(),
            ]);
        }
        for l in t.lines() {
            outln!("{l}");
        }
        outln!("{} checks, {failed} failed", checks.len());
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Serves `/metrics` on `addr` until Ctrl-C or SIGTERM, each scrape read from the state
/// database (opened read-only) by one [`cutover_core::metrics::Collector`].
///
/// Errors: the workspace does not open; the address cannot be bound.
pub async fn serve(cli: &Cli, addr: std::net::SocketAddr) -> eyre::Result<ExitCode> {
    use std::sync::Arc;
    let cfg = crate::workspace::resolve_config(cli).await?;
    let ctx = cutover_core::ctx::Ctx::open(cfg, true).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| crate::Usage(format!("--metrics {addr}: cannot listen: {e}")))?;
    let at = listener.local_addr()?;
    eprintln!("serving metrics on http://{at}/metrics (Ctrl-C stops)");
    let shared = (
        ctx.state.clone(),
        Arc::new(tokio::sync::Mutex::new(
            cutover_core::metrics::Collector::default(),
        )),
    );
    type Shared = (
        cutover_core::db::Pool,
        Arc<tokio::sync::Mutex<cutover_core::metrics::Collector>>,
    );
    async fn scrape(
        axum::extract::State((state, collector)): axum::extract::State<Shared>,
    ) -> (
        axum::http::StatusCode,
        [(&'static str, &'static str); 1],
        String,
    ) {
        let ty = [("content-type", "text/plain; version=0.0.4")];
        match collector.lock().await.render(&state).await {
            Ok(body) => (axum::http::StatusCode::OK, ty, body),
            Err(e) => (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                ty,
                format!("# state database: {}\n", cutover_core::db::describe(&e)),
            ),
        }
    }
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(shared);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
            }
        })
        .await?;
    Ok(ExitCode::SUCCESS)
}

/// Prints `shell`'s completion script for every command and flag.
pub fn completions(shell: clap_complete::Shell) -> eyre::Result<ExitCode> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "cutover", &mut out);
    use std::io::Write as _;
    std::io::stdout().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the man page (roff): the top command with every subcommand's section.
pub fn man() -> eyre::Result<ExitCode> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    // Each subcommand's own page, appended as sections, so one page documents them all.
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let page = clap_mangen::Man::new(sub.clone());
        let mut body = Vec::new();
        page.render_description_section(&mut body)?;
        page.render_options_section(&mut body)?;
        out.extend_from_slice(format!(".SH \"cutover {}\"\n", sub.get_name()).as_bytes());
        // The section's own heading lines are dropped: the one above names the command.
        for line in String::from_utf8_lossy(&body).lines() {
            if !line.starts_with(".SH") {
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
        }
    }
    use std::io::Write as _;
    std::io::stdout().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}

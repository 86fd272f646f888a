//! The demo workspace: a seeded, deterministic legacy database for a device-repair business,
//! an empty platform database, a state database, and a config whose mapping reads the legacy
//! schema. The only place in cutover where data is invented.
//!
//! The legacy schema is deliberately unlike the canonical one (cents, codes, other names), so
//! the mapping does real work. A few percent of records carry the defects real exports have.

mod config;
mod customer;
mod legacy;
mod names;
mod plans;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

pub use config::config_text;
pub use legacy::generate_legacy;
pub use plans::seed_plans;

use crate::config::Config;
use crate::ctx::Ctx;
use crate::db;
use crate::engine::plan;

/// Options of `cutover demo`.
#[derive(Debug, Clone)]
pub struct DemoOpts {
    /// The directory written to.
    pub dir: PathBuf,
    /// How many customers to generate.
    pub customers: usize,
    /// The random seed.
    pub seed: u64,
    /// The plan's as-of date (`YYYY-MM-DD`).
    pub as_of: NaiveDate,
    /// Overwrite an existing workspace in `dir`.
    pub force: bool,
    /// Pause between pipeline steps written into the config (ms), so progress can be watched.
    pub step_delay_ms: u64,
    /// The state database's URL; default `sqlite://state.db` in `dir`.
    pub state_url: Option<String>,
    /// The platform database's URL; default `sqlite://platform.db` in `dir`.
    pub target_url: Option<String>,
}

/// Where the demo was written.
#[derive(Debug, Clone)]
pub struct DemoPaths {
    /// The config file.
    pub config: PathBuf,
    /// The legacy database file.
    pub legacy: PathBuf,
    /// The platform database file.
    pub platform: PathBuf,
    /// The state database file (when it is SQLite).
    pub state: PathBuf,
}

const FILES: [&str; 4] = ["cutover.toml", "legacy.db", "platform.db", "state.db"];

/// Creates the demo workspace in `opts.dir`: legacy data, an empty platform, a planned state
/// database with success plans, and the config.
///
/// Errors: a workspace already there (without `force`), or a database failing.
pub async fn create(opts: &DemoOpts, mut progress: impl FnMut(usize)) -> eyre::Result<DemoPaths> {
    let dir = &opts.dir;
    crate::files::private_dir(dir)?;
    let paths = DemoPaths {
        config: dir.join(FILES[0]),
        legacy: dir.join(FILES[1]),
        platform: dir.join(FILES[2]),
        state: dir.join(FILES[3]),
    };
    if paths.config.exists() && !opts.force {
        eyre::bail!(
            "a workspace already exists in {} (pass --force to replace it)",
            dir.display()
        );
    }
    for f in FILES.iter().skip(1) {
        db::remove_sqlite_files(&dir.join(f))?;
    }
    let legacy = db::open(&url(&paths.legacy), "legacy", true, false).await?;
    generate_legacy(
        &legacy,
        opts.customers,
        opts.seed,
        opts.as_of,
        &mut progress,
    )
    .await?;
    legacy.close().await;
    let text = config_text(
        opts.as_of,
        opts.step_delay_ms,
        opts.state_url.as_deref(),
        opts.target_url.as_deref(),
    );
    write_private(&paths.config, &text)
        .map_err(|e| eyre::eyre!("cannot write {}: {e}", paths.config.display()))?;
    let cfg = Config::load(&paths.config)?;
    let ctx = Ctx::create(cfg).await?;
    plan::build(&ctx.cfg, &ctx.state, &ctx.source, &ctx.layout).await?;
    seed_plans(&ctx.state, opts.seed, opts.as_of).await?;
    crate::alerts::evaluate(&ctx, chrono::Utc::now(), None).await?;
    crate::db::analyze(
        &ctx.state,
        &[
            "success_plans",
            "milestones",
            "alerts",
            "audit_log",
            "notifications",
        ],
    )
    .await?;
    Ok(paths)
}

/// Writes `text` to `path` (replacing it), mode 0600: a config may hold secrets.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

fn url(p: &Path) -> String {
    format!("sqlite://{}", p.display())
}

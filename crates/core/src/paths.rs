//! Where cutover keeps things on this machine (XDG on Linux, via `directories`).

use std::path::PathBuf;

fn dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "cutover")
}

/// The user's config directory (`~/.config/cutover`).
pub fn config_dir() -> Option<PathBuf> {
    dirs().map(|d| d.config_dir().to_path_buf())
}

/// The data directory (`~/.local/share/cutover`): the demo workspace and logs live here.
pub fn data_dir() -> eyre::Result<PathBuf> {
    dirs()
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| eyre::eyre!("no home directory: set HOME or pass --config"))
}

/// The log directory (`~/.local/share/cutover/logs`): one file a day, `cutover.YYYY-MM-DD.log`.
pub fn log_dir() -> eyre::Result<PathBuf> {
    Ok(data_dir()?.join("logs"))
}

/// How many daily log files are kept: `CUTOVER_LOG_KEEP_DAYS`, default 14.
pub fn log_keep_days() -> usize {
    std::env::var("CUTOVER_LOG_KEEP_DAYS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(14)
}

/// The demo workspace's directory.
pub fn demo_dir() -> eyre::Result<PathBuf> {
    Ok(data_dir()?.join("demo"))
}

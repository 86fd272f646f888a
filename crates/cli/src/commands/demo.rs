//! `cutover demo`: create the demo workspace and say where it is.

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::args::{Cli, DemoArgs};
use crate::outln;
use crate::workspace::{demo_opts, refuse_readonly};
use cutover_core::{demo, paths};

/// Creates the demo workspace `a` asks for.
///
/// Errors: a workspace already there (without `--force`), a bad date, a database failing.
pub async fn run(cli: &Cli, a: &DemoArgs) -> eyre::Result<ExitCode> {
    refuse_readonly(cli, "demo")?;
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
    // Progress on stderr for a person watching, rewritten in place; nothing for a script or a
    // log file, where the carriage returns ran 500 updates into one line (as `plan` does).
    let shown = total >= 10_000 && std::io::stderr().is_terminal();
    let p = demo::create(&opts, |n| {
        if shown {
            eprint!("\rgenerated {n}/{total} customers");
        }
    })
    .await?;
    if shown {
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
    Ok(ExitCode::SUCCESS)
}

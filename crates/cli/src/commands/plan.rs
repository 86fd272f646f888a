//! `cutover plan`: mapping → metrics → audit → segments → waves → batches.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::args::Cli;
use crate::outln;
use crate::table::{Align, Table};
use crate::workspace::{refuse_readonly, resolve_config, warn_exposed};
use cutover_core::engine::{Ctx, plan};

/// Plans the workspace, printing a summary (or JSON).
///
/// Errors: see [`plan::plan`].
pub async fn run(cli: &Cli, json: bool) -> eyre::Result<ExitCode> {
    refuse_readonly(cli, "plan")?;
    let cfg = resolve_config(cli).await?;
    // The first plan of a new workspace creates its state (and platform) databases.
    let ctx = if Ctx::is_new(&cfg) {
        Ctx::create(cfg).await?
    } else {
        Ctx::open(cfg, false).await?
    };
    warn_exposed(&ctx);
    let (tx, rx) = tokio::sync::watch::channel(plan::PlanProgress::default());
    // Progress on stderr for a person watching; nothing for a script or a pipe.
    let shown = (!json && std::io::stderr().is_terminal()).then(|| tokio::spawn(show(rx)));
    let s = plan::plan_with(&ctx, Some(&tx)).await;
    drop(tx);
    if let Some(t) = shown {
        let _ = t.await;
    }
    let s = s?;
    cutover_core::alerts::refresh(&ctx, None).await;
    if json {
        outln!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        outln!(
            "{} customers planned; {} quarantined, {} with warnings, {} source rows rejected",
            s.customers,
            s.quarantined,
            s.warned,
            s.rejected_rows
        );
        let mut t = Table::new(&[
            ("prio", Align::Right),
            ("segment", Align::Left),
            ("customers", Align::Right),
            ("pending", Align::Right),
            ("quarantined", Align::Right),
            ("batches", Align::Right),
        ]);
        for g in &s.segments {
            t.push(vec![
                g.priority.to_string(),
                g.name.clone(),
                g.customers.to_string(),
                g.pending.to_string(),
                g.quarantined.to_string(),
                g.batches_pending.to_string(),
            ]);
        }
        for l in t.lines() {
            outln!("{l}");
        }
        for n in &s.notes {
            outln!("note: {n}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Redraws one stderr line with the plan's phase, customers read and judged, their rate and
/// the time so far, five times a second, until the plan ends (its sender is dropped).
async fn show(mut rx: tokio::sync::watch::Receiver<plan::PlanProgress>) {
    let t0 = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut drawn = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            r = rx.changed() => if r.is_err() { break },
        }
        let p = *rx.borrow();
        let secs = t0.elapsed().as_secs_f64();
        // Quick plans print nothing: the summary follows at once.
        if secs < 0.5 {
            continue;
        }
        let rate = if secs > 0.0 {
            p.customers as f64 / secs
        } else {
            0.0
        };
        eprint!(
            "\r\x1b[2Kplan: {} · {} customers read and judged · {:.0}/s · {:.1} s",
            p.phase, p.customers, rate, secs
        );
        let _ = std::io::stderr().flush();
        drawn = true;
    }
    if drawn {
        eprint!("\r\x1b[2K");
        let _ = std::io::stderr().flush();
    }
}

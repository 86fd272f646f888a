//! `cutover bench poll` and `cutover bench frame`: the console's own queries and frames on a
//! workspace, as it runs them (see BENCHMARKS.md).

use std::time::Instant;

use cutover_core::bench::{Timing, time_async, timing};

/// Times each query of the console's poll on the workspace's state database, `runs` times,
/// reading `limit` rows per list as the console does, and the whole snapshot.
///
/// Errors: the state database failing.
pub async fn poll(
    ctx: &cutover_core::engine::Ctx,
    runs: usize,
    limit: i64,
) -> eyre::Result<Vec<Timing>> {
    use cutover_core::engine::status;
    let view = crate::snapshot::View {
        limit,
        as_of: ctx.cfg.as_of().format("%Y-%m-%d").to_string(),
        operator: ctx.actor.clone(),
        ..Default::default()
    };
    let s = &ctx.state;
    Ok(vec![
        timing(
            "status (counters, runner)",
            time_async(runs, || status::status(s)).await?,
        ),
        timing(
            "migrated per minute (30 min)",
            time_async(runs, || status::throughput(s, chrono::Utc::now())).await?,
        ),
        timing(
            "running batches",
            time_async(runs, || status::running_batches(s)).await?,
        ),
        timing(
            "recent customers",
            time_async(runs, || status::recent(s, "", view.limit)).await?,
        ),
        timing(
            "alerts (open, triage order)",
            time_async(runs, || {
                cutover_core::alerts::open(s, "", &view.operator, view.limit)
            })
            .await?,
        ),
        timing(
            "plans",
            time_async(runs, || status::plans(s, "", &view.as_of, view.limit)).await?,
        ),
        timing(
            "audit log",
            time_async(runs, || status::audit_log(s, "", view.limit)).await?,
        ),
        timing(
            "whole snapshot",
            time_async(runs, || crate::snapshot::snapshot(s, &view)).await?,
        ),
    ])
}

/// Times a full frame of the console (`Terminal::draw` of the four panes on a `w`×`h` test
/// backend) from the workspace's real snapshot, `runs` times.
///
/// Errors: the state database failing.
pub async fn frame(
    ctx: &cutover_core::engine::Ctx,
    w: u16,
    h: u16,
    runs: usize,
) -> eyre::Result<Timing> {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let mut app = crate::app::App::new(
        ctx.cfg.workspace.name.clone(),
        ctx.actor.clone(),
        false,
        crate::theme::Theme::plain(),
        ctx.cfg.as_of().format("%Y-%m-%d").to_string(),
    );
    let snap = crate::snapshot::snapshot(&ctx.state, &app.view).await?;
    app.on_snapshot(std::sync::Arc::new(snap));
    let mut term = Terminal::new(TestBackend::new(w, h))?;
    let mut ms = Vec::with_capacity(runs);
    for i in 0..runs {
        // A fresh buffer each time, so every frame draws every cell (a worst case: the real
        // terminal only sends what changed).
        if i % 2 == 1 {
            term.clear()?;
        }
        let t0 = Instant::now();
        term.draw(|f| app.render(f))?;
        ms.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    Ok(timing(&format!("frame {w}x{h}"), ms))
}

//! The console: one tokio loop that waits on terminal input, poll results, command results and
//! signals, and draws only after something arrived. Background work never touches the App: a
//! poller sends snapshots (only when they changed), and commands report back by message.

pub mod app;
pub mod bench;
mod chrome;
mod cmdline;
pub mod command;
pub mod keymap;
pub mod panes;
pub mod snapshot;
pub mod theme;
mod triage;
mod view;
pub mod widgets;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, mpsc, watch};

use self::app::{App, Command, Tone};
use cutover_core::engine::Ctx;
use cutover_core::engine::status::{self, CustomerDetail};
use snapshot::{PollMsg, poller};
use worker::{
    Background, Worker, say, settle_owed, spawn_command, start_engine, stop_worker,
    stop_worker_quietly,
};

/// What commands and the engine report.
#[derive(Debug)]
pub enum Msg {
    Detail(Option<Box<CustomerDetail>>),
    Plan(Option<Box<cutover_core::plans::PlanDetail>>),
    /// Show this plan (a recovery plan was just opened).
    OpenPlan(i64),
    Said(String, Tone),
    /// A rollback scope's blast radius (its lines), or why it could not be read.
    Blast(
        cutover_core::engine::rollback::Scope,
        Result<Vec<String>, String>,
    ),
}

/// The page cache each of the console's SQLite connections may keep, in KiB
/// ([`cutover_core::db::cap_sqlite_cache`]): the console's memory goal is 50 MB at 10^6 customers,
/// and scheduled scoring reads every customer through about 12 pooled connections, which
/// would keep 2 MB each. The caller sets it before opening the workspace.
pub const SQLITE_CACHE_KIB: i64 = 512;

/// Opens the console on `ctx` until the operator quits, the terminal goes away, or a signal
/// (SIGHUP, SIGTERM, SIGINT) arrives. The terminal is restored on every path, panics included
/// (ratatui's panic hook).
pub async fn run(ctx: Ctx, readonly: bool) -> eyre::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let res = event_loop(&mut terminal, ctx, readonly).await;
    ratatui::restore();
    res
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    ctx: Ctx,
    readonly: bool,
) -> eyre::Result<()> {
    let mut app = App::new(
        ctx.cfg.workspace.name.clone(),
        ctx.actor.clone(),
        readonly,
        theme::Theme::from_env(),
        ctx.cfg.as_of().format("%Y-%m-%d").to_string(),
    );
    app.ladder = ctx.cfg.escalation.level.clone();
    app.programme = ctx.cfg.programme.clone();
    app.opportunities = ctx
        .cfg
        .alerts
        .rule
        .iter()
        .filter(|r| r.kind == cutover_core::config::AlertKind::ScoreAbove)
        .map(|r| r.name.clone())
        .collect();
    app.stays = ctx
        .cfg
        .alerts
        .rule
        .iter()
        .filter(|r| !r.climbs)
        .map(|r| r.name.clone())
        .collect();
    app.role = Some(ctx.role().as_str().to_string());
    if let Some(w) = ctx.warnings.first() {
        app.on_message(w.clone(), Tone::Bad);
    }
    if ctx.actor != ctx.os_user {
        // On a PostgreSQL state the login counts; the OS name is shown, and grants nothing.
        app.operator = format!("{} (OS user {})", ctx.actor, ctx.os_user);
    }
    // A worker beats at every step; two lease periods of silence mean none is alive.
    app.view.stale_after_secs = ctx.cfg.runner.lease_seconds as i64 * 2;
    let (view_tx, view_rx) = watch::channel(app.view.clone());
    let (poll_tx, mut poll_rx) = mpsc::unbounded_channel();
    let (msg_tx, mut msg_rx) = mpsc::unbounded_channel();
    let nudge = Arc::new(Notify::new());
    let interval = Duration::from_millis(ctx.cfg.ui.poll_interval_ms);
    let poll = tokio::spawn(poller(
        ctx.clone(),
        view_rx,
        poll_tx,
        nudge.clone(),
        interval,
    ));
    // On PostgreSQL a change anywhere (another console, another engine) wakes the poll at once.
    let wake = tokio::spawn(cutover_core::db::wake_on_notify(
        ctx.cfg.state.url.clone(),
        nudge.clone(),
    ));
    // Scheduled scoring, timed escalation and delivery run wherever a console can write.
    let (stop_outbox, stop) = watch::channel(false);
    let bg = Background {
        tasks: [poll, wake]
            .into_iter()
            .chain((!readonly).then(|| tokio::spawn(cutover_core::health::schedule(ctx.clone()))))
            .chain((!readonly).then(|| tokio::spawn(settle_owed(ctx.clone()))))
            .chain((!readonly).then(|| tokio::spawn(cutover_core::alerts::watch(ctx.clone()))))
            .collect(),
        outbox: (!readonly).then(|| {
            tokio::spawn(cutover_core::programme::worker(
                ctx.clone(),
                stop,
                cutover_core::programme::FirstTick::Now,
            ))
        }),
        stop_outbox,
    };
    let mut engine: Option<Worker> = None;
    let mut events = EventStream::new();
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut dirty = true;
    let mut screen = app.screen_key();
    loop {
        if dirty {
            if app.screen_key() != screen {
                screen = app.screen_key();
                redraw_all(terminal)?;
            }
            cutover_core::fault::point("render");
            terminal.draw(|f| app.render(f))?;
            dirty = false;
        }
        let cmds = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => app.on_key(k),
                Some(Ok(Event::Resize(..))) => vec![],
                Some(Ok(_)) => continue,
                // The terminal is gone (closed pty, dropped SSH session): leave.
                Some(Err(_)) | None => { stop_worker_quietly(engine).await; break }
            },
            Some(p) = poll_rx.recv() => match p {
                PollMsg::Snapshot(s) => app.on_snapshot(s),
                PollMsg::Failed(e, n, age) => { app.on_poll_error(e, n, age); vec![] }
            },
            Some(m) = msg_rx.recv() => match m {
                Msg::Detail(d) => { app.on_detail(d.map(|d| *d)); vec![] }
                Msg::Plan(p) => { app.on_plan(p.map(|p| *p)); vec![] }
                Msg::OpenPlan(id) => app.open_plan(id),
                Msg::Said(t, tone) => { app.on_message(t, tone); nudge.notify_one(); vec![] }
                Msg::Blast(scope, r) => { app.on_blast(scope, r); vec![] }
            },
            // The terminal is gone or we are told to go: no drawing on the way out.
            _ = hup.recv() => { stop_worker_quietly(engine).await; break }
            _ = term.recv() => { stop_worker_quietly(engine).await; break }
            _ = int.recv() => { stop_worker_quietly(engine).await; break }
        };
        dirty = true;
        for c in cmds {
            match c {
                Command::Quit => {
                    stop_worker(terminal, &mut app, engine).await;
                    bg.stop().await;
                    return Ok(());
                }
                Command::SetView(v) => {
                    let _ = view_tx.send(v);
                }
                Command::LoadPlan(id) => {
                    let (state, tx, as_of) =
                        (ctx.state.clone(), msg_tx.clone(), app.view.as_of.clone());
                    tokio::spawn(async move {
                        let m = match cutover_core::plans::detail(&state, id, &as_of).await {
                            Ok(p) => Msg::Plan(p.map(Box::new)),
                            Err(e) => Msg::Said(format!("plan {id}: {e:#}"), Tone::Bad),
                        };
                        let _ = tx.send(m);
                    });
                }
                Command::OpenRecovery(customer) => {
                    tokio::spawn(open_plan(ctx.clone(), msg_tx.clone(), customer, "recovery"));
                }
                Command::OpenPlan(customer, template) => {
                    let (ctx, tx) = (ctx.clone(), msg_tx.clone());
                    tokio::spawn(async move {
                        let new = cutover_core::plans::NewPlan {
                            customer: &customer,
                            template,
                            owner: None,
                            draft: false,
                        };
                        match cutover_core::plans::open(&ctx, &new, &ctx.actor).await {
                            Ok((id, created)) => {
                                let what = if created { "opened" } else { "already open" };
                                let _ = tx.send(Msg::Said(
                                    format!("{template} plan {id} for customer {customer} {what}"),
                                    Tone::Ok,
                                ));
                                let _ = tx.send(Msg::OpenPlan(id));
                            }
                            Err(e) => say(&tx, Err(e)),
                        }
                    });
                }
                Command::OpenGrowth(customer) => {
                    tokio::spawn(open_plan(
                        ctx.clone(),
                        msg_tx.clone(),
                        customer,
                        "expansion",
                    ));
                }
                Command::LoadBlast(scopes) => {
                    let (ctx, tx) = (ctx.clone(), msg_tx.clone());
                    tokio::spawn(async move {
                        for scope in scopes {
                            let r = cutover_core::engine::rollback::blast_radius(&ctx, &scope)
                                .await
                                .map(|b| b.lines())
                                .map_err(|e| format!("{e:#}"));
                            let _ = tx.send(Msg::Blast(scope, r));
                        }
                    });
                }
                Command::LoadCustomer(id) => {
                    let (state, tx) = (ctx.state.clone(), msg_tx.clone());
                    tokio::spawn(async move {
                        let m = match status::customer(&state, &id).await {
                            Ok(d) => Msg::Detail(d.map(Box::new)),
                            Err(e) => Msg::Said(format!("customer {id}: {e:#}"), Tone::Bad),
                        };
                        let _ = tx.send(m);
                    });
                }
                other => {
                    let alive = engine.as_ref().is_some_and(|w| !w.task.is_finished());
                    if other == Command::Start && !alive {
                        engine = Some(start_engine(&ctx, &msg_tx));
                    } else {
                        spawn_command(&ctx, other, &msg_tx);
                    }
                }
            }
        }
    }
    bg.stop().await;
    Ok(())
}

/// Clears the screen and makes the next draw send every cell, for a change of screen (an
/// overlay, a zoom) where a diff against the old one could leave wide characters behind.
///
/// Not `Terminal::clear`: that first asks the terminal where its cursor is (a DSR query) and
/// fails after 2 s when no answer comes, which ended the console in a pty that does not
/// answer, and costs a round trip over SSH on every overlay. Both buffers are reset here
/// instead, so the next frame is diffed against an empty one.
///
/// Errors: writing to the terminal failed.
fn redraw_all<B: ratatui::backend::Backend>(
    terminal: &mut ratatui::Terminal<B>,
) -> Result<(), B::Error> {
    terminal
        .backend_mut()
        .clear_region(ratatui::backend::ClearType::All)?;
    // After a draw the current buffer is already reset; this resets the previous one too.
    terminal.swap_buffers();
    Ok(())
}

/// Opens (or finds) a plan from `template` for `customer` and shows it, or says why not.
async fn open_plan(
    ctx: cutover_core::ctx::Ctx,
    tx: mpsc::UnboundedSender<Msg>,
    customer: String,
    template: &'static str,
) {
    match cutover_core::plans::open_plan(&ctx, &customer, &ctx.actor, template).await {
        Ok((id, created)) => {
            let what = if created { "opened" } else { "already open" };
            let kind = if template == "expansion" {
                "growth"
            } else {
                "recovery"
            };
            let _ = tx.send(Msg::Said(
                format!("{kind} plan {id} for customer {customer} {what}"),
                Tone::Ok,
            ));
            let _ = tx.send(Msg::OpenPlan(id));
        }
        Err(e) => say(&tx, Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
    use ratatui::buffer::Cell;
    use ratatui::layout::{Position, Size};
    use ratatui::widgets::Paragraph;

    fn ok<T>(r: Result<T, std::convert::Infallible>) -> std::io::Result<T> {
        Ok(r.unwrap_or_else(|e| match e {}))
    }

    /// A terminal that never answers a cursor-position query, and counts the cells drawn.
    struct Mute {
        inner: TestBackend,
        cells: usize,
    }

    impl Backend for Mute {
        type Error = std::io::Error;
        fn draw<'a, I: Iterator<Item = (u16, u16, &'a Cell)>>(
            &mut self,
            content: I,
        ) -> std::io::Result<()> {
            let v: Vec<_> = content.collect();
            self.cells += v.len();
            ok(self.inner.draw(v.into_iter()))
        }
        fn hide_cursor(&mut self) -> std::io::Result<()> {
            ok(self.inner.hide_cursor())
        }
        fn show_cursor(&mut self) -> std::io::Result<()> {
            ok(self.inner.show_cursor())
        }
        fn get_cursor_position(&mut self) -> std::io::Result<Position> {
            Err(std::io::Error::other(
                "The cursor position could not be read within a normal duration",
            ))
        }
        fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> std::io::Result<()> {
            ok(self.inner.set_cursor_position(p))
        }
        fn clear(&mut self) -> std::io::Result<()> {
            ok(self.inner.clear())
        }
        fn clear_region(&mut self, t: ClearType) -> std::io::Result<()> {
            ok(self.inner.clear_region(t))
        }
        fn size(&self) -> std::io::Result<Size> {
            ok(self.inner.size())
        }
        fn window_size(&mut self) -> std::io::Result<WindowSize> {
            ok(self.inner.window_size())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            ok(self.inner.flush())
        }
    }

    #[test]
    fn a_full_redraw_needs_no_answer_from_the_terminal_and_sends_every_cell() {
        let mut t = ratatui::Terminal::new(Mute {
            inner: TestBackend::new(20, 3),
            cells: 0,
        })
        .unwrap();
        assert!(t.clear().is_err(), "Terminal::clear asks for the cursor");
        let text = "console";
        t.draw(|f| f.render_widget(Paragraph::new(text), f.area()))
            .unwrap();
        let first = t.backend().cells;
        t.draw(|f| f.render_widget(Paragraph::new(text), f.area()))
            .unwrap();
        assert_eq!(t.backend().cells, first, "an unchanged frame sends nothing");
        super::redraw_all(&mut t).unwrap();
        t.draw(|f| f.render_widget(Paragraph::new(text), f.area()))
            .unwrap();
        assert_eq!(
            t.backend().cells - first,
            text.len(),
            "every non-blank cell again"
        );
        t.backend().inner.assert_buffer_lines([
            format!("{text:20}"),
            " ".repeat(20),
            " ".repeat(20),
        ]);
    }
}

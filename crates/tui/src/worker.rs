//! The console's own work besides drawing: its engine (a worker it started, stopped at a step
//! boundary when the console goes), the commands it spawns, and its background tasks.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::Msg;
use crate::app::{App, Command, Tone};
use cutover_core::engine::{
    Ctx, Notice, RunnerState, rollback, run, runner_state, set_runner_state,
};

/// Pays the scoring a killed run left owed, once, in the background.
pub(crate) async fn settle_owed(ctx: Ctx) {
    if let Err(e) = cutover_core::engine::pipeline::settle_owed(&ctx).await {
        tracing::warn!(error = %format!("{e:#}"), "paying owed scoring failed");
    }
}

/// The console's background tasks, stopped together on the way out.
pub(crate) struct Background {
    pub(crate) tasks: Vec<tokio::task::JoinHandle<()>>,
    pub(crate) outbox: Option<tokio::task::JoinHandle<()>>,
    pub(crate) stop_outbox: watch::Sender<bool>,
}

impl Background {
    /// Aborts the read-only and transactional tasks; lets the outbox finish the message it is
    /// sending (at most the HTTP timeout, bounded here at 2 s so that quitting stays quick).
    pub(crate) async fn stop(self) {
        self.tasks.iter().for_each(|t| t.abort());
        let _ = self.stop_outbox.send(true);
        if let Some(mut o) = self.outbox
            && tokio::time::timeout(Duration::from_secs(2), &mut o)
                .await
                .is_err()
        {
            o.abort();
        }
    }
}

pub(crate) fn say(tx: &mpsc::UnboundedSender<Msg>, r: eyre::Result<String>) {
    let _ = tx.send(match r {
        Ok(m) => Msg::Said(m, Tone::Ok),
        Err(e) => Msg::Said(cutover_core::db::describe(&e), Tone::Bad),
    });
}

/// The engine this console started: its task and the flag that asks it to stop.
pub(crate) struct Worker {
    pub(crate) task: tokio::task::JoinHandle<()>,
    pub(crate) stop: Arc<std::sync::atomic::AtomicBool>,
}

/// How long a quitting console waits for its worker to reach a step boundary and give its
/// lease back; past it the task is dropped and the lease simply expires.
const WORKER_STOP_WAIT: Duration = Duration::from_secs(15);

/// Asks the console's worker to stop at its next step boundary, saying so on screen, and waits
/// for it ([`WORKER_STOP_WAIT`] at most). The shared runner state is left as it is: other
/// workers go on, and without any the state shows "no live worker" once the heartbeat ages.
pub(crate) async fn stop_worker(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    worker: Option<Worker>,
) {
    let Some(w) = worker.filter(|w| !w.task.is_finished()) else {
        return;
    };
    app.on_message(
        "stopping this console's worker at the next step boundary…".into(),
        Tone::Info,
    );
    let _ = terminal.draw(|f| app.render(f));
    stop_worker_quietly(Some(w)).await;
}

/// [`stop_worker`] without drawing, for a terminal that is gone.
pub(crate) async fn stop_worker_quietly(worker: Option<Worker>) {
    let Some(mut w) = worker else { return };
    w.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if tokio::time::timeout(WORKER_STOP_WAIT, &mut w.task)
        .await
        .is_err()
    {
        tracing::warn!("the console's worker did not stop in time; its lease will expire");
        w.task.abort();
    }
}

/// Starts the engine in this process; its notices become footer messages.
pub(crate) fn start_engine(ctx: &Ctx, msg: &mpsc::UnboundedSender<Msg>) -> Worker {
    let (ntx, mut nrx) = mpsc::unbounded_channel();
    let mut ctx = ctx.clone();
    ctx.notices = Some(ntx);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    ctx.stop = stop.clone();
    let fwd = msg.clone();
    tokio::spawn(async move {
        while let Some(n) = nrx.recv().await {
            let tone = match &n {
                Notice::BatchDone { failed, .. } if *failed > 0 => Tone::Bad,
                Notice::BatchDone { .. } => Tone::Ok,
                Notice::Error(_) | Notice::LeaseLost { .. } => Tone::Bad,
                _ => Tone::Info,
            };
            let text = match n {
                // The message line colours errors already.
                Notice::Error(e) => e,
                n => n.to_string(),
            };
            if fwd.send(Msg::Said(text, tone)).is_err() {
                return;
            }
        }
    });
    let tx = msg.clone();
    let task = tokio::spawn(async move {
        let r = async {
            if runner_state(&ctx.state).await? == RunnerState::Halted {
                set_runner_state(&ctx, RunnerState::Running, "halt released from the console")
                    .await?;
            }
            run::run(&ctx, &run::RunOpts::default()).await
        }
        .await;
        if let Err(e) = r {
            say(&tx, Err(e));
        }
    });
    Worker { task, stop }
}

pub(crate) fn spawn_command(ctx: &Ctx, c: Command, tx: &mpsc::UnboundedSender<Msg>) {
    let (ctx, tx) = (ctx.clone(), tx.clone());
    tokio::spawn(async move {
        let r = match c {
            Command::Start => {
                set_runner_state(&ctx, RunnerState::Running, "resumed from the console")
                    .await
                    .map(|_| "runner resumed".to_string())
            }
            Command::Pause => {
                set_runner_state(&ctx, RunnerState::Paused, "paused from the console")
                    .await
                    .map(|_| "runner paused: workers stop at the next step boundary".to_string())
            }
            Command::Halt => set_runner_state(&ctx, RunnerState::Halted, "halted from the console")
                .await
                .map(|_| "HALTED: no work is claimed until released with s".to_string()),
            Command::Milestone(id, status, owner) => {
                cutover_core::plans::update_milestone(
                    &ctx,
                    id,
                    status.as_deref(),
                    owner.as_deref(),
                    &ctx.actor,
                )
                .await
            }
            Command::AlertAct(id, act) => {
                cutover_core::alerts::act(&ctx, id, &act, &ctx.actor, chrono::Utc::now()).await
            }
            Command::Rollback(scope) => {
                rollback::rollback(&ctx, &scope, "confirmed in the console")
                    .await
                    .map(|r| {
                        let mut m = format!(
                            "rolled back {} customers ({}) in {:.2}s, verified",
                            r.rolled_back, r.scope, r.seconds
                        );
                        if !r.unverified.is_empty() {
                            m = format!(
                                "{m}; {} NOT verified: {}",
                                r.unverified.len(),
                                r.unverified[0].1
                            );
                        }
                        m
                    })
            }
            _ => return,
        };
        say(&tx, r);
    });
}

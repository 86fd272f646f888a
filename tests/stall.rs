//! A worker that stalls past its lease (SIGSTOP at an exact place, `CUTOVER_FAULT=stop@…`)
//! while another worker finishes its batch, or an operator rolls the batch back, and then
//! wakes up (SIGCONT): whatever it was about to write is refused where it would land (the
//! state's and the platform's fencing tokens), it gives the batch up without failing, and the
//! platform ends exactly as an uninterrupted run (or the rollback) left it. Runs on SQLite and,
//! in the matrix's second leg, on PostgreSQL.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{Ws, platform_dump, state_rows};

const CUSTOMERS: usize = 60;
const SEED: u64 = 1601;

/// Where the stale worker stops: before each step of its batch (after the one before was
/// recorded), after create_account's platform commit (before its state commit), and after the
/// last step, before the batch is marked done.
const PLACES: [&str; 7] = [
    "step#1",
    "step#2",
    "step#3",
    "step#4",
    "step#5",
    "commit.target#1",
    "batch.finish#1",
];

/// The process's state letter from `/proc/PID/stat` (`T`: stopped), or `None` once it is gone.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// A fresh demo workspace with a `cutover run --batches 1` stopped at `place`
/// ([`stalled_worker`]). SIGSTOP freezes every thread of the worker, its lease renewal and
/// outbox tasks too; one of them can be inside a write to the SQLite state at that instant,
/// and would then hold the state's only write lock for as long as it is stopped: every other
/// process would wait on it. The test is about what the worker writes when it wakes, so such
/// a stop is discarded (the worker killed) and taken again on a new workspace.
async fn stalled(place: &str) -> (Ws, Child) {
    for _ in 0..5 {
        let ws = Ws::demo(CUSTOMERS, SEED).await;
        let mut child = stalled_worker(&ws, place).await;
        if !holds_state_lock(&ws).await {
            return (ws, child);
        }
        eprintln!("{place}: the worker stopped holding the state's write lock; again");
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("{place}: the worker stopped holding the state's write lock 5 times");
}

/// Whether another process holds the SQLite state's write lock now (never on PostgreSQL,
/// whose writers lock rows).
async fn holds_state_lock(ws: &Ws) -> bool {
    // Not through `Ctx::open`: it would wait on that lock itself.
    let cfg = cutover_core::config::Config::load(&ws.config_path()).unwrap();
    let state = cutover_core::db::open(&cfg.state.url, "state", false, false)
        .await
        .unwrap();
    if cutover_core::db::Backend::of_pool(&state) != cutover_core::db::Backend::Sqlite {
        return false;
    }
    let mut conn = state.acquire().await.unwrap();
    sqlx::raw_sql("PRAGMA busy_timeout = 0")
        .execute(&mut *conn)
        .await
        .unwrap();
    match sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await {
        Ok(_) => {
            sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.unwrap();
            false
        }
        Err(e) if e.to_string().contains("locked") || e.to_string().contains("busy") => true,
        Err(e) => panic!("BEGIN IMMEDIATE on the state: {e}"),
    }
}

/// Starts `cutover run --batches 1` armed to stop itself at `place`, and waits until it has.
async fn stalled_worker(ws: &Ws, place: &str) -> Child {
    let mut child = ws
        .command(&["run", "--batches", "1"])
        .env("CUTOVER_FAULT", format!("stop@{place}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match proc_state(child.id()) {
            Some('T') => return child,
            Some('Z') | None => {
                let out = child.wait_with_output().unwrap();
                panic!(
                    "{place}: the worker ended before it stalled: {}",
                    common::stderr(&out)
                );
            }
            _ if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("{place}: the worker never reached its stall");
            }
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Wakes the stalled worker and waits for it; it must end well, having given its batch up.
async fn wake(mut child: Child, place: &str) {
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::CONT,
    )
    .unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "{place}: a lost lease failed the run: {err}"
    );
    assert!(
        err.contains("given up"),
        "{place}: the stale worker did not give its batch up: {err}"
    );
}

/// The stalled batch: the only one leased.
async fn stalled_batch(ws: &Ws) -> String {
    state_rows(ws, "SELECT id FROM batches WHERE status = 'running'")
        .await
        .trim()
        .to_string()
}

/// The stalled worker cannot renew its lease: it ends as if `lease_seconds` had passed.
async fn let_lease_expire(ws: &Ws) {
    common::expire_leases(ws).await;
}

fn ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        common::stdout(out),
        common::stderr(out)
    );
}

#[tokio::test]
async fn a_stale_worker_cannot_undo_a_batch_another_worker_finished() {
    let reference = Ws::demo(CUSTOMERS, SEED).await;
    ok(&reference.cli(&["run"]), "reference run");
    let want = platform_dump(&reference).await;
    let statuses = "SELECT status, COUNT(*) FROM customers GROUP BY status ORDER BY status";
    let want_statuses = state_rows(&reference, statuses).await;
    for place in PLACES {
        let (ws, stale) = stalled(place).await;
        let_lease_expire(&ws).await;
        // Another worker takes the expired batch over and finishes it; more batches wait, so
        // the runner stays running and the stale worker, once awake, carries on writing.
        ok(&ws.cli(&["run", "--batches", "1"]), place);
        wake(stale, place).await;
        ok(&ws.cli(&["run"]), place);
        assert_eq!(
            platform_dump(&ws).await,
            want,
            "{place}: the platform differs from an uninterrupted run's"
        );
        assert_eq!(state_rows(&ws, statuses).await, want_statuses, "{place}");
        let out = ws.cli(&["validate"]);
        ok(&out, place);
        let twice = state_rows(
            &ws,
            "SELECT COUNT(*) FROM (SELECT customer_id FROM steps WHERE step = 'notify' AND outcome = 'ok'
             GROUP BY customer_id HAVING COUNT(*) > 1) AS d",
        )
        .await;
        assert_eq!(twice.trim(), "0", "{place}: a customer migrated twice");
        eprintln!("{place}: stale worker refused, platform as uninterrupted");
    }
}

#[tokio::test]
async fn a_stale_worker_cannot_resurrect_a_rolled_back_batch() {
    for place in PLACES {
        let (ws, stale) = stalled(place).await;
        let_lease_expire(&ws).await;
        let batch = stalled_batch(&ws).await;
        ok(
            &ws.cli(&["rollback", "--batch", &batch, "--yes"]),
            &format!("{place}: rollback of {batch}"),
        );
        let after_rollback = platform_dump(&ws).await;
        let statuses = "SELECT legacy_id, status FROM customers ORDER BY legacy_id";
        let states = state_rows(&ws, statuses).await;
        wake(stale, place).await;
        assert_eq!(
            platform_dump(&ws).await,
            after_rollback,
            "{place}: the stale worker wrote to the platform after the rollback"
        );
        assert_eq!(state_rows(&ws, statuses).await, states, "{place}");
        let rolled_back = state_rows(
            &ws,
            &format!(
                "SELECT COUNT(*) FROM customers WHERE batch_id = '{batch}' AND status = 'rolled_back'"
            ),
        )
        .await;
        assert_ne!(rolled_back.trim(), "0", "{place}: nothing was rolled back");
        // No orphans: nothing on the platform for customers the state does not call migrated.
        let out = ws.cli(&["validate"]);
        ok(&out, place);
        assert!(common::stdout(&out).contains("0 orphaned"), "{place}");
        eprintln!("{place}: stale worker refused, rollback stands ({batch})");
    }
}

#[tokio::test]
async fn validate_reports_platform_rows_of_customers_not_migrated() {
    let ws = Ws::demo(CUSTOMERS, SEED).await;
    ok(&ws.cli(&["run"]), "run");
    let victim = state_rows(
        &ws,
        "SELECT legacy_id FROM customers WHERE status = 'migrated' ORDER BY id LIMIT 1",
    )
    .await
    .trim()
    .to_string();
    // The state forgets the migration behind the platform's back: its rows are now orphans.
    let cfg = cutover_core::config::Config::load(&ws.config_path()).unwrap();
    let state = cutover_core::db::open(&cfg.state.url, "state", false, false)
        .await
        .unwrap();
    sqlx::query("UPDATE customers SET status = 'rolled_back' WHERE legacy_id = $1")
        .bind(victim.clone())
        .execute(&state)
        .await
        .unwrap();
    state.close().await;
    let out = ws.cli(&["validate"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stdout(&out));
    let text = common::stdout(&out);
    assert!(
        text.contains(&format!("customer {victim}: rolled_back on the state"))
            && text.contains("1 orphaned"),
        "{text}"
    );
    let one = ws.cli(&["validate", "--customer", &victim]);
    assert_eq!(one.status.code(), Some(1), "{}", common::stdout(&one));
}

/// The harness's own check: [`holds_state_lock`] sees a write lock another connection holds.
#[tokio::test]
async fn the_lock_check_sees_another_writer() {
    let ws = Ws::demo(5, SEED).await;
    let ctx = ws.ctx().await;
    if cutover_core::db::Backend::of_pool(&ctx.state) != cutover_core::db::Backend::Sqlite {
        // PostgreSQL's writers lock rows; there is no database-wide write lock to see.
        return;
    }
    assert!(!holds_state_lock(&ws).await);
    let tx = cutover_core::db::write_tx(&ctx.state).await.unwrap();
    assert!(holds_state_lock(&ws).await);
    tx.rollback().await.unwrap();
    assert!(!holds_state_lock(&ws).await);
}

/// Issue 21: a step that leaves a customer's status as it is leaves its `updated_at` too
/// (`updated_at` is when the status last changed; a step's update then touches no indexed
/// column, heap-only on PostgreSQL). Stopped before validate, three steps recorded, the
/// batch's customers still carry the claim's time, which the batch's `started_at` holds too.
#[tokio::test]
async fn a_step_within_a_batch_leaves_updated_at_at_the_claim() {
    let (ws, mut stale) = stalled("step#4").await;
    let rows = state_rows(
        &ws,
        "SELECT c.step, COUNT(*), COUNT(CASE WHEN c.updated_at = b.started_at THEN 1 END)
         FROM customers c JOIN batches b ON b.id = c.batch_id
         WHERE c.status = 'running' GROUP BY c.step",
    )
    .await;
    let _ = stale.kill();
    let _ = stale.wait();
    let fields: Vec<&str> = rows.trim().split('|').collect();
    assert_eq!(
        fields.len(),
        3,
        "one step for the whole running batch: {rows}"
    );
    assert_eq!(fields[0], "migrate_data", "{rows}");
    assert_ne!(fields[1], "0", "{rows}");
    assert_eq!(
        fields[1], fields[2],
        "a step moved updated_at away from the claim's time: {rows}"
    );
}

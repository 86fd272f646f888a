//! Leases and fencing: a worker that stalls past its lease loses its batch to another worker,
//! and its late writes are refused, so no customer is migrated twice. Runs on SQLite and, in
//! the matrix's second leg, on PostgreSQL.

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

use common::{Ws, bin, state_rows};
use cutover_core::engine::pipeline::{BatchOutcome, process_batch};
use cutover_core::engine::run::claim;
use cutover_core::engine::{RunnerState, set_runner_state};

#[tokio::test]
async fn a_worker_paused_past_its_lease_loses_its_batch_and_its_late_commit_is_rejected() {
    let ws = Ws::demo(60, 31).await;
    let mut slow = ws.ctx().await;
    slow.worker = "slow:1".into();
    let mut fast = ws.ctx().await;
    fast.worker = "fast:2".into();
    set_runner_state(&slow, RunnerState::Running, "test")
        .await
        .unwrap();

    let (lost, n) = claim(&slow, None).await.unwrap().expect("a pending batch");
    assert!(n > 0);
    // The slow worker stalls past its lease; the fast one reclaims the batch.
    common::expire_leases(&ws).await;
    let (taken, m) = claim(&fast, None)
        .await
        .unwrap()
        .expect("the expired batch");
    assert_eq!(
        taken.batch, lost.batch,
        "the expired batch is reclaimed first"
    );
    assert!(
        taken.token > lost.token,
        "the reclaim bumps the fencing token"
    );
    assert_eq!(m, n);

    let steps = |ctx: &cutover_core::engine::Ctx| {
        let state = ctx.state.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM steps")
                .fetch_one(&state)
                .await
                .unwrap()
        }
    };
    let before = steps(&slow).await;
    let err = process_batch(&slow, &lost).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("lease on batch"),
        "the late worker is fenced off: {err:#}"
    );
    assert_eq!(
        steps(&slow).await,
        before,
        "the fenced worker wrote nothing"
    );

    match process_batch(&fast, &taken).await.unwrap() {
        BatchOutcome::Done(t) => assert_eq!(t.migrated + t.failed + t.quarantined, m),
        BatchOutcome::Stopped(why) => panic!("stopped: {why}"),
    }
    let twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT customer_id FROM steps WHERE step = 'notify'
         GROUP BY customer_id HAVING COUNT(*) > 1) AS d",
    )
    .fetch_one(&fast.state)
    .await
    .unwrap();
    assert_eq!(twice, 0, "no customer completed twice");
    let out = ws.cli(&["validate"]);
    assert!(out.status.success(), "{}", common::stdout(&out));
}

async fn one(ws: &Ws, sql: &str) -> i64 {
    state_rows(ws, sql).await.trim().parse().unwrap()
}

#[tokio::test]
async fn two_engine_processes_share_the_work_with_no_customer_done_twice_or_missed() {
    // A small step pause so that neither engine can drain the queue before the other starts.
    let ws = Ws::demo_with(400, 17, 5).await;
    let total = one(&ws, "SELECT COUNT(*) FROM customers").await;
    let t0 = Instant::now();
    let engines: Vec<_> = (0..2)
        .map(|_| {
            Command::new(bin())
                .arg("--config")
                .arg(ws.config_path())
                .arg("run")
                .env("HOME", ws.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for e in engines {
        let out = e.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let secs = t0.elapsed().as_secs_f64();
    let settled = one(
        &ws,
        "SELECT COUNT(*) FROM customers WHERE status IN ('migrated', 'quarantined', 'failed')",
    )
    .await;
    assert_eq!(settled, total, "no customer missed");
    let twice = one(
        &ws,
        "SELECT COUNT(*) FROM (SELECT customer_id FROM steps WHERE step IN ('create_account', 'notify')
         GROUP BY customer_id, step HAVING COUNT(*) > 1) AS d",
    )
    .await;
    assert_eq!(twice, 0, "no customer's account created or notified twice");
    let notified_twice = one(
        &ws,
        "SELECT COUNT(*) FROM (SELECT customer_id FROM notifications WHERE kind = 'migrated'
         GROUP BY customer_id HAVING COUNT(*) > 1) AS d",
    )
    .await;
    assert_eq!(notified_twice, 0);
    let workers = state_rows(
        &ws,
        "SELECT lease_owner, COUNT(*) FROM batches WHERE status = 'done' GROUP BY lease_owner ORDER BY 1",
    )
    .await;
    let migrated = one(
        &ws,
        "SELECT COUNT(*) FROM customers WHERE status = 'migrated'",
    )
    .await;
    eprintln!(
        "two engines: {total} customers, {migrated} migrated in {secs:.2}s, duplicates {twice}; batches per worker:\n{workers}"
    );
    assert_eq!(
        workers.lines().count(),
        2,
        "both engines took batches:\n{workers}"
    );
    let out = ws.cli(&["validate"]);
    assert!(out.status.success(), "{}", common::stdout(&out));
}

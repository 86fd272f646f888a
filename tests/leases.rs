//! Leases and fencing: a worker that stalls past its lease loses its batch to another worker,
//! and its late writes are refused, so no customer is migrated twice. Runs on SQLite and, in
//! the matrix's second leg, on PostgreSQL.

mod common;

use std::time::Duration;

use common::Ws;
use cutover::engine::pipeline::{BatchOutcome, process_batch};
use cutover::engine::run::claim;
use cutover::engine::{RunnerState, set_runner_state};

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
    // The slow worker stalls past its lease (2 s in tests); the fast one reclaims the batch.
    tokio::time::sleep(Duration::from_millis(2300)).await;
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

    let steps = |ctx: &cutover::engine::Ctx| {
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

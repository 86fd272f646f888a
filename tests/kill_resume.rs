//! A run SIGKILLed mid-batch (a child process) resumes to the same final state as an
//! uninterrupted run: the same platform rows, every customer migrated once, one notification
//! each.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Ws, bin, platform_dump};

async fn count(ws: &Ws, sql: &str) -> i64 {
    common::state_rows(ws, sql)
        .await
        .trim()
        .parse()
        .unwrap_or(-1)
}

#[tokio::test]
async fn killed_mid_batch_resumes_to_the_same_state_as_an_uninterrupted_run() {
    let reference = Ws::demo_with(150, 21, 0).await;
    let out = reference.cli(&["run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));

    // The same workspace, run slowly so that the kill lands inside a batch.
    let ws = Ws::demo_with(150, 21, 40).await;
    let mut kills = 0;
    for round in 0..3 {
        let mut child = Command::new(bin())
            .arg("--config")
            .arg(ws.config_path())
            .arg("run")
            .env("HOME", ws.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until this round has made progress past a step boundary inside a batch.
        let target = 20 + round * 35;
        let deadline = Instant::now() + Duration::from_secs(60);
        while count(
            &ws,
            "SELECT COUNT(*) FROM steps WHERE step IN ('create_account', 'migrate_data')",
        )
        .await
            < target
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mid = count(
            &ws,
            "SELECT COUNT(*) FROM customers WHERE status = 'running'",
        )
        .await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if mid > 0 {
            kills += 1;
        }
    }
    assert!(kills >= 1, "at least one kill landed inside a batch");
    // Resume: the dead worker's lease expires (2 s in tests) and the batch is reclaimed.
    std::thread::sleep(Duration::from_millis(2100));
    ws.edit_config(|t| t.replace("step_delay_ms = 40", "step_delay_ms = 0"));
    let out = ws.cli(&["run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));

    assert_eq!(platform_dump(&ws).await, platform_dump(&reference).await);
    for sql in [
        "SELECT COUNT(*) FROM customers WHERE status = 'migrated'",
        "SELECT COUNT(*) FROM customers WHERE status = 'quarantined'",
        "SELECT COUNT(*) FROM notifications",
    ] {
        assert_eq!(count(&ws, sql).await, count(&reference, sql).await, "{sql}");
    }
    assert_eq!(
        count(
            &ws,
            "SELECT COUNT(*) FROM customers WHERE status NOT IN ('migrated', 'quarantined')"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &ws,
            "SELECT COUNT(*) FROM (SELECT customer_id FROM notifications GROUP BY customer_id HAVING COUNT(*) > 1) AS d"
        )
        .await,
        0,
        "no customer notified twice"
    );
    assert_eq!(
        count(
            &ws,
            "SELECT COUNT(*) FROM (SELECT customer_id FROM steps WHERE step = 'notify' GROUP BY customer_id HAVING COUNT(*) > 1) AS d"
        )
        .await,
        0,
        "no customer completed twice"
    );
    let out = ws.cli(&["validate"]);
    assert!(out.status.success(), "{}", common::stdout(&out));
}

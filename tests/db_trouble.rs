//! Database trouble under a running engine: the state database locked by another process for
//! seconds, the disk full (a file size limit on the engine), PostgreSQL dropping every
//! connection mid-run as a restart does. The engine waits, retries or pauses with the reason,
//! and a later run ends exactly where an untroubled one does: nothing half-written is left.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Ws, bin, platform_dump, state_rows};
use sqlx::Connection;

const N: usize = 60;
const SEED: u64 = 404;

async fn reference() -> String {
    let ws = Ws::demo(N, SEED).await;
    let out = ws.cli(&["run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    platform_dump(&ws).await
}

/// The workspace ends as the reference does: the same platform, every customer done once.
async fn assert_as_untroubled(ws: &Ws, want: &str) {
    let got = platform_dump(ws).await;
    if got != want {
        // The rows that differ, not two whole dumps: what a CI log's tail can show.
        let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
        let extra: Vec<&&str> = g.iter().filter(|l| !w.contains(l)).take(10).collect();
        let missing: Vec<&&str> = w.iter().filter(|l| !g.contains(l)).take(10).collect();
        let customers = state_rows(
            ws,
            "SELECT legacy_id, status, step, reason FROM customers WHERE status <> 'migrated' ORDER BY legacy_id",
        )
        .await;
        panic!(
            "the platform differs from an untroubled run's: {} rows against {}\nextra: {extra:#?}\nmissing: {missing:#?}\ncustomers not migrated:\n{customers}",
            g.len(),
            w.len()
        );
    }
    for (what, sql) in [
        (
            "unfinished",
            "SELECT COUNT(*) FROM customers WHERE status NOT IN ('migrated', 'quarantined')",
        ),
        (
            "migrated twice",
            "SELECT COUNT(*) FROM (SELECT customer_id FROM steps WHERE step = 'notify' GROUP BY customer_id HAVING COUNT(*) > 1) AS d",
        ),
    ] {
        assert_eq!(state_rows(ws, sql).await, "0\n", "{what}");
    }
    let out = ws.cli(&["validate"]);
    assert!(
        out.status.success(),
        "validate after the trouble: {}{}",
        common::stdout(&out),
        common::stderr(&out)
    );
}

fn run_child(ws: &Ws) -> Command {
    let mut c = ws.command(&["run"]);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

#[tokio::test]
async fn a_state_database_locked_for_seconds_is_waited_for() {
    if common::on_postgres() {
        println!("SKIPPED a_state_database_locked_for_seconds_is_waited_for: SQLite only");
        return;
    }
    let want = reference().await;
    let ws = Ws::demo(N, SEED).await;
    // Another process (this one) takes the write lock before the engine starts.
    let mut other = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}",
        ws.path().join("state.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    let t0 = Instant::now();
    let mut child = run_child(&ws).spawn().unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Still waiting for the lock: it neither finished nor gave up while it was held.
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run did not wait for the lock"
    );
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(t0.elapsed() >= Duration::from_secs(3));
    assert_as_untroubled(&ws, &want).await;
}

#[tokio::test]
async fn a_full_disk_pauses_the_runner_with_the_reason_and_a_later_run_finishes() {
    if common::on_postgres() {
        println!(
            "SKIPPED a_full_disk_pauses_the_runner_with_the_reason_and_a_later_run_finishes: SQLite only"
        );
        return;
    }
    let want = reference().await;
    let ws = Ws::demo(N, SEED).await;
    ws.edit_config(|t| {
        t.replace(
            "lease_seconds = 5",
            "lease_seconds = 5\nretries = 2\nretry_backoff_ms = 50",
        )
    });
    // The engine may grow no file past 48 KiB beyond the largest one now (with the write-ahead
    // logs folded in first): the state's log, which every step appends to, fills mid-run.
    // SIGXFSZ is ignored, so the write fails instead of killing the process.
    let mut largest = 0;
    for db in ["state.db", "platform.db"] {
        let mut c =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", ws.path().join(db).display()))
                .await
                .unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    }
    for f in std::fs::read_dir(ws.path()).unwrap() {
        largest = largest.max(f.unwrap().metadata().unwrap().len());
    }
    let kib = largest / 1024 + 48;
    let script = format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" --config \"$1\" run",);
    let out = Command::new("bash")
        .args(["-c", &script])
        .arg(bin())
        .arg(ws.config_path())
        .env("HOME", ws.path())
        .env_remove("CUTOVER_CONFIG")
        .output()
        .unwrap();
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("disk is full") || err.contains("disk I/O error"),
        "names the fault: {err}"
    );
    assert!(
        err.contains("retry 1 of 2") && err.contains("retry 2 of 2"),
        "{err}"
    );
    assert!(err.contains("after 2 retries"), "{err}");
    // Paused with the reason, unless the full disk refused that write too (and said so).
    let runner = state_rows(&ws, "SELECT state, reason FROM runner").await;
    assert!(
        (runner.starts_with("paused|") && runner.contains("failed after 2 retries"))
            || err.contains("pausing the runner failed too"),
        "runner: {runner}\n{err}"
    );
    println!("disk full: {}", err.lines().last().unwrap_or_default());
    let migrated_then = state_rows(
        &ws,
        "SELECT COUNT(*) FROM customers WHERE status = 'migrated'",
    )
    .await;
    assert_ne!(
        migrated_then,
        format!("{}\n", N),
        "the limit stopped the run early"
    );

    // Space again: the next run resumes and ends as an untroubled one.
    let out = ws.cli(&["run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_as_untroubled(&ws, &want).await;
}

#[tokio::test]
async fn postgres_dropping_every_connection_mid_run_is_retried() {
    if !common::on_postgres() {
        common::skip(
            "postgres_dropping_every_connection_mid_run_is_retried",
            "the PostgreSQL leg",
        );
        return;
    }
    let want = reference().await;
    let ws = Ws::demo_with(N, SEED, 30).await;
    let app = format!("cutover-trouble-{}", std::process::id());
    ws.edit_config(|t| {
        let t = t.replace(
            "lease_seconds = 5",
            "lease_seconds = 5\nretry_backoff_ms = 100",
        );
        // Every engine connection carries a name, so only they are dropped.
        t.lines()
            .map(|l| {
                if l.starts_with("url = \"postgres://") {
                    let sep = if l.contains('?') { '&' } else { '?' };
                    format!("{}{sep}application_name={app}\"", l.trim_end_matches('"'))
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let admin = common::postgres_url().unwrap();
    let mut pg = sqlx::PgConnection::connect(&admin).await.unwrap();
    let mut child = run_child(&ws).spawn().unwrap();
    // Mid-run: once the first step is recorded (a failure while the process opens its
    // databases is an error at start, with nothing begun).
    let deadline = Instant::now() + Duration::from_secs(30);
    while state_rows(&ws, "SELECT COUNT(*) FROM steps").await == "0\n" {
        assert!(Instant::now() < deadline, "the run never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Three waves, each dropping the engine's connections while one of them is busy (an idle
    // one is replaced by the pool unseen), so that a step fails under the engine.
    let (mut dropped, mut waves) = (0, 0);
    while waves < 3 && child.try_wait().unwrap().is_none() {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = $1 AND state <> 'idle'",
        )
        .bind(&app)
        .fetch_one(&mut pg)
        .await
        .unwrap();
        if n > 0 {
            dropped += n;
            waves += 1;
            tokio::time::sleep(Duration::from_millis(400)).await;
        } else {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let err = common::stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(dropped > 0, "no engine connection was dropped");
    assert!(
        err.contains("; retry 1 of 5 in"),
        "no batch was retried: {err}"
    );
    let retries = err.matches("; retry ").count();
    println!(
        "postgres: {dropped} busy engine connections dropped in {waves} waves, {retries} retries; the run finished"
    );
    ws.edit_config(|t| t.replace("step_delay_ms = 30", "step_delay_ms = 0"));
    assert_as_untroubled(&ws, &want).await;
}

//! The command-line contract (brief 3.1): `status --json`, exit codes, config errors that name
//! the file and key, `--readonly`, and `--help` on every command.

mod common;

use common::{Ws, bin, stderr, stdout};
use std::process::Command;

#[tokio::test]
async fn status_json_has_the_documented_shape() {
    let ws = Ws::demo(50, 31).await;
    let out = ws.cli(&["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for k in [
        "total",
        "pending",
        "running",
        "migrated",
        "failed",
        "rolled_back",
        "quarantined",
    ] {
        assert!(v["customers"][k].is_i64(), "customers.{k} is a number: {v}");
    }
    assert_eq!(v["customers"]["total"], 50);
    let seg = &v["segments"][0];
    for k in ["customers", "migrated", "failed", "quarantined", "priority"] {
        assert!(seg[k].is_i64(), "segments[0].{k}");
    }
    assert!(seg["name"].is_string() && seg["target_success_rate"].is_number());
    assert_eq!(v["runner"]["state"], "idle");
    assert!(v["alerts"]["open"].is_i64());
}

#[tokio::test]
async fn a_bad_config_exits_2_naming_the_file_and_key() {
    let ws = Ws::demo(20, 32).await;
    ws.edit_config(|t| t.replace("[runner]", "[runner]\nbatchsize = 3"));
    let out = ws.cli(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("cutover.toml") && e.contains("runner") && e.contains("batchsize"),
        "{e}"
    );
}

/// A SQLite file that is not a database is named with SQLite's reason at once: a pool
/// retried its first connection for 30 s and then said only "pool timed out".
#[tokio::test]
async fn a_file_that_is_not_a_database_is_named_with_the_reason() {
    let ws = Ws::demo(20, 33).await;
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut files = vec![("legacy.db", "plan", "source.url")];
    if !common::on_postgres() {
        files.push(("state.db", "status", "state.url"));
    }
    for (file, command, key) in files {
        let path = ws.path().join(file);
        let kept = std::fs::read(&path).unwrap();
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(ws.path().join(format!("{file}{suffix}")));
        }
        std::fs::write(&path, &garbage).unwrap();
        let out = ws.cli(&[command]);
        let e = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{command} with {file} garbled: {e}"
        );
        assert!(
            e.contains(key) && e.contains("file is not a database") && !e.contains("timed out"),
            "{command} with {file} garbled: {e}"
        );
        std::fs::write(&path, kept).unwrap();
    }
}

#[tokio::test]
async fn readonly_refuses_writes_with_status_2_and_still_reads() {
    let ws = Ws::demo(20, 33).await;
    for args in [
        vec!["--readonly", "plan"],
        vec!["--readonly", "run"],
        vec!["--readonly", "rollback", "--all", "--yes"],
        vec!["--readonly", "halt"],
    ] {
        let out = ws.cli(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("--readonly"), "{}", stderr(&out));
    }
    let out = ws.cli(&["--readonly", "status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test]
async fn runner_control_from_the_command_line() {
    let ws = Ws::demo(20, 34).await;
    assert!(stdout(&ws.cli(&["pause"])).contains("idle -> paused"));
    assert!(stdout(&ws.cli(&["halt", "--reason", "drill"])).contains("paused -> halted"));
    let out = ws.cli(&["run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("halted"));
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&ws.cli(&["status", "--json"]))).unwrap();
    assert_eq!(v["runner"]["state"], "halted");
    assert_eq!(v["runner"]["reason"], "drill");
}

#[test]
fn every_command_has_help() {
    for cmd in [
        "demo", "import", "plan", "run", "status", "rollback", "validate", "report", "pause",
        "resume", "halt",
    ] {
        let out = Command::new(bin()).args([cmd, "--help"]).output().unwrap();
        assert!(out.status.success(), "{cmd} --help");
        assert!(
            stdout(&out).len() > 100,
            "{cmd} --help explains: {}",
            stdout(&out)
        );
    }
    let out = Command::new(bin())
        .args([
            "rollback",
            "--customer",
            "1",
            "--batch",
            "x",
            "--yes",
            "--config",
            "/nonexistent.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn import_csv_is_byte_for_byte_and_names_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("x.csv");
    std::fs::write(&csv, "id,name,total\n1, Ana ,\"3,5\"\n2,Zoë, \n").unwrap();
    let db = dir.path().join("x.db");
    let out = Command::new(bin())
        .args(["import", "csv"])
        .arg(&csv)
        .args(["--table", "t", "--into"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("imported 2 rows (3 columns)"));
    let dump = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(common::sqlite_rows(
            &db,
            "SELECT '[' || name || '][' || total || ']' FROM t ORDER BY id",
        ));
    assert_eq!(dump, "[ Ana ][3,5]\n[Zoë][ ]\n");
    std::fs::write(&csv, "id,name\n1,a\n2,b,c\n").unwrap();
    let out = Command::new(bin())
        .args(["import", "csv"])
        .arg(&csv)
        .args(["--table", "u", "--into"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("line 3"), "{}", stderr(&out));
}

#[tokio::test]
async fn report_formats() {
    let ws = Ws::demo(30, 35).await;
    ws.cli(&["run"]);
    let md = stdout(&ws.cli(&["report"]));
    assert!(md.contains("| customers |"), "{md}");
    let csv = stdout(&ws.cli(&["report", "--format", "csv"]));
    assert_eq!(csv.lines().count(), 6, "{csv}");
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&ws.cli(&["report", "--format", "json"]))).unwrap();
    assert_eq!(v["entities"].as_array().unwrap().len(), 5);
}

/// Runs `cutover ARGS` (a `bench … --json`), expects success, and returns its JSON and its
/// process id, which names the scratch files the bench must remove.
fn bench_json(args: &[&str]) -> (serde_json::Value, u32) {
    let child = Command::new(bin())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    (serde_json::from_slice(&out.stdout).unwrap(), pid)
}

#[test]
fn bench_copy_runs_on_a_small_size_and_cleans_up() {
    let (v, pid) = bench_json(&[
        "bench",
        "copy",
        "--url",
        "sqlite://ignored",
        "--rows",
        "300",
        "--json",
    ]);
    let scratch = std::env::temp_dir().join(format!("cutover_bench_{pid}.db"));
    assert_eq!(v["rows"], 300);
    assert!(v["ours_rows_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["ratio"].as_f64().unwrap() > 0.0);
    assert!(!scratch.exists(), "{} left behind", scratch.display());
}

#[test]
fn bench_plan_reports_the_median_of_its_rounds_and_cleans_up() {
    let (v, pid) = bench_json(&[
        "bench",
        "plan",
        "--customers",
        "40",
        "--purchases",
        "120",
        "--rounds",
        "3",
        "--json",
    ]);
    let scratch = std::env::temp_dir().join(format!("cutover_bench_plan_{pid}"));
    assert_eq!(v["rounds"], 3);
    assert_eq!(v["customers"], 40);
    for key in ["first_secs", "replan_secs", "group_by_secs", "ratio"] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key}: {v}");
    }
    assert!(!scratch.exists(), "{} left behind", scratch.display());
    let zero = Command::new(bin())
        .args(["bench", "plan", "--rounds", "0"])
        .output()
        .unwrap();
    assert!(!zero.status.success());
    assert!(stderr(&zero).contains("--rounds"), "{}", stderr(&zero));
}

#[tokio::test]
async fn bench_pipeline_runs_on_a_small_wave_and_the_server_copies_the_same_rows() {
    let ws = Ws::demo(60, 33).await;
    let child = ws
        .command(&["bench", "pipeline", "--batches", "2", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let scratch = format!("cutover_bench_{}", child.id());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rows = v["rows"].as_u64().unwrap();
    assert!(rows > 0 && v["customers"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(
        v["server_rows"].as_u64().unwrap(),
        rows,
        "the server copies the same rows: {v}"
    );
    let method = if common::on_postgres() {
        "table"
    } else {
        "attach"
    };
    assert_eq!(v["server_method"], method);
    assert!(v["ratio"].as_f64().unwrap() > 0.0);
    // On PostgreSQL the same rows are copied again into tables shaped as the platform's: the
    // managed schema's five foreign keys (each child to its customer, a repair to its device).
    if common::on_postgres() {
        assert_eq!(v["constrained"]["rows"].as_u64(), Some(rows), "{v}");
        assert_eq!(v["constrained"]["foreign_keys"].as_u64(), Some(5), "{v}");
        assert_eq!(v["indexed"]["rows"].as_u64(), Some(rows), "{v}");
        assert_eq!(v["indexed"]["foreign_keys"].as_u64(), Some(0), "{v}");
        assert!(v["constrained"]["ratio"].as_f64().unwrap() > 0.0, "{v}");
        let ctx = ws.ctx().await;
        let schemas: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pg_namespace WHERE nspname LIKE $1")
                .bind(format!("{scratch}%"))
                .fetch_one(&ctx.target)
                .await
                .unwrap();
        assert_eq!(schemas, 0, "scratch schemas left behind");
        assert!(v["read_back"].is_null(), "{v}");
    } else {
        assert!(v["constrained"].is_null(), "{v}");
        assert!(v["indexed"].is_null(), "{v}");
        // The platform is the demo's whole platform file: at least the rows this run wrote.
        assert!(v["read_back"]["rows"].as_u64().unwrap() >= rows, "{v}");
        for key in ["any_us_per_row", "native_us_per_row"] {
            assert!(v["read_back"][key].as_f64().unwrap() > 0.0, "{key}: {v}");
        }
    }
    // Workers cap each SQLite connection's page cache (`WORKER_SQLITE_CACHE_KIB`); the demo's
    // source is SQLite on both legs.
    assert_eq!(
        v["source_cache_kib"].as_i64(),
        Some(cutover_core::engine::run::WORKER_SQLITE_CACHE_KIB),
        "{v}"
    );
    // The demo's `on_migrated` hook runs for every customer in one call, not one each: the
    // source's statements are then the batch's reads (about 8), fewer than its customers.
    let per_batch = v["customers_per_batch"].as_f64().unwrap();
    let source = v["statements_per_batch"]["source"].as_f64().unwrap();
    assert!(
        per_batch >= 10.0 && source < per_batch,
        "source statements per batch of {per_batch} customers: {source}"
    );
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&scratch))
        .collect();
    assert!(left.is_empty(), "scratch files left behind: {left:?}");
}

/// `cutover plans | head`: the reader goes away, and the command stops quietly with 0 instead
/// of panicking on the closed pipe.
#[tokio::test]
async fn output_to_a_closed_pipe_stops_quietly() {
    let ws = Ws::demo(30, 61).await;
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = ws
        .command(&["plans"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `status` never says `running` with no live worker behind it: a heartbeat older than two
/// lease periods reads "running (no live worker)", and the JSON says so too.
#[tokio::test]
async fn status_tells_a_running_runner_without_a_live_worker() {
    let ws = Ws::demo(20, 36).await;
    let ctx = ws.ctx().await;
    sqlx::query(
        "UPDATE runner SET state = 'running', heartbeat_at = '2026-01-01T00:00:00.000Z', \
         changed_at = '2026-01-01T00:00:00.000Z'",
    )
    .execute(&ctx.state)
    .await
    .unwrap();
    let text = stdout(&ws.cli(&["status"]));
    assert!(text.contains("runner running (no live worker)"), "{text}");
    let v: serde_json::Value =
        serde_json::from_slice(&ws.cli(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v["runner"]["state"], "running");
    assert_eq!(v["runner"]["no_live_worker"], true);
    sqlx::query("UPDATE runner SET heartbeat_at = $1")
        .bind(cutover_core::clock::now())
        .execute(&ctx.state)
        .await
        .unwrap();
    let text = stdout(&ws.cli(&["status"]));
    assert!(text.contains("runner running\n"), "{text}");
}

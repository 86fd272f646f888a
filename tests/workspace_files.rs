//! The workspace's files: private to their user (directories 0700, databases, journals, the
//! config and the log 0600), an existing file's mode never loosened and reported when others
//! can read it, no database created by a command that only reads or runs, and a database that
//! disappears under a run stops it. SQLite files only: the PostgreSQL leg skips these.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Ws, bin, state_rows, stderr, stdout};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

fn sqlite_only(test: &str) -> bool {
    if common::on_postgres() {
        println!("SKIPPED {test}: SQLite files only");
        return false;
    }
    true
}

#[test]
fn every_file_the_binary_creates_is_private_to_its_user() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("ws");
    let out = Command::new(bin())
        .args(["demo", "--customers", "40", "--dir"])
        .arg(&dir)
        .env("HOME", home.path())
        .env_remove("CUTOVER_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let run = Command::new(bin())
        .arg("--config")
        .arg(dir.join("cutover.toml"))
        .arg("run")
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(mode(&dir), 0o700, "the workspace directory");
    let data = home.path().join(".local/share/cutover");
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("logs")), 0o700, "the log directory");
    let today = chrono::Utc::now().format("%Y-%m-%d");
    assert_eq!(
        mode(&data.join(format!("logs/cutover.{today}.log"))),
        0o600,
        "the day's log"
    );
    let mut seen = 0;
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
        seen += 1;
    }
    // The config and three databases; write-ahead logs and shared memory when SQLite left
    // them (it removes them when the last connection closes, and makes them with the mode of
    // their database).
    assert!(seen >= 4, "{seen} files");
}

#[tokio::test]
async fn a_file_others_can_read_is_reported_and_left_as_it_is() {
    if !sqlite_only("a_file_others_can_read_is_reported") {
        return;
    }
    let ws = Ws::demo(20, 3).await;
    let state = ws.path().join("state.db");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = ws.cli(&["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning") && err.contains("state.db") && err.contains("chmod 600"),
        "{err}"
    );
    assert_eq!(
        mode(&state),
        0o644,
        "an existing file's mode is the operator's"
    );
    // The JSON on stdout is untouched by the warning.
    let json = ws.cli(&["status", "--json"]);
    serde_json::from_slice::<serde_json::Value>(&json.stdout).unwrap();
}

#[tokio::test]
async fn a_missing_database_is_an_error_naming_its_key_and_nothing_is_created() {
    if !sqlite_only("a_missing_database_is_an_error") {
        return;
    }
    let ws = Ws::demo(20, 4).await;
    for (from, to, key) in [
        (
            "url = \"sqlite://state.db\"",
            "url = \"sqlite://stat.db\"",
            "state.url",
        ),
        (
            "url = \"sqlite://platform.db\"",
            "url = \"sqlite://platfrom.db\"",
            "target.url",
        ),
    ] {
        let text = std::fs::read_to_string(ws.config_path()).unwrap();
        assert!(text.contains(from), "{from} in the demo config");
        let bad = ws.path().join(format!("{key}.toml"));
        std::fs::write(&bad, text.replace(from, to)).unwrap();
        let wrong = ws
            .path()
            .join(to.split("//").nth(1).unwrap().trim_end_matches('"'));
        for args in [&["status"][..], &["validate"], &["run"], &["report"]] {
            let out = ws.command_with(&bad, args).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            let err = stderr(&out);
            assert!(
                err.contains(&format!("key `{key}`")) && err.contains(&wrong.display().to_string()),
                "{args:?}: {err}"
            );
            assert!(!wrong.exists(), "{args:?} created {}", wrong.display());
        }
    }
}

#[tokio::test]
async fn the_first_plan_of_a_new_workspace_creates_its_databases() {
    if !sqlite_only("the_first_plan_of_a_new_workspace") {
        return;
    }
    let ws = Ws::demo(30, 5).await;
    for db in ["state.db", "platform.db"] {
        cutover_core::db::remove_sqlite_files(&ws.path().join(db)).unwrap();
    }
    let out = ws.cli(&["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = ws.cli(&["plan"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("30 customers planned"),
        "{}",
        stdout(&out)
    );
    for db in ["state.db", "platform.db"] {
        assert_eq!(mode(&ws.path().join(db)), 0o600, "{db}");
    }
    assert!(ws.cli(&["status"]).status.success());
}

#[tokio::test]
async fn a_platform_deleted_under_a_run_fails_the_run() {
    if !sqlite_only("a_platform_deleted_under_a_run") {
        return;
    }
    let ws = Ws::demo_with(200, 6, 50).await;
    let child = ws
        .command(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while state_rows(&ws, "SELECT COUNT(*) FROM steps").await == "0\n" {
        assert!(Instant::now() < deadline, "the run never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cutover_core::db::remove_sqlite_files(&ws.path().join("platform.db")).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("target.url") && err.contains("disappeared"),
        "{err}"
    );
    // Nothing brings an empty platform back behind the operator's back.
    let out = ws.cli(&["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!ws.path().join("platform.db").exists());
}

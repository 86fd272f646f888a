//! What an installation needs (issue 22): shell completions and the man page generated from the
//! clap definitions, `cutover info` with passwords masked, and daily log files kept private.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{bin, ok, stderr, stdout};

/// The binary with a private HOME and no config from the environment.
fn cutover(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .env("HOME", home)
        .env_remove("CUTOVER_CONFIG")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap()
}

/// Every subcommand's name, from `--help`.
fn subcommands(home: &std::path::Path) -> Vec<String> {
    let help = ok(&cutover(home, &["--help"]));
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

#[test]
fn completions_for_three_shells_and_a_man_page_cover_every_command() {
    let home = tempfile::tempdir().unwrap();
    let commands = subcommands(home.path());
    assert!(commands.len() > 20, "{commands:?}");
    for (shell, marker) in [
        ("bash", "complete -F _cutover"),
        ("zsh", "#compdef cutover"),
        ("fish", "complete -c cutover"),
    ] {
        let script = ok(&cutover(home.path(), &["completions", shell]));
        assert!(script.contains(marker), "{shell}: {script}");
        for c in &commands {
            assert!(script.contains(c.as_str()), "{shell} completes `{c}`");
        }
    }
    let bad = cutover(home.path(), &["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));

    let page = ok(&cutover(home.path(), &["man"]));
    assert!(page.contains("\n.TH cutover 1 "), "{page}");
    for c in &commands {
        assert!(
            page.contains(&format!(".SH \"cutover {c}\"")),
            "the man page documents `{c}`"
        );
    }
    assert!(page.contains("breached"), "options are documented");
}

#[test]
fn info_says_where_things_are_with_passwords_masked() {
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path().join("cutover.toml");
    std::fs::write(
        &cfg,
        "[workspace]\nname = 'x'\n[state]\nurl = 'postgres://ops:s3cret@db.internal:5432/cutover'\n\
         [source]\nurl = 'mysql://reader:hunter2@legacy:3306/crm'\n[target]\nurl = 'sqlite://platform.db'\n\
         [mapping.customers]\nquery = 'SELECT 1 AS legacy_id'\n",
    )
    .unwrap();
    let path = cfg.display().to_string();
    let o = cutover(home.path(), &["--config", &path, "info", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(v["config"], serde_json::json!(path));
    assert_eq!(
        v["state"],
        serde_json::json!("postgres://ops:***@db.internal:5432/cutover")
    );
    assert_eq!(
        v["source"],
        serde_json::json!("mysql://reader:***@legacy:3306/crm")
    );
    let text = ok(&cutover(home.path(), &["--config", &path, "info"]));
    assert!(
        !text.contains("s3cret") && !text.contains("hunter2"),
        "{text}"
    );
    assert!(text.contains(".local/share/cutover/logs"), "{text}");
    // A config that does not load: the paths, then the error naming the key, exit 2.
    std::fs::write(&cfg, "[workspace]\nnam = 'x'\n").unwrap();
    let o = cutover(home.path(), &["--config", &path, "info"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("config"), "{}", stdout(&o));
    assert!(stderr(&o).contains("nam"), "{}", stderr(&o));
    // Nothing was created for the demo.
    assert!(!home.path().join(".local/share/cutover/demo").exists());
}

#[test]
fn logs_go_to_a_private_file_a_day() {
    let home = tempfile::tempdir().unwrap();
    let o = Command::new(bin())
        .args(["info"])
        .env("HOME", home.path())
        .env("CUTOVER_LOG", "debug")
        .env_remove("CUTOVER_CONFIG")
        .env_remove("XDG_DATA_HOME")
        .output()
        .unwrap();
    ok(&o);
    let dir = home.path().join(".local/share/cutover/logs");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let file = dir.join(format!("cutover.{today}.log"));
    assert!(
        file.exists(),
        "{:?}",
        std::fs::read_dir(&dir).map(|d| d.count())
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the log is its owner's alone");
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

/// `cutover doctor` on the demo passes every check and writes nothing; a broken mapping, an
/// unreachable database or a bad config each fail naming what, with exit 1 or 2.
#[tokio::test]
async fn doctor_checks_a_workspace_without_writing_and_names_what_fails() {
    let ws = common::Ws::demo(20, 5).await;
    let before = common::sqlite_dump(&ws.path().join("legacy.db")).await;
    let stamp = || {
        std::fs::metadata(ws.path().join("state.db"))
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    let state_before = stamp();
    let o = ws.cli(&["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
    assert_eq!(v["failed"], 0, "{v}");
    let checks = v["checks"].as_array().unwrap();
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    for want in [
        "source.url",
        "state.url",
        "mapping.customers.query",
        "mapping.owner.query",
        "audit",
        "operator",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    assert!(names.iter().any(|n| n.starts_with("health.component")));
    assert_eq!(
        common::sqlite_dump(&ws.path().join("legacy.db")).await,
        before,
        "the source is untouched"
    );
    if !common::on_postgres() {
        assert_eq!(stamp(), state_before, "the state is untouched");
    }

    // A mapping that lacks a required column, and an owner query without its column.
    ws.edit_config(|t| {
        t.replace("account_rep AS owner", "account_rep AS csm")
            .replace(
                "SELECT client_id AS legacy_id, full_name",
                "SELECT client_id AS cid, full_name",
            )
    });
    let o = ws.cli(&["doctor"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let text = stdout(&o);
    assert!(
        text.lines().any(|l| l.starts_with("mapping.owner.query")
            && l.contains("FAIL")
            && l.contains("owner")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("mapping.customers.query") && l.contains("required: legacy_id")),
        "{text}"
    );

    // A state database that is not there, and one that is unreachable.
    ws.edit_config(|t| {
        t.replace("account_rep AS csm", "account_rep AS owner")
            .replace(
                "SELECT client_id AS cid, full_name",
                "SELECT client_id AS legacy_id, full_name",
            )
    });
    let cfg = std::fs::read_to_string(ws.config_path()).unwrap();
    let state_line = cfg
        .lines()
        .find(|l| l.starts_with("url = ") && cfg.contains("[state]"))
        .unwrap();
    let broken = cfg.replacen(
        state_line,
        "url = \"postgres://nobody@127.0.0.1:9/none\"",
        1,
    );
    let path = ws.path().join("unreachable.toml");
    std::fs::write(&path, broken).unwrap();
    let o = ws.command_with(&path, &["doctor"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.starts_with("state.url") && l.contains("FAIL")),
        "{}",
        stdout(&o)
    );

    // A config that does not load: exit 2, naming the key.
    ws.edit_config(|t| t.replace("[workspace]", "[workspace]\nbogus = 1"));
    let o = ws.cli(&["doctor"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("bogus"), "{}", stderr(&o));
}

/// One scrape of `/metrics` at `addr` over plain HTTP/1.0: the body.
fn scrape(addr: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    assert!(
        head.to_lowercase().contains("text/plain; version=0.0.4"),
        "{head}"
    );
    body.to_string()
}

/// The sum of every sample of `name` whose labels contain `with`.
fn total(body: &str, name: &str, with: &str) -> f64 {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| l.contains(with))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `cutover serve --metrics` on a loopback port after a run: its figures equal
/// `status --json`'s, its histograms count every step and batch done, and it stops on SIGTERM.
#[tokio::test]
async fn the_metrics_endpoint_agrees_with_status_after_a_run() {
    use std::io::BufRead as _;
    let ws = common::Ws::demo(60, 7).await;
    ok(&ws.cli(&["run", "--batches", "2"]));
    let mut server = ws
        .command(&["serve", "--metrics", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    let body = scrape(&addr);
    let status: serde_json::Value =
        serde_json::from_str(&ok(&ws.cli(&["status", "--json"]))).unwrap();
    let n = |v: &serde_json::Value| v.as_f64().unwrap();
    assert_eq!(
        total(&body, "cutover_customers", ""),
        n(&status["customers"]["total"])
    );
    assert_eq!(
        total(&body, "cutover_customers", "status=\"migrated\""),
        n(&status["customers"]["migrated"])
    );
    assert_eq!(
        total(&body, "cutover_batches", "status=\"done\""),
        n(&status["batches"]["done"])
    );
    assert_eq!(
        total(&body, "cutover_alerts_open", ""),
        n(&status["alerts"]["open"])
    );
    assert_eq!(
        total(&body, "cutover_batch_duration_seconds_count", ""),
        n(&status["batches"]["done"])
    );
    let migrated = n(&status["customers"]["migrated"]);
    assert!(migrated > 0.0);
    assert_eq!(
        total(
            &body,
            "cutover_step_duration_seconds_count",
            "step=\"validate\""
        ),
        migrated,
        "{body}"
    );
    assert_eq!(
        total(&body, "cutover_runner_state", ""),
        1.0,
        "one state is on"
    );
    // A second scrape reads only what is new, and counts the same.
    let again = scrape(&addr);
    assert_eq!(
        total(&again, "cutover_step_duration_seconds_count", ""),
        total(&body, "cutover_step_duration_seconds_count", "")
    );
    assert_eq!(total(&again, "cutover_scrapes_total", ""), 2.0);
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(server.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let code = server.wait().unwrap();
    assert!(code.success(), "stops cleanly on SIGTERM: {code:?}");
}

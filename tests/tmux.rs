//! The binary in a real terminal (tmux): open the demo, start the runner, watch progress, and
//! leave by `q`, Ctrl-C, SIGTERM, SIGHUP or a panic with the terminal restored (checked with
//! `stty -a`); when the pty closes under it, the process ends within 2 s. CI points
//! `CUTOVER_BIN` at the release build.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Ws, bin};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn start(ws: &Ws, name: &str, env: &str) -> Tmux {
        let t = Tmux {
            socket: format!("cutover-test-{name}-{}", std::process::id()),
        };
        let stty = ws.path().join(format!("stty-{name}.txt"));
        let cmd = format!(
            "cd {dir} && env HOME={dir} {env} {bin} --config {cfg}; stty -a > {stty}; sleep 30",
            dir = ws.path().display(),
            bin = bin().display(),
            cfg = ws.config_path().display(),
            stty = stty.display(),
        );
        let ok = Command::new("tmux")
            .args([
                "-L", &t.socket, "new", "-d", "-s", "s", "-x", "80", "-y", "24", &cmd,
            ])
            .status()
            .unwrap();
        assert!(ok.success());
        t
    }

    fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "s"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "s"])
            .args(keys)
            .status()
            .unwrap();
    }

    /// Waits (with a deadline, polling) until the screen satisfies `f`.
    fn wait(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.screen();
            if f(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pid of cutover inside the pane's shell.
    fn cutover_pid(&self) -> String {
        let o = Command::new("tmux")
            .args(["-L", &self.socket, "list-panes", "-F", "#{pane_pid}"])
            .output()
            .unwrap();
        let shell = String::from_utf8_lossy(&o.stdout).trim().to_string();
        let o = Command::new("pgrep").args(["-P", &shell]).output().unwrap();
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The N of the gauge's "N/200 migrated".
fn migrated_on_screen(screen: &str) -> Option<i64> {
    let head = screen.split("/200 migrated").next()?;
    let digits: String = head
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

fn restored(ws: &Ws, name: &str) {
    let p = ws.path().join(format!("stty-{name}.txt"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !p.exists() || std::fs::read_to_string(&p).unwrap_or_default().is_empty() {
        assert!(Instant::now() < deadline, "cutover did not exit ({name})");
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = std::fs::read_to_string(&p).unwrap();
    assert!(
        s.contains(" icanon") && !s.contains("-icanon"),
        "canonical mode restored ({name}): {s}"
    );
    assert!(
        s.contains(" echo ") && !s.contains("-echo "),
        "echo restored ({name}): {s}"
    );
}

#[tokio::test]
async fn open_start_watch_progress_and_quit_with_the_terminal_restored() {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let ws = Ws::demo_with(200, 41, 20).await;
    let t = Tmux::start(&ws, "q", "NO_COLOR=1");
    let s = t.wait("the console", |s| {
        s.contains("1 Migration") && s.contains("runner IDLE")
    });
    assert_eq!(
        migrated_on_screen(&s),
        Some(0),
        "nothing migrated before s:\n{s}"
    );
    t.keys(&["s"]);
    // Wait for the gauge's number itself: the bar's glyphs can sit right against its digits.
    let s = t.wait("progress", |s| {
        s.contains("runner RUNNING") && migrated_on_screen(s).is_some_and(|n| n > 0)
    });
    // That number comes from the state database: no more than the database holds a moment
    // later (the count only grows while the run goes on).
    let shown = migrated_on_screen(&s).unwrap();
    let ctx = ws.ctx().await;
    let in_db: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE status = 'migrated'")
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert!(
        shown > 0 && shown <= in_db,
        "screen says {shown}, database {in_db}"
    );
    t.keys(&["Tab", "Tab", "Enter"]);
    t.wait("zoomed alerts", |s| {
        s.contains("3 Alerts") && !s.contains("1 Migration")
    });
    t.keys(&["Escape"]);
    t.keys(&["q"]);
    restored(&ws, "q");
}

#[tokio::test]
async fn ctrl_c_and_sighup_restore_the_terminal() {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let ws = Ws::demo(40, 42).await;
    let t = Tmux::start(&ws, "ctrlc", "");
    t.wait("the console", |s| s.contains("1 Migration"));
    t.keys(&["C-c"]);
    restored(&ws, "ctrlc");
    drop(t);

    let t = Tmux::start(&ws, "hup", "");
    t.wait("the console", |s| s.contains("1 Migration"));
    let pid = t.cutover_pid();
    assert!(!pid.is_empty());
    Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    restored(&ws, "hup");

    let t = Tmux::start(&ws, "small", "");
    t.wait("the console", |s| s.contains("1 Migration"));
    Command::new("tmux")
        .args([
            "-L",
            &t.socket,
            "resize-window",
            "-t",
            "s",
            "-x",
            "60",
            "-y",
            "20",
        ])
        .status()
        .unwrap();
    t.wait("too small", |s| s.contains("terminal too small"));
    Command::new("tmux")
        .args([
            "-L",
            &t.socket,
            "resize-window",
            "-t",
            "s",
            "-x",
            "100",
            "-y",
            "30",
        ])
        .status()
        .unwrap();
    t.wait("redrawn", |s| s.contains("1 Migration"));
    t.keys(&["q"]);
    restored(&ws, "small");
}

#[tokio::test]
async fn sigterm_and_a_panic_restore_the_terminal_and_a_closed_pty_ends_the_process() {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let ws = Ws::demo(40, 43).await;
    let t = Tmux::start(&ws, "term", "");
    t.wait("the console", |s| s.contains("1 Migration"));
    let pid = t.cutover_pid();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    restored(&ws, "term");
    drop(t);

    // A panic while drawing (injected, src/fault.rs): ratatui's hook restores the terminal
    // before the report is printed.
    let t = Tmux::start(&ws, "panic", "RUST_BACKTRACE=0 CUTOVER_FAULT=panic@render");
    restored(&ws, "panic");
    let s = t.wait("the panic report", |s| {
        s.contains("injected fault at render")
    });
    assert!(!s.contains("1 Migration"), "{s}");
    drop(t);

    // The pty closes under it (the SSH session or the tmux server is gone).
    let t = Tmux::start(&ws, "closed", "");
    t.wait("the console", |s| s.contains("1 Migration"));
    let pid = t.cutover_pid();
    assert!(!pid.is_empty(), "cutover's pid");
    let proc = std::path::PathBuf::from(format!("/proc/{pid}"));
    assert!(proc.exists());
    let closed = Instant::now();
    drop(t); // kills the tmux server, closing the pty's master side
    while proc.exists() && closed.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // A zombie has no command line left; a live process would still be there.
    let alive = std::fs::read_to_string(proc.join("cmdline")).is_ok_and(|c| !c.is_empty());
    assert!(!alive, "cutover {pid} still runs 2 s after its pty closed");
}

/// Quitting the console, or losing it (SIGHUP from a dropped SSH session), while its runner
/// works stops its worker at the next step boundary with its lease given back: no batch stays
/// leased to a worker that is gone, and `status` says the runner has no live worker rather
/// than `running`.
#[tokio::test]
async fn quitting_or_losing_the_console_gives_its_workers_lease_back() {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    for how in ["q", "hup"] {
        let ws = Ws::demo_with(200, 44, 100).await;
        let t = Tmux::start(&ws, &format!("lease-{how}"), "NO_COLOR=1");
        t.wait("the console", |s| s.contains("runner IDLE"));
        t.keys(&["s"]);
        t.wait("progress", |s| {
            s.contains("runner RUNNING") && migrated_on_screen(s).is_some_and(|n| n > 0)
        });
        if how == "q" {
            t.keys(&["q"]);
        } else {
            let pid = t.cutover_pid();
            Command::new("kill").args(["-HUP", &pid]).status().unwrap();
        }
        restored(&ws, &format!("lease-{how}"));
        let leased = common::state_rows(
            &ws,
            "SELECT id FROM batches WHERE status = 'running' AND lease_until IS NOT NULL",
        )
        .await;
        assert_eq!(
            leased, "",
            "{how}: a batch is still leased to the gone console"
        );
        let out = ws.cli(&["status", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["runner"]["state"], "running",
            "{how}: the shared state is left"
        );
        drop(t);
    }
}

#[tokio::test]
async fn a_journey_through_the_command_line_filter_help_and_two_rollbacks() {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let ws = Ws::demo(200, 43).await;
    let out = ws.cli(&["run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let t = Tmux::start(&ws, "journey", "NO_COLOR=1");
    t.wait("the console", |s| {
        s.contains("1 Migration") && s.contains("/200 migrated")
    });

    // `:` with completion: `:bat` Tab Enter shows the Batches view.
    t.keys(&[":"]);
    t.keys(&["-l", "bat"]);
    t.keys(&["Tab"]);
    t.wait("completion", |s| s.contains(": batches "));
    t.keys(&["Enter"]);
    let s = t.wait("the batches view", |s| {
        s.contains("6 Batches") && s.contains("VIP-0001")
    });
    assert!(s.contains("done"), "{s}");

    // `/` filters, the title shows it, Esc clears it.
    t.keys(&["/"]);
    t.keys(&["-l", "HIGH"]);
    t.keys(&["Enter"]);
    t.wait("the filter in the title", |s| {
        s.contains("/HIGH") && !s.contains("VIP-0001")
    });
    t.keys(&["/"]);
    t.keys(&["Escape"]);
    t.wait("the filter cleared", |s| {
        s.contains("VIP-0001") && !s.contains("/HIGH")
    });

    // `?` help closes on q without quitting.
    t.keys(&["?"]);
    t.wait("help", |s| s.contains("Keys") && s.contains("Everywhere"));
    t.keys(&["q"]);
    t.wait("help closed, console still there", |s| {
        s.contains("6 Batches") && !s.contains("Everywhere")
    });

    // A batch rollback from the command line shows its blast radius before anything changes.
    t.keys(&[":"]);
    t.keys(&["-l", "rollback batch VIP-0001"]);
    t.keys(&["Enter"]);
    let s = t.wait("the blast radius", |s| s.contains("would touch:"));
    assert!(s.contains("platform rows"), "{s}");
    assert!(s.contains("told they moved"), "{s}");
    let ctx = ws.ctx().await;
    let migrated = async |q: &str| -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(q.to_string()))
            .fetch_one(&ctx.state)
            .await
            .unwrap()
    };
    let before = migrated(
        "SELECT COUNT(*) FROM customers WHERE batch_id = 'VIP-0001' AND status = 'migrated'",
    )
    .await;
    assert!(before > 0);
    assert!(
        s.contains(&format!("{before} customers ({before} migrated)")),
        "the radius counts the batch's migrated customers ({before}): {s}"
    );
    t.keys(&["Tab"]);
    t.keys(&["-l", "VIP-0001"]);
    t.keys(&["Enter"]);
    t.wait("the rollback done", |s| s.contains("rolled back"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while migrated(
        "SELECT COUNT(*) FROM customers WHERE batch_id = 'VIP-0001' AND status = 'migrated'",
    )
    .await
        > 0
    {
        assert!(Instant::now() < deadline, "batch rolled back");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A wave rollback from the Segments pane, its name typed.
    t.keys(&["2"]);
    t.keys(&["r"]);
    t.wait("the wave's radius", |s| s.contains("Wave VIP would touch:"));
    t.keys(&["Tab"]);
    t.keys(&["-l", "VIP"]);
    t.keys(&["Enter"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while migrated("SELECT COUNT(*) FROM customers WHERE segment = 'VIP' AND status = 'migrated'")
        .await
        > 0
    {
        assert!(Instant::now() < deadline, "wave rolled back");
        std::thread::sleep(Duration::from_millis(100));
    }
    let s = t.wait("the wave counted as rolled back", |s| {
        s.lines().any(|l| l.contains("VIP") && l.contains("0/2"))
    });
    // Neither the Migration pane's ETA nor the Segments pane's calendar calls the wave done.
    let vip: Vec<&str> = s.lines().filter(|l| l.contains("VIP")).collect();
    assert!(
        !vip.is_empty() && vip.iter().all(|l| !l.contains("done")),
        "{s}"
    );
    t.keys(&["q"]);
    restored(&ws, "journey");
}

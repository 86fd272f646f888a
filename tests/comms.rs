//! Customer communications: the shipped templates render with the customer's own facts
//! (`comms preview`), the pipeline's "moved" message carries the rendered welcome, and a bad
//! `[[communication]]` (a template that does not exist, an unknown placeholder, an offset before
//! the programme's day 1) exits 2 naming the key.

mod common;

use common::{Ws, stderr, stdout};

#[tokio::test]
async fn a_preview_fills_the_placeholders_from_the_state_and_moved_carries_the_welcome() {
    let ws = Ws::demo(30, 23).await;
    let out = ws.cli(&["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ctx = ws.ctx().await;
    let (id, name, wave, migrated_at): (String, String, String, String) = sqlx::query_as(
        "SELECT legacy_id, name, segment, migrated_at FROM customers WHERE status = 'migrated' ORDER BY id LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    let text = stdout(&ws.cli(&["comms", "preview", "--customer", &id, "--notice", "moved"]));
    assert!(text.starts_with(&format!("Hello {name},")), "{text}");
    assert!(
        text.contains(&format!("moved on {}", &migrated_at[..10])),
        "{text}"
    );
    assert!(!text.contains('{'), "every placeholder filled: {text}");
    let announcement = stdout(&ws.cli(&[
        "comms",
        "preview",
        "--customer",
        &id,
        "--notice",
        "announcement",
    ]));
    assert!(
        announcement.contains(&format!("Your wave, {wave},")),
        "{announcement}"
    );

    let payload: String = sqlx::query_scalar(
        "SELECT n.payload FROM notifications n JOIN customers c ON c.id = n.customer_id
         WHERE n.kind = 'moved' AND c.legacy_id = $1",
    )
    .bind(&id)
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
    let message = v["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(&format!("Hello {name},")), "{v}");
    assert!(message.contains("Welcome to the new platform"), "{v}");

    let unknown = ws.cli(&["comms", "preview", "--customer", &id, "--notice", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no such notice (there are announcement"),
        "{}",
        stderr(&unknown)
    );
}

#[tokio::test]
async fn a_bad_communication_exits_2_naming_the_key() {
    let ws = Ws::demo(10, 24).await;
    let base = std::fs::read_to_string(ws.config_path()).unwrap();
    // Without the demo's own notices and KPIs, so each entry tried is the first.
    let base = base[..base.find("# The customers' notices").unwrap()].to_string();
    let try_with = |entry: &str| {
        std::fs::write(ws.config_path(), format!("{base}\n{entry}")).unwrap();
        let out = ws.cli(&["status"]);
        (out.status.code(), stderr(&out))
    };
    let (code, e) = try_with(
        "[[communication]]\nname = \"letter\"\noffset_days = -1\nfrom = \"window\"\ntemplate = \"letters/none.txt\"\n",
    );
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("key `communication[0].template` of `letter`"),
        "{e}"
    );
    assert!(e.contains("neither a shipped template"), "{e}");

    std::fs::write(ws.path().join("letter.txt"), "Dear {nmae},\n").unwrap();
    let (code, e) = try_with(
        "[[communication]]\nname = \"letter\"\noffset_days = -1\nfrom = \"window\"\ntemplate = \"letter.txt\"\n",
    );
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("unknown placeholder {nmae}"), "{e}");

    // VIP's window opens on day 8: 14 days before it is day -6.
    let (code, e) = try_with(
        "[[communication]]\nname = \"announcement\"\noffset_days = -14\nfrom = \"window\"\ntemplate = \"announcement\"\n",
    );
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("key `communication[0].offset_days` of `announcement`"),
        "{e}"
    );
    assert!(e.contains("is day -6, before the programme's day 1"), "{e}");
    assert!(e.contains("`earliest_day = 1`"), "{e}");
    let (code, e) = try_with(
        "[[communication]]\nname = \"announcement\"\noffset_days = -14\nfrom = \"window\"\ntemplate = \"announcement\"\nearliest_day = 1\n",
    );
    assert_eq!(
        code,
        Some(0),
        "sent on day 1 at the earliest, it loads: {e}"
    );

    let (code, e) = try_with(
        "[[communication]]\nname = \"reminder\"\noffset_days = -1\nfrom = \"window\"\ntemplate = \"reminder\"\ntarget = \"nowhere\"\n",
    );
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("no `[notify.target.nowhere]`"), "{e}");

    let (code, e) = try_with(
        "[[communication]]\nname = \"reminder\"\noffset_days = -1\nfrom = \"window\"\ntemplate = \"reminder\"\n",
    );
    assert_eq!(code, Some(0), "a good entry loads: {e}");
}

#[tokio::test]
async fn a_bad_kpi_or_report_exits_2_naming_the_key() {
    let ws = Ws::demo(10, 25).await;
    let base = std::fs::read_to_string(ws.config_path()).unwrap();
    let base = base[..base.find("# The customers' notices").unwrap()].to_string();
    let try_with = |entry: &str, cmd: &str| {
        std::fs::write(ws.config_path(), format!("{base}\n{entry}")).unwrap();
        let out = ws.cli(&[cmd]);
        (out.status.code(), stderr(&out), stdout(&out))
    };
    let (code, e, _) = try_with(
        "[[kpi]]\nname = \"nps\"\ntarget = 30\ncomparison = \">\"\n",
        "status",
    );
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("key `kpi[0]` of `nps`: not a built-in KPI"),
        "{e}"
    );
    let (code, e, _) = try_with(
        "[[kpi]]\nname = \"nps\"\nquery = \"SELECT 1\"\ncomparison = \">\"\n",
        "status",
    );
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("needs `target` and `comparison`"), "{e}");
    let (code, e, _) = try_with("[report]\ndaily_at = \"8am\"\n", "status");
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("key `report.daily_at`"), "{e}");
    // A query that fails on its database is found when it runs, and named.
    let (code, e, _) = try_with(
        "[[kpi]]\nname = \"nps\"\nquery = \"SELECT AVG(score) FROM surveys\"\ndatabase = \"source\"\ntarget = 30\ncomparison = \">\"\n",
        "kpi",
    );
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("key `kpi[0].query` of `nps`"), "{e}");
    assert!(e.contains("surveys"), "{e}");
    // A good one runs, and a built-in's target can be moved.
    let (code, e, out) = try_with(
        "[[kpi]]\nname = \"clients\"\nquery = \"SELECT COUNT(*) FROM clients\"\ndatabase = \"source\"\ntarget = 5\ncomparison = \">=\"\nunit = \"\"\n\n[[kpi]]\nname = \"completion\"\ntarget = 50\n",
        "kpi",
    );
    assert_eq!(code, Some(0), "{e}");
    assert!(out.contains("clients") && out.contains("> 50.0%"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&ws.cli(&["kpi", "--json"]))).unwrap();
    let clients = v
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "clients")
        .unwrap();
    assert_eq!(clients["value"], 10.0, "the demo's 10 clients");
    assert_eq!(clients["standing"], "met");
}

#[tokio::test]
async fn comms_and_the_period_reports_from_the_command_line() {
    let ws = Ws::demo(40, 26).await;
    common::ok(&ws.cli(&["run"]));
    common::ok(&ws.cli(&["tick"]));
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&ws.cli(&["comms", "--json"]))).unwrap();
    let rows = v.as_array().unwrap();
    let moved: i64 = rows
        .iter()
        .filter(|r| r["notice"] == "moved")
        .map(|r| r["sent"].as_i64().unwrap())
        .sum();
    let ctx = ws.ctx().await;
    let migrated: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE status = 'migrated'")
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    assert_eq!(moved, migrated, "a moved notice per migrated customer");
    let text = stdout(&ws.cli(&["comms"]));
    assert!(
        text.contains("announcement") && text.contains("reach"),
        "{text}"
    );

    let daily = stdout(&ws.cli(&["report", "--daily", "--format", "json"]));
    let d: serde_json::Value = serde_json::from_str(&daily).unwrap();
    assert_eq!(d["migrated"], migrated, "moved today");
    assert_eq!(d["period"], "daily");
    assert!(
        d["snapshot_of"].is_string(),
        "the tick stored today's snapshot"
    );
    let csv = stdout(&ws.cli(&["report", "--daily", "--format", "csv"]));
    assert!(csv.starts_with("section,name,value\n"), "{csv}");
    assert!(
        csv.contains(&format!("period,migrated,{migrated}")),
        "{csv}"
    );
    let week = cutover_core::report::period::week_of(chrono::Utc::now().date_naive());
    let md = stdout(&ws.cli(&["report", "--weekly", "--week", &week]));
    assert!(md.starts_with("# Weekly report"), "{md}");
    assert!(md.contains(&format!("customers moved: {migrated}")), "{md}");
    let bad = ws.cli(&["report", "--weekly", "--week", "49"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("not an ISO week"), "{}", stderr(&bad));
}

/// Killed after each of its first commits, a tick that runs again sends what was left, and
/// nothing twice: the outbox ends as one uninterrupted tick leaves it.
#[tokio::test]
async fn a_tick_killed_between_its_commits_loses_and_repeats_no_notice() {
    let reference = Ws::demo(60, 27).await;
    common::ok(&reference.cli(&["tick"]));
    let sent = "SELECT kind, COUNT(*), COUNT(DISTINCT customer_id) FROM notifications
                WHERE customer_id IS NOT NULL GROUP BY kind ORDER BY kind";
    let want = common::state_rows(&reference, sent).await;
    assert!(want.contains("announcement"), "{want}");
    let ws = Ws::demo(60, 27).await;
    let mut killed = 0;
    for n in 1..=4 {
        let out = ws
            .command(&["tick"])
            .env("CUTOVER_FAULT", format!("kill@{n}"))
            .output()
            .unwrap();
        if !out.status.success() {
            assert!(stderr(&out).contains("comms.chunk"), "{}", stderr(&out));
            killed += 1;
        }
    }
    assert!(killed >= 2, "the kills landed between commits");
    common::ok(&ws.cli(&["tick"]));
    assert_eq!(common::state_rows(&ws, sent).await, want);
}

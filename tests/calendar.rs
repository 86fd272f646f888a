//! The programme calendar: `cutover calendar` reads day N of the programme and where each wave
//! stands against its window from the state, and `runner.respect_windows` keeps a wave's
//! batches waiting until its window opens, unless a lead starts it by hand (audited).

mod common;

use common::{Ws, stdout};

#[tokio::test]
async fn the_calendar_says_the_day_and_the_runner_keeps_to_the_windows() {
    let ws = Ws::demo(80, 21).await;
    let today = chrono::Utc::now().date_naive();
    // Today is day 9: the VIP window (days 8–10) is open, the others are not.
    let start = today - chrono::Duration::days(8);
    ws.set_programme_start(start);
    ws.edit_config(|t| t.replacen("[runner]\n", "[runner]\nrespect_windows = true\n", 1));
    let out = ws.cli(&["run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let ctx = ws.ctx().await;
    let moved: Vec<(String, i64)> = sqlx::query_as(
        "SELECT segment, COUNT(*) FROM customers WHERE status = 'migrated' GROUP BY segment ORDER BY segment",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert_eq!(
        moved.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        ["VIP"],
        "only the open window's wave ran: {moved:?}"
    );

    let c: serde_json::Value =
        serde_json::from_str(&stdout(&ws.cli(&["calendar", "--json"]))).unwrap();
    assert_eq!(c["day"], 9);
    assert_eq!(c["days"], 30);
    let state = |w: &str| {
        c["waves"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["wave"] == w)
            .map(|x| x["state"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(state("VIP"), "done");
    assert_eq!(state("High-value"), "upcoming");
    let regular = &c["waves"].as_array().unwrap()[2];
    assert_eq!(
        regular["dates"][0],
        (start + chrono::Duration::days(14)).to_string()
    );

    // Day 16: High-value (days 11–14) never ran, so it is behind, with what it needs a day.
    let late: serde_json::Value = serde_json::from_str(&stdout(&ws.cli(&[
        "calendar",
        "--json",
        "--date",
        &(start + chrono::Duration::days(15)).to_string(),
    ])))
    .unwrap();
    let hv = &late["waves"].as_array().unwrap()[1];
    assert_eq!(hv["state"], "behind");
    let left = hv["left"].as_f64().unwrap();
    assert!(left > 0.0);
    assert_eq!(hv["per_day_needed"].as_f64().unwrap(), left / 15.0);
    let text = stdout(&ws.cli(&["calendar"]));
    assert!(text.contains("day 9 of 30"), "{text}");
    assert!(text.contains("▶ day  9"), "{text}");

    // A lead starts Regular by hand before its window: it runs, and the audit log says so.
    let out = ws.cli(&["run", "--segment", "Regular"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let (n, detail): (i64, String) = sqlx::query_as(
        "SELECT COUNT(*), MAX(detail) FROM audit_log WHERE action = 'run outside window' AND scope = 'wave Regular'",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert_eq!(n, 1);
    assert!(
        detail.contains("day 9 of 30; its window is days 15–21"),
        "{detail}"
    );
    let regular: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM customers WHERE segment = 'Regular' AND status = 'migrated'",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert!(regular > 0);
}

#[tokio::test]
async fn without_a_programme_the_calendar_says_how_to_set_one() {
    let ws = Ws::demo(10, 22).await;
    ws.edit_config(|t| {
        t.lines()
            .filter(|l| {
                !l.starts_with("[programme]")
                    && !l.starts_with("start = ")
                    && !l.starts_with("days = ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let out = ws.cli(&["calendar"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("[programme] start"),
        "{}",
        common::stderr(&out)
    );
}

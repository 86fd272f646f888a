//! A whole 30-day programme in seconds: the clock is a parameter of the programme's tick, so
//! the test walks day 1 to day 30, runs each wave on its window's first day (one wave late),
//! pauses on a reminder day, halts once, moves a wave's window, and checks what a migration
//! lead would: which notices went out on which day and to whom, which were held, that no
//! customer got a notice twice, which wave was behind, the KPI history, one daily report a day
//! across two ticks, and that a past week's report reads the same later.

mod common;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use common::{Ws, ok};
use cutover_core::ctx::Ctx;
use cutover_core::engine::runner::{RunnerState, set_runner_state};
use cutover_core::report::period::{self, Period};
use cutover_core::{comms, kpi, programme};

/// Notices of `kind` per wave.
async fn sent(ctx: &Ctx, kind: &str) -> Vec<(String, i64)> {
    sqlx::query_as(
        "SELECT c.segment, COUNT(*) FROM notifications n JOIN customers c ON c.id = n.customer_id
         WHERE n.kind = $1 GROUP BY c.segment ORDER BY c.segment",
    )
    .bind(kind.to_string())
    .fetch_all(&ctx.state)
    .await
    .unwrap()
}

fn of(v: &[(String, i64)], wave: &str) -> i64 {
    v.iter().find(|(w, _)| w == wave).map_or(0, |(_, n)| *n)
}

async fn count(ctx: &Ctx, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&ctx.state)
        .await
        .unwrap()
}

/// Runs one wave in this process (a `cutover run` would also tick the programme at the real
/// clock, on a day the simulation is not on).
async fn run_wave(ctx: &Ctx, wave: &str) {
    let opts = cutover_core::engine::run::RunOpts {
        segment: Some(wave.into()),
        ..Default::default()
    };
    let s = cutover_core::engine::run::run(ctx, &opts).await.unwrap();
    assert!(s.migrated > 0, "{wave}: {s:?}");
}

/// 09:00 UTC on `d`, after `[report] daily_at`.
fn morning(d: NaiveDate, hour: u32) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(hour, 0, 0).unwrap())
}

#[tokio::test]
async fn thirty_days_of_notices_holds_a_crisis_a_reschedule_kpis_and_reports() {
    let ws = Ws::demo(160, 19).await;
    // Today is day 8, the VIP window's first day: the real clock the engine stamps a move with
    // and the simulated one agree on the day VIP moves.
    let today = Utc::now().date_naive();
    let start = today - Duration::days(7);
    ws.set_programme_start(start);
    ws.edit_config(|t| {
        t + "\n[report]\ndaily_at = \"08:00\"\ndaily_target = \"lead\"\n\n[notify.target.lead]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/report\"\nsecret = \"s\"\n"
    });
    let mut ctx = ws.ctx().await;
    let day = |n: i64| start + Duration::days(n - 1);
    let waves = ["VIP", "High-value", "Regular", "Inactive"];
    let size = |w: &'static str| {
        let ctx = ctx.clone();
        async move {
            count(
                &ctx,
                &format!("SELECT COUNT(*) FROM customers WHERE segment = '{w}'"),
            )
            .await
        }
    };
    let mut sizes = Vec::new();
    for w in waves {
        sizes.push(size(w).await);
    }
    assert!(
        sizes.iter().all(|n| *n > 0),
        "every wave has customers: {sizes:?}"
    );
    // One VIP customer still pending is quarantined: no "starts tomorrow" for it.
    let held_id: i64 = count(
        &ctx,
        "SELECT MIN(id) FROM customers WHERE segment = 'VIP' AND status = 'pending'",
    )
    .await;
    // As the plan quarantines: out of its batch.
    let quarantine = "UPDATE customers SET status = 'quarantined', reason = 'test hold', batch_id = NULL WHERE id = $1";
    sqlx::query(quarantine)
        .bind(held_id)
        .execute(&ctx.state)
        .await
        .unwrap();
    let quarantined_vip = count(
        &ctx,
        "SELECT COUNT(*) FROM customers WHERE segment = 'VIP' AND status = 'quarantined'",
    )
    .await;

    let mut week_report_early = None;
    for n in 1..=30 {
        let d = day(n);
        match n {
            // The reminder day of VIP (window day 8): paused in the morning, so the reminder is
            // held, then resumed and sent in the afternoon.
            7 => {
                set_runner_state(&ctx, RunnerState::Paused, "test: paused")
                    .await
                    .unwrap();
                let t = programme::tick(&ctx, morning(d, 9)).await.unwrap();
                assert!(t.notices.held > 0, "day 7: the reminder is held");
                assert_eq!(of(&sent(&ctx, "reminder").await, "VIP"), 0);
                set_runner_state(&ctx, RunnerState::Idle, "test: resumed")
                    .await
                    .unwrap();
            }
            // VIP's window opens: a halt first (the crisis goes to its customers still to
            // move), then the wave runs.
            8 => {
                set_runner_state(&ctx, RunnerState::Halted, "test: crisis")
                    .await
                    .unwrap();
                let crisis = sent(&ctx, "crisis").await;
                assert_eq!(
                    of(&crisis, "VIP"),
                    sizes[0] - quarantined_vip,
                    "the crisis reached every VIP customer still to move, not the quarantined"
                );
                assert_eq!(of(&crisis, "Regular"), 0, "nor a wave not begun");
                set_runner_state(&ctx, RunnerState::Idle, "test: released")
                    .await
                    .unwrap();
                run_wave(&ctx, "VIP").await;
            }
            11 => {
                run_wave(&ctx, "High-value").await;
            }
            // Regular's window moves from days 15–21 to 17–23 before its reminder (day 14).
            13 => {
                // The waves are the defaults': the workspace writes them out, with the change.
                let d = cutover_core::config::DEFAULTS;
                let (a, b) = (
                    d.find("[[segment]]").unwrap(),
                    d.find("# Pre-migration").unwrap(),
                );
                let segments = d[a..b].replace("window_days = [15, 21]", "window_days = [17, 23]");
                ws.edit_config(|t| format!("{t}\n{segments}"));
                ok(&ws.cli(&["plan"]));
                ctx = ws.ctx().await;
                // The plan releases a customer without a finding; this one still fails its
                // (test's) rule.
                sqlx::query(quarantine)
                    .bind(held_id)
                    .execute(&ctx.state)
                    .await
                    .unwrap();
            }
            17 => {
                run_wave(&ctx, "Regular").await;
            }
            // Inactive (days 22–28) is run late, on day 30.
            30 => {
                run_wave(&ctx, "Inactive").await;
            }
            _ => {}
        }
        // Two processes' ticks a day: the report goes once.
        programme::tick(&ctx, morning(d, 9)).await.unwrap();
        programme::tick(&ctx, morning(d, 15)).await.unwrap();
        match n {
            1 => {
                // Announcements on day 1 for the waves whose day 14 before their window is
                // day 1 or before (`earliest_day = 1`); Inactive's (window day 22) is on day 8.
                let a = sent(&ctx, "announcement").await;
                for (w, size) in waves.iter().zip(&sizes).take(3) {
                    assert_eq!(of(&a, w), *size, "day 1: announcement to all of {w}");
                }
                assert_eq!(of(&a, "Inactive"), 0);
                assert_eq!(of(&sent(&ctx, "guide").await, "VIP"), sizes[0]);
                assert_eq!(of(&sent(&ctx, "guide").await, "Regular"), 0);
            }
            7 => {
                let r = sent(&ctx, "reminder").await;
                assert_eq!(
                    of(&r, "VIP"),
                    sizes[0] - quarantined_vip,
                    "day 7: the reminder went once the runner resumed, not to the quarantined"
                );
                assert_eq!(of(&r, "High-value"), 0);
            }
            8 => {
                assert_eq!(of(&sent(&ctx, "announcement").await, "Inactive"), sizes[3]);
            }
            14 => {
                assert_eq!(
                    of(&sent(&ctx, "reminder").await, "Regular"),
                    0,
                    "the moved window took Regular's reminder with it"
                );
            }
            16 => {
                assert!(of(&sent(&ctx, "reminder").await, "Regular") > 0);
            }
            12 => {
                week_report_early = Some(
                    period::build(&ctx, Period::Weekly, day(3), day(9))
                        .await
                        .unwrap(),
                );
            }
            _ => {}
        }
    }

    // Surveys 3 days after moving. The engine stamps a move with the real clock (today, day
    // 8), so by day 30 every migrated customer is 3 days past it; nobody else got one.
    let survey = sent(&ctx, "survey").await;
    for w in waves {
        let migrated = count(
            &ctx,
            &format!(
                "SELECT COUNT(*) FROM customers WHERE segment = '{w}' AND status = 'migrated'"
            ),
        )
        .await;
        assert_eq!(of(&survey, w), migrated, "survey to everyone moved in {w}");
    }

    // No customer got a notice twice, except Regular's announcement and guide, sent again with
    // the new date after its window moved.
    let twice: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT c.segment, n.kind, COUNT(*) FROM notifications n JOIN customers c ON c.id = n.customer_id
         GROUP BY c.segment, n.kind, n.customer_id HAVING COUNT(*) > 1",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert!(
        twice
            .iter()
            .all(|(w, k, n)| w == "Regular" && (k == "announcement" || k == "guide") && *n == 2),
        "{twice:?}"
    );
    assert!(!twice.is_empty(), "the reschedule re-announced");
    let new_date = day(17).to_string();
    let again: String = sqlx::query_scalar(
        "SELECT n.payload FROM notifications n JOIN customers c ON c.id = n.customer_id
         WHERE c.segment = 'Regular' AND n.kind = 'announcement' AND n.dedup_key LIKE '%:d17:%' LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert!(
        again.contains(&new_date),
        "the new announcement gives the new date: {again}"
    );
    // The quarantined customer got neither a reminder nor a "starts".
    for kind in ["reminder", "starts"] {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE customer_id = $1 AND kind = $2",
        )
        .bind(held_id)
        .bind(kind)
        .fetch_one(&ctx.state)
        .await
        .unwrap();
        assert_eq!(n, 0, "{kind} to the quarantined customer");
    }

    // Inactive was behind on day 29 (its window closed on day 28 with everyone left).
    let d29 = kpi::stored(&ctx, day(29))
        .await
        .unwrap()
        .expect("day 29's snapshot");
    let inactive = d29.calendar.iter().find(|c| c.0 == "Inactive").unwrap();
    assert_eq!(inactive.1, "behind", "{:?}", d29.calendar);
    assert_eq!(inactive.2, sizes[3] - count(&ctx, "SELECT COUNT(*) FROM customers WHERE segment = 'Inactive' AND status = 'quarantined'").await);
    let d20 = kpi::stored(&ctx, day(20)).await.unwrap().unwrap();
    assert_eq!(
        d20.calendar.iter().find(|c| c.0 == "VIP").unwrap().1,
        "done"
    );

    // KPI history: one snapshot a day; completion climbs as the waves move and is met on day
    // 30.
    assert_eq!(
        count(&ctx, "SELECT COUNT(*) FROM daily_snapshots").await,
        30
    );
    let ks = kpi::evaluate(&ctx, day(30)).await.unwrap();
    let completion = ks.iter().find(|k| k.name == "completion").unwrap();
    assert_eq!(completion.trend.len(), 14, "14 days of trend");
    assert!(
        completion.trend.windows(2).all(|w| w[0].1 <= w[1].1),
        "{:?}",
        completion.trend
    );
    assert!(completion.value.unwrap() > 90.0, "{completion:?}");
    assert_eq!(completion.standing, kpi::Standing::Met);
    let d9 = kpi::stored(&ctx, day(9)).await.unwrap().unwrap();
    let c9 = d9.kpis.iter().find(|k| k.name == "completion").unwrap();
    assert!(
        c9.value.unwrap() < 50.0,
        "day 9: only VIP had moved ({c9:?})"
    );
    let reach = ks.iter().find(|k| k.name == "reach").unwrap();
    assert_eq!(reach.value, Some(100.0), "every notice due was recorded");
    assert!(
        ks.iter()
            .any(|k| k.name == "satisfaction" && k.value.is_some())
    );

    // One daily report per day (days 1–29, each sent the next morning), whatever the ticks.
    assert_eq!(
        count(
            &ctx,
            "SELECT COUNT(*) FROM notifications WHERE kind = 'report'"
        )
        .await,
        30,
        "days 0–29: the first tick on day 1 reports the day before the programme"
    );
    let text: String = sqlx::query_scalar("SELECT payload FROM notifications WHERE dedup_key = $1")
        .bind(format!("report:daily:{}", day(8)))
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert!(text.contains("Daily report"), "{text}");

    // A past week's report reads the same later: its waves and KPIs are the stored snapshot's.
    let later = period::build(&ctx, Period::Weekly, day(3), day(9))
        .await
        .unwrap();
    let early = week_report_early.unwrap();
    assert_eq!(later.waves, early.waves);
    assert_eq!(later.kpis, early.kpis);
    // (The period's events are the rows stamped in it: here every move carries today's real
    // date, so they are not compared.)
    assert_eq!(later.snapshot_of, Some(day(9).to_string()));

    // The Communications counts agree with the outbox.
    let rows = comms::overview(&ctx, day(30)).await.unwrap();
    let vip_reminder = rows
        .iter()
        .find(|r| r.wave == "VIP" && r.notice == "reminder")
        .unwrap();
    assert_eq!(vip_reminder.sent, sizes[0] - quarantined_vip);
    assert_eq!(vip_reminder.held, quarantined_vip);
    assert_eq!(vip_reminder.delivered, vip_reminder.sent);
}

/// A console's ticker skips a scheduling pass while nothing it reads changed, and runs one as
/// soon as something did: a resumed runner releases the held reminder at the next tick.
#[tokio::test]
async fn a_ticker_schedules_again_when_what_it_reads_changes() {
    let ws = Ws::demo(60, 21).await;
    let today = Utc::now().date_naive();
    // Today is day 7: VIP's reminder day.
    let start = today - Duration::days(6);
    ws.set_programme_start(start);
    let ctx = ws.ctx().await;
    let mut ticker = programme::Ticker::default();
    set_runner_state(&ctx, RunnerState::Paused, "test")
        .await
        .unwrap();
    let first = ticker.tick(&ctx, Utc::now()).await.unwrap();
    assert!(first.notices.held > 0, "{first:?}");
    assert_eq!(of(&sent(&ctx, "reminder").await, "VIP"), 0);
    let again = ticker.tick(&ctx, Utc::now()).await.unwrap();
    assert_eq!(
        again.notices,
        comms::Pass::default(),
        "nothing changed: no pass"
    );
    set_runner_state(&ctx, RunnerState::Idle, "test")
        .await
        .unwrap();
    let resumed = ticker.tick(&ctx, Utc::now()).await.unwrap();
    assert!(resumed.notices.enqueued > 0, "{resumed:?}");
    assert!(of(&sent(&ctx, "reminder").await, "VIP") > 0);
}

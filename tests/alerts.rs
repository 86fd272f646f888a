//! Alerts: every rule, dedup, auto-resolve, the lifecycle with its audit rows, and timed
//! escalation on a controlled clock.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::Ws;
use cutover_core::alerts::{self, Act};
use cutover_core::engine::rollback::{Scope, rollback};
use cutover_core::engine::run::{RunOpts, run};

async fn open_alerts(
    ctx: &cutover_core::engine::Ctx,
    rule: &str,
) -> Vec<(i64, String, String, i64)> {
    sqlx::query_as(
        "SELECT a.id, c.legacy_id, a.detail, a.level FROM alerts a JOIN customers c ON c.id = a.customer_id
         WHERE a.rule = $1 AND a.status <> 'resolved' ORDER BY a.id",
    )
    .bind(rule)
    .fetch_all(&ctx.state)
    .await
    .unwrap()
}

async fn set_score(
    ctx: &cutover_core::engine::Ctx,
    legacy: &str,
    score: f64,
    previous: Option<f64>,
) {
    sqlx::query(
        "INSERT INTO health_latest (customer_id, run_id, scored_at, score, level, trend, components, previous)
         SELECT id, 0, '2026-11-21T00:00:00.000Z', $1, 'x', 'stable', '{}', $2 FROM customers WHERE legacy_id = $3
         ON CONFLICT (customer_id) DO UPDATE SET score = excluded.score, previous = excluded.previous",
    )
    .bind(score)
    .bind(previous)
    .bind(legacy.to_string())
    .execute(&ctx.state)
    .await
    .unwrap();
}

#[tokio::test]
async fn quarantine_failure_and_rollback_each_raise_their_alert() {
    let ws = Ws::demo(80, 61).await;
    let ctx = ws.ctx().await;
    let quarantined: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE status = 'quarantined'")
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    assert!(quarantined > 0);
    assert_eq!(
        open_alerts(&ctx, "quarantined").await.len() as i64,
        quarantined,
        "the demo opens them"
    );

    let victim: String = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE status = 'pending' ORDER BY id LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    common::corrupt_on_insert(&ctx, "devices", "serial", "'X'", &victim).await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    // A validation failure is corruption: it opens at L3 engineering, not as a migration
    // failure at L1.
    assert!(open_alerts(&ctx, "migration_failed").await.is_empty());
    let failed = open_alerts(&ctx, "data_integrity").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].1, victim);
    assert!(
        failed[0].2.contains("data integrity: validate: devices"),
        "{}",
        failed[0].2
    );
    let level: i64 = sqlx::query_scalar("SELECT level FROM alerts WHERE rule = 'data_integrity'")
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(ctx.cfg.escalation.level[level as usize - 1].name, "L3");

    let migrated: String =
        sqlx::query_scalar("SELECT legacy_id FROM customers WHERE status = 'migrated' LIMIT 1")
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    rollback(&ctx, &Scope::Customer(migrated.clone()), "test")
        .await
        .unwrap();
    let rb = open_alerts(&ctx, "rolled_back").await;
    assert_eq!(
        rb.iter().map(|a| a.1.clone()).collect::<Vec<_>>(),
        vec![migrated]
    );
}

#[tokio::test]
async fn score_rules_dedup_per_segment_thresholds_and_auto_resolve() {
    let ws = Ws::demo(60, 62).await;
    ws.edit_config(|t| {
        t + "\n[[alerts.rule]]\nname = \"health_below_60\"\nkind = \"score_below\"\nthreshold = 60.0\nseverity = \"warning\"\nsegments = { VIP = 70.0 }\n\
             [[alerts.rule]]\nname = \"red_zone\"\nkind = \"score_below\"\nthreshold = 40.0\nseverity = \"critical\"\n\
             [[alerts.rule]]\nname = \"health_drop\"\nkind = \"score_drop\"\nthreshold = 10.0\nseverity = \"warning\"\n"
    });
    let ctx = ws.ctx().await;
    let vip: String = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE segment = 'VIP' AND status = 'pending' LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    let reg: String = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE segment = 'Regular' AND status = 'pending' LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    set_score(&ctx, &vip, 65.0, Some(66.0)).await;
    set_score(&ctx, &reg, 65.0, Some(80.0)).await;
    let now = Utc::now();
    let e = alerts::evaluate(&ctx, now, None).await.unwrap();
    assert_eq!(
        e.opened, 2,
        "VIP below its 70 threshold, Regular dropped 15 points: {e:?}"
    );
    assert_eq!(
        open_alerts(&ctx, "health_below_60")
            .await
            .iter()
            .map(|a| a.1.clone())
            .collect::<Vec<_>>(),
        vec![vip.clone()]
    );
    let drop = open_alerts(&ctx, "health_drop").await;
    assert_eq!(drop.len(), 1);
    assert!(
        drop[0].2.contains("score fell 15.0 points (80.0 → 65.0)"),
        "{}",
        drop[0].2
    );

    // Dedup: the same breach changes nothing; a deeper one updates the same alert.
    assert_eq!(
        alerts::evaluate(&ctx, now, None).await.unwrap(),
        alerts::Evaluation::default()
    );
    set_score(&ctx, &vip, 35.0, Some(66.0)).await;
    let e = alerts::evaluate(&ctx, now, None).await.unwrap();
    assert_eq!(
        (e.opened, e.updated),
        (2, 1),
        "red zone and a 31-point drop open, below-60 updates: {e:?}"
    );
    let below = open_alerts(&ctx, "health_below_60").await;
    assert_eq!(below.len(), 1, "still one open alert for the dedup key");
    assert!(below[0].2.contains("score 35.0"), "{}", below[0].2);

    // The condition clears: resolved automatically, saying why.
    set_score(&ctx, &vip, 90.0, Some(35.0)).await;
    set_score(&ctx, &reg, 66.0, Some(65.0)).await;
    let e = alerts::evaluate(&ctx, now, None).await.unwrap();
    assert_eq!(e.resolved, 4, "below-60, red zone and both drops: {e:?}");
    let (status, resolution): (String, String) =
        sqlx::query_as("SELECT status, resolution FROM alerts WHERE rule = 'red_zone'")
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    assert_eq!(status, "resolved");
    assert!(
        resolution.starts_with("condition cleared: score 35.0"),
        "{resolution}"
    );
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'alert resolved' AND detail = 'condition cleared'").fetch_one(&ctx.state).await.unwrap();
    assert_eq!(audited, 4);
    common::assert_alert_counts_match(&ctx.state).await;
}

#[tokio::test]
async fn unacknowledged_alerts_climb_on_time_and_acknowledgement_stops_it() {
    let ws = Ws::demo(150, 63).await;
    let ctx = ws.ctx().await;
    let t0 = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
    // The ladder's own timeouts: without a tier, no tier's ladder or service level applies
    // (tests/success.rs covers those).
    sqlx::query(
        "UPDATE alerts SET level_since = $1, tier = NULL, ack_due = NULL, resolve_due = NULL",
    )
    .bind(cutover_core::clock::fmt(t0))
    .execute(&ctx.state)
    .await
    .unwrap();
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM alerts WHERE status = 'triggered' ORDER BY id")
            .fetch_all(&ctx.state)
            .await
            .unwrap();
    assert!(ids.len() >= 3, "the demo has quarantined customers");
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    alerts::act(&ctx, b, &Act::Acknowledge, "csm1", t0)
        .await
        .unwrap();
    alerts::act(
        &ctx,
        c,
        &Act::Snooze(t0 + Duration::hours(5), "waiting on the customer".into()),
        "csm1",
        t0,
    )
    .await
    .unwrap();
    let level = |id: i64| {
        let st = ctx.state.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT level FROM alerts WHERE id = $1")
                .bind(id)
                .fetch_one(&st)
                .await
                .unwrap()
        }
    };
    assert!(
        alerts::escalate_due(&ctx, t0 + Duration::minutes(59))
            .await
            .unwrap()
            .is_empty(),
        "L1 waits 60 minutes"
    );
    assert!(
        alerts::escalate_due(&ctx, t0 + Duration::minutes(61))
            .await
            .unwrap()
            .contains(&a)
    );
    assert_eq!(
        (level(a).await, level(b).await, level(c).await),
        (2, 1, 1),
        "acknowledged and snoozed alerts do not climb"
    );
    assert!(
        !alerts::escalate_due(&ctx, t0 + Duration::minutes(61 + 119))
            .await
            .unwrap()
            .contains(&a),
        "L2 waits 120"
    );
    alerts::escalate_due(&ctx, t0 + Duration::minutes(61 + 121))
        .await
        .unwrap();
    assert_eq!(level(a).await, 3);
    // Snooze over: c climbs; L4 is the top.
    alerts::escalate_due(&ctx, t0 + Duration::hours(6))
        .await
        .unwrap();
    assert_eq!(level(c).await, 2);
    alerts::escalate_due(&ctx, t0 + Duration::hours(30))
        .await
        .unwrap();
    assert_eq!(level(a).await, 4);
    alerts::escalate_due(&ctx, t0 + Duration::hours(300))
        .await
        .unwrap();
    assert_eq!(level(a).await, 4, "the top level never climbs");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'alert escalated' AND scope = $1",
    )
    .bind(format!("alert {a}"))
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert_eq!(audited, 3);
}

#[tokio::test]
async fn operator_actions_are_audited_and_a_refused_one_leaves_nothing() {
    let ws = Ws::demo(30, 64).await;
    let ctx = ws.ctx().await;
    let id: i64 = sqlx::query_scalar("SELECT MIN(id) FROM alerts")
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    let now = Utc::now();
    alerts::act(&ctx, id, &Act::TakeOwnership, "amara", now)
        .await
        .unwrap();
    let msg = alerts::act(
        &ctx,
        id,
        &Act::Escalate("customer called twice".into()),
        "amara",
        now,
    )
    .await
    .unwrap();
    assert!(
        msg.contains("to L2 (technical support): customer called twice"),
        "{msg}"
    );
    for _ in 0..2 {
        alerts::act(&ctx, id, &Act::Escalate("again".into()), "amara", now)
            .await
            .unwrap();
    }
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    let e = alerts::act(&ctx, id, &Act::Escalate("too far".into()), "amara", now)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("already at the top level (L4)"), "{e}");
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(before, after, "a refused action writes no audit row");
    alerts::act(
        &ctx,
        id,
        &Act::Resolve("fixed the email in the CRM".into()),
        "amara",
        now,
    )
    .await
    .unwrap();
    let (owner, status, by): (String, String, String) =
        sqlx::query_as("SELECT owner, status, resolved_by FROM alerts WHERE id = $1")
            .bind(id)
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    assert_eq!(
        (owner.as_str(), status.as_str(), by.as_str()),
        ("amara", "resolved", "amara")
    );
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE scope = $1 AND actor = 'amara' ORDER BY id",
    )
    .bind(format!("alert {id}"))
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "alert owned",
            "alert escalated",
            "alert escalated",
            "alert escalated",
            "alert resolved"
        ]
    );
    assert!(
        alerts::act(&ctx, id, &Act::Acknowledge, "amara", now)
            .await
            .is_err(),
        "resolved is final"
    );
    common::assert_alert_counts_match(&ctx.state).await;
}

/// A healthy customer is an expansion opportunity: an info alert that waits for its owner
/// (it does not climb the ladder), on which a CSM opens a growth plan.
#[tokio::test]
async fn a_score_above_85_is_an_opportunity_that_waits_and_opens_a_growth_plan() {
    let ws = Ws::demo(120, 64).await;
    let ctx = ws.ctx().await;
    cutover_core::health::score(&ctx, None, "test")
        .await
        .unwrap();
    let t0 = Utc::now();
    alerts::evaluate(&ctx, t0, None).await.unwrap();
    let above: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM health_latest WHERE score > 85")
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert!(above > 0, "the demo has customers above 85");
    let open = open_alerts(&ctx, "expansion_opportunity").await;
    assert_eq!(
        open.len() as i64,
        above,
        "one opportunity per customer above 85"
    );
    assert!(
        open[0].2.contains("an expansion opportunity"),
        "{}",
        open[0].2
    );
    let severity: String = sqlx::query_scalar("SELECT severity FROM alerts WHERE id = $1")
        .bind(open[0].0)
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(severity, "info");
    // A day unacknowledged: the other rules' alerts climb, an opportunity stays at L1.
    let climbed = alerts::escalate_due(&ctx, t0 + Duration::hours(24))
        .await
        .unwrap();
    assert!(!climbed.contains(&open[0].0));
    assert!(
        open_alerts(&ctx, "expansion_opportunity")
            .await
            .iter()
            .all(|a| a.3 == 1)
    );
    let (plan, created) = cutover_core::plans::open_plan(&ctx, &open[0].1, "amara", "expansion")
        .await
        .unwrap();
    assert!(created);
    let kind: String = sqlx::query_scalar("SELECT kind FROM success_plans WHERE id = $1")
        .bind(plan)
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(kind, "expansion");
    let audit: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'expansion plan opened' AND actor = 'amara'",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert_eq!(audit, 1);
}

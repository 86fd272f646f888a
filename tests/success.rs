//! Customer success at programme scale (issue 20), as a simulated week on a controlled clock:
//! alerts open for customers of different tiers and owners, some acknowledged in time and some
//! breaching their tier's service level (a breach climbs the ladder), a corruption starting at
//! L3, an opportunity opening a growth plan, plans opened on engine events and milestones
//! completing from the engine's facts. Prints the week's audit trail and service-level figures
//! (`cargo test --test success -- --nocapture`).

mod common;

use chrono::{DateTime, Duration, Utc};
use common::Ws;
use cutover_core::alerts::{self, Act, AlertQuery};
use cutover_core::ctx::Ctx;
use cutover_core::engine::run::{RunOpts, run};

async fn set_score(ctx: &Ctx, legacy: &str, score: f64) {
    sqlx::query(
        "INSERT INTO health_latest (customer_id, run_id, scored_at, score, level, trend, components, previous)
         SELECT id, 0, '2026-11-21T00:00:00.000Z', $1, 'x', 'stable', '{}', NULL FROM customers WHERE legacy_id = $2
         ON CONFLICT (customer_id) DO UPDATE SET score = excluded.score, previous = NULL",
    )
    .bind(score)
    .bind(legacy.to_string())
    .execute(&ctx.state)
    .await
    .unwrap();
}

/// The open alert of `rule` for `legacy`: (id, level, owner, tier, ack_due).
async fn alert(
    ctx: &Ctx,
    legacy: &str,
    rule: &str,
) -> (i64, i64, Option<String>, Option<String>, Option<String>) {
    sqlx::query_as(
        "SELECT a.id, a.level, a.owner, a.tier, a.ack_due FROM alerts a JOIN customers c ON c.id = a.customer_id
         WHERE c.legacy_id = $1 AND a.rule = $2 ORDER BY a.id DESC LIMIT 1",
    )
    .bind(legacy.to_string())
    .bind(rule.to_string())
    .fetch_one(&ctx.state)
    .await
    .unwrap_or_else(|e| panic!("no {rule} alert for {legacy}: {e}"))
}

/// A migrated customer of `tier` whose owner is a person (not a pool) other than `not`.
async fn customer_of(ctx: &Ctx, tier: &str, not: &[String]) -> (String, String) {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT legacy_id, owner FROM customers
         WHERE tier = $1 AND status = 'migrated' AND owner NOT LIKE 'cs.%' ORDER BY id",
    )
    .bind(tier.to_string())
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    rows.into_iter()
        .find(|(_, o)| !not.contains(o))
        .unwrap_or_else(|| panic!("no migrated {tier} customer with an owner of their own"))
}

fn at(t0: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
    t0 + Duration::minutes(minutes)
}

#[tokio::test]
async fn a_simulated_week_of_tiers_owners_service_levels_and_plans() {
    let ws = Ws::demo(160, 61).await;
    // Onboarding for the High-value wave's customers once migrated (the demo seeds the VIP
    // wave's): an engine event opening plans, each as long as its customer's tier's.
    ws.edit_config(|t| {
        t + "\n[[plans.auto]]\non = \"migrated\"\nsegment = \"High-value\"\ntemplate = \"onboarding\"\n"
    });
    let ctx = ws.ctx().await;

    // A corruption behind the engine's back on one customer with devices.
    let pending: Vec<String> =
        sqlx::query_scalar("SELECT legacy_id FROM customers WHERE status = 'pending' ORDER BY id")
            .fetch_all(&ctx.state)
            .await
            .unwrap();
    let with_devices = common::sqlite_rows(
        &ws.path().join("legacy.db"),
        "SELECT DISTINCT client_id FROM devices ORDER BY client_id",
    )
    .await;
    let with_devices: Vec<&str> = with_devices.lines().map(str::trim).collect();
    let victim = pending
        .iter()
        .find(|p| with_devices.contains(&p.as_str()))
        .unwrap_or_else(|| panic!("no pending customer with devices: {with_devices:?}"))
        .clone();
    common::corrupt_on_insert(&ctx, "devices", "serial", "'X'", &victim).await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    let t0 = Utc::now();

    // Data corruption opens at L3 engineering, owned by the customer's CSM.
    let (_, level, owner, _, _) = alert(&ctx, &victim, "data_integrity").await;
    assert_eq!(level, 3, "a failed validation starts at L3");
    let victim_owner: Option<String> =
        sqlx::query_scalar("SELECT owner FROM customers WHERE legacy_id = $1")
            .bind(victim.clone())
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    assert_eq!(
        owner, victim_owner,
        "the alert carries the customer's owner"
    );

    // Four customers, one per tier, four different owners.
    let mut owners = Vec::new();
    let mut pick = async |tier: &str| {
        let (c, o) = customer_of(&ctx, tier, &owners).await;
        owners.push(o.clone());
        (c, o)
    };
    let (ent, ent_owner) = pick("Enterprise").await;
    let (mid, mid_owner) = pick("Mid-market").await;
    let (small, small_owner) = pick("Small business").await;
    let (trial, trial_owner) = pick("Trial").await;

    // Day 0, 09:00 (t0): scores that breach the rules.
    set_score(&ctx, &ent, 35.0).await; // red zone (critical) and below 60 (warning)
    set_score(&ctx, &mid, 55.0).await; // below 60 (warning)
    set_score(&ctx, &small, 30.0).await; // red zone (critical) and below 60
    set_score(&ctx, &trial, 92.0).await; // an expansion opportunity (info)
    alerts::evaluate(&ctx, t0, None).await.unwrap();

    let (ent_red, _, o, tier, due) = alert(&ctx, &ent, "red_zone").await;
    assert_eq!(o.as_deref(), Some(ent_owner.as_str()));
    assert_eq!(tier.as_deref(), Some("Enterprise"));
    // Enterprise, critical: two hours to acknowledge.
    assert_eq!(due, Some(cutover_core::clock::fmt(at(t0, 120))));
    let (ent_warn, ..) = alert(&ctx, &ent, "health_below_60").await;
    let (mid_warn, _, o, tier, due) = alert(&ctx, &mid, "health_below_60").await;
    assert_eq!(o.as_deref(), Some(mid_owner.as_str()));
    assert_eq!(tier.as_deref(), Some("Mid-market"));
    assert_eq!(due, Some(cutover_core::clock::fmt(at(t0, 240))));
    let (small_red, ..) = alert(&ctx, &small, "red_zone").await;
    let (opportunity, _, o, _, _) = alert(&ctx, &trial, "expansion_opportunity").await;
    assert_eq!(o.as_deref(), Some(trial_owner.as_str()));

    // Each CSM's morning list is their customers' alerts.
    let mine = alerts::list(
        &ctx.state,
        &AlertQuery {
            owner: Some(mid_owner.clone()),
            ..Default::default()
        },
        at(t0, 1),
        100,
    )
    .await
    .unwrap();
    assert!(mine.iter().any(|a| a.id == mid_warn));
    assert!(
        mine.iter().all(|a| a.owner.as_deref() == Some(&mid_owner)),
        "{mine:?}"
    );

    // A red zone opens a recovery plan by itself (the demo's [[plans.auto]]), owned by the
    // customer's CSM; a migrated High-value customer gets an onboarding as long as its tier's.
    let pass = cutover_core::plans::auto::pass(&ctx, at(t0, 1))
        .await
        .unwrap();
    assert!(pass.opened >= 2, "{pass:?}");
    let recovery: Vec<(String, String)> = sqlx::query_as(
        "SELECT customer_legacy_id, owner FROM success_plans WHERE kind = 'recovery' ORDER BY customer_legacy_id",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert!(
        recovery.contains(&(ent.clone(), ent_owner.clone())),
        "{recovery:?}"
    );
    assert!(
        recovery.contains(&(small.clone(), small_owner.clone())),
        "{recovery:?}"
    );
    let onboarding: Vec<(String, Option<String>, String, i64)> = sqlx::query_as(
        "SELECT p.customer_legacy_id, c.tier, MAX(m.due_on), COALESCE(SUM(CASE WHEN m.status = 'completed' AND m.completes_when = 'customer_migrated' THEN 1 ELSE 0 END), 0)
         FROM success_plans p JOIN customers c ON c.legacy_id = p.customer_legacy_id
         JOIN milestones m ON m.plan_id = p.id
         WHERE p.kind = 'onboarding' AND c.segment = 'High-value' GROUP BY p.customer_legacy_id, c.tier",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert!(!onboarding.is_empty());
    let today = at(t0, 1).date_naive();
    for (c, tier, last, done) in &onboarding {
        let days = ctx
            .cfg
            .tier(tier.as_deref().unwrap())
            .unwrap()
            .onboarding_days;
        assert_eq!(
            last,
            &(today + Duration::days(days))
                .format("%Y-%m-%d")
                .to_string(),
            "{c} ({tier:?}) lasts its tier's {days} days"
        );
        assert_eq!(*done, 1, "{c}: technical setup completes once migrated");
    }
    // Running the pass again opens nothing twice.
    let again = cutover_core::plans::auto::pass(&ctx, at(t0, 2))
        .await
        .unwrap();
    assert_eq!(again.opened, 0);

    // The migration plans moved by themselves: every wave started, and is done.
    let waves: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT p.customer_legacy_id, p.status, COALESCE(SUM(CASE WHEN m.status = 'completed' THEN 1 ELSE 0 END), 0)
         FROM success_plans p JOIN milestones m ON m.plan_id = p.id
         WHERE p.customer_legacy_id LIKE 'wave:%' GROUP BY p.customer_legacy_id, p.status ORDER BY 1",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert_eq!(waves.len(), 4);
    for (w, _, done) in &waves {
        assert!(
            *done >= 2,
            "{w}: started and done complete from the engine ({waves:?})"
        );
    }

    // 09:45: the Enterprise warning has waited 45 minutes at L1 and climbs (its tier's L1 is
    // 30 minutes); the Mid-market one waits for the ladder's 60.
    let climbed = alerts::escalate_due(&ctx, at(t0, 45)).await.unwrap();
    assert!(climbed.contains(&ent_warn), "{climbed:?}");
    assert!(!climbed.contains(&mid_warn));
    // 10:00: the Enterprise CSM acknowledges the red zone, in time.
    let said = alerts::act(&ctx, ent_red, &Act::Acknowledge, &ent_owner, at(t0, 60))
        .await
        .unwrap();
    assert!(said.contains("within its service level"), "{said}");
    // 11:30: the Enterprise warning was not acknowledged within two hours: a breach, and a
    // climb for it.
    alerts::escalate_due(&ctx, at(t0, 150)).await.unwrap();
    let breaches: Vec<(String, String)> = sqlx::query_as(
        "SELECT scope, detail FROM audit_log WHERE action = 'service level breached' ORDER BY id",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert!(
        breaches
            .iter()
            .any(|(s, d)| s == &format!("alert {ent_warn}") && d.contains("not acknowledged")),
        "{breaches:?}"
    );
    // 14:00 the Mid-market warning is four hours unacknowledged: breached too. Its CSM
    // acknowledges at 15:00, late, and the audit row says by how much.
    alerts::escalate_due(&ctx, at(t0, 300)).await.unwrap();
    let said = alerts::act(&ctx, mid_warn, &Act::Acknowledge, &mid_owner, at(t0, 360))
        .await
        .unwrap();
    assert!(said.contains("2h after its service level"), "{said}");

    // Day 1: the Trial customer's CSM acts on the opportunity: a growth plan.
    let (plan, created) = cutover_core::plans::open_plan(&ctx, &trial, &trial_owner, "expansion")
        .await
        .unwrap();
    assert!(created);
    alerts::act(
        &ctx,
        opportunity,
        &Act::Resolve(format!("growth plan {plan} opened")),
        &trial_owner,
        at(t0, 24 * 60 + 30),
    )
    .await
    .unwrap();

    // Days 1-2: nobody acknowledges the Small business red zone: it breaches its 24 h to
    // acknowledge, then its 48 h to resolve; each breach climbs it.
    let before = alert(&ctx, &small, "red_zone").await.1;
    alerts::escalate_due(&ctx, at(t0, 24 * 60 + 5))
        .await
        .unwrap();
    alerts::escalate_due(&ctx, at(t0, 48 * 60 + 5))
        .await
        .unwrap();
    let after = alert(&ctx, &small, "red_zone").await.1;
    assert!(after > before, "L{before} → L{after}");
    // Day 3: its health is back above 60: the alert resolves itself, and the recovery plan's
    // last milestone completes from the health fact.
    set_score(&ctx, &small, 66.0).await;
    alerts::evaluate(&ctx, at(t0, 72 * 60), None).await.unwrap();
    let pass = cutover_core::plans::auto::pass(&ctx, at(t0, 72 * 60 + 1))
        .await
        .unwrap();
    assert!(pass.milestones_completed >= 1, "{pass:?}");
    let health_done: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM milestones m JOIN success_plans p ON p.id = m.plan_id
         WHERE p.customer_legacy_id = $1 AND p.kind = 'recovery' AND m.completes_when = 'health_above:60'
           AND m.status = 'completed'",
    )
    .bind(small.clone())
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert_eq!(health_done, 1);
    // Day 7: the Enterprise red zone is resolved by its CSM, days after its 24 h.
    alerts::escalate_due(&ctx, at(t0, 7 * 24 * 60))
        .await
        .unwrap();
    alerts::act(
        &ctx,
        ent_red,
        &Act::Resolve("data re-synced, customer called".into()),
        &ent_owner,
        at(t0, 7 * 24 * 60 + 10),
    )
    .await
    .unwrap();

    // The week's figures.
    let levels = alerts::service_levels(&ctx.state, "", None, at(t0, 7 * 24 * 60 + 20))
        .await
        .unwrap();
    let row = |tier: &str, sev: &str| {
        levels
            .iter()
            .find(|r| r.tier == tier && r.severity == sev)
            .unwrap_or_else(|| panic!("no {tier} {sev} row in {levels:?}"))
            .clone()
    };
    let e = row("Enterprise", "critical");
    assert!(e.ack_met >= 1 && e.resolve_breached >= 1, "{e:?}");
    assert!(row("Enterprise", "warning").ack_breached >= 1);
    assert!(row("Mid-market", "warning").ack_breached >= 1);
    let s = row("Small business", "critical");
    assert!(s.ack_breached >= 1 && s.resolve_breached >= 1, "{s:?}");
    assert!(row("Trial", "info").resolve_met >= 1);

    println!("service levels after the week:");
    println!(
        "{:<15} {:<9} {:>6} {:>7} {:>12} {:>11} {:>16} {:>5}",
        "tier",
        "severity",
        "alerts",
        "ack met",
        "ack breached",
        "resolve met",
        "resolve breached",
        "open"
    );
    for r in &levels {
        println!(
            "{:<15} {:<9} {:>6} {:>7} {:>12} {:>11} {:>16} {:>5}",
            r.tier,
            r.severity,
            r.alerts,
            r.ack_met,
            r.ack_breached,
            r.resolve_met,
            r.resolve_breached,
            r.open
        );
    }
    let ids = [ent_red, ent_warn, mid_warn, small_red, opportunity]
        .map(|i| format!("'alert {i}'"))
        .join(", ");
    let trail: Vec<(String, String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT actor, action, scope, detail FROM audit_log
         WHERE scope IN ({ids}) OR action LIKE '%plan opened' OR action IN ('milestone completed', 'plan completed')
         ORDER BY id"
    )))
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    println!(
        "\naudit trail of the week's alerts and plans ({} rows):",
        trail.len()
    );
    for (actor, action, scope, detail) in &trail {
        println!("{actor:<14} {action:<24} {scope:<22} {detail}");
    }
    common::assert_counts_match(&ctx.state).await;
    common::assert_alert_counts_match(&ctx.state).await;

    // The same from the command line: one CSM's alerts, and the figures.
    let out = ws.cli(&["alerts", "--json", "--owner", &ent_owner]);
    let v: serde_json::Value = serde_json::from_str(&common::ok(&out)).unwrap();
    let listed = v["alerts"].as_array().unwrap();
    assert!(!listed.is_empty());
    for a in listed {
        assert_eq!(a["owner"], serde_json::json!(ent_owner), "{a}");
        assert!(a["service_level"].is_string(), "{a}");
    }
    assert!(!v["service_levels"].as_array().unwrap().is_empty());
    let status: serde_json::Value =
        serde_json::from_str(&common::ok(&ws.cli(&["status", "--json"]))).unwrap();
    let tiers: i64 = status["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["customers"].as_i64().unwrap())
        .sum();
    assert_eq!(tiers, 160, "every demo customer has a tier: {status}");
}

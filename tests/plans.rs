//! Success plans: a recovery plan from its template, milestone status and owner changes with
//! their audit rows, and a plan completing with its last milestone.

mod common;

use common::{Ws, stdout};
use cutover_core::plans;

#[tokio::test]
async fn a_recovery_plan_opens_once_and_completes_with_its_milestones() {
    let ws = Ws::demo(40, 81).await;
    let ctx = ws.ctx().await;
    let customer: String =
        sqlx::query_scalar("SELECT legacy_id FROM customers ORDER BY id LIMIT 1")
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    let (id, created) = plans::open_recovery(&ctx, &customer, "amara")
        .await
        .unwrap();
    assert!(created);
    assert_eq!(
        plans::open_recovery(&ctx, &customer, "amara")
            .await
            .unwrap(),
        (id, false),
        "one recovery plan per customer"
    );
    assert!(
        plans::open_recovery(&ctx, "nobody", "amara")
            .await
            .unwrap_err()
            .to_string()
            .contains("no such legacy id")
    );

    let today = chrono::Utc::now().date_naive();
    let p = plans::detail(&ctx.state, id, &today.format("%Y-%m-%d").to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.kind.as_str(), p.owner.as_str(), p.status.as_str()),
        ("recovery", "amara", "active")
    );
    assert_eq!(p.milestones.len(), 5);
    assert_eq!(
        p.milestones[0].due_on,
        (today + chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string(),
        "critical within 24-48 h"
    );
    assert_eq!(p.milestones[0].priority, "critical");
    // Past its due date and not done, a milestone reads overdue.
    let later = (today + chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let p3 = plans::detail(&ctx.state, id, &later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p3.milestones[0].status, "overdue");

    let m: Vec<i64> = p.milestones.iter().map(|m| m.id).collect();
    plans::update_milestone(&ctx, m[0], Some("in_progress"), None, "amara")
        .await
        .unwrap();
    plans::update_milestone(&ctx, m[1], None, Some("li.wei"), "amara")
        .await
        .unwrap();
    assert!(
        plans::update_milestone(&ctx, m[1], Some("finished"), None, "amara")
            .await
            .is_err(),
        "unknown status"
    );
    for id in &m[..4] {
        plans::update_milestone(&ctx, *id, Some("completed"), None, "amara")
            .await
            .unwrap();
    }
    let p = plans::detail(&ctx.state, id, "2000-01-01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.status, "active", "one milestone left");
    assert_eq!(p.milestones[1].owner, "li.wei");
    plans::update_milestone(&ctx, m[4], Some("cancelled"), None, "amara")
        .await
        .unwrap();
    let p = plans::detail(&ctx.state, id, "2000-01-01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.status, "completed");
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE actor = 'amara' AND (scope = $1 OR scope = $2)",
    )
    .bind(format!("plan {id}"))
    .bind(format!("customer {customer}"))
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert_eq!(
        audited,
        1 + 1 + 1 + 4 + 1,
        "opened, in progress, reassigned, four done, cancelled; the refused change wrote none"
    );

    let out = ws.cli(&["plans", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rec = v
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap();
    assert_eq!(
        (rec["completed"].as_i64(), rec["milestones"].as_i64()),
        (Some(4), Some(5))
    );
}

/// `plans new` opens a draft owned by the customer's CSM, as long as its tier's onboarding;
/// `plans set` moves it through the lifecycle with an audit row each, and refuses a move the
/// lifecycle does not have, naming the ones it has; `--filter` narrows the list.
#[tokio::test]
async fn plans_new_and_set_follow_the_lifecycle_from_the_command_line() {
    let ws = Ws::demo(40, 82).await;
    let ctx = ws.ctx().await;
    let (customer, owner, tier): (String, String, String) = sqlx::query_as(
        "SELECT legacy_id, owner, tier FROM customers WHERE owner IS NOT NULL AND tier IS NOT NULL
           AND legacy_id NOT IN (SELECT customer_legacy_id FROM success_plans) ORDER BY id LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    let out = stdout(&ws.cli(&[
        "plans",
        "new",
        "--customer",
        &customer,
        "--template",
        "onboarding",
        "--draft",
    ]));
    assert!(out.contains(&format!("draft, owner {owner}")), "{out}");
    let id: i64 = out
        .split_whitespace()
        .nth(1)
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    let days = ctx.cfg.tier(&tier).unwrap().onboarding_days;
    let last = (chrono::Utc::now().date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        out.contains(&last),
        "the last milestone {days} days out: {out}"
    );

    for (to, ok) in [
        ("completed", false),
        ("active", true),
        ("on_hold", true),
        ("completed", false),
        ("active", true),
        ("completed", true),
        ("cancelled", false),
    ] {
        let o = ws.cli(&["plans", "set", &id.to_string(), to, "--reason", "test"]);
        assert_eq!(o.status.success(), ok, "{to}: {}", common::stderr(&o));
        if !ok {
            assert!(common::stderr(&o).contains("it can become"), "{to}");
        }
    }
    let moves: Vec<(String, String)> =
        sqlx::query_as("SELECT action, detail FROM audit_log WHERE scope = $1 ORDER BY id")
            .bind(format!("plan {id}"))
            .fetch_all(&ctx.state)
            .await
            .unwrap();
    assert_eq!(
        moves,
        [
            ("plan active", "draft -> active"),
            ("plan on_hold", "active -> on_hold"),
            ("plan active", "on_hold -> active"),
            ("plan completed", "active -> completed"),
        ]
        .map(|(a, d)| (a.to_string(), d.to_string()))
    );
    let listed = stdout(&ws.cli(&[
        "plans",
        "--filter",
        &format!("owner:{owner} type:onboarding status:completed"),
    ]));
    assert!(
        listed.contains(&format!("Onboarding {customer}")),
        "{listed}"
    );
    let none = stdout(&ws.cli(&["plans", "--filter", "type:recovery status:draft"]));
    assert!(!none.contains(&format!("Onboarding {customer}")), "{none}");
}

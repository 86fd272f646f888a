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

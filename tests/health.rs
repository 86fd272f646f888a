//! Health scoring: weights from config, the weighted sum and its explanation, history and
//! trend, scoring after each batch, and a failed migration lowering health.

mod common;

use common::{Ws, stderr, stdout};
use cutover::engine::run::{RunOpts, run};
use cutover::health;

#[tokio::test]
async fn weights_must_sum_to_100() {
    let ws = Ws::demo(20, 51).await;
    ws.edit_config(|t| t.replacen("weight = 30", "weight = 35", 1));
    let out = ws.cli(&["health"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("health.component") && e.contains("sum to 105"),
        "{e}"
    );
}

#[tokio::test]
async fn a_run_scores_everyone_and_the_explanation_adds_up() {
    let ws = Ws::demo(120, 52).await;
    let out = ws.cli(&["health", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["customers"], 120);
    let by_level: i64 = r["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[1].as_i64().unwrap())
        .sum();
    assert_eq!(by_level, 120);
    assert_eq!(r["trends"][0], serde_json::json!(["new", 120]));

    let ctx = ws.ctx().await;
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT legacy_id FROM customers ORDER BY id LIMIT 20")
            .fetch_all(&ctx.state)
            .await
            .unwrap();
    for id in &ids {
        let e = health::explain(&ctx.state, id).await.unwrap().unwrap();
        let weights: f64 = e.parts.iter().map(|p| p.weight).sum();
        assert!((weights - 100.0).abs() < 1e-9);
        let sum: f64 = e.parts.iter().map(|p| p.value * p.weight / 100.0).sum();
        assert!((sum - e.score).abs() < 0.01, "{id}: {sum} vs {}", e.score);
        assert_eq!(e.level, ctx.cfg.health.level(e.score));
        assert!(e.parts.iter().all(|p| (0.0..=100.0).contains(&p.value)));
    }

    // A second run: history grows, trends are measured against the first.
    let r2 = health::score(&ctx, None, "test").await.unwrap();
    let stable = r2.trends.iter().find(|t| t.0 == "stable").unwrap().1;
    assert_eq!(
        stable, 120,
        "nothing changed, so every score is stable: {:?}",
        r2.trends
    );
    let history: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM health_scores")
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(history, 240);
}

#[tokio::test]
async fn a_failed_migration_lowers_health_through_the_success_component() {
    let ws = Ws::demo(40, 53).await;
    let ctx = ws.ctx().await;
    health::score(&ctx, None, "before").await.unwrap();
    let victim: String = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE status = 'pending' ORDER BY annual_revenue DESC LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    common::corrupt_on_insert(&ctx, "payments", "amount", "{row}.amount + 1", &victim).await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    // Each batch scored its customers when it finished: no separate run needed.
    let e = health::explain(&ctx.state, &victim).await.unwrap().unwrap();
    assert_eq!(e.trend, "declining", "{e:?}");
    assert_eq!(e.moved_most.as_deref(), Some("success"), "{e:?}");
    let success = e.parts.iter().find(|p| p.name == "success").unwrap();
    assert_eq!((success.previous_value, success.value), (Some(75.0), 10.0));
    assert!(
        (e.previous.unwrap() - e.score - 19.5).abs() < 0.01,
        "a 65-point drop at weight 30: {e:?}"
    );
    // A migrated customer went the other way.
    let ok: String =
        sqlx::query_scalar("SELECT legacy_id FROM customers WHERE status = 'migrated' LIMIT 1")
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    let e = health::explain(&ctx.state, &ok).await.unwrap().unwrap();
    assert_eq!(e.trend, "improving");
    let d = cutover::engine::status::customer(&ctx.state, &ok)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        d.health.as_ref().map(|h| h.score),
        Some(e.score),
        "the customer view carries the explanation"
    );
}

#[tokio::test]
async fn the_schedule_scores_when_no_recent_run_exists() {
    let ws = Ws::demo(30, 54).await;
    let ctx = ws.ctx().await;
    let task = tokio::spawn(health::schedule(ctx.clone()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM health_runs WHERE trigger = 'scheduled' AND finished_at IS NOT NULL")
            .fetch_one(&ctx.state)
            .await
            .unwrap();
        if n == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no scheduled run");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    task.abort();
    let scored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM health_latest")
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(scored, 30);
}

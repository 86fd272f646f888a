//! Health scoring: weights from config, the weighted sum and its explanation, history and
//! trend, scoring after each batch, and a failed migration lowering health.

mod common;

use common::{Ws, stderr, stdout};
use cutover_core::engine::run::{RunOpts, run};
use cutover_core::health;

#[tokio::test]
async fn weights_must_sum_to_100() {
    let ws = Ws::demo(20, 51).await;
    // Without a model the workspace weighs its components itself.
    ws.edit_config(|t| {
        t.replace("model = \"success_plan\"\n", "").replacen(
            "name = \"engagement\"\n",
            "name = \"engagement\"\nweight = 35\n",
            1,
        )
    });
    let out = ws.cli(&["health"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("health.component") && e.contains("sum to 35") && e.contains("engagement 35"),
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
    // The distribution the Alerts pane shows: the two full runs' levels, nothing moved.
    let d = health::distribution(&ctx.state).await.unwrap().unwrap();
    assert_eq!(d.levels, r2.levels);
    assert_eq!(d.levels.iter().map(|l| l.1).sum::<i64>(), 120);
    assert!(
        d.levels.iter().all(|(l, _)| d.change(l) == Some(0)),
        "{d:?}"
    );
    // A run over some customers is not a distribution.
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM customers ORDER BY id LIMIT 3")
        .fetch_all(&ctx.state)
        .await
        .unwrap();
    health::score(&ctx, Some(&ids), "batch").await.unwrap();
    assert_eq!(health::distribution(&ctx.state).await.unwrap().unwrap(), d);
}

#[tokio::test]
async fn a_failed_migration_lowers_health_through_the_success_component() {
    let ws = Ws::demo(40, 53).await;
    let ctx = ws.ctx().await;
    health::score(&ctx, None, "before").await.unwrap();
    let victim: String = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE status = 'pending' ORDER BY annual_revenue_cents DESC LIMIT 1",
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
    let d = cutover_core::engine::status::customer(&ctx.state, &ok)
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
    // Alert evaluation may have been cut off inside its transaction: let that connection go.
    let _ = task.await;
    let scored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM health_latest")
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(scored, 30);
}

/// Every customer's score, recomputed here from each component's own query: the run's join of
/// component values to customers (through its temporary table) must lose, misplace or
/// double nothing, clamp values above 100 and fall back to each component's default.
async fn assert_scores_match_components(ctx: &cutover_core::engine::Ctx, run_id: i64) {
    use cutover_core::config::Db;
    use cutover_core::source::conn::Source;
    use std::collections::HashMap;
    let h = &ctx.cfg.health;
    let mut parts: Vec<HashMap<String, f64>> = Vec::new();
    for comp in &h.component {
        let db = match comp.database {
            Db::State => Source::any(ctx.state.clone()),
            Db::Source => ctx.source.clone(),
            Db::Target => Source::any(ctx.target.clone()),
        };
        let sql = format!("SELECT h.legacy_id, h.value FROM ({}) AS h", comp.query);
        let pairs = cutover_core::source::pairs(&db, sql, &[]).await.unwrap();
        parts.push(
            pairs
                .into_iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        cutover_core::schema::Raw::Int(i) => i as f64,
                        cutover_core::schema::Raw::Real(f) => f,
                        cutover_core::schema::Raw::Text(t) => t.trim().parse().ok()?,
                        _ => return None,
                    };
                    Some((k, v))
                })
                .collect(),
        );
    }
    let rows: Vec<(String, f64)> = sqlx::query_as(
        "SELECT c.legacy_id, s.score FROM health_scores s JOIN customers c ON c.id = s.customer_id \
         WHERE s.run_id = $1",
    )
    .bind(run_id)
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert!(!rows.is_empty());
    let (mut clamped, mut defaulted) = (0, 0);
    for (id, score) in &rows {
        let mut want = 0.0;
        for (c, comp) in h.component.iter().enumerate() {
            let v = match parts[c].get(id) {
                Some(v) => {
                    clamped += usize::from(*v > 100.0);
                    v.clamp(0.0, 100.0)
                }
                None => {
                    defaulted += 1;
                    comp.default
                }
            };
            want += v * comp.weight / 100.0;
        }
        assert!(
            (want - score).abs() < 0.011,
            "customer {id}: {score}, components say {want}"
        );
    }
    assert!(
        clamped > 0 && defaulted > 0,
        "the demo exercises both: {clamped} {defaulted}"
    );
}

#[tokio::test]
async fn every_score_is_its_components_read_from_their_own_queries() {
    let ws = Ws::demo(150, 55).await;
    let ctx = ws.ctx().await;
    let all = health::score(&ctx, None, "test").await.unwrap();
    assert_eq!(all.customers, 150);
    assert_scores_match_components(&ctx, all.run_id).await;
    // A run over some customers (as after a batch) scores exactly those, by the same rule.
    let some: Vec<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE id % 3 = 0")
        .fetch_all(&ctx.state)
        .await
        .unwrap();
    let part = health::score(&ctx, Some(&some), "test").await.unwrap();
    assert_eq!(part.customers, some.len());
    assert_scores_match_components(&ctx, part.run_id).await;
}

/// `PRAGMA name` through the source (SQLite on both legs), one row per value.
async fn source_pragma(
    ctx: &cutover_core::engine::Ctx,
    name: &str,
) -> Vec<cutover_core::schema::Raw> {
    let rows = ctx
        .source
        .fetch(&format!("PRAGMA {name}"), &[])
        .await
        .unwrap();
    rows.rows.into_iter().map(|mut r| r.remove(0)).collect()
}

/// `PRAGMA cache_size` through the source and, when it is SQLite, the state.
async fn cache_sizes(
    ctx: &cutover_core::engine::Ctx,
) -> (Vec<cutover_core::schema::Raw>, Option<i64>) {
    let state = match cutover_core::db::Backend::of_pool(&ctx.state) {
        cutover_core::db::Backend::Sqlite => Some(
            sqlx::query_scalar::<_, i64>("PRAGMA cache_size")
                .fetch_one(&ctx.state)
                .await
                .unwrap(),
        ),
        // PostgreSQL, on the other leg, has no such pragma.
        _ => None,
    };
    (source_pragma(ctx, "cache_size").await, state)
}

#[tokio::test]
async fn the_sqlite_cache_cap_reaches_every_pool_opened_after_it() {
    use cutover_core::schema::Raw;
    let ws = Ws::demo(10, 58).await;
    // SQLite's default, -2000 (KiB), unless another test of this binary holds a cap.
    let before = cache_sizes(&ws.ctx().await).await;
    assert_ne!(before.0, [Raw::Int(-300)], "{before:?}");
    cutover_core::db::cap_sqlite_cache(300);
    let capped = cache_sizes(&ws.ctx().await).await;
    cutover_core::db::cap_sqlite_cache(0);
    assert_eq!(capped.0, [Raw::Int(-300)], "{capped:?}");
    assert!(capped.1.is_none_or(|n| n == -300), "{capped:?}");
}

#[tokio::test]
async fn the_bundled_sqlite_keeps_a_page_cache_per_connection() {
    // `.cargo/config.toml` builds it so (the plan's SQLite threads otherwise wait on one
    // process-wide cache mutex); a build that lost the flags would pass every other test.
    let ws = Ws::demo(10, 59).await;
    let options = source_pragma(&ws.ctx().await, "compile_options").await;
    let has = |o: &str| options.contains(&cutover_core::schema::Raw::Text(o.into()));
    assert!(has("THREADSAFE=1"), "{options:?}");
    assert!(!has("ENABLE_MEMORY_MANAGEMENT"), "{options:?}");
    assert!(has("DEFAULT_MEMSTATUS=0"), "{options:?}");
}

/// A component that queries the platform (`database = "target"`) reads it in its own types:
/// on PostgreSQL a `SUM` over the managed platform's `NUMERIC` money, which the `Any` pool
/// cannot decode. The reader is opened once with the workspace.
#[tokio::test]
async fn a_component_reads_the_platform_in_its_own_types() {
    let ws = Ws::demo(40, 57).await;
    run(&ws.ctx().await, &RunOpts::default()).await.unwrap();
    ws.edit_config(|t| {
        let at = t.find("name = \"financial\"").unwrap();
        let end = at + t[at..].find("\"\"\"\n").unwrap() + 3;
        let end = end + t[end..].find("\"\"\"").unwrap() + 3;
        format!(
            "{}name = \"financial\"\nweight = 20\ndatabase = \"target\"\ndefault = 20\nquery = \"\"\"\n\
             SELECT customer_legacy_id AS legacy_id, 40 + SUM(amount) / 50 AS value FROM payments\n\
             WHERE status = 'PAID' GROUP BY customer_legacy_id\"\"\"{}",
            &t[..at],
            &t[end..]
        )
    });
    let ctx = ws.ctx().await;
    assert!(ctx.target_reader.is_some());
    health::score(&ctx, None, "test").await.unwrap();
    let migrated: Vec<String> = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE status = 'migrated' ORDER BY id LIMIT 10",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert!(!migrated.is_empty());
    let legacy = format!("sqlite://{}", ws.path().join("legacy.db").display());
    let lp = sqlx::SqlitePool::connect(&legacy).await.unwrap();
    let mut paid_somewhere = false;
    for id in &migrated {
        let cents: Option<i64> = sqlx::query_scalar(
            "SELECT SUM(amount_cents) FROM payments WHERE client_id = CAST($1 AS INTEGER) AND status = 'PAID'",
        )
        .bind(id.clone())
        .fetch_one(&lp)
        .await
        .unwrap();
        let want = cents.map_or(20.0, |c| (40.0 + c as f64 / 5000.0).min(100.0));
        paid_somewhere |= cents.is_some();
        let e = health::explain(&ctx.state, id).await.unwrap().unwrap();
        let got = e
            .parts
            .iter()
            .find(|p| p.name == "financial")
            .unwrap()
            .value;
        assert!(
            (got - want).abs() < 0.01,
            "customer {id}: financial {got}, want {want}"
        );
    }
    assert!(paid_somewhere);
}

/// The demo's data feed both shipped models; one config line switches between them, and the
/// levels a run counts are the model's.
#[tokio::test]
async fn the_demo_scores_under_either_shipped_model() {
    let ws = Ws::demo(120, 33).await;
    for (model, levels) in [
        ("success_plan", vec!["Excellent", "Good", "Fair", "Poor"]),
        ("playbook", vec!["Healthy", "At risk", "Critical"]),
    ] {
        ws.edit_config(|t| {
            t.replace("model = \"success_plan\"", &format!("model = \"{model}\""))
                .replace("model = \"playbook\"", &format!("model = \"{model}\""))
        });
        let out = ws.cli(&["health", "--json"]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        let v: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
        let got: Vec<&str> = v["levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l[0].as_str().unwrap())
            .collect();
        assert_eq!(got, levels, "{model}: {v}");
        let scored: i64 = v["levels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l[1].as_i64().unwrap())
            .sum();
        assert_eq!(scored, 120, "{model}: every customer scored");
        let ctx = ws.ctx().await;
        assert_eq!(
            ctx.cfg.health.component.len(),
            4,
            "{model}: its four components"
        );
    }
}

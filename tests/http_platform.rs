//! A platform reached only through its HTTP API (issue 23, part 4), played by an axum server
//! (`common::api`) that throttles, fails before and after acting, checks a bearer token and
//! keeps its own records. The journey: plan, migrate, validate by read-back, roll back
//! everything, migrate again; a customer the API already had is merged into its own object.

#[path = "common/api.rs"]
mod api;
mod common;

use api::workspace;
use common::ok;
use cutover_core::engine::run::{RunOpts, run};
use serde_json::json;

// Two threads: the server must answer while the test waits on a child synchronously.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_platform_migrates_validates_rolls_back_and_migrates_again_exactly() {
    let (ws, api) = workspace(40, 61, true).await;
    let state = ws.ctx().await.state.clone();
    let (first, name): (String, String) = sqlx::query_as(
        "SELECT legacy_id, name FROM customers WHERE status = 'pending' ORDER BY id LIMIT 1",
    )
    .fetch_one(&state)
    .await
    .unwrap();
    // A customer who signed up on the platform before their wave, with a payment of its own.
    let own_id = {
        let mut r = api.records.lock().unwrap();
        let id = r.insert(
            "accounts",
            json!({"external_id": first, "display_name": "Signed up early", "plan": "pro"}),
        );
        r.insert(
            "payments",
            json!({"account_id": id, "external_id": "WEB-1", "amount": "9.99", "currency": "EUR"}),
        );
        id
    };
    ok(&ws.cli(&["plan"]));
    let before = api.records.lock().unwrap().dump();
    let ctx = ws.ctx().await;
    let summary = run(&ctx, &RunOpts::default()).await.unwrap();
    let migrated: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE status = 'migrated'")
            .fetch_one(&state)
            .await
            .unwrap();
    assert!(migrated > 30, "{migrated} migrated: {summary:?}");
    let out = ok(&ws.cli(&["validate"]));
    assert!(
        out.contains(&format!(
            "validated {migrated} migrated customers: 0 mismatched; 0 orphaned"
        )),
        "{out}"
    );
    let first_run = {
        let r = api.records.lock().unwrap();
        assert!(
            r.throttled > 0 && r.failed > 0 && r.failed_after > 0,
            "the server misbehaved: {} throttled, {} failed, {} lost answers",
            r.throttled,
            r.failed,
            r.failed_after
        );
        assert_eq!(r.duplicates(), Vec::<(String, String)>::new());
        let own = &r.objects[&("accounts".to_string(), own_id)];
        assert_eq!(own["display_name"], json!(name), "merged");
        assert_eq!(own["plan"], json!("pro"), "the platform's own field kept");
        assert!(
            r.objects
                .contains_key(&("payments".to_string(), own_id + 1))
        );
        r.dump()
    };
    // Money arrived as exact decimal strings: the migrated customers' payments sum to the
    // source's cents, to the cent.
    let migrated_ids: Vec<String> =
        sqlx::query_scalar("SELECT legacy_id FROM customers WHERE status = 'migrated'")
            .fetch_all(&state)
            .await
            .unwrap();
    let legacy = format!("sqlite://{}", ws.path().join("legacy.db").display());
    let lp = sqlx::SqlitePool::connect(&legacy).await.unwrap();
    let mut src_cents = 0i64;
    for id in &migrated_ids {
        let c: Option<i64> = sqlx::query_scalar(
            "SELECT SUM(amount_cents) FROM payments WHERE client_id = CAST($1 AS INTEGER)",
        )
        .bind(id.clone())
        .fetch_one(&lp)
        .await
        .unwrap();
        src_cents += c.unwrap_or(0);
    }
    lp.close().await;
    let api_cents: i64 = {
        let r = api.records.lock().unwrap();
        r.objects
            .iter()
            .filter(|((c, _), o)| c == "payments" && o["external_id"] != json!("WEB-1"))
            .map(|(_, o)| {
                let text = o["amount"].as_str().expect("money as a decimal string");
                cutover_core::schema::to_cents(cutover_core::schema::parse_decimal(text).unwrap())
                    .unwrap()
            })
            .sum()
    };
    assert!(src_cents > 0);
    assert_eq!(api_cents, src_cents, "payments to the cent");

    // The customer goes on using the platform: a payment the platform makes after the
    // migration is its own, neither validated against the source nor rolled back.
    let later = api.records.lock().unwrap().insert(
        "payments",
        json!({"account_id": own_id, "external_id": "WEB-2", "amount": "5.00", "currency": "EUR"}),
    );
    assert!(ok(&ws.cli(&["validate"])).contains(": 0 mismatched; 0 orphaned"));
    ok(&ws.cli(&["rollback", "--all", "--yes"]));
    assert!(
        api.records
            .lock()
            .unwrap()
            .objects
            .remove(&("payments".to_string(), later))
            .is_some(),
        "the platform's later payment kept"
    );
    assert_eq!(
        api.records.lock().unwrap().dump(),
        before,
        "rollback gave the API back as it was"
    );
    assert!(
        api.records
            .lock()
            .unwrap()
            .objects
            .contains_key(&("accounts".to_string(), own_id)),
        "the same object"
    );
    ok(&ws.cli(&["resume"]));
    ok(&ws.cli(&["plan"]));
    run(&ctx, &RunOpts::default()).await.unwrap();
    assert!(ok(&ws.cli(&["validate"])).contains(": 0 mismatched; 0 orphaned"));
    let r = api.records.lock().unwrap();
    assert_eq!(r.dump(), first_run, "the second migration equals the first");
    assert_eq!(r.duplicates(), Vec::<(String, String)>::new());
    assert_eq!(r.keyless, 0, "every create carried an idempotency key");
}

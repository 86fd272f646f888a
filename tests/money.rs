//! Exact money end to end (issue: the platform is someone else's, part 1). Amounts that doubles
//! cannot hold (0.99, 1.98, 13.86: a music store's invoice lines) go from the legacy source to
//! the platform and into the state's revenue figures exact to the cent, on SQLite and, in the
//! PostgreSQL leg, into `NUMERIC`, `TIMESTAMPTZ`, `BOOLEAN` and `JSONB` columns.

mod common;

use std::collections::HashSet;

use common::{Ws, on_postgres, skip};
use cutover_core::engine::run::{RunOpts, run};
use cutover_core::schema::{Decimal, Raw, cents_text};
use cutover_core::source::Source;

/// Invoice totals of a music store, in cents: each one is inexact as a double.
const INVOICE_CENTS: [i64; 6] = [99, 198, 396, 594, 891, 1386];

fn dec(r: &Raw) -> Decimal {
    match r {
        Raw::Dec(d) => *d,
        Raw::Int(i) => Decimal::from(*i),
        Raw::Text(t) => t.parse().unwrap(),
        other => panic!("an amount read as {other:?}"),
    }
}

/// Gives every legacy payment an invoice amount and re-plans, so the revenue is recomputed.
async fn invoice_amounts(ws: &Ws) {
    let legacy = format!("sqlite://{}", ws.path().join("legacy.db").display());
    let pool = sqlx::SqlitePool::connect(&legacy).await.unwrap();
    sqlx::query("UPDATE payments SET amount_cents = CASE payment_id % 6 WHEN 0 THEN 99 WHEN 1 THEN 198 WHEN 2 THEN 396 WHEN 3 THEN 594 WHEN 4 THEN 891 ELSE 1386 END")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    common::ok(&ws.cli(&["plan"]));
}

#[tokio::test]
async fn money_arrives_to_the_cent_and_the_revenue_figures_are_exact() {
    let ws = Ws::demo(80, 41).await;
    invoice_amounts(&ws).await;
    let ctx = ws.ctx().await;
    run(&ctx, &RunOpts::default()).await.unwrap();

    let migrated: HashSet<String> = sqlx::query_scalar::<_, String>(
        "SELECT legacy_id FROM customers WHERE status = 'migrated'",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert!(migrated.len() > 40, "{} migrated", migrated.len());

    // What the legacy system holds for the migrated customers, in cents.
    let legacy = Source::open(
        &format!("sqlite://{}", ws.path().join("legacy.db").display()),
        true,
    )
    .await
    .unwrap();
    let mut want_cents = 0i64;
    let mut want_rows = 0;
    for r in legacy
        .fetch("SELECT client_id, amount_cents FROM payments", &[])
        .await
        .unwrap()
        .rows
    {
        let Raw::Int(c) = r[0] else { panic!() };
        if migrated.contains(&c.to_string()) {
            let Raw::Int(a) = r[1] else { panic!() };
            assert!(INVOICE_CENTS.contains(&a));
            want_cents += a;
            want_rows += 1;
        }
    }
    assert!(want_rows > 100, "{want_rows} payments");
    // The same payments on the platform, summed exactly.
    let cfg = cutover_core::config::Config::load(&ws.config_path()).unwrap();
    let platform = Source::open(&cfg.target.url, true).await.unwrap();
    let rows = platform
        .fetch("SELECT amount FROM payments", &[])
        .await
        .unwrap()
        .rows;
    let got: Decimal = rows.iter().map(|r| dec(&r[0])).sum();
    assert_eq!(rows.len(), want_rows);
    assert_eq!(got, Decimal::new(want_cents, 2), "platform payments sum");
    if on_postgres() {
        // The database's own sum of a NUMERIC column: exact, no 2328.600000000004.
        let sum = platform
            .fetch("SELECT CAST(SUM(amount) AS TEXT) FROM payments", &[])
            .await
            .unwrap()
            .rows;
        assert_eq!(sum[0][0], Raw::Text(cents_text(want_cents)));
    }

    // Counts and checksums agree for every migrated customer.
    let out = ws.cli(&["validate"]);
    assert!(
        common::stdout(&out).contains(": 0 mismatched"),
        "{}{}",
        common::stdout(&out),
        common::stderr(&out)
    );

    // The state's revenue: integer cents kept by triggers equal a fresh sum, and `status --json`
    // prints each segment's revenue with at most two decimals.
    common::assert_counts_match(&ctx.state).await;
    let out = ws.cli(&["status", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut total = 0i64;
    for seg in json["segments"].as_array().unwrap() {
        let text = seg["revenue"].to_string();
        let decimals = text.split_once('.').map_or(0, |(_, f)| f.len());
        assert!(decimals <= 2, "segment revenue printed as {text}");
        total += (seg["revenue"].as_f64().unwrap() * 100.0).round() as i64;
    }
    let state: i64 =
        sqlx::query_scalar("SELECT CAST(SUM(annual_revenue_cents) AS BIGINT) FROM customers")
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    assert_eq!(total, state);
    assert!(state > 0);
}

#[tokio::test]
async fn a_managed_postgresql_platform_has_the_databases_own_types() {
    if !on_postgres() {
        return skip(
            "a_managed_postgresql_platform",
            "CUTOVER_TEST_BACKEND=postgres",
        );
    }
    let ws = Ws::demo(20, 43).await;
    let ctx = ws.ctx().await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    let types: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text || '.' || column_name::text, udt_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_name IN \
         ('amount', 'annual_revenue', 'paid_at', 'created_at', 'warranty_until', 'special_needs', 'attributes') \
         ORDER BY 1",
    )
    .fetch_all(&ctx.target)
    .await
    .unwrap();
    let t = |c: &str| types.iter().find(|(n, _)| n == c).map(|(_, u)| u.as_str());
    assert_eq!(t("payments.amount"), Some("numeric"));
    assert_eq!(t("repairs.amount"), Some("numeric"));
    assert_eq!(t("customers.annual_revenue"), Some("numeric"));
    assert_eq!(t("payments.paid_at"), Some("timestamptz"));
    assert_eq!(t("customers.created_at"), Some("timestamptz"));
    assert_eq!(t("devices.warranty_until"), Some("date"));
    assert_eq!(t("customers.special_needs"), Some("bool"));
    assert_eq!(t("communications.attributes"), Some("jsonb"));
    let out = ws.cli(&["validate"]);
    assert!(
        common::stdout(&out).contains(": 0 mismatched"),
        "{}",
        common::stdout(&out)
    );
}

/// A platform an earlier version created (double money, text timestamps and attributes, integer
/// booleans) is brought to the new types in place, each value converted exactly.
#[tokio::test]
async fn an_older_managed_postgresql_platform_is_upgraded_in_place() {
    if !on_postgres() {
        return skip(
            "an_older_managed_postgresql_platform",
            "CUTOVER_TEST_BACKEND=postgres",
        );
    }
    let schema = common::pg_schema("oldplatform");
    let pool = cutover_core::db::open(&schema.url, "target", false, false)
        .await
        .unwrap();
    for sql in [
        "CREATE TABLE customers (id BIGSERIAL PRIMARY KEY, legacy_id TEXT NOT NULL UNIQUE, name TEXT, email TEXT, phone TEXT,
           account_type TEXT, created_at TEXT, country TEXT, special_needs BIGINT, annual_revenue DOUBLE PRECISION,
           repairs_12m BIGINT, attributes TEXT NOT NULL DEFAULT '{}')",
        "INSERT INTO customers (legacy_id, created_at, special_needs, annual_revenue, attributes)
           VALUES ('7', '2024-02-03T04:05:06Z', 1, 2328.6, '{\"b\":1,\"a\":\"x\"}')",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
    }
    cutover_core::target::ensure_schema(&pool).await.unwrap();
    let row: (String, String, bool, String) = sqlx::query_as(
        "SELECT CAST(annual_revenue AS TEXT), CAST(created_at AS TEXT), special_needs, CAST(attributes->>'a' AS TEXT) FROM customers",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            "2328.6".to_string(),
            "2024-02-03 04:05:06+00".to_string(),
            true,
            "x".to_string()
        )
    );
    // Idempotent: a second start finds nothing to change.
    cutover_core::target::ensure_schema(&pool).await.unwrap();
}

//! The demo generator: deterministic, all four segments populated, and defects that the audit
//! catches.

mod common;

use common::{Ws, as_of};
use cutover_core::db;
use cutover_core::demo::generate_legacy;

async fn legacy_dump(seed: u64) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("l.db");
    let pool = db::open(&format!("sqlite://{}", p.display()), "legacy", true, false)
        .await
        .unwrap();
    generate_legacy(&pool, 300, seed, as_of(), |_| {})
        .await
        .unwrap();
    pool.close().await;
    common::sqlite_dump(&p).await
}

#[tokio::test]
async fn same_seed_same_data_other_seed_other_data() {
    let a = legacy_dump(7).await;
    let b = legacy_dump(7).await;
    let c = legacy_dump(8).await;
    assert!(a.len() > 10_000, "the dump has data");
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[tokio::test]
async fn demo_populates_every_segment_and_the_audit_finds_defects() {
    let ws = Ws::demo(700, 42).await;
    let ctx = ws.ctx().await;
    let s = cutover_core::engine::plan::summary(&ctx.state)
        .await
        .unwrap();
    assert_eq!(s.customers, 700);
    for seg in &s.segments {
        assert!(
            seg.customers >= 50,
            "segment {} has {} customers",
            seg.name,
            seg.customers
        );
    }
    let share = |n: i64| n as f64 / 700.0;
    assert!(
        (0.01..0.08).contains(&share(s.quarantined)),
        "quarantined {}",
        s.quarantined
    );
    assert!(s.warned > 0, "some customers migrate with warnings");
    assert_eq!(s.rejected_rows, 2, "the two orphan payments are rejected");
    let rules: Vec<String> = sqlx::query_scalar("SELECT DISTINCT rule FROM findings ORDER BY 1")
        .fetch_all(&ctx.state)
        .await
        .unwrap();
    for want in [
        "email_format:customers.email",
        "non_negative:payments.amount",
        "reference:repairs.device_legacy_id",
        "duplicate:customers.email",
        "phone_format:customers.phone",
    ] {
        assert!(
            rules.iter().any(|r| r == want),
            "no finding for {want}: {rules:?}"
        );
    }
    let scripts: Vec<String> = sqlx::query_scalar("SELECT name FROM customers")
        .fetch_all(&ctx.state)
        .await
        .unwrap();
    assert!(
        scripts
            .iter()
            .any(|n| n.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
        "CJK names"
    );
    assert!(
        scripts
            .iter()
            .any(|n| n.chars().any(|c| ('\u{0590}'..='\u{06ff}').contains(&c))),
        "right-to-left names"
    );
    let plans: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM success_plans WHERE kind = 'onboarding'")
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    let vip: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE segment = 'VIP'")
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(plans, vip, "an onboarding plan per VIP customer");
    let ms: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM milestones m JOIN success_plans p ON p.id = m.plan_id WHERE p.kind = 'onboarding'",
    )
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(ms, vip * 5, "five phases each");
    let waves: Vec<String> = sqlx::query_scalar(
        "SELECT customer_legacy_id FROM success_plans WHERE kind = 'expansion' ORDER BY id",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert_eq!(
        waves,
        [
            "wave:VIP",
            "wave:High-value",
            "wave:Regular",
            "wave:Inactive"
        ],
        "a migration plan per wave"
    );
}

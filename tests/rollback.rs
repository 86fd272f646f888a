//! Rollback of a customer and of a batch restores the platform to the backup checksums,
//! leaves the customers eligible again, and records it; a hand edit on the platform makes
//! `validate` fail naming the customer and entity.

mod common;

use common::{Ws, stdout};
use cutover_core::engine::rollback::{Scope, rollback};
use cutover_core::engine::run::{RunOpts, run};
use cutover_core::engine::{plan, status};

#[tokio::test]
async fn customer_rollback_restores_the_backup_and_can_migrate_again() {
    let ws = Ws::demo(60, 11).await;
    let ctx = ws.ctx().await;
    // A pre-existing platform row for one customer: rollback must bring it back exactly.
    let keep: String = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE status = 'pending' ORDER BY id LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    sqlx::query("INSERT INTO customers (legacy_id, name, attributes) VALUES ($1, 'Pre-existing', '{\"origin\":\"crm\"}')")
        .bind(keep.clone()).execute(&ctx.target).await.unwrap();
    let before = common::platform_dump(&ws).await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    let name: String = sqlx::query_scalar("SELECT name FROM customers WHERE legacy_id = $1")
        .bind(keep.clone())
        .fetch_one(&ctx.target)
        .await
        .unwrap();
    assert_ne!(
        name, "Pre-existing",
        "migration replaced the platform's row"
    );

    let r = rollback(&ctx, &Scope::Customer(keep.clone()), "test")
        .await
        .unwrap();
    assert_eq!((r.rolled_back, r.unverified.len()), (1, 0));
    // Attributes compared as JSON: PostgreSQL's JSONB prints `{"origin": "crm"}`.
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT name, CAST(attributes AS TEXT) FROM customers WHERE legacy_id = $1")
            .bind(keep.clone())
            .fetch_all(&ctx.target)
            .await
            .unwrap();
    let rows: Vec<(String, serde_json::Value)> = rows
        .into_iter()
        .map(|(n, a)| (n, serde_json::from_str(&a).unwrap()))
        .collect();
    assert_eq!(
        rows,
        vec![(
            "Pre-existing".to_string(),
            serde_json::json!({"origin": "crm"})
        )]
    );
    let st: String = sqlx::query_scalar("SELECT status FROM customers WHERE legacy_id = $1")
        .bind(keep.clone())
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(st, "rolled_back");
    let flag = ctx
        .source
        .count(
            "SELECT migrated_flag FROM clients WHERE client_id = $1",
            &[cutover_core::source::Bind::Text(keep.clone())],
        )
        .await
        .unwrap();
    assert_eq!(flag, 0, "on_rollback reinstated legacy access");
    let audit: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'rollback' AND scope = $1 AND outcome = 'ok'",
    )
    .bind(format!("customer {keep}"))
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert_eq!(audit, 1);

    // Eligible again: the next plan queues it and a run migrates it.
    plan::plan(&ctx).await.unwrap();
    run(&ctx, &RunOpts::default()).await.unwrap();
    let st: String = sqlx::query_scalar("SELECT status FROM customers WHERE legacy_id = $1")
        .bind(keep.clone())
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(st, "migrated");

    common::assert_counts_match(&ctx.state).await;
    common::assert_batch_counts_match(&ctx.state).await;
    // Everything back: the platform equals what it was before the first run.
    rollback(&ctx, &Scope::All, "test").await.unwrap();
    common::assert_counts_match(&ctx.state).await;
    common::assert_batch_counts_match(&ctx.state).await;
    assert_eq!(common::platform_dump(&ws).await, before);
}

#[tokio::test]
async fn batch_rollback_restores_checksums_for_the_whole_batch_only() {
    let ws = Ws::demo(120, 12).await;
    let ctx = ws.ctx().await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    let migrated = status::status(&ctx.state).await.unwrap().customers.migrated;
    let batch: String = sqlx::query_scalar(
        "SELECT id FROM batches WHERE status = 'done' ORDER BY priority, seq LIMIT 1 OFFSET 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    let members: Vec<String> = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE batch_id = $1 AND status = 'migrated'",
    )
    .bind(batch.clone())
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    let out = ws.cli(&["rollback", "--batch", &batch, "--yes"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "rolled back {} customers (batch {batch})",
            members.len()
        )),
        "{}",
        stdout(&out)
    );
    // Their platform rows are gone (their backups held none), everyone else's intact.
    let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM customers WHERE legacy_id IN ({})",
        members
            .iter()
            .map(|m| format!("'{m}'"))
            .collect::<Vec<_>>()
            .join(",")
    )))
    .fetch_one(&ctx.target)
    .await
    .unwrap();
    assert_eq!(left, 0);
    let st = status::status(&ctx.state).await.unwrap();
    assert_eq!(st.customers.migrated, migrated - members.len() as i64);
    assert_eq!(st.customers.rolled_back, members.len() as i64);
    assert_eq!(st.batches.rolled_back, 1);
    // The customer view tells the story: steps, backups, and the batch's audit entry.
    let d = status::customer(&ctx.state, &members[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, "rolled_back");
    let steps: Vec<&str> = d.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(
        steps,
        [
            "backup",
            "create_account",
            "migrate_data",
            "validate",
            "notify",
            "rollback"
        ]
    );
    assert_eq!(d.backups.len(), 5, "a backup per entity");
    assert!(
        d.audit
            .iter()
            .any(|a| a.action == format!("rollback (batch {batch})") && a.outcome == "ok"),
        "{:?}",
        d.audit
    );
    let out = ws.cli(&["validate"]);
    assert!(
        out.status.success(),
        "the rest still validates: {}",
        stdout(&out)
    );
}

#[tokio::test]
async fn a_hand_edit_on_the_platform_makes_validate_fail_naming_customer_and_entity() {
    let ws = Ws::demo(40, 13).await;
    let ctx = ws.ctx().await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    let victim: String =
        sqlx::query_scalar("SELECT customer_legacy_id FROM payments ORDER BY id LIMIT 1")
            .fetch_one(&ctx.target)
            .await
            .unwrap();
    sqlx::query(
        "UPDATE payments SET amount = amount + 0.01 WHERE id = (SELECT MIN(id) FROM payments)",
    )
    .execute(&ctx.target)
    .await
    .unwrap();
    let out = ws.cli(&["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("customer {victim}: payments: checksum source")),
        "{text}"
    );
    assert!(text.contains("1 mismatched"), "{text}");
    let one = ws.cli(&["validate", "--customer", &victim]);
    assert_eq!(one.status.code(), Some(1));
}

#[tokio::test]
async fn rollback_of_nothing_says_so() {
    let ws = Ws::demo(30, 14).await;
    let out = ws.cli(&["rollback", "--customer", "no-such-id", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("customer no-such-id: no such legacy id"),
        "{}",
        common::stderr(&out)
    );
    let out = ws.cli(&["rollback", "--batch", "VIP-0001"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no --yes and no terminal: bad usage"
    );
}

#[tokio::test]
async fn the_blast_radius_is_shown_before_and_a_wave_rolls_back_whole() {
    let ws = Ws::demo(60, 15).await;
    let ctx = ws.ctx().await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    let before = common::platform_dump(&ws).await;
    let out = ws.cli(&["rollback", "--segment", "VIP", "--dry-run", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let migrated: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM customers WHERE segment = 'VIP' AND status = 'migrated'",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert!(migrated > 0);
    assert_eq!(r["customers"], migrated, "{r}");
    assert_eq!(
        r["told_moved"], migrated,
        "every migrated VIP got its moved notice"
    );
    assert_eq!(r["waves"], serde_json::json!(["VIP"]));
    // The payments it names are the VIP customers' rows on the platform, counted there.
    let vip_ids: Vec<String> = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE segment = 'VIP' AND status = 'migrated'",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    let mut on_platform = 0i64;
    for id in &vip_ids {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE customer_legacy_id = $1")
                .bind(id)
                .fetch_one(&ctx.target)
                .await
                .unwrap();
        on_platform += n;
    }
    let payments = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["entity"] == "payments")
        .map_or(0, |e| e["rows"].as_i64().unwrap());
    assert_eq!(payments, on_platform, "{r}");
    assert!(
        r["estimate_seconds"].is_null(),
        "no rollback measured yet: {r}"
    );
    assert_eq!(
        common::platform_dump(&ws).await,
        before,
        "--dry-run changed nothing"
    );

    let text = stdout(&ws.cli(&["rollback", "--segment", "VIP", "--dry-run"]));
    assert!(text.contains(&format!("{migrated} customers")), "{text}");
    assert!(text.contains("no rollback measured"), "{text}");

    let out = ws.cli(&["rollback", "--segment", "VIP", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(
        stdout(&out).contains("`cutover plan` requeues"),
        "{}",
        stdout(&out)
    );
    let s = status::status(&ctx.state).await.unwrap();
    let vip = s.segments.iter().find(|g| g.name == "VIP").unwrap();
    assert_eq!((vip.migrated, vip.rolled_back), (0, migrated));
    assert!(!vip.done(), "a wave with rolled-back customers is not done");
    assert_eq!(
        vip.success_rate(),
        Some(0.0),
        "rolled back counts against it"
    );
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM batches WHERE segment = 'VIP' AND status IN ('running', 'done')",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert_eq!(open, 0, "the wave's batches are rolled back");
    // Measured now: the next radius has an estimate.
    let r: serde_json::Value = serde_json::from_str(&stdout(&ws.cli(&[
        "rollback",
        "--all",
        "--dry-run",
        "--json",
    ])))
    .unwrap();
    assert!(r["measured_per_second"].as_f64().unwrap() > 0.0, "{r}");
    let unknown = ws.cli(&["rollback", "--segment", "Nope", "--dry-run"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(common::stderr(&unknown).contains("wave Nope: no such segment"));
}

#[tokio::test]
async fn an_open_customer_view_follows_the_poll_through_a_rollback() {
    use cutover_tui::app::{App, Command, Mode};
    use cutover_tui::snapshot::{View, snapshot};
    let ws = Ws::demo(40, 16).await;
    let ctx = ws.ctx().await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    let (id, payments): (String, i64) = sqlx::query_as(
        "SELECT customer_legacy_id, COUNT(*) FROM payments GROUP BY customer_legacy_id ORDER BY COUNT(*) DESC LIMIT 1",
    )
    .fetch_one(&ctx.target)
    .await
    .unwrap();
    let mut app = App::new(
        "t".into(),
        "ops".into(),
        false,
        cutover_tui::theme::Theme::plain(),
        "2026-11-21".into(),
    );
    let view = View {
        limit: 100,
        ..Default::default()
    };
    app.on_snapshot(std::sync::Arc::new(
        snapshot(&ctx.state, &view).await.unwrap(),
    ));
    app.mode = Mode::Customer(id.clone());
    app.on_detail(status::customer(&ctx.state, &id).await.unwrap());
    let draw = |app: &App| {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
        t.draw(|f| app.render(f)).unwrap();
        let b = t.backend().buffer().clone();
        (0..b.area.height)
            .map(|y| {
                (0..b.area.width)
                    .map(|x| b[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let shown = draw(&app);
    let row = |s: &str| {
        s.lines()
            .find(|l| l.contains("payments "))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    };
    assert!(
        row(&shown).starts_with(&format!("{payments} {payments}")),
        "{shown}"
    );

    rollback(&ctx, &Scope::Customer(id.clone()), "test")
        .await
        .unwrap();
    // The next poll reloads the open customer, as the loop does with what on_snapshot asks.
    let cmds = app.on_snapshot(std::sync::Arc::new(
        snapshot(&ctx.state, &view).await.unwrap(),
    ));
    assert_eq!(cmds, vec![Command::LoadCustomer(id.clone())]);
    app.on_detail(status::customer(&ctx.state, &id).await.unwrap());
    let shown = draw(&app);
    assert!(shown.contains("rolled_back"), "{shown}");
    assert!(
        row(&shown).starts_with(&format!("{payments} 0")),
        "payments on the platform after the rollback: {shown}"
    );
}

#[tokio::test]
async fn a_certificate_proves_the_move_names_the_rollbacks_and_detects_an_edit() {
    let ws = Ws::demo(40, 17).await;
    let ctx = ws.ctx().await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    let (id, batch): (String, String) = sqlx::query_as(
        "SELECT legacy_id, batch_id FROM customers WHERE status = 'migrated' ORDER BY id LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    let out = ws.cli(&["certificate", "--customer", &id, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let c: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(c["validated"], true, "{c}");
    // Per entity, the counts are the platform's rows for the customer.
    for e in c["entities"].as_array().unwrap() {
        let entity = e["entity"].as_str().unwrap();
        let key = if entity == "customers" {
            "legacy_id"
        } else {
            "customer_legacy_id"
        };
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {entity} WHERE {key} = $1"
        )))
        .bind(&id)
        .fetch_one(&ctx.target)
        .await
        .unwrap();
        assert_eq!(e["platform_count"], n, "{entity}: {e}");
        assert_eq!(e["source_count"], n, "{entity}: {e}");
        assert_eq!(e["matched"], true);
    }
    let steps: Vec<&str> = c["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "backup",
            "create_account",
            "migrate_data",
            "validate",
            "notify"
        ]
    );
    assert!(
        c["steps"][0]["worker"]
            .as_str()
            .is_some_and(|w| w.contains(':')),
        "each step names its worker: {c}"
    );
    let file = ws.path().join("certificate.json");
    std::fs::write(&file, stdout(&out)).unwrap();
    let ok = ws.cli(&["certificate", "--verify", file.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let edited = stdout(&out).replacen("\"matched\": true", "\"matched\": false", 1);
    std::fs::write(&file, edited).unwrap();
    let bad = ws.cli(&["certificate", "--verify", file.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stdout(&bad).contains("does NOT match"));

    // A rollback of its batch is on it, with the operator and role, and it is no longer valid.
    rollback(&ctx, &Scope::Batch(batch.clone()), "test")
        .await
        .unwrap();
    let c: serde_json::Value = serde_json::from_str(&stdout(&ws.cli(&[
        "certificate",
        "--customer",
        &id,
        "--json",
    ])))
    .unwrap();
    assert_eq!(c["validated"], false);
    let r = &c["rollbacks"][0];
    assert_eq!(r["scope"], format!("batch {batch}"));
    assert_eq!(r["actor"], ctx.actor.as_str());
    assert!(r["role"].as_str().is_some_and(|s| !s.is_empty()));
    let text = stdout(&ws.cli(&["certificate", "--customer", &id]));
    assert!(text.contains("NOT validated now"), "{text}");
    assert!(
        text.contains(&format!("rolled back batch {batch}")),
        "{text}"
    );
}

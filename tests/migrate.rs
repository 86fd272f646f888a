//! Headless migration end to end: plan, run, validate, report, plan idempotence, a corrupted
//! copy failing validation, and the runner's shared states.

mod common;

use common::{Ws, stdout};
use cutover_core::engine::run::{RunOpts, run};
use cutover_core::engine::{RunnerState, plan, set_runner_state, status};

#[tokio::test]
async fn full_run_migrates_every_clean_customer_and_validate_passes() {
    let ws = Ws::demo(200, 1).await;
    let ctx = ws.ctx().await;
    let before = plan::summary(&ctx.state).await.unwrap();
    let s = run(&ctx, &RunOpts::default()).await.unwrap();
    assert_eq!(s.failed, 0);
    let st = status::status(&ctx.state).await.unwrap();
    assert_eq!(st.customers.migrated, 200 - before.quarantined);
    assert_eq!(st.customers.pending + st.customers.running, 0);
    assert_eq!(
        st.runner.state,
        RunnerState::Idle,
        "an empty queue leaves the runner idle"
    );
    common::assert_counts_match(&ctx.state).await;
    common::assert_batch_counts_match(&ctx.state).await;
    // The rate and chart read trigger-kept per-minute counters (migration 0011): they hold
    // every customer this run migrated, per segment.
    let chart: u64 = status::throughput(&ctx.state, chrono::Utc::now())
        .await
        .unwrap()
        .iter()
        .sum();
    assert_eq!(chart as i64, st.customers.migrated, "the per-minute chart");
    let per_segment: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.segment, COUNT(*) FROM steps s JOIN customers c ON c.id = s.customer_id \
         WHERE s.step = 'notify' AND s.outcome = 'ok' GROUP BY c.segment ORDER BY c.segment",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    let kept: Vec<(String, i64)> = sqlx::query_as(
        "SELECT segment, CAST(SUM(customers) AS BIGINT) FROM migrated_minutes GROUP BY segment ORDER BY segment",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert_eq!(
        kept, per_segment,
        "migrated_minutes against the step history"
    );
    assert!(
        st.segments.iter().any(|s| s.rate_per_min > 0.0),
        "a segment shows a rate"
    );

    let out = ws.cli(&["validate"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!(
        "validated {} migrated customers: 0 mismatched",
        st.customers.migrated
    )));

    // Per migrated customer and entity, the last validation saw equal counts and checksums.
    let bad: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM validations WHERE ok = 0 OR source_count != target_count OR source_checksum != target_checksum")
        .fetch_one(&ctx.state).await.unwrap();
    assert_eq!(bad, 0);
    let r = cutover_core::report::build(&ctx).await.unwrap();
    for e in &r.entities {
        assert_eq!(
            e.target_rows,
            e.source_rows - e.rejected,
            "{}: target = source - rejected",
            e.entity
        );
    }
    let notified: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT customer_id) FROM notifications WHERE kind = 'moved'",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert_eq!(
        notified, st.customers.migrated,
        "every migrated customer was notified once"
    );
    let hooked = ctx
        .source
        .count("SELECT COUNT(*) FROM clients WHERE migrated_flag = 1", &[])
        .await
        .unwrap();
    assert_eq!(
        hooked, st.customers.migrated,
        "on_migrated ran for each migrated customer"
    );
    // Each migrated customer records the platform id its platform row got.
    let ours: Vec<(String, i64)> = sqlx::query_as(
        "SELECT legacy_id, platform_id FROM customers WHERE status = 'migrated' ORDER BY legacy_id",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    let theirs: std::collections::HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("SELECT legacy_id, id FROM customers")
            .fetch_all(&ctx.target)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(ours.len() as i64, st.customers.migrated);
    for (legacy, pid) in &ours {
        assert_eq!(theirs.get(legacy), Some(pid), "platform id of {legacy}");
    }
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM notifications WHERE kind = 'moved' ORDER BY id LIMIT 3",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    for p in payloads {
        let v: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert_eq!(v["event"], "customer.moved", "{p}");
        assert!(v["customer"]["legacy_id"].is_string(), "{p}");
    }
}

#[tokio::test]
async fn plan_is_idempotent_and_leaves_migrated_customers_alone() {
    let ws = Ws::demo(120, 2).await;
    let ctx = ws.ctx().await;
    let batches = || async {
        sqlx::query_as::<_, (String, i64)>("SELECT id, size FROM batches ORDER BY id")
            .fetch_all(&ctx.state)
            .await
            .unwrap()
    };
    let b1 = batches().await;
    let s1 = plan::plan(&ctx).await.unwrap();
    assert_eq!(batches().await, b1, "re-planning gives the same batches");
    run(
        &ctx,
        &RunOpts {
            max_batches: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let migrated: Vec<(String, String)> = sqlx::query_as(
        "SELECT legacy_id, updated_at FROM customers WHERE status = 'migrated' ORDER BY 1",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert!(!migrated.is_empty());
    let s2 = plan::plan(&ctx).await.unwrap();
    let after: Vec<(String, String)> = sqlx::query_as(
        "SELECT legacy_id, updated_at FROM customers WHERE status = 'migrated' ORDER BY 1",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert_eq!(after, migrated, "migrated customers untouched");
    assert_eq!(s2.customers, s1.customers);
    assert_eq!(s2.batches_pending, s1.batches_pending - 1);
    // A new customer in the source is picked up.
    let sql = "INSERT INTO clients (client_id, full_name, email_addr, phone_no, acct_type, signup_ts, country_code, needs_assist) VALUES (99999, 'New Person', 'new@example.com', '+1 555 0100 2000', 'IND', '2024-01-01 00:00:00', 'GB', 0)";
    ctx.source.execute(sql).await.unwrap();
    let s3 = plan::plan(&ctx).await.unwrap();
    common::assert_counts_match(&ctx.state).await;
    common::assert_batch_counts_match(&ctx.state).await;
    assert_eq!(s3.customers, s1.customers + 1);
    let st: String = sqlx::query_scalar("SELECT status FROM customers WHERE legacy_id = '99999'")
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(st, "pending");

    // A re-plan writes only what it judges differently: a renamed customer is rewritten, an
    // unchanged one keeps the time the plan last changed it.
    let pending: Vec<(String, String)> = sqlx::query_as(
        "SELECT legacy_id, planned_at FROM customers WHERE status = 'pending' AND legacy_id <> '99999' \
         ORDER BY legacy_id LIMIT 2",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    let (renamed, unchanged) = (&pending[0], &pending[1]);
    ctx.source
        .execute(&format!(
            "UPDATE clients SET full_name = 'Renamed Person' WHERE client_id = {}",
            renamed.0
        ))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    plan::plan(&ctx).await.unwrap();
    let now = |id: &str| {
        let (id, state) = (id.to_string(), ctx.state.clone());
        async move {
            sqlx::query_as::<_, (String, String)>(
                "SELECT name, planned_at FROM customers WHERE legacy_id = $1",
            )
            .bind(id)
            .fetch_one(&state)
            .await
            .unwrap()
        }
    };
    let (name, at) = now(&renamed.0).await;
    assert_eq!(name, "Renamed Person");
    assert_ne!(at, renamed.1, "the renamed customer was written");
    assert_eq!(
        now(&unchanged.0).await.1,
        unchanged.1,
        "the unchanged one was not"
    );
    common::assert_counts_match(&ctx.state).await;
}

#[tokio::test]
async fn a_corrupted_copy_fails_validation_and_leaves_nothing_on_the_platform() {
    let ws = Ws::demo(60, 3).await;
    let ctx = ws.ctx().await;
    let victim: String = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE status = 'pending' ORDER BY annual_revenue_cents DESC LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    // The platform silently rewrites this customer's repairs: validation must notice.
    common::corrupt_on_insert(&ctx, "repairs", "description", "'corrupted'", &victim).await;
    let s = run(&ctx, &RunOpts::default()).await.unwrap();
    assert_eq!(s.failed, 1);
    let (status, reason): (String, String) =
        sqlx::query_as("SELECT status, reason FROM customers WHERE legacy_id = $1")
            .bind(victim.clone())
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    assert_eq!(status, "failed");
    assert!(
        reason.contains("validate: repairs: checksum source"),
        "{reason}"
    );
    for table in [
        "customers",
        "devices",
        "repairs",
        "payments",
        "communications",
    ] {
        let col = if table == "customers" {
            "legacy_id"
        } else {
            "customer_legacy_id"
        };
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE {col} = $1"
        )))
        .bind(victim.clone())
        .fetch_one(&ctx.target)
        .await
        .unwrap();
        assert_eq!(
            n, 0,
            "{table} rows of the failed customer left on the platform"
        );
    }
    let notified: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications n JOIN customers c ON c.id = n.customer_id WHERE c.legacy_id = $1")
        .bind(victim)
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert_eq!(
        notified, 0,
        "a customer that did not validate is never told it moved"
    );
}

/// Issue 21: the steps now record set-based and the checks may be computed anywhere, but
/// "validated" keeps its meaning. The platform corrupts a customer row as `create_account`
/// writes it, and after the run one row of each entity is changed behind the engine's back:
/// the `validate` step and `cutover validate`'s check must each catch it.
#[tokio::test]
async fn a_platform_row_corrupted_after_any_step_is_caught_by_validate() {
    let ws = Ws::demo(60, 21).await;
    let ctx = ws.ctx().await;
    let victim: String = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE status = 'pending' ORDER BY annual_revenue_cents DESC LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    common::corrupt_on_insert(&ctx, "customers", "name", "'corrupted'", &victim).await;
    let s = run(&ctx, &RunOpts::default()).await.unwrap();
    assert_eq!(
        s.failed, 1,
        "the customer corrupted at create_account fails"
    );
    let reason: String = sqlx::query_scalar("SELECT reason FROM customers WHERE legacy_id = $1")
        .bind(victim.clone())
        .fetch_one(&ctx.state)
        .await
        .unwrap();
    assert!(
        reason.contains("validate: customers: checksum source"),
        "{reason}"
    );
    // After validate and notify: one row of each entity, of a different migrated customer.
    let mut victims = Vec::new();
    for (table, column) in [
        ("customers", "email"),
        ("devices", "serial"),
        ("repairs", "description"),
        ("payments", "currency"),
        ("communications", "subject"),
    ] {
        let key = if table == "customers" {
            "legacy_id"
        } else {
            "customer_legacy_id"
        };
        let (id, who): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, {key} FROM {table} WHERE {key} <> $1 ORDER BY id LIMIT 1 OFFSET {}",
            victims.len() * 3
        )))
        .bind(victim.clone())
        .fetch_one(&ctx.target)
        .await
        .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET {column} = 'changed behind the engine' WHERE id = $1"
        )))
        .bind(id)
        .execute(&ctx.target)
        .await
        .unwrap();
        victims.push((table, who));
    }
    let ids: Vec<String> = victims.iter().map(|(_, w)| w.clone()).collect();
    let checks = cutover_core::engine::validate::validate(&ctx, &ids)
        .await
        .unwrap();
    for ((table, who), check) in victims.iter().zip(&checks) {
        let e = check.entities.iter().find(|e| e.entity == *table).unwrap();
        assert!(
            !e.ok(),
            "customer {who}: the changed {table} row was not caught: {e:?}"
        );
    }
}

/// Issue 21, goal 7: a batch larger than `runner.step_chunk` is read, written and validated a
/// chunk at a time, its source rows read again at each step instead of held. It must end
/// exactly where a batch of one chunk ends: the same platform rows, the same customers
/// migrated, and a customer corrupted in a middle chunk caught by validate.
#[tokio::test]
async fn a_batch_in_several_step_chunks_ends_as_one_chunk_does() {
    let mut dumps = Vec::new();
    for chunk in [1000, 7] {
        let ws = Ws::demo(60, 22).await;
        ws.edit_config(|t| {
            t.replace(
                "batch_size = 25",
                &format!("batch_size = 25\nstep_chunk = {chunk}"),
            )
        });
        let ctx = ws.ctx().await;
        assert_eq!(ctx.cfg.runner.step_chunk, chunk);
        // A customer with payments past the first chunk of 7 of the first batch.
        let first: Vec<String> = sqlx::query_scalar(
            "SELECT legacy_id FROM customers WHERE batch_id = (SELECT MIN(batch_id) FROM customers \
             WHERE status = 'pending') AND status = 'pending' ORDER BY id",
        )
        .fetch_all(&ctx.state)
        .await
        .unwrap();
        let mut victim = None;
        for id in first.iter().skip(8) {
            let paid = ctx
                .source
                .count(
                    "SELECT COUNT(*) FROM payments WHERE client_id = ?",
                    &[cutover_core::source::Bind::Text(id.clone())],
                )
                .await
                .unwrap();
            if paid > 0 {
                victim = Some(id.clone());
                break;
            }
        }
        let victim = victim.expect("a customer with payments in the first batch's later chunks");
        common::corrupt_on_insert(&ctx, "payments", "currency", "'XXX'", &victim).await;
        let s = run(&ctx, &RunOpts::default()).await.unwrap();
        let failed: Vec<(String, String)> = sqlx::query_as(
            "SELECT legacy_id, reason FROM customers WHERE status = 'failed' ORDER BY legacy_id",
        )
        .fetch_all(&ctx.state)
        .await
        .unwrap();
        assert_eq!(s.failed, 1, "step_chunk {chunk}: {failed:?}");
        assert_eq!(failed[0].0, victim);
        assert!(
            failed[0].1.contains("validate: payments"),
            "{}",
            failed[0].1
        );
        let out = ws.cli(&["validate"]);
        assert!(out.status.success(), "step_chunk {chunk}: {}", stdout(&out));
        common::assert_counts_match(&ctx.state).await;
        let migrated = common::state_rows(
            &ws,
            "SELECT legacy_id FROM customers WHERE status = 'migrated' ORDER BY legacy_id",
        )
        .await;
        // The backups and validations a batch writes in statements of `step_chunk` customers:
        // every customer's every entity, whatever the chunk.
        let records = common::state_rows(
            &ws,
            "SELECT c.legacy_id || ' ' || b.entity || ' ' || b.source_count || ' ' || \
             b.source_checksum || ' ' || b.target_count || ' ' || b.target_checksum || ' ' || \
             v.source_count || ' ' || v.source_checksum || ' ' || v.target_count || ' ' || \
             v.target_checksum || ' ' || v.ok FROM backups b \
             JOIN customers c ON c.id = b.customer_id \
             JOIN validations v ON v.customer_id = b.customer_id AND v.entity = b.entity \
             ORDER BY c.legacy_id, b.entity",
        )
        .await;
        let attempted: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM customers WHERE status IN ('migrated', 'failed')",
        )
        .fetch_one(&ctx.state)
        .await
        .unwrap();
        assert_eq!(
            records.lines().count() as i64,
            attempted * 5,
            "step_chunk {chunk}: a backup and a validation per customer and entity"
        );
        dumps.push((
            common::platform_dump(&ws).await,
            migrated,
            failed.len(),
            records,
        ));
    }
    assert_eq!(dumps[0].3, dumps[1].3, "backups and validations differ");
    assert_eq!(dumps[0].2, dumps[1].2, "customers failed");
    assert_eq!(dumps[0].1, dumps[1].1, "customers migrated");
    assert!(dumps[0].0 == dumps[1].0, "the platform's rows differ");
}

#[tokio::test]
async fn halt_stops_claiming_and_run_refuses_until_released() {
    let ws = Ws::demo(60, 4).await;
    let ctx = ws.ctx().await;
    set_runner_state(&ctx, RunnerState::Halted, "test")
        .await
        .unwrap();
    let e = run(&ctx, &RunOpts::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("halted"), "{e}");
    let st = status::status(&ctx.state).await.unwrap();
    assert_eq!(st.customers.migrated, 0);
    let out = ws.cli(&["resume"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("halted -> idle"), "{}", stdout(&out));
    let s = run(
        &ctx,
        &RunOpts {
            max_batches: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(s.batches, 1);
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let ws = Ws::demo(60, 5).await;
    let out = ws.cli(&["run", "--dry-run"]);
    assert!(out.status.success());
    let ctx = ws.ctx().await;
    let st = status::status(&ctx.state).await.unwrap();
    assert_eq!(st.customers.running + st.customers.migrated, 0);
    assert_eq!(st.batches.running + st.batches.done, 0);
}

#[tokio::test]
async fn the_migration_list_filter_searches_every_settled_customer() {
    let ws = Ws::demo(120, 6).await;
    let ctx = ws.ctx().await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    let oldest: String = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE status = 'migrated' ORDER BY updated_at, id LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    // A page of 5 holds only the newest; the filter must still find the oldest.
    let view = cutover_tui::snapshot::View {
        recent_filter: oldest.clone(),
        limit: 5,
        ..Default::default()
    };
    let snap = cutover_tui::snapshot::snapshot(&ctx.state, &view)
        .await
        .unwrap();
    assert!(
        snap.recent.iter().any(|r| r.legacy_id == oldest),
        "{:?}",
        snap.recent
    );
}

#[tokio::test]
async fn a_running_runner_without_heartbeats_is_flagged_in_the_header() {
    let ws = Ws::demo(20, 7).await;
    let ctx = ws.ctx().await;
    sqlx::query("UPDATE runner SET state = 'running', heartbeat_at = '2026-01-01T00:00:00.000Z'")
        .execute(&ctx.state)
        .await
        .unwrap();
    let view = cutover_tui::snapshot::View {
        limit: 10,
        stale_after_secs: 60,
        ..Default::default()
    };
    let snap = cutover_tui::snapshot::snapshot(&ctx.state, &view)
        .await
        .unwrap();
    assert!(snap.status.runner.stale);
    let mut app = cutover_tui::app::App::new(
        "t".into(),
        "ops".into(),
        false,
        cutover_tui::theme::Theme::plain(),
        "2026-11-21".into(),
    );
    app.on_snapshot(std::sync::Arc::new(snap));
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
    term.draw(|f| app.render(f)).unwrap();
    let top: String = (0..120)
        .map(|x| term.backend().buffer()[(x, 0)].symbol().to_string())
        .collect();
    assert!(top.contains("RUNNING (no live worker)"), "{top}");
    // A fresh heartbeat, or a runner that is not running, is not stale.
    sqlx::query("UPDATE runner SET heartbeat_at = $1")
        .bind(cutover_core::clock::now())
        .execute(&ctx.state)
        .await
        .unwrap();
    assert!(
        !cutover_tui::snapshot::snapshot(&ctx.state, &view)
            .await
            .unwrap()
            .status
            .runner
            .stale
    );
    sqlx::query("UPDATE runner SET state = 'paused', heartbeat_at = '2026-01-01T00:00:00.000Z'")
        .execute(&ctx.state)
        .await
        .unwrap();
    assert!(
        !cutover_tui::snapshot::snapshot(&ctx.state, &view)
            .await
            .unwrap()
            .status
            .runner
            .stale
    );
}

//! The plan: rebatching writes only what changes, and its metrics are the last twelve months of
//! payments and repairs, recomputed from the raw legacy tables.

mod common;

use common::Ws;
use cutover_core::engine::plan;

#[tokio::test]
async fn rebatch_writes_only_what_changes_and_keeps_the_same_batches() {
    let ws = Ws::demo(120, 9).await;
    let ctx = ws.ctx().await;
    let assignment = async || -> String {
        common::state_rows(
            &ws,
            "SELECT legacy_id, status, batch_id FROM customers ORDER BY legacy_id",
        )
        .await
    };
    let batches = async || -> String {
        common::state_rows(
            &ws,
            "SELECT id, segment, seq, status, size FROM batches ORDER BY id",
        )
        .await
    };
    let rebatch = async || {
        plan::rebatch(&ctx.state, ctx.cfg.runner.batch_size)
            .await
            .unwrap()
    };
    let (first, first_batches) = (assignment().await, batches().await);
    rebatch().await;
    assert_eq!(
        assignment().await,
        first,
        "a second rebatch changes nothing"
    );
    assert_eq!(batches().await, first_batches);

    // A customer quarantined since loses its batch; one whose batch id went stale gets its own
    // back; the batches are rebuilt as before, less the quarantined customer.
    let ids: Vec<(String, String)> = sqlx::query_as(
        "SELECT legacy_id, batch_id FROM customers WHERE status = 'pending' ORDER BY legacy_id LIMIT 2",
    )
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    let (quarantined, stale) = (&ids[0], &ids[1]);
    sqlx::query("UPDATE customers SET status = 'quarantined' WHERE legacy_id = $1")
        .bind(&quarantined.0)
        .execute(&ctx.state)
        .await
        .unwrap();
    sqlx::query("UPDATE customers SET batch_id = 'STALE-0001' WHERE legacy_id = $1")
        .bind(&stale.0)
        .execute(&ctx.state)
        .await
        .unwrap();
    rebatch().await;
    let row = |id: &str| {
        let id = id.to_string();
        let state = ctx.state.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT batch_id FROM customers WHERE legacy_id = $1",
            )
            .bind(id)
            .fetch_one(&state)
            .await
            .unwrap()
        }
    };
    assert_eq!(row(&quarantined.0).await, None);
    assert_eq!(row(&stale.0).await.as_deref(), Some(stale.1.as_str()));
    let sizes: i64 = sqlx::query_scalar(
        "SELECT CAST(SUM(size) AS BIGINT) FROM batches WHERE status = 'pending'",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE status = 'pending'")
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    assert_eq!(sizes, pending);
    common::assert_batch_counts_match(&ctx.state).await;

    // With no batch ids at all, as on a first plan, SQLite rebuilds the batch index once
    // after the update instead of per customer: the batches come out the same, the index is
    // there again.
    let (now, now_batches) = (assignment().await, batches().await);
    sqlx::query("UPDATE customers SET batch_id = NULL")
        .execute(&ctx.state)
        .await
        .unwrap();
    rebatch().await;
    assert_eq!(assignment().await, now);
    assert_eq!(batches().await, now_batches);
    if cutover_core::db::Backend::of_pool(&ctx.state) == cutover_core::db::Backend::Sqlite {
        let index: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'customers_batch'",
        )
        .fetch_one(&ctx.state)
        .await
        .unwrap();
        assert_eq!(index, 1, "the batch index is rebuilt");
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "EXPLAIN QUERY PLAN SELECT id FROM customers WHERE batch_id = 'VIP-0001'",
        )
        .fetch_all(&ctx.state)
        .await
        .unwrap();
        assert!(
            plan.iter().any(|r| r.3.contains("customers_batch")),
            "{plan:?}"
        );
    }
}

/// A customer's revenue is the sum of the last 12 months' payments that were not failed,
/// refunded, void or cancelled, and its repairs the tickets opened in those months (brief,
/// segment rules). Recomputed here from the raw legacy tables, apart from the plan's SQL.
#[tokio::test]
async fn plan_metrics_are_the_last_twelve_months_of_payments_and_repairs() {
    use cutover_core::schema::Raw;
    use std::collections::HashMap;
    let ws = Ws::demo(200, 3).await;
    let ctx = ws.ctx().await;
    let as_of = ctx.cfg.as_of();
    let from = (as_of - chrono::Duration::days(365)).to_string();
    let to = (as_of + chrono::Duration::days(1)).to_string();
    let in_window = |d: &str| d >= from.as_str() && d < to.as_str();
    let text = |r: &Raw| match r {
        Raw::Text(t) => t.clone(),
        _ => String::new(),
    };
    let int = |r: &Raw| match r {
        Raw::Int(i) => *i,
        _ => panic!("an integer column read as {r:?}"),
    };
    let mut revenue: HashMap<i64, i64> = HashMap::new();
    let (mut by_status, mut by_date) = (0, 0);
    let pays = ctx
        .source
        .fetch(
            "SELECT client_id, amount_cents, paid_on, status FROM payments",
            &[],
        )
        .await
        .unwrap();
    for r in &pays.rows {
        let (paid, status) = (text(&r[2]), text(&r[3]).to_lowercase());
        if !in_window(&paid) {
            by_date += 1;
        } else if ["failed", "refunded", "void", "cancelled"].contains(&status.as_str()) {
            by_status += 1;
        } else {
            *revenue.entry(int(&r[0])).or_default() += int(&r[1]);
        }
    }
    assert!(
        by_status > 0 && by_date > 0,
        "the demo has payments the rule leaves out"
    );
    let mut repairs: HashMap<i64, i64> = HashMap::new();
    let tickets = ctx
        .source
        .fetch("SELECT client_id, opened FROM repair_tickets", &[])
        .await
        .unwrap();
    for r in tickets.rows.iter().filter(|r| in_window(&text(&r[1]))) {
        *repairs.entry(int(&r[0])).or_default() += 1;
    }
    let planned: Vec<(String, i64, i64)> =
        sqlx::query_as("SELECT legacy_id, annual_revenue_cents, repairs_12m FROM customers")
            .fetch_all(&ctx.state)
            .await
            .unwrap();
    assert_eq!(planned.len(), 200);
    for (id, rev, rep) in &planned {
        let n: i64 = id.parse().unwrap();
        // Exact to the cent: the state keeps integer cents.
        let want = revenue.get(&n).copied().unwrap_or(0);
        assert_eq!(*rev, want, "customer {id}: revenue in cents");
        assert_eq!(
            *rep,
            repairs.get(&n).copied().unwrap_or(0),
            "customer {id}: repairs"
        );
    }
    assert!(planned.iter().any(|p| p.2 > 0) && planned.iter().any(|p| p.1 > 0));
}

#[tokio::test]
async fn a_mapping_without_a_column_skips_the_default_rules_on_it_and_names_a_workspace_rule() {
    let ws = Ws::demo(40, 19).await;
    // No email in the customers mapping, and an account type the platform does not know.
    ws.edit_config(|t| {
        t.replace("email_addr AS email, ", "")
            .replace("WHEN 'BUS' THEN 'business'", "WHEN 'BUS' THEN 'corporate'")
    });
    let out = ws.cli(&["plan"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(
        !common::stderr(&out).contains("read and judged"),
        "no progress line when stderr is not a terminal: {}",
        common::stderr(&out)
    );
    let text = common::stdout(&out);
    assert!(
        text.contains("note: default audit rule email_format:customers.email skipped: the customers mapping returns no `email` column"),
        "{text}"
    );
    let ctx = ws.ctx().await;
    let business = ctx
        .source
        .count("SELECT COUNT(*) FROM clients WHERE acct_type = 'BUS'", &[])
        .await
        .unwrap();
    let quarantined: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT customer_legacy_id) FROM findings WHERE rule = 'one_of:customers.account_type' AND severity = 'block'",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert!(business > 0, "the demo has business customers");
    assert_eq!(
        quarantined, business,
        "each 'corporate' account is a finding"
    );
    let list = common::stdout(&ws.cli(&["quarantine"]));
    assert!(
        list.contains("account_type \"corporate\" is not one of individual, business, enterprise"),
        "{list}"
    );

    // A rule the workspace wrote on a column the mapping lacks is an error naming it.
    ws.edit_config(|t| {
        format!("{t}\n[[audit]]\ncheck = \"required\"\nfield = \"customers.email\"\nseverity = \"block\"\n")
    });
    let out = ws.cli(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    assert!(
        err.contains("audit rule required:customers.email (key `audit[0]`) reads customers.email, which the customers mapping does not return"),
        "{err}"
    );
    assert!(!err.contains("no such column"), "{err}");
}

/// A segment's batches past number 9,999 keep their number as their claim order (`seq`): it
/// was read back from the id's last four characters, so `…-10001` was claimed with `…-0001`
/// (the most valuable customers' batch) and a re-plan could number new batches into claimed
/// ones. Each pending batch's size is its customers' count, and every pending customer's batch
/// exists.
#[tokio::test]
async fn batches_past_9999_keep_their_number_as_their_claim_order() {
    let ws = Ws::demo(120, 9).await;
    let ctx = ws.ctx().await;
    let (segment, priority): (String, i64) = sqlx::query_as(
        "SELECT segment, MIN(priority) FROM customers WHERE status = 'pending'
         GROUP BY segment ORDER BY COUNT(*) DESC LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    let slug = segment.to_uppercase().replace(' ', "-");
    sqlx::query("DELETE FROM batches WHERE segment = $1")
        .bind(&segment)
        .execute(&ctx.state)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO batches (id, segment, priority, seq, status, size) VALUES ($1, $2, $3, 9998, 'done', 0)",
    )
    .bind(format!("{slug}-9998"))
    .bind(&segment)
    .bind(priority)
    .execute(&ctx.state)
    .await
    .unwrap();
    plan::rebatch(&ctx.state, 2).await.unwrap();
    let batches: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT id, CAST(seq AS BIGINT), CAST(size AS BIGINT) FROM batches
         WHERE segment = $1 AND status = 'pending' ORDER BY seq",
    )
    .bind(&segment)
    .fetch_all(&ctx.state)
    .await
    .unwrap();
    assert!(batches.len() >= 3, "{batches:?}");
    for (i, (id, seq, _)) in batches.iter().enumerate() {
        let n = 9999 + i as i64;
        assert_eq!((id.as_str(), *seq), (format!("{slug}-{n}").as_str(), n));
    }
    let members = common::state_rows(
        &ws,
        "SELECT c.batch_id, COUNT(*) FROM customers c WHERE c.status = 'pending'
         GROUP BY c.batch_id ORDER BY c.batch_id",
    )
    .await;
    let sizes = common::state_rows(
        &ws,
        "SELECT id, size FROM batches WHERE status = 'pending' ORDER BY id",
    )
    .await;
    assert_eq!(members, sizes);
    // The most valuable of the segment's customers are in its first pending batch.
    let (first_batch_revenue, later_revenue): (i64, i64) = sqlx::query_as(
        "SELECT CAST(MIN(CASE WHEN batch_id = $1 THEN annual_revenue_cents END) AS BIGINT),
                CAST(MAX(CASE WHEN batch_id = $2 THEN annual_revenue_cents END) AS BIGINT)
         FROM customers WHERE batch_id IN ($1, $2)",
    )
    .bind(&batches[0].0)
    .bind(&batches[1].0)
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert!(first_batch_revenue >= later_revenue);
    common::assert_batch_counts_match(&ctx.state).await;
}

/// Migration 20 gives a batch numbered past 9,999 its number as its seq, and leaves an id of
/// another form alone.
#[tokio::test]
async fn the_batch_seq_migration_gives_each_batch_its_number() {
    let ws = Ws::demo(20, 9).await;
    let ctx = ws.ctx().await;
    sqlx::query(
        "INSERT INTO batches (id, segment, priority, seq, status, size) VALUES
         ('REGULAR-10001', 'Regular', 3, 1, 'done', 0), ('REGULAR-EXTRA', 'Regular', 3, 7, 'done', 0)",
    )
    .execute(&ctx.state)
    .await
    .unwrap();
    // As a state that had not run migration 20 yet.
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 20")
        .execute(&ctx.state)
        .await
        .unwrap();
    ctx.state.close().await;
    let ctx = ws.ctx().await;
    let seqs = common::state_rows(
        &ws,
        "SELECT id, seq FROM batches WHERE id IN ('REGULAR-10001', 'REGULAR-EXTRA') ORDER BY id",
    )
    .await;
    assert_eq!(seqs, "REGULAR-10001|10001\nREGULAR-EXTRA|7\n");
    drop(ctx);
}

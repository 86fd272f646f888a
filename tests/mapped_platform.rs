//! A platform that is not ours (issue 23, part 2): a PostgreSQL schema written as another team
//! would, with its own table and column names, `NUMERIC(12,2)`, `TIMESTAMPTZ`, `JSONB`, an enum,
//! NOT NULL columns, foreign keys and a customer who was there before cutover. cutover runs no
//! DDL there; the journey is plan, migrate, validate, roll back everything and migrate again,
//! and the platform is compared with what it held at each point.

mod common;

use common::theirs::{dump, exec, workspace};
use common::{ok, on_postgres, skip};
use cutover_core::engine::run::{RunOpts, run};

#[tokio::test]
async fn a_mapped_postgresql_schema_migrates_validates_rolls_back_and_migrates_again_exactly() {
    if !on_postgres() {
        return skip(
            "a_mapped_postgresql_schema",
            "CUTOVER_TEST_BACKEND=postgres",
        );
    }
    let (ws, theirs) = workspace(47).await;
    let state = ws.ctx().await.state.clone();
    let pending: Vec<String> = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE status = 'pending' ORDER BY id LIMIT 2",
    )
    .fetch_all(&state)
    .await
    .unwrap();
    // A customer who signed up on the platform before their wave, and a payment state the
    // platform's enum does not have.
    exec(
        &theirs.url,
        &format!(
            "INSERT INTO accounts (external_ref, display_name, extra, created_by) \
             VALUES ('{}', 'Pre-existing', '{{\"origin\": \"crm\"}}', 'signup')",
            pending[0]
        ),
    )
    .await;
    let legacy = format!("sqlite://{}", ws.path().join("legacy.db").display());
    let lp = sqlx::SqlitePool::connect(&legacy).await.unwrap();
    sqlx::query("UPDATE payments SET status = 'CHARGEBACK' WHERE client_id = CAST($1 AS INTEGER)")
        .bind(pending[1].clone())
        .execute(&lp)
        .await
        .unwrap();
    lp.close().await;
    ok(&ws.cli(&["plan"]));
    let reason: String =
        sqlx::query_scalar("SELECT COALESCE(reason, '') FROM customers WHERE legacy_id = $1")
            .bind(pending[1].clone())
            .fetch_one(&state)
            .await
            .unwrap();
    assert!(
        reason.contains("enum:payments.status") && reason.contains("CHARGEBACK"),
        "{reason}"
    );

    let before = dump(&theirs.url).await;
    let ctx = ws.ctx().await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    // The customer the platform already had is left alone, quarantined with the row named.
    let (status, reason): (String, String) =
        sqlx::query_as("SELECT status, COALESCE(reason, '') FROM customers WHERE legacy_id = $1")
            .bind(pending[0].clone())
            .fetch_one(&state)
            .await
            .unwrap();
    assert_eq!(status, "quarantined");
    assert!(
        reason.contains(&format!("accounts.external_ref = '{}' exists", pending[0])),
        "{reason}"
    );
    let migrated: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE status = 'migrated'")
            .fetch_one(&state)
            .await
            .unwrap();
    assert!(migrated > 30, "{migrated} migrated");
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&ctx.target)
        .await
        .unwrap();
    assert_eq!(
        accounts,
        migrated + 1,
        "one account per migrated customer, and theirs"
    );
    let out = ok(&ws.cli(&["validate"]));
    assert!(
        out.contains(&format!(
            "validated {migrated} migrated customers: 0 mismatched"
        )),
        "{out}"
    );
    let first = dump(&theirs.url).await;
    assert_ne!(first, before);
    assert!(
        first.contains(r#"Text("Pre-existing")"#) && first.contains(r#"Text("signup")"#),
        "the platform's own customer is untouched"
    );
    // Money arrived in NUMERIC(12,2) to the cent, the enum holds only its own labels.
    let bad: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM billing_payments WHERE amount <> ROUND(amount, 2) OR state IS NULL",
    )
    .fetch_one(&ctx.target)
    .await
    .unwrap();
    assert_eq!(bad, 0);

    ok(&ws.cli(&["rollback", "--all", "--yes"]));
    assert_eq!(
        dump(&theirs.url).await,
        before,
        "rollback restored the platform"
    );

    ok(&ws.cli(&["resume"]));
    ok(&ws.cli(&["plan"]));
    run(&ctx, &RunOpts::default()).await.unwrap();
    assert!(ok(&ws.cli(&["validate"])).contains(": 0 mismatched"));
    assert_eq!(
        dump(&theirs.url).await,
        first,
        "the second migration equals the first"
    );
}

#[tokio::test]
async fn a_mapped_schema_that_does_not_match_is_refused_before_anything_is_written() {
    if !on_postgres() {
        return skip(
            "a_mapped_schema_that_does_not_match",
            "CUTOVER_TEST_BACKEND=postgres",
        );
    }
    let (ws, theirs) = workspace(48).await;
    ws.edit_config(|t| {
        t.replace(
            "amount = \"amount\", currency",
            "amount = \"amt\", currency",
        )
        .replace("email = \"email_address\"", "email = \"signed_up_at\"")
    });
    exec(
        &theirs.url,
        "ALTER TABLE message_log ADD COLUMN tenant TEXT NOT NULL",
    )
    .await;
    let out = ws.cli(&["plan"]);
    assert_eq!(out.status.code(), Some(2));
    let e = common::stderr(&out);
    for want in [
        "key `target.entity.payments.columns.amount`: column `billing_payments.amt` does not exist",
        "key `target.entity.customers.columns.email`: column `accounts.signed_up_at` is timestamp with time zone",
        "key `target.entity.communications.columns`: column `message_log.tenant` is NOT NULL with no default",
    ] {
        assert!(e.contains(want), "missing {want:?} in:\n{e}");
    }
    let pool = sqlx::PgPool::connect(&theirs.url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // No DDL either: their schema holds their tables and nothing cutover would create.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        tables,
        [
            "accounts",
            "assets",
            "billing_payments",
            "cutover_fence",
            "message_log",
            "tickets"
        ]
    );
}

/// The other team's schema as a SQLite platform would have it: no enums or `TIMESTAMPTZ`, an
/// `INTEGER PRIMARY KEY` the database fills, money as `NUMERIC` affinity.
const THEIRS_SQLITE: &str = "
CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, external_ref TEXT UNIQUE, display_name TEXT NOT NULL,
  email_address TEXT, phone TEXT, kind TEXT, signed_up_at TEXT, country_code TEXT,
  needs_assistance INTEGER NOT NULL DEFAULT 0, revenue NUMERIC, extra TEXT NOT NULL DEFAULT '{}',
  created_by TEXT NOT NULL DEFAULT 'platform');
CREATE TABLE assets (asset_id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts (account_id),
  external_ref TEXT NOT NULL, kind TEXT, brand TEXT, model TEXT, serial_no TEXT, warranty_end TEXT);
CREATE TABLE tickets (ticket_id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts (account_id),
  asset_id INTEGER REFERENCES assets (asset_id), external_ref TEXT NOT NULL, opened_at TEXT, closed_at TEXT,
  state TEXT, notes TEXT, cost NUMERIC);
CREATE TABLE billing_payments (payment_id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts (account_id),
  external_ref TEXT NOT NULL, amount NUMERIC, currency TEXT, paid_at TEXT, method TEXT, state TEXT);
CREATE TABLE message_log (message_id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts (account_id),
  external_ref TEXT NOT NULL, sent_at TEXT, channel TEXT, direction TEXT, subject TEXT, body TEXT);
CREATE TABLE cutover_fence (batch_id TEXT PRIMARY KEY, token BIGINT NOT NULL);
";

/// The same mapping on SQLite (in every run of the suite): the catalogue read through
/// `pragma_table_info`, a customer who was there first left alone (`fail`) or merged into its
/// own row (`merge`: SQLite's `UPDATE … FROM (VALUES …)`), migrate, validate, roll back to
/// exactly what was there, migrate again to exactly the first result.
#[tokio::test]
async fn a_mapped_sqlite_platform_migrates_validates_and_rolls_back_exactly() {
    if on_postgres() {
        return skip("a_mapped_sqlite_platform", "the SQLite leg");
    }
    for (how, seed) in [("fail", 49), ("merge", 50)] {
        mapped_sqlite(how, seed).await;
    }
}

async fn mapped_sqlite(how: &str, seed: u64) {
    let ws = common::Ws::demo(40, seed).await;
    let file = ws.path().join("theirs.db");
    let url = format!("sqlite://{}", file.display());
    let pool = sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
        .await
        .unwrap();
    sqlx::raw_sql(THEIRS_SQLITE).execute(&pool).await.unwrap();
    let state = ws.ctx().await.state.clone();
    let first: String = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE status = 'pending' ORDER BY id LIMIT 1",
    )
    .fetch_one(&state)
    .await
    .unwrap();
    sqlx::query("INSERT INTO accounts (external_ref, display_name, created_by) VALUES ($1, 'Pre-existing', 'signup')")
        .bind(first.clone())
        .execute(&pool)
        .await
        .unwrap();
    ws.edit_config(|t| {
        let start = t.find("[target]").unwrap();
        let end = start + t[start..].find("\n\n").unwrap();
        let mapped = common::theirs::mapped_target(&url).replace(
            "managed = false\n",
            &format!("managed = false\non_existing = \"{how}\"\n"),
        );
        format!("{}{}{}", &t[..start], mapped, &t[end..])
    });
    ok(&ws.cli(&["plan"]));
    let dump = async || {
        common::sqlite_rows(
            &file,
            "SELECT a.external_ref, a.display_name, a.revenue, a.extra, a.created_by, \
             (SELECT COUNT(*) FROM assets s WHERE s.account_id = a.account_id), \
             (SELECT group_concat(p.external_ref || ':' || p.amount || ':' || p.state, ',') FROM billing_payments p WHERE p.account_id = a.account_id), \
             (SELECT group_concat(t.external_ref || ':' || COALESCE((SELECT s.external_ref FROM assets s WHERE s.asset_id = t.asset_id), '-'), ',') FROM tickets t WHERE t.account_id = a.account_id) \
             FROM accounts a ORDER BY a.external_ref",
        )
        .await
    };
    let before = dump().await;
    let ctx = ws.ctx().await;
    run(&ctx, &RunOpts::default()).await.unwrap();
    let out = ok(&ws.cli(&["validate"]));
    assert!(out.contains(": 0 mismatched; 0 orphaned"), "{out}");
    let migrated = dump().await;
    assert!(migrated.lines().count() > 20, "{migrated}");
    let id_of = async || -> i64 {
        sqlx::query_scalar("SELECT account_id FROM accounts WHERE external_ref = $1")
            .bind(first.clone())
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let own_id = id_of().await;
    if how == "fail" {
        assert!(
            migrated.contains(&format!("{first}|Pre-existing||{{}}|signup|0||")),
            "the platform's own customer is untouched:\n{migrated}"
        );
    } else {
        let line = migrated
            .lines()
            .find(|l| l.starts_with(&format!("{first}|")))
            .unwrap();
        assert!(
            !line.contains("Pre-existing") && line.contains("|signup|"),
            "merged: the mapped columns from the source, the platform's own kept: {line}"
        );
    }
    ok(&ws.cli(&["rollback", "--all", "--yes"]));
    assert_eq!(dump().await, before);
    assert_eq!(
        id_of().await,
        own_id,
        "{how}: the platform's row is the same row"
    );
    ok(&ws.cli(&["resume"]));
    ok(&ws.cli(&["plan"]));
    run(&ctx, &RunOpts::default()).await.unwrap();
    assert_eq!(dump().await, migrated);
}

/// A customer who signed up on the platform first, with a payment of its own, under
/// `on_existing = "merge"` and `"skip"` (issue 23, part 3): migrated into its own platform row
/// (the same `account_id`), its own payment kept next to the migrated ones, validated; a
/// rollback gives the platform back exactly as it was (same row, same id, the platform's
/// columns untouched) and deletes only what cutover created; a second migration equals the
/// first.
#[tokio::test]
async fn a_customer_already_on_the_platform_is_merged_or_skipped_and_rolled_back_to_its_own_row() {
    if !on_postgres() {
        return skip(
            "a_customer_already_on_the_platform",
            "CUTOVER_TEST_BACKEND=postgres",
        );
    }
    // Merging in steps of 3 customers: the validate step then takes the source's side from
    // the backups' checksums, and reads the merged customer's rows again.
    for (how, seed, chunk) in [("merge", 51, 3), ("skip", 52, 1000)] {
        let (ws, theirs) = workspace(seed).await;
        ws.edit_config(|t| {
            t.replace(
                "managed = false\n",
                &format!("managed = false\non_existing = \"{how}\"\n"),
            )
            .replace("[runner]\n", &format!("[runner]\nstep_chunk = {chunk}\n"))
        });
        assert_eq!(ws.ctx().await.cfg.runner.step_chunk, chunk);
        let state = ws.ctx().await.state.clone();
        let (first, name): (String, String) = sqlx::query_as(
            "SELECT legacy_id, name FROM customers WHERE status = 'pending' ORDER BY id LIMIT 1",
        )
        .fetch_one(&state)
        .await
        .unwrap();
        exec(
            &theirs.url,
            &format!(
                "INSERT INTO accounts (external_ref, display_name, phone, extra, created_by) \
                 VALUES ('{first}', 'Signed up early', '+1 555 0100', '{{\"origin\": \"web\"}}', 'signup');
                 INSERT INTO billing_payments (account_id, external_ref, amount, currency, state) \
                 SELECT account_id, 'WEB-1', 9.99, 'EUR', 'PAID' FROM accounts"
            ),
        )
        .await;
        let pool = sqlx::PgPool::connect(&theirs.url).await.unwrap();
        let account = async || -> (i64, String, Option<String>, String, i64) {
            sqlx::query_as(
                "SELECT a.account_id, a.display_name, a.phone, a.created_by, \
                 (SELECT COUNT(*) FROM billing_payments p WHERE p.account_id = a.account_id) \
                 FROM accounts a WHERE external_ref = CAST($1 AS BIGINT)",
            )
            .bind(first.clone())
            .fetch_one(&pool)
            .await
            .unwrap()
        };
        let own = account().await;
        ok(&ws.cli(&["plan"]));
        let before = dump(&theirs.url).await;
        let ctx = ws.ctx().await;
        run(&ctx, &RunOpts::default()).await.unwrap();
        let (status, write): (String, Option<String>) =
            sqlx::query_as("SELECT status, platform_write FROM customers WHERE legacy_id = $1")
                .bind(first.clone())
                .fetch_one(&state)
                .await
                .unwrap();
        assert_eq!(status, "migrated", "{how}");
        let word = if how == "merge" { "merged" } else { "skipped" };
        assert_eq!(write.as_deref(), Some(word));
        let others: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT COALESCE(platform_write, '-') FROM customers WHERE legacy_id <> $1 AND status = 'migrated'",
        )
        .bind(first.clone())
        .fetch_all(&state)
        .await
        .unwrap();
        assert_eq!(others, ["created"]);
        let src_payments: i64 = {
            let legacy = format!("sqlite://{}", ws.path().join("legacy.db").display());
            let lp = sqlx::SqlitePool::connect(&legacy).await.unwrap();
            let n = sqlx::query_scalar(
                "SELECT COUNT(*) FROM payments WHERE client_id = CAST($1 AS INTEGER)",
            )
            .bind(first.clone())
            .fetch_one(&lp)
            .await
            .unwrap();
            lp.close().await;
            n
        };
        let after = account().await;
        assert_eq!(after.0, own.0, "{how}: the same platform row");
        let shown = if how == "merge" { &name } else { &own.1 };
        assert_eq!(&after.1, shown, "{how}: display_name");
        assert_eq!(
            after.3, "signup",
            "{how}: the platform's own column untouched"
        );
        assert_eq!(after.4, own.4 + src_payments, "{how}: its own payment kept");
        let out = ok(&ws.cli(&["validate"]));
        assert!(out.contains(": 0 mismatched; 0 orphaned"), "{how}: {out}");
        let migrated = dump(&theirs.url).await;

        // The customer goes on using the platform: a payment the platform makes after the
        // migration is its own, neither validated against the source nor rolled back.
        exec(
            &theirs.url,
            &format!(
                "INSERT INTO billing_payments (account_id, external_ref, amount, currency, state) \
                 VALUES ({}, 'WEB-2', 5.00, 'EUR', 'PAID')",
                own.0
            ),
        )
        .await;
        let out = ok(&ws.cli(&["validate"]));
        assert!(out.contains(": 0 mismatched; 0 orphaned"), "{how}: {out}");
        ok(&ws.cli(&["rollback", "--all", "--yes"]));
        assert_eq!(
            account().await.4,
            own.4 + 1,
            "{how}: the platform's later payment kept"
        );
        exec(
            &theirs.url,
            "DELETE FROM billing_payments WHERE external_ref = 'WEB-2'",
        )
        .await;
        assert_eq!(dump(&theirs.url).await, before, "{how}: rollback");
        assert_eq!(account().await, own, "{how}: the same row, as it was");

        ok(&ws.cli(&["resume"]));
        ok(&ws.cli(&["plan"]));
        run(&ctx, &RunOpts::default()).await.unwrap();
        assert!(ok(&ws.cli(&["validate"])).contains(": 0 mismatched"));
        assert_eq!(dump(&theirs.url).await, migrated, "{how}: again");
        assert_eq!(account().await.0, own.0);
        pool.close().await;
    }
}

//! What only a server can show: a MariaDB legacy source, the `UNNEST` copy into PostgreSQL, and
//! `LISTEN/NOTIFY`. These run in the PostgreSQL leg of the matrix (`CUTOVER_TEST_BACKEND=postgres`,
//! which `.ci/run` sets for its second run); elsewhere they say they are skipped. (Two engines
//! sharing one state database run in both legs: `tests/leases.rs`.)

mod common;

use std::time::Instant;

use common::{Ws, on_postgres, skip, state_rows};
use cutover_core::schema::Raw;
use cutover_core::source::Source;

async fn one(ws: &Ws, sql: &str) -> i64 {
    state_rows(ws, sql).await.trim().parse().unwrap()
}

/// The demo's legacy tables with the column types a MariaDB legacy system would have.
const MARIADB_SCHEMA: &[&str] = &[
    "CREATE TABLE clients (client_id INT PRIMARY KEY, full_name VARCHAR(300), email_addr VARCHAR(300),
       phone_no VARCHAR(60), acct_type VARCHAR(10), signup_ts DATETIME, country_code CHAR(2),
       needs_assist TINYINT, preferred_lang VARCHAR(10), loyalty_tier VARCHAR(20),
       migrated_flag TINYINT NOT NULL DEFAULT 0, account_rep VARCHAR(64))",
    "CREATE TABLE devices (device_id INT PRIMARY KEY, client_id INT, device_type VARCHAR(40),
       make VARCHAR(60), model_name VARCHAR(80), serial_no VARCHAR(80), warranty_end DATE, KEY (client_id))",
    "CREATE TABLE repair_tickets (ticket_id INT PRIMARY KEY, client_id INT, device_id INT, opened DATETIME,
       closed DATETIME, state VARCHAR(20), notes TEXT, cost_cents INT, technician VARCHAR(80), KEY (client_id))",
    "CREATE TABLE payments (payment_id INT PRIMARY KEY, client_id INT, amount_cents BIGINT,
       currency CHAR(3), paid_on DATETIME, method VARCHAR(20), status VARCHAR(20), invoice_ref VARCHAR(40),
       KEY (client_id))",
    "CREATE TABLE messages (msg_id INT PRIMARY KEY, client_id INT, sent_at DATETIME, channel VARCHAR(20),
       dir VARCHAR(10), subject VARCHAR(300), body TEXT, csat INT, KEY (client_id))",
];

#[tokio::test]
async fn a_mariadb_legacy_source_migrates_into_a_postgresql_platform_and_validates() {
    let Some(mysql) = common::mysql_url() else {
        return skip("a_mariadb_legacy_source", "CUTOVER_TEST_MYSQL_URL");
    };
    if !on_postgres() {
        return skip("a_mariadb_legacy_source", "CUTOVER_TEST_BACKEND=postgres");
    }
    let ws = Ws::demo_with(120, 23, 0).await;
    // The demo's legacy rows, copied into a fresh MariaDB database with typed columns.
    let name = format!("cutover_t{}", std::process::id());
    let admin = sqlx::MySqlPool::connect(&mysql).await.unwrap();
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    let url = format!("{}/{name}", mysql.rsplit_once('/').unwrap().0);
    let maria = sqlx::MySqlPool::connect(&url).await.unwrap();
    for ddl in MARIADB_SCHEMA {
        sqlx::raw_sql(*ddl).execute(&maria).await.unwrap();
    }
    let legacy = Source::open(
        &format!("sqlite://{}", ws.path().join("legacy.db").display()),
        true,
    )
    .await
    .unwrap();
    let mut copied = 0;
    for table in [
        "clients",
        "devices",
        "repair_tickets",
        "payments",
        "messages",
    ] {
        let rows = legacy
            .fetch(&format!("SELECT * FROM {table}"), &[])
            .await
            .unwrap();
        for chunk in rows.rows.chunks(200) {
            let tuple = format!("({})", vec!["?"; rows.names.len()].join(", "));
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES {}",
                rows.names.join(", "),
                vec![tuple; chunk.len()].join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                for v in row {
                    q = match v {
                        Raw::Null => q.bind(None::<String>),
                        Raw::Int(i) => q.bind(*i),
                        Raw::Real(f) => q.bind(*f),
                        Raw::Dec(d) => q.bind(d.to_string()),
                        Raw::Text(t) => q.bind(t.clone()),
                        Raw::Blob(b) => q.bind(b.clone()),
                    };
                }
            }
            q.execute(&maria).await.unwrap();
            copied += chunk.len();
        }
    }
    assert!(copied > 120);
    ws.edit_config(|t| {
        let sqlite = "url = \"sqlite://legacy.db\"";
        assert!(t.contains(sqlite));
        t.replace(sqlite, &format!("url = \"{url}\""))
    });

    for args in [&["plan"][..], &["run"], &["validate"]] {
        let out = ws.cli(args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            common::stdout(&out),
            common::stderr(&out)
        );
    }
    let migrated = one(
        &ws,
        "SELECT COUNT(*) FROM customers WHERE status = 'migrated'",
    )
    .await;
    assert!(migrated > 50, "{migrated} migrated");
    // The hook wrote back to MariaDB, binding the id as the integer the column is.
    let flagged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients WHERE migrated_flag = 1")
        .fetch_one(&maria)
        .await
        .unwrap();
    assert_eq!(flagged, migrated);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_unnest_copy_into_postgresql_keeps_hostile_text_byte_for_byte() {
    if !on_postgres() {
        return skip("the_unnest_copy", "CUTOVER_TEST_BACKEND=postgres");
    }
    use cutover_core::schema::{Entity, Row, Val};
    let schema = common::pg_schema("unnest");
    let pool = cutover_core::db::open(&schema.url, "target", false, false)
        .await
        .unwrap();
    cutover_core::target::ensure_schema(&pool).await.unwrap();
    let nasty = [
        "plain",
        "quote \" and backslash \\ and comma, {braces}",
        "NULL",
        "",
        "tab\tnewline\nend",
        "O'Brien; DROP TABLE customers; --",
        "\u{1b}[31mred\u{1b}[0m 名前 🙂",
    ];
    let rows: Vec<Row> = nasty
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut values = vec![Val::Null; Entity::Customers.columns().len()];
            values[0] = Val::Text(format!("c{i}"));
            values[Entity::Customers.column_index("name").unwrap()] = Val::Text(name.to_string());
            values[Entity::Customers.column_index("annual_revenue").unwrap()] =
                Val::Text(format!("{i}.1"));
            Row {
                values,
                attributes: format!("{{\"k\":{}}}", serde_json::json!(name)),
            }
        })
        .collect();
    let refs: Vec<&Row> = rows.iter().collect();
    let mut conn = pool.acquire().await.unwrap();
    let layout = cutover_core::target::Layout::managed(cutover_core::db::Backend::Postgres);
    cutover_core::target::insert(
        &mut conn,
        &layout,
        Entity::Customers,
        &refs,
        &Default::default(),
        &Default::default(),
    )
    .await
    .unwrap();
    let ids: Vec<String> = (0..nasty.len()).map(|i| format!("c{i}")).collect();
    let back = cutover_core::target::rows_for(&mut conn, &layout, Entity::Customers, &ids)
        .await
        .unwrap();
    for (i, row) in rows.iter().enumerate() {
        let got = &back[&format!("c{i}")][0].row;
        assert_eq!(got, row, "row {i} ({:?}) came back changed", nasty[i]);
    }
}

#[tokio::test]
async fn a_change_on_postgresql_wakes_listening_consoles_at_once() {
    if !on_postgres() {
        return skip(
            "a_change_on_postgresql_wakes",
            "CUTOVER_TEST_BACKEND=postgres",
        );
    }
    use std::sync::Arc;
    use std::time::Duration;
    let ws = Ws::demo(20, 3).await;
    let ctx = ws.ctx().await;
    let nudge = Arc::new(tokio::sync::Notify::new());
    let wake = tokio::spawn(cutover_core::db::wake_on_notify(
        ctx.cfg.state.url.clone(),
        nudge.clone(),
    ));
    // Nothing changes: no wake-up.
    let idle = tokio::time::timeout(Duration::from_millis(700), nudge.notified()).await;
    assert!(idle.is_err(), "woken without a change");
    let t0 = Instant::now();
    cutover_core::engine::set_runner_state(&ctx, cutover_core::engine::RunnerState::Paused, "test")
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(2), nudge.notified())
        .await
        .expect("a committed change wakes the console");
    eprintln!("woken {:?} after the commit", t0.elapsed());
    wake.abort();
}

/// The demo and the plan write in bulk; with autovacuum off, as on this project's machines,
/// PostgreSQL would plan the console's poll from the statistics of empty tables.
#[tokio::test]
async fn the_demo_and_the_plan_leave_fresh_planner_statistics() {
    if !on_postgres() {
        return skip(
            "the_demo_and_the_plan_leave_fresh_planner_statistics",
            "CUTOVER_TEST_BACKEND=postgres",
        );
    }
    let ws = Ws::demo(20, 4).await;
    let ctx = ws.ctx().await;
    let analyzed = async || -> Vec<(String, bool)> {
        sqlx::query_as(
            "SELECT relname::text, last_analyze IS NOT NULL FROM pg_stat_user_tables \
             WHERE schemaname = current_schema() AND relname IN ('customers', 'batches', 'milestones') \
             ORDER BY relname",
        )
        .fetch_all(&ctx.state)
        .await
        .unwrap()
    };
    let want = vec![
        ("batches".to_string(), true),
        ("customers".to_string(), true),
        ("milestones".to_string(), true),
    ];
    // The statistics collector reports with a delay.
    let mut seen = analyzed().await;
    for _ in 0..50 {
        if seen == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        seen = analyzed().await;
    }
    assert_eq!(seen, want);
}

#[tokio::test]
async fn each_source_learns_its_own_key_types_for_the_same_mapping_text() {
    if !on_postgres() {
        return skip(
            "each_source_learns_its_own_key_types",
            "CUTOVER_TEST_BACKEND=postgres",
        );
    }
    // Two legacy databases answer the same mapping query, one with integer ids, one with text.
    let ints = common::pg_schema("ints");
    let texts = common::pg_schema("texts");
    for (schema, ty) in [(&ints, "BIGINT"), (&texts, "TEXT")] {
        let pool = cutover_core::db::open(&schema.url, "source", false, false)
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE clients (client_id {ty})"
        )))
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let q = "SELECT client_id AS legacy_id FROM clients";
    let a = Source::open(&ints.url, true).await.unwrap();
    let b = Source::open(&texts.url, true).await.unwrap();
    assert!(a.key_is_int(q, "legacy_id").await);
    assert!(
        !b.key_is_int(q, "legacy_id").await,
        "b answered from a's types"
    );
}

/// A database error names its database and drops the driver's noise: PostgreSQL's server
/// source position (" at line 1392", a line of its C code) and sqlx's "error returned from
/// database".
#[tokio::test]
async fn a_database_error_names_its_database_without_driver_noise() {
    let Some(url) = common::postgres_url() else {
        return skip(
            "a_database_error_names_its_database",
            "CUTOVER_TEST_POSTGRES_URL",
        );
    };
    use cutover_core::db::InDb;
    let pool = cutover_core::db::open(&url, "target", false, true)
        .await
        .unwrap();
    let raw = sqlx::query("SELECT * FROM no_such_table_here")
        .execute(&pool)
        .await
        .unwrap_err();
    let e = Err::<(), _>(raw).in_db("platform").unwrap_err();
    let text = cutover_core::db::describe(&e);
    assert_eq!(
        text, "platform database: relation \"no_such_table_here\" does not exist",
        "{e:#}"
    );
}

/// A hook on a PostgreSQL legacy source: the batch's statements go in one call with the ids
/// written in (a literal's type is `unknown` to `pg_typeof`, a bound text id's is `text`), a
/// `$1` inside a string stays as it is, an id that cannot be written in sends the batch
/// bound, and a failing statement names its customer and leaves nothing behind.
#[tokio::test]
async fn a_hook_on_a_postgresql_source_runs_for_each_customer_in_one_call() {
    if !on_postgres() {
        return skip(
            "a_hook_on_a_postgresql_source",
            "CUTOVER_TEST_BACKEND=postgres",
        );
    }
    let legacy = common::pg_schema("hooks");
    let pool = cutover_core::db::open(&legacy.url, "source", false, false)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(
        "CREATE TABLE clients (client_id TEXT PRIMARY KEY, flag INT NOT NULL DEFAULT 0, note TEXT);
         INSERT INTO clients (client_id) VALUES ('a-1'), ('b 2'), ('O''Brien'), ('d')",
    ))
    .execute(&pool)
    .await
    .unwrap();
    let src = Source::open(&legacy.url, false).await.unwrap();
    let text = |s: &str| cutover_core::source::Bind::Text(s.to_string());
    let hook = "UPDATE clients SET flag = flag + 1, note = pg_typeof($1)::text || ' moved? $1' \
                WHERE client_id = $1";
    let rows = async || -> Vec<(String, i32, Option<String>)> {
        sqlx::query_as("SELECT client_id, flag, note FROM clients ORDER BY client_id COLLATE \"C\"")
            .fetch_all(&pool)
            .await
            .unwrap()
    };
    src.execute_each(hook, &[text("a-1"), text("b 2")])
        .await
        .unwrap();
    src.execute_each(hook, &[text("d"), text("O'Brien")])
        .await
        .unwrap();
    let note = |t: &str| Some(format!("{t} moved? $1"));
    assert_eq!(
        rows().await,
        vec![
            ("O'Brien".to_string(), 1, note("text")),
            ("a-1".to_string(), 1, note("unknown")),
            ("b 2".to_string(), 1, note("unknown")),
            ("d".to_string(), 1, note("text")),
        ]
    );
    let failing = "UPDATE clients SET flag = 10 / (flag - 2) WHERE client_id = $1";
    sqlx::query("UPDATE clients SET flag = 2 WHERE client_id = 'b 2'")
        .execute(&pool)
        .await
        .unwrap();
    let (who, _) = src
        .execute_each(failing, &[text("a-1"), text("b 2"), text("d")])
        .await
        .unwrap_err();
    assert_eq!(who, "b 2");
    let flags: Vec<i32> = rows().await.into_iter().map(|r| r.1).collect();
    assert_eq!(
        flags,
        vec![1, 1, 2, 1],
        "the failed batch left nothing behind"
    );
}

//! A platform that is not ours (issue 23, part 2): a PostgreSQL schema written as another team
//! would, with its own table and column names, `NUMERIC(12,2)`, `TIMESTAMPTZ`, `JSONB`, an enum,
//! NOT NULL columns, foreign keys and a customer who was there before cutover. cutover runs no
//! DDL there; the journey is plan, migrate, validate, roll back everything and migrate again,
//! and the platform is compared with what it held at each point.

mod common;

use common::{PgSchema, Ws, on_postgres, skip};
use cutover_core::engine::run::{RunOpts, run};
use cutover_core::source::Source;

/// The other team's schema.
const THEIRS: &str = "
CREATE TYPE payment_state AS ENUM ('PAID', 'REFUNDED', 'VOID');
CREATE TABLE accounts (
    account_id       BIGSERIAL PRIMARY KEY,
    external_ref     TEXT UNIQUE,
    display_name     TEXT NOT NULL,
    email_address    TEXT,
    phone            TEXT,
    kind             TEXT,
    signed_up_at     TIMESTAMPTZ,
    country_code     TEXT,
    needs_assistance BOOLEAN NOT NULL DEFAULT false,
    revenue          NUMERIC(12,2),
    extra            JSONB NOT NULL DEFAULT '{}',
    created_by       TEXT NOT NULL DEFAULT 'platform'
);
CREATE TABLE assets (
    asset_id     BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (account_id),
    external_ref TEXT NOT NULL,
    kind TEXT, brand TEXT, model TEXT, serial_no TEXT,
    warranty_end DATE
);
CREATE TABLE tickets (
    ticket_id    BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (account_id),
    asset_id     BIGINT REFERENCES assets (asset_id),
    external_ref TEXT NOT NULL,
    opened_at TIMESTAMPTZ, closed_at TIMESTAMPTZ, state TEXT, notes TEXT,
    cost         NUMERIC(12,2)
);
CREATE TABLE billing_payments (
    payment_id   BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (account_id),
    external_ref TEXT NOT NULL,
    amount       NUMERIC(12,2),
    currency     TEXT,
    paid_at      TIMESTAMPTZ,
    method       TEXT,
    state        payment_state
);
CREATE TABLE message_log (
    message_id   BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (account_id),
    external_ref TEXT NOT NULL,
    sent_at TIMESTAMPTZ, channel TEXT, direction TEXT, subject TEXT, body TEXT
);
CREATE TABLE cutover_fence (batch_id TEXT PRIMARY KEY, token BIGINT NOT NULL);
";

/// `[target]` for that schema at `url`.
fn mapped_target(url: &str) -> String {
    format!(
        r#"[target]
url = "{url}"
managed = false

[target.entity.customers]
table = "accounts"
id = "account_id"
key = "external_ref"
attributes = "extra"
columns = {{ name = "display_name", email = "email_address", phone = "phone", account_type = "kind", created_at = "signed_up_at", country = "country_code", special_needs = "needs_assistance", annual_revenue = "revenue" }}

[target.entity.devices]
table = "assets"
id = "asset_id"
key = "external_ref"
parent = "account_id"
columns = {{ kind = "kind", brand = "brand", model = "model", serial = "serial_no", warranty_until = "warranty_end" }}

[target.entity.repairs]
table = "tickets"
id = "ticket_id"
key = "external_ref"
parent = "account_id"
device = "asset_id"
columns = {{ opened_at = "opened_at", closed_at = "closed_at", status = "state", description = "notes", amount = "cost" }}

[target.entity.payments]
table = "billing_payments"
id = "payment_id"
key = "external_ref"
parent = "account_id"
columns = {{ amount = "amount", currency = "currency", paid_at = "paid_at", method = "method", status = "state" }}

[target.entity.communications]
table = "message_log"
id = "message_id"
key = "external_ref"
parent = "account_id"
columns = {{ occurred_at = "sent_at", channel = "channel", direction = "direction", subject = "subject", body = "body" }}
"#
    )
}

/// Every row of the other team's tables, without the platform's own ids, each child named by
/// its account's external ref: two equal dumps are the same platform.
async fn dump(url: &str) -> String {
    let src = Source::open(url, true).await.unwrap();
    let mut out = String::new();
    for sql in [
        "SELECT external_ref, display_name, email_address, phone, kind, CAST(signed_up_at AS TEXT), country_code,
                needs_assistance, CAST(revenue AS TEXT), CAST(extra AS TEXT), created_by FROM accounts ORDER BY external_ref",
        "SELECT a.external_ref, d.external_ref, d.kind, d.brand, d.model, d.serial_no, CAST(d.warranty_end AS TEXT)
         FROM assets d JOIN accounts a ON a.account_id = d.account_id ORDER BY 2, 1",
        "SELECT a.external_ref, t.external_ref, (SELECT external_ref FROM assets s WHERE s.asset_id = t.asset_id),
                CAST(t.opened_at AS TEXT), CAST(t.closed_at AS TEXT), t.state, t.notes, CAST(t.cost AS TEXT)
         FROM tickets t JOIN accounts a ON a.account_id = t.account_id ORDER BY 2, 1",
        "SELECT a.external_ref, p.external_ref, CAST(p.amount AS TEXT), p.currency, CAST(p.paid_at AS TEXT), p.method,
                CAST(p.state AS TEXT) FROM billing_payments p JOIN accounts a ON a.account_id = p.account_id ORDER BY 2, 1",
        "SELECT a.external_ref, m.external_ref, CAST(m.sent_at AS TEXT), m.channel, m.direction, m.subject, m.body
         FROM message_log m JOIN accounts a ON a.account_id = m.account_id ORDER BY 2, 1",
    ] {
        for row in src.fetch(sql, &[]).await.unwrap().rows {
            out.push_str(&format!("{row:?}\n"));
        }
    }
    out
}

async fn exec(url: &str, sql: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        common::stdout(out),
        common::stderr(out)
    );
    common::stdout(out)
}

/// A demo workspace whose platform is the other team's schema, planned against it.
async fn workspace(seed: u64) -> (Ws, PgSchema) {
    let ws = Ws::demo(60, seed).await;
    let theirs = common::pg_schema("theirs");
    exec(&theirs.url, THEIRS).await;
    ws.edit_config(|t| {
        let start = t.find("[target]").unwrap();
        let end = start + t[start..].find("\n\n").unwrap();
        format!("{}{}{}", &t[..start], mapped_target(&theirs.url), &t[end..])
    });
    (ws, theirs)
}

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
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&sqlx::PgPool::connect(&theirs.url).await.unwrap())
        .await
        .unwrap();
    assert_eq!(n, 0);
}

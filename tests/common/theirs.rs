//! The other team's platform: a PostgreSQL schema with its own names and types, the `[target]`
//! that maps the canonical entities onto it, and a dump that compares two such platforms.

use cutover_core::source::Source;

use super::{PgSchema, Ws};

/// The other team's schema.
pub const THEIRS: &str = "
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
pub fn mapped_target(url: &str) -> String {
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
pub async fn dump(url: &str) -> String {
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

pub async fn exec(url: &str, sql: &str) {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// A demo workspace whose platform is the other team's schema, planned against it.
pub async fn workspace(seed: u64) -> (Ws, PgSchema) {
    map(Ws::demo(60, seed).await).await
}

/// `ws` with its platform moved to a fresh schema of the other team's tables.
pub async fn map(ws: Ws) -> (Ws, PgSchema) {
    let theirs = super::pg_schema("theirs");
    exec(&theirs.url, THEIRS).await;
    ws.edit_config(|t| {
        let start = t.find("[target]").unwrap();
        let end = start + t[start..].find("\n\n").unwrap();
        format!("{}{}{}", &t[..start], mapped_target(&theirs.url), &t[end..])
    });
    (ws, theirs)
}

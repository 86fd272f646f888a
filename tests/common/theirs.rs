//! The other team's platform: a PostgreSQL schema with its own names and types, the `[target]`
//! that maps the canonical entities onto it, and a dump that compares two such platforms.

use cutover_core::source::Source;

use super::{PgSchema, Ws};

/// The other team's schema: the example's (`assets/examples/mapped-platform.sql`).
pub const THEIRS: &str = include_str!("../../assets/examples/mapped-platform.sql");

/// `[target]` for that schema at `url`: the example's (`assets/examples/mapped-platform.toml`)
/// with the URL replaced, so the example is what the tests run.
pub fn mapped_target(url: &str) -> String {
    let t = include_str!("../../assets/examples/mapped-platform.toml");
    let t = &t[t
        .find("\n[target]\n")
        .expect("the example has a [target] table")..];
    t.replace(
        "postgres://platform-host/platform?options=-c%20search_path%3Dcrm",
        url,
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

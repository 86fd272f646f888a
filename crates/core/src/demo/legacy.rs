//! The demo's legacy database: a schema unlike the canonical one, written in chunks of
//! generated customers so memory stays bounded.

use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use chrono::Duration;

use super::customer::{Chunk, Ids, customer, ts};

const LEGACY_SCHEMA: &str = "
CREATE TABLE clients (client_id INTEGER PRIMARY KEY, full_name TEXT, email_addr TEXT, phone_no TEXT,
  acct_type TEXT, signup_ts TEXT, country_code TEXT, needs_assist INTEGER, preferred_lang TEXT,
  loyalty_tier TEXT, migrated_flag INTEGER NOT NULL DEFAULT 0, account_rep TEXT);
CREATE TABLE devices (device_id INTEGER PRIMARY KEY, client_id INTEGER, device_type TEXT, make TEXT,
  model_name TEXT, serial_no TEXT, warranty_end TEXT);
CREATE TABLE repair_tickets (ticket_id INTEGER PRIMARY KEY, client_id INTEGER, device_id INTEGER,
  opened TEXT, closed TEXT, state TEXT, notes TEXT, cost_cents INTEGER, technician TEXT);
CREATE TABLE payments (payment_id INTEGER PRIMARY KEY, client_id INTEGER, amount_cents INTEGER,
  currency TEXT, paid_on TEXT, method TEXT, status TEXT, invoice_ref TEXT);
CREATE TABLE messages (msg_id INTEGER PRIMARY KEY, client_id INTEGER, sent_at TEXT, channel TEXT,
  dir TEXT, subject TEXT, body TEXT, csat INTEGER);
";

const LEGACY_INDEXES: &str = "
CREATE INDEX devices_client ON devices (client_id);
CREATE INDEX repair_tickets_client ON repair_tickets (client_id);
CREATE INDEX payments_client ON payments (client_id);
CREATE INDEX messages_client ON messages (client_id);
";

/// The legacy system's account manager (the export's support-rep column): every business and
/// enterprise account has one, a third of the individuals do. From the id, so the rest of the
/// generated data stays what each seed gave before.
fn account_rep(client_id: i64, acct_type: &str) -> Option<&'static str> {
    const REPS: [&str; 4] = ["amara.okafor", "li.wei", "sofia.rossi", "tom.baker"];
    let rep = REPS[client_id.rem_euclid(4) as usize];
    (acct_type != "IND" || client_id % 3 == 0).then_some(rep)
}

async fn write_chunk(pool: &crate::db::Pool, c: &Chunk) -> eyre::Result<()> {
    const ROWS: usize = 500;
    let mut tx = pool.begin().await?;
    for part in c.clients.chunks(ROWS) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_pool(pool),
            "INSERT INTO clients (client_id, full_name, email_addr, phone_no, acct_type, signup_ts, country_code, needs_assist, preferred_lang, loyalty_tier, account_rep) ",
        );
        qb.push_values(part, |mut b, r| {
            b.push_bind(r.0)
                .push_bind(r.1.clone())
                .push_bind(r.2.clone())
                .push_bind(r.3.clone())
                .push_bind(r.4)
                .push_bind(r.5.clone())
                .push_bind(r.6)
                .push_bind(r.7)
                .push_bind(r.8)
                .push_bind(r.9)
                .push_bind(account_rep(r.0, r.4));
        });
        qb.build().execute(&mut *tx).await?;
    }
    for part in c.devices.chunks(ROWS) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_pool(pool),
            "INSERT INTO devices (device_id, client_id, device_type, make, model_name, serial_no, warranty_end) ",
        );
        qb.push_values(part, |mut b, r| {
            b.push_bind(r.0)
                .push_bind(r.1)
                .push_bind(r.2)
                .push_bind(r.3)
                .push_bind(r.4)
                .push_bind(r.5.clone())
                .push_bind(r.6.clone());
        });
        qb.build().execute(&mut *tx).await?;
    }
    for part in c.repairs.chunks(ROWS) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_pool(pool),
            "INSERT INTO repair_tickets (ticket_id, client_id, device_id, opened, closed, state, notes, cost_cents, technician) ",
        );
        qb.push_values(part, |mut b, r| {
            b.push_bind(r.0)
                .push_bind(r.1)
                .push_bind(r.2)
                .push_bind(r.3.clone())
                .push_bind(r.4.clone())
                .push_bind(r.5)
                .push_bind(r.6.clone())
                .push_bind(r.7)
                .push_bind(r.8);
        });
        qb.build().execute(&mut *tx).await?;
    }
    for part in c.payments.chunks(ROWS) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_pool(pool),
            "INSERT INTO payments (payment_id, client_id, amount_cents, currency, paid_on, method, status, invoice_ref) ",
        );
        qb.push_values(part, |mut b, r| {
            b.push_bind(r.0)
                .push_bind(r.1)
                .push_bind(r.2)
                .push_bind(r.3)
                .push_bind(r.4.clone())
                .push_bind(r.5)
                .push_bind(r.6)
                .push_bind(r.7.clone());
        });
        qb.build().execute(&mut *tx).await?;
    }
    for part in c.messages.chunks(ROWS) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_pool(pool),
            "INSERT INTO messages (msg_id, client_id, sent_at, channel, dir, subject, body, csat) ",
        );
        qb.push_values(part, |mut b, r| {
            b.push_bind(r.0)
                .push_bind(r.1)
                .push_bind(r.2.clone())
                .push_bind(r.3)
                .push_bind(r.4)
                .push_bind(r.5.clone())
                .push_bind(r.6.clone())
                .push_bind(r.7);
        });
        qb.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Writes the legacy database: `n` customers from `seed`, in chunks so memory stays bounded.
/// Two payments for a customer that does not exist are added as orphans.
pub async fn generate_legacy(
    pool: &crate::db::Pool,
    n: usize,
    seed: u64,
    as_of: NaiveDate,
    mut progress: impl FnMut(usize),
) -> eyre::Result<()> {
    for stmt in LEGACY_SCHEMA.split(';').filter(|s| !s.trim().is_empty()) {
        sqlx::query(sqlx::AssertSqlSafe(stmt.to_string()))
            .execute(pool)
            .await?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let as_of_dt = as_of.and_hms_opt(12, 0, 0).unwrap_or_default();
    let mut ids = Ids {
        device: 0,
        repair: 0,
        payment: 0,
        message: 0,
    };
    let mut last_email = None;
    let mut chunk = Chunk::default();
    for i in 0..n {
        customer(i, &mut rng, as_of_dt, &mut ids, &mut chunk, &mut last_email);
        if chunk.clients.len() == 2000 || i + 1 == n {
            write_chunk(pool, &chunk).await?;
            chunk = Chunk::default();
            progress(i + 1);
        }
    }
    let mut orphans = Chunk::default();
    for k in 0..2 {
        ids.payment += 1;
        orphans.payments.push((
            ids.payment,
            9_999_000 + k,
            4_200,
            "USD",
            ts(as_of_dt - Duration::days(30)),
            "card",
            "PAID",
            format!("INV-{:07}", ids.payment),
        ));
    }
    write_chunk(pool, &orphans).await?;
    for stmt in LEGACY_INDEXES.split(';').filter(|s| !s.trim().is_empty()) {
        sqlx::query(sqlx::AssertSqlSafe(stmt.to_string()))
            .execute(pool)
            .await?;
    }
    Ok(())
}

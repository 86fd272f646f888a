//! The demo workspace: a seeded, deterministic legacy database for a device-repair business,
//! an empty platform database, a state database, and a config whose mapping reads the legacy
//! schema. The only place in cutover where data is invented.
//!
//! The legacy schema is deliberately unlike the canonical one (cents, codes, other names), so
//! the mapping does real work. A few percent of records carry the defects real exports have.

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::Config;
use crate::ctx::Ctx;
use crate::db;
use crate::engine::plan;

/// Options of `cutover demo`.
#[derive(Debug, Clone)]
pub struct DemoOpts {
    pub dir: PathBuf,
    pub customers: usize,
    pub seed: u64,
    pub as_of: NaiveDate,
    /// Overwrite an existing workspace in `dir`.
    pub force: bool,
    /// Pause between pipeline steps written into the config (ms), so progress can be watched.
    pub step_delay_ms: u64,
    /// The state database's URL; default `sqlite://state.db` in `dir`.
    pub state_url: Option<String>,
    /// The platform database's URL; default `sqlite://platform.db` in `dir`.
    pub target_url: Option<String>,
}

/// Where the demo was written.
#[derive(Debug, Clone)]
pub struct DemoPaths {
    pub config: PathBuf,
    pub legacy: PathBuf,
    pub platform: PathBuf,
    pub state: PathBuf,
}

const FILES: [&str; 4] = ["cutover.toml", "legacy.db", "platform.db", "state.db"];

const LEGACY_SCHEMA: &str = "
CREATE TABLE clients (client_id INTEGER PRIMARY KEY, full_name TEXT, email_addr TEXT, phone_no TEXT,
  acct_type TEXT, signup_ts TEXT, country_code TEXT, needs_assist INTEGER, preferred_lang TEXT,
  loyalty_tier TEXT, migrated_flag INTEGER NOT NULL DEFAULT 0);
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

/// The demo workspace's config: the mapping from the legacy schema to the canonical one.
pub fn config_text(
    as_of: NaiveDate,
    step_delay_ms: u64,
    state_url: Option<&str>,
    target_url: Option<&str>,
) -> String {
    let state_url = state_url.unwrap_or("sqlite://state.db");
    let year_ago = as_of - chrono::Duration::days(365);
    let target_url = target_url.unwrap_or("sqlite://platform.db");
    format!(
        r#"# The demo workspace, written by `cutover demo`. See config.example.toml for every key.
[workspace]
name = "RevivaTech demo"
as_of = "{as_of}"

[state]
url = "{state_url}"

[source]
url = "sqlite://legacy.db"
on_migrated = "UPDATE clients SET migrated_flag = 1 WHERE client_id = ?"
on_rollback = "UPDATE clients SET migrated_flag = 0 WHERE client_id = ?"

[target]
url = "{target_url}"

[runner]
batch_size = 25
step_delay_ms = {step_delay_ms}

# Roles (viewer, csm, migrator, oncall, admin) per OS user. The demo runs on one machine for
# one person, so everyone is admin; a shared workspace lists its operators and keeps the
# default at viewer, e.g. `oncall = ["kofi"]`, `csm = ["amara"]`.
[roles]
default = "admin"

# Health: the success plan's model (engagement 30, success 30, satisfaction 20, financial 20).
# `success` reads migration outcomes from the state database, so failures lower health.
# Engagement: any contact in the last year counts 50, each message 15 more; none at all, 30.
# Financial: 40 for any paid revenue, plus 1 point per $50 (scores above 100 count as 100); none, 20.
# The queries are plain SQL that SQLite, PostgreSQL and MySQL all run.
[[health.component]]
name = "engagement"
weight = 30
database = "source"
default = 30
query = """
SELECT client_id AS legacy_id, CASE WHEN COUNT(*) > 3 THEN 100 ELSE 50 + COUNT(*) * 15 END AS value
FROM messages WHERE sent_at >= '{year_ago}' GROUP BY client_id"""

[[health.component]]
name = "success"
weight = 30
database = "state"
query = """
SELECT legacy_id, CASE status WHEN 'migrated' THEN 100 WHEN 'pending' THEN 75 WHEN 'running' THEN 75
  WHEN 'quarantined' THEN 50 WHEN 'rolled_back' THEN 30 WHEN 'rolling_back' THEN 30 ELSE 10 END AS value
FROM customers"""

[[health.component]]
name = "satisfaction"
weight = 20
database = "source"
default = 60
query = """
SELECT client_id AS legacy_id, (AVG(csat) - 1) * 25 AS value FROM messages
WHERE csat IS NOT NULL GROUP BY client_id"""

[[health.component]]
name = "financial"
weight = 20
database = "source"
default = 20
query = """
SELECT client_id AS legacy_id, 40 + SUM(amount_cents) / 5000.0 AS value FROM payments
WHERE paid_on >= '{year_ago}' AND status = 'PAID' GROUP BY client_id"""

[mapping.customers]
query = """
SELECT client_id AS legacy_id, full_name AS name, email_addr AS email, phone_no AS phone,
       CASE acct_type WHEN 'IND' THEN 'individual' WHEN 'BUS' THEN 'business'
                      WHEN 'ENT' THEN 'enterprise' ELSE acct_type END AS account_type,
       signup_ts AS created_at, country_code AS country, needs_assist AS special_needs,
       preferred_lang, loyalty_tier
FROM clients"""

[mapping.devices]
query = """
SELECT device_id AS legacy_id, client_id AS customer_legacy_id, device_type AS kind, make AS brand,
       model_name AS model, serial_no AS serial, warranty_end AS warranty_until
FROM devices"""

[mapping.repairs]
query = """
SELECT ticket_id AS legacy_id, client_id AS customer_legacy_id, device_id AS device_legacy_id,
       opened AS opened_at, closed AS closed_at, state AS status, notes AS description,
       cost_cents / 100.0 AS amount, technician
FROM repair_tickets"""

[mapping.payments]
query = """
SELECT payment_id AS legacy_id, client_id AS customer_legacy_id, amount_cents / 100.0 AS amount,
       currency, paid_on AS paid_at, method, status, invoice_ref
FROM payments"""

[mapping.communications]
query = """
SELECT msg_id AS legacy_id, client_id AS customer_legacy_id, sent_at AS occurred_at, channel,
       dir AS direction, subject, body, csat AS satisfaction
FROM messages"""
"#
    )
}

struct Script {
    first: &'static [&'static str],
    last: &'static [&'static str],
    countries: &'static [&'static str],
    lang: &'static str,
    ascii: bool,
}

const SCRIPTS: &[(f64, Script)] = &[
    (
        0.60,
        Script {
            first: &[
                "Alice", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Harry", "Isla",
                "Jack", "Kate", "Liam", "Mia", "Noah", "Olivia", "Paul",
            ],
            last: &[
                "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
                "Evans", "Walker", "Wright", "Green", "Hall", "Wood",
            ],
            countries: &["GB", "US", "IE", "AU", "CA"],
            lang: "en",
            ascii: true,
        },
    ),
    (
        0.15,
        Script {
            first: &[
                "José",
                "Zoë",
                "Łukasz",
                "Chloé",
                "Søren",
                "Åsa",
                "Matías",
                "Renée",
                "Ümit",
                "Frédéric",
            ],
            last: &[
                "García",
                "Müller",
                "Nowak",
                "Lefèvre",
                "Jørgensen",
                "Öztürk",
                "Núñez",
                "Ångström",
                "Dvořák",
            ],
            countries: &["ES", "DE", "PL", "FR", "DK", "SE", "TR"],
            lang: "es",
            ascii: false,
        },
    ),
    (
        0.08,
        Script {
            first: &["伟", "芳", "健", "由美", "민준", "서연"],
            last: &["王", "李", "佐藤", "鈴木", "김", "박"],
            countries: &["CN", "JP", "KR"],
            lang: "zh",
            ascii: false,
        },
    ),
    (
        0.07,
        Script {
            first: &["محمد", "فاطمة", "יוסף", "שרה", "علي"],
            last: &["العلي", "حسن", "כהן", "לוי", "منصور"],
            countries: &["AE", "EG", "IL", "SA"],
            lang: "ar",
            ascii: false,
        },
    ),
    (
        0.05,
        Script {
            first: &["Дмитрий", "Анна", "Олена", "Сергей"],
            last: &["Иванов", "Петрова", "Шевченко", "Смирнов"],
            countries: &["UA", "BG", "RS"],
            lang: "uk",
            ascii: false,
        },
    ),
    (
        0.05,
        Script {
            first: &["अर्जुन", "प्रिया", "राहुल", "अनन्या"],
            last: &["शर्मा", "वर्मा", "पटेल", "गुप्ता"],
            countries: &["IN", "NP"],
            lang: "hi",
            ascii: false,
        },
    ),
];

const DEVICES: &[(&str, &str, &[&str])] = &[
    (
        "phone",
        "Apple",
        &["iPhone 13", "iPhone 14 Pro", "iPhone 15"],
    ),
    (
        "phone",
        "Samsung",
        &["Galaxy S22", "Galaxy A54", "Galaxy S24"],
    ),
    ("laptop", "Dell", &["XPS 13", "Latitude 5440"]),
    ("laptop", "Lenovo", &["ThinkPad T14", "IdeaPad 5"]),
    ("tablet", "Apple", &["iPad Air", "iPad 10"]),
    ("console", "Sony", &["PlayStation 5"]),
];

const FAULTS: &[&str] = &[
    "cracked screen",
    "battery swelling",
    "no power",
    "water damage",
    "charging port",
    "keyboard fault",
    "overheating",
];

fn pick<'a, T>(rng: &mut ChaCha8Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn moment(
    rng: &mut ChaCha8Rng,
    as_of: NaiveDateTime,
    days_ago: std::ops::Range<i64>,
) -> NaiveDateTime {
    as_of
        - Duration::days(rng.random_range(days_ago))
        - Duration::seconds(rng.random_range(0..86_400))
}

type ClientRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    &'static str,
    String,
    &'static str,
    i64,
    &'static str,
    &'static str,
);
type DeviceRow = (
    i64,
    i64,
    &'static str,
    &'static str,
    &'static str,
    String,
    Option<String>,
);
type RepairRow = (
    i64,
    i64,
    i64,
    String,
    Option<String>,
    &'static str,
    String,
    i64,
    &'static str,
);
type PaymentRow = (
    i64,
    i64,
    i64,
    &'static str,
    String,
    &'static str,
    &'static str,
    String,
);
type MessageRow = (
    i64,
    i64,
    String,
    &'static str,
    &'static str,
    String,
    String,
    Option<i64>,
);

/// Rows of one chunk of customers, written together, in the legacy tables' column order.
#[derive(Default)]
struct Chunk {
    clients: Vec<ClientRow>,
    devices: Vec<DeviceRow>,
    repairs: Vec<RepairRow>,
    payments: Vec<PaymentRow>,
    messages: Vec<MessageRow>,
}

struct Ids {
    device: i64,
    repair: i64,
    payment: i64,
    message: i64,
}

/// Generates customer `i` (0-based) into `out`. Tiers follow the brief: of every 7 customers,
/// 2 are inactive; the active split roughly 14% VIP, 28% high-value, 58% regular.
fn customer(
    i: usize,
    rng: &mut ChaCha8Rng,
    as_of: NaiveDateTime,
    ids: &mut Ids,
    out: &mut Chunk,
    last_email: &mut Option<String>,
) {
    let cid = 1001 + i as i64;
    let r: f64 = rng.random();
    let mut acc = 0.0;
    let script = SCRIPTS
        .iter()
        .find(|(p, _)| {
            acc += p;
            r < acc
        })
        .map_or(&SCRIPTS[0].1, |(_, s)| s);
    let first = pick(rng, script.first);
    let last = pick(rng, script.last);
    let name = if script.lang == "zh" {
        format!("{last}{first}")
    } else {
        format!("{first} {last}")
    };
    let tier: f64 = rng.random();
    // 0 VIP, 1 high-value, 2 regular, 3 inactive
    let tier = if tier < 2.0 / 7.0 {
        3
    } else if tier < 0.3857 {
        0
    } else if tier < 0.5857 {
        1
    } else {
        2
    };
    let acct = match (tier, rng.random_range(0..10)) {
        (0, 0..4) => "BUS",
        (0, 4) => "ENT",
        (_, 0) if tier < 3 => "BUS",
        _ => "IND",
    };
    let (revenue_cents, repairs_12m): (i64, i64) = match tier {
        0 if acct != "IND" => (rng.random_range(100_000..800_000), rng.random_range(2..9)),
        0 if rng.random_bool(0.3) => (rng.random_range(150_000..450_000), rng.random_range(11..15)),
        0 => (rng.random_range(520_000..1_500_000), rng.random_range(2..9)),
        1 => (rng.random_range(110_000..480_000), rng.random_range(1..9)),
        2 => (rng.random_range(22_000..95_000), rng.random_range(0..5)),
        _ => (rng.random_range(0..15_000), rng.random_range(0..2)),
    };
    let ascii_last: String = if script.ascii {
        last.to_lowercase()
    } else {
        "customer".into()
    };
    let mut email = Some(format!(
        "{}.{}{}@example.{}",
        ascii_last,
        first.chars().next().unwrap_or('x').to_lowercase(),
        cid,
        pick(rng, &["com", "net", "org"])
    ));
    if !script.ascii {
        email = Some(format!("c{cid}@example.com"));
    }
    let defect: f64 = rng.random();
    let mut negative_payment = false;
    let mut missing_device = false;
    if defect < 0.02 {
        email = Some(format!("c{cid}.example.com")); // malformed: no @
    } else if defect < 0.03 {
        if let Some(prev) = last_email.as_ref() {
            email = Some(prev.clone()); // duplicate of the previous customer's
        }
    } else if defect < 0.037 {
        negative_payment = true;
    } else if defect < 0.047 {
        missing_device = true;
    }
    let phone = if rng.random_bool(0.03) {
        None
    } else {
        Some(format!(
            "+{} {} {:04} {:04}",
            rng.random_range(1..99),
            rng.random_range(10..99),
            rng.random_range(0..10_000),
            rng.random_range(0..10_000)
        ))
    };
    *last_email = email.clone().filter(|e| e.contains('@'));
    let years = if tier == 3 {
        rng.random_range(2..8)
    } else {
        rng.random_range(0..6)
    };
    let signup = moment(rng, as_of, (years * 365 + 30)..(years * 365 + 360));
    let special = rng.random_bool(0.05) as i64;
    let tiers = ["gold", "silver", "bronze", "none"];
    out.clients.push((
        cid,
        name,
        email,
        phone,
        acct,
        ts(signup),
        *pick(rng, script.countries),
        special,
        script.lang,
        tiers[tier.min(3)],
    ));

    let n_dev = rng.random_range(1..4);
    let mut devs = Vec::new();
    for _ in 0..n_dev {
        ids.device += 1;
        let (kind, make, models) = pick(rng, DEVICES);
        let warranty = rng.random_bool(0.7).then(|| {
            (as_of.date() + Duration::days(rng.random_range(-400..700)))
                .format("%Y-%m-%d")
                .to_string()
        });
        out.devices.push((
            ids.device,
            cid,
            kind,
            make,
            *pick(rng, models),
            format!("SN{:010}", ids.device * 7919 % 9_999_999_967),
            warranty,
        ));
        devs.push(ids.device);
    }
    let old_repairs = rng.random_range(0..4);
    for k in 0..(repairs_12m + old_repairs) {
        ids.repair += 1;
        let recent = k < repairs_12m;
        let opened = if recent {
            moment(rng, as_of, 1..360)
        } else {
            moment(rng, as_of, 400..1800)
        };
        let closed = (rng.random_bool(0.9) || !recent)
            .then(|| ts(opened + Duration::days(rng.random_range(1..15))));
        let mut device = *pick(rng, &devs);
        if missing_device && k == 0 {
            device = 90_000_000 + cid; // points at a device that does not exist
        }
        let state = if closed.is_some() { "CLOSED" } else { "OPEN" };
        out.repairs.push((
            ids.repair,
            cid,
            device,
            ts(opened),
            closed,
            state,
            pick(rng, FAULTS).to_string(),
            rng.random_range(2_000..40_000),
            *pick(rng, &["amy", "raj", "tom", "wen"]),
        ));
    }
    // Payments in the last 12 months that add up to the revenue.
    let n_pay = if revenue_cents == 0 {
        0
    } else {
        rng.random_range(1..7)
    };
    let mut left = revenue_cents;
    for k in 0..n_pay {
        ids.payment += 1;
        let amount = if k == n_pay - 1 {
            left
        } else {
            left / (n_pay - k) + rng.random_range(0..100)
        };
        left -= amount;
        out.payments.push((
            ids.payment,
            cid,
            amount,
            "USD",
            ts(moment(rng, as_of, 1..360)),
            *pick(rng, &["card", "cash", "transfer"]),
            "PAID",
            format!("INV-{:07}", ids.payment),
        ));
    }
    for _ in 0..rng.random_range(0..3) {
        ids.payment += 1;
        let (days, status) = if rng.random_bool(0.5) {
            (400..1500, "PAID")
        } else {
            (1..300, "REFUNDED")
        };
        out.payments.push((
            ids.payment,
            cid,
            rng.random_range(1_000..30_000),
            "USD",
            ts(moment(rng, as_of, days)),
            "card",
            status,
            format!("INV-{:07}", ids.payment),
        ));
    }
    if negative_payment {
        ids.payment += 1;
        out.payments.push((
            ids.payment,
            cid,
            -rng.random_range(500..5_000),
            "USD",
            ts(moment(rng, as_of, 1..200)),
            "card",
            "PAID",
            format!("INV-{:07}", ids.payment),
        ));
    }
    for _ in 0..rng.random_range(1..5) {
        ids.message += 1;
        let channel = *pick(rng, &["email", "phone", "sms", "chat"]);
        let csat = rng.random_bool(0.6).then(|| rng.random_range(1..6));
        out.messages.push((
            ids.message,
            cid,
            ts(moment(rng, as_of, 1..700)),
            channel,
            *pick(rng, &["in", "out"]),
            format!("Repair update #{}", ids.message),
            pick(
                rng,
                &[
                    "Your device is ready for pickup.",
                    "We received your device.",
                    "Can you confirm the quote?",
                    "Thanks for the quick fix!",
                ],
            )
            .to_string(),
            csat,
        ));
    }
}

async fn write_chunk(pool: &crate::db::Pool, c: &Chunk) -> eyre::Result<()> {
    const ROWS: usize = 500;
    let mut tx = pool.begin().await?;
    for part in c.clients.chunks(ROWS) {
        let mut qb = crate::db::Builder::on(
            crate::db::Backend::of_pool(pool),
            "INSERT INTO clients (client_id, full_name, email_addr, phone_no, acct_type, signup_ts, country_code, needs_assist, preferred_lang, loyalty_tier) ",
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
                .push_bind(r.9);
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

/// Seeds an onboarding plan (`assets/templates/onboarding.toml`) for every customer of the
/// first-priority segment, started up to 60 days before `as_of`: milestones due before `as_of`
/// are mostly completed, the first open one is in progress, so some are overdue. Adds a
/// migration plan per wave, starting on its window's first day (the programme starts `as_of`).
pub async fn seed_plans(
    state: &crate::db::Pool,
    seed: u64,
    as_of: NaiveDate,
) -> eyre::Result<usize> {
    let onboarding = crate::plans::template("onboarding")?;
    let migration = crate::plans::template("migration")?;
    let vip: Vec<String> = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE priority = (SELECT MIN(priority) FROM segments) ORDER BY id",
    )
    .fetch_all(state)
    .await?;
    let owners = ["amara.okafor", "li.wei", "sofia.rossi", "tom.baker"];
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_91a5);
    let mut tx = db::write_tx(state).await?;
    for cust in &vip {
        let owner = *pick(&mut rng, &owners);
        let start = as_of - Duration::days(rng.random_range(0..60));
        let (plan, _) = crate::plans::create(&mut tx, &onboarding, cust, owner, start).await?;
        let mut first_open = true;
        for (k, m) in onboarding.milestone.iter().enumerate() {
            let due = start + Duration::days(m.due_days);
            let status = if due < as_of && rng.random_bool(0.85) {
                "completed"
            } else if std::mem::take(&mut first_open) {
                "in_progress"
            } else {
                continue;
            };
            sqlx::query("UPDATE milestones SET status = $1 WHERE plan_id = $2 AND seq = $3")
                .bind(status)
                .bind(plan)
                .bind(k as i64 + 1)
                .execute(&mut *tx)
                .await?;
        }
    }
    let waves: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, window_start_day FROM segments ORDER BY priority")
            .fetch_all(&mut *tx)
            .await?;
    for (name, day) in waves {
        let start = as_of + Duration::days(day - 1);
        crate::plans::create(
            &mut tx,
            &migration,
            &format!("wave:{name}"),
            "migration.lead",
            start,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(vip.len())
}

/// Creates the demo workspace in `opts.dir`: legacy data, an empty platform, a planned state
/// database with success plans, and the config.
///
/// Errors: a workspace already there (without `force`), or a database failing.
pub async fn create(opts: &DemoOpts, mut progress: impl FnMut(usize)) -> eyre::Result<DemoPaths> {
    let dir = &opts.dir;
    crate::files::private_dir(dir)?;
    let paths = DemoPaths {
        config: dir.join(FILES[0]),
        legacy: dir.join(FILES[1]),
        platform: dir.join(FILES[2]),
        state: dir.join(FILES[3]),
    };
    if paths.config.exists() && !opts.force {
        eyre::bail!(
            "a workspace already exists in {} (pass --force to replace it)",
            dir.display()
        );
    }
    for f in FILES.iter().skip(1) {
        db::remove_sqlite_files(&dir.join(f))?;
    }
    let legacy = db::open(&url(&paths.legacy), "legacy", true, false).await?;
    generate_legacy(
        &legacy,
        opts.customers,
        opts.seed,
        opts.as_of,
        &mut progress,
    )
    .await?;
    legacy.close().await;
    let text = config_text(
        opts.as_of,
        opts.step_delay_ms,
        opts.state_url.as_deref(),
        opts.target_url.as_deref(),
    );
    write_private(&paths.config, &text)
        .map_err(|e| eyre::eyre!("cannot write {}: {e}", paths.config.display()))?;
    let cfg = Config::load(&paths.config)?;
    let ctx = Ctx::create(cfg).await?;
    plan::build(&ctx.cfg, &ctx.state, &ctx.source).await?;
    seed_plans(&ctx.state, opts.seed, opts.as_of).await?;
    crate::alerts::evaluate(&ctx, chrono::Utc::now(), None).await?;
    crate::db::analyze(
        &ctx.state,
        &[
            "success_plans",
            "milestones",
            "alerts",
            "audit_log",
            "notifications",
        ],
    )
    .await?;
    Ok(paths)
}

/// Writes `text` to `path` (replacing it), mode 0600: a config may hold secrets.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

fn url(p: &Path) -> String {
    format!("sqlite://{}", p.display())
}

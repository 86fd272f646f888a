//! One demo customer, generated: its profile, devices, repairs, payments and messages, from
//! the seeded generator in a fixed order (the same seed gives the same data, byte for byte).

use chrono::{Duration, NaiveDateTime};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::names::{DEVICES, FAULTS, SCRIPTS};

pub(super) fn pick<'a, T>(rng: &mut ChaCha8Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

pub(super) fn ts(t: NaiveDateTime) -> String {
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

pub(super) type ClientRow = (
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
pub(super) type DeviceRow = (
    i64,
    i64,
    &'static str,
    &'static str,
    &'static str,
    String,
    Option<String>,
);
pub(super) type RepairRow = (
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
pub(super) type PaymentRow = (
    i64,
    i64,
    i64,
    &'static str,
    String,
    &'static str,
    &'static str,
    String,
);
pub(super) type MessageRow = (
    i64,
    i64,
    String,
    &'static str,
    &'static str,
    String,
    String,
    Option<i64>,
);

/// What the profile decided that the customer's other rows follow.
struct Profile {
    cid: i64,
    repairs_12m: i64,
    revenue_cents: i64,
    negative_payment: bool,
    missing_device: bool,
}

/// Generates customer `i` (0-based) into `out`. Tiers follow the brief: of every 7 customers,
/// 2 are inactive; the active split roughly 14% VIP, 28% high-value, 58% regular.
pub(super) fn customer(
    i: usize,
    rng: &mut ChaCha8Rng,
    as_of: NaiveDateTime,
    ids: &mut Ids,
    out: &mut Chunk,
    last_email: &mut Option<String>,
) {
    let p = profile(i, rng, as_of, out, last_email);
    let devs = devices(rng, as_of, p.cid, ids, out);
    repairs(rng, as_of, &p, &devs, ids, out);
    payments(rng, as_of, &p, ids, out);
    messages(rng, as_of, p.cid, ids, out);
}

/// The client row: name in one of the scripts, tier, account type, revenue, contact details
/// with the audit's defects (a malformed or duplicate email, a missing phone).
fn profile(
    i: usize,
    rng: &mut ChaCha8Rng,
    as_of: NaiveDateTime,
    out: &mut Chunk,
    last_email: &mut Option<String>,
) -> Profile {
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

    Profile {
        cid,
        repairs_12m,
        revenue_cents,
        negative_payment,
        missing_device,
    }
}

/// One to three devices; returns their ids.
fn devices(
    rng: &mut ChaCha8Rng,
    as_of: NaiveDateTime,
    cid: i64,
    ids: &mut Ids,
    out: &mut Chunk,
) -> Vec<i64> {
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
    devs
}

/// The repairs of the last 12 months and some older ones; a defective customer's first points
/// at a device that does not exist.
fn repairs(
    rng: &mut ChaCha8Rng,
    as_of: NaiveDateTime,
    p: &Profile,
    devs: &[i64],
    ids: &mut Ids,
    out: &mut Chunk,
) {
    let (cid, repairs_12m, missing_device) = (p.cid, p.repairs_12m, p.missing_device);
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
        let mut device = *pick(rng, devs);
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
}

/// Payments of the last 12 months adding up to the revenue, older and refunded ones, and a
/// defective customer's negative payment.
fn payments(
    rng: &mut ChaCha8Rng,
    as_of: NaiveDateTime,
    p: &Profile,
    ids: &mut Ids,
    out: &mut Chunk,
) {
    let (cid, revenue_cents, negative_payment) = (p.cid, p.revenue_cents, p.negative_payment);
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
}

/// One to four messages, some with a satisfaction score.
fn messages(rng: &mut ChaCha8Rng, as_of: NaiveDateTime, cid: i64, ids: &mut Ids, out: &mut Chunk) {
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

/// Rows of one chunk of customers, written together, in the legacy tables' column order.
#[derive(Default)]
pub(super) struct Chunk {
    pub clients: Vec<ClientRow>,
    pub devices: Vec<DeviceRow>,
    pub repairs: Vec<RepairRow>,
    pub payments: Vec<PaymentRow>,
    pub messages: Vec<MessageRow>,
}

/// The last id given out per legacy table.
pub(super) struct Ids {
    pub device: i64,
    pub repair: i64,
    pub payment: i64,
    pub message: i64,
}

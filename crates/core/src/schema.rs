//! The canonical entities and columns of the brief's section 3.3, the normalisation of raw
//! database values into canonical values, and the checksums that backup, validation and
//! rollback compare. Source and target rows go through the same code, so a checksum mismatch
//! always means the data differs.

use chrono::{NaiveDate, NaiveDateTime};
pub use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

/// A platform entity. Order matters: parents before children.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    /// Customers.
    Customers,
    /// Devices.
    Devices,
    /// Repairs.
    Repairs,
    /// Payments.
    Payments,
    /// Communications.
    Communications,
}

/// The type a canonical column is normalised to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// A legacy identifier, kept as text.
    Id,
    /// Text.
    Text,
    /// An integer.
    Int,
    /// An exact amount of money: canonical decimal text, the shortest form with no trailing
    /// zeros (`"2328.6"`, `"-0.5"`, `"12"`), whatever type the source or the platform keeps it
    /// in (`NUMERIC(10,2)`, a double, text), so that checksums compare values, not types.
    Money,
    /// A boolean.
    Bool,
    /// UTC, stored as `YYYY-MM-DDTHH:MM:SSZ`.
    Timestamp,
    /// Stored as `YYYY-MM-DD`.
    Date,
}

/// One canonical column of an entity.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub ty: ColType,
    /// A NULL here is a transform error for the row.
    pub required: bool,
}

const fn col(name: &'static str, ty: ColType, required: bool) -> Column {
    Column { name, ty, required }
}

const CUSTOMERS: &[Column] = &[
    col("legacy_id", ColType::Id, true),
    col("name", ColType::Text, false),
    col("email", ColType::Text, false),
    col("phone", ColType::Text, false),
    col("account_type", ColType::Text, false),
    col("created_at", ColType::Timestamp, false),
    col("country", ColType::Text, false),
    col("special_needs", ColType::Bool, false),
    col("annual_revenue", ColType::Money, false),
    col("repairs_12m", ColType::Int, false),
];
const DEVICES: &[Column] = &[
    col("legacy_id", ColType::Id, true),
    col("customer_legacy_id", ColType::Id, true),
    col("kind", ColType::Text, false),
    col("brand", ColType::Text, false),
    col("model", ColType::Text, false),
    col("serial", ColType::Text, false),
    col("warranty_until", ColType::Date, false),
];
const REPAIRS: &[Column] = &[
    col("legacy_id", ColType::Id, true),
    col("customer_legacy_id", ColType::Id, true),
    col("device_legacy_id", ColType::Id, false),
    col("opened_at", ColType::Timestamp, false),
    col("closed_at", ColType::Timestamp, false),
    col("status", ColType::Text, false),
    col("description", ColType::Text, false),
    col("amount", ColType::Money, false),
];
const PAYMENTS: &[Column] = &[
    col("legacy_id", ColType::Id, true),
    col("customer_legacy_id", ColType::Id, true),
    col("amount", ColType::Money, false),
    col("currency", ColType::Text, false),
    col("paid_at", ColType::Timestamp, false),
    col("method", ColType::Text, false),
    col("status", ColType::Text, false),
];
const COMMUNICATIONS: &[Column] = &[
    col("legacy_id", ColType::Id, true),
    col("customer_legacy_id", ColType::Id, true),
    col("occurred_at", ColType::Timestamp, false),
    col("channel", ColType::Text, false),
    col("direction", ColType::Text, false),
    col("subject", ColType::Text, false),
    col("body", ColType::Text, false),
];

impl Entity {
    /// Every value, in order.
    pub const ALL: [Entity; 5] = [
        Entity::Customers,
        Entity::Devices,
        Entity::Repairs,
        Entity::Payments,
        Entity::Communications,
    ];

    /// The table name on the platform and the key under `[mapping]`.
    pub fn name(self) -> &'static str {
        match self {
            Entity::Customers => "customers",
            Entity::Devices => "devices",
            Entity::Repairs => "repairs",
            Entity::Payments => "payments",
            Entity::Communications => "communications",
        }
    }

    /// The value named `s`, if it is one.
    pub fn parse(s: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.name() == s)
    }

    /// The entity's canonical columns, in order (brief 3.3).
    pub fn columns(self) -> &'static [Column] {
        match self {
            Entity::Customers => CUSTOMERS,
            Entity::Devices => DEVICES,
            Entity::Repairs => REPAIRS,
            Entity::Payments => PAYMENTS,
            Entity::Communications => COMMUNICATIONS,
        }
    }

    /// The column that names the owning customer's legacy id.
    pub fn customer_key(self) -> &'static str {
        match self {
            Entity::Customers => "legacy_id",
            _ => "customer_legacy_id",
        }
    }

    /// The position of column `name` among the entity's canonical columns.
    pub fn column_index(self, name: &str) -> Option<usize> {
        self.columns().iter().position(|c| c.name == name)
    }
}

/// A raw value as a database returned it, before normalisation.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// An exact decimal (a `NUMERIC` or `DECIMAL` with a fraction).
    Dec(Decimal),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

/// A normalised canonical value. Serialised untagged (JSON null, integer, string) for the
/// backups of target rows; a JSON float (money in a backup an earlier version wrote) reads back
/// as money's canonical text.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Val {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text (money too, as canonical decimal text: see [`ColType::Money`]).
    Text(String),
}

impl<'de> serde::Deserialize<'de> for Val {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Val;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("null, an integer, a number or a string")
            }
            fn visit_unit<E>(self) -> Result<Val, E> {
                Ok(Val::Null)
            }
            fn visit_none<E>(self) -> Result<Val, E> {
                Ok(Val::Null)
            }
            fn visit_i64<E>(self, v: i64) -> Result<Val, E> {
                Ok(Val::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Val, E> {
                i64::try_from(v)
                    .map(Val::Int)
                    .map_err(|_| E::custom(format!("{v} is out of range")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Val, E> {
                parse_decimal(&v.to_string())
                    .map(money_val)
                    .ok_or_else(|| E::custom(format!("{v} is not an amount")))
            }
            fn visit_str<E>(self, v: &str) -> Result<Val, E> {
                Ok(Val::Text(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Val, E> {
                Ok(Val::Text(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Val {
    /// The name as stored and shown.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an exact decimal, if it is a number (an integer, or money's canonical
    /// text).
    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            Val::Int(i) => Some(Decimal::from(*i)),
            Val::Text(t) => t.parse().ok(),
            Val::Null => None,
        }
    }

    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// A short display form for messages and the console.
    pub fn display(&self) -> String {
        match self {
            Val::Null => "NULL".into(),
            Val::Int(i) => i.to_string(),
            Val::Text(s) => s.clone(),
        }
    }
}

/// Why a raw value could not be normalised: the value and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{value} is not {expected}")]
pub struct ValueError {
    /// The value.
    pub value: String,
    /// What was expected.
    pub expected: &'static str,
}

/// Whether `c` must not reach a terminal as it is: a control character (ESC, BEL, C1 and the
/// rest: terminal escape sequences) or a bidirectional override or isolate (U+202A–U+202E,
/// U+2066–U+2069), which reorders what is displayed around it ("Trojan Source", CVE-2021-42574).
pub fn unsafe_char(c: char) -> bool {
    c.is_control()
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `s` as it may be printed to a terminal: unchanged, or with its unsafe characters
/// ([`unsafe_char`]) escaped (`\u{1b}`, `\u{202e}`) when it has any. Ids and names from the
/// source go through this before they reach a message.
pub fn shown(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(unsafe_char) {
        let mut out = String::with_capacity(s.len() + 8);
        for c in s.chars() {
            if unsafe_char(c) {
                out.extend(c.escape_unicode());
            } else {
                out.push(c);
            }
        }
        out.into()
    } else {
        s.into()
    }
}

fn raw_display(r: &Raw) -> String {
    match r {
        Raw::Null => "NULL".into(),
        Raw::Int(i) => i.to_string(),
        Raw::Real(f) => f.to_string(),
        Raw::Dec(d) => d.to_string(),
        Raw::Text(s) => format!("{:?}", truncate(s, 60)),
        Raw::Blob(b) => format!("<{} bytes>", b.len()),
    }
}

/// The first `n` characters of `s`, with `…` when it had more (a message names a 1 MB value
/// by its start, without counting the rest).
pub fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn blob_text(b: &[u8]) -> Option<String> {
    String::from_utf8(b.to_vec()).ok()
}

/// Normalises `raw` to `ty`. Blank text is NULL for every type but `Text` and `Id`.
///
/// Errors: a value that cannot be read as `ty` (the error carries the value).
pub fn normalize(raw: &Raw, ty: ColType) -> Result<Val, ValueError> {
    let bad = |expected| {
        Err(ValueError {
            value: raw_display(raw),
            expected,
        })
    };
    let text = match raw {
        Raw::Null => return Ok(Val::Null),
        Raw::Text(s) => Some(s.clone()),
        Raw::Blob(b) => match blob_text(b) {
            Some(s) => Some(s),
            None => return bad("valid UTF-8"),
        },
        _ => None,
    };
    match ty {
        ColType::Id | ColType::Text => Ok(match raw {
            Raw::Int(i) => Val::Text(i.to_string()),
            Raw::Real(f) if f.fract() == 0.0 && f.abs() < 9e15 => {
                Val::Text((*f as i64).to_string())
            }
            Raw::Real(f) => Val::Text(f.to_string()),
            Raw::Dec(d) => Val::Text(d.normalize().to_string()),
            _ => Val::Text(text.unwrap_or_default()),
        }),
        ColType::Int => match (raw, text.as_deref().map(str::trim)) {
            (Raw::Int(i), _) => Ok(Val::Int(*i)),
            (Raw::Real(f), _) if f.fract() == 0.0 => Ok(Val::Int(*f as i64)),
            (Raw::Dec(d), _) if d.fract().is_zero() => i64::try_from(*d)
                .map(Val::Int)
                .or_else(|_| bad("an integer")),
            (_, Some("")) => Ok(Val::Null),
            (_, Some(t)) => t.parse().map(Val::Int).or_else(|_| bad("an integer")),
            _ => bad("an integer"),
        },
        ColType::Money => match (raw, text.as_deref().map(str::trim)) {
            (Raw::Int(i), _) => Ok(money_val(Decimal::from(*i))),
            // A double's shortest round-trip text is the decimal it was written as (0.1, not
            // 0.1000000000000000055…): a REAL source column keeps the amount its users typed.
            (Raw::Real(f), _) if f.is_finite() => parse_decimal(&f.to_string())
                .map(money_val)
                .map_or_else(|| bad("an amount within ±7.9e28"), Ok),
            (Raw::Dec(d), _) => Ok(money_val(*d)),
            (_, Some("")) => Ok(Val::Null),
            (_, Some(t)) => parse_decimal(t)
                .map(money_val)
                .map_or_else(|| bad("an amount (a decimal number)"), Ok),
            _ => bad("an amount"),
        },
        ColType::Bool => match (raw, text.as_deref().map(|t| t.trim().to_ascii_lowercase())) {
            (Raw::Int(0), _) => Ok(Val::Int(0)),
            (Raw::Int(1), _) => Ok(Val::Int(1)),
            (_, Some(t)) => match t.as_str() {
                "" => Ok(Val::Null),
                "1" | "true" | "yes" | "y" | "t" => Ok(Val::Int(1)),
                "0" | "false" | "no" | "n" | "f" => Ok(Val::Int(0)),
                _ => bad("a boolean"),
            },
            _ => bad("a boolean"),
        },
        ColType::Timestamp => match (raw, text.as_deref().map(str::trim)) {
            (Raw::Int(secs), _) => chrono::DateTime::from_timestamp(*secs, 0)
                .map(|d| Val::Text(d.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
                .map_or_else(|| bad("a timestamp"), Ok),
            (_, Some("")) => Ok(Val::Null),
            (_, Some(t)) => parse_timestamp(t)
                .map(|d| Val::Text(d.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
                .map_or_else(|| bad("a timestamp (YYYY-MM-DD[ HH:MM:SS])"), Ok),
            _ => bad("a timestamp"),
        },
        ColType::Date => match text.as_deref().map(str::trim) {
            Some("") => Ok(Val::Null),
            Some(t) => parse_timestamp(t)
                .map(|d| Val::Text(d.date().format("%Y-%m-%d").to_string()))
                .map_or_else(|| bad("a date (YYYY-MM-DD)"), Ok),
            None => bad("a date"),
        },
    }
}

/// A decimal in plain (`-12.50`) or scientific (`1.25e3`) notation.
pub fn parse_decimal(t: &str) -> Option<Decimal> {
    use std::str::FromStr;
    Decimal::from_str(t)
        .or_else(|_| Decimal::from_scientific(t))
        .ok()
}

/// `d` as money's canonical value: its shortest decimal text (see [`ColType::Money`]).
pub fn money_val(d: Decimal) -> Val {
    Val::Text(d.normalize().to_string())
}

/// `d` in whole cents, rounded half away from zero (how a bill rounds). `None` beyond ±9.2e16.
pub fn to_cents(d: Decimal) -> Option<i64> {
    use rust_decimal::RoundingStrategy::MidpointAwayFromZero;
    i64::try_from(d.round_dp_with_strategy(2, MidpointAwayFromZero) * Decimal::ONE_HUNDRED).ok()
}

/// `cents` as an amount with two decimals (`-12.50`), exact: no float on the way.
pub fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let a = cents.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Serialises whole cents as a JSON number of currency units (`52249841` → `522498.41`): the
/// nearest double to a two-decimal amount prints as exactly that amount.
///
/// Errors: never (the serializer's own).
pub fn serialize_cents<S: serde::Serializer>(cents: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(*cents as f64 / 100.0)
}

/// Reads the timestamp forms legacy exports and databases print; offsets are converted to UTC
/// (PostgreSQL prints a `TIMESTAMPTZ` as `2024-02-03 04:05:06+00`).
pub fn parse_timestamp(t: &str) -> Option<NaiveDateTime> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.naive_utc());
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(d) = chrono::DateTime::parse_from_str(t, f) {
            return Some(d.naive_utc());
        }
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Some(d);
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// A raw value kept in `attributes`, as JSON.
pub fn raw_to_json(raw: &Raw) -> serde_json::Value {
    match raw {
        Raw::Null => serde_json::Value::Null,
        Raw::Int(i) => (*i).into(),
        Raw::Real(f) => serde_json::Number::from_f64(*f).map_or_else(
            || serde_json::Value::String(f.to_string()),
            serde_json::Value::Number,
        ),
        Raw::Dec(d) => serde_json::Number::from_f64(f64::try_from(*d).unwrap_or(f64::NAN))
            .map_or_else(
                || serde_json::Value::String(d.to_string()),
                serde_json::Value::Number,
            ),
        Raw::Text(s) => s.clone().into(),
        Raw::Blob(b) => match blob_text(b) {
            Some(s) => s.into(),
            None => b
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect::<String>()
                .into(),
        },
    }
}

/// One entity row in canonical form: values in [`Entity::columns`] order, plus the
/// `attributes` JSON object (keys sorted) of everything else the source returned.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Row {
    /// The values.
    pub values: Vec<Val>,
    /// The source's other columns, as a JSON object.
    pub attributes: String,
}

impl Row {
    /// The customer's legacy id (the source's).
    pub fn legacy_id(&self) -> &str {
        self.values[0].as_str().unwrap_or("")
    }

    /// The owning customer's legacy id.
    pub fn customer(&self, entity: Entity) -> &str {
        let i = if entity == Entity::Customers { 0 } else { 1 };
        self.values[i].as_str().unwrap_or("")
    }

    /// The mapping of `entity`, if the config has one.
    pub fn get(&self, entity: Entity, column: &str) -> Option<&Val> {
        entity.column_index(column).map(|i| &self.values[i])
    }
}

/// Row count and SHA-256 (hex) over every canonical column and `attributes` of a set of rows,
/// independent of their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// Rows.
    pub count: i64,
    /// SHA-256 over the rows' canonical form, hex.
    pub sha256: String,
}

impl Checksum {
    /// The checksum of no rows.
    pub fn empty() -> Self {
        checksum(&mut [])
    }

    /// The first 12 hex digits, for display.
    pub fn short(&self) -> &str {
        &self.sha256[..12.min(self.sha256.len())]
    }
}

/// Checksums `rows`, sorting them by their encoding first so that order never matters.
pub fn checksum(rows: &mut [&Row]) -> Checksum {
    let mut encoded: Vec<Vec<u8>> = rows.iter().map(|r| encode(r)).collect();
    encoded.sort_unstable();
    let mut h = Sha256::new();
    for e in &encoded {
        h.update((e.len() as u64).to_le_bytes());
        h.update(e);
    }
    Checksum {
        count: rows.len() as i64,
        sha256: format!("{:x}", h.finalize()),
    }
}

fn encode(row: &Row) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    for v in &row.values {
        match v {
            Val::Null => out.push(b'N'),
            Val::Int(i) => {
                out.push(b'I');
                out.extend_from_slice(i.to_string().as_bytes());
            }
            Val::Text(s) => {
                out.push(b'T');
                out.extend_from_slice(s.as_bytes());
            }
        }
        out.push(0x1f);
    }
    out.extend_from_slice(row.attributes.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_the_forms_legacy_exports_use() {
        assert_eq!(
            normalize(&Raw::Int(42), ColType::Id),
            Ok(Val::Text("42".into()))
        );
        assert_eq!(
            normalize(&Raw::Text(" 7 ".into()), ColType::Int),
            Ok(Val::Int(7))
        );
        assert_eq!(
            normalize(&Raw::Text(" ".into()), ColType::Money),
            Ok(Val::Null)
        );
        assert_eq!(
            normalize(&Raw::Text("Yes".into()), ColType::Bool),
            Ok(Val::Int(1))
        );
        assert_eq!(
            normalize(&Raw::Text("2024-02-03 04:05:06".into()), ColType::Timestamp),
            Ok(Val::Text("2024-02-03T04:05:06Z".into()))
        );
        assert!(normalize(&Raw::Text("0000-00-00".into()), ColType::Date).is_err());
        assert!(normalize(&Raw::Blob(vec![0xff, 0xfe]), ColType::Text).is_err());
    }

    #[test]
    fn money_has_one_canonical_form_whatever_the_type() {
        let want = Ok(Val::Text("2328.6".into()));
        let dec = Decimal::new(232860, 2);
        assert_eq!(normalize(&Raw::Dec(dec), ColType::Money), want);
        assert_eq!(normalize(&Raw::Real(2328.6), ColType::Money), want);
        assert_eq!(
            normalize(&Raw::Text(" 2328.60 ".into()), ColType::Money),
            want
        );
        assert_eq!(
            normalize(&Raw::Text("2.3286e3".into()), ColType::Money),
            want
        );
        assert_eq!(
            normalize(&Raw::Int(12), ColType::Money),
            Ok(Val::Text("12".into()))
        );
        assert_eq!(
            normalize(&Raw::Text("-0.00".into()), ColType::Money),
            Ok(Val::Text("0".into()))
        );
        assert!(normalize(&Raw::Text("12,50".into()), ColType::Money).is_err());
        // 0.1 + 0.2 in doubles is 0.30000000000000004; in the canonical form it is what it says.
        assert_eq!(
            normalize(&Raw::Real(0.1), ColType::Money),
            Ok(Val::Text("0.1".into()))
        );
    }

    #[test]
    fn backups_round_trip_and_an_older_float_reads_as_money() {
        let vals = vec![Val::Null, Val::Int(-3), Val::Text("2328.6".into())];
        let json = serde_json::to_string(&vals).unwrap();
        assert_eq!(json, r#"[null,-3,"2328.6"]"#);
        assert_eq!(serde_json::from_str::<Vec<Val>>(&json).unwrap(), vals);
        assert_eq!(
            serde_json::from_str::<Val>("0.1").unwrap(),
            Val::Text("0.1".into())
        );
    }

    #[test]
    fn cents_round_like_a_bill_and_print_exactly() {
        assert_eq!(to_cents(Decimal::new(2328605, 3)), Some(232861));
        assert_eq!(to_cents(Decimal::new(-5, 3)), Some(-1));
        assert_eq!(cents_text(52249841), "522498.41");
        assert_eq!(cents_text(-5), "-0.05");
        assert_eq!(cents_text(0), "0.00");
    }

    #[test]
    fn reads_the_timestamps_databases_print() {
        let want = parse_timestamp("2024-02-03T04:05:06Z");
        assert!(want.is_some());
        assert_eq!(parse_timestamp("2024-02-03 04:05:06+00"), want);
        assert_eq!(parse_timestamp("2024-02-03 05:05:06+01"), want);
        assert_eq!(parse_timestamp("2024-02-03 04:05:06"), want);
    }

    #[test]
    fn checksum_ignores_order_and_sees_every_column() {
        let a = Row {
            values: vec![Val::Text("1".into()), Val::Text("2.5".into())],
            attributes: "{}".into(),
        };
        let b = Row {
            values: vec![Val::Text("2".into()), Val::Null],
            attributes: "{\"x\":1}".into(),
        };
        let one = checksum(&mut [&a, &b]);
        assert_eq!(one, checksum(&mut [&b, &a]));
        let mut c = b;
        c.attributes = "{\"x\":2}".into();
        assert_ne!(one, checksum(&mut [&a, &c]));
        assert_eq!(one.count, 2);
    }
}

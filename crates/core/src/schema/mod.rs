//! The canonical entities and columns of the brief's section 3.3, the normalisation of raw
//! database values into canonical values, and the checksums that backup, validation and
//! rollback compare. Source and target rows go through the same code, so a checksum mismatch
//! always means the data differs.

use sha2::{Digest, Sha256};

mod money;
mod normalize;

pub use money::*;
pub use normalize::*;

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

/// The first `n` characters of `s`, with `…` when it had more (a message names a 1 MB value
/// by its start, without counting the rest).
pub fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
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
    /// The row's size as data, in bytes: its text values' UTF-8 length, 8 per integer, and its
    /// attributes' JSON (the throughput KPI's measure of platform data written).
    pub fn bytes(&self) -> u64 {
        let values: usize = self
            .values
            .iter()
            .map(|v| match v {
                Val::Null => 0,
                Val::Int(_) => 8,
                Val::Text(t) => t.len(),
            })
            .sum();
        (values + self.attributes.len()) as u64
    }

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

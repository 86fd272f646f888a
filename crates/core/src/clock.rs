//! Time as the state database stores it: UTC RFC 3339 text with milliseconds, which sorts as text.

use chrono::{DateTime, Utc};

/// Now, formatted for the state database.
pub fn now() -> String {
    fmt(Utc::now())
}

/// `t` formatted for the state database.
pub fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses a time the state database stored; `None` for anything else.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// "3s", "4m", "2h", "5d": a compact age for the console.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

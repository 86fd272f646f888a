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

/// A countdown in its two largest units, rounded down: "45s", "42m", "3h 20m", "1d 23h" (a
/// deadline 47 hours away is not "1d").
pub fn span(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => match (s % 3600) / 60 {
            0 => format!("{}h", s / 3600),
            m => format!("{}h {m}m", s / 3600),
        },
        _ => match (s % 86400) / 3600 {
            0 => format!("{}d", s / 86400),
            h => format!("{}d {h}h", s / 86400),
        },
    }
}

/// A duration in seconds as an operator reads an estimate: "0.4 s", "12 s", "3 min 20 s",
/// "2 h 05 min". Whole units, never cut.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0);
    if s < 0.05 {
        return "under 0.1 s".into();
    }
    if s < 10.0 {
        return format!("{s:.1} s");
    }
    let whole = s.round() as i64;
    match whole {
        0..60 => format!("{whole} s"),
        60..3600 => format!("{} min {:02} s", whole / 60, whole % 60),
        _ => format!("{} h {:02} min", whole / 3600, whole % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_whole() {
        assert_eq!(super::duration(0.04), "under 0.1 s");
        assert_eq!(super::duration(9.94), "9.9 s");
        assert_eq!(super::duration(59.4), "59 s");
        assert_eq!(super::duration(200.0), "3 min 20 s");
        assert_eq!(super::duration(7500.0), "2 h 05 min");
    }
}

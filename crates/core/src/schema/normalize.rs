//! Normalisation of raw database values into canonical values, and of the source's other
//! columns into `attributes` JSON.

use std::sync::LazyLock;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{NaiveDate, NaiveDateTime};

use super::{ColType, Decimal, Raw, Val, ValueError, money_val, parse_decimal, truncate};

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
                .map(|d| Val::Text(fmt_timestamp(&d.naive_utc())))
                .map_or_else(|| bad("a timestamp"), Ok),
            (_, Some("")) => Ok(Val::Null),
            (_, Some(t)) => parse_timestamp(t)
                .map(|d| Val::Text(fmt_timestamp(&d)))
                .map_or_else(|| bad("a timestamp (YYYY-MM-DD[ HH:MM:SS])"), Ok),
            _ => bad("a timestamp"),
        },
        ColType::Date => match text.as_deref().map(str::trim) {
            Some("") => Ok(Val::Null),
            Some(t) => parse_timestamp(t)
                .map(|d| Val::Text(fmt_date(&d.date())))
                .map_or_else(|| bad("a date (YYYY-MM-DD)"), Ok),
            None => bad("a date"),
        },
    }
}

/// A strftime format read once. `parse_from_str` and `format` read their format string again
/// on every call: 2–4% of a plan's and a batch's CPU under `perf`, where every date of every
/// row went through up to eight formats.
type Format = LazyLock<Vec<Item<'static>>>;

fn items(f: &'static str) -> Vec<Item<'static>> {
    StrftimeItems::new(f).collect()
}

static DATE: Format = LazyLock::new(|| items("%Y-%m-%d"));
static CANONICAL: Format = LazyLock::new(|| items("%Y-%m-%dT%H:%M:%SZ"));
static SPACED: Format = LazyLock::new(|| items("%Y-%m-%d %H:%M:%S"));
static WITH_OFFSET: [Format; 2] = [
    LazyLock::new(|| items("%Y-%m-%d %H:%M:%S%.f%#z")),
    LazyLock::new(|| items("%Y-%m-%dT%H:%M:%S%.f%#z")),
];
static NAIVE: [Format; 4] = [
    LazyLock::new(|| items("%Y-%m-%d %H:%M:%S%.f")),
    LazyLock::new(|| items("%Y-%m-%dT%H:%M:%S%.f")),
    LazyLock::new(|| items("%Y-%m-%d %H:%M")),
    LazyLock::new(|| items("%Y-%m-%dT%H:%M")),
];

/// `t` read by `format`, as chrono's `parse_from_str` reads it.
fn parsed(t: &str, format: &Format) -> Option<Parsed> {
    let mut p = Parsed::new();
    chrono::format::parse(&mut p, t, format.iter()).ok()?;
    Some(p)
}

/// `d` as the canonical timestamp, `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds).
pub fn fmt_timestamp(d: &NaiveDateTime) -> String {
    d.format_with_items(CANONICAL.iter()).to_string()
}

/// `d` as `YYYY-MM-DD HH:MM:SS`, the text a source database prints for a timestamp.
pub fn fmt_spaced(d: &NaiveDateTime) -> String {
    d.format_with_items(SPACED.iter()).to_string()
}

/// `d` as `YYYY-MM-DD`.
pub fn fmt_date(d: &NaiveDate) -> String {
    d.format_with_items(DATE.iter()).to_string()
}

/// Reads the timestamp forms legacy exports and databases print; offsets are converted to UTC
/// (PostgreSQL prints a `TIMESTAMPTZ` as `2024-02-03 04:05:06+00`). A bare date is midnight.
/// The forms exclude each other (each rejects text left over or missing), so the order they
/// are tried in only decides how fast a value is read: a bare date, the commonest in
/// exports, is tried first.
pub fn parse_timestamp(t: &str) -> Option<NaiveDateTime> {
    if t.len() == 10
        && let Some(d) = parsed(t, &DATE).and_then(|p| p.to_naive_date().ok())
    {
        return d.and_hms_opt(0, 0, 0);
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.naive_utc());
    }
    for f in &WITH_OFFSET {
        if let Some(d) = parsed(t, f).and_then(|p| p.to_datetime().ok()) {
            return Some(d.naive_utc());
        }
    }
    for f in &NAIVE {
        if let Some(d) = parsed(t, f).and_then(|p| p.to_naive_datetime_with_offset(0).ok()) {
            return Some(d);
        }
    }
    parsed(t, &DATE)
        .and_then(|p| p.to_naive_date().ok())
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

#[cfg(test)]
mod tests {
    use super::super::*;
    use chrono::{NaiveDate, NaiveDateTime};

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

    /// The formats read once must read and print exactly what chrono's `parse_from_str` and
    /// `format` do with the same format strings, tried in the order they were before.
    #[test]
    fn formats_read_once_agree_with_chrono() {
        fn by_chrono(t: &str) -> Option<NaiveDateTime> {
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
        let forms = [
            "2024-02-03",
            "2024-2-3",
            "2024-02-3 ",
            "0000-00-00",
            "2024-02-30",
            "99999-01-01",
            "2024-02-03 04:05:06",
            "2024-02-03 04:05:06.789",
            "2024-02-03T04:05:06",
            "2024-02-03T04:05:06Z",
            "2024-02-03T04:05:06.5+02:00",
            "2024-02-03 04:05:06+00",
            "2024-02-03 05:05:06+01",
            "2024-02-03 05:05:06-0130",
            "2024-02-03 04:05",
            "2024-02-03T04:05",
            "2024-02-03 24:00:00",
            "2016-12-31 23:59:60",
            "03/02/2024",
            "20240203",
            "",
            "2024-02-03x",
        ];
        for t in forms {
            let got = parse_timestamp(t);
            assert_eq!(got, by_chrono(t), "reading {t:?}");
            if let Some(d) = got {
                assert_eq!(
                    fmt_timestamp(&d),
                    d.format("%Y-%m-%dT%H:%M:%SZ").to_string()
                );
                assert_eq!(fmt_spaced(&d), d.format("%Y-%m-%d %H:%M:%S").to_string());
                assert_eq!(fmt_date(&d.date()), d.date().format("%Y-%m-%d").to_string());
            }
        }
    }

    #[test]
    fn reads_the_timestamps_databases_print() {
        let want = parse_timestamp("2024-02-03T04:05:06Z");
        assert!(want.is_some());
        assert_eq!(parse_timestamp("2024-02-03 04:05:06+00"), want);
        assert_eq!(parse_timestamp("2024-02-03 05:05:06+01"), want);
        assert_eq!(parse_timestamp("2024-02-03 04:05:06"), want);
    }
}

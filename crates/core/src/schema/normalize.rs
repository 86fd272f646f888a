//! Normalisation of raw database values into canonical values, and of the source's other
//! columns into `attributes` JSON.

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

#[cfg(test)]
mod tests {
    use super::super::*;

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
    fn reads_the_timestamps_databases_print() {
        let want = parse_timestamp("2024-02-03T04:05:06Z");
        assert!(want.is_some());
        assert_eq!(parse_timestamp("2024-02-03 04:05:06+00"), want);
        assert_eq!(parse_timestamp("2024-02-03 05:05:06+01"), want);
        assert_eq!(parse_timestamp("2024-02-03 04:05:06"), want);
    }
}

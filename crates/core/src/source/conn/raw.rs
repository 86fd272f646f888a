//! Reading one value of a row of any driver as the [`Raw`] value the mapping normalises.

use sqlx::mysql::MySqlRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, TypeInfo, ValueRef};

use super::is_int_type;
use crate::schema::Raw;

/// Reads one value of a SQLite row as it is stored, whatever the column's declared type.
pub fn raw_sqlite(row: &SqliteRow, i: usize) -> Raw {
    let Ok(v) = row.try_get_raw(i) else {
        return Raw::Null;
    };
    if v.is_null() {
        return Raw::Null;
    }
    let ty = v.type_info().name().to_string();
    match ty.as_str() {
        "INTEGER" => row
            .try_get_unchecked::<i64, _>(i)
            .map_or(Raw::Null, Raw::Int),
        "REAL" => row
            .try_get_unchecked::<f64, _>(i)
            .map_or(Raw::Null, Raw::Real),
        "BLOB" => row
            .try_get_unchecked::<Vec<u8>, _>(i)
            .map_or(Raw::Null, Raw::Blob),
        _ => match row.try_get_unchecked::<String, _>(i) {
            Ok(s) => Raw::Text(s),
            // Invalid UTF-8 in a TEXT value: keep the bytes so the transform can name it.
            Err(_) => row
                .try_get_unchecked::<Vec<u8>, _>(i)
                .map_or(Raw::Null, Raw::Blob),
        },
    }
}

/// Reads one value of a PostgreSQL row: integers, floats and numerics as numbers, booleans as
/// 0/1, dates and times as ISO text, anything else as its text.
pub fn raw_postgres(row: &PgRow, i: usize) -> Raw {
    let Ok(v) = row.try_get_raw(i) else {
        return Raw::Null;
    };
    if v.is_null() {
        return Raw::Null;
    }
    let ty = v.type_info().name().to_string();
    let text = |r: Result<String, _>| r.map_or(Raw::Null, Raw::Text);
    match ty.as_str() {
        "INT2" => row
            .try_get::<i16, _>(i)
            .map_or(Raw::Null, |x| Raw::Int(x.into())),
        "INT4" => row
            .try_get::<i32, _>(i)
            .map_or(Raw::Null, |x| Raw::Int(x.into())),
        "INT8" => row.try_get::<i64, _>(i).map_or(Raw::Null, Raw::Int),
        "FLOAT4" => row
            .try_get::<f32, _>(i)
            .map_or(Raw::Null, |x| Raw::Real(x.into())),
        "FLOAT8" => row.try_get::<f64, _>(i).map_or(Raw::Null, Raw::Real),
        "NUMERIC" => row
            .try_get::<sqlx::types::Decimal, _>(i)
            .map_or(Raw::Null, decimal),
        "BOOL" => row
            .try_get::<bool, _>(i)
            .map_or(Raw::Null, |b| Raw::Int(b.into())),
        "DATE" => text(
            row.try_get::<chrono::NaiveDate, _>(i)
                .map(|d| crate::schema::fmt_date(&d)),
        ),
        "TIMESTAMP" => text(
            row.try_get::<chrono::NaiveDateTime, _>(i)
                .map(|d| crate::schema::fmt_spaced(&d)),
        ),
        "TIMESTAMPTZ" => text(
            row.try_get::<chrono::DateTime<chrono::Utc>, _>(i)
                .map(|d| crate::schema::fmt_timestamp(&d.naive_utc())),
        ),
        "BYTEA" => row.try_get::<Vec<u8>, _>(i).map_or(Raw::Null, Raw::Blob),
        // Re-serialised, so that a JSONB's own key order and spacing never reach a checksum.
        "JSON" | "JSONB" => text(
            row.try_get::<serde_json::Value, _>(i)
                .map(|v| v.to_string()),
        ),
        _ => text(row.try_get_unchecked::<String, _>(i)),
    }
}

/// Reads one value of a MySQL/MariaDB row, by the same rules as [`raw_postgres`].
pub fn raw_mysql(row: &MySqlRow, i: usize) -> Raw {
    let Ok(v) = row.try_get_raw(i) else {
        return Raw::Null;
    };
    if v.is_null() {
        return Raw::Null;
    }
    let ty = v.type_info().name().to_ascii_uppercase();
    let text = |r: Result<String, _>| r.map_or(Raw::Null, Raw::Text);
    match ty.trim_end_matches(" UNSIGNED") {
        t if is_int_type(t) || t == "BOOLEAN" || t == "YEAR" => row
            .try_get_unchecked::<i64, _>(i)
            .map_or(Raw::Null, Raw::Int),
        "FLOAT" => row
            .try_get_unchecked::<f32, _>(i)
            .map_or(Raw::Null, |x| Raw::Real(x.into())),
        "DOUBLE" => row
            .try_get_unchecked::<f64, _>(i)
            .map_or(Raw::Null, Raw::Real),
        "DECIMAL" => row
            .try_get::<sqlx::types::Decimal, _>(i)
            .map_or(Raw::Null, decimal),
        "DATE" => text(
            row.try_get::<chrono::NaiveDate, _>(i)
                .map(|d| crate::schema::fmt_date(&d)),
        ),
        "DATETIME" | "TIMESTAMP" => text(
            row.try_get::<chrono::NaiveDateTime, _>(i)
                .map(|d| crate::schema::fmt_spaced(&d)),
        ),
        "JSON" => text(
            row.try_get::<serde_json::Value, _>(i)
                .map(|v| v.to_string()),
        ),
        "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BINARY" | "VARBINARY" => row
            .try_get_unchecked::<Vec<u8>, _>(i)
            .map_or(Raw::Null, Raw::Blob),
        _ => match row.try_get_unchecked::<String, _>(i) {
            Ok(s) => Raw::Text(s),
            Err(_) => row
                .try_get_unchecked::<Vec<u8>, _>(i)
                .map_or(Raw::Null, Raw::Blob),
        },
    }
}

/// Reads one value of a state or platform row (text, integers, reals).
pub fn raw_any(row: &sqlx::any::AnyRow, i: usize) -> Raw {
    use sqlx::any::AnyTypeInfoKind as K;
    let Ok(v) = row.try_get_raw(i) else {
        return Raw::Null;
    };
    if v.is_null() {
        return Raw::Null;
    }
    match v.type_info().kind() {
        K::Bool => row
            .try_get::<bool, _>(i)
            .map_or(Raw::Null, |b| Raw::Int(b.into())),
        K::SmallInt | K::Integer | K::BigInt => {
            row.try_get::<i64, _>(i).map_or(Raw::Null, Raw::Int)
        }
        K::Real | K::Double => row.try_get::<f64, _>(i).map_or(Raw::Null, Raw::Real),
        K::Blob => row.try_get::<Vec<u8>, _>(i).map_or(Raw::Null, Raw::Blob),
        _ => row.try_get::<String, _>(i).map_or(Raw::Null, Raw::Text),
    }
}

/// A decimal as an integer when it has no fraction (a `NUMERIC` key reads as the integer it
/// is), else exactly as it is: never through a double.
fn decimal(d: sqlx::types::Decimal) -> Raw {
    if d.fract().is_zero()
        && let Ok(i) = i64::try_from(d)
    {
        return Raw::Int(i);
    }
    Raw::Dec(d)
}

//! The legacy source, read through the workspace's mapping: each entity's `query` is wrapped as
//! a subquery and filtered by customer, so a mapping is plain SQL the source understands.

pub mod audit;
pub mod csv_import;

use std::collections::HashMap;

use futures_util::TryStreamExt;
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Column, Row as _, SqlitePool, TypeInfo, ValueRef};

use crate::config::Mappings;
use crate::db::placeholders;
use crate::schema::{self, Entity, Raw, Row, Val};

/// How many ids go in one `IN (…)` list.
pub const CHUNK: usize = 500;

/// A source row that could not be normalised: which record, which column, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{entity} {legacy_id}: column {column}: {error}")]
pub struct TransformError {
    pub entity: &'static str,
    pub legacy_id: String,
    pub customer: String,
    pub column: String,
    pub error: String,
}

/// Reads one value of a SQLite row as it is stored, whatever the column's declared type.
pub fn raw_at(row: &SqliteRow, i: usize) -> Raw {
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

/// Where each result column goes: a canonical column index, or an attribute name.
struct Shape {
    slots: Vec<Result<usize, String>>,
}

impl Shape {
    fn of(row: &SqliteRow, entity: Entity) -> Self {
        let slots = row
            .columns()
            .iter()
            .map(|c| {
                entity
                    .column_index(c.name())
                    .ok_or_else(|| c.name().to_string())
            })
            .collect();
        Shape { slots }
    }
}

/// Normalises one source (or target) row into canonical form.
///
/// Errors: a required column missing or NULL, or a value of the wrong type; the error names
/// the record and the column.
pub fn canonical(row: &SqliteRow, entity: Entity) -> Result<Row, TransformError> {
    canonical_with(row, entity, &Shape::of(row, entity))
}

fn canonical_with(row: &SqliteRow, entity: Entity, shape: &Shape) -> Result<Row, TransformError> {
    let cols = entity.columns();
    let mut values = vec![Val::Null; cols.len()];
    let mut attrs = serde_json::Map::new();
    let mut errors = Vec::new();
    for (i, slot) in shape.slots.iter().enumerate() {
        let raw = raw_at(row, i);
        match slot {
            Ok(c) => match schema::normalize(&raw, cols[*c].ty) {
                Ok(v) => values[*c] = v,
                Err(e) => errors.push((cols[*c].name.to_string(), e.to_string())),
            },
            // Platform ids the target reader selects for relationship checks.
            Err(name) if name.starts_with("__") => {}
            Err(name) if name == "attributes" => {
                // A target row's own attributes column: merge its keys back.
                if let Raw::Text(t) = &raw
                    && let Ok(serde_json::Value::Object(m)) = serde_json::from_str(t)
                {
                    attrs.extend(m);
                }
            }
            Err(name) => {
                attrs.insert(name.clone(), schema::raw_to_json(&raw));
            }
        }
    }
    let legacy_id = values[0].as_str().unwrap_or("").to_string();
    let customer = values[if entity == Entity::Customers { 0 } else { 1 }]
        .as_str()
        .unwrap_or("")
        .to_string();
    let err = |column: String, error: String| TransformError {
        entity: entity.name(),
        legacy_id: legacy_id.clone(),
        customer: customer.clone(),
        column,
        error,
    };
    if let Some((c, e)) = errors.into_iter().next() {
        return Err(err(c, e));
    }
    for (c, v) in cols.iter().zip(&values) {
        if c.required && (v.is_null() || v.as_str() == Some("")) {
            return Err(err(c.name.to_string(), "is required but missing".into()));
        }
    }
    Ok(Row {
        values,
        attributes: serde_json::Value::Object(attrs).to_string(),
    })
}

/// The rows of `entity` owned by the customers `ids`, grouped by customer legacy id. Rows
/// that fail to normalise come back as errors for their customer.
pub async fn rows_for(
    pool: &SqlitePool,
    mappings: &Mappings,
    entity: Entity,
    ids: &[String],
) -> eyre::Result<HashMap<String, Vec<Result<Row, TransformError>>>> {
    let mut out: HashMap<String, Vec<_>> = HashMap::new();
    let Some(query) = mappings.get(entity) else {
        return Ok(out);
    };
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT * FROM ({query}) AS m WHERE m.{} IN ({})",
            entity.customer_key(),
            placeholders(chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.clone());
        }
        let rows = q.fetch_all(pool).await.map_err(|e| {
            eyre::eyre!("mapping.{}.query failed on the source: {e}", entity.name())
        })?;
        let Some(first) = rows.first() else { continue };
        let shape = Shape::of(first, entity);
        for r in &rows {
            let res = canonical_with(r, entity, &shape);
            let key = match &res {
                Ok(row) => row.customer(entity).to_string(),
                Err(e) => e.customer.clone(),
            };
            out.entry(key).or_default().push(res);
        }
    }
    Ok(out)
}

/// Streams every row of `entity` in the mapping's order, handing them to `f` `size` at a time,
/// so that memory stays bounded whatever the source's size.
///
/// Errors: the mapping query failing, or the first error `f` returns.
pub async fn for_each_chunk(
    pool: &SqlitePool,
    mappings: &Mappings,
    entity: Entity,
    size: usize,
    mut f: impl AsyncFnMut(Vec<Result<Row, TransformError>>) -> eyre::Result<()>,
) -> eyre::Result<()> {
    let Some(query) = mappings.get(entity) else {
        return Ok(());
    };
    let mut stream = sqlx::query(AssertSqlSafe(query.to_string())).fetch(pool);
    let mut shape = None;
    let mut chunk = Vec::with_capacity(size);
    while let Some(r) = stream
        .try_next()
        .await
        .map_err(|e| eyre::eyre!("mapping.{}.query failed on the source: {e}", entity.name()))?
    {
        let s = shape.get_or_insert_with(|| Shape::of(&r, entity));
        chunk.push(canonical_with(&r, entity, s));
        if chunk.len() == size {
            f(std::mem::replace(&mut chunk, Vec::with_capacity(size))).await?;
        }
    }
    if !chunk.is_empty() {
        f(chunk).await?;
    }
    Ok(())
}

/// Checks that every mapping query prepares on the source and returns its entity's required
/// columns. Errors: a message naming `mapping.<entity>.query` and what is wrong.
pub async fn check_mappings(pool: &SqlitePool, mappings: &Mappings) -> Result<(), String> {
    use sqlx::{Executor, Statement};
    for e in Entity::ALL {
        let Some(q) = mappings.get(e) else { continue };
        let key = format!("mapping.{}.query", e.name());
        let mut conn = pool
            .acquire()
            .await
            .map_err(|err| format!("key `{key}`: {err}"))?;
        let stmt = conn
            .prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(
                q.to_string(),
            )))
            .await
            .map_err(|err| format!("key `{key}`: the source refuses it: {err}"))?;
        let names: Vec<&str> = stmt.columns().iter().map(|c| c.name()).collect();
        let missing: Vec<&str> = e
            .columns()
            .iter()
            .filter(|c| c.required && !names.contains(&c.name))
            .map(|c| c.name)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "key `{key}`: returns no column {} (add `… AS {}` to the query)",
                missing.join(", "),
                missing[0]
            ));
        }
    }
    Ok(())
}

/// A raw value read as a legacy id, by the same rule as the mapping's `legacy_id` columns
/// (integers and integral reals as digits, text as it is); `None` for NULL or an unreadable
/// value.
pub fn raw_key(raw: &Raw) -> Option<String> {
    match schema::normalize(raw, schema::ColType::Id) {
        Ok(Val::Text(s)) => Some(s),
        _ => None,
    }
}

/// Runs a source SQL that returns `(key, value)` pairs and collects them; rows whose key is
/// NULL are skipped.
pub async fn pairs(
    pool: &SqlitePool,
    sql: String,
    binds: &[String],
) -> eyre::Result<Vec<(String, Raw)>> {
    let mut q = sqlx::query(AssertSqlSafe(sql.clone()));
    for b in binds {
        q = q.bind(b.clone());
    }
    let rows = q
        .fetch_all(pool)
        .await
        .map_err(|e| eyre::eyre!("source query failed: {e}\n  {sql}"))?;
    Ok(rows
        .iter()
        .filter_map(|r| raw_key(&raw_at(r, 0)).map(|k| (k, raw_at(r, 1))))
        .collect())
}

/// Runs the source's `on_migrated` / `on_rollback` hook for each customer, in one transaction.
///
/// Errors: the hook's SQL failing; the message names the hook and the customer.
pub async fn run_hook(
    pool: &SqlitePool,
    hook: &str,
    sql: &str,
    ids: &[String],
) -> eyre::Result<()> {
    let mut tx = pool.begin().await?;
    for id in ids {
        sqlx::query(AssertSqlSafe(sql.to_string()))
            .bind(id.clone())
            .execute(&mut *tx)
            .await
            .map_err(|e| eyre::eyre!("source.{hook} failed for customer {id}: {e}"))?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_key_reads_ids_like_the_mapping_does() {
        assert_eq!(raw_key(&Raw::Int(1042)), Some("1042".into()));
        assert_eq!(
            raw_key(&Raw::Real(7.0)),
            Some("7".into()),
            "an integral REAL id is the same customer"
        );
        assert_eq!(
            raw_key(&Raw::Text("7590-VHVEG".into())),
            Some("7590-VHVEG".into())
        );
        assert_eq!(raw_key(&Raw::Null), None);
        assert_eq!(raw_key(&Raw::Blob(vec![0xff])), None);
    }
}

//! The legacy source, read through the workspace's mapping: each entity's `query` is wrapped as
//! a subquery and filtered by customer, so a mapping is plain SQL the source understands.

pub mod audit;
pub mod conn;
pub mod csv_import;

use std::collections::{BTreeMap, HashMap};

pub use conn::{Bind, RawRows, Source};

use crate::config::Mappings;
use crate::schema::{self, Entity, Raw, Row, Val};

/// How many ids go in one `IN (…)` list.
pub const CHUNK: usize = 500;

/// A source row that could not be normalised: which record, which column, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{entity} {}: column {column}: {error}", schema::shown(legacy_id))]
pub struct TransformError {
    /// The canonical entity.
    pub entity: &'static str,
    /// The customer's legacy id (the source's).
    pub legacy_id: String,
    /// The customer (legacy id).
    pub customer: String,
    /// The column.
    pub column: String,
    /// A source row that no longer normalises.
    pub error: String,
}

/// Where each result column goes: a canonical column index, or an attribute name.
pub struct Shape {
    slots: Vec<Result<usize, String>>,
}

impl Shape {
    /// The shape of rows with columns `names`, for `entity`.
    pub fn of(names: &[String], entity: Entity) -> Self {
        let slots = names
            .iter()
            .map(|c| entity.column_index(c).ok_or_else(|| c.to_string()))
            .collect();
        Shape { slots }
    }
}

/// Normalises one source (or target) row into canonical form.
///
/// Errors: a required column missing or NULL, or a value of the wrong type; the error names
/// the record and the column.
pub fn canonical(row: &[Raw], entity: Entity, shape: &Shape) -> Result<Row, TransformError> {
    let cols = entity.columns();
    let mut values = vec![Val::Null; cols.len()];
    let mut attrs = serde_json::Map::new();
    let mut errors = Vec::new();
    for (slot, raw) in shape.slots.iter().zip(row) {
        match slot {
            Ok(c) => match schema::normalize(raw, cols[*c].ty) {
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
                attrs.insert(name.clone(), schema::raw_to_json(raw));
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
///
/// Errors: the mapping's query failing on the source; the message names `mapping.<entity>`.
pub async fn rows_for(
    src: &Source,
    mappings: &Mappings,
    entity: Entity,
    ids: &[String],
) -> eyre::Result<HashMap<String, Vec<Result<Row, TransformError>>>> {
    let mut out: HashMap<String, Vec<_>> = HashMap::new();
    let Some(query) = mappings.get(entity) else {
        return Ok(out);
    };
    let as_int = src.key_is_int(query, entity.customer_key()).await;
    for chunk in ids.chunks(CHUNK) {
        let Some((list, binds)) = src.id_list(chunk, as_int) else {
            continue;
        };
        let sql = format!(
            "SELECT * FROM ({query}) AS m WHERE m.{} IN ({list})",
            entity.customer_key(),
        );
        let rows = src.fetch(&sql, &binds).await.map_err(|e| {
            eyre::eyre!("mapping.{}.query failed on the source: {e}", entity.name())
        })?;
        let shape = Shape::of(&rows.names, entity);
        for r in &rows.rows {
            let res = canonical(r, entity, &shape);
            let key = match &res {
                Ok(row) => row.customer(entity).to_string(),
                Err(e) => e.customer.clone(),
            };
            out.entry(key).or_default().push(res);
        }
    }
    Ok(out)
}

/// Checks that every mapping query prepares on the source and returns its entity's required
/// columns. Errors: a message naming `mapping.<entity>.query` and what is wrong.
pub async fn check_mappings(src: &Source, mappings: &Mappings) -> Result<(), String> {
    for e in Entity::ALL {
        let Some(q) = mappings.get(e) else { continue };
        let key = format!("mapping.{}.query", e.name());
        let cols = src
            .columns(q)
            .await
            .map_err(|err| format!("key `{key}`: the source refuses it: {err}"))?;
        let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
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

/// Runs a SQL that returns `(key, value)` pairs and collects them; rows whose key is NULL are
/// skipped.
///
/// Errors: the query failing; the message quotes it.
pub async fn pairs(src: &Source, sql: String, binds: &[Bind]) -> eyre::Result<Vec<(String, Raw)>> {
    let rows = src
        .fetch(&sql, binds)
        .await
        .map_err(|e| eyre::eyre!("source query failed: {e}\n  {sql}"))?;
    Ok(rows
        .rows
        .into_iter()
        .filter_map(|mut r| {
            let v = if r.len() > 1 {
                r.swap_remove(1)
            } else {
                Raw::Null
            };
            raw_key(&r[0]).map(|k| (k, v))
        })
        .collect())
}

/// Runs the source's `on_migrated` / `on_rollback` hook for each customer, in one transaction.
/// The id is bound as an integer when the customers mapping's `legacy_id` is one.
///
/// Errors: the hook's SQL failing; the message names the hook and the customer.
pub async fn run_hook(
    src: &Source,
    mappings: &Mappings,
    hook: &str,
    sql: &str,
    ids: &[String],
) -> eyre::Result<()> {
    let as_int = match mappings.get(Entity::Customers) {
        Some(q) => {
            use tracing::Instrument;
            src.key_is_int(q, "legacy_id")
                .instrument(crate::db::Scope::Source.span())
                .await
        }
        None => false,
    };
    use tracing::Instrument;
    src.execute_each(sql, &conn::id_binds(ids, as_int))
        .instrument(crate::db::Scope::Source.span())
        .await
        .map_err(|(id, e)| eyre::eyre!("source.{hook} failed for customer {id}: {e}"))
}

/// Source rows of some customers, per entity and customer, and the customers whose rows did
/// not normalise (with the first error).
pub struct SourceRows {
    /// Rows.
    pub rows: HashMap<Entity, HashMap<String, Vec<Row>>>,
    /// Customers whose rows did not normalise, with the first error.
    pub bad: BTreeMap<String, String>,
}

impl SourceRows {
    /// The rows of entity `e` of customer `cust` (a legacy id); empty when it has none.
    pub fn of(&self, e: Entity, cust: &str) -> &[Row] {
        self.rows
            .get(&e)
            .and_then(|m| m.get(cust))
            .map_or(&[], Vec::as_slice)
    }
}

/// Reads every mapped entity's rows for the customers `ids` (legacy ids) through `mapping`:
/// each customer's rows that normalise, and the first error of each customer with one that
/// does not.
///
/// Errors: a mapping query failing, named as the source database's.
pub async fn read(src: &Source, mapping: &Mappings, ids: &[String]) -> eyre::Result<SourceRows> {
    read_entities(src, mapping, ids, &Entity::ALL).await
}

/// [`read`] for the entities `entities` only (the others come back empty, and `bad` names
/// only their errors): a copy step reads what it writes.
///
/// Errors: a mapping query failing, named as the source database's.
pub async fn read_entities(
    src: &Source,
    mapping: &Mappings,
    ids: &[String],
    entities: &[Entity],
) -> eyre::Result<SourceRows> {
    use tracing::Instrument;
    read_rows(src, mapping, ids, entities)
        .instrument(crate::db::Scope::Source.span())
        .await
}

async fn read_rows(
    src: &Source,
    mapping: &Mappings,
    ids: &[String],
    entities: &[Entity],
) -> eyre::Result<SourceRows> {
    use crate::db::InDb;
    let mut out = SourceRows {
        rows: HashMap::new(),
        bad: BTreeMap::new(),
    };
    for &e in entities {
        let got = rows_for(src, mapping, e, ids).await.in_db("source")?;
        let mut ok: HashMap<String, Vec<Row>> = HashMap::new();
        for (cust, rows) in got {
            for r in rows {
                match r {
                    Ok(r) => ok.entry(cust.clone()).or_default().push(r),
                    Err(err) => {
                        out.bad
                            .entry(cust.clone())
                            .or_insert_with(|| format!("transform: {err}"));
                    }
                }
            }
        }
        out.rows.insert(e, ok);
    }
    Ok(out)
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

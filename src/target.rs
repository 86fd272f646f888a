//! The platform database: one table per entity with its own `id`, the canonical columns,
//! `legacy_id` and `attributes` (brief section 3.3); child rows point at the platform customer
//! through `customer_id`, repairs at the platform device through `device_id`.
//!
//! Writes are multi-row `INSERT`s and `DELETE … WHERE customer_id IN (…)`, never one
//! statement per row.

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Column as _, Row as _};

use crate::db::placeholders;
use crate::schema::{ColType, Entity, Row, Val};
use crate::source::{self, CHUNK};

/// Rows per `INSERT` statement: well under SQLite's bound-variable limit for any entity.
const INSERT_ROWS: usize = 400;

fn sql_type(t: ColType) -> &'static str {
    match t {
        ColType::Int | ColType::Bool => "INTEGER",
        ColType::Real => "REAL",
        _ => "TEXT",
    }
}

/// The platform's DDL, generated from the canonical schema.
pub fn ddl() -> Vec<String> {
    let mut out = Vec::new();
    for e in Entity::ALL {
        let mut cols = vec!["id INTEGER PRIMARY KEY".to_string()];
        if e != Entity::Customers {
            cols.push("customer_id INTEGER NOT NULL REFERENCES customers (id)".into());
        }
        if e == Entity::Repairs {
            cols.push("device_id INTEGER REFERENCES devices (id)".into());
        }
        for c in e.columns() {
            let mut d = format!("{} {}", c.name, sql_type(c.ty));
            if e == Entity::Customers && c.name == "legacy_id" {
                d.push_str(" NOT NULL UNIQUE");
            }
            cols.push(d);
        }
        cols.push("attributes TEXT NOT NULL DEFAULT '{}'".into());
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {} (\n  {}\n)",
            e.name(),
            cols.join(",\n  ")
        ));
        if e != Entity::Customers {
            out.push(format!(
                "CREATE INDEX IF NOT EXISTS {0}_customer ON {0} (customer_id)",
                e.name()
            ));
        }
    }
    out
}

/// Creates the platform tables if they are missing.
pub async fn ensure_schema(pool: &crate::db::Pool) -> eyre::Result<()> {
    for stmt in ddl() {
        sqlx::query(AssertSqlSafe(stmt)).execute(pool).await?;
    }
    Ok(())
}

/// Platform ids of the customers whose legacy ids are `ids`.
pub async fn customer_ids(
    conn: &mut crate::db::Conn,
    ids: &[String],
) -> eyre::Result<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT legacy_id, id FROM customers WHERE legacy_id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.insert(r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?);
        }
    }
    Ok(out)
}

/// Removes every platform row of the customers `ids` (children first). Returns rows deleted.
pub async fn delete_customers(conn: &mut crate::db::Conn, ids: &[String]) -> eyre::Result<u64> {
    let mut n = delete_children(conn, ids).await?;
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "DELETE FROM customers WHERE legacy_id IN ({})",
            placeholders(1, chunk.len())
        );
        n += delete_where(conn, &sql, chunk).await?;
    }
    Ok(n)
}

/// Removes the child rows (not the customer rows) of the customers `ids`.
pub async fn delete_children(conn: &mut crate::db::Conn, ids: &[String]) -> eyre::Result<u64> {
    let mut n = 0;
    for chunk in ids.chunks(CHUNK) {
        let sub = format!(
            "SELECT id FROM customers WHERE legacy_id IN ({})",
            placeholders(1, chunk.len())
        );
        for e in [
            Entity::Repairs,
            Entity::Payments,
            Entity::Communications,
            Entity::Devices,
        ] {
            n += delete_where(
                conn,
                &format!("DELETE FROM {} WHERE customer_id IN ({sub})", e.name()),
                chunk,
            )
            .await?;
        }
    }
    Ok(n)
}

async fn delete_where(
    conn: &mut crate::db::Conn,
    sql: &str,
    binds: &[String],
) -> eyre::Result<u64> {
    let mut q = sqlx::query(AssertSqlSafe(sql.to_string()));
    for b in binds {
        q = q.bind(b.clone());
    }
    Ok(q.execute(&mut *conn).await?.rows_affected())
}

fn push_val(b: &mut crate::db::Values<'_>, v: &Val) {
    match v {
        Val::Null => b.push_bind(None::<String>),
        Val::Int(i) => b.push_bind(*i),
        Val::Real(f) => b.push_bind(*f),
        Val::Text(s) => b.push_bind(s.clone()),
    };
}

/// Inserts `rows` of `entity`. Children need their customer's platform id in `customers`;
/// repairs get `device_id` from `devices` keyed by (customer legacy id, device legacy id), NULL
/// where the device does not exist.
///
/// Errors: a child whose customer has no platform row, or the database refusing the insert.
pub async fn insert(
    conn: &mut crate::db::Conn,
    entity: Entity,
    rows: &[&Row],
    customers: &HashMap<String, i64>,
    devices: &HashMap<(String, String), i64>,
) -> eyre::Result<()> {
    let mut cols: Vec<&str> = Vec::new();
    if entity != Entity::Customers {
        cols.push("customer_id");
    }
    if entity == Entity::Repairs {
        cols.push("device_id");
    }
    cols.extend(entity.columns().iter().map(|c| c.name));
    cols.push("attributes");
    let dev_idx = entity.column_index("device_legacy_id");
    for chunk in rows.chunks(INSERT_ROWS) {
        let mut qb = crate::db::Builder::new(format!(
            "INSERT INTO {} ({}) ",
            entity.name(),
            cols.join(", ")
        ));
        let mut missing = None;
        qb.push_values(chunk, |mut b, row| {
            if entity != Entity::Customers {
                let cust = row.customer(entity);
                match customers.get(cust) {
                    Some(id) => b.push_bind(*id),
                    None => {
                        missing = Some(cust.to_string());
                        b.push_bind(0i64)
                    }
                };
            }
            if let Some(i) = dev_idx {
                let dev = row.values[i]
                    .as_str()
                    .and_then(|d| devices.get(&(row.customer(entity).to_string(), d.to_string())));
                b.push_bind(dev.copied());
            }
            for v in &row.values {
                push_val(&mut b, v);
            }
            b.push_bind(row.attributes.clone());
        });
        if let Some(c) = missing {
            eyre::bail!(
                "{} row for customer {c}: the customer has no platform row",
                entity.name()
            );
        }
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Platform ids of the devices of the customers `ids`, keyed by (customer legacy id, device
/// legacy id).
pub async fn device_ids(
    conn: &mut crate::db::Conn,
    ids: &[String],
) -> eyre::Result<HashMap<(String, String), i64>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT customer_legacy_id, legacy_id, id FROM devices WHERE customer_id IN \
             (SELECT id FROM customers WHERE legacy_id IN ({}))",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.clone());
        }
        for r in q.fetch_all(&mut *conn).await? {
            let cust = r.try_get::<Option<String>, _>(0)?.unwrap_or_default();
            let dev = r.try_get::<Option<String>, _>(1)?.unwrap_or_default();
            out.insert((cust, dev), r.try_get::<i64, _>(2)?);
        }
    }
    Ok(out)
}

/// A platform row read back: its canonical form plus the platform ids a relationship check needs.
#[derive(Debug, Clone)]
pub struct TargetRow {
    pub row: Row,
    pub id: i64,
    pub device_id: Option<i64>,
}

/// The platform rows of `entity` owned (through `customer_id`) by the customers `ids`, grouped
/// by customer legacy id.
///
/// Errors: a stored value that no longer normalises (the platform was edited by hand), or SQL.
pub async fn rows_for(
    conn: &mut crate::db::Conn,
    entity: Entity,
    ids: &[String],
) -> eyre::Result<HashMap<String, Vec<TargetRow>>> {
    let mut out: HashMap<String, Vec<TargetRow>> = HashMap::new();
    let cols: Vec<&str> = entity.columns().iter().map(|c| c.name).collect();
    let extra = if entity == Entity::Repairs {
        ", t.device_id AS __device_id"
    } else {
        ""
    };
    for chunk in ids.chunks(CHUNK) {
        let filter = if entity == Entity::Customers {
            format!("t.legacy_id IN ({})", placeholders(1, chunk.len()))
        } else {
            format!(
                "t.customer_id IN (SELECT id FROM customers WHERE legacy_id IN ({}))",
                placeholders(1, chunk.len())
            )
        };
        let sql = format!(
            "SELECT {}, t.attributes, t.id AS __id{extra} FROM {} t WHERE {filter}",
            cols.iter()
                .map(|c| format!("t.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            entity.name()
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.clone());
        }
        let rows = q.fetch_all(&mut *conn).await?;
        let Some(first) = rows.first() else { continue };
        let names: Vec<String> = first.columns().iter().map(|c| c.name().to_string()).collect();
        let shape = source::Shape::of(&names, entity);
        for r in rows {
            let raw: Vec<_> = (0..r.len()).map(|i| source::conn::raw_any(&r, i)).collect();
            let row = source::canonical(&raw, entity, &shape)
                .map_err(|e| eyre::eyre!("platform {e} (edited on the platform?)"))?;
            let id = r.try_get::<i64, _>("__id")?;
            let device_id = if entity == Entity::Repairs {
                r.try_get("__device_id")?
            } else {
                None
            };
            out.entry(row.customer(entity).to_string())
                .or_default()
                .push(TargetRow { row, id, device_id });
        }
    }
    Ok(out)
}

//! The platform database: one table per entity with its own `id`, the canonical columns,
//! `legacy_id` and `attributes` (brief section 3.3); child rows point at the platform customer
//! through `customer_id`, repairs at the platform device through `device_id`.
//!
//! Columns are in the database's own types (brief 3.3: exact money, real timestamps, JSON). On
//! PostgreSQL: `NUMERIC` money, `TIMESTAMPTZ`, `DATE`, `BOOLEAN`, `JSONB` attributes. SQLite
//! has no decimal type: money is stored as canonical decimal text (see
//! [`ColType::Money`]: `"2328.6"`), which is exact and reads back as written; booleans are
//! 0/1 and attributes are checked by `json_valid`. Every value is read back through
//! [`crate::schema::normalize`], so a checksum compares values, never column types.
//!
//! Writes are multi-row `INSERT`s and `DELETE … WHERE customer_id IN (…)`, never one
//! statement per row.

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Column as _, Row as _};

use crate::db::{Backend, placeholders};
use crate::schema::{ColType, Entity, Row, Val};
use crate::source::{self, CHUNK};

mod ddl;

use ddl::pg_type;
pub use ddl::{FENCE_DDL, advance_fence, ddl, ensure_schema};

/// Rows per `INSERT` statement: well under SQLite's bound-variable limit for any entity.
const INSERT_ROWS: usize = 400;

/// The expression that reads platform column `expr` as the text (or integer) the normaliser
/// takes: PostgreSQL's typed values are cast to their text form (the pool sets `TimeZone` to
/// UTC and `DateStyle` to ISO, so a `TIMESTAMPTZ` reads `2024-02-03 04:05:06+00`), which the
/// `Any` driver reads whatever the column's type; SQLite's are read as stored.
/// `t` is `None` for the attributes column (JSON).
fn read_expr(backend: Backend, expr: &str, t: Option<ColType>) -> String {
    match (backend, t) {
        (Backend::Postgres, Some(ColType::Id | ColType::Text | ColType::Int)) => expr.to_string(),
        (Backend::Postgres, _) => format!("CAST({expr} AS TEXT)"),
        _ => expr.to_string(),
    }
}

/// Platform ids of the customers whose legacy ids are `ids`.
pub async fn customer_ids(
    conn: &mut crate::db::Conn,
    ids: &[String],
) -> eyre::Result<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let mut q =
            crate::db::Builder::new("SELECT legacy_id, id FROM customers WHERE legacy_id IN ");
        q.push_list(chunk.iter().cloned());
        out.extend(
            q.build_query_as::<(String, i64)>()
                .fetch_all(&mut *conn)
                .await?,
        );
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

/// One cell of a platform row as it is written: a platform id it points at, one of the row's
/// canonical values, or its attributes. Borrowed, so the copy loop does not clone the rows.
#[derive(Clone, Copy)]
enum Cell<'a> {
    Id(Option<i64>),
    Val(&'a Val),
    Attrs(&'a str),
}

/// The `k`-th cell of `row` written with the platform ids `ids` in front.
fn cell<'a>(row: &'a Row, ids: &[Option<i64>], k: usize) -> Cell<'a> {
    match k.checked_sub(ids.len()) {
        None => Cell::Id(ids[k]),
        Some(v) if v < row.values.len() => Cell::Val(&row.values[v]),
        Some(_) => Cell::Attrs(&row.attributes),
    }
}

/// Binds `c` for a column of type `ty`; a NULL is typed as the column is, which PostgreSQL
/// requires.
fn push_cell(b: &mut crate::db::Values<'_>, c: Cell<'_>, ty: ColType) {
    match c {
        Cell::Id(id) => b.push_bind(id),
        Cell::Attrs(a) => b.push_bind(a.to_string()),
        Cell::Val(Val::Null) => match ty {
            ColType::Int | ColType::Bool => b.push_bind(None::<i64>),
            _ => b.push_bind(None::<String>),
        },
        Cell::Val(Val::Int(i)) => b.push_bind(*i),
        Cell::Val(Val::Text(s)) => b.push_bind(s.clone()),
    };
}

/// Inserts `rows` of `entity`. Children need their customer's platform id in `customers`;
/// repairs get `device_id` from `devices` keyed by (customer legacy id, device legacy id), NULL
/// where the device does not exist.
///
/// On PostgreSQL each chunk is one `INSERT … SELECT FROM UNNEST(…)` with one array per column
/// (a handful of parameters however many rows); on SQLite a multi-row `VALUES`.
///
/// Errors: a child whose customer has no platform row, or the database refusing the insert.
pub async fn insert(
    conn: &mut crate::db::Conn,
    entity: Entity,
    rows: &[&Row],
    customers: &HashMap<String, i64>,
    devices: &HashMap<(String, String), i64>,
) -> eyre::Result<()> {
    let mut cols: Vec<(&str, ColType)> = Vec::new();
    if entity != Entity::Customers {
        cols.push(("customer_id", ColType::Int));
    }
    if entity == Entity::Repairs {
        cols.push(("device_id", ColType::Int));
    }
    let n_ids = cols.len();
    cols.extend(entity.columns().iter().map(|c| (c.name, c.ty)));
    cols.push(("attributes", ColType::Text));
    let dev_idx = entity.column_index("device_legacy_id");
    // Each row's platform ids (customer, then device), resolved once.
    let mut ids: Vec<[Option<i64>; 2]> = Vec::with_capacity(rows.len());
    for row in rows {
        let mut r = [None; 2];
        if entity != Entity::Customers {
            let cust = row.customer(entity);
            let Some(id) = customers.get(cust) else {
                eyre::bail!(
                    "{} row for customer {cust}: the customer has no platform row",
                    entity.name()
                );
            };
            r[0] = Some(*id);
        }
        if let Some(i) = dev_idx {
            r[1] = row.values[i]
                .as_str()
                .and_then(|d| devices.get(&(row.customer(entity).to_string(), d.to_string())))
                .copied();
        }
        ids.push(r);
    }
    let table: Vec<(&Row, &[Option<i64>])> = rows
        .iter()
        .zip(&ids)
        .map(|(r, i)| (*r, &i[..n_ids]))
        .collect();
    let names: Vec<&str> = cols.iter().map(|(n, _)| *n).collect();
    let head = format!("INSERT INTO {} ({}) ", entity.name(), names.join(", "));
    let backend = Backend::of_conn(conn);
    if backend.has_array_unnest() {
        for chunk in table.chunks(UNNEST_ROWS) {
            let mut b = crate::db::Builder::new(head.clone());
            b.push("SELECT * FROM UNNEST(");
            for (k, (name, ty)) in cols.iter().enumerate() {
                if k > 0 {
                    b.push(", ");
                }
                let array = if *name == "attributes" {
                    "JSONB"
                } else {
                    pg_type(*ty)
                };
                b.push("CAST(");
                b.push_bind(pg_array(chunk.iter().map(|(r, i)| cell(r, i, k))));
                b.push(format!(" AS {array}[])"));
            }
            b.push(")");
            b.build().execute(&mut *conn).await?;
            crate::fault::point("copy.chunk");
        }
        return Ok(());
    }
    for chunk in table.chunks(INSERT_ROWS) {
        let mut b = crate::db::Builder::on(backend, head.clone());
        b.push_values(chunk, |mut v, (row, ids)| {
            for (k, (_, ty)) in cols.iter().enumerate() {
                push_cell(&mut v, cell(row, ids, k), *ty);
            }
        });
        b.build().execute(&mut *conn).await?;
        crate::fault::point("copy.chunk");
    }
    Ok(())
}

/// Rows per `INSERT … SELECT FROM UNNEST` on PostgreSQL: one parameter per column, so the
/// bound is memory, not the parameter limit.
const UNNEST_ROWS: usize = 5000;

/// A PostgreSQL array literal of `cells` (`{1,NULL,"a \\"b\\""}`), cast to the column's array
/// type in the statement. Every text element is quoted, so commas, braces, quotes, backslashes
/// and the word NULL survive.
fn pg_array<'a>(cells: impl Iterator<Item = Cell<'a>>) -> String {
    use std::fmt::Write;
    let mut s = String::from("{");
    for (i, c) in cells.enumerate() {
        if i > 0 {
            s.push(',');
        }
        let text = match c {
            Cell::Id(None) | Cell::Val(Val::Null) => {
                s.push_str("NULL");
                continue;
            }
            // A boolean's 0/1 is read by `BOOLEAN[]`'s input as false/true.
            Cell::Id(Some(n)) | Cell::Val(&Val::Int(n)) => {
                let _ = write!(s, "{n}");
                continue;
            }
            Cell::Val(Val::Text(t)) => t.as_str(),
            Cell::Attrs(a) => a,
        };
        s.push('"');
        for ch in text.chars() {
            if ch == '"' || ch == '\\' {
                s.push('\\');
            }
            s.push(ch);
        }
        s.push('"');
    }
    s.push('}');
    s
}

/// Platform ids of the devices of the customers `ids`, keyed by (customer legacy id, device
/// legacy id).
pub async fn device_ids(
    conn: &mut crate::db::Conn,
    ids: &[String],
) -> eyre::Result<HashMap<(String, String), i64>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let mut q = crate::db::Builder::new(
            "SELECT customer_legacy_id, legacy_id, id FROM devices WHERE customer_id IN \
             (SELECT id FROM customers WHERE legacy_id IN ",
        );
        q.push_list(chunk.iter().cloned()).push(")");
        let rows = q
            .build_query_as::<(Option<String>, Option<String>, i64)>()
            .fetch_all(&mut *conn)
            .await?;
        for (cust, dev, id) in rows {
            out.insert((cust.unwrap_or_default(), dev.unwrap_or_default()), id);
        }
    }
    Ok(out)
}

/// Every entity's platform rows of the customers `ids`, per entity and customer legacy id (see
/// [`rows_for`]), read on one connection of `pool`.
///
/// Errors: as [`rows_for`], naming the platform database.
pub async fn read_all(
    pool: &crate::db::Pool,
    ids: &[String],
) -> eyre::Result<HashMap<Entity, HashMap<String, Vec<TargetRow>>>> {
    use crate::db::InDb;
    async {
        let mut conn = pool.acquire().await?;
        let mut out = HashMap::new();
        for e in Entity::ALL {
            out.insert(e, rows_for(&mut conn, e, ids).await?);
        }
        Ok::<_, eyre::Report>(out)
    }
    .await
    .in_db("platform")
}

/// A platform row read back: its canonical form plus the platform ids a relationship check needs.
#[derive(Debug, Clone)]
pub struct TargetRow {
    /// The row, canonical.
    pub row: Row,
    /// Its id.
    pub id: i64,
    /// The platform id of the device the repair points at.
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
    let backend = Backend::of_conn(conn);
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
            "SELECT {}, {} AS attributes, t.id AS __id{extra} FROM {} t WHERE {filter}",
            entity
                .columns()
                .iter()
                .map(|c| format!(
                    "{} AS {}",
                    read_expr(backend, &format!("t.{}", c.name), Some(c.ty)),
                    c.name
                ))
                .collect::<Vec<_>>()
                .join(", "),
            read_expr(backend, "t.attributes", None),
            entity.name()
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.clone());
        }
        let rows = q.fetch_all(&mut *conn).await?;
        let Some(first) = rows.first() else { continue };
        let names: Vec<String> = first
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
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

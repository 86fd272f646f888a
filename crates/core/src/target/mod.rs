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
//! A platform another team built is reached through its [`Layout`]: each entity's table, its
//! external-id key, parent references and the columns the canonical ones go to, checked against
//! the catalogue at start. Every function here reads and writes through the layout, managed or
//! not.
//!
//! Writes are multi-row `INSERT`s and `DELETE … WHERE parent IN (…)`, never one statement per
//! row.

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Column as _, Row as _};

use crate::db::Backend;
use crate::schema::{ColType, Entity, Row, Val};
use crate::source::{self, CHUNK};

mod ddl;
pub mod http;
mod layout;
mod merge;

pub use ddl::{FENCE_DDL, advance_fence, ddl, ensure_schema};
pub use layout::{Col, Layout, Slot, Table};
pub use merge::update;

/// Rows per `INSERT` statement: well under SQLite's bound-variable limit for any entity.
const INSERT_ROWS: usize = 400;

/// The expression that reads platform column `expr` as the text (or integer) the normaliser
/// takes: PostgreSQL's typed values are cast to their text form (the pool sets `TimeZone` to
/// UTC and `DateStyle` to ISO, so a `TIMESTAMPTZ` reads `2024-02-03 04:05:06+00`), which the
/// `Any` driver reads whatever the column's type; SQLite's are read as stored.
/// `t` is `None` for the attributes column (JSON).
/// On a mapped PostgreSQL platform every column is read as text: its types (enums, `int4`,
/// `varchar`) are the other team's, and the normaliser reads them all from text.
fn read_expr(layout: &Layout, expr: &str, t: Option<ColType>) -> String {
    match (layout.backend, t) {
        (Backend::Postgres, _) if !layout.managed => format!("CAST({expr} AS TEXT)"),
        (Backend::Postgres, Some(ColType::Id | ColType::Text | ColType::Int)) => expr.to_string(),
        (Backend::Postgres, _) => format!("CAST({expr} AS TEXT)"),
        _ => expr.to_string(),
    }
}

/// `n` placeholders from the `start`-th, each cast as `t`'s key column needs
/// ([`Backend::placeholder`]: the SQL binds in the order they appear).
fn key_params(b: Backend, t: &Table, start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| t.key_param(&b.placeholder(i)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Platform ids of the customers whose legacy ids are `ids`.
pub async fn customer_ids(
    conn: &mut crate::db::Conn,
    layout: &Layout,
    ids: &[String],
) -> eyre::Result<HashMap<String, i64>> {
    let c = layout.customers();
    let mut out = HashMap::new();
    let backend = Backend::of_conn(conn);
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT {} AS k, CAST(t.{} AS BIGINT) AS id FROM {} t WHERE t.{} IN ({})",
            c.key_text("t"),
            c.id,
            c.name,
            c.key,
            key_params(backend, c, 1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.clone());
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// Removes every platform row of the customers `ids` (children first). Returns rows deleted.
pub async fn delete_customers(
    conn: &mut crate::db::Conn,
    layout: &Layout,
    ids: &[String],
) -> eyre::Result<u64> {
    let mut n = delete_children(conn, layout, ids, &Keep::default()).await?;
    let c = layout.customers();
    let backend = Backend::of_conn(conn);
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "DELETE FROM {} WHERE {} IN ({})",
            c.name,
            c.key,
            key_params(backend, c, 1, chunk.len())
        );
        n += delete_where(conn, &sql, chunk).await?;
    }
    Ok(n)
}

/// `SELECT id FROM` the customers' table `WHERE key IN ($1…)`, for `n` legacy ids.
fn customers_in(b: Backend, layout: &Layout, n: usize) -> String {
    let c = layout.customers();
    format!(
        "SELECT {} FROM {} WHERE {} IN ({})",
        c.id,
        c.name,
        c.key,
        key_params(b, c, 1, n)
    )
}

/// Removes the child rows (not the customer rows) of the customers `ids`, as `keep` allows: a
/// customer the platform held before cutover keeps the rows its backup saw (`keep.ids`), and
/// loses only the rows cutover wrote (`keep.only`: their keys), so a row the platform added
/// since stays too.
pub async fn delete_children(
    conn: &mut crate::db::Conn,
    layout: &Layout,
    ids: &[String],
    keep: &Keep,
) -> eyre::Result<u64> {
    let mut n = 0;
    let backend = Backend::of_conn(conn);
    for chunk in ids.chunks(CHUNK) {
        let sub = customers_in(backend, layout, chunk.len());
        for e in [
            Entity::Repairs,
            Entity::Payments,
            Entity::Communications,
            Entity::Devices,
        ] {
            let Some(t) = layout.table(e) else { continue };
            let Some(parent) = &t.parent else { continue };
            // Platform ids are integers: written into the statement, not bound.
            let except = match keep.ids.get(&e) {
                Some(k) if !k.is_empty() => format!(
                    " AND {} NOT IN ({})",
                    t.id,
                    k.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
                ),
                _ => String::new(),
            };
            let base = format!("DELETE FROM {} WHERE {parent} IN ({sub}){except}", t.name);
            let Some(only) = &keep.only else {
                n += delete_where(conn, &base, chunk).await?;
                continue;
            };
            for keys in only.get(&e).map_or(&[][..], Vec::as_slice).chunks(CHUNK) {
                let sql = format!(
                    "{base} AND {} IN ({})",
                    t.key,
                    key_params(backend, t, chunk.len() + 1, keys.len())
                );
                let binds: Vec<String> = chunk.iter().chain(keys).cloned().collect();
                n += delete_where(conn, &sql, &binds).await?;
            }
        }
    }
    Ok(n)
}

/// What a delete of customers' children leaves: see [`delete_children`].
#[derive(Debug, Clone, Default)]
pub struct Keep {
    /// Platform ids left alone, per entity: the platform's own rows.
    pub ids: HashMap<Entity, Vec<i64>>,
    /// When set, only rows whose key is listed for their entity are deleted: the rows cutover
    /// wrote.
    pub only: Option<HashMap<Entity, Vec<String>>>,
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
pub(super) enum Cell<'a> {
    Id(Option<i64>),
    Val(&'a Val),
    Attrs(&'a str),
}

/// The cell of `row` for column `c`, with the row's platform ids (customer, device).
pub(super) fn cell<'a>(row: &'a Row, ids: [Option<i64>; 2], c: &Col) -> Cell<'a> {
    match c.slot {
        Slot::Parent => Cell::Id(ids[0]),
        Slot::Device => Cell::Id(ids[1]),
        Slot::Value(i) => Cell::Val(&row.values[i]),
        Slot::Attrs => Cell::Attrs(&row.attributes),
    }
}

/// Binds `c` for a column of type `ty`; a NULL is typed as the column is, which PostgreSQL
/// requires.
pub(super) fn push_cell(b: &mut crate::db::Values<'_>, c: Cell<'_>, ty: ColType) {
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

/// Inserts `rows` of `entity` into its platform table as `layout` describes it. Children need
/// their customer's platform id in `customers`; repairs get their device's from `devices`
/// keyed by (customer legacy id, device legacy id), NULL where the device does not exist.
///
/// On PostgreSQL each chunk is one `INSERT … SELECT FROM UNNEST(…)` with one array per column,
/// cast to the column's own type (a handful of parameters however many rows); on SQLite a
/// multi-row `VALUES`.
///
/// Errors: a child whose customer has no platform row, or the database refusing the insert.
pub async fn insert(
    conn: &mut crate::db::Conn,
    layout: &Layout,
    entity: Entity,
    rows: &[&Row],
    customers: &HashMap<String, i64>,
    devices: &HashMap<(String, String), i64>,
) -> eyre::Result<()> {
    let Some(t) = layout.table(entity) else {
        return Ok(());
    };
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
    let table: Vec<(&Row, [Option<i64>; 2])> = rows.iter().copied().zip(ids).collect();
    let names: Vec<&str> = t.cols.iter().map(|c| c.name.as_str()).collect();
    let head = format!("INSERT INTO {} ({}) ", t.name, names.join(", "));
    let backend = Backend::of_conn(conn);
    if backend.has_array_unnest() {
        for chunk in table.chunks(UNNEST_ROWS) {
            let mut b = crate::db::Builder::new(head.clone());
            b.push("SELECT * FROM UNNEST(");
            for (k, c) in t.cols.iter().enumerate() {
                if k > 0 {
                    b.push(", ");
                }
                b.push("CAST(");
                b.push_bind(pg_array(chunk.iter().map(|(r, i)| cell(r, *i, c))));
                b.push(format!(" AS {}[])", c.pg));
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
            for c in &t.cols {
                push_cell(&mut v, cell(row, *ids, c), c.ty);
            }
        });
        b.build_chunk(chunk.len(), INSERT_ROWS)
            .execute(&mut *conn)
            .await?;
        crate::fault::point("copy.chunk");
    }
    Ok(())
}

/// Rows per `INSERT … SELECT FROM UNNEST` on PostgreSQL: one parameter per column, so the
/// bound is memory, not the parameter limit.
pub(super) const UNNEST_ROWS: usize = 5000;

/// A PostgreSQL array literal of `cells` (`{1,NULL,"a \\"b\\""}`), cast to the column's array
/// type in the statement. Every text element is quoted, so commas, braces, quotes, backslashes
/// and the word NULL survive.
pub(super) fn pg_array<'a>(cells: impl Iterator<Item = Cell<'a>>) -> String {
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
    layout: &Layout,
    ids: &[String],
) -> eyre::Result<HashMap<(String, String), i64>> {
    let mut out = HashMap::new();
    let Some(d) = layout.table(Entity::Devices) else {
        return Ok(out);
    };
    let c = layout.customers();
    let parent = d.owner_id();
    let backend = Backend::of_conn(conn);
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT {}, {}, CAST(d.{} AS BIGINT) FROM {} d JOIN {} c ON c.{} = d.{parent} WHERE c.{} IN ({})",
            c.key_text("c"),
            d.key_text("d"),
            d.id,
            d.name,
            c.name,
            c.id,
            c.key,
            key_params(backend, c, 1, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (Option<String>, Option<String>, i64)>(AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(id.clone());
        }
        for (cust, dev, id) in q.fetch_all(&mut *conn).await? {
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
    layout: &Layout,
    ids: &[String],
) -> eyre::Result<HashMap<Entity, HashMap<String, Vec<TargetRow>>>> {
    use crate::db::InDb;
    async {
        let mut conn = pool.acquire().await?;
        let mut out = HashMap::new();
        for e in Entity::ALL {
            out.insert(e, rows_for(&mut conn, layout, e, ids).await?);
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

/// The `SELECT` list that reads `t`'s rows back under canonical column names: the key as
/// `legacy_id`, the owning customer's key through the parent reference, the device's key
/// through the device reference, each written column, the attributes, and the platform ids
/// (`__id`, `__device_id`).
fn select_list(layout: &Layout, t: &Table) -> String {
    let e = t.entity;
    let c = layout.customers();
    let mut out = vec![format!("{} AS legacy_id", t.key_text("t"))];
    let written = |i: usize| t.cols.iter().find(|c| c.slot == Slot::Value(i));
    for (i, col) in e.columns().iter().enumerate().skip(1) {
        let expr = match (written(i), col.name) {
            (Some(w), _) => read_expr(layout, &format!("t.{}", w.name), Some(col.ty)),
            (None, "customer_legacy_id") => format!(
                "(SELECT {} FROM {} p WHERE p.{} = t.{})",
                c.key_text("p"),
                c.name,
                c.id,
                t.owner_id()
            ),
            (None, "device_legacy_id") => match (&t.device, layout.table(Entity::Devices)) {
                (Some(dev), Some(d)) => format!(
                    "(SELECT {} FROM {} dv WHERE dv.{} = t.{dev})",
                    d.key_text("dv"),
                    d.name,
                    d.id
                ),
                _ => continue,
            },
            (None, _) => continue,
        };
        out.push(format!("{expr} AS {}", col.name));
    }
    if let Some(a) = t.cols.iter().find(|c| c.slot == Slot::Attrs) {
        out.push(format!(
            "{} AS attributes",
            read_expr(layout, &format!("t.{}", a.name), None)
        ));
    }
    out.push(format!("CAST(t.{} AS BIGINT) AS __id", t.id));
    if let Some(dev) = &t.device {
        out.push(format!("CAST(t.{dev} AS BIGINT) AS __device_id"));
    }
    out.join(", ")
}

/// The platform rows of `entity` owned (through its parent reference) by the customers `ids`,
/// grouped by customer legacy id.
///
/// Errors: a stored value that no longer normalises (the platform was edited by hand), or SQL.
pub async fn rows_for(
    conn: &mut crate::db::Conn,
    layout: &Layout,
    entity: Entity,
    ids: &[String],
) -> eyre::Result<HashMap<String, Vec<TargetRow>>> {
    let mut out: HashMap<String, Vec<TargetRow>> = HashMap::new();
    let Some(t) = layout.table(entity) else {
        return Ok(out);
    };
    let c = layout.customers();
    let select = select_list(layout, t);
    let backend = Backend::of_conn(conn);
    for chunk in ids.chunks(CHUNK) {
        let filter = if entity == Entity::Customers {
            format!(
                "t.{} IN ({})",
                c.key,
                key_params(backend, c, 1, chunk.len())
            )
        } else {
            format!(
                "t.{} IN ({})",
                t.owner_id(),
                customers_in(backend, layout, chunk.len())
            )
        };
        let sql = format!("SELECT {select} FROM {} t WHERE {filter}", t.name);
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
            let device_id = if t.device.is_some() {
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

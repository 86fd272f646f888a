//! Writing into rows the platform already had: a customer who signed up on the new platform
//! before their wave keeps its platform row (and id); `target.on_existing = "merge"` writes the
//! mapped columns into it, and a rollback writes the pre-image back the same way.

use super::{Layout, Slot, UNNEST_ROWS, cell, pg_array, push_cell};
use crate::db::{Backend, Builder};
use crate::schema::{Entity, Row};

/// Rows per `UPDATE … FROM (VALUES …)` on SQLite.
const UPDATE_ROWS: usize = 200;

/// Writes every column the layout maps (the canonical values and the attributes, not the
/// platform's other columns) of `rows` into the platform rows of `entity` whose key is each
/// row's legacy id; rows the platform does not have are left alone. One statement per chunk:
/// `UPDATE … FROM UNNEST(…)` on PostgreSQL, each array cast to its column's type, and
/// `UPDATE … FROM (VALUES …)` on SQLite.
///
/// Errors: the database refusing a value (a constraint of the platform's).
pub async fn update(
    conn: &mut crate::db::Conn,
    layout: &Layout,
    entity: Entity,
    rows: &[&Row],
) -> eyre::Result<u64> {
    let Some(t) = layout.table(entity) else {
        return Ok(0);
    };
    if rows.is_empty() {
        return Ok(0);
    }
    // The key first, then what is written; the platform's own references stay as they are.
    let key = t
        .cols
        .iter()
        .find(|c| c.slot == Slot::Value(0))
        .ok_or_else(|| eyre::eyre!("{}: the layout writes no key column", t.name))?;
    let set: Vec<_> = t
        .cols
        .iter()
        .filter(|c| matches!(c.slot, Slot::Value(i) if i > 0) || c.slot == Slot::Attrs)
        .collect();
    if set.is_empty() {
        return Ok(0);
    }
    let cols: Vec<_> = std::iter::once(key).chain(set.iter().copied()).collect();
    let backend = Backend::of_conn(conn);
    let mut n = 0;
    if backend.has_array_unnest() {
        let assign: Vec<String> = set
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{} = u.v{}", c.name, i + 1))
            .collect();
        let aliases: Vec<String> = (0..cols.len()).map(|i| format!("v{i}")).collect();
        for chunk in rows.chunks(UNNEST_ROWS) {
            let mut b = Builder::new(format!(
                "UPDATE {} AS t SET {} FROM UNNEST(",
                t.name,
                assign.join(", ")
            ));
            for (k, c) in cols.iter().enumerate() {
                if k > 0 {
                    b.push(", ");
                }
                b.push("CAST(");
                b.push_bind(pg_array(chunk.iter().map(|r| cell(r, [None; 2], c))));
                b.push(format!(" AS {}[])", c.pg));
            }
            b.push(format!(
                ") AS u({}) WHERE t.{} = u.v0",
                aliases.join(", "),
                t.key
            ));
            n += b.build().execute(&mut *conn).await?.rows_affected();
        }
        return Ok(n);
    }
    let assign: Vec<String> = set
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = u.column{}", c.name, i + 2))
        .collect();
    for chunk in rows.chunks(UPDATE_ROWS) {
        let mut b = Builder::on(
            backend,
            format!("UPDATE {} SET {} FROM (", t.name, assign.join(", ")),
        );
        b.push_values(chunk, |mut v, row| {
            for c in &cols {
                push_cell(&mut v, cell(row, [None; 2], c), c.ty);
            }
        });
        b.push(format!(") AS u WHERE {}.{} = u.column1", t.name, t.key));
        n += b
            .build_chunk(chunk.len(), UPDATE_ROWS)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(n)
}

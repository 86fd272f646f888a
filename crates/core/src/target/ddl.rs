//! The managed platform's tables in the database's own types, the in-place upgrade of a
//! platform an earlier version created, and the fence table.

use sqlx::AssertSqlSafe;

use super::layout::{Layout, Slot, catalogue, pg_type};
use crate::db::Backend;
use crate::schema::{ColType, Entity};

/// A managed platform column's definition on `backend`.
fn column_def(backend: Backend, name: &str, t: ColType) -> String {
    match (backend, t) {
        (Backend::Postgres, _) => format!("{name} {}", pg_type(t)),
        (_, ColType::Int) => format!("{name} INTEGER"),
        (_, ColType::Bool) => format!("{name} INTEGER CHECK ({name} IN (0, 1))"),
        _ => format!("{name} TEXT"),
    }
}

/// The platform's DDL for `backend`: the tables of the managed [`Layout`] (so the schema is
/// defined once, where the writes and reads take it from), their parent indexes, and the
/// repairs' device index.
pub fn ddl(backend: Backend) -> Vec<String> {
    let layout = Layout::managed(backend);
    let mut out = Vec::new();
    for e in Entity::ALL {
        let Some(t) = layout.table(e) else { continue };
        let mut cols = vec![backend.identity_column().to_string()];
        for c in &t.cols {
            cols.push(match c.slot {
                Slot::Parent => format!("{} BIGINT NOT NULL REFERENCES customers (id)", c.name),
                Slot::Device => format!("{} BIGINT REFERENCES devices (id)", c.name),
                Slot::Value(0) if e == Entity::Customers => {
                    format!("{} NOT NULL UNIQUE", column_def(backend, &c.name, c.ty))
                }
                Slot::Value(_) => column_def(backend, &c.name, c.ty),
                Slot::Attrs => match backend {
                    Backend::Postgres => format!("{} {} NOT NULL DEFAULT '{{}}'", c.name, c.pg),
                    _ => format!(
                        "{0} TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid({0}))",
                        c.name
                    ),
                },
            });
        }
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {} (\n  {}\n)",
            t.name,
            cols.join(",\n  ")
        ));
        if let Some(p) = &t.parent {
            out.push(format!(
                "CREATE INDEX IF NOT EXISTS {0}_customer ON {0} ({p})",
                t.name
            ));
        }
        if let Some(d) = &t.device {
            // Deleting a device checks that no repair still points at it; without this index
            // that check scanned every repair for each device (a rollback's deletes: perf).
            out.push(format!(
                "CREATE INDEX IF NOT EXISTS {0}_device ON {0} ({d})",
                t.name
            ));
        }
    }
    out
}

/// The platform's fence table: the newest lease token seen per batch. It lives in the platform
/// database so that the platform itself, in the same transaction as the write, rejects a worker
/// whose lease was taken over (see [`crate::engine::lease`]).
pub const FENCE_DDL: &str = "CREATE TABLE IF NOT EXISTS cutover_fence (\n  batch_id TEXT PRIMARY KEY,\n  token BIGINT NOT NULL\n)";

/// Checks and advances `batch`'s token to `token` in the platform's fence table, on `conn`
/// (the write transaction it guards; call it first, so that on PostgreSQL the fence row's lock
/// orders the batch's writers). Returns false when a newer token was already seen: nothing in
/// the transaction may then be committed.
///
/// Errors: the database refusing the statement.
pub async fn advance_fence(
    conn: &mut crate::db::Conn,
    batch: &str,
    token: i64,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "INSERT INTO cutover_fence (batch_id, token) VALUES ($1, $2) \
         ON CONFLICT (batch_id) DO UPDATE SET token = excluded.token \
         WHERE cutover_fence.token <= excluded.token",
    )
    .bind(batch.to_string())
    .bind(token)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Creates the platform tables if they are missing, and on PostgreSQL brings a managed
/// platform created by an earlier version (`DOUBLE PRECISION` money, `TEXT` timestamps and
/// attributes, `BIGINT` booleans) to the database's own types, converting each value exactly.
pub async fn ensure_schema(pool: &crate::db::Pool) -> eyre::Result<()> {
    let backend = Backend::of_pool(pool);
    for stmt in ddl(backend) {
        sqlx::query(AssertSqlSafe(stmt)).execute(pool).await?;
    }
    sqlx::query(FENCE_DDL).execute(pool).await?;
    if backend == Backend::Postgres {
        for stmt in upgrades(pool).await? {
            tracing::info!(%stmt, "platform: managed column brought to its type");
            sqlx::query(AssertSqlSafe(stmt)).execute(pool).await?;
        }
    }
    Ok(())
}

/// The `ALTER TABLE` statements that give each managed PostgreSQL column of the managed
/// [`Layout`] its type, for the columns whose type (as the catalogue prints it) differs.
async fn upgrades(pool: &crate::db::Pool) -> eyre::Result<Vec<String>> {
    let layout = Layout::managed(Backend::Postgres);
    let mut out = Vec::new();
    for e in Entity::ALL {
        let Some(t) = layout.table(e) else { continue };
        let found = catalogue(pool, Backend::Postgres, &t.name).await?;
        for c in &t.cols {
            let (col, want) = (&c.name, &c.pg);
            if matches!(c.slot, Slot::Parent | Slot::Device)
                || found.get(col).is_none_or(|f| &f.ty == want)
            {
                continue;
            }
            // Through text: a double's text is its shortest decimal, a 0/1 reads as a boolean.
            let mut stmt = format!(
                "ALTER TABLE {} ALTER COLUMN {col} DROP DEFAULT, \
                 ALTER COLUMN {col} TYPE {want} USING CAST(CAST({col} AS TEXT) AS {want})",
                t.name
            );
            if c.slot == Slot::Attrs {
                stmt.push_str(&format!(", ALTER COLUMN {col} SET DEFAULT '{{}}'"));
            }
            out.push(stmt);
        }
    }
    Ok(out)
}

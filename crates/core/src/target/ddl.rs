//! The managed platform's tables in the database's own types, the in-place upgrade of a
//! platform an earlier version created, and the fence table.

use std::collections::HashMap;

use sqlx::AssertSqlSafe;

use crate::db::Backend;
use crate::schema::{ColType, Entity};

/// The PostgreSQL type of a managed platform column of canonical type `t`.
pub(super) fn pg_type(t: ColType) -> &'static str {
    match t {
        ColType::Int => "BIGINT",
        ColType::Bool => "BOOLEAN",
        ColType::Money => "NUMERIC",
        ColType::Timestamp => "TIMESTAMPTZ",
        ColType::Date => "DATE",
        ColType::Id | ColType::Text => "TEXT",
    }
}

/// A managed platform column's definition on `backend`.
fn column_def(backend: Backend, name: &str, t: ColType) -> String {
    match (backend, t) {
        (Backend::Postgres, _) => format!("{name} {}", pg_type(t)),
        (_, ColType::Int) => format!("{name} INTEGER"),
        (_, ColType::Bool) => format!("{name} INTEGER CHECK ({name} IN (0, 1))"),
        _ => format!("{name} TEXT"),
    }
}

/// The platform's DDL for `backend`, generated from the canonical schema.
pub fn ddl(backend: Backend) -> Vec<String> {
    let id = backend.identity_column();
    let mut out = Vec::new();
    for e in Entity::ALL {
        let mut cols = vec![id.to_string()];
        if e != Entity::Customers {
            cols.push("customer_id BIGINT NOT NULL REFERENCES customers (id)".into());
        }
        if e == Entity::Repairs {
            cols.push("device_id BIGINT REFERENCES devices (id)".into());
        }
        for c in e.columns() {
            let mut d = column_def(backend, c.name, c.ty);
            if e == Entity::Customers && c.name == "legacy_id" {
                d.push_str(" NOT NULL UNIQUE");
            }
            cols.push(d);
        }
        cols.push(match backend {
            Backend::Postgres => "attributes JSONB NOT NULL DEFAULT '{}'".into(),
            _ => "attributes TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(attributes))".into(),
        });
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
        if e == Entity::Repairs {
            // Deleting a device checks that no repair still points at it; without this index
            // that check scanned every repair for each device (a rollback's deletes: perf).
            out.push("CREATE INDEX IF NOT EXISTS repairs_device ON repairs (device_id)".into());
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

/// The `ALTER TABLE` statements that give each managed PostgreSQL column its type, for the
/// columns whose type (`udt_name`) differs.
async fn upgrades(pool: &crate::db::Pool) -> eyre::Result<Vec<String>> {
    let found: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, udt_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema()",
    )
    .fetch_all(pool)
    .await?;
    let found: HashMap<(String, String), String> =
        found.into_iter().map(|(t, c, u)| ((t, c), u)).collect();
    let mut out = Vec::new();
    for e in Entity::ALL {
        let wanted = e
            .columns()
            .iter()
            .map(|c| (c.name, Some(c.ty)))
            .chain([("attributes", None)]);
        for (col, ty) in wanted {
            let (want, udt) = match ty {
                Some(t) => (pg_type(t), pg_udt(t)),
                None => ("JSONB", "jsonb"),
            };
            let Some(have) = found.get(&(e.name().to_string(), col.to_string())) else {
                continue;
            };
            if have == udt {
                continue;
            }
            // Through text: a double's text is its shortest decimal, a 0/1 reads as a boolean.
            let using = match ty {
                Some(ColType::Bool) => format!("CAST(CAST({col} AS TEXT) AS BOOLEAN)"),
                _ => format!("CAST(CAST({col} AS TEXT) AS {want})"),
            };
            let default = if ty.is_none() {
                format!(", ALTER COLUMN {col} SET DEFAULT '{{}}'")
            } else {
                String::new()
            };
            out.push(format!(
                "ALTER TABLE {} ALTER COLUMN {col} DROP DEFAULT, ALTER COLUMN {col} TYPE {want} USING {using}{default}",
                e.name()
            ));
        }
    }
    Ok(out)
}

/// PostgreSQL's `udt_name` for [`pg_type`].
fn pg_udt(t: ColType) -> &'static str {
    match t {
        ColType::Int => "int8",
        ColType::Bool => "bool",
        ColType::Money => "numeric",
        ColType::Timestamp => "timestamptz",
        ColType::Date => "date",
        ColType::Id | ColType::Text => "text",
    }
}

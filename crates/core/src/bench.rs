//! `cutover bench`: measurements that compare our code with what the database does on its
//! own, both sides in one run (the machines are shared and noisy, so only ratios travel).
//!
//! `copy`: the platform insert path ([`crate::target::insert`]: multi-row `VALUES` on SQLite,
//! `UNNEST` arrays on PostgreSQL) against a server-side `INSERT … SELECT` of the same rows.
//! It works in a scratch schema (PostgreSQL) or a scratch file (SQLite) and drops it after.

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;

use crate::db::{self, Backend};
use crate::schema::{Entity, Row, Val};

/// What one `copy` measurement found. Rates are rows per second.
#[derive(Debug, Clone, Serialize)]
pub struct CopyBench {
    pub backend: String,
    pub rows: usize,
    /// Our insert path: rows/s, and seconds.
    pub ours_rows_per_sec: f64,
    pub ours_secs: f64,
    /// The server copying the same rows table to table: rows/s, and seconds.
    pub server_rows_per_sec: f64,
    pub server_secs: f64,
    /// ours / server.
    pub ratio: f64,
}

/// Synthetic payments for `customers` customers, `per` each: realistic widths (ids, amounts,
/// dates, a JSON attribute), generated, not read, so only the insert is timed.
fn payments(customers: usize, per: usize) -> Vec<Row> {
    let n = Entity::Payments.columns().len();
    let idx = |c: &str| Entity::Payments.column_index(c).unwrap_or(0);
    let mut out = Vec::with_capacity(customers * per);
    for c in 0..customers {
        for k in 0..per {
            let mut v = vec![Val::Null; n];
            v[idx("legacy_id")] = Val::Text(format!("p{c}-{k}"));
            v[idx("customer_legacy_id")] = Val::Text(format!("c{c}"));
            v[idx("amount")] = Val::Real(12.5 + (c * 7 + k) as f64 % 900.0);
            v[idx("currency")] = Val::Text("EUR".into());
            v[idx("paid_at")] =
                Val::Text(format!("2026-{:02}-{:02} 10:00:00", 1 + k % 12, 1 + c % 28));
            v[idx("method")] = Val::Text("card".into());
            v[idx("status")] = Val::Text("PAID".into());
            out.push(Row {
                values: v,
                attributes: format!("{{\"invoice_ref\":\"INV-{c}-{k}\"}}"),
            });
        }
    }
    out
}

/// Measures the platform insert path against a server-side `INSERT … SELECT` of the same
/// `rows` payment rows on the database at `url` (`sqlite://` or `postgres://`), in a scratch
/// schema or file that is removed afterwards.
///
/// Errors: the database refusing a statement.
pub async fn copy(url: &str, rows: usize) -> eyre::Result<CopyBench> {
    let backend = Backend::of_url(url, "bench")?;
    let scratch = format!("cutover_bench_{}", std::process::id());
    let (url, file) = match backend {
        Backend::Postgres => {
            let admin = db::open(url, "bench", false, false).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {scratch}")))
                .execute(&admin)
                .await?;
            admin.close().await;
            let sep = if url.contains('?') { '&' } else { '?' };
            (
                format!("{url}{sep}options=-c%20search_path%3D{scratch}"),
                None,
            )
        }
        _ => {
            let f = std::env::temp_dir().join(format!("{scratch}.db"));
            (format!("sqlite://{}", f.display()), Some(f))
        }
    };
    let result = copy_in(&url, backend, rows).await;
    match &file {
        Some(f) => db::remove_sqlite_files(f)?,
        None => {
            let admin = db::open(&url, "bench", false, false).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA {scratch} CASCADE"
            )))
            .execute(&admin)
            .await?;
            admin.close().await;
        }
    }
    result
}

async fn copy_in(url: &str, backend: Backend, rows: usize) -> eyre::Result<CopyBench> {
    let pool = db::open(url, "bench", true, false).await?;
    crate::target::ensure_schema(&pool).await?;
    let per = 10;
    let customers = rows.div_ceil(per);
    // Customers first (not timed): payments point at them.
    let mut cust_rows = Vec::with_capacity(customers);
    let n = Entity::Customers.columns().len();
    for c in 0..customers {
        let mut v = vec![Val::Null; n];
        v[0] = Val::Text(format!("c{c}"));
        v[Entity::Customers.column_index("name").unwrap_or(1)] = Val::Text(format!("Customer {c}"));
        cust_rows.push(Row {
            values: v,
            attributes: "{}".into(),
        });
    }
    let mut conn = pool.acquire().await?;
    let refs: Vec<&Row> = cust_rows.iter().collect();
    crate::target::insert(
        &mut conn,
        Entity::Customers,
        &refs,
        &HashMap::new(),
        &HashMap::new(),
    )
    .await?;
    let ids: Vec<String> = cust_rows
        .iter()
        .map(|r| r.legacy_id().to_string())
        .collect();
    let platform = crate::target::customer_ids(&mut conn, &ids).await?;
    // Back to the pool: `close` below waits for every connection.
    drop(conn);
    let mut pay = payments(customers, per);
    pay.truncate(rows);
    let refs: Vec<&Row> = pay.iter().collect();

    // Ours: one transaction, as the pipeline's migrate_data step does per batch.
    let t0 = Instant::now();
    let mut tx = db::write_tx(&pool).await?;
    crate::target::insert(&mut tx, Entity::Payments, &refs, &platform, &HashMap::new()).await?;
    tx.commit().await?;
    let ours = t0.elapsed().as_secs_f64();

    // The server: the same rows, table to table, in one statement.
    sqlx::raw_sql("CREATE TABLE payments_copy AS SELECT * FROM payments WHERE 1 = 0")
        .execute(&pool)
        .await?;
    let cols: Vec<&str> = std::iter::once("customer_id")
        .chain(Entity::Payments.columns().iter().map(|c| c.name))
        .chain(std::iter::once("attributes"))
        .collect();
    let list = cols.join(", ");
    let t0 = Instant::now();
    let mut tx = db::write_tx(&pool).await?;
    let copied = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO payments_copy ({list}) SELECT {list} FROM payments"
    )))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    let server = t0.elapsed().as_secs_f64();
    eyre::ensure!(
        copied as usize == rows,
        "the server copied {copied} rows, expected {rows}"
    );
    pool.close().await;
    let rate = |s: f64| rows as f64 / s.max(1e-9);
    Ok(CopyBench {
        backend: format!("{backend:?}").to_lowercase(),
        rows,
        ours_rows_per_sec: rate(ours),
        ours_secs: ours,
        server_rows_per_sec: rate(server),
        server_secs: server,
        ratio: server / ours.max(1e-9),
    })
}

/// Percentiles of a set of timings, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub name: String,
    pub runs: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

/// The percentiles of `ms` (milliseconds), named `name`.
pub fn timing(name: &str, mut ms: Vec<f64>) -> Timing {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    Timing {
        name: name.to_string(),
        runs: ms.len(),
        p50_ms: at(0.5),
        p95_ms: at(0.95),
        max_ms: at(1.0),
    }
}

/// Runs `f` `runs` times and returns each run's time in milliseconds.
///
/// Errors: the first run that fails.
pub async fn time_async<F, Fut, T>(runs: usize, mut f: F) -> eyre::Result<Vec<f64>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = eyre::Result<T>>,
{
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t0 = Instant::now();
        f().await?;
        out.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    Ok(out)
}

/// What one `pipeline` measurement found. Rates are platform rows per second.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineBench {
    pub backend: String,
    pub batches: usize,
    /// Customers the run migrated (the wave the server side copies again).
    pub customers: usize,
    /// Platform rows the run wrote (all five entities).
    pub rows: u64,
    /// The whole pipeline (`cutover run`: backup, create_account, migrate_data, validate,
    /// notify, with every step recorded in the state): rows/s and seconds.
    pub ours_rows_per_sec: f64,
    pub ours_secs: f64,
    /// How the server side copies: `attach` (SQLite: the legacy file attached, every mapping
    /// query run as one `INSERT INTO … SELECT` with platform ids joined in) or `table`
    /// (PostgreSQL: the same platform rows copied table to table in a scratch schema).
    pub server_method: &'static str,
    pub server_rows: u64,
    pub server_rows_per_sec: f64,
    pub server_secs: f64,
    /// ours / server, in rows/s.
    pub ratio: f64,
}

/// Platform rows per entity, summed.
async fn platform_rows(pool: &db::Pool) -> eyre::Result<u64> {
    let mut n = 0i64;
    for e in Entity::ALL {
        n += sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}",
            e.name()
        )))
        .fetch_one(pool)
        .await?;
    }
    Ok(n as u64)
}

/// Runs `batches` batches of the workspace through the real pipeline, then has the database
/// copy the same customers' rows on its own, and compares the two rates.
///
/// This migrates real customers of the workspace: use it on a demo workspace. With
/// `batch_size` the unclaimed batches are rebuilt first, as `cutover run --batch-size` does.
///
/// Errors: nothing migrated (no planned batches), a source or platform that is neither
/// SQLite-to-SQLite nor a PostgreSQL platform, or a database refusing a statement.
pub async fn pipeline(
    ctx: &crate::ctx::Ctx,
    batches: usize,
    batch_size: Option<usize>,
) -> eyre::Result<PipelineBench> {
    use crate::engine::{plan, run};
    if let Some(n) = batch_size {
        plan::rebatch(&ctx.state, n).await?;
    }
    let before = platform_rows(&ctx.target).await?;
    let since = crate::clock::now();
    let t0 = Instant::now();
    let summary = run::run(
        ctx,
        &run::RunOpts {
            max_batches: Some(batches),
            ..Default::default()
        },
    )
    .await?;
    let ours = t0.elapsed().as_secs_f64();
    let rows = platform_rows(&ctx.target).await? - before;
    let wave: Vec<String> = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE status = 'migrated' AND id IN \
         (SELECT customer_id FROM steps WHERE step = 'notify' AND outcome = 'ok' AND started_at >= $1)",
    )
    .bind(since)
    .fetch_all(&ctx.state)
    .await?;
    eyre::ensure!(
        !wave.is_empty() && rows > 0,
        "the run migrated nothing ({} batches): plan the workspace first",
        summary.batches
    );
    let target = Backend::of_pool(&ctx.target);
    let (server_method, (server_rows, server)) = match (ctx.source.backend(), target) {
        (Backend::Sqlite, Backend::Sqlite) => ("attach", attach_copy(ctx, &wave).await?),
        (_, Backend::Postgres) => ("table", table_copy(ctx, &wave).await?),
        (s, t) => eyre::bail!(
            "bench pipeline compares SQLite → SQLite or any source → PostgreSQL, not {s:?} → {t:?}"
        ),
    };
    let rate = |n: u64, s: f64| n as f64 / s.max(1e-9);
    Ok(PipelineBench {
        backend: format!("{target:?}").to_lowercase(),
        batches: summary.batches,
        customers: wave.len(),
        rows,
        ours_rows_per_sec: rate(rows, ours),
        ours_secs: ours,
        server_method,
        server_rows,
        server_rows_per_sec: rate(server_rows, server),
        server_secs: server,
        ratio: rate(rows, ours) / rate(server_rows, server).max(1e-9),
    })
}

/// SQLite's own copy of the `wave` customers: the legacy file attached, each entity's mapping
/// query run once as `INSERT INTO … SELECT` into a scratch platform, with the platform's
/// customer and device ids joined in and the extra columns packed into `attributes` by
/// `json_object`. Returns rows copied and seconds (the copy alone, in one transaction).
async fn attach_copy(ctx: &crate::ctx::Ctx, wave: &[String]) -> eyre::Result<(u64, f64)> {
    use sqlx::{Connection, Executor};
    let scratch = std::env::temp_dir().join(format!("cutover_bench_{}.db", std::process::id()));
    let scratch_url = format!("sqlite://{}", scratch.display());
    let main = std::env::temp_dir().join(format!("cutover_bench_{}_main.db", std::process::id()));
    let result = async {
        let pool = db::open(&scratch_url, "bench", true, false).await?;
        crate::target::ensure_schema(&pool).await?;
        // The server needs to find a repair's device by its legacy id; ours looks it up too.
        sqlx::raw_sql("CREATE INDEX devices_legacy ON devices (legacy_id)")
            .execute(&pool)
            .await?;
        pool.close().await;
        // An empty main database: unqualified names in the mapping then resolve to the legacy
        // file, attached first, even where the platform has a table of the same name. A file,
        // not `:memory:`, whose attached databases would be in memory too.
        let mut conn =
            sqlx::AnyConnection::connect(&format!("sqlite://{}?mode=rwc", main.display()))
                .await?;
        let q = |s: &str| s.replace('\'', "''");
        for stmt in [
            format!(
                "ATTACH DATABASE '{}' AS legacy",
                q(db::sqlite_file(&ctx.cfg.source.url).map_or("", |(f, _)| f))
            ),
            format!("ATTACH DATABASE '{}' AS p", q(&scratch.display().to_string())),
            "CREATE TEMP TABLE wave (legacy_id PRIMARY KEY)".to_string(),
        ] {
            conn.execute(sqlx::AssertSqlSafe(stmt)).await?;
        }

        let mut statements = Vec::new();
        for e in Entity::ALL {
            let Some(query) = ctx.cfg.mapping.get(e) else {
                continue;
            };
            let names: Vec<String> = ctx
                .source
                .columns(query)
                .await?
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            let (canon, extra): (Vec<&String>, Vec<&String>) =
                names.iter().partition(|n| e.column_index(n).is_some());
            let mut cols: Vec<String> = canon.iter().map(|c| c.to_string()).collect();
            let mut vals: Vec<String> = canon.iter().map(|c| format!("m.{c}")).collect();
            cols.push("attributes".into());
            vals.push(format!(
                "json_object({})",
                extra
                    .iter()
                    .map(|c| format!("'{}', m.{c}", q(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            let mut joins = String::new();
            if e != Entity::Customers {
                cols.insert(0, "customer_id".into());
                vals.insert(0, "c.id".into());
                // Platform legacy ids are text; the CAST lets an integer legacy key use their index.
                joins.push_str(
                    " JOIN p.customers c ON c.legacy_id = CAST(m.customer_legacy_id AS TEXT)",
                );
            }
            if e == Entity::Repairs && names.iter().any(|n| n == "device_legacy_id") {
                cols.insert(1, "device_id".into());
                vals.insert(1, "d.id".into());
                joins.push_str(
                    " LEFT JOIN p.devices d ON d.legacy_id = CAST(m.device_legacy_id AS TEXT)",
                );
            }
            // CROSS JOIN fixes the order: walk the wave and seek each customer's rows through
            // the legacy index, as our reader's `IN` lists do. Left to itself, SQLite scanned
            // every legacy row and probed the wave (4,000 rows/s at 10^6).
            statements.push(format!(
                "INSERT INTO p.{} ({}) SELECT {} FROM temp.wave AS w CROSS JOIN ({query}) AS m{joins} \
                 WHERE m.{} = w.legacy_id",
                e.name(),
                cols.join(", "),
                vals.join(", "),
                e.customer_key()
            ));
        }
        let as_int = ctx
            .source
            .key_is_int(
                ctx.cfg.mapping.get(Entity::Customers).unwrap_or(""),
                "legacy_id",
            )
            .await;
        for chunk in wave.chunks(crate::source::CHUNK) {
            let sql = format!(
                "INSERT INTO temp.wave (legacy_id) VALUES {}",
                vec!["(?)"; chunk.len()].join(", ")
            );
            let binds = crate::source::conn::id_binds(chunk, as_int);
            crate::source::conn::bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql)), &binds)
                .execute(&mut conn)
                .await?;
        }
        let t0 = Instant::now();
        let mut tx = conn.begin().await?;
        let mut copied = 0;
        for s in &statements {
            copied += sqlx::query(sqlx::AssertSqlSafe(s.clone()))
                .execute(&mut *tx)
                .await
                .map_err(|e| eyre::eyre!("{e}: in {s}"))?
                .rows_affected();
        }
        tx.commit().await?;
        let secs = t0.elapsed().as_secs_f64();
        conn.close().await?;
        Ok((copied, secs))
    }
    .await;
    for f in [&scratch, &main] {
        db::remove_sqlite_files(f)?;
    }
    result
}

/// PostgreSQL's own copy of the `wave` customers' platform rows, table to table into a
/// scratch schema of the platform's database (the rows our pipeline just wrote, so the
/// transformation is already done). Returns rows copied and seconds (one transaction).
async fn table_copy(ctx: &crate::ctx::Ctx, wave: &[String]) -> eyre::Result<(u64, f64)> {
    let scratch = format!("cutover_bench_{}", std::process::id());
    let mut conn = ctx.target.acquire().await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA {scratch}; CREATE TEMP TABLE wave (id BIGINT PRIMARY KEY)"
    )))
    .execute(&mut *conn)
    .await?;
    let result = async {
        let platform = crate::target::customer_ids(&mut conn, wave).await?;
        let ids: Vec<i64> = platform.into_values().collect();
        for chunk in ids.chunks(5_000) {
            let mut b = db::Builder::on(Backend::Postgres, "INSERT INTO wave (id) ");
            b.push_values(chunk, |mut v, id| {
                v.push_bind(*id);
            });
            b.build().execute(&mut *conn).await?;
        }
        let mut statements = Vec::new();
        for e in Entity::ALL {
            let t = e.name();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "CREATE TABLE {scratch}.{t} (LIKE {t} INCLUDING DEFAULTS)"
            )))
            .execute(&mut *conn)
            .await?;
            let key = if e == Entity::Customers {
                "id"
            } else {
                "customer_id"
            };
            statements.push(format!(
                "INSERT INTO {scratch}.{t} SELECT * FROM {t} WHERE {key} IN (SELECT id FROM wave)"
            ));
        }
        let t0 = Instant::now();
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let mut copied = 0;
        for s in &statements {
            copied += sqlx::query(sqlx::AssertSqlSafe(s.clone()))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok((copied, t0.elapsed().as_secs_f64()))
    }
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA {scratch} CASCADE; DROP TABLE wave"
    )))
    .execute(&mut *conn)
    .await?;
    result
}

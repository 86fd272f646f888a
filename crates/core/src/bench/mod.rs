//! `cutover bench`: measurements that compare our code with what the database does on its
//! own, both sides in one run (the machines are shared and noisy, so only ratios travel).
//!
//! `copy`: the platform insert path ([`crate::target::insert`]: multi-row `VALUES` on SQLite,
//! `UNNEST` arrays on PostgreSQL) against a server-side `INSERT … SELECT` of the same rows.
//! It works in a scratch schema (PostgreSQL) or a scratch file (SQLite) and drops it after.
//! `plan`: `cutover plan` on a generated export with no index against one `GROUP BY` over it.
//! `pipeline`: the whole pipeline on a demo workspace against the database's own copy.

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;

use crate::db::{self, Backend};
use crate::schema::{Entity, Row, Val};

mod pipeline;
mod plan;

pub use pipeline::{PerBatch, PipelineBench, ReadBack, ServerCopy, pipeline};
pub use plan::{PlanBench, plan};

/// Statements each database ran, counted by a `tracing` subscriber that listens to sqlx's
/// statement events (`sqlx::query`) and asks each one's [`db::Scope`] span which database it
/// was for. `cutover bench pipeline` installs one; with none installed the counts stay 0.
#[derive(Debug, Default)]
pub struct Statements {
    counts: [std::sync::atomic::AtomicU64; 3],
}

/// The process's statement counts ([`Statements`]).
pub static STATEMENTS: Statements = Statements {
    counts: [const { std::sync::atomic::AtomicU64::new(0) }; 3],
};

impl Statements {
    /// Counts one statement run on the source, the platform, or (`None`) the state.
    pub fn count(&self, scope: Option<db::Scope>) {
        let i = match scope {
            None => 0,
            Some(db::Scope::Source) => 1,
            Some(db::Scope::Platform) => 2,
        };
        self.counts[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Statements so far: state, source, platform.
    pub fn read(&self) -> [u64; 3] {
        self.counts
            .each_ref()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// What one `copy` measurement found. Rates are rows per second.
#[derive(Debug, Clone, Serialize)]
pub struct CopyBench {
    /// The database engine measured on.
    pub backend: String,
    /// Rows copied.
    pub rows: usize,
    /// Our insert path: rows/s, and seconds.
    pub ours_rows_per_sec: f64,
    /// Our time, in seconds.
    pub ours_secs: f64,
    /// The server copying the same rows table to table: rows/s, and seconds.
    pub server_rows_per_sec: f64,
    /// The database's own time, in seconds.
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
            v[idx("amount")] = crate::schema::money_val(crate::schema::Decimal::new(
                1250 + ((c * 7 + k) % 900) as i64 * 100,
                2,
            ));
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
    let layout = crate::target::Layout::managed(backend);
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
        &layout,
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
    let platform = crate::target::customer_ids(&mut conn, &layout, &ids).await?;
    // Back to the pool: `close` below waits for every connection.
    drop(conn);
    let mut pay = payments(customers, per);
    pay.truncate(rows);
    let refs: Vec<&Row> = pay.iter().collect();

    // Ours: one transaction, as the pipeline's migrate_data step does per batch.
    let t0 = Instant::now();
    let mut tx = db::write_tx(&pool).await?;
    crate::target::insert(
        &mut tx,
        &layout,
        Entity::Payments,
        &refs,
        &platform,
        &HashMap::new(),
    )
    .await?;
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
    /// Its name.
    pub name: String,
    /// Runs measured.
    pub runs: usize,
    /// Median, in ms.
    pub p50_ms: f64,
    /// 95th percentile, in ms.
    pub p95_ms: f64,
    /// Slowest, in ms.
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

//! `cutover bench pipeline`: the whole pipeline on a demo workspace against the database
//! copying the same customers' rows on its own.

use std::time::Instant;

use serde::Serialize;

use crate::db::{self, Backend};
use crate::schema::Entity;

/// What one `pipeline` measurement found. Rates are platform rows per second.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineBench {
    /// The database engine measured on.
    pub backend: String,
    /// Batches.
    pub batches: usize,
    /// Customers the run migrated (the wave the server side copies again).
    pub customers: usize,
    /// Platform rows the run wrote (all five entities).
    pub rows: u64,
    /// The whole pipeline (`cutover run`: backup, create_account, migrate_data, validate,
    /// notify, with every step recorded in the state): rows/s and seconds.
    pub ours_rows_per_sec: f64,
    /// Our time, in seconds.
    pub ours_secs: f64,
    /// How the server side copies: `attach` (SQLite: the legacy file attached, every mapping
    /// query run as one `INSERT INTO … SELECT` with platform ids joined in) or `table`
    /// (PostgreSQL: the same platform rows copied table to table in a scratch schema).
    pub server_method: &'static str,
    /// Rows the database copied on its own.
    pub server_rows: u64,
    /// The database's own rate.
    pub server_rows_per_sec: f64,
    /// The database's own time, in seconds.
    pub server_secs: f64,
    /// ours / server, in rows/s.
    pub ratio: f64,
    /// PostgreSQL only: the same copy into scratch tables with the platform's primary keys
    /// and indexes but none of its foreign keys: what the indexes alone cost.
    pub indexed: Option<ServerCopy>,
    /// PostgreSQL only: the same copy into scratch tables shaped as the platform's (its
    /// indexes, constraints and foreign keys, kept up to date row by row as the pipeline's
    /// writes keep them), the ceiling of any loader writing into that schema while it is in
    /// use. `table` copies into bare tables, which is what pgloader loads into (it builds
    /// indexes after the load and the legacy file declares no foreign keys).
    pub constrained: Option<ServerCopy>,
    /// SQLite platform only: the platform's rows (up to 100,000 a table) read back through
    /// sqlx's `Any` driver (as validate reads them) and through its native SQLite driver.
    pub read_back: Option<ReadBack>,
    /// Customers per batch the run moved, on average.
    pub customers_per_batch: f64,
    /// Statements per batch the run sent to each database, when a subscriber counted them
    /// ([`super::STATEMENTS`]): the claim, every step, the batch's scoring.
    pub statements_per_batch: Option<PerBatch>,
    /// The process's peak resident memory after the run, in KiB (`VmHWM`; Linux only).
    pub peak_rss_kib: Option<u64>,
    /// The page cache a connection of the source pool had, in KiB, as SQLite reports it
    /// (`PRAGMA cache_size`); `None` on a source that is not SQLite. A worker caps it
    /// (`engine::run::WORKER_SQLITE_CACHE_KIB`), and the memory figures depend on it.
    pub source_cache_kib: Option<i64>,
}

/// One copy the database made on its own.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ServerCopy {
    /// Rows copied.
    pub rows: u64,
    /// Rows per second.
    pub rows_per_sec: f64,
    /// Seconds, the copy's one transaction.
    pub secs: f64,
    /// ours / this copy, in rows/s.
    pub ratio: f64,
    /// Foreign keys the scratch tables declared, copied from the platform's.
    pub foreign_keys: usize,
}

/// The platform's rows read back through each SQLite driver: the floor, per row, of a
/// validation that reads the platform (issue 21, goal 1). A read is one `SELECT *` per table
/// (at most 100,000 rows each) on a read-only connection of the driver's own, every row
/// fetched into the driver's row type (owned values), nothing decoded further; the faster of
/// two reads per driver counts.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReadBack {
    /// Rows read, every platform table.
    pub rows: u64,
    /// Microseconds a row through `sqlx::Any`, which the engine uses.
    pub any_us_per_row: f64,
    /// Microseconds a row through `sqlx::Sqlite`, the native driver.
    pub native_us_per_row: f64,
}

/// Statements per batch on each database.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PerBatch {
    /// The state database.
    pub state: f64,
    /// The legacy source.
    pub source: f64,
    /// The platform.
    pub platform: f64,
}

/// The process's peak resident set, in KiB, from `/proc/self/status` (`VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
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
    if ctx.api.is_some() {
        eyre::bail!(
            "bench pipeline compares the pipeline with the platform database's own copy; an HTTP \
             platform has no database (time `cutover run` instead)"
        );
    }
    if let Some(n) = batch_size {
        plan::rebatch(&ctx.state, n).await?;
    }
    let before = platform_rows(&ctx.target).await?;
    let since = crate::clock::now();
    let counted = super::STATEMENTS.read();
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
    let peak_rss_kib = peak_rss_kib();
    let after = super::STATEMENTS.read();
    let source_cache_kib = source_cache_kib(ctx).await?;
    let per = |i: usize| (after[i] - counted[i]) as f64 / summary.batches.max(1) as f64;
    let statements_per_batch = (after != counted).then(|| PerBatch {
        state: per(0),
        source: per(1),
        platform: per(2),
    });
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
    let rate = |n: u64, s: f64| n as f64 / s.max(1e-9);
    let shaped = |(n, secs, foreign_keys): (u64, f64, usize)| ServerCopy {
        rows: n,
        rows_per_sec: rate(n, secs),
        secs,
        ratio: rate(rows, ours) / rate(n, secs).max(1e-9),
        foreign_keys,
    };
    let (server_method, (server_rows, server), indexed, constrained, read_back) = match (
        ctx.source.backend(),
        target,
    ) {
        (Backend::Sqlite, Backend::Sqlite) => (
            "attach",
            attach_copy(ctx, &wave).await?,
            None,
            None,
            Some(read_back(&ctx.cfg.target.url).await?),
        ),
        (_, Backend::Postgres) => {
            let (n, secs, _) = table_copy(ctx, &wave, Shape::Bare).await?;
            let indexed = shaped(table_copy(ctx, &wave, Shape::Indexed).await?);
            let constrained = shaped(table_copy(ctx, &wave, Shape::Platform).await?);
            ("table", (n, secs), Some(indexed), Some(constrained), None)
        }
        (s, t) => eyre::bail!(
            "bench pipeline compares SQLite → SQLite or any source → PostgreSQL, not {s:?} → {t:?}"
        ),
    };
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
        indexed,
        constrained,
        read_back,
        customers_per_batch: wave.len() as f64 / summary.batches.max(1) as f64,
        statements_per_batch,
        peak_rss_kib,
        source_cache_kib,
    })
}

/// [`PipelineBench::source_cache_kib`]: SQLite's `cache_size` is pages when positive and
/// KiB when negative.
async fn source_cache_kib(ctx: &crate::ctx::Ctx) -> eyre::Result<Option<i64>> {
    if ctx.source.backend() != Backend::Sqlite {
        return Ok(None);
    }
    let size = source_pragma(ctx, "cache_size").await?;
    if size >= 0 {
        return Ok(Some(size * source_pragma(ctx, "page_size").await? / 1024));
    }
    Ok(Some(-size))
}

/// The integer a SQLite source's `PRAGMA name` returns.
async fn source_pragma(ctx: &crate::ctx::Ctx, name: &str) -> eyre::Result<i64> {
    let rows = ctx.source.fetch(&format!("PRAGMA {name}"), &[]).await?;
    match rows.rows.first().and_then(|r| r.first()) {
        Some(&crate::schema::Raw::Int(n)) => Ok(n),
        other => eyre::bail!("PRAGMA {name} on the source returned {other:?}"),
    }
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

/// What the scratch tables of [`table_copy`] are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Columns and defaults only: no index, no key, no foreign key.
    Bare,
    /// `LIKE … INCLUDING ALL` (primary key, indexes, checks, identity), no foreign key.
    Indexed,
    /// The platform table's own shape: `LIKE … INCLUDING ALL` (primary key, indexes, checks,
    /// identity) and each foreign key it declares, pointing at the scratch copy of the table
    /// it references.
    Platform,
}

/// PostgreSQL's own copy of the `wave` customers' platform rows, table to table into a
/// scratch schema of the platform's database shaped as `shape` says (the rows our pipeline
/// just wrote, so the transformation is already done). Returns rows copied, seconds (one
/// transaction) and the foreign keys the scratch tables declared.
async fn table_copy(
    ctx: &crate::ctx::Ctx,
    wave: &[String],
    shape: Shape,
) -> eyre::Result<(u64, f64, usize)> {
    let scratch = format!(
        "cutover_bench_{}_{}",
        std::process::id(),
        match shape {
            Shape::Bare => "bare",
            Shape::Indexed => "indexed",
            Shape::Platform => "shaped",
        }
    );
    let mut conn = ctx.target.acquire().await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA {scratch}; CREATE TEMP TABLE wave (id BIGINT PRIMARY KEY)"
    )))
    .execute(&mut *conn)
    .await?;
    let result = async {
        let platform = crate::target::customer_ids(&mut conn, &ctx.layout, wave).await?;
        let ids: Vec<i64> = platform.into_values().collect();
        for chunk in ids.chunks(5_000) {
            let mut b = db::Builder::on(Backend::Postgres, "INSERT INTO wave (id) ");
            b.push_values(chunk, |mut v, id| {
                v.push_bind(*id);
            });
            b.build().execute(&mut *conn).await?;
        }
        let mut statements = Vec::new();
        let mut declared = 0;
        // Parents before children (`Entity::ALL`'s order), so each foreign key finds its table.
        for e in Entity::ALL {
            let t = e.name();
            let like = match shape {
                Shape::Bare => "INCLUDING DEFAULTS",
                Shape::Indexed | Shape::Platform => "INCLUDING ALL",
            };
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "CREATE TABLE {scratch}.{t} (LIKE {t} {like})"
            )))
            .execute(&mut *conn)
            .await?;
            if shape == Shape::Platform {
                for fk in foreign_keys(&mut conn, t, &scratch).await? {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "ALTER TABLE {scratch}.{t} ADD {fk}"
                    )))
                    .execute(&mut *conn)
                    .await?;
                    declared += 1;
                }
            }
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
        Ok((copied, t0.elapsed().as_secs_f64(), declared))
    }
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA {scratch} CASCADE; DROP TABLE wave"
    )))
    .execute(&mut *conn)
    .await?;
    result
}

/// The foreign keys platform table `table` declares, as `FOREIGN KEY (…) REFERENCES …` clauses
/// for its copy in schema `scratch`: a key to another entity's table points at that table's
/// copy there (which holds the same ids), any other at the table it named.
async fn foreign_keys(
    conn: &mut db::Conn,
    table: &str,
    scratch: &str,
) -> eyre::Result<Vec<String>> {
    let keys: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT
           (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n)
              FROM unnest(c.conkey) WITH ORDINALITY AS k(att, n)
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att),
           (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n)
              FROM unnest(c.confkey) WITH ORDINALITY AS k(att, n)
              JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.att),
           CAST(r.relname AS TEXT), CAST(CAST(c.confrelid AS regclass) AS TEXT)
         FROM pg_constraint c JOIN pg_class r ON r.oid = c.confrelid
         WHERE c.contype = 'f' AND c.conrelid = CAST(CAST($1 AS TEXT) AS regclass)
         ORDER BY c.conname",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    Ok(keys
        .into_iter()
        .map(|(cols, refs, name, qualified)| {
            let to = if Entity::parse(&name).is_some() {
                format!("{scratch}.{name}")
            } else {
                qualified
            };
            format!("FOREIGN KEY ({cols}) REFERENCES {to} ({refs})")
        })
        .collect())
}

/// Rows of each platform table [`read_back`] reads at most: a platform that holds every
/// customer of a large demo is sampled, not read whole four times.
const READ_BACK_ROWS: usize = 100_000;

/// [`ReadBack`] of the SQLite platform at `url`: each driver reads every table twice,
/// alternating (`Any`, native, native, `Any`), and its faster read counts, so that neither
/// gains from going second.
async fn read_back(url: &str) -> eyre::Result<ReadBack> {
    use sqlx::Connection;
    let Some((file, _)) = db::sqlite_file(url) else {
        eyre::bail!("the platform is not a SQLite file: {url}");
    };
    let mut any = sqlx::AnyConnection::connect(&format!("sqlite://{file}?mode=ro")).await?;
    let mut native = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new()
            .filename(file)
            .read_only(true),
    )
    .await?;
    let (mut any_secs, mut native_secs) = (f64::MAX, f64::MAX);
    let mut counts = Vec::new();
    for native_first in [false, true] {
        for is_native in [native_first, !native_first] {
            let t0 = Instant::now();
            let mut rows = 0u64;
            for e in Entity::ALL {
                let sql = sqlx::AssertSqlSafe(format!(
                    "SELECT * FROM {} LIMIT {READ_BACK_ROWS}",
                    e.name()
                ));
                rows += if is_native {
                    sqlx::query(sql).fetch_all(&mut native).await?.len()
                } else {
                    sqlx::query(sql).fetch_all(&mut any).await?.len()
                } as u64;
            }
            let secs = t0.elapsed().as_secs_f64();
            let best = if is_native {
                &mut native_secs
            } else {
                &mut any_secs
            };
            *best = best.min(secs);
            counts.push(rows);
        }
    }
    any.close().await?;
    native.close().await?;
    let rows = counts[0];
    eyre::ensure!(
        counts.iter().all(|n| *n == rows),
        "the platform changed while it was read: {counts:?} rows"
    );
    let per = |secs: f64| secs / rows.max(1) as f64 * 1e6;
    Ok(ReadBack {
        rows,
        any_us_per_row: per(any_secs),
        native_us_per_row: per(native_secs),
    })
}

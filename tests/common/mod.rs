//! Fixture builders shared by the integration tests: demo workspaces in temporary
//! directories, opened contexts, and the binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::NaiveDate;
use cutover_core::config::Config;
use cutover_core::demo::{self, DemoOpts};
use cutover_core::engine::Ctx;

pub mod theirs;

pub const AS_OF: &str = "2026-11-21";

pub fn as_of() -> NaiveDate {
    NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d").unwrap()
}

/// A demo workspace in a temporary directory. Its state and platform are SQLite files there,
/// or, when the suite runs on PostgreSQL ([`on_postgres`]), two fresh schemas dropped with it.
pub struct Ws {
    pub dir: tempfile::TempDir,
    _schemas: Vec<PgSchema>,
}

/// The PostgreSQL server tests may use (`CUTOVER_TEST_POSTGRES_URL`), if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("CUTOVER_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// The MariaDB/MySQL server tests may use (`CUTOVER_TEST_MYSQL_URL`), if any.
pub fn mysql_url() -> Option<String> {
    std::env::var("CUTOVER_TEST_MYSQL_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Whether this run of the suite puts workspaces' state and platform on PostgreSQL
/// (`CUTOVER_TEST_BACKEND=postgres`, with `CUTOVER_TEST_POSTGRES_URL`): the matrix's second leg.
pub fn on_postgres() -> bool {
    std::env::var("CUTOVER_TEST_BACKEND").as_deref() == Ok("postgres")
}

/// Says why a test that needs a server is skipped, in the test's output.
pub fn skip(test: &str, what: &str) {
    eprintln!("SKIPPED {test}: {what} is not set");
}

/// A fresh schema on the test PostgreSQL server, dropped with this value.
pub struct PgSchema {
    /// A URL whose connections use the schema.
    pub url: String,
    name: String,
}

/// Runs `sql` (several statements) on the test PostgreSQL server through the project's own
/// driver, on a thread of its own (so that it works from a `Drop` inside a runtime), and
/// returns the server's error if any. No `psql` is needed.
fn pg_exec(sql: String) -> Result<(), String> {
    let url = postgres_url().ok_or("CUTOVER_TEST_POSTGRES_URL is not set")?;
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut c)
                .await
                .map_err(|e| e.to_string())?;
            let _ = c.close().await;
            Ok(())
        })
    })
    .join()
    .map_err(|_| "the PostgreSQL helper thread panicked".to_string())?
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // A test that dropped a task mid-transaction leaves its connection to be closed by a
        // runtime this blocking drop holds up: end such sessions, or the DROP waits on their
        // locks for ever.
        let _ = pg_exec(format!(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l \
             JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = '{0}' AND l.pid <> pg_backend_pid(); \
             DROP SCHEMA IF EXISTS {0} CASCADE",
            self.name
        ));
    }
}

/// Creates a [`PgSchema`] whose name contains `tag`.
pub fn pg_schema(tag: &str) -> PgSchema {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let url = postgres_url().expect("CUTOVER_TEST_POSTGRES_URL is set");
    let name = format!(
        "t{}_{}_{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    pg_exec(format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
    ))
    .unwrap_or_else(|e| panic!("creating schema {name}: {e}"));
    let sep = if url.contains('?') { '&' } else { '?' };
    PgSchema {
        url: format!("{url}{sep}options=-c%20search_path%3D{name}"),
        name,
    }
}

impl Ws {
    /// `n` customers from `seed`, no step delay, the shortest lease the config allows (5 s).
    pub async fn demo(n: usize, seed: u64) -> Ws {
        Self::demo_with(n, seed, 0).await
    }

    pub async fn demo_with(n: usize, seed: u64, step_delay_ms: u64) -> Ws {
        let dir = tempfile::tempdir().unwrap();
        let schemas: Vec<PgSchema> = if on_postgres() {
            vec![pg_schema("state"), pg_schema("target")]
        } else {
            Vec::new()
        };
        let opts = DemoOpts {
            state_url: schemas.first().map(|s| s.url.clone()),
            target_url: schemas.get(1).map(|s| s.url.clone()),
            dir: dir.path().to_path_buf(),
            customers: n,
            seed,
            as_of: as_of(),
            force: false,
            step_delay_ms,
        };
        demo::create(&opts, |_| {}).await.unwrap();
        let ws = Ws {
            dir,
            _schemas: schemas,
        };
        ws.edit_config(|t| t.replace("batch_size = 25", "batch_size = 25\nlease_seconds = 5"));
        ws
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("cutover.toml")
    }

    pub fn edit_config(&self, f: impl FnOnce(String) -> String) {
        let p = self.config_path();
        let t = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, f(t)).unwrap();
    }

    /// Moves the demo's programme to start on `start` (`[programme] start`).
    pub fn set_programme_start(&self, start: NaiveDate) {
        self.edit_config(|t| {
            t.lines()
                .map(|l| {
                    if l.starts_with("start = ") {
                        format!("start = \"{start}\"")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        });
    }

    pub async fn ctx(&self) -> Ctx {
        Ctx::open(Config::load(&self.config_path()).unwrap(), false)
            .await
            .unwrap()
    }

    /// Runs the binary on this workspace with a private HOME.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// The binary on this workspace with a private HOME, to spawn or run.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_with(&self.config_path(), args)
    }

    /// The binary with the config at `config` and this workspace's private HOME.
    pub fn command_with(&self, config: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("--config")
            .arg(config)
            .args(args)
            .env("HOME", self.path())
            .env_remove("CUTOVER_CONFIG");
        c
    }
}

/// The binary under test: `CUTOVER_BIN` (CI points it at the release build) or cargo's.
pub fn bin() -> PathBuf {
    std::env::var_os("CUTOVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_cutover")))
}

/// `o`'s standard output, after asserting the command succeeded (its output in the message).
pub fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}{}", stdout(o), stderr(o));
    stdout(o)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every platform table's rows, as text without the platform's own ids, sorted: two platforms
/// with equal dumps hold the same data. Reads through the workspace's `target.url`, so it works
/// on SQLite and PostgreSQL alike.
pub async fn platform_dump(ws: &Ws) -> String {
    let cfg = Config::load(&ws.config_path()).unwrap();
    // The native driver: the `Any` one cannot read PostgreSQL's NUMERIC, TIMESTAMPTZ or JSONB.
    let src = cutover_core::source::Source::open(&cfg.target.url, true)
        .await
        .unwrap();
    let mut out = String::new();
    for sql in [
        "SELECT 'c', legacy_id, name, email, phone, account_type, created_at, country, special_needs, annual_revenue, repairs_12m, attributes FROM customers ORDER BY legacy_id",
        "SELECT 'd', d.legacy_id, c.legacy_id, kind, brand, model, serial, warranty_until, d.attributes FROM devices d JOIN customers c ON c.id = d.customer_id ORDER BY d.legacy_id",
        "SELECT 'r', r.legacy_id, c.legacy_id, (SELECT legacy_id FROM devices WHERE id = r.device_id), device_legacy_id, opened_at, closed_at, status, description, amount, r.attributes FROM repairs r JOIN customers c ON c.id = r.customer_id ORDER BY r.legacy_id",
        "SELECT 'p', p.legacy_id, c.legacy_id, amount, currency, paid_at, method, status, p.attributes FROM payments p JOIN customers c ON c.id = p.customer_id ORDER BY p.legacy_id",
        "SELECT 'm', m.legacy_id, c.legacy_id, occurred_at, channel, direction, subject, body, m.attributes FROM communications m JOIN customers c ON c.id = m.customer_id ORDER BY m.legacy_id",
    ] {
        for row in src.fetch(sql, &[]).await.unwrap().rows {
            let cells: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
            out.push_str(&cells.join("|"));
            out.push('\n');
        }
    }
    out
}

/// The rows `sql` returns on the workspace's state database, one line each, cells joined by
/// `|` (what `sqlite3 state.db SQL` printed, on any backend).
pub async fn state_rows(ws: &Ws, sql: &str) -> String {
    let cfg = Config::load(&ws.config_path()).unwrap();
    rows_at(&cfg.state.url, sql).await
}

/// The rows `sql` returns on the SQLite database at `path`, as [`state_rows`] prints them: read
/// through the project's own driver, so no `sqlite3` command is needed.
pub async fn sqlite_rows(path: &Path, sql: &str) -> String {
    rows_at(&format!("sqlite://{}", path.display()), sql).await
}

/// Every table of the SQLite database at `path`, schema and rows in rowid order: two equal
/// dumps are two equal databases (what `sqlite3 FILE .dump` showed).
pub async fn sqlite_dump(path: &Path) -> String {
    let names = sqlite_rows(
        path,
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    )
    .await;
    let tables: Vec<String> = names.lines().map(str::to_string).collect();
    let mut out = sqlite_rows(
        path,
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name",
    )
    .await;
    for t in tables {
        out.push_str(&sqlite_rows(path, &format!("SELECT * FROM \"{t}\" ORDER BY rowid")).await);
    }
    out
}

async fn rows_at(url: &str, sql: &str) -> String {
    let pool = cutover_core::db::open(url, "state", false, true)
        .await
        .unwrap();
    let rows = cutover_core::source::Source::any(pool.clone())
        .fetch(sql, &[])
        .await
        .unwrap();
    pool.close().await;
    rows.rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    cutover_core::schema::Raw::Null => String::new(),
                    cutover_core::schema::Raw::Int(i) => i.to_string(),
                    cutover_core::schema::Raw::Real(f) => f.to_string(),
                    cutover_core::schema::Raw::Dec(d) => d.to_string(),
                    cutover_core::schema::Raw::Text(t) => t.clone(),
                    cutover_core::schema::Raw::Blob(b) => format!("<{} bytes>", b.len()),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .map(|l| l + "\n")
        .collect()
}

/// The trigger-kept counters (what `status` and the console read) equal a real count.
pub async fn assert_counts_match(state: &cutover_core::db::Pool) {
    let counted: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT segment, status, COUNT(*), CAST(SUM(annual_revenue_cents) AS BIGINT) FROM customers GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(state)
    .await
    .unwrap();
    let kept: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT segment, status, CAST(SUM(customers) AS BIGINT), CAST(SUM(revenue_cents) AS BIGINT) FROM customer_counts
         GROUP BY 1, 2 HAVING SUM(customers) <> 0 ORDER BY 1, 2",
    )
    .fetch_all(state)
    .await
    .unwrap();
    assert_eq!(
        kept, counted,
        "customer_counts drifted from the customers table"
    );
    // Per tier too (migration 0017).
    let counted: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT COALESCE(tier, ''), status, COUNT(*) FROM customers GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(state)
    .await
    .unwrap();
    let kept: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT tier, status, CAST(SUM(customers) AS BIGINT) FROM customer_counts
         GROUP BY 1, 2 HAVING SUM(customers) <> 0 ORDER BY 1, 2",
    )
    .fetch_all(state)
    .await
    .unwrap();
    assert_eq!(kept, counted, "customer_counts per tier drifted");
}

/// The trigger-kept open-alert count equals a real count.
pub async fn assert_alert_counts_match(state: &cutover_core::db::Pool) {
    let counted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE status <> 'resolved'")
        .fetch_one(state)
        .await
        .unwrap();
    let kept: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(alerts), 0) AS BIGINT) FROM alert_counts WHERE status <> 'resolved'",
    )
    .fetch_one(state)
    .await
    .unwrap();
    assert_eq!(kept, counted, "alert_counts drifted from the alerts table");
}

/// The trigger-kept batch counts equal a real count.
pub async fn assert_batch_counts_match(state: &cutover_core::db::Pool) {
    let counted: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM batches GROUP BY 1 ORDER BY 1")
            .fetch_all(state)
            .await
            .unwrap();
    let kept: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, batches FROM batch_counts WHERE batches <> 0 ORDER BY 1")
            .fetch_all(state)
            .await
            .unwrap();
    assert_eq!(kept, counted, "batch_counts drifted from the batches table");
}

/// Makes the platform change `column` of `table` (to `value`, an SQL expression over the row)
/// for customer `victim`'s rows as they land, so that validation finds a mismatch. A trigger in
/// the platform's own dialect.
/// One trigger per table (`corrupt_<table>`); on `customers` the victim is its `legacy_id`.
pub async fn corrupt_on_insert(ctx: &Ctx, table: &str, column: &str, value: &str, victim: &str) {
    let key = if table == "customers" {
        "legacy_id"
    } else {
        "customer_legacy_id"
    };
    let sql =
        if cutover_core::db::Backend::of_pool(&ctx.target) == cutover_core::db::Backend::Postgres {
            format!(
                "CREATE FUNCTION corrupt_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN NEW.{column} := {new}; RETURN NEW; END $$;
             CREATE TRIGGER corrupt_{table} BEFORE INSERT ON {table} FOR EACH ROW
             WHEN (NEW.{key} = '{victim}') EXECUTE FUNCTION corrupt_{table}()",
                new = value.replace("{row}", "NEW")
            )
        } else {
            format!(
                "CREATE TRIGGER corrupt_{table} AFTER INSERT ON {table} WHEN NEW.{key} = '{victim}'
             BEGIN UPDATE {table} SET {column} = {new} WHERE id = NEW.id; END",
                new = value.replace("{row}.", "")
            )
        };
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&ctx.target)
        .await
        .unwrap();
}

/// Ends every running batch's lease now, as if `lease_seconds` had passed without a heartbeat
/// (the worker that held it stalled or died).
pub async fn expire_leases(ws: &Ws) {
    let cfg = Config::load(&ws.config_path()).unwrap();
    let pool = cutover_core::db::open(&cfg.state.url, "state", false, false)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE batches SET lease_until = '2000-01-01T00:00:00.000Z' WHERE status = 'running'",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

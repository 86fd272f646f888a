//! Database pools and the state schema, for SQLite and PostgreSQL (and MySQL/MariaDB as a
//! source, see [`crate::source::Source`]).
//!
//! The state and the platform are reached through sqlx's `Any` driver, so that each query is
//! written once. The SQL they share is the subset both engines speak: `$1` placeholders (SQLite
//! reads `$N` as the N-th argument), `ON CONFLICT … DO`, `UPDATE … FROM`, `RETURNING`, text
//! times. What differs lives here, one place per concern: how a pool is opened and made
//! read-only ([`open`]), how a write transaction starts ([`write_tx`]), the schema's
//! migrations ([`migrator`]) and how long a lock is waited for.
//!
//! SQLite runs in WAL mode with a 30 s busy timeout, and every write transaction starts with
//! `BEGIN IMMEDIATE`, so that it takes the write lock up front instead of failing with
//! "database is locked" halfway. PostgreSQL runs at READ COMMITTED; the work queue takes its
//! rows with `FOR UPDATE SKIP LOCKED` (see [`crate::engine::run`]).

use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use sqlx::any::AnyConnectOptions;
use sqlx::{Any, AssertSqlSafe, Executor, Transaction};

mod audit;
mod backend;
mod builder;
mod errors;
mod migrations;
mod watch;

pub use audit::{AuditEntry, Many, audit, audit_many};

/// Which of a workspace's databases a piece of engine work talks to, as a `tracing` span
/// (target `cutover::db`, named `source` or `platform`; work outside both is the state's).
/// `cutover bench pipeline` counts each database's statements per batch by these spans
/// (issue 21); a subscriber that does not ask for them costs a level check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The legacy source.
    Source,
    /// The platform (its database; an HTTP platform runs no statement).
    Platform,
}

impl Scope {
    /// The span to run the work in (`Instrument::instrument`).
    pub fn span(self) -> tracing::Span {
        match self {
            Scope::Source => tracing::debug_span!(target: "cutover::db", "source"),
            Scope::Platform => tracing::debug_span!(target: "cutover::db", "platform"),
        }
    }
}
pub use backend::Backend;
#[cfg(test)]
pub(crate) use builder::kept;
pub use builder::{Builder, CACHED_LIST_MAX, JsonCol, Values, placeholders};
pub use errors::{InDb, describe};
pub use migrations::migrator;
pub use watch::{CHANNEL, ChangeWatch, wake_on_notify};

/// A pool on the state or platform database.
pub type Pool = sqlx::AnyPool;
/// One connection (or transaction, through `&mut *tx`) on the state or platform database.
pub type Conn = sqlx::AnyConnection;
/// A transaction on the state or platform database.
pub type Tx = Transaction<'static, Any>;

/// What [`open`] is opening, for error messages ("state database sqlite:///x: …").
pub type Role = &'static str;

/// How long a connection waits for another writer before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Refreshes PostgreSQL's planner statistics of `tables` after a bulk write; a no-op on
/// SQLite. A server with autovacuum off (this project's machines) otherwise plans from the
/// statistics of the empty tables: at 10^6 customers the console's plans list took 71–101 ms
/// after `cutover demo`, 1.0 ms after `ANALYZE` (BENCHMARKS.md).
///
/// Errors: the server refusing the statement.
pub async fn analyze(pool: &Pool, tables: &[&str]) -> sqlx::Result<()> {
    if Backend::of_pool(pool) != Backend::Postgres || tables.is_empty() {
        return Ok(());
    }
    let sql = format!("ANALYZE {}", tables.join(", "));
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(pool).await?;
    Ok(())
}

/// Refreshes PostgreSQL's planner statistics of a temporary table on `conn`; a no-op on
/// SQLite. Autovacuum never analyzes a temporary table, and without statistics a join against
/// it may scan it once per row of the other side.
///
/// Errors: the server refusing the statement.
pub async fn analyze_temp(conn: &mut Conn, table: &str) -> sqlx::Result<()> {
    if Backend::of_conn(conn) == Backend::Postgres {
        sqlx::query(AssertSqlSafe(format!("ANALYZE {table}")))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The database login of `pool`'s connections (`session_user`) on a server that
/// authenticates them (PostgreSQL); `None` on SQLite, which has no logins.
///
/// Errors: the server failing the query.
pub async fn login(pool: &Pool) -> sqlx::Result<Option<String>> {
    if Backend::of_pool(pool) != Backend::Postgres {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT CAST(session_user AS TEXT)")
        .fetch_one(pool)
        .await
        .map(Some)
}

/// The page cache each SQLite connection this process opens may keep, in KiB; 0 leaves
/// SQLite's default (2 MB). See [`cap_sqlite_cache`].
static SQLITE_CACHE_KIB: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Caps the page cache of every SQLite connection opened from now on, by this process's
/// pools (state, platform, source), at `kib` KiB (`PRAGMA cache_size = -kib`); call it before
/// the pools open. The console needs it: each pooled connection otherwise fills its own 2 MB
/// while scheduled scoring reads every customer, about 12 of them (see BENCHMARKS.md).
///
/// The cap is per connection because the bundled SQLite keeps a page cache per connection
/// (built without `SQLITE_ENABLE_MEMORY_MANAGEMENT`, see `.cargo/config.toml`), so the
/// process-wide `soft_heap_limit` does not reach the caches.
pub fn cap_sqlite_cache(kib: i64) {
    SQLITE_CACHE_KIB.store(kib.max(0), std::sync::atomic::Ordering::Relaxed);
}

/// The cap set by [`cap_sqlite_cache`], in KiB; 0 when there is none.
pub fn sqlite_cache_kib() -> i64 {
    SQLITE_CACHE_KIB.load(std::sync::atomic::Ordering::Relaxed)
}

/// The `PRAGMA cache_size` statement for [`cap_sqlite_cache`]'s cap, if one is set.
fn cache_pragma() -> Option<String> {
    let kib = sqlite_cache_kib();
    (kib > 0).then(|| format!("PRAGMA cache_size = -{kib}"))
}

fn install_drivers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

/// Pool options for every pool cutover opens: no idle timeout and no maximum lifetime, so sqlx
/// runs no background maintenance task. sqlx-core 0.9.0's task can spin at 100% CPU for good
/// once a connection is reaped while another is returned (sqlx issue #3645: `num_idle`
/// underflows), which a console left open for ten minutes met. A dead connection is still
/// found: each is pinged before it is handed out.
pub(crate) fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .idle_timeout(None)
        .max_lifetime(None)
}

/// Opens a pool at `url` (`sqlite://path` or `postgres://…`), creating a SQLite file when
/// `create` is set. `readonly` opens SQLite with `mode=ro` and makes every PostgreSQL
/// transaction `READ ONLY`, so that even a bug cannot write.
///
/// Errors: an unsupported URL, or a database that cannot be opened; the message names `role`.
pub async fn open(url: &str, role: Role, create: bool, readonly: bool) -> eyre::Result<Pool> {
    install_drivers();
    let backend = Backend::of_url(url, role)?;
    let shown = redact(url);
    let err = |e: &dyn std::fmt::Display| eyre::eyre!("{role} database {shown}: {e}");
    let url = match backend {
        Backend::Sqlite => sqlite_url(url, create, readonly),
        Backend::Postgres => url.to_string(),
        Backend::MySql => eyre::bail!(
            "{role} database {shown}: MySQL is supported as the source only (use sqlite:// or postgres://)"
        ),
    };
    let opts = AnyConnectOptions::from_str(&url).map_err(|e| err(&e))?;
    // A database this call creates is made private to its user once it exists.
    let created = sqlite_file(&url)
        .map(|(f, _)| std::path::PathBuf::from(f))
        .filter(|f| create && !f.exists());
    let wait = BUSY_TIMEOUT.as_millis();
    let mut setup = match (backend, readonly) {
        (Backend::Sqlite, false) => format!(
            "PRAGMA busy_timeout = {wait}; PRAGMA foreign_keys = ON; \
             PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL"
        ),
        (Backend::Sqlite, true) => format!("PRAGMA busy_timeout = {wait}"),
        // No JIT: its compile time dwarfs the short statements issued here. With stale
        // statistics after a bulk plan, PostgreSQL put 86 ms of LLVM into every poll of the
        // plans list (0.6 ms to run) at 10^6 customers.
        // UTC and ISO dates: a platform `TIMESTAMPTZ` read as text is then
        // `2024-02-03 04:05:06+00` whatever the server's defaults.
        (_, false) => format!(
            "SET lock_timeout = {wait}; SET jit = off; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'"
        ),
        (_, true) => format!(
            "SET lock_timeout = {wait}; SET jit = off; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; \
             SET default_transaction_read_only = on"
        ),
    };
    if let (Backend::Sqlite, Some(cap)) = (backend, cache_pragma()) {
        setup = format!("{setup}; {cap}");
    }
    match backend {
        Backend::Sqlite => {
            probe(
                &opts,
                &format!("{setup}; {SQLITE_FIRST_READ}"),
                SQLITE_PROBE_LIMIT,
            )
            .await
        }
        _ => probe(&opts, &setup, CONNECT_TIMEOUT).await,
    }
    .map_err(|e| err(&e))?;
    let setup: std::sync::Arc<str> = setup.into();
    let pool = pool_options::<sqlx::Any>()
        .max_connections(if backend == Backend::Sqlite { 4 } else { 6 })
        // A connection whose COMMIT failed (a full disk, an I/O error) can come back still
        // counting itself inside a transaction, and every later BEGIN on it would fail; such a
        // connection is closed instead of reused.
        .after_release(|conn, _| {
            Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
        })
        .after_connect(move |conn, _| {
            let setup = setup.to_string();
            Box::pin(async move {
                conn.execute(sqlx::raw_sql(AssertSqlSafe(setup))).await?;
                Ok(())
            })
        })
        .connect_with(opts)
        .await
        .map_err(|e| err(&e))?;
    if let Some(f) = created {
        // The file appears with the pool's first connection.
        crate::files::make_private(&f)?;
    }
    Ok(pool)
}

/// How long a first connection to a database server may take before it is called unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One direct connection before a pool is built, running `first` (the statements each of the
/// pool's connections will run) on it. A pool retries a connection that fails until its
/// acquire timeout (30 s) and then says only "pool timed out"; this says why at once:
/// refused, unknown host, no such database, password rejected, or on SQLite a file that is
/// not a database or is malformed (SQLite opens any file and finds out at its first read,
/// which `first` makes).
///
/// Errors: the driver's reason, or no answer within `limit`.
pub async fn probe<O>(opts: &O, first: &str, limit: Duration) -> Result<(), String>
where
    O: sqlx::ConnectOptions,
    O::Connection: Sized,
    for<'c> &'c mut O::Connection: sqlx::Executor<'c>,
{
    let attempt = async {
        let mut c = opts.connect().await.map_err(|e| e.to_string())?;
        if !first.is_empty() {
            sqlx::raw_sql(AssertSqlSafe(first.to_string()))
                .execute(&mut c)
                .await
                .map_err(|e| e.to_string())?;
        }
        let _ = sqlx::Connection::close(c).await;
        Ok(())
    };
    match tokio::time::timeout(limit, attempt).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} s", limit.as_secs())),
    }
}

/// What [`probe`] runs on a SQLite file after its setup: a read of the first page, where a
/// file that is not a database, or whose header is damaged, fails.
pub const SQLITE_FIRST_READ: &str = "SELECT COUNT(*) FROM sqlite_master";

/// How long a SQLite probe may wait: a local file only waits on another process's lock, which
/// `busy_timeout` ([`BUSY_TIMEOUT`]) already bounds.
pub const SQLITE_PROBE_LIMIT: Duration = Duration::from_secs(BUSY_TIMEOUT.as_secs() + 10);

/// The file of a `sqlite://` (or `sqlite:`) URL and its query string, if any; `None` for
/// other URLs.
pub fn sqlite_file(url: &str) -> Option<(&str, Option<&str>)> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(
        rest.split_once('?')
            .map_or((rest, None), |(f, q)| (f, Some(q))),
    )
}

/// Removes a SQLite database file and its WAL, shared-memory and rollback-journal files;
/// files that are not there are fine.
///
/// Errors: a file that exists and cannot be removed (the message names it).
pub fn remove_sqlite_files(path: &std::path::Path) -> eyre::Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = format!("{}{suffix}", path.display());
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                eyre::bail!("cannot remove {p}: {e}")
            }
            _ => {}
        }
    }
    Ok(())
}

/// A SQLite URL with the open mode set: `rwc` when creating, `ro` when read-only.
fn sqlite_url(url: &str, create: bool, readonly: bool) -> String {
    let mode = if readonly {
        "ro"
    } else if create {
        "rwc"
    } else {
        "rw"
    };
    if url.contains("mode=") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}mode={mode}")
}

/// Opens the state database and brings its schema up to date (unless read-only).
pub async fn open_state(url: &str, create: bool, readonly: bool) -> eyre::Result<Pool> {
    let pool = open(url, "state", create, readonly).await?;
    if !readonly {
        migrator(Backend::of_pool(&pool))
            .run(&pool)
            .await
            .map_err(|e| eyre::eyre!("state database {}: migration failed: {e}", redact(url)))?;
    }
    Ok(pool)
}

/// Begins a write transaction: on SQLite it holds the write lock from its first statement
/// (`BEGIN IMMEDIATE`); on PostgreSQL rows are locked as they are written.
pub async fn write_tx(pool: &Pool) -> sqlx::Result<Tx> {
    match Backend::of_pool(pool) {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        _ => pool.begin().await,
    }
}

/// [`write_tx`] on a connection already held, for work that keeps temporary tables on it.
pub async fn write_tx_on(conn: &mut Conn) -> sqlx::Result<Transaction<'_, Any>> {
    match Backend::of_conn(conn) {
        Backend::Sqlite => sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await,
        _ => sqlx::Connection::begin(conn).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_database_error_names_its_database_once() {
        let pool = open("sqlite::memory:", "state", true, false).await.unwrap();
        let raw = sqlx::query("SELECT * FROM nowhere")
            .execute(&pool)
            .await
            .unwrap_err();
        let e = Err::<(), _>(raw)
            .in_db("platform")
            .in_db("state")
            .unwrap_err();
        assert_eq!(describe(&e), "platform database: no such table: nowhere");
        let other = Err::<(), _>(eyre::eyre!("lease lost"))
            .in_db("state")
            .unwrap_err();
        assert_eq!(describe(&other), "lease lost");
    }

    #[tokio::test]
    async fn json_rows_come_back_typed_and_in_order_with_nulls() {
        let pool = open("sqlite::memory:", "state", true, false).await.unwrap();
        let rows = vec![
            serde_json::json!([i64::MAX, "Zoë \"quoted\" [x]", 1.5]),
            serde_json::json!([-7, null, 100]),
        ];
        let mut b = Builder::on(Backend::Sqlite, "SELECT r.id, r.name, r.v FROM ");
        b.push_json_rows(
            Backend::Sqlite,
            &[
                ("id", JsonCol::Int),
                ("name", JsonCol::Text),
                ("v", JsonCol::Real),
            ],
            &rows,
            "r",
        );
        let got: Vec<(i64, Option<String>, f64)> =
            b.build_query_as().fetch_all(&pool).await.unwrap();
        assert_eq!(
            got,
            vec![
                (i64::MAX, Some("Zoë \"quoted\" [x]".to_string()), 1.5),
                (-7, None, 100.0)
            ]
        );
        let (head, tail) = Backend::Postgres.json_rows(&[("id", JsonCol::Int)], "r");
        assert_eq!(
            format!("{head}$1{tail}"),
            "(SELECT (j.value->>0)::bigint AS id FROM jsonb_array_elements(CAST($1 AS jsonb)) AS j(value)) AS r"
        );
    }

    #[test]
    fn placeholders_number_from_start_except_on_mysql() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(Backend::MySql.placeholders(3, 2), "?, ?");
        assert_eq!(placeholders(1, 0), "");
    }

    #[test]
    fn ordered_placeholders_are_numbered_only_on_postgres() {
        assert_eq!(Backend::Postgres.ordered_placeholders(3, 2), "$3, $4");
        assert_eq!(Backend::Sqlite.ordered_placeholders(3, 2), "?, ?");
        assert_eq!(Backend::MySql.ordered_placeholders(3, 2), "?, ?");
        assert_eq!(Backend::Sqlite.ordered_placeholders(1, 0), "");
        assert_eq!(Backend::Postgres.placeholder(7), "$7");
    }

    #[test]
    fn urls_name_their_backend_and_passwords_are_hidden() {
        assert_eq!(
            Backend::of_url("postgresql://u@h/db", "state").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("mariadb://root@h/db", "source").unwrap(),
            Backend::MySql
        );
        let e = Backend::of_url("oracle://h", "target")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("target database") && e.contains("oracle:"),
            "{e}"
        );
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
    }
}

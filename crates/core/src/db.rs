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

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AssertSqlSafe, Executor, SqlSafeStr, Transaction};

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

/// The database engines a URL can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

impl Backend {
    /// The engine a URL names by its scheme (`sqlite:`, `postgres:`/`postgresql:`,
    /// `mysql:`/`mariadb:`).
    ///
    /// Errors: any other scheme; the message names `role` and lists the accepted ones.
    pub fn of_url(url: &str, role: Role) -> eyre::Result<Backend> {
        let scheme = url.split(':').next().unwrap_or("");
        Ok(match scheme {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::MySql,
            _ => eyre::bail!(
                "{role} database {}: unsupported URL scheme `{scheme}:` (use sqlite://, postgres://{})",
                redact(url),
                if role == "source" { " or mysql://" } else { "" }
            ),
        })
    }

    /// The engine behind an open connection.
    pub fn of_conn(conn: &Conn) -> Backend {
        match conn.backend_name() {
            "PostgreSQL" => Backend::Postgres,
            "MySQL" => Backend::MySql,
            _ => Backend::Sqlite,
        }
    }

    /// The engine behind a pool.
    pub fn of_pool(pool: &Pool) -> Backend {
        Backend::of_url(pool.connect_options().database_url.as_str(), "state")
            .unwrap_or(Backend::Sqlite)
    }

    /// `expr` (a number) as text with `decimals` digits after the point: `printf` on SQLite,
    /// `to_char` on PostgreSQL, `FORMAT` on MySQL.
    pub fn fmt_num(self, expr: &str, decimals: usize) -> String {
        match self {
            Backend::Sqlite => format!("printf('%.{decimals}f', {expr})"),
            Backend::Postgres if decimals == 0 => {
                format!("to_char(CAST({expr} AS DOUBLE PRECISION), 'FM9999999990')")
            }
            Backend::Postgres => format!(
                "to_char(CAST({expr} AS DOUBLE PRECISION), 'FM9999999990.{}')",
                "0".repeat(decimals)
            ),
            Backend::MySql => format!("FORMAT({expr}, {decimals})"),
        }
    }

    /// The clause that makes a work-queue `SELECT` take its row and pass over rows another
    /// transaction holds: ` FOR UPDATE SKIP LOCKED` on PostgreSQL; nothing on SQLite, whose
    /// `BEGIN IMMEDIATE` already admits one writer at a time.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            _ => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Whether the database is an embedded file (SQLite): one writer at a time, readers that
    /// contend inside this process, a schema readable in `sqlite_master`.
    pub fn is_embedded(self) -> bool {
        self == Backend::Sqlite
    }

    /// Whether a multi-row insert can bind one array per column (`INSERT … SELECT FROM
    /// UNNEST($1::T[], …)`: PostgreSQL), so the parameter count does not grow with the rows.
    pub fn has_array_unnest(self) -> bool {
        self == Backend::Postgres
    }

    /// The column definition of a table's own integer key, assigned by the database.
    pub fn identity_column(self) -> &'static str {
        match self {
            Backend::Sqlite => "id INTEGER PRIMARY KEY",
            _ => "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        }
    }

    /// `name` as a temporary table of this connection: `pg_temp.name` or `temp.name`.
    pub fn temp_table(self, name: &str) -> String {
        match self {
            Backend::Postgres => format!("pg_temp.{name}"),
            _ => format!("temp.{name}"),
        }
    }

    /// The integer `expr` as text, zero-padded to `width` digits (never truncated).
    pub fn zero_pad(self, expr: &str, width: usize) -> String {
        match self {
            Backend::Sqlite => format!("printf('%0{width}d', {expr})"),
            _ => format!(
                "CASE WHEN {expr} < 1{zeros} THEN lpad(CAST({expr} AS TEXT), {width}, '0') ELSE CAST({expr} AS TEXT) END",
                zeros = "0".repeat(width)
            ),
        }
    }

    /// `n` placeholders from the `start`-th (1-based) for an `IN (…)` list: `$3, $4` on SQLite
    /// and PostgreSQL, `?, ?` on MySQL (which numbers them by position).
    pub fn placeholders(self, start: usize, n: usize) -> String {
        let mut s = String::with_capacity(n * 4);
        for i in 0..n {
            if i > 0 {
                s.push_str(", ");
            }
            match self {
                Backend::MySql => s.push('?'),
                _ => {
                    s.push('$');
                    s.push_str(&(start + i).to_string());
                }
            }
        }
        s
    }
}

/// Which database an error came from, named in its message: `state`, `source` or `platform`.
pub trait InDb<T> {
    /// Wraps a database error with "`which` database", once; other errors (a lost lease, a
    /// refused role) pass as they are.
    fn in_db(self, which: &'static str) -> eyre::Result<T>;
}

impl<T, E: Into<eyre::Report>> InDb<T> for Result<T, E> {
    fn in_db(self, which: &'static str) -> eyre::Result<T> {
        self.map_err(|e| {
            let e: eyre::Report = e.into();
            let from_db = e.chain().any(|c| c.downcast_ref::<sqlx::Error>().is_some());
            let named = e.downcast_ref::<Named>().is_some();
            if from_db && !named {
                e.wrap_err(Named(which))
            } else {
                e
            }
        })
    }
}

/// The context [`InDb::in_db`] adds: "platform database".
#[derive(Debug)]
struct Named(&'static str);

impl std::fmt::Display for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} database", self.0)
    }
}

/// `e` as one line for an operator: its chain of causes joined by `: `, with each database
/// error given as the database's own message, without the driver's wrapping ("error returned
/// from database") or PostgreSQL's server source position (" at line 1392", a line of the
/// server's C code, not of the statement).
pub fn describe(e: &eyre::Report) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in e.chain() {
        let text = match c.downcast_ref::<sqlx::Error>() {
            // Its source is the driver's own error object: nothing more below it.
            Some(sqlx::Error::Database(d)) => {
                parts.push(d.message().to_string());
                break;
            }
            _ => c.to_string(),
        };
        // eyre repeats a wrapped error's text in its source when the source is itself the
        // wrapped error's display.
        if parts.last().is_some_and(|p| p.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

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
    if backend != Backend::Sqlite {
        probe(&opts).await.map_err(|e| err(&e))?;
    }
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
        (_, false) => format!("SET lock_timeout = {wait}; SET jit = off"),
        (_, true) => format!(
            "SET lock_timeout = {wait}; SET jit = off; SET default_transaction_read_only = on"
        ),
    };
    if let (Backend::Sqlite, Some(cap)) = (backend, cache_pragma()) {
        setup = format!("{setup}; {cap}");
    }
    let setup: std::sync::Arc<str> = setup.into();
    let pool = AnyPoolOptions::new()
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

/// One direct connection to a server before its pool is built. A pool retries a refused
/// connection until its acquire timeout (30 s) and then says only "pool timed out"; this says
/// why at once: refused, unknown host, no such database, password rejected.
///
/// Errors: the driver's reason, or no answer within [`CONNECT_TIMEOUT`].
pub async fn probe<O: sqlx::ConnectOptions>(opts: &O) -> Result<(), String>
where
    O::Connection: Sized,
{
    match tokio::time::timeout(CONNECT_TIMEOUT, opts.connect()).await {
        Ok(Ok(c)) => {
            let _ = sqlx::Connection::close(c).await;
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())),
    }
}

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

/// The state schema for `backend`, embedded in the binary. PostgreSQL's first migration is
/// SQLite's first seven in one, written in its dialect (identity columns, statement-level
/// counter triggers); later ones share their version numbers.
pub fn migrator(backend: Backend) -> Migrator {
    let m = |version, name: &'static str, sql: &'static str| {
        Migration::new(
            version,
            name.into(),
            MigrationType::Simple,
            AssertSqlSafe(sql).into_sql_str(),
            false,
        )
    };
    match backend {
        Backend::Postgres => Migrator::with_migrations(vec![
            m(
                1,
                "init",
                include_str!("../migrations/postgres/0001_init.sql"),
            ),
            m(
                8,
                "roles",
                include_str!("../migrations/postgres/0008_roles.sql"),
            ),
            m(
                9,
                "notify",
                include_str!("../migrations/postgres/0009_notify.sql"),
            ),
            m(
                10,
                "alerts_climb",
                include_str!("../migrations/postgres/0010_alerts_climb.sql"),
            ),
            m(
                11,
                "migrated_minutes",
                include_str!("../migrations/postgres/0011_migrated_minutes.sql"),
            ),
            m(
                12,
                "scoring_owed",
                include_str!("../migrations/postgres/0012_scoring_owed.sql"),
            ),
        ]),
        _ => Migrator::with_migrations(vec![
            m(
                1,
                "init",
                include_str!("../migrations/sqlite/0001_init.sql"),
            ),
            m(
                2,
                "batches_segment",
                include_str!("../migrations/sqlite/0002_batches_segment.sql"),
            ),
            m(
                3,
                "customer_counts",
                include_str!("../migrations/sqlite/0003_customer_counts.sql"),
            ),
            m(
                4,
                "health",
                include_str!("../migrations/sqlite/0004_health.sql"),
            ),
            m(
                5,
                "alerts",
                include_str!("../migrations/sqlite/0005_alerts.sql"),
            ),
            m(
                6,
                "outbox",
                include_str!("../migrations/sqlite/0006_outbox.sql"),
            ),
            m(
                7,
                "batch_counts",
                include_str!("../migrations/sqlite/0007_batch_counts.sql"),
            ),
            m(
                8,
                "roles",
                include_str!("../migrations/sqlite/0008_roles.sql"),
            ),
            m(
                10,
                "alerts_climb",
                include_str!("../migrations/sqlite/0010_alerts_climb.sql"),
            ),
            m(
                11,
                "migrated_minutes",
                include_str!("../migrations/sqlite/0011_migrated_minutes.sql"),
            ),
            m(
                12,
                "scoring_owed",
                include_str!("../migrations/sqlite/0012_scoring_owed.sql"),
            ),
        ]),
    }
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

/// The channel prefix the PostgreSQL state database notifies on when what the console polls
/// changes; the channel is `cutover_state:<schema>`, so workspaces sharing a database do not
/// wake each other.
pub const CHANNEL: &str = "cutover_state";

/// Wakes `nudge` whenever the PostgreSQL state database at `url` notifies its workspace's
/// channel ([`CHANNEL`]), at most
/// every 100 ms, for as long as the process runs. A notification is a hint to poll now; the
/// poll on its interval stays the truth, so a lost connection only costs promptness (it is
/// retried every few seconds). Does nothing on SQLite.
pub async fn wake_on_notify(url: String, nudge: std::sync::Arc<tokio::sync::Notify>) {
    if !matches!(Backend::of_url(&url, "state"), Ok(Backend::Postgres)) {
        return;
    }
    loop {
        let listen = async {
            let mut l = sqlx::postgres::PgListener::connect(&url).await?;
            let schema: String = sqlx::query_scalar("SELECT current_schema()")
                .fetch_one(&mut l)
                .await?;
            l.listen(&format!("{CHANNEL}:{schema}")).await?;
            loop {
                l.recv().await?;
                nudge.notify_one();
                tokio::time::sleep(Duration::from_millis(100)).await;
                // Fold what arrived meanwhile into the poll just asked for.
                while l.next_buffered().is_some() {}
            }
        };
        let r: sqlx::Result<()> = listen.await;
        if let Err(e) = r {
            tracing::warn!(error = %e, "state notifications lost; polling on the interval");
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Tells whether the state database changed since the last ask, as cheaply as the engine
/// allows: SQLite's `PRAGMA data_version` on one held connection (it moves when any other
/// connection commits). PostgreSQL has no such counter, so there it always says yes (its
/// consoles are woken by `NOTIFY` instead).
pub struct ChangeWatch {
    pool: Pool,
    conn: Option<sqlx::pool::PoolConnection<Any>>,
    version: Option<i64>,
}

impl ChangeWatch {
    pub fn new(pool: Pool) -> Self {
        ChangeWatch {
            pool,
            conn: None,
            version: None,
        }
    }

    /// Whether anything committed since the last call (true on the first call, on PostgreSQL,
    /// and whenever the check itself fails).
    pub async fn changed(&mut self) -> bool {
        if Backend::of_pool(&self.pool) != Backend::Sqlite {
            return true;
        }
        if self.conn.is_none() {
            self.conn = self.pool.acquire().await.ok();
        }
        let Some(conn) = self.conn.as_mut() else {
            return true;
        };
        match sqlx::query_scalar::<_, i64>("PRAGMA data_version")
            .fetch_one(&mut **conn)
            .await
        {
            Ok(v) => self.version.replace(v) != Some(v),
            Err(_) => {
                self.conn = None;
                self.version = None;
                true
            }
        }
    }
}

/// One audit-log entry: who did what to which scope, in which role, why, and how it ended.
#[derive(Debug, Clone, Copy)]
pub struct AuditEntry<'a> {
    pub actor: &'a str,
    pub role: &'a str,
    pub action: &'a str,
    pub scope: &'a str,
    /// The operator's reason (a note, a typed confirmation); empty when none was asked.
    pub reason: &'a str,
    /// `ok`, or what went wrong for an action that is recorded although it failed.
    pub result: &'a str,
    pub detail: &'a str,
}

/// Appends one row to the audit log on `conn`, which must be the action's own transaction, so
/// that the row commits or rolls back with the action it records.
pub async fn audit(conn: &mut Conn, e: AuditEntry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, role, action, scope, reason, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(crate::clock::now())
    .bind(e.actor.to_string())
    .bind(e.role.to_string())
    .bind(e.action.to_string())
    .bind(e.scope.to_string())
    .bind(e.reason.to_string())
    .bind(e.result.to_string())
    .bind(e.detail.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// `$start, $start+1, …` with `n` placeholders, for `IN (…)` lists on the state or platform.
pub fn placeholders(start: usize, n: usize) -> String {
    Backend::Sqlite.placeholders(start, n)
}

/// Builds one statement with `$N` placeholders (sqlx's `QueryBuilder` writes `?` for the `Any`
/// driver, which PostgreSQL refuses): a multi-row `INSERT … VALUES (…), (…)` in one round trip.
pub struct Builder {
    sql: String,
    args: sqlx::any::AnyArguments,
    n: usize,
    /// Write `?` instead of `$N`: SQLite looks every named parameter up by a linear scan of
    /// the statement's names, so thousands of `$N` in one multi-row INSERT cost O(n²) (it was
    /// 83% of a 100,000-row copy under `perf`); anonymous ones cost nothing.
    anonymous: bool,
}

impl Builder {
    /// Starts a statement with `sql`, numbering placeholders `$1, $2, …` (what PostgreSQL
    /// needs; SQLite reads them too).
    pub fn new(sql: impl Into<String>) -> Self {
        Builder {
            sql: sql.into(),
            args: Default::default(),
            n: 0,
            anonymous: false,
        }
    }

    /// Starts a statement with `sql` for `backend`: anonymous `?` placeholders on SQLite,
    /// `$N` on PostgreSQL. `sql` itself must then hold no placeholders.
    pub fn on(backend: Backend, sql: impl Into<String>) -> Self {
        Builder {
            anonymous: backend == Backend::Sqlite,
            ..Builder::new(sql)
        }
    }

    /// Appends SQL text as it is.
    pub fn push(&mut self, sql: impl std::fmt::Display) -> &mut Self {
        use std::fmt::Write;
        let _ = write!(self.sql, "{sql}");
        self
    }

    /// Appends the next placeholder and binds `value` to it.
    pub fn push_bind<'t, T>(&mut self, value: T) -> &mut Self
    where
        T: sqlx::Encode<'t, Any> + sqlx::Type<Any>,
    {
        use sqlx::Arguments;
        self.n += 1;
        if self.anonymous {
            self.sql.push('?');
        } else {
            self.sql.push('$');
            self.sql.push_str(&self.n.to_string());
        }
        // An encoding failure surfaces when the statement executes.
        let _ = self.args.add(value);
        self
    }

    /// Appends `(…)` with one placeholder per item and binds each: the list of an `IN`.
    pub fn push_list<'t, T>(&mut self, items: impl IntoIterator<Item = T>) -> &mut Self
    where
        T: sqlx::Encode<'t, Any> + sqlx::Type<Any>,
    {
        self.sql.push('(');
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.push_bind(item);
        }
        self.sql.push(')');
        self
    }

    /// Binds `value` to the next placeholder number without writing it: for SQL that already
    /// names `$1…$k` before the builder appends more.
    pub fn bind_only<'t, T>(&mut self, value: T) -> &mut Self
    where
        T: sqlx::Encode<'t, Any> + sqlx::Type<Any>,
    {
        use sqlx::Arguments;
        self.n += 1;
        let _ = self.args.add(value);
        self
    }

    /// Appends `VALUES (…), (…)`, one tuple per item; `f` binds an item's values in order.
    pub fn push_values<I, F>(&mut self, items: I, mut f: F) -> &mut Self
    where
        I: IntoIterator,
        F: FnMut(Values<'_>, I::Item),
    {
        self.sql.push_str("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.sql.push('(');
            f(
                Values {
                    b: self,
                    first: true,
                },
                item,
            );
            self.sql.push(')');
        }
        self
    }

    /// The statement, ready to execute; the builder is left empty.
    pub fn build(&mut self) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
        let sql = std::mem::take(&mut self.sql);
        let args = std::mem::take(&mut self.args);
        self.n = 0;
        sqlx::query_with(AssertSqlSafe(sql), args)
    }
}

impl Builder {
    /// The statement as a query whose rows decode into `O` (a tuple or a `FromRow` type); the
    /// builder is left empty.
    pub fn build_query_as<O>(
        &mut self,
    ) -> sqlx::query::QueryAs<'static, Any, O, sqlx::any::AnyArguments>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let sql = std::mem::take(&mut self.sql);
        let args = std::mem::take(&mut self.args);
        self.n = 0;
        sqlx::query_as_with(AssertSqlSafe(sql), args)
    }
}

/// One tuple of [`Builder::push_values`]: values bound in order, separated by commas.
pub struct Values<'a> {
    b: &'a mut Builder,
    first: bool,
}

impl Values<'_> {
    /// Binds the tuple's next value.
    pub fn push_bind<'t, T>(&mut self, value: T) -> &mut Self
    where
        T: sqlx::Encode<'t, Any> + sqlx::Type<Any>,
    {
        if !self.first {
            self.b.sql.push_str(", ");
        }
        self.first = false;
        self.b.push_bind(value);
        self
    }

    /// Appends SQL text (a literal or an expression) as the tuple's next value.
    pub fn push(&mut self, sql: impl std::fmt::Display) -> &mut Self {
        if !self.first {
            self.b.sql.push_str(", ");
        }
        self.first = false;
        self.b.push(sql);
        self
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

    #[test]
    fn placeholders_number_from_start_except_on_mysql() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(Backend::MySql.placeholders(3, 2), "?, ?");
        assert_eq!(placeholders(1, 0), "");
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

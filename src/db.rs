//! Database pools and the state schema. SQLite runs in WAL mode with a busy timeout, and every
//! write transaction on the state database starts with `BEGIN IMMEDIATE`, so that it takes the
//! write lock up front and waits for it instead of failing with "database is locked" halfway.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, SqlSafeStr, Sqlite, SqlitePool, Transaction};

/// What [`open`] is opening, for error messages ("state database sqlite:///x: …").
pub type Role = &'static str;

/// How long a connection waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens a SQLite pool at `url` (`sqlite://path`), creating the file when `create` is set.
/// `readonly` opens it with `mode=ro`, so that even a bug cannot write.
///
/// Errors: a URL that is not SQLite, or a file that cannot be opened; the message names `role`.
pub async fn open(url: &str, role: Role, create: bool, readonly: bool) -> eyre::Result<SqlitePool> {
    if !url.starts_with("sqlite:") {
        eyre::bail!("{role} database {url}: only sqlite:// URLs are supported by this build");
    }
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(|e| eyre::eyre!("{role} database {url}: {e}"))?
        .create_if_missing(create && !readonly)
        .read_only(readonly)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let opts = if readonly {
        opts
    } else {
        opts.journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
    };
    SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(opts)
        .await
        .map_err(|e| eyre::eyre!("{role} database {url}: {e}"))
}

/// Opens the state database and brings its schema up to date (unless read-only).
pub async fn open_state(url: &str, create: bool, readonly: bool) -> eyre::Result<SqlitePool> {
    let pool = open(url, "state", create, readonly).await?;
    if !readonly {
        migrator()
            .run(&pool)
            .await
            .map_err(|e| eyre::eyre!("state database {url}: migration failed: {e}"))?;
    }
    Ok(pool)
}

/// The state schema, embedded in the binary.
pub fn migrator() -> Migrator {
    let m = |version, name: &'static str, sql: &'static str| {
        Migration::new(
            version,
            name.into(),
            MigrationType::Simple,
            AssertSqlSafe(sql).into_sql_str(),
            false,
        )
    };
    Migrator::with_migrations(vec![
        m(1, "init", include_str!("../migrations/state/0001_init.sql")),
        m(
            2,
            "batches_segment",
            include_str!("../migrations/state/0002_batches_segment.sql"),
        ),
        m(
            3,
            "customer_counts",
            include_str!("../migrations/state/0003_customer_counts.sql"),
        ),
        m(
            4,
            "health",
            include_str!("../migrations/state/0004_health.sql"),
        ),
        m(
            5,
            "alerts",
            include_str!("../migrations/state/0005_alerts.sql"),
        ),
        m(
            6,
            "outbox",
            include_str!("../migrations/state/0006_outbox.sql"),
        ),
        m(
            7,
            "batch_counts",
            include_str!("../migrations/state/0007_batch_counts.sql"),
        ),
    ])
}

/// Begins a write transaction that holds the write lock from its first statement.
pub async fn write_tx(pool: &SqlitePool) -> sqlx::Result<Transaction<'static, Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// Appends one row to the audit log on `conn` (a transaction, so that the row commits or
/// rolls back with the action it records).
pub async fn audit(
    conn: &mut sqlx::SqliteConnection,
    actor: &str,
    action: &str,
    scope: &str,
    outcome: &str,
    detail: &str,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO audit_log (at, actor, action, scope, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(crate::clock::now())
        .bind(actor.to_string())
        .bind(action.to_string())
        .bind(scope.to_string())
        .bind(outcome.to_string())
        .bind(detail.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// `?, ?, ?` with `n` placeholders, for `IN (…)` lists.
pub fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}

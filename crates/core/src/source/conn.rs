//! The legacy source's connection, on its own driver: SQLite, PostgreSQL or MySQL/MariaDB.
//!
//! The source is not our schema: its columns may be `DATE`, `DATETIME`, `DECIMAL`, `BOOLEAN`
//! or text that is not UTF-8. sqlx's `Any` driver refuses such rows whole, so the source is
//! read through its native driver and each value is turned into a [`Raw`] here, one function
//! per engine, keeping what it can (dates as ISO text, decimals as numbers, bad UTF-8 as
//! bytes the transform can name). The state and the platform, whose schema is ours, are read
//! through [`Source::any`] with the same code.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool};
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{AssertSqlSafe, Column, Executor, Row, Statement, TypeInfo};

use crate::db::{self, Backend};
use crate::schema::Raw;

mod raw;

pub use raw::{raw_any, raw_mysql, raw_postgres, raw_sqlite};

/// A database read as raw values: its pool, and what it has learnt about its mapping's key
/// columns (see [`Source::key_is_int`]), kept with the pool because another database may type
/// the same query's columns differently.
#[derive(Clone, Debug)]
pub struct Source {
    pool: Driver,
    int_keys: Arc<Mutex<HashMap<(String, String), bool>>>,
}

/// The native pool behind a [`Source`].
#[derive(Clone, Debug)]
enum Driver {
    Sqlite(SqlitePool),
    Postgres(PgPool),
    MySql(MySqlPool),
    /// The state or platform database, whose columns are text, integers and reals.
    Any(db::Pool),
}

/// A value bound to a source query: ids are bound as integers where the source's column is an
/// integer (PostgreSQL will not compare an integer column with text), else as text.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
}

/// Rows read raw: the column names once, then each row's values in column order.
#[derive(Debug, Clone, Default)]
pub struct RawRows {
    /// Column names.
    pub names: Arc<Vec<String>>,
    /// Rows.
    pub rows: Vec<Vec<Raw>>,
}

/// Runs `$body` with `$p` bound to the native pool and `$raw` to its row reader.
macro_rules! on_pool {
    ($src:expr, $p:ident, $raw:ident => $body:expr) => {
        match &$src.pool {
            Driver::Sqlite($p) => {
                let $raw = raw_sqlite;
                $body
            }
            Driver::Postgres($p) => {
                let $raw = raw_postgres;
                $body
            }
            Driver::MySql($p) => {
                let $raw = raw_mysql;
                $body
            }
            Driver::Any($p) => {
                let $raw = raw_any;
                $body
            }
        }
    };
}

/// Binds `binds` in order onto a query of any driver.
macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                $crate::source::Bind::Text(s) => q.bind(s.clone()),
                $crate::source::Bind::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}

pub(crate) use bind_all;

/// `q`, kept in sqlx's statement cache unless its `binds` (a source read's id list) are more
/// than [`db::CACHED_LIST_MAX`]: see there.
fn cacheable<'q, DB: sqlx::Database + sqlx::database::HasStatementCache>(
    q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    binds: &[Bind],
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments> {
    q.persistent(binds.len() <= db::CACHED_LIST_MAX)
}

fn names_of<R: Row>(row: &R) -> Arc<Vec<String>> {
    Arc::new(row.columns().iter().map(|c| c.name().to_string()).collect())
}

/// Integer column types, by the names the drivers give them.
fn is_int_type(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    let n = n.trim_end_matches(" UNSIGNED");
    matches!(
        n,
        "INT2" | "INT4" | "INT8" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT"
    ) || n == "INTEGER"
}

impl Source {
    /// Opens the source at `url` (`sqlite://`, `postgres://`, `mysql://` or `mariadb://`).
    /// Without hooks to run the source is only read: `readonly` opens SQLite with `mode=ro`
    /// and makes PostgreSQL and MySQL sessions read-only.
    ///
    /// Errors: an unsupported URL or an unreachable database; the message names the URL
    /// without its password.
    pub async fn open(url: &str, readonly: bool) -> eyre::Result<Source> {
        Self::open_with(url, readonly, 4).await
    }

    /// [`Source::open`] with at most `connections` connections, for a reader that knows how
    /// many it needs.
    ///
    /// Errors: as [`Source::open`].
    pub async fn open_with(url: &str, readonly: bool, connections: u32) -> eyre::Result<Source> {
        let backend = Backend::of_url(url, "source")?;
        let shown = db::redact(url);
        let err = |e: &dyn std::fmt::Display| eyre::eyre!("source database {shown}: {e}");
        let pool = match backend {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(|e| err(&e))?
                    .read_only(readonly)
                    .busy_timeout(db::BUSY_TIMEOUT);
                let opts = match db::sqlite_cache_kib() {
                    0 => opts,
                    kib => opts.pragma("cache_size", format!("-{kib}")),
                };
                db::probe(&opts, db::SQLITE_FIRST_READ, db::SQLITE_PROBE_LIMIT)
                    .await
                    .map_err(|e| err(&e))?;
                Driver::Sqlite(
                    db::pool_options::<sqlx::Sqlite>()
                        .max_connections(connections)
                        .connect_with(opts)
                        .await
                        .map_err(|e| err(&e))?,
                )
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(url).map_err(|e| err(&e))?;
                let opts = if readonly {
                    opts.options([("default_transaction_read_only", "on")])
                } else {
                    opts
                };
                db::probe(&opts, "", db::CONNECT_TIMEOUT)
                    .await
                    .map_err(|e| err(&e))?;
                Driver::Postgres(
                    db::pool_options::<sqlx::Postgres>()
                        .max_connections(connections)
                        .connect_with(opts)
                        .await
                        .map_err(|e| err(&e))?,
                )
            }
            Backend::MySql => {
                let url = url.replacen("mariadb:", "mysql:", 1);
                let opts = MySqlConnectOptions::from_str(&url).map_err(|e| err(&e))?;
                db::probe(&opts, "", db::CONNECT_TIMEOUT)
                    .await
                    .map_err(|e| err(&e))?;
                Driver::MySql(
                    db::pool_options::<sqlx::MySql>()
                        .max_connections(connections)
                        .after_connect(move |conn, _| {
                            Box::pin(async move {
                                if readonly {
                                    conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                                }
                                Ok(())
                            })
                        })
                        .connect_with(opts)
                        .await
                        .map_err(|e| err(&e))?,
                )
            }
        };
        Ok(Source::new(pool))
    }

    fn new(pool: Driver) -> Source {
        Source {
            pool,
            int_keys: Arc::default(),
        }
    }

    /// The state or platform database `pool`, read raw (health components, test dumps).
    pub fn any(pool: db::Pool) -> Source {
        Source::new(Driver::Any(pool))
    }

    /// The engine behind this source.
    pub fn backend(&self) -> Backend {
        match &self.pool {
            Driver::Sqlite(_) => Backend::Sqlite,
            Driver::Postgres(_) => Backend::Postgres,
            Driver::MySql(_) => Backend::MySql,
            Driver::Any(p) => Backend::of_pool(p),
        }
    }

    /// Whether every statement on this source runs on the same connection (a SQLite pool of
    /// one): what a temporary table one statement creates for the next needs.
    pub fn single_connection(&self) -> bool {
        on_pool!(self, p, _raw => p.options().get_max_connections() == 1)
    }

    /// `n` placeholders from the `start`-th, in this source's style
    /// ([`Backend::ordered_placeholders`]): SQL on a source binds in the order its
    /// placeholders appear.
    pub fn placeholders(&self, start: usize, n: usize) -> String {
        self.backend().ordered_placeholders(start, n)
    }

    /// The inside of an `IN (…)` over the customer ids `ids` on this source, and the binds it
    /// takes (from `$1`), bound as integers when `as_int` ([`id_binds`]); `None` when no id is
    /// usable. On MySQL integer ids are written as the integers they parsed to: MariaDB 10.11
    /// pushes an `IN` of literals into a grouped query in `FROM` and seeks its index, but not
    /// one of bound parameters (0.2–0.5 s against 0.013 s per health component statement; 1.66
    /// s of a 2.9 s batch, issue 21).
    pub fn id_list(&self, ids: &[String], as_int: bool) -> Option<(String, Vec<Bind>)> {
        let binds = id_binds(ids, as_int);
        if binds.is_empty() {
            return None;
        }
        if as_int && self.backend() == Backend::MySql {
            let list: Vec<String> = binds
                .iter()
                .filter_map(|b| match b {
                    Bind::Int(n) => Some(n.to_string()),
                    Bind::Text(_) => None,
                })
                .collect();
            return Some((list.join(", "), Vec::new()));
        }
        Some((self.placeholders(1, binds.len()), binds))
    }

    /// `expr` as text, in this source's dialect (MySQL casts to `CHAR`).
    pub fn cast_text(&self, expr: &str) -> String {
        match self.backend() {
            Backend::MySql => format!("CAST({expr} AS CHAR)"),
            _ => format!("CAST({expr} AS TEXT)"),
        }
    }

    /// `name` quoted as an identifier (backticks on MySQL, double quotes elsewhere).
    pub fn ident(&self, name: &str) -> String {
        match self.backend() {
            Backend::MySql => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// A condition true when the text `expr` is not a plain decimal number.
    pub fn not_numeric(&self, expr: &str) -> String {
        const NUMBER: &str = "'^[-+]?[0-9]*[.]?[0-9]+([eE][-+]?[0-9]+)?$'";
        match self.backend() {
            // SQLite has no regular expressions: a number survives a round trip through a cast.
            Backend::Sqlite => format!(
                "CAST(CAST({expr} AS REAL) AS TEXT) <> {expr} AND CAST(CAST({expr} AS INTEGER) AS TEXT) <> {expr}"
            ),
            Backend::Postgres => format!("{expr} !~ {NUMBER}"),
            Backend::MySql => format!("{expr} NOT REGEXP {NUMBER}"),
        }
    }

    /// `expr` as an exact decimal where the source has one (`NUMERIC`, `DECIMAL`), so that a
    /// `SUM` over it is exact; SQLite has none and sums doubles (exact to the cent well past
    /// any one customer's revenue).
    pub fn cast_decimal(&self, expr: &str) -> String {
        match self.backend() {
            Backend::Sqlite => format!("CAST({expr} AS REAL)"),
            Backend::Postgres => format!("CAST({expr} AS NUMERIC)"),
            Backend::MySql => format!("CAST({expr} AS DECIMAL(38, 10))"),
        }
    }

    /// `expr` as a double-precision number, in this source's dialect.
    pub fn cast_real(&self, expr: &str) -> String {
        match self.backend() {
            Backend::Sqlite => format!("CAST({expr} AS REAL)"),
            Backend::Postgres => format!("CAST({expr} AS DOUBLE PRECISION)"),
            Backend::MySql => format!("CAST({expr} AS DOUBLE)"),
        }
    }

    /// Runs `sql` with `binds` and reads every row raw.
    ///
    /// Errors: the source refusing the query (the message is the driver's).
    pub async fn fetch(&self, sql: &str, binds: &[Bind]) -> sqlx::Result<RawRows> {
        on_pool!(self, p, raw => {
            let q = bind_all!(cacheable(sqlx::query(AssertSqlSafe(sql.to_string())), binds), binds);
            let rows = q.fetch_all(p).await?;
            Ok(RawRows {
                names: rows.first().map(names_of).unwrap_or_default(),
                rows: rows.iter().map(|r| (0..r.len()).map(|i| raw(r, i)).collect()).collect(),
            })
        })
    }

    /// The integer `sql` returns (a `COUNT(*)`); 0 for no row.
    ///
    /// Errors: the query failing; the message quotes it.
    pub async fn count(&self, sql: &str, binds: &[Bind]) -> eyre::Result<i64> {
        let rows = self
            .fetch(sql, binds)
            .await
            .map_err(|e| eyre::eyre!("source query failed: {e}\n  {sql}"))?;
        Ok(match rows.rows.first().and_then(|r| r.first()) {
            Some(Raw::Int(n)) => *n,
            Some(Raw::Real(f)) => *f as i64,
            _ => 0,
        })
    }

    /// Streams the rows of `sql`, handing them to `f` `size` at a time with their column
    /// names, so that memory stays bounded whatever the source's size.
    ///
    /// Errors: the query failing (as [`SourceError::Query`]) or the first error `f` returns.
    pub async fn stream(
        &self,
        sql: &str,
        binds: &[Bind],
        size: usize,
        mut f: impl AsyncFnMut(Arc<Vec<String>>, Vec<Vec<Raw>>) -> eyre::Result<()>,
    ) -> Result<(), SourceError> {
        on_pool!(self, p, raw => {
            let q = bind_all!(cacheable(sqlx::query(AssertSqlSafe(sql.to_string())), binds), binds);
            let mut stream = q.fetch(p);
            let mut names = None;
            let mut chunk = Vec::with_capacity(size);
            while let Some(r) = stream.try_next().await.map_err(SourceError::Query)? {
                let n = names.get_or_insert_with(|| names_of(&r));
                chunk.push((0..r.len()).map(|i| raw(&r, i)).collect());
                if chunk.len() == size {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(size));
                    f(n.clone(), full).await.map_err(SourceError::Callback)?;
                }
            }
            if !chunk.is_empty() {
                let n = names.unwrap_or_default();
                f(n, chunk).await.map_err(SourceError::Callback)?;
            }
            Ok(())
        })
    }

    /// The rows of `sql` as a stream of raw rows, for a caller that awaits other work between
    /// rows (a callback holding a connection across an await is not `Send` everywhere).
    ///
    /// Errors: each item is the query's error, if it fails.
    pub fn rows(&self, sql: &str, binds: &[Bind]) -> BoxStream<'_, sqlx::Result<Vec<Raw>>> {
        on_pool!(self, p, raw => {
            let q = bind_all!(cacheable(sqlx::query(AssertSqlSafe(sql.to_string())), binds), binds);
            q.fetch(p)
                .map_ok(move |r| (0..r.len()).map(|i| raw(&r, i)).collect())
                .boxed()
        })
    }

    /// Streams the rows of `sql` one at a time into `f`, for readers that only fold them.
    ///
    /// Errors: the query failing.
    pub async fn for_each(
        &self,
        sql: &str,
        binds: &[Bind],
        mut f: impl FnMut(Vec<Raw>),
    ) -> sqlx::Result<()> {
        let mut rows = self.rows(sql, binds);
        while let Some(r) = rows.try_next().await? {
            f(r);
        }
        Ok(())
    }

    /// The names and type names of the columns `sql` returns, from preparing it.
    ///
    /// Errors: the source refusing to prepare it.
    pub async fn columns(&self, sql: &str) -> sqlx::Result<Vec<(String, String)>> {
        on_pool!(self, p, _raw => {
            let mut conn = p.acquire().await?;
            let stmt = conn
                .prepare(sqlx::SqlSafeStr::into_sql_str(AssertSqlSafe(sql.to_string())))
                .await?;
            Ok(stmt
                .columns()
                .iter()
                .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
                .collect())
        })
    }

    /// Whether the column `column` of `query` (a mapping) is an integer on this database, so
    /// that ids compared with it are bound as integers. Learnt once per (query, column) by
    /// preparing a probe; SQLite compares by affinity and is always bound as text.
    pub async fn key_is_int(&self, query: &str, column: &str) -> bool {
        if self.backend() == Backend::Sqlite {
            return false;
        }
        let key = (query.to_string(), column.to_string());
        if let Some(v) = self.int_keys.lock().ok().and_then(|c| c.get(&key).copied()) {
            return v;
        }
        let probe = format!("SELECT m.{column} FROM ({query}) AS m WHERE 1 = 0");
        let is_int = self
            .columns(&probe)
            .await
            .ok()
            .and_then(|c| c.first().map(|(_, t)| is_int_type(t)))
            .unwrap_or(false);
        if let Ok(mut c) = self.int_keys.lock() {
            c.insert(key, is_int);
        }
        is_int
    }

    /// Runs one statement without binds; returns the rows it changed.
    ///
    /// Errors: the statement failing.
    pub async fn execute(&self, sql: &str) -> sqlx::Result<u64> {
        on_pool!(self, p, _raw => {
            Ok(sqlx::query(AssertSqlSafe(sql.to_string())).execute(p).await?.rows_affected())
        })
    }

    /// Runs `sql` once per id, binding the id, all in one transaction.
    ///
    /// Errors: the first failing statement, with the id it failed for; nothing commits then.
    pub async fn execute_each(&self, sql: &str, ids: &[Bind]) -> Result<(), (String, sqlx::Error)> {
        let shown = |b: &Bind| match b {
            Bind::Text(s) => s.clone(),
            Bind::Int(i) => i.to_string(),
        };
        // Every customer's statement with its id written in, sent a few hundred at a time: one
        // round trip each was 1,000 a batch, 0.16-0.24 s of the notify step over TCP to
        // MariaDB (0.09-0.15 s this way). Any id or SQL that cannot be written in safely takes
        // the bound path, and so does a failure, which then names its customer.
        let inlined: Option<Vec<String>> = hook_pieces(sql, self.backend()).and_then(|pieces| {
            ids.iter()
                .map(|id| id_literal(id).map(|l| pieces.join(l.as_str())))
                .collect()
        });
        if let Some(statements) = inlined.filter(|s| s.len() > 1) {
            let sent: Result<(), sqlx::Error> = on_pool!(self, p, _raw => {
                async {
                    let mut tx = p.begin().await?;
                    for part in statements.chunks(HOOK_STATEMENTS) {
                        sqlx::raw_sql(AssertSqlSafe(part.join(";\n")))
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await
                }
                .await
            });
            match sent {
                Ok(()) => return Ok(()),
                Err(e) => {
                    tracing::debug!(error = %e, "hook sent in calls failed; sending it bound")
                }
            }
        }
        on_pool!(self, p, _raw => {
            let mut tx = p.begin().await.map_err(|e| (String::new(), e))?;
            for id in ids {
                let q = bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), std::iter::once(id));
                q.execute(&mut *tx).await.map_err(|e| (shown(id), e))?;
            }
            tx.commit().await.map_err(|e| (String::new(), e))
        })
    }
}

/// Statements of a hook sent in one call by [`Source::execute_each`].
const HOOK_STATEMENTS: usize = 500;

/// `sql`, a hook that binds one customer's id, cut where its placeholder is: `?` (SQLite,
/// MySQL), `?1` or `$1` (SQLite, PostgreSQL), as often as it appears, so that the pieces
/// joined by an id's literal ([`id_literal`]) are the statement with that id bound. `None`
/// when that is not certain: no placeholder, another kind of parameter, a second statement
/// (`;`), a PostgreSQL dollar-quoted string or a `$` inside a name, a backslash outside
/// SQLite, or an unclosed quote or comment.
pub fn hook_pieces(sql: &str, backend: Backend) -> Option<Vec<&str>> {
    let mysql = backend == Backend::MySql;
    // PostgreSQL's `E'…'` strings, and MySQL's strings unless the server runs with
    // `NO_BACKSLASH_ESCAPES`, escape quotes with backslashes: where a string ends then depends
    // on more than this reading sees.
    if backend != Backend::Sqlite && sql.contains('\\') {
        return None;
    }
    let b = sql.as_bytes();
    let mut pieces = Vec::new();
    let (mut i, mut from, mut end) = (0, 0, b.len());
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                // A quoted string or name, with doubled quotes inside.
                i += 1;
                loop {
                    match b.get(i) {
                        None => return None,
                        Some(&c) if c == q => {
                            if b.get(i + 1) == Some(&q) {
                                i += 2;
                            } else {
                                break;
                            }
                        }
                        Some(_) => i += 1,
                    }
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(b.len(), |n| i + n);
            }
            b'#' if mysql => {
                i = sql[i..].find('\n').map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let close = sql[i + 2..].find("*/")? + i + 2;
                // PostgreSQL nests comments: a second opener is not followed here.
                if sql[i + 2..close].contains("/*") {
                    return None;
                }
                i = close + 2;
            }
            b';' => {
                if !sql[i + 1..].trim().is_empty() {
                    return None;
                }
                end = i;
                break;
            }
            // `$` inside a PostgreSQL name (`col$1`) is part of the name, not a parameter.
            b'$' if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') => {
                return None;
            }
            b'?' | b'$' => {
                let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                let ours = match (b[i], &sql[i + 1..i + 1 + digits]) {
                    (b'?', "") => backend != Backend::Postgres,
                    (b'?', "1") => backend == Backend::Sqlite,
                    (b'$', "1") => backend != Backend::MySql,
                    _ => false,
                };
                if !ours {
                    return None;
                }
                pieces.push(&sql[from..i]);
                i += 1 + digits;
                from = i;
            }
            b':' | b'@' if backend == Backend::Sqlite => {
                if b.get(i + 1)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
                {
                    return None;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    if pieces.is_empty() {
        return None;
    }
    pieces.push(&sql[from..end]);
    Some(pieces)
}

/// `id` as a literal any backend reads as the same value: an integer, or text of letters,
/// digits, spaces and `_ . : @ + -` in single quotes (nothing a quoting rule could read
/// differently). `None` for any other text.
pub fn id_literal(id: &Bind) -> Option<String> {
    match id {
        Bind::Int(i) => Some(i.to_string()),
        Bind::Text(t)
            if t.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '.' | ':' | '@' | '+' | '-')
            }) =>
        {
            Some(format!("'{t}'"))
        }
        Bind::Text(_) => None,
    }
}

/// `ids` as binds for a column that is an integer (`as_int`) or text. An id that is not an
/// integer cannot match an integer column and is left out.
pub fn id_binds(ids: &[String], as_int: bool) -> Vec<Bind> {
    if as_int {
        ids.iter()
            .filter_map(|s| s.parse().ok().map(Bind::Int))
            .collect()
    } else {
        ids.iter().map(|s| Bind::Text(s.clone())).collect()
    }
}

/// A streamed read that failed: the query on the source, or the caller's own work.
#[derive(Debug)]
pub enum SourceError {
    /// A query.
    Query(sqlx::Error),
    /// A callback.
    Callback(eyre::Report),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Bind {
        Bind::Text(s.to_string())
    }

    /// The hook `sql` with `id` written in, as [`Source::execute_each`] sends it.
    fn inline_id(sql: &str, backend: Backend, id: &Bind) -> Option<String> {
        Some(hook_pieces(sql, backend)?.join(id_literal(id)?.as_str()))
    }

    #[test]
    fn a_source_read_naming_many_ids_is_not_kept_in_the_statement_cache() {
        use db::kept;
        let ids = |n: usize| (0..n).map(|i| Bind::Int(i as i64)).collect::<Vec<_>>();
        let query = |binds: &[Bind]| {
            cacheable(
                sqlx::query::<sqlx::Sqlite>("SELECT 1 WHERE 1 IN (…)"),
                binds,
            )
        };
        assert!(kept(&query(&ids(db::CACHED_LIST_MAX))));
        assert!(!kept(&query(&ids(db::CACHED_LIST_MAX + 1))));
    }

    #[test]
    fn a_hooks_placeholder_is_replaced_by_the_id_and_nothing_else_is() {
        let sqlite = Backend::Sqlite;
        let demo = "UPDATE clients SET migrated_flag = 1 WHERE client_id = ?";
        assert_eq!(
            inline_id(demo, sqlite, &Bind::Int(-42)).unwrap(),
            "UPDATE clients SET migrated_flag = 1 WHERE client_id = -42"
        );
        assert_eq!(
            inline_id(demo, Backend::MySql, &text("C-001.a:b@c+d e_f")).unwrap(),
            "UPDATE clients SET migrated_flag = 1 WHERE client_id = 'C-001.a:b@c+d e_f'"
        );
        // Marks inside strings, names and comments stay; each real placeholder is replaced.
        assert_eq!(
            inline_id(
                "UPDATE t SET note = 'why? it''s $1', \"a?\" = 1 -- who?\n/* ? */ WHERE id = ?1 OR old = ?1;  ",
                sqlite,
                &Bind::Int(7)
            )
            .unwrap(),
            "UPDATE t SET note = 'why? it''s $1', \"a?\" = 1 -- who?\n/* ? */ WHERE id = 7 OR old = 7"
        );
        assert_eq!(
            inline_id(
                "UPDATE t SET a = `?` WHERE b = 'x''?' AND c = ? # ?",
                Backend::MySql,
                &Bind::Int(3)
            )
            .unwrap(),
            "UPDATE t SET a = `?` WHERE b = 'x''?' AND c = 3 # ?"
        );
        assert_eq!(
            inline_id(
                "UPDATE t SET a = $1 WHERE b = $1",
                Backend::Postgres,
                &text("x")
            )
            .unwrap(),
            "UPDATE t SET a = 'x' WHERE b = 'x'"
        );
    }

    #[test]
    fn a_hook_that_cannot_be_read_for_certain_is_left_to_the_bound_path() {
        let cases: [(&str, Backend, Bind); 16] = [
            (
                "UPDATE t SET a = 'x\\' WHERE id = ?",
                Backend::MySql,
                Bind::Int(1),
            ),
            ("UPDATE t SET a = 1", Backend::Sqlite, Bind::Int(1)),
            (
                "UPDATE t SET a = 1 WHERE id = ?",
                Backend::Sqlite,
                text("O'Brien"),
            ),
            (
                "UPDATE t SET a = 1 WHERE id = ?",
                Backend::MySql,
                text("a\\b"),
            ),
            (
                "UPDATE t SET a = 1 WHERE id = ?; DELETE FROM t",
                Backend::Sqlite,
                Bind::Int(1),
            ),
            (
                "UPDATE t SET a = ? WHERE id = ?2",
                Backend::Sqlite,
                Bind::Int(1),
            ),
            (
                "UPDATE t SET a = 1 WHERE id = :id",
                Backend::Sqlite,
                Bind::Int(1),
            ),
            (
                "UPDATE t SET a = 1 WHERE id = $2",
                Backend::Postgres,
                Bind::Int(1),
            ),
            (
                "UPDATE t SET a = 1 WHERE id = ?",
                Backend::Postgres,
                Bind::Int(1),
            ),
            (
                "UPDATE t SET a = $$x$$ WHERE id = $1",
                Backend::Postgres,
                Bind::Int(1),
            ),
            (
                "UPDATE t SET a = E'\\'' WHERE id = $1",
                Backend::Postgres,
                Bind::Int(1),
            ),
            (
                "UPDATE t SET a = $1 WHERE id = ?",
                Backend::MySql,
                Bind::Int(1),
            ),
            (
                "UPDATE t SET a = 'open WHERE id = ?",
                Backend::Sqlite,
                Bind::Int(1),
            ),
            (
                "UPDATE t SET a = 1 /* ? WHERE id = ?",
                Backend::Sqlite,
                Bind::Int(1),
            ),
            (
                "UPDATE t /* a /* b */ ? */ SET a = $1",
                Backend::Postgres,
                Bind::Int(1),
            ),
            (
                "UPDATE t SET a$1 = 0 WHERE id = $1",
                Backend::Postgres,
                Bind::Int(1),
            ),
        ];
        for (sql, backend, id) in cases {
            assert_eq!(inline_id(sql, backend, &id), None, "{sql} on {backend:?}");
        }
    }
}

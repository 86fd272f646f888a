//! The database engines a URL can name, and every SQL difference between them that the state
//! and platform code needs, as methods (the one place dialects are told apart).

use super::{Conn, Pool, Role, redact};

/// The database engines a URL can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB (as a source).
    MySql,
}

impl Backend {
    /// The SQL of a relation for a `FROM` clause, `(SELECT … ) AS alias`, that reads rows from
    /// one JSON parameter, split around where that parameter's placeholder goes: each row a
    /// JSON array of its values in `cols`' order. SQLite reads it with `json_each`,
    /// PostgreSQL with `jsonb_array_elements`, MySQL 8 and MariaDB 10.6 with `JSON_TABLE`;
    /// all in array order. [`super::Builder::push_json_rows`] binds it.
    pub fn json_rows(self, cols: &[(&str, super::JsonCol)], alias: &str) -> (String, String) {
        use super::JsonCol;
        let fields: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, (name, ty))| match (self, ty) {
                (Backend::Postgres, JsonCol::Int) => format!("(j.value->>{i})::bigint AS {name}"),
                (Backend::Postgres, JsonCol::Text) => format!("j.value->>{i} AS {name}"),
                (Backend::Postgres, JsonCol::Real) => {
                    format!("(j.value->>{i})::double precision AS {name}")
                }
                // A whole JSON number comes back an INTEGER; a REAL column wants a double.
                (Backend::Sqlite, JsonCol::Real) => {
                    format!("CAST(json_extract(j.value, '$[{i}]') AS REAL) AS {name}")
                }
                (Backend::Sqlite, _) => format!("json_extract(j.value, '$[{i}]') AS {name}"),
                (Backend::MySql, _) => format!("j.{name} AS {name}"),
            })
            .collect();
        let head = format!("(SELECT {} FROM ", fields.join(", "));
        match self {
            Backend::Postgres => (
                format!("{head}jsonb_array_elements(CAST("),
                format!(" AS jsonb)) AS j(value)) AS {alias}"),
            ),
            Backend::Sqlite => (format!("{head}json_each("), format!(") AS j) AS {alias}")),
            Backend::MySql => {
                let columns: Vec<String> = cols
                    .iter()
                    .enumerate()
                    .map(|(i, (name, ty))| match ty {
                        JsonCol::Int => format!("{name} BIGINT PATH '$[{i}]'"),
                        JsonCol::Text => format!("{name} TEXT PATH '$[{i}]'"),
                        JsonCol::Real => format!("{name} DOUBLE PATH '$[{i}]'"),
                    })
                    .collect();
                (
                    format!("{head}JSON_TABLE("),
                    format!(
                        ", '$[*]' COLUMNS ({})) AS j) AS {alias}",
                        columns.join(", ")
                    ),
                )
            }
        }
    }

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

    /// Whether SQL that binds its values in the order its placeholders appear numbers them
    /// (`$N`): only PostgreSQL needs to. MySQL knows only `?`, and on SQLite `?` is free where
    /// sqlx finds each numbered one by walking the statement's parameter names, once per
    /// parameter: quadratic in an `IN` list of 500, 2.5% of a batch's CPU under `perf`.
    pub fn numbers_placeholders(self) -> bool {
        self == Backend::Postgres
    }

    /// The `i`-th placeholder (1-based) of SQL that binds in order: `$i` where
    /// [`Backend::numbers_placeholders`], `?` elsewhere.
    pub fn placeholder(self, i: usize) -> String {
        if self.numbers_placeholders() {
            format!("${i}")
        } else {
            "?".to_string()
        }
    }

    /// `n` placeholders from the `start`-th ([`Backend::placeholder`]), comma-separated: the
    /// inside of an `IN (…)` in SQL that binds in order.
    pub fn ordered_placeholders(self, start: usize, n: usize) -> String {
        (start..start + n)
            .map(|i| self.placeholder(i))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `n` placeholders from the `start`-th (1-based) for an `IN (…)` list in SQL that also
    /// names `$1…` itself: `$3, $4` on SQLite and PostgreSQL (sqlx cannot mix numbered and
    /// anonymous ones), `?, ?` on MySQL (which numbers them by position).
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

//! Statements built with `$N` (or anonymous) placeholders: multi-row `VALUES`, `IN` lists.

use sqlx::{Any, AssertSqlSafe};

use super::Backend;

/// `$start, $start+1, …` with `n` placeholders, for `IN (…)` lists on the state or platform.
pub fn placeholders(start: usize, n: usize) -> String {
    Backend::Sqlite.placeholders(start, n)
}

/// The most binds an `IN` list may hold for its statement to be kept in sqlx's statement cache
/// (a list from [`Builder::push_list`], or a source read's binds). A statement naming a batch's
/// customers is compiled by SQLite with one instruction per listed value (about 0.8 KB per
/// listed id), and sqlx keeps up to 100 of them per connection: at 1,000 customers a batch
/// such programmes were 5.6 MB of a worker's 30 MB peak heap (see BENCHMARKS.md). A list that
/// long is parsed again each time instead, which costs less than a millisecond.
pub const CACHED_LIST_MAX: usize = 64;

/// Builds one statement with `$N` placeholders (sqlx's `QueryBuilder` writes `?` for the `Any`
/// driver, which PostgreSQL refuses): a multi-row `INSERT … VALUES (…), (…)` in one round trip.
pub struct Builder {
    sql: String,
    args: sqlx::any::AnyArguments,
    n: usize,
    /// The longest list [`Builder::push_list`] appended, in binds.
    longest_list: usize,
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
            longest_list: 0,
            anonymous: false,
        }
    }

    /// Starts a statement with `sql` for `backend`: `$N` placeholders where
    /// [`Backend::numbers_placeholders`], anonymous `?` elsewhere. `sql` itself must then hold
    /// no placeholders.
    pub fn on(backend: Backend, sql: impl Into<String>) -> Self {
        Builder {
            anonymous: !backend.numbers_placeholders(),
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

    /// Appends `(…)` with one placeholder per item and binds each: the list of an `IN`. A
    /// statement holding a list longer than [`CACHED_LIST_MAX`] is not kept in sqlx's
    /// statement cache.
    pub fn push_list<'t, T>(&mut self, items: impl IntoIterator<Item = T>) -> &mut Self
    where
        T: sqlx::Encode<'t, Any> + sqlx::Type<Any>,
    {
        self.sql.push('(');
        let mut len = 0;
        for item in items {
            if len > 0 {
                self.sql.push_str(", ");
            }
            self.push_bind(item);
            len += 1;
        }
        self.sql.push(')');
        self.longest_list = self.longest_list.max(len);
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

    /// The statement, ready to execute; the builder is left empty. It is kept in sqlx's
    /// statement cache unless it holds a list longer than [`CACHED_LIST_MAX`].
    pub fn build(&mut self) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
        let (sql, args, cached) = self.take();
        sqlx::query_with(sql, args).persistent(cached)
    }

    /// The statement's text and binds, and whether it may be kept in sqlx's statement cache
    /// (no list longer than [`CACHED_LIST_MAX`]); the builder is left empty.
    fn take(&mut self) -> (AssertSqlSafe<String>, sqlx::any::AnyArguments, bool) {
        let cached = self.longest_list <= CACHED_LIST_MAX;
        self.n = 0;
        self.longest_list = 0;
        (
            AssertSqlSafe(std::mem::take(&mut self.sql)),
            std::mem::take(&mut self.args),
            cached,
        )
    }

    /// [`Builder::build`] for one chunk of rows written `full` rows a statement (multi-row
    /// `VALUES`): kept in sqlx's statement cache only when the chunk is full. A shorter chunk
    /// is a statement of its own shape that seldom comes again, and sqlx keeps 100 per
    /// connection with SQLite's compiled program (about 100 KB for 400 rows): 9.7 MB of a
    /// 5,000-customer batch's peak heap on a SQLite platform.
    pub fn build_chunk(
        &mut self,
        rows: usize,
        full: usize,
    ) -> sqlx::query::Query<'static, Any, sqlx::any::AnyArguments> {
        let (sql, args, cached) = self.take();
        sqlx::query_with(sql, args).persistent(rows == full && cached)
    }
}

/// The SQL type of a column of [`Builder::push_json_rows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonCol {
    /// A JSON number, read as BIGINT.
    Int,
    /// A JSON string, read as TEXT.
    Text,
    /// A JSON number, read as a double.
    Real,
}

impl Builder {
    /// Appends a relation for a `FROM` clause, `(SELECT … ) AS alias`, whose rows are `rows`,
    /// bound as one JSON parameter: each row a JSON array holding its values in `cols`' order
    /// (`null` for NULL), each column named and typed by `cols`.
    ///
    /// One statement for any number of rows: multi-row `VALUES` needs one statement per few
    /// hundred rows (SQLite and PostgreSQL cap a statement's parameters), so the state's
    /// per-batch writes grew with the batch (issue 21: statements per batch constant). SQLite
    /// reads the parameter with `json_each`, PostgreSQL with `jsonb_array_elements`, both in
    /// array order.
    pub fn push_json_rows(
        &mut self,
        backend: Backend,
        cols: &[(&str, JsonCol)],
        rows: &[impl serde::Serialize],
        alias: &str,
    ) -> &mut Self {
        let (head, tail) = backend.json_rows(cols, alias);
        // A row type serialising to a JSON array (a tuple, or a `Value::Array`); serialised
        // in place: a batch's rows are not copied into a JSON tree first.
        let json = serde_json::to_string(rows).expect("rows serialise to JSON");
        self.push(head).push_bind(json).push(tail)
    }

    /// Appends `IN (SELECT …)` over `values` of type `ty`, bound as one JSON parameter
    /// ([`Builder::push_json_rows`]): an `IN` list of any length in one statement. For a
    /// table's indexed column; SQLite does not push it into a grouped subquery.
    pub fn push_json_in<T: serde::Serialize>(
        &mut self,
        backend: Backend,
        ty: JsonCol,
        values: impl IntoIterator<Item = T>,
    ) -> &mut Self {
        let rows: Vec<(T,)> = values.into_iter().map(|v| (v,)).collect();
        self.push("IN (SELECT r.k FROM ")
            .push_json_rows(backend, &[("k", ty)], &rows, "r")
            .push(")")
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
        let (sql, args, cached) = self.take();
        sqlx::query_as_with(sql, args).persistent(cached)
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

/// Whether sqlx keeps `q` in its connection's statement cache (the trait's getter; the
/// query's own `persistent` is the setter).
#[cfg(test)]
pub(crate) fn kept<'q, DB: sqlx::Database>(q: &impl sqlx::Execute<'q, DB>) -> bool {
    q.persistent()
}

#[cfg(test)]
mod tests {
    use super::{Builder, CACHED_LIST_MAX, kept};
    use crate::db::Backend;

    fn listing(n: usize) -> Builder {
        let mut b = Builder::on(
            Backend::Sqlite,
            "SELECT id FROM customers WHERE legacy_id IN ",
        );
        b.push_list((0..n).map(|i| i.to_string()));
        b
    }

    #[test]
    fn a_statement_with_a_long_in_list_is_not_kept_in_the_statement_cache() {
        assert!(kept(&listing(CACHED_LIST_MAX).build()));
        assert!(!kept(&listing(CACHED_LIST_MAX + 1).build()));
        assert!(!kept(&listing(1000).build_query_as::<(i64,)>()));
        // The builder starts over after each statement.
        let mut b = listing(1000);
        let _ = b.build();
        b.push("SELECT 1");
        assert!(kept(&b.build()));
    }

    #[test]
    fn a_chunk_is_kept_only_when_full_and_without_a_long_list() {
        let mut b = Builder::on(Backend::Sqlite, "INSERT INTO t (a) ");
        b.push_values(0..500, |mut v, i| {
            v.push_bind(i as i64);
        });
        assert!(kept(&b.build_chunk(500, 500)));
        b.push("INSERT INTO t (a) ");
        b.push_values(0..499, |mut v, i| {
            v.push_bind(i as i64);
        });
        assert!(!kept(&b.build_chunk(499, 500)));
        let mut b = listing(CACHED_LIST_MAX + 1);
        assert!(!kept(&b.build_chunk(500, 500)));
    }
}

//! Database errors as operators read them: which database, in the database's own words.

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

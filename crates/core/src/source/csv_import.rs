//! `cutover import csv`: loads a CSV export into a SQLite table of TEXT columns, byte for byte.
//! Nothing is cast or cleaned here; the mapping does that, so the export stays auditable.

use std::path::Path;

use crate::db;

/// Values one INSERT statement binds at most: SQLite refuses more than 32,766 variables.
const VALUES: usize = 30_000;

/// Rows per INSERT statement: up to 400, fewer for a wide export.
fn rows_per_statement(columns: usize) -> usize {
    (VALUES / columns.max(1)).clamp(1, 400)
}

/// What an import loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The table.
    pub table: String,
    /// The entity's canonical columns, in order (brief 3.3).
    pub columns: usize,
    /// Rows.
    pub rows: u64,
}

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Checks the quoting of the CSV in `file` as RFC 4180 has it, which the `csv` crate forgives:
/// a quoted field must be closed before the end of the file, and a closing quote must be
/// followed by a delimiter or the end of the line. An unterminated quote would otherwise
/// swallow every row after it into one field, and a file of 2 rows import as 1.
///
/// Errors: the first defect, naming the line where its quoted field opened.
fn check_quotes(file: &Path) -> eyre::Result<()> {
    use std::io::Read;
    let f = std::fs::File::open(file).map_err(|e| eyre::eyre!("{}: {e}", file.display()))?;
    let mut r = std::io::BufReader::with_capacity(1 << 16, f);
    let mut buf = [0u8; 1 << 16];
    // At the start of a field / inside an unquoted field / inside a quoted one / just after a
    // quote met inside a quoted field (an escaped "" or the closing quote).
    #[derive(PartialEq)]
    enum At {
        Start,
        Bare,
        Quoted,
        QuoteInQuoted,
    }
    let mut at = At::Start;
    let (mut line, mut opened) = (1u64, 0u64);
    loop {
        let n = r
            .read(&mut buf)
            .map_err(|e| eyre::eyre!("{}: {e}", file.display()))?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            at = match (at, b) {
                (At::Start, b'"') => {
                    opened = line;
                    At::Quoted
                }
                (At::Quoted, b'"') => At::QuoteInQuoted,
                (At::Quoted, _) => At::Quoted,
                (At::QuoteInQuoted, b'"') => At::Quoted,
                (At::QuoteInQuoted | At::Start | At::Bare, b',' | b'\n' | b'\r') => At::Start,
                (At::QuoteInQuoted, other) => eyre::bail!(
                    "{}: line {line}: the quoted field opened on line {opened} is closed and then \
                     followed by {:?} (a quote inside a quoted field is written \"\")",
                    file.display(),
                    char::from(other)
                ),
                (At::Start | At::Bare, _) => At::Bare,
            };
            if b == b'\n' {
                line += 1;
            }
        }
    }
    if at == At::Quoted {
        eyre::bail!(
            "{}: line {opened}: a quoted field opens here and is never closed (an unterminated \
             quote would swallow every row after it)",
            file.display()
        );
    }
    Ok(())
}

/// Imports `file` into table `table` of the SQLite database at `into` (created if missing;
/// removed again when the import fails, so that a failed import leaves no file behind).
/// Values that are not valid UTF-8 are stored as BLOBs so that no byte is lost; the mapping's
/// transform then names them.
///
/// Errors: an unreadable or empty file, an unterminated quote (named by line), a header with
/// an empty or repeated name, a row whose field count differs from the header's (named by
/// line), an empty table name, or the table already existing without `replace`.
pub async fn import(
    file: &Path,
    table: &str,
    into: &Path,
    replace: bool,
) -> eyre::Result<Imported> {
    if table.trim().is_empty() {
        eyre::bail!("--table: the table needs a name");
    }
    check_quotes(file)?;
    let existed = into.exists();
    let r = load(file, table, into, replace).await;
    if r.is_err() && !existed {
        db::remove_sqlite_files(into)?;
    }
    r
}

async fn load(file: &Path, table: &str, into: &Path, replace: bool) -> eyre::Result<Imported> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_path(file)
        .map_err(|e| eyre::eyre!("{}: {e}", file.display()))?;
    let header = rdr
        .byte_headers()
        .map_err(|e| eyre::eyre!("{}: header: {e}", file.display()))?
        .clone();
    let mut names: Vec<String> = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(h).trim().to_string();
        if name.is_empty() {
            eyre::bail!("{}: header column {} has no name", file.display(), i + 1);
        }
        if names.contains(&name) {
            eyre::bail!(
                "{}: header column {} repeats the name {name:?}",
                file.display(),
                i + 1
            );
        }
        names.push(name);
    }
    if names.is_empty() {
        eyre::bail!(
            "{}: the file is empty: a CSV export starts with a header line naming its columns",
            file.display()
        );
    }
    let pool = db::open(
        &format!("sqlite://{}", into.display()),
        "import",
        true,
        false,
    )
    .await?;
    let mut tx = pool.begin().await?;
    if replace {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP TABLE IF EXISTS {}",
            ident(table)
        )))
        .execute(&mut *tx)
        .await?;
    }
    let cols = names
        .iter()
        .map(|n| format!("{} TEXT", ident(n)))
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {} ({cols})",
        ident(table)
    )))
    .execute(&mut *tx)
    .await
    .map_err(|e| {
        eyre::eyre!(
            "{}: table {table}: {e} (pass --replace to load it again)",
            into.display()
        )
    })?;
    let insert = format!(
        "INSERT INTO {} ({}) ",
        ident(table),
        names
            .iter()
            .map(|n| ident(n))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let per = rows_per_statement(names.len());
    let mut buf: Vec<csv::ByteRecord> = Vec::with_capacity(per);
    let mut rows = 0u64;
    let mut record = csv::ByteRecord::new();
    loop {
        let more = rdr.read_byte_record(&mut record).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            eyre::eyre!("{}: line {line}: {e}", file.display())
        })?;
        if more {
            buf.push(record.clone());
        }
        if buf.len() == per || (!more && !buf.is_empty()) {
            let mut qb = crate::db::Builder::on(crate::db::Backend::Sqlite, insert.clone());
            qb.push_values(buf.iter(), |mut b, r| {
                for field in r.iter() {
                    match std::str::from_utf8(field) {
                        Ok(s) => b.push_bind(s.to_string()),
                        Err(_) => b.push_bind(field.to_vec()),
                    };
                }
            });
            qb.build().execute(&mut *tx).await?;
            rows += buf.len() as u64;
            buf.clear();
        }
        if !more {
            break;
        }
    }
    tx.commit().await?;
    pool.close().await;
    Ok(Imported {
        table: table.to_string(),
        columns: names.len(),
        rows,
    })
}

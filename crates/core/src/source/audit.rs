//! The pre-migration audit (brief section 2): per-customer checks in Rust on the streamed
//! customer rows, per-entity checks as SQL over the mapping on the source, and orphan rows
//! (rows whose customer does not exist) rejected for every child entity.

use std::collections::{HashMap, HashSet};

use super::Source;

use crate::config::{AuditRule, Check, Mappings, Severity};
use crate::schema::{Entity, Raw, Row, Val, shown, truncate};

/// One rule a customer failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The customer (legacy id).
    pub customer: String,
    /// The rule's name.
    pub rule: String,
    /// Its severity.
    pub severity: Severity,
    /// What happened, in words.
    pub detail: String,
}

/// A source row that belongs to no customer, so is never migrated.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The canonical entity.
    pub entity: &'static str,
    /// The customer's legacy id (the source's).
    pub legacy_id: String,
    /// The rule's name.
    pub rule: String,
    /// What happened, in words.
    pub detail: String,
}

/// Whether `s` looks like an email address: one `@`, a local part, a dotted domain, no spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|p| !p.is_empty())
}

/// Whether `s` looks like a phone number: digits with `+ - ( ) .` and spaces, 7 to 15 digits.
pub fn is_phone(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && s.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
}

/// Per-customer rules need the values some SQL found (duplicates); gathered once per plan.
pub struct CustomerChecks<'a> {
    rules: Vec<(&'a AuditRule, String)>,
    duplicates: HashMap<usize, HashSet<String>>,
}

impl<'a> CustomerChecks<'a> {
    /// Prepares the customer-level rules, asking the source for duplicated values.
    pub async fn prepare(
        pool: &Source,
        mappings: &Mappings,
        rules: &'a [AuditRule],
    ) -> eyre::Result<Self> {
        let mut out = Self {
            rules: Vec::new(),
            duplicates: HashMap::new(),
        };
        for r in rules {
            let on_customers = match r.target() {
                Some((e, _)) => e == Entity::Customers,
                None => r.check == Check::ProfileCompleteness,
            };
            if !on_customers {
                continue;
            }
            if r.check == Check::Duplicate
                && let Some((_, col)) = r.target()
            {
                let t = format!(
                    "trim({})",
                    pool.cast_text(&format!("m.{}", pool.ident(col)))
                );
                let sql = format!(
                    "SELECT lower({t}), COUNT(*) FROM ({q}) AS m \
                     WHERE {t} IS NOT NULL AND {t} <> '' GROUP BY lower({t}) HAVING COUNT(*) > 1",
                    q = mappings.customers.query
                );
                let dups = super::pairs(pool, sql, &[]).await?;
                out.duplicates
                    .insert(out.rules.len(), dups.into_iter().map(|(k, _)| k).collect());
            }
            out.rules.push((r, r.display_name()));
        }
        Ok(out)
    }

    /// The findings for one customer row; `attrs` is its parsed `attributes`.
    pub fn check(
        &self,
        row: &Row,
        attrs: &serde_json::Map<String, serde_json::Value>,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        for (i, (rule, name)) in self.rules.iter().enumerate() {
            let value = rule.target().map(|(_, c)| field(row, attrs, c));
            let text = value.as_ref().and_then(|v| v.clone());
            let failed: Option<String> = match rule.check {
                Check::Required => text
                    .as_deref()
                    .is_none_or(|t| t.trim().is_empty())
                    .then(|| "is missing".to_string()),
                Check::EmailFormat => text
                    .filter(|t| !is_email(t.trim()))
                    .map(|t| format!("{t:?} is not an email address")),
                Check::PhoneFormat => match text {
                    None => Some("is missing".into()),
                    Some(t) if t.trim().is_empty() => Some("is missing".into()),
                    Some(t) => (!is_phone(&t)).then(|| format!("{t:?} is not a phone number")),
                },
                // Blank is `required`'s business; numeric judges what is there.
                Check::Numeric => text
                    .filter(|t| !t.trim().is_empty() && t.trim().parse::<f64>().is_err())
                    .map(|t| format!("{t:?} is not a number")),
                Check::NonNegative => text
                    .and_then(|t| t.trim().parse::<f64>().ok())
                    .filter(|n| *n < 0.0)
                    .map(|n| format!("{n} is negative")),
                Check::Duplicate => text
                    .filter(|t| {
                        self.duplicates
                            .get(&i)
                            .is_some_and(|d| d.contains(&t.trim().to_lowercase()))
                    })
                    .map(|t| format!("{t:?} is shared with another customer")),
                Check::ProfileCompleteness => {
                    let score = completeness(row);
                    let min = rule.min.unwrap_or(60.0);
                    (score < min).then(|| format!("profile {score:.0}% complete, below {min:.0}%"))
                }
                Check::MaxLength => text
                    .map(|t| t.chars().count())
                    .filter(|n| *n as u64 > rule.max.unwrap_or(u64::MAX))
                    .map(|n| format!("is {n} characters long, over {}", rule.max.unwrap_or(0))),
                // The value is named by its escaped form: the raw one would reach a terminal.
                Check::Printable => text
                    .filter(|t| t.chars().any(crate::schema::unsafe_char))
                    .map(|t| {
                        format!(
                            "{} holds control or bidirectional-override characters",
                            crate::schema::shown(&truncate(&t, 60))
                        )
                    }),
                Check::OneOf => text
                    .filter(|t| {
                        !t.trim().is_empty()
                            && !rule
                                .values
                                .as_ref()
                                .is_some_and(|v| v.iter().any(|x| x == t.trim()))
                    })
                    .map(|t| {
                        format!(
                            "{:?} is not one of {}",
                            crate::schema::shown(t.trim()),
                            rule.values.as_deref().unwrap_or_default().join(", ")
                        )
                    }),
                Check::Reference => None,
            };
            if let Some(detail) = failed {
                let what = rule
                    .target()
                    .map(|(_, c)| format!("{c} "))
                    .unwrap_or_default();
                out.push(Finding {
                    customer: row.legacy_id().to_string(),
                    rule: name.clone(),
                    severity: rule.severity,
                    detail: format!("{what}{detail}").trim().to_string(),
                });
            }
        }
        out
    }
}

/// The share (percent) of the profile fields a customer has filled in.
pub fn completeness(row: &Row) -> f64 {
    const FIELDS: [&str; 6] = [
        "name",
        "email",
        "phone",
        "account_type",
        "created_at",
        "country",
    ];
    let filled = FIELDS
        .iter()
        .filter(|f| {
            row.get(Entity::Customers, f)
                .is_some_and(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()))
        })
        .count();
    filled as f64 * 100.0 / FIELDS.len() as f64
}

fn field(
    row: &Row,
    attrs: &serde_json::Map<String, serde_json::Value>,
    col: &str,
) -> Option<String> {
    match row.get(Entity::Customers, col) {
        Some(Val::Null) => None,
        Some(v) => Some(v.display()),
        None => match attrs.get(col) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(v) => Some(v.to_string()),
        },
    }
}

/// What a mapped platform cannot hold, as blocking findings, so that the plan quarantines the
/// customer instead of its batch failing on the platform (or validation failing on a loss):
///
/// - `enum:<entity>.<column>`: a value outside the labels of the platform's enum column
///   ([`crate::target::Col::labels`]);
/// - `device_link:repairs.device_legacy_id`: a repair pointing at a device its customer does
///   not have, where the platform keeps the link only as the device's platform id (no column
///   holds `device_legacy_id`): the link would be lost.
///
/// Errors: a mapping query failing on the source.
pub async fn platform_findings(
    pool: &Source,
    mappings: &Mappings,
    layout: &crate::target::Layout,
) -> eyre::Result<Vec<Finding>> {
    let mut out = Vec::new();
    for entity in Entity::ALL {
        let (Some(q), Some(t)) = (mappings.get(entity), layout.table(entity)) else {
            continue;
        };
        for c in t.cols.iter().filter(|c| !c.labels.is_empty()) {
            let crate::target::Slot::Value(i) = c.slot else {
                continue;
            };
            let col = entity.columns()[i].name;
            let labels = c
                .labels
                .iter()
                .map(|l| format!("'{}'", l.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(", ");
            let owner = entity.customer_key();
            let v = pool.cast_text(&format!("m.{}", pool.ident(col)));
            let sql = format!(
                "SELECT m.{owner}, m.legacy_id, m.{} FROM ({q}) AS m WHERE m.{0} IS NOT NULL AND {v} NOT IN ({labels})",
                pool.ident(col)
            );
            for (cust, id, value) in triples(pool, &sql).await? {
                out.push(Finding {
                    customer: cust,
                    rule: format!("enum:{}.{col}", entity.name()),
                    severity: Severity::Block,
                    detail: format!(
                        "{} {}: {col} = {} is not one of the platform's {} ({})",
                        entity.name(),
                        shown(&id),
                        raw_text(&value),
                        t.name,
                        c.labels.join(", ")
                    ),
                });
            }
        }
    }
    let repairs = layout.table(Entity::Repairs);
    let kept = |t: &crate::target::Table| {
        let i = Entity::Repairs.column_index("device_legacy_id");
        t.cols
            .iter()
            .any(|c| Some(c.slot) == i.map(crate::target::Slot::Value))
    };
    if let (Some(t), Some(rq), Some(dq)) = (
        repairs,
        mappings.get(Entity::Repairs),
        mappings.get(Entity::Devices),
    ) && t.device.is_some()
        && !kept(t)
    {
        let sql = format!(
            "SELECT m.customer_legacy_id, m.legacy_id, m.device_legacy_id FROM ({rq}) AS m \
             LEFT JOIN (SELECT d.legacy_id AS k, d.customer_legacy_id AS ck FROM ({dq}) AS d \
             GROUP BY d.legacy_id, d.customer_legacy_id) AS d \
             ON d.k = m.device_legacy_id AND d.ck = m.customer_legacy_id \
             WHERE m.device_legacy_id IS NOT NULL AND trim({}) <> '' AND d.k IS NULL",
            pool.cast_text("m.device_legacy_id")
        );
        for (cust, id, value) in triples(pool, &sql).await? {
            out.push(Finding {
                customer: cust,
                rule: "device_link:repairs.device_legacy_id".into(),
                severity: Severity::Block,
                detail: format!(
                    "repairs {}: device_legacy_id = {} is not one of the customer's devices, and \
                     {} keeps a repair's device only as a link ({}): the reference would be lost \
                     (fix the source, or map device_legacy_id to a column)",
                    shown(&id),
                    raw_text(&value),
                    t.name,
                    t.device.as_deref().unwrap_or_default()
                ),
            });
        }
    }
    Ok(out)
}

/// The built-in rule for a legacy id that two source rows of one entity share.
pub const DUPLICATE_LEGACY_ID: &str = "duplicate_legacy_id";

/// Runs the child-entity rules, the duplicate legacy id check (every entity) and the orphan
/// check as SQL over the mapping.
///
/// Errors: a mapping query failing on the source.
pub async fn entity_findings(
    pool: &Source,
    mappings: &Mappings,
    rules: &[AuditRule],
) -> eyre::Result<(Vec<Finding>, Vec<Rejected>)> {
    let mut findings = Vec::new();
    let mut rejected = Vec::new();
    let cq = &mappings.customers.query;
    for r in rules {
        let Some((entity, col)) = r.target() else {
            continue;
        };
        let Some(q) = mappings.get(entity) else {
            continue;
        };
        if entity == Entity::Customers {
            continue;
        }
        let c = pool.ident(col);
        let t = format!("trim({})", pool.cast_text(&format!("m.{c}")));
        let mut join = String::new();
        let cond = match r.check {
            Check::Required => format!("m.{c} IS NULL OR {t} = ''"),
            Check::NonNegative => format!("{} < 0", pool.cast_real(&format!("m.{c}"))),
            Check::Numeric => format!(
                "m.{c} IS NOT NULL AND {t} <> '' AND {}",
                pool.not_numeric(&t)
            ),
            Check::Duplicate => format!(
                "m.{c} IN (SELECT d.{c} FROM ({q}) AS d GROUP BY d.{c} HAVING COUNT(*) > 1)"
            ),
            Check::Reference if col == "device_legacy_id" => match mappings.get(Entity::Devices) {
                Some(dq) => {
                    let missing;
                    (join, missing) = absent(pool, dq, "legacy_id", "m.device_legacy_id");
                    format!(
                        "m.device_legacy_id IS NOT NULL AND trim({}) <> '' AND {missing}",
                        pool.cast_text("m.device_legacy_id")
                    )
                }
                None => continue,
            },
            // Orphans are checked for every entity below.
            Check::Reference => continue,
            Check::OneOf => format!(
                "m.{c} IS NOT NULL AND {t} <> '' AND {t} NOT IN ({})",
                r.values
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(|v| format!("'{}'", v.replace('\'', "''")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            other => eyre::bail!(
                "audit rule {}: check `{}` is only supported on customers",
                r.display_name(),
                other.as_str()
            ),
        };
        let sql = format!(
            "SELECT m.customer_legacy_id, m.legacy_id, m.{c} FROM ({q}) AS m{join} WHERE {cond}"
        );
        for (cust, id, value) in triples(pool, &sql).await? {
            findings.push(Finding {
                customer: cust,
                rule: r.display_name(),
                severity: r.severity,
                detail: format!(
                    "{} {}: {col} = {}",
                    entity.name(),
                    shown(&id),
                    raw_text(&value)
                ),
            });
        }
    }
    // A legacy id two source rows share: a customer's is ambiguous (which row is it?), so it
    // blocks; a child's rows both migrate (nothing is lost), flagged.
    for entity in Entity::ALL {
        let Some(q) = mappings.get(entity) else {
            continue;
        };
        let owner = if entity == Entity::Customers {
            "legacy_id"
        } else {
            "customer_legacy_id"
        };
        let sql = format!(
            "SELECT DISTINCT m.{owner}, m.legacy_id, NULL FROM ({q}) AS m WHERE m.legacy_id IN \
             (SELECT d.legacy_id FROM ({q}) AS d GROUP BY d.legacy_id HAVING COUNT(*) > 1)"
        );
        for (cust, id, _) in triples(pool, &sql).await? {
            findings.push(Finding {
                customer: cust,
                rule: DUPLICATE_LEGACY_ID.into(),
                severity: if entity == Entity::Customers {
                    Severity::Block
                } else {
                    Severity::Warn
                },
                detail: format!(
                    "{} {}: another source row has the same legacy id",
                    entity.name(),
                    shown(&id)
                ),
            });
        }
    }
    let ids = CustomerIds::gather(pool, cq, mappings).await?;
    for entity in &Entity::ALL[1..] {
        let Some(q) = mappings.get(*entity) else {
            continue;
        };
        let (join, missing) = match &ids {
            Some(ids) => (String::new(), ids.missing("m.customer_legacy_id")),
            None => absent(pool, cq, "legacy_id", "m.customer_legacy_id"),
        };
        let sql = format!(
            "SELECT m.customer_legacy_id, m.legacy_id, NULL FROM ({q}) AS m{join} WHERE {missing}"
        );
        for (cust, id, _) in triples(pool, &sql).await? {
            rejected.push(Rejected {
                entity: entity.name(),
                legacy_id: id,
                rule: "orphan".into(),
                detail: format!("customer {} does not exist in the source", shown(&cust)),
            });
        }
    }
    if let Some(ids) = ids {
        ids.remove(pool).await?;
    }
    Ok((findings, rejected))
}

/// The customers' legacy ids in a temporary table with an index, for the orphan checks of
/// every child entity on SQLite. Each `NOT IN (subquery)` over the customers' mapping built
/// its own index of every id again: at 10^6 customers about 0.4 s of each check's 0.9–1.5 s
/// (the `sqlite3` shell, the 10^6 demo), four times a plan.
struct CustomerIds;

impl CustomerIds {
    const TABLE: &'static str = "temp.cutover_audit_customer_ids";

    /// Fills the table on a SQLite source of one connection (the plan's auditor) with at least
    /// one child mapping; `None` elsewhere, where [`absent`] reads the mapping in each check.
    /// `CREATE TABLE … AS` gives the column the affinity of the mapping's `legacy_id`, so the
    /// comparison is the one [`absent`] makes.
    ///
    /// Errors: the customers' mapping failing on the source.
    async fn gather(
        pool: &super::Source,
        customers: &str,
        mappings: &Mappings,
    ) -> eyre::Result<Option<CustomerIds>> {
        let children = Entity::ALL[1..].iter().any(|e| mappings.get(*e).is_some());
        if !(pool.backend().is_embedded() && pool.single_connection() && children) {
            return Ok(None);
        }
        let t = Self::TABLE;
        for sql in [
            format!("DROP TABLE IF EXISTS {t}"),
            format!(
                "CREATE TABLE {t} AS SELECT d.legacy_id AS k FROM ({customers}) AS d \
                 WHERE d.legacy_id IS NOT NULL"
            ),
            "CREATE INDEX temp.cutover_audit_customer_ids_k ON cutover_audit_customer_ids (k)"
                .to_string(),
        ] {
            pool.execute(&sql)
                .await
                .map_err(|e| eyre::eyre!("audit query failed on the source: {e}\n  {sql}"))?;
        }
        Ok(Some(CustomerIds))
    }

    /// The condition for `WHERE` that holds when `key` names no customer (a NULL `key` names
    /// none).
    fn missing(&self, key: &str) -> String {
        format!(
            "({key} IS NULL OR {key} NOT IN (SELECT k FROM {}))",
            Self::TABLE
        )
    }

    /// Drops the table; the connection may be kept for more.
    ///
    /// Errors: the source failing.
    async fn remove(self, pool: &super::Source) -> eyre::Result<()> {
        pool.execute(&format!("DROP TABLE IF EXISTS {}", Self::TABLE))
            .await?;
        Ok(())
    }
}

/// What finds the rows whose `key` matches no `col` value of the mapping `q` (a NULL `key`
/// matches none): a join to append after `FROM (…) AS m` and the condition for `WHERE`.
///
/// Each reads `q` once, where a correlated `NOT EXISTS` re-reads `q` for each row when the
/// source has no index on `col`: 27 s on a 70k-row unindexed export (issue 21, `cutover bench
/// plan`). On SQLite, `NOT IN` builds one index of `col` and probes it: half the time of a
/// `LEFT JOIN` on the grouped values, which SQLite sorts, then indexes again (0.037 against
/// 0.072 s for 70k purchases against 23k customers in the `sqlite3` shell); the comparison
/// takes the same affinities as `=`. A server keeps the `LEFT JOIN` of the grouped values,
/// which it hashes: PostgreSQL runs `NOT IN (subquery)` as a hashed subplan only when the
/// values fit in `work_mem`, and otherwise re-scans them for each row.
fn absent(pool: &super::Source, q: &str, col: &str, key: &str) -> (String, String) {
    if pool.backend().is_embedded() {
        (
            String::new(),
            format!(
                "({key} IS NULL OR {key} NOT IN (SELECT d.{col} FROM ({q}) AS d WHERE d.{col} IS NOT NULL))"
            ),
        )
    } else {
        (
            format!(
                " LEFT JOIN (SELECT d.{col} AS k FROM ({q}) AS d GROUP BY d.{col}) AS a ON a.k = {key}"
            ),
            "a.k IS NULL".to_string(),
        )
    }
}

fn raw_text(r: &Raw) -> String {
    match r {
        Raw::Null => "NULL".into(),
        Raw::Int(i) => i.to_string(),
        Raw::Real(f) => f.to_string(),
        Raw::Dec(d) => d.to_string(),
        Raw::Text(s) => format!("{s:?}"),
        Raw::Blob(b) => format!("<{} bytes>", b.len()),
    }
}

async fn triples(src: &super::Source, sql: &str) -> eyre::Result<Vec<(String, String, Raw)>> {
    let t = std::time::Instant::now();
    let rows = src
        .fetch(sql, &[])
        .await
        .map_err(|e| eyre::eyre!("audit query failed on the source: {e}\n  {sql}"))?;
    tracing::debug!(
        seconds = t.elapsed().as_secs_f64(),
        rows = rows.rows.len(),
        sql,
        "audit query"
    );
    // A missing id reads as empty: the finding still names the rule and the value.
    let key = |r: &[Raw], i: usize| super::raw_key(&r[i]).unwrap_or_default();
    Ok(rows
        .rows
        .into_iter()
        .map(|r| {
            (
                key(&r, 0),
                key(&r, 1),
                r.get(2).cloned().unwrap_or(Raw::Null),
            )
        })
        .collect())
}

/// The audit rules that can run on this workspace's mappings: a rule reading a column its
/// entity's mapping does not return is left out. A default rule is skipped with a note (the
/// second value); a rule the workspace wrote is an error naming it and how to fix it.
///
/// Errors: a workspace rule on a missing column; a mapping the source cannot prepare.
pub async fn applicable(
    pool: &Source,
    mappings: &Mappings,
    rules: &[AuditRule],
) -> eyre::Result<(Vec<AuditRule>, Vec<String>)> {
    let mut columns: HashMap<Entity, Vec<String>> = HashMap::new();
    let (mut keep, mut notes) = (Vec::new(), Vec::new());
    for (i, r) in rules.iter().enumerate() {
        let Some((entity, col)) = r.target() else {
            keep.push(r.clone());
            continue;
        };
        let Some(q) = mappings.get(entity) else {
            keep.push(r.clone());
            continue;
        };
        if let std::collections::hash_map::Entry::Vacant(v) = columns.entry(entity) {
            let cols = pool
                .columns(q)
                .await
                .map_err(|e| eyre::eyre!("key `mapping.{}.query`: {e}", entity.name()))?;
            v.insert(cols.into_iter().map(|(n, _)| n).collect());
        }
        if columns[&entity].iter().any(|c| c == col) {
            keep.push(r.clone());
        } else if r.is_default() {
            notes.push(format!(
                "default audit rule {} skipped: the {} mapping returns no `{col}` column",
                r.display_name(),
                entity.name()
            ));
        } else {
            eyre::bail!(
                "audit rule {} (key `audit[{i}]`) reads {}.{col}, which the {} mapping does not return: \
                 add `{col}` to `mapping.{}.query`, or remove the rule",
                r.display_name(),
                entity.name(),
                entity.name(),
                entity.name()
            );
        }
    }
    Ok((keep, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The orphan checks through the shared table of customer ids (a source of one
    /// connection) reject exactly the rows the per-check `NOT IN` does (a pool of two), with
    /// keys stored as integers, text, padded text, reals and NULLs against integer ids.
    #[tokio::test]
    async fn orphans_through_the_ids_table_are_the_ones_not_in_finds() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("src.db").display());
        let setup = crate::db::open(&url, "source", true, false).await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE clients (client_id INTEGER PRIMARY KEY, name TEXT);
             INSERT INTO clients VALUES (1, 'a'), (2, 'b'), (3, 'c');
             CREATE TABLE pays (id TEXT, client TEXT);
             INSERT INTO pays VALUES ('p1', '1'), ('p2', '01'), ('p3', ' 2'), ('p4', '9'), ('p5', NULL),
               ('p6', 'x'), ('p7', '3.0');
             CREATE TABLE kit (id TEXT, client);
             INSERT INTO kit VALUES ('d1', 1), ('d2', '2'), ('d3', 3.0), ('d4', 4), ('d5', '3.5'), ('d6', NULL);",
        )
        .execute(&setup)
        .await
        .unwrap();
        setup.close().await;
        let mapping = |q: &str| crate::config::Mapping { query: q.into() };
        let mappings = Mappings {
            customers: mapping("SELECT client_id AS legacy_id, name FROM clients"),
            devices: Some(mapping(
                "SELECT id AS legacy_id, client AS customer_legacy_id FROM kit",
            )),
            repairs: None,
            payments: Some(mapping(
                "SELECT id AS legacy_id, client AS customer_legacy_id FROM pays",
            )),
            communications: None,
            owner: Default::default(),
        };
        let rejected = |connections| {
            let (url, mappings) = (url.clone(), mappings.clone());
            async move {
                let src = Source::open_with(&url, true, connections).await.unwrap();
                let (_, rejected) = entity_findings(&src, &mappings, &[]).await.unwrap();
                let mut ids: Vec<String> = rejected
                    .iter()
                    .map(|r| format!("{} {}", r.entity, r.legacy_id))
                    .collect();
                ids.sort();
                ids
            }
        };
        let (shared, each) = (rejected(1).await, rejected(2).await);
        assert_eq!(shared, each);
        for orphan in ["payments p4", "payments p5", "devices d4", "devices d6"] {
            assert!(
                shared.contains(&orphan.to_string()),
                "{orphan} in {shared:?}"
            );
        }
    }

    #[test]
    fn email_and_phone_formats() {
        assert!(is_email("ana@example.com"));
        assert!(!is_email("ana@example"));
        assert!(!is_email("ana example@x.com"));
        assert!(!is_email("@x.com"));
        assert!(is_phone("+44 20 7946 0958"));
        assert!(!is_phone("12-34"));
        assert!(!is_phone("call me"));
    }
}

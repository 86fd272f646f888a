//! Judging customers: each streamed with its metrics, audited, assigned a segment.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate};

use crate::config::segment::{self, Facts};
use crate::config::tier;
use crate::config::{Config, OwnerMapping, SegmentRule, Severity, TierRule};
use crate::schema::{Entity, Row, Val};
use crate::source::TransformError;
use crate::source::audit;
use crate::source::conn::{Bind, Source};

pub(super) struct Planned {
    pub(super) legacy_id: String,
    pub(super) name: String,
    pub(super) email: Option<String>,
    pub(super) account_type: Option<String>,
    pub(super) special_needs: bool,
    pub(super) country: Option<String>,
    /// The annual revenue, in cents (state column `annual_revenue_cents`).
    pub(super) revenue_cents: i64,
    pub(super) repairs: i64,
    pub(super) segment: String,
    pub(super) priority: i64,
    /// The first `[[tier]]` that matches, if any.
    pub(super) tier: Option<String>,
    /// The owning CSM (`[mapping.owner]`), if any.
    pub(super) owner: Option<String>,
    pub(super) status: &'static str,
    pub(super) reason: Option<String>,
    pub(super) warnings: Option<String>,
}

pub(super) fn opt_text(row: &Row, col: &str) -> Option<String> {
    row.get(Entity::Customers, col)
        .filter(|v| !v.is_null())
        .map(Val::display)
}

/// Result columns the plan adds to the customers mapping; `canonical` ignores `__` columns.
pub(super) const REVENUE_COL: &str = "__cutover_revenue";
pub(super) const REPAIRS_COL: &str = "__cutover_repairs";
pub(super) const OWNER_COL: &str = "__cutover_owner";

/// The customers mapping with each customer's revenue and repair count in the 12 months
/// before `as_of` as two more columns ([`REVENUE_COL`], [`REPAIRS_COL`]), and the owner
/// ([`OWNER_COL`]) when `[mapping.owner]` has a query.
///
/// Each child mapping is read once: aggregated per customer by one `GROUP BY` and joined
/// (`LEFT JOIN`, so a customer with no payments keeps its row). A correlated subquery per
/// customer needs an index on the child's key, which a user's export rarely has: on an
/// unindexed 70k-row export it was 147 times one `GROUP BY` (issue 21, `cutover bench
/// plan`); per-chunk `IN` lists were 9.6 of a 10^6-customer plan's 46 s (BENCHMARKS.md).
/// Payments with status failed, refunded, void or cancelled do not count as revenue.
///
/// The child key is joined to the customer's `legacy_id` directly when both are integers or
/// both are not, and as text otherwise; the cast is made inside the aggregate, so the
/// grouped rows carry the key the join compares (SQLite indexes a materialised subquery on
/// it automatically).
pub(super) async fn customers_with_metrics(
    src: &Source,
    cfg: &Config,
    as_of: NaiveDate,
) -> (String, Vec<Bind>) {
    let customers = &cfg.mapping.customers.query;
    let from = (as_of - Duration::days(365)).format("%Y-%m-%d").to_string();
    let to = (as_of + Duration::days(1)).format("%Y-%m-%d").to_string();
    let customer_int = src.key_is_int(customers, "legacy_id").await;
    let mut binds = Vec::new();
    let mut cols = String::new();
    let mut joins = String::new();
    // Dates compare as ISO text, whatever type the source keeps them in; each aggregate has
    // its own placeholders (MySQL's `?` cannot be reused), bound in the order they appear.
    for (entity, col, alias) in [
        (Entity::Payments, REVENUE_COL, "p"),
        (Entity::Repairs, REPAIRS_COL, "r"),
    ] {
        let Some(q) = cfg.mapping.get(entity) else {
            continue;
        };
        let (k, on) = join_key(src, q, "customer_legacy_id", customer_int, alias).await;
        let (p1, p2) = (
            src.placeholders(binds.len() + 1, 1),
            src.placeholders(binds.len() + 2, 1),
        );
        binds.extend([Bind::Text(from.clone()), Bind::Text(to.clone())]);
        let (value, filter) = if entity == Entity::Payments {
            let (amount, paid) = (src.cast_decimal("m.amount"), src.cast_text("m.paid_at"));
            (
                format!("SUM({amount})"),
                format!(
                    "{paid} >= {p1} AND {paid} < {p2} \
                     AND (m.status IS NULL OR lower(m.status) NOT IN ('failed', 'refunded', 'void', 'cancelled'))"
                ),
            )
        } else {
            let opened = src.cast_text("m.opened_at");
            (
                "COUNT(*)".to_string(),
                format!("{opened} >= {p1} AND {opened} < {p2}"),
            )
        };
        let agg = if entity == Entity::Payments {
            format!("{alias}.v")
        } else {
            format!("COALESCE({alias}.v, 0)")
        };
        cols.push_str(&format!(", {agg} AS {col}"));
        joins.push_str(&format!(
            " LEFT JOIN (SELECT {k} AS k, {value} AS v FROM ({q}) AS m WHERE {filter} GROUP BY {k}) AS {alias} ON {on}"
        ));
    }
    // The owner query joined once, grouped so a customer with two rows stays one row.
    if let Some(q) = &cfg.mapping.owner.query {
        let (k, on) = join_key(src, q, "legacy_id", customer_int, "o").await;
        cols.push_str(&format!(", o.owner AS {OWNER_COL}"));
        joins.push_str(&format!(
            " LEFT JOIN (SELECT {k} AS k, MIN(m.owner) AS owner FROM ({q}) AS m GROUP BY {k}) AS o ON {on}"
        ));
    }
    (
        format!("SELECT c.*{cols} FROM ({customers}) AS c{joins}"),
        binds,
    )
}

/// The grouping key of a child mapping `q` (aliased `m`) by its column `col`, and the join
/// condition of its aggregate (aliased `alias`) with the customers (`c`): the key as it is
/// when its type agrees with the customer's `legacy_id`, both as text otherwise.
async fn join_key(
    src: &Source,
    q: &str,
    col: &str,
    customer_int: bool,
    alias: &str,
) -> (String, String) {
    let key = format!("m.{col}");
    if src.key_is_int(q, col).await == customer_int {
        (key, format!("{alias}.k = c.legacy_id"))
    } else {
        (
            src.cast_text(&key),
            format!("{alias}.k = {}", src.cast_text("c.legacy_id")),
        )
    }
}

/// A judged chunk on its way to the state database: customers, findings, rejected rows.
pub(super) type Judged = (Vec<Planned>, Vec<audit::Finding>, Vec<audit::Rejected>);

/// One streamed customer: its row as normalised, and the metrics the source computed.
pub(super) struct Streamed {
    pub(super) row: Result<Row, TransformError>,
    /// The source's sum of the last 12 months' payments, in cents.
    pub(super) revenue_cents: i64,
    pub(super) repairs: i64,
    /// The owner the `[mapping.owner]` query gave, if any.
    pub(super) owner: Option<String>,
}

/// Everything a chunk of customers is judged by, gathered once per plan.
pub(super) struct Judge<'a> {
    pub(super) as_of: NaiveDate,
    pub(super) checks: audit::CustomerChecks<'a>,
    /// Child-entity findings by customer (defects only, so small).
    pub(super) entity_findings: HashMap<String, Vec<audit::Finding>>,
    pub(super) segments: Vec<&'a SegmentRule>,
    pub(super) tiers: &'a [TierRule],
    pub(super) owners: &'a OwnerMapping,
    pub(super) duplicates: Duplicates,
}

/// Customer legacy ids more than one source row has (defects only, so small), and which of
/// them were judged already.
pub(super) struct Duplicates {
    pub(super) ids: HashSet<String>,
    pub(super) seen: HashSet<String>,
}

impl Duplicates {
    /// Whether `id` is duplicated and its first row was judged already: only that first row
    /// is planned (quarantined by its finding).
    fn seen_before(&mut self, id: &str) -> bool {
        self.ids.contains(id) && !self.seen.insert(id.to_string())
    }
}

impl Judge<'_> {
    /// Evaluates one chunk of customer rows: metrics, audit, segment. Rows that do not
    /// normalise are quarantined under their legacy id, or rejected when they have none.
    pub(super) fn judge(&mut self, rows: Vec<Streamed>) -> eyre::Result<Judged> {
        let as_of_dt = self.as_of.and_hms_opt(0, 0, 0).unwrap_or_default();
        let last = self.segments.last();
        let (mut planned, mut findings, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
        for Streamed {
            row: res,
            revenue_cents,
            repairs,
            owner,
        } in rows
        {
            let row = match res {
                Ok(r) => r,
                Err(e) if e.legacy_id.is_empty() => {
                    rejected.push(audit::Rejected {
                        entity: "customers",
                        legacy_id: String::new(),
                        rule: "transform".into(),
                        detail: e.to_string(),
                    });
                    continue;
                }
                Err(e) if self.duplicates.seen_before(&e.legacy_id) => continue,
                Err(e) => {
                    let f = audit::Finding {
                        customer: e.legacy_id.clone(),
                        rule: format!("transform:customers.{}", e.column),
                        severity: Severity::Block,
                        detail: e.to_string(),
                    };
                    let segment = last.map(|s| s.name.clone()).unwrap_or_default();
                    planned.push(Planned {
                        owner: self.owners.owner(owner, None, &segment),
                        tier: None,
                        legacy_id: e.legacy_id.clone(),
                        name: String::new(),
                        email: None,
                        account_type: None,
                        special_needs: false,
                        country: None,
                        revenue_cents: 0,
                        repairs: 0,
                        segment,
                        priority: last.map_or(0, |s| s.priority),
                        status: "quarantined",
                        reason: Some(format!("{}: {}", f.rule, f.detail)),
                        warnings: None,
                    });
                    findings.push(f);
                    continue;
                }
            };
            let attrs = match serde_json::from_str(&row.attributes) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            let id = row.legacy_id().to_string();
            if self.duplicates.seen_before(&id) {
                continue;
            }
            let rev = row
                .get(Entity::Customers, "annual_revenue")
                .and_then(Val::as_decimal)
                .and_then(crate::schema::to_cents)
                .unwrap_or(revenue_cents);
            let rep = match row.get(Entity::Customers, "repairs_12m") {
                Some(Val::Int(n)) => *n,
                _ => repairs,
            };
            let created =
                opt_text(&row, "created_at").and_then(|t| crate::schema::parse_timestamp(&t));
            let account_type = opt_text(&row, "account_type");
            let country = opt_text(&row, "country");
            let special_needs = matches!(
                row.get(Entity::Customers, "special_needs"),
                Some(Val::Int(1))
            );
            let facts = Facts {
                // Exact for any amount a rule compares against: cents fit a double's 53 bits.
                annual_revenue: rev as f64 / 100.0,
                repairs_12m: rep,
                account_type: account_type.as_deref(),
                country: country.as_deref(),
                special_needs,
                tenure_years: created.map_or(0.0, |c| (as_of_dt - c).num_days() as f64 / 365.25),
                attributes: Some(&attrs),
            };
            let Some(seg) = segment::assign(&self.segments, &facts) else {
                eyre::bail!(
                    "customer {id}: no segment matches (add a segment with no rules as a catch-all)"
                );
            };
            let tier = tier::assign(self.tiers, &facts).map(|t| t.name.clone());
            let mut fs = self.checks.check(&row, &attrs);
            fs.extend(self.entity_findings.remove(&id).unwrap_or_default());
            let blocking: Vec<_> = fs
                .iter()
                .filter(|f| f.severity == Severity::Block)
                .collect();
            let reason = (!blocking.is_empty()).then(|| {
                blocking
                    .iter()
                    .map(|f| format!("{}: {}", f.rule, f.detail))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            let warns: Vec<_> = fs
                .iter()
                .filter(|f| f.severity == Severity::Warn)
                .map(|f| f.rule.clone())
                .collect();
            planned.push(Planned {
                legacy_id: id,
                name: opt_text(&row, "name").unwrap_or_default(),
                email: opt_text(&row, "email"),
                account_type,
                special_needs,
                country,
                revenue_cents: rev,
                repairs: rep,
                owner: self.owners.owner(owner, tier.as_deref(), &seg.name),
                tier,
                segment: seg.name.clone(),
                priority: seg.priority,
                status: if reason.is_some() {
                    "quarantined"
                } else {
                    "pending"
                },
                reason,
                warnings: (!warns.is_empty()).then(|| warns.join(", ")),
            });
            findings.extend(fs);
        }
        Ok((planned, findings, rejected))
    }
}

//! The programme's KPIs against their targets (brief section 2, "Programme KPIs and their
//! targets"): six measured from cutover's own state, and the workspace's own `[[kpi]]` queries
//! (satisfaction, adoption, tickets, retention live in the source or the platform). Each is
//! met, at risk (not met, with programme days left to meet it; for completion, only while its
//! projection at today's rate meets it) or missed. A daily snapshot ([`snapshot`]) keeps every
//! value, so a KPI has a trend and a past day's report reads what was true that day.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::{Comparison, ConfigError, Db, Kpi};
use crate::ctx::Ctx;
use crate::engine::status::{self, SegmentStatus};

/// The brief's service level for a health intervention, in hours, by alert severity: critical
/// within 48 h, warning within a week, an opportunity (info) within two weeks.
pub fn intervention_hours(severity: &str) -> i64 {
    match severity {
        "critical" => 48,
        "warning" => 24 * 7,
        _ => 24 * 14,
    }
}

/// A value as the console and the CLI show it, rounded to what its size needs (never up to
/// 100 from below), with its unit: `93.4%`, `99.97%`, `412 s`, `1.36 GB/h`, `4.10 of 5`; `-`
/// for no value.
pub fn shown(v: Option<f64>, unit: &str) -> String {
    let Some(v) = v else { return "-".into() };
    let mut digits = match v.abs() {
        a if a >= 100.0 => 0,
        a if a >= 10.0 => 1,
        _ => 2,
    };
    // 99.97 is not "100.0": a value rounds to its neighbour's class only with more digits.
    let mut n = format!("{v:.digits$}");
    while digits < 4 && (n.parse::<f64>().unwrap_or(v).abs() >= 100.0) != (v.abs() >= 100.0) {
        digits += 1;
        n = format!("{v:.digits$}");
    }
    match unit {
        "%" => format!("{n}%"),
        "" => n,
        u => format!("{n} {u}"),
    }
}

/// Where a KPI stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The value meets the target.
    Met,
    /// Not met, with time left to meet it.
    AtRisk,
    /// Not met, and no time (or, for completion, no projection) left to.
    Missed,
    /// Nothing to measure yet (no migration, no rollback, no notice due).
    NoData,
}

impl Standing {
    /// `met`, `at risk`, `missed`, `no data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Met => "met",
            Standing::AtRisk => "at risk",
            Standing::Missed => "missed",
            Standing::NoData => "no data",
        }
    }
}

/// One KPI on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiValue {
    /// Its name.
    pub name: String,
    /// What it measures.
    pub description: String,
    /// The value, in `unit`; `None` when there is nothing to measure yet.
    pub value: Option<f64>,
    /// The target, in `unit`.
    pub target: f64,
    /// How the value meets it.
    pub comparison: Comparison,
    /// `%`, `s`, `GB/h`, `of 5`.
    pub unit: String,
    /// Where it stands.
    pub standing: Standing,
    /// Completion only: the value projected to the programme's last day at today's rate.
    pub projection: Option<f64>,
    /// `(day, value)` from the stored daily snapshots before today, oldest first (at most 14).
    pub trend: Vec<(String, f64)>,
}

/// A built-in KPI's defaults: `(name, target, comparison, unit, description)`.
const DEFAULTS: [(&str, f64, Comparison, &str, &str); 6] = [
    (
        "completion",
        90.0,
        Comparison::Above,
        "%",
        "customers migrated of all customers, by the programme's last day",
    ),
    (
        "integrity",
        99.9,
        Comparison::AtLeast,
        "%",
        "validated rows of migrated customers' rows",
    ),
    (
        "rollback_time",
        14_400.0,
        Comparison::Below,
        "s",
        "the slowest rollback so far (the plan allows 2–4 h)",
    ),
    (
        "throughput",
        1.0,
        Comparison::Above,
        "GB/h",
        "platform data written per hour of migration",
    ),
    (
        "reach",
        99.0,
        Comparison::AtLeast,
        "%",
        "notices delivered of notices due",
    ),
    (
        "alerts_in_service_level",
        95.0,
        Comparison::AtLeast,
        "%",
        "alerts resolved within their intervention window (critical 48 h, warning a week, opportunity two weeks)",
    ),
];

/// Every KPI on `today`: the built-in ones (their targets as `[[kpi]]` overrides them), then
/// the workspace's own in the config's order, each with its trend.
///
/// Errors: a `[[kpi]]` query failing or returning no number ([`ConfigError`] naming its key:
/// the CLI exits 2); the state database failing.
pub async fn evaluate(ctx: &Ctx, today: NaiveDate) -> eyre::Result<Vec<KpiValue>> {
    let s = status::status(&ctx.state).await?;
    evaluate_on(ctx, today, &s.segments).await
}

/// [`evaluate`] on waves already read.
async fn evaluate_on(
    ctx: &Ctx,
    today: NaiveDate,
    segments: &[SegmentStatus],
) -> eyre::Result<Vec<KpiValue>> {
    let trend = trends(ctx, today).await?;
    let mut out = Vec::new();
    for (name, target, comparison, unit, description) in DEFAULTS {
        let o = ctx.cfg.kpi.iter().find(|k| k.name == name);
        let (value, projection) = measure(ctx, name, segments, today).await?;
        out.push(judged(
            ctx,
            today,
            KpiValue {
                name: name.into(),
                description: o
                    .and_then(|k| k.description.clone())
                    .unwrap_or_else(|| description.into()),
                value,
                target: o.and_then(|k| k.target).unwrap_or(target),
                comparison: o.and_then(|k| k.comparison).unwrap_or(comparison),
                unit: o
                    .and_then(|k| k.unit.clone())
                    .unwrap_or_else(|| unit.into()),
                standing: Standing::NoData,
                projection,
                trend: trend.get(name).cloned().unwrap_or_default(),
            },
        ));
    }
    for (i, k) in ctx.cfg.kpi.iter().enumerate() {
        let Some(q) = &k.query else { continue };
        let value = query(ctx, i, k, q).await?;
        out.push(judged(
            ctx,
            today,
            KpiValue {
                name: k.name.clone(),
                description: k.description.clone().unwrap_or_default(),
                value,
                target: k.target.unwrap_or_default(),
                comparison: k.comparison.unwrap_or(Comparison::AtLeast),
                unit: k.unit.clone().unwrap_or_default(),
                standing: Standing::NoData,
                projection: None,
                trend: trend.get(&k.name).cloned().unwrap_or_default(),
            },
        ));
    }
    Ok(out)
}

/// Sets `k.standing` from its value, its projection and the programme's days left.
fn judged(ctx: &Ctx, today: NaiveDate, mut k: KpiValue) -> KpiValue {
    let days_left = ctx
        .cfg
        .programme
        .as_ref()
        .is_some_and(|p| p.day_of(today) <= p.days);
    k.standing = match k.value {
        None => Standing::NoData,
        Some(v) if k.comparison.holds(v, k.target) => Standing::Met,
        Some(_) => match k.projection {
            Some(p) if days_left && k.comparison.holds(p, k.target) => Standing::AtRisk,
            Some(_) => Standing::Missed,
            None if days_left => Standing::AtRisk,
            None => Standing::Missed,
        },
    };
    k
}

/// A built-in measure: its value and, for completion, its projection.
async fn measure(
    ctx: &Ctx,
    name: &str,
    segments: &[SegmentStatus],
    today: NaiveDate,
) -> eyre::Result<(Option<f64>, Option<f64>)> {
    Ok(match name {
        "completion" => completion(ctx, segments, today),
        "integrity" => (integrity(ctx).await?, None),
        "rollback_time" => (rollback_time(ctx).await?, None),
        "throughput" => (throughput(ctx).await?, None),
        "reach" => (reach(ctx, today).await?, None),
        _ => (alerts_in_service_level(ctx, today).await?, None),
    })
}

/// Migrated ÷ customers (%), and the projection to the programme's last day at the rate since
/// the first wave's window opened.
fn completion(
    ctx: &Ctx,
    segments: &[SegmentStatus],
    today: NaiveDate,
) -> (Option<f64>, Option<f64>) {
    let customers: i64 = segments.iter().map(|s| s.customers).sum();
    let migrated: i64 = segments.iter().map(|s| s.migrated).sum();
    if customers == 0 {
        return (None, None);
    }
    let pct = |n: f64| (100.0 * n / customers as f64).min(100.0);
    let projection = ctx.cfg.programme.as_ref().map(|p| {
        let first = segments.iter().map(|s| s.window_days[0]).min().unwrap_or(1);
        let day = p.day_of(today);
        let elapsed = (day - first + 1).max(1);
        let rate = migrated as f64 / elapsed as f64;
        pct(migrated as f64 + rate * (p.days - day).max(0) as f64)
    });
    (Some(pct(migrated as f64)), projection)
}

/// Validated rows ÷ the source's rows of migrated customers (%).
async fn integrity(ctx: &Ctx) -> eyre::Result<Option<f64>> {
    let (ok, all): (Option<i64>, Option<i64>) = sqlx::query_as(
        // PostgreSQL sums BIGINT as NUMERIC, which the Any driver does not read.
        "SELECT CAST(SUM(CASE WHEN v.ok = 1 THEN v.target_count ELSE 0 END) AS BIGINT),
                CAST(SUM(v.source_count) AS BIGINT)
         FROM validations v JOIN customers c ON c.id = v.customer_id WHERE c.status = 'migrated'",
    )
    .fetch_one(&ctx.state)
    .await?;
    Ok(match (ok, all) {
        (Some(ok), Some(all)) if all > 0 => Some(100.0 * ok as f64 / all as f64),
        _ => None,
    })
}

fn seconds(a: &str, b: &str) -> Option<f64> {
    let (a, b) = (crate::clock::parse(a)?, crate::clock::parse(b)?);
    Some((b - a).num_milliseconds() as f64 / 1000.0)
}

/// The slowest rollback: the longest span of one rollback's steps (a rollback records its
/// customers with its start and end).
async fn rollback_time(ctx: &Ctx) -> eyre::Result<Option<f64>> {
    let spans: Vec<(String, String)> = sqlx::query_as(
        "SELECT started_at, MAX(finished_at) FROM steps WHERE step = 'rollback' GROUP BY started_at",
    )
    .fetch_all(&ctx.state)
    .await?;
    Ok(spans
        .iter()
        .filter_map(|(a, b)| seconds(a, b))
        .reduce(f64::max))
}

/// GB written to the platform per hour that batches ran.
async fn throughput(ctx: &Ctx) -> eyre::Result<Option<f64>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT started_at, finished_at, bytes FROM batches
         WHERE started_at IS NOT NULL AND finished_at IS NOT NULL AND bytes > 0",
    )
    .fetch_all(&ctx.state)
    .await?;
    let secs: f64 = rows.iter().filter_map(|(a, b, _)| seconds(a, b)).sum();
    let bytes: i64 = rows.iter().map(|r| r.2).sum();
    Ok((secs > 0.0).then(|| bytes as f64 / 1e9 / (secs / 3600.0)))
}

/// Delivered ÷ due over every wave's notices (%).
async fn reach(ctx: &Ctx, today: NaiveDate) -> eyre::Result<Option<f64>> {
    let rows = crate::comms::overview(ctx, today).await?;
    let due: i64 = rows.iter().map(|r| r.due).sum();
    let delivered: i64 = rows.iter().map(|r| r.delivered.min(r.due)).sum();
    Ok((due > 0).then(|| 100.0 * delivered as f64 / due as f64))
}

/// Alerts resolved by their deadline ÷ alerts resolved or open past it (%), as of the end of
/// `today`. The deadline is the one the customer's tier gave the alert (`[[tier]]
/// resolve_hours`), else [`intervention_hours`].
async fn alerts_in_service_level(ctx: &Ctx, today: NaiveDate) -> eyre::Result<Option<f64>> {
    let rows: Vec<(String, String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT severity, opened_at, resolved_at, resolve_due FROM alerts")
            .fetch_all(&ctx.state)
            .await?;
    let end = today
        .succ_opt()
        .unwrap_or(today)
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let (mut kept, mut counted) = (0, 0);
    for (sev, opened, resolved, tier_due) in rows {
        let Some(opened) = crate::clock::parse(&opened) else {
            continue;
        };
        let due = tier_due
            .as_deref()
            .and_then(crate::clock::parse)
            .unwrap_or(opened + chrono::Duration::hours(intervention_hours(&sev)));
        match resolved.as_deref().and_then(crate::clock::parse) {
            Some(r) => {
                counted += 1;
                kept += i32::from(r <= due);
            }
            None if due < end => counted += 1,
            None => {}
        }
    }
    Ok((counted > 0).then(|| 100.0 * f64::from(kept) / f64::from(counted)))
}

/// A `[[kpi]]` query's number: the first column of its first row, as a float, an integer or
/// numeric text; no row or NULL is no data.
async fn query(ctx: &Ctx, i: usize, k: &Kpi, q: &str) -> eyre::Result<Option<f64>> {
    let bad = |why: String| -> eyre::Report {
        ConfigError::new(
            &ctx.cfg.path,
            format!("key `kpi[{i}].query` of `{}`: {why}", k.name),
        )
        .into()
    };
    let db = crate::health::pool(ctx, k.database.unwrap_or(Db::State))
        .map_err(|e| bad(format!("{e}")))?;
    let rows = db.fetch(q, &[]).await.map_err(|e| bad(e.to_string()))?;
    let Some(first) = rows.rows.first().and_then(|r| r.first()) else {
        return Ok(None);
    };
    if matches!(first, crate::schema::Raw::Null) {
        return Ok(None);
    }
    crate::health::number(first)
        .map(Some)
        .ok_or_else(|| bad(format!("returned {first:?}, not a number")))
}

/// The stored KPI values before `today`, by name: `(day, value)`, oldest first, at most 14.
async fn trends(ctx: &Ctx, today: NaiveDate) -> eyre::Result<BTreeMap<String, Vec<(String, f64)>>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT day, body FROM daily_snapshots WHERE day < $1 ORDER BY day DESC LIMIT 14",
    )
    .bind(today.to_string())
    .fetch_all(&ctx.state)
    .await?;
    let mut out: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for (day, body) in rows.into_iter().rev() {
        let Ok(snap) = serde_json::from_str::<Snapshot>(&body) else {
            continue;
        };
        for k in snap.kpis {
            if let Some(v) = k.value {
                out.entry(k.name).or_default().push((day.clone(), v));
            }
        }
    }
    Ok(out)
}

/// What a day's snapshot keeps: the waves as the console showed them, the calendar, and every
/// KPI (without its trend).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// The day (`YYYY-MM-DD`).
    pub day: String,
    /// When it was taken (the last pass of that day).
    pub taken_at: String,
    /// Each wave's counts.
    pub waves: Vec<WaveCounts>,
    /// Each wave's calendar standing (empty without a `[programme]`).
    #[serde(default)]
    pub calendar: Vec<(String, String, i64)>,
    /// Every KPI.
    pub kpis: Vec<SnapKpi>,
}

/// A wave's counts in a [`Snapshot`].
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct WaveCounts {
    /// The wave.
    pub wave: String,
    /// Customers.
    pub customers: i64,
    /// Migrated.
    pub migrated: i64,
    /// Failed.
    pub failed: i64,
    /// Quarantined.
    pub quarantined: i64,
    /// Rolled back.
    pub rolled_back: i64,
}

/// A KPI in a [`Snapshot`].
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct SnapKpi {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: Option<f64>,
    /// Its target.
    pub target: f64,
    /// `>`, `>=`, `<`, `<=`.
    pub comparison: String,
    /// Its unit.
    pub unit: String,
    /// `met`, `at risk`, `missed`, `no data`.
    pub standing: String,
}

/// Takes `today`'s snapshot and stores it, replacing the one taken earlier the same day.
///
/// Errors: as [`evaluate`]; the state database failing.
pub async fn snapshot(ctx: &Ctx, today: NaiveDate) -> eyre::Result<Snapshot> {
    let s = status::status(&ctx.state).await?;
    let kpis = evaluate_on(ctx, today, &s.segments).await?;
    let calendar = ctx
        .cfg
        .programme
        .as_ref()
        .map(|p| {
            crate::calendar::calendar(p, &s.segments, today)
                .waves
                .into_iter()
                .map(|w| (w.wave, w.state.as_str().to_string(), w.left))
                .collect()
        })
        .unwrap_or_default();
    let snap = Snapshot {
        day: today.to_string(),
        taken_at: crate::clock::now(),
        waves: s
            .segments
            .iter()
            .map(|w| WaveCounts {
                wave: w.name.clone(),
                customers: w.customers,
                migrated: w.migrated,
                failed: w.failed,
                quarantined: w.quarantined,
                rolled_back: w.rolled_back,
            })
            .collect(),
        calendar,
        kpis: kpis
            .iter()
            .map(|k| SnapKpi {
                name: k.name.clone(),
                value: k.value,
                target: k.target,
                comparison: k.comparison.as_str().into(),
                unit: k.unit.clone(),
                standing: k.standing.as_str().into(),
            })
            .collect(),
    };
    let mut tx = crate::db::write_tx(&ctx.state).await?;
    sqlx::query(
        "INSERT INTO daily_snapshots (day, taken_at, body) VALUES ($1, $2, $3)
         ON CONFLICT (day) DO UPDATE SET taken_at = excluded.taken_at, body = excluded.body",
    )
    .bind(snap.day.clone())
    .bind(snap.taken_at.clone())
    .bind(serde_json::to_string(&snap)?)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(snap)
}

/// The snapshot stored for `day`, if one was taken.
///
/// Errors: the state database failing.
pub async fn stored(ctx: &Ctx, day: NaiveDate) -> eyre::Result<Option<Snapshot>> {
    let body: Option<String> =
        sqlx::query_scalar("SELECT body FROM daily_snapshots WHERE day = $1")
            .bind(day.to_string())
            .fetch_optional(&ctx.state)
            .await?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_shown_with_its_unit_and_never_rounded_up_to_100() {
        assert_eq!(shown(Some(93.43), "%"), "93.4%");
        assert_eq!(shown(Some(99.97), "%"), "99.97%");
        assert_eq!(shown(Some(99.9999), "%"), "99.9999%");
        assert_eq!(shown(Some(100.0), "%"), "100%");
        assert_eq!(shown(Some(14_400.0), "s"), "14400 s");
        assert_eq!(shown(Some(1.356), "GB/h"), "1.36 GB/h");
        assert_eq!(shown(None, "%"), "-");
    }

    #[test]
    fn comparisons_and_standings() {
        assert!(Comparison::Above.holds(90.1, 90.0));
        assert!(!Comparison::Above.holds(90.0, 90.0));
        assert!(Comparison::AtLeast.holds(90.0, 90.0));
        assert!(Comparison::Below.holds(3.0, 4.0));
        assert!(!Comparison::AtMost.holds(4.1, 4.0));
    }
}

//! The daily and weekly reports (brief section 2: "The migration team gets a daily report …
//! and a weekly one"): what happened in a period of UTC days, read from timestamped rows
//! (steps, batches, alerts, milestones, the outbox), and where the waves and KPIs stood at its
//! end, read from the stored daily snapshot ([`crate::kpi::snapshot`]) so a past period's
//! report says what was true then. `[report] daily_at` sends yesterday's through the outbox
//! once a day ([`send_daily`]).

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::ctx::Ctx;
use crate::kpi::{SnapKpi, Snapshot, WaveCounts};

/// A period's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// One day.
    Daily,
    /// An ISO week, Monday to Sunday.
    Weekly,
}

/// The Monday and Sunday of ISO week `w` (`2026-W49`).
///
/// Errors: anything else, in words.
pub fn iso_week(w: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let bad = || format!("`{w}` is not an ISO week (YYYY-Www, like 2026-W49)");
    let (y, n) = w.split_once("-W").ok_or_else(bad)?;
    let (y, n): (i32, u32) = (y.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    let monday = NaiveDate::from_isoywd_opt(y, n, chrono::Weekday::Mon).ok_or_else(bad)?;
    Ok((monday, monday + chrono::Duration::days(6)))
}

/// The ISO week of `d`, as `2026-W49`.
pub fn week_of(d: NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// Batch durations of the period, in seconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Durations {
    /// Batches finished in the period.
    pub batches: usize,
    /// Median.
    pub p50_s: Option<f64>,
    /// 95th percentile.
    pub p95_s: Option<f64>,
}

/// One period's report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PeriodReport {
    /// Daily or weekly.
    pub period: Period,
    /// The first and last day (UTC, inclusive).
    pub from: String,
    /// The last day.
    pub to: String,
    /// The programme days the period spans, with a `[programme]`.
    pub programme_days: Option<[i64; 2]>,
    /// The snapshot the waves and KPIs come from (`YYYY-MM-DD` of the period's last day
    /// that has one), or `None` when no snapshot was stored in the period.
    pub snapshot_of: Option<String>,
    /// Each wave at the period's end.
    pub waves: Vec<WaveCounts>,
    /// Each wave's calendar standing at the period's end: `(wave, state, customers left)`.
    pub calendar: Vec<(String, String, i64)>,
    /// Customers that moved (their `notify` step) in the period.
    pub migrated: i64,
    /// Customers a step failed for.
    pub failed: i64,
    /// Customers quarantined by a step.
    pub quarantined: i64,
    /// Customers rolled back.
    pub rolled_back: i64,
    /// Rollbacks (operator actions).
    pub rollbacks: i64,
    /// Platform data written by batches finished in the period, GB per hour they ran.
    pub throughput_gb_per_hour: Option<f64>,
    /// Customers moved per hour batches ran.
    pub customers_per_hour: Option<f64>,
    /// Batch durations.
    pub batch_durations: Durations,
    /// Steps done again for a customer (a retried batch redoes its steps).
    pub retries: i64,
    /// Notices and alerts dead-lettered.
    pub dead_letters: i64,
    /// Notices put into the outbox, by notice: `(notice, count)`.
    pub notices: Vec<(String, i64)>,
    /// Alerts opened.
    pub alerts_opened: i64,
    /// Alerts that climbed a level (their latest climb in the period).
    pub alerts_escalated: i64,
    /// Alerts resolved.
    pub alerts_resolved: i64,
    /// Success-plan milestones completed.
    pub milestones_done: i64,
    /// Milestones due by the period's end and not done.
    pub milestones_overdue: i64,
    /// Every KPI at the period's end.
    pub kpis: Vec<SnapKpi>,
}

/// The report of the days `from..=to`.
///
/// Errors: the state database failing.
pub async fn build(
    ctx: &Ctx,
    period: Period,
    from: NaiveDate,
    to: NaiveDate,
) -> eyre::Result<PeriodReport> {
    let (a, b) = (
        from.to_string(),
        (to + chrono::Duration::days(1)).to_string(),
    );
    let count = |sql: &'static str| {
        let (a, b) = (a.clone(), b.clone());
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(a)
                .bind(b)
                .fetch_one(&ctx.state)
                .await
        }
    };
    let steps = |outcome: &'static str, step: Option<&'static str>| {
        let (a, b) = (a.clone(), b.clone());
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(DISTINCT customer_id) FROM steps
                 WHERE finished_at >= $1 AND finished_at < $2 AND outcome = $3 AND ($4 IS NULL OR step = $4)",
            )
            .bind(a)
            .bind(b)
            .bind(outcome)
            .bind(step)
            .fetch_one(&ctx.state)
            .await
        }
    };
    let migrated = steps("ok", Some("notify")).await?;
    let failed = steps("failed", None).await?;
    let quarantined = steps("quarantined", None).await?;
    let rolled_back = steps("ok", Some("rollback")).await?;
    let rollbacks = count(
        "SELECT COUNT(*) FROM audit_log WHERE at >= $1 AND at < $2 AND action LIKE 'rollback%' AND outcome <> 'refused'",
    )
    .await?;
    let retries = count(
        "SELECT COUNT(*) FROM (SELECT customer_id, step FROM steps
         WHERE finished_at >= $1 AND finished_at < $2 AND step <> 'rollback' AND outcome = 'ok'
         GROUP BY customer_id, step HAVING COUNT(*) > 1) r",
    )
    .await?;
    let dead_letters = count(
        "SELECT COUNT(*) FROM notifications WHERE created_at >= $1 AND created_at < $2 AND status = 'dead'",
    )
    .await?;
    let alerts_opened =
        count("SELECT COUNT(*) FROM alerts WHERE opened_at >= $1 AND opened_at < $2").await?;
    let alerts_escalated = count(
        "SELECT COUNT(*) FROM alerts WHERE level > 1 AND level_since >= $1 AND level_since < $2",
    )
    .await?;
    let alerts_resolved =
        count("SELECT COUNT(*) FROM alerts WHERE resolved_at >= $1 AND resolved_at < $2").await?;
    let milestones_done =
        count("SELECT COUNT(*) FROM milestones WHERE completed_at >= $1 AND completed_at < $2")
            .await?;
    let milestones_overdue: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM milestones m JOIN success_plans p ON p.id = m.plan_id
         WHERE m.due_on < $1 AND (m.completed_at IS NULL OR m.completed_at >= $1)
         AND m.status <> 'cancelled' AND p.status NOT IN ('cancelled', 'completed')",
    )
    .bind(b.clone())
    .fetch_one(&ctx.state)
    .await?;
    let notices: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, COUNT(*) FROM notifications WHERE created_at >= $1 AND created_at < $2
         AND customer_id IS NOT NULL GROUP BY kind ORDER BY kind",
    )
    .bind(a.clone())
    .bind(b.clone())
    .fetch_all(&ctx.state)
    .await?;
    let batches: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT started_at, finished_at, bytes FROM batches
         WHERE finished_at >= $1 AND finished_at < $2 AND started_at IS NOT NULL",
    )
    .bind(a.clone())
    .bind(b.clone())
    .fetch_all(&ctx.state)
    .await?;
    let secs: Vec<f64> = batches
        .iter()
        .filter_map(|(s, f, _)| {
            Some(
                (crate::clock::parse(f)? - crate::clock::parse(s)?).num_milliseconds() as f64 / 1e3,
            )
        })
        .collect();
    let hours = secs.iter().sum::<f64>() / 3600.0;
    let bytes: i64 = batches.iter().map(|r| r.2).sum();
    let batch_durations = if secs.is_empty() {
        Durations::default()
    } else {
        // The percentiles are unit-free: seconds in, seconds out.
        let t = crate::bench::timing("batches", secs.clone());
        Durations {
            batches: secs.len(),
            p50_s: Some(t.p50_ms),
            p95_s: Some(t.p95_ms),
        }
    };
    let snap = latest_snapshot(ctx, from, to).await?;
    let programme_days = ctx
        .cfg
        .programme
        .as_ref()
        .map(|p| [p.day_of(from), p.day_of(to)]);
    Ok(PeriodReport {
        period,
        from: from.to_string(),
        to: to.to_string(),
        programme_days,
        snapshot_of: snap.as_ref().map(|s| s.day.clone()),
        waves: snap.as_ref().map(|s| s.waves.clone()).unwrap_or_default(),
        calendar: snap
            .as_ref()
            .map(|s| s.calendar.clone())
            .unwrap_or_default(),
        migrated,
        failed,
        quarantined,
        rolled_back,
        rollbacks,
        throughput_gb_per_hour: (hours > 0.0).then(|| bytes as f64 / 1e9 / hours),
        customers_per_hour: (hours > 0.0).then(|| migrated as f64 / hours),
        batch_durations,
        retries,
        dead_letters,
        notices,
        alerts_opened,
        alerts_escalated,
        alerts_resolved,
        milestones_done,
        milestones_overdue,
        kpis: snap.map(|s| s.kpis).unwrap_or_default(),
    })
}

/// The newest snapshot stored for a day in `from..=to`.
async fn latest_snapshot(
    ctx: &Ctx,
    from: NaiveDate,
    to: NaiveDate,
) -> eyre::Result<Option<Snapshot>> {
    let body: Option<String> = sqlx::query_scalar(
        "SELECT body FROM daily_snapshots WHERE day >= $1 AND day <= $2 ORDER BY day DESC LIMIT 1",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_optional(&ctx.state)
    .await?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

/// The report as Markdown.
pub fn markdown(r: &PeriodReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let days = r
        .programme_days
        .map(|[a, b]| {
            if a == b {
                format!(" (programme day {a})")
            } else {
                format!(" (programme days {a}–{b})")
            }
        })
        .unwrap_or_default();
    let title = match r.period {
        Period::Daily => format!("Daily report {}{days}", r.from),
        Period::Weekly => format!("Weekly report {} to {}{days}", r.from, r.to),
    };
    let _ = writeln!(s, "# {title}\n");
    match &r.snapshot_of {
        Some(d) => {
            let _ = writeln!(s, "## Waves at the end of {d}\n");
            let _ = writeln!(
                s,
                "| wave | customers | migrated | failed | quarantined | rolled back | calendar | left |\n|---|---:|---:|---:|---:|---:|---|---:|"
            );
            for w in &r.waves {
                let cal = r.calendar.iter().find(|c| c.0 == w.wave);
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    w.wave,
                    w.customers,
                    w.migrated,
                    w.failed,
                    w.quarantined,
                    w.rolled_back,
                    cal.map_or("-", |c| c.1.as_str()),
                    cal.map_or_else(|| "-".into(), |c| c.2.to_string())
                );
            }
        }
        None => {
            let _ = writeln!(
                s,
                "No snapshot was stored in this period (a console, `cutover run` or `cutover tick` stores one a day), so the waves and KPIs at its end are not known."
            );
        }
    }
    let _ = writeln!(s, "\n## The period\n");
    let lines = [
        ("customers moved", r.migrated.to_string()),
        ("customers failed", r.failed.to_string()),
        ("customers quarantined by a step", r.quarantined.to_string()),
        (
            "customers rolled back",
            format!(
                "{} ({} rollback{})",
                r.rolled_back,
                r.rollbacks,
                if r.rollbacks == 1 { "" } else { "s" }
            ),
        ),
        (
            "throughput",
            format!(
                "{} GB/h, {} customers/h",
                opt(r.throughput_gb_per_hour, 3),
                opt(r.customers_per_hour, 0)
            ),
        ),
        (
            "batch durations",
            format!(
                "{} batches, p50 {} s, p95 {} s",
                r.batch_durations.batches,
                opt(r.batch_durations.p50_s, 2),
                opt(r.batch_durations.p95_s, 2)
            ),
        ),
        ("retries (steps redone)", r.retries.to_string()),
        ("dead letters", r.dead_letters.to_string()),
        (
            "notices",
            if r.notices.is_empty() {
                "none".into()
            } else {
                r.notices
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        (
            "alerts",
            format!(
                "{} opened, {} escalated, {} resolved",
                r.alerts_opened, r.alerts_escalated, r.alerts_resolved
            ),
        ),
        (
            "milestones",
            format!(
                "{} done, {} overdue at the end",
                r.milestones_done, r.milestones_overdue
            ),
        ),
    ];
    for (k, v) in lines {
        let _ = writeln!(s, "- {k}: {v}");
    }
    if !r.kpis.is_empty() {
        let _ = writeln!(s, "\n## KPIs\n");
        let _ = writeln!(s, "| KPI | value | target | standing |\n|---|---:|---|---|");
        for k in &r.kpis {
            let _ = writeln!(
                s,
                "| {} | {} | {} {} {} | {} |",
                k.name,
                k.value
                    .map_or_else(|| "-".into(), |v| format!("{v:.2} {}", k.unit)),
                k.comparison,
                k.target,
                k.unit,
                k.standing
            );
        }
    }
    s
}

/// The report as CSV: `section,name,value` rows.
pub fn csv(r: &PeriodReport) -> String {
    let mut rows = vec![
        ("period".to_string(), "from".to_string(), r.from.clone()),
        ("period".into(), "to".into(), r.to.clone()),
    ];
    for w in &r.waves {
        for (k, v) in [
            ("customers", w.customers),
            ("migrated", w.migrated),
            ("failed", w.failed),
            ("quarantined", w.quarantined),
            ("rolled_back", w.rolled_back),
        ] {
            rows.push((format!("wave:{}", w.wave), k.into(), v.to_string()));
        }
    }
    let o = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for (k, v) in [
        ("migrated", r.migrated.to_string()),
        ("failed", r.failed.to_string()),
        ("quarantined", r.quarantined.to_string()),
        ("rolled_back", r.rolled_back.to_string()),
        ("rollbacks", r.rollbacks.to_string()),
        ("throughput_gb_per_hour", o(r.throughput_gb_per_hour)),
        ("customers_per_hour", o(r.customers_per_hour)),
        ("batch_p50_s", o(r.batch_durations.p50_s)),
        ("batch_p95_s", o(r.batch_durations.p95_s)),
        ("retries", r.retries.to_string()),
        ("dead_letters", r.dead_letters.to_string()),
        ("alerts_opened", r.alerts_opened.to_string()),
        ("alerts_escalated", r.alerts_escalated.to_string()),
        ("alerts_resolved", r.alerts_resolved.to_string()),
        ("milestones_done", r.milestones_done.to_string()),
        ("milestones_overdue", r.milestones_overdue.to_string()),
    ] {
        rows.push(("period".into(), k.into(), v));
    }
    for (k, n) in &r.notices {
        rows.push(("notices".into(), k.clone(), n.to_string()));
    }
    for k in &r.kpis {
        rows.push((format!("kpi:{}", k.name), "value".into(), o(k.value)));
        rows.push((
            format!("kpi:{}", k.name),
            "standing".into(),
            k.standing.clone(),
        ));
    }
    let field = |f: &str| {
        if f.contains([',', '"', '\n']) {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f.to_string()
        }
    };
    let mut s = String::from("section,name,value\n");
    for (a, b, c) in rows {
        s.push_str(&format!("{},{},{}\n", field(&a), field(&b), field(&c)));
    }
    s
}

/// Sends yesterday's daily report to `[report] daily_target` once `daily_at` has passed on
/// `now`'s day: exactly once per day across every console and runner (the outbox's dedup key
/// `report:daily:<day>`). Returns whether it was due and not in the outbox when this call
/// looked (two processes racing both say so; the dedup key keeps one message).
///
/// Errors: the state database failing.
pub async fn send_daily(ctx: &Ctx, now: chrono::DateTime<chrono::Utc>) -> eyre::Result<bool> {
    let (Some(at), Some(target)) = (&ctx.cfg.report.daily_at, &ctx.cfg.report.daily_target) else {
        return Ok(false);
    };
    let Ok(at) = chrono::NaiveTime::parse_from_str(at, "%H:%M") else {
        return Ok(false);
    };
    if now.time() < at {
        return Ok(false);
    }
    let day = now.date_naive() - chrono::Duration::days(1);
    let key = format!("report:daily:{day}");
    let sent: Option<i64> = sqlx::query_scalar("SELECT id FROM notifications WHERE dedup_key = $1")
        .bind(key.clone())
        .fetch_optional(&ctx.state)
        .await?;
    if sent.is_some() {
        return Ok(false);
    }
    let r = build(ctx, Period::Daily, day, day).await?;
    let text = markdown(&r);
    let payload = serde_json::json!({
        "event": "report.daily", "at": crate::clock::fmt(now), "day": day.to_string(),
        "message": text, "report": r,
    });
    let mut tx = crate::db::write_tx(&ctx.state).await?;
    crate::notify::enqueue_many(
        &mut tx,
        "report",
        Some(target),
        &[(key, None, payload.to_string())],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

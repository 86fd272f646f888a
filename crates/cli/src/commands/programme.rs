//! `cutover comms`, `cutover kpi` and `cutover tick`: the programme's notices, its KPIs against
//! their targets, and the minute's work a console does, done once.

use std::process::ExitCode;

use crate::args::Cli;
use crate::outln;
use crate::table::{Align, Table};
use crate::workspace::open;
use cutover_core::{comms, kpi};

/// `--date D`, or today (UTC).
///
/// Errors: not a date (exit 2).
pub fn date_or_today(date: Option<&str>) -> eyre::Result<chrono::NaiveDate> {
    match date {
        Some(d) => Ok(chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| crate::Usage(format!("--date {d}: not a date (YYYY-MM-DD)")))?),
        None => Ok(chrono::Utc::now().date_naive()),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}%"))
}

/// Prints every wave's notices on `date`.
///
/// Errors: the state database failing.
pub async fn comms(cli: &Cli, json: bool, date: Option<&str>) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let today = date_or_today(date)?;
    let rows = comms::overview(&ctx, today).await?;
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                v["reach"] = serde_json::json!(r.reach());
                v
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.cfg.communication.is_empty() {
        outln!(
            "no [[communication]] in the config: only the engine's own notices (moved, moved back) go out"
        );
    }
    let mut t = Table::new(&[
        ("wave", Align::Left),
        ("notice", Align::Left),
        ("when", Align::Left),
        ("due", Align::Right),
        ("sent", Align::Right),
        ("delivered", Align::Right),
        ("failed", Align::Right),
        ("held", Align::Right),
        ("reach", Align::Right),
    ]);
    for r in &rows {
        t.push(vec![
            r.wave.clone(),
            r.notice.clone(),
            r.when.clone(),
            r.due.to_string(),
            r.sent.to_string(),
            r.delivered.to_string(),
            r.failed.to_string(),
            r.held.to_string(),
            pct(r.reach()),
        ]);
    }
    for l in t.lines() {
        outln!("{l}");
    }
    let due: i64 = rows.iter().map(|r| r.due).sum();
    let delivered: i64 = rows.iter().map(|r| r.delivered.min(r.due)).sum();
    outln!(
        "reach {} ({delivered} delivered of {due} due; a notice with no target is recorded, which counts as delivered)",
        pct((due > 0).then(|| 100.0 * delivered as f64 / due as f64))
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints the KPIs on `date`.
///
/// Errors: a `[[kpi]]` query failing (exit 2, naming its key), the state database failing.
pub async fn kpi(cli: &Cli, json: bool, date: Option<&str>) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let today = date_or_today(date)?;
    let ks = kpi::evaluate(&ctx, today).await?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&ks)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&[
        ("KPI", Align::Left),
        ("value", Align::Right),
        ("target", Align::Left),
        ("standing", Align::Left),
        ("trend", Align::Left),
    ]);
    for k in &ks {
        let mut standing = k.standing.as_str().to_string();
        if let Some(p) = k.projection {
            standing.push_str(&format!(" (projected {})", kpi::shown(Some(p), &k.unit)));
        }
        let trend = k
            .trend
            .iter()
            .rev()
            .take(5)
            .rev()
            .map(|(_, v)| kpi::shown(Some(*v), &k.unit))
            .collect::<Vec<_>>()
            .join(" → ");
        t.push(vec![
            k.name.clone(),
            kpi::shown(k.value, &k.unit),
            format!(
                "{} {}",
                k.comparison.as_str(),
                kpi::shown(Some(k.target), &k.unit)
            ),
            standing,
            if trend.is_empty() { "-".into() } else { trend },
        ]);
    }
    for l in t.lines() {
        outln!("{l}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs one programme tick and one delivery pass, now.
///
/// Errors: as [`cutover_core::programme::tick`].
pub async fn tick(cli: &Cli, json: bool) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let t = cutover_core::programme::tick(&ctx, chrono::Utc::now()).await?;
    cutover_core::notify::drain(&ctx).await;
    if json {
        outln!("{}", serde_json::to_string_pretty(&t)?);
    } else {
        outln!(
            "{} notices put into the outbox, {} held; today's snapshot stored; daily report {}",
            t.notices.enqueued,
            t.notices.held,
            if t.daily_report {
                "sent"
            } else {
                "not due or already sent"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

//! `cutover calendar`: the programme day by day — today's day, each wave's window as dates and
//! where it stands, the days with the waves whose windows they hold and the notices they send,
//! and the KPIs against their targets.

use std::process::ExitCode;

use crate::args::Cli;
use crate::outln;
use crate::table::{Align, Table};
use crate::workspace::open;
use cutover_core::calendar;
use cutover_core::engine::status;

/// Prints the calendar for today (or `--date`).
///
/// Errors: no `[programme]` in the config (exit 2, naming the key), the state failing.
pub async fn run(cli: &Cli, json: bool, date: Option<&str>) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let Some(p) = &ctx.cfg.programme else {
        return Err(crate::Usage(
            "no calendar: set `[programme] start = \"YYYY-MM-DD\"` (and `days`, default 30) in the config"
                .into(),
        )
        .into());
    };
    let today = match date {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| crate::Usage(format!("--date {d}: not a date (YYYY-MM-DD)")))?,
        None => chrono::Utc::now().date_naive(),
    };
    let s = status::status(&ctx.state).await?;
    let c = calendar::calendar(p, &s.segments, today);
    // The notices each day sends: (day, notice, waves).
    let mut notices: Vec<(i64, String, Vec<String>)> = Vec::new();
    for n in ctx
        .cfg
        .communication
        .iter()
        .filter(|n| n.from == cutover_core::config::CommsFrom::Window)
    {
        for w in &s.segments {
            let day = cutover_core::comms::notice_day(n, w.window_days[0]);
            match notices
                .iter_mut()
                .find(|(d, k, _)| *d == day && *k == n.name)
            {
                Some((_, _, ws)) => ws.push(w.name.clone()),
                None => notices.push((day, n.name.clone(), vec![w.name.clone()])),
            }
        }
    }
    let kpis = cutover_core::kpi::evaluate(&ctx, today).await?;
    if json {
        let mut v = serde_json::to_value(&c)?;
        v["notices"] = notices
            .iter()
            .map(|(d, n, ws)| {
                serde_json::json!({
                    "day": d, "date": calendar::date_of(p, *d).to_string(), "notice": n, "waves": ws,
                })
            })
            .collect();
        v["kpis"] = serde_json::to_value(&kpis)?;
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} — day {} of {} ({}; day 1 was {})",
        ctx.cfg.workspace.name,
        c.day,
        c.days,
        c.today,
        c.start
    );
    let mut t = Table::new(&[
        ("wave", Align::Left),
        ("days", Align::Right),
        ("window", Align::Left),
        ("state", Align::Left),
        ("left", Align::Right),
        ("per day needed", Align::Right),
    ]);
    for w in &c.waves {
        t.push(vec![
            w.wave.clone(),
            format!("{}–{}", w.days[0], w.days[1]),
            format!("{} – {}", w.dates[0], w.dates[1]),
            w.state.as_str().into(),
            w.left.to_string(),
            w.per_day_needed
                .map_or_else(|| "-".into(), |n| format!("{n:.1}")),
        ]);
    }
    for l in t.lines() {
        outln!("{l}");
    }
    outln!();
    for day in 1..=c.days {
        let date = calendar::date_of(p, day);
        let open: Vec<&str> = c
            .waves
            .iter()
            .filter(|w| (w.days[0]..=w.days[1]).contains(&day))
            .map(|w| w.wave.as_str())
            .collect();
        let what = match (open.is_empty(), day) {
            (false, _) => format!("window: {}", open.join(", ")),
            (true, d) if c.waves.iter().all(|w| d < w.days[0]) => {
                "preparation and announcements".into()
            }
            (true, d) if c.waves.iter().all(|w| d > w.days[1]) => "close-out".into(),
            _ => "-".into(),
        };
        let mark = if day == c.day { "▶" } else { " " };
        let sends: Vec<String> = notices
            .iter()
            .filter(|(d, _, _)| *d == day)
            .map(|(_, n, ws)| format!("{n} ({})", ws.join(", ")))
            .collect();
        let sends = if sends.is_empty() {
            String::new()
        } else {
            format!(" · notices: {}", sends.join("; "))
        };
        outln!("{mark} day {day:>2}  {date}  {what}{sends}");
    }
    outln!();
    let mut t = Table::new(&[
        ("KPI", Align::Left),
        ("value", Align::Right),
        ("target", Align::Left),
        ("standing", Align::Left),
    ]);
    for k in &kpis {
        t.push(vec![
            k.name.clone(),
            cutover_core::kpi::shown(k.value, &k.unit),
            format!(
                "{} {}",
                k.comparison.as_str(),
                cutover_core::kpi::shown(Some(k.target), &k.unit)
            ),
            k.standing.as_str().into(),
        ]);
    }
    for l in t.lines() {
        outln!("{l}");
    }
    Ok(ExitCode::SUCCESS)
}

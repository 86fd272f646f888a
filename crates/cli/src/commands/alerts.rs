//! `cutover alerts`: the open alerts in triage order with each one's tier, owner and where it
//! stands against its service level, then the service-level figures per tier and severity.

use std::process::ExitCode;

use crate::outln;
use crate::table::{Align, Table};
use crate::workspace::open;
use cutover_core::alerts::{self, AlertQuery};

/// Lists open alerts (only `owner`'s, only those past a deadline with `breached`; at most
/// `limit`), then the service-level figures of every alert with a tier (only `owner`'s).
///
/// Errors: the state database failing.
pub async fn run(
    cli: &crate::args::Cli,
    json: bool,
    breached: bool,
    owner: Option<&str>,
    limit: i64,
) -> eyre::Result<ExitCode> {
    let ctx = open(cli).await?;
    let now = chrono::Utc::now();
    let q = AlertQuery {
        owner: owner.map(str::to_string),
        breached,
        ..Default::default()
    };
    let rows = alerts::list(&ctx.state, &q, now, limit).await?;
    let levels = alerts::service_levels(&ctx.state, "", owner, now).await?;
    if json {
        // Each alert as the state has it, with its service level in words and whether a
        // deadline passed.
        let mut listed = Vec::with_capacity(rows.len());
        for a in &rows {
            let sl = a.service_level(now);
            let mut v = serde_json::to_value(a)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("service_level".into(), sl.words().into());
                o.insert("breached".into(), sl.breached().into());
            }
            listed.push(v);
        }
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "alerts": listed,
                "service_levels": levels,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let ladder = &ctx.cfg.escalation.level;
    let mut t = Table::new(&[
        ("alert", Align::Right),
        ("severity", Align::Left),
        ("customer", Align::Left),
        ("tier", Align::Left),
        ("rule", Align::Left),
        ("level", Align::Left),
        ("status", Align::Left),
        ("service level", Align::Left),
        ("owner", Align::Left),
        ("opened", Align::Left),
    ]);
    for a in &rows {
        t.push(vec![
            a.id.to_string(),
            a.severity.as_str().into(),
            format!("{} {}", a.legacy_id, cutover_core::schema::shown(&a.name)),
            a.tier.clone().unwrap_or_else(|| "-".into()),
            a.rule.clone(),
            ladder
                .get((a.level.max(1) - 1) as usize)
                .map_or_else(|| format!("L{}", a.level), |l| l.name.clone()),
            a.status.clone(),
            a.service_level(now).words(),
            a.owner.clone().unwrap_or_else(|| "-".into()),
            a.opened_at.clone(),
        ]);
    }
    for l in t.lines() {
        outln!("{l}");
    }
    if rows.is_empty() {
        outln!(
            "no open alerts{}",
            if breached { " past a deadline" } else { "" }
        );
    } else if rows.len() as i64 == limit {
        outln!("(the first {limit}: --limit N shows more)");
    }
    outln!();
    outln!(
        "Service levels{} (every alert with a tier; an open one counts as breached once its deadline passed)",
        owner.map(|o| format!(" of {o}")).unwrap_or_default()
    );
    let mut t = Table::new(&[
        ("tier", Align::Left),
        ("severity", Align::Left),
        ("alerts", Align::Right),
        ("ack met", Align::Right),
        ("ack breached", Align::Right),
        ("resolve met", Align::Right),
        ("resolve breached", Align::Right),
        ("open", Align::Right),
    ]);
    for r in &levels {
        t.push(vec![
            r.tier.clone(),
            r.severity.clone(),
            r.alerts.to_string(),
            r.ack_met.to_string(),
            r.ack_breached.to_string(),
            r.resolve_met.to_string(),
            r.resolve_breached.to_string(),
            r.open.to_string(),
        ]);
    }
    for l in t.lines() {
        outln!("{l}");
    }
    Ok(ExitCode::SUCCESS)
}

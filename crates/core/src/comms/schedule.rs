//! Scheduling the notices on the calendar and counting them (brief section 2, "Customer
//! communications"). Nothing is materialised ahead: a pass ([`schedule`]) puts into the outbox
//! every notice whose day has come and that the customer has not had, under a dedup key, so a
//! pass that is repeated, killed or run by two processes at once sends each notice once. A
//! wave moved to another window (its `window_days` changed and `cutover plan` run) moves the
//! notices not yet due with it; its window notices' keys carry the window's first day, so
//! customers already told the old date are told the new one.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::{CommsFrom, Communication, SENT_BY_ENGINE};
use crate::ctx::Ctx;
use crate::db::write_tx;

use super::template::{Vars, render, template_text};

/// The programme day a window notice goes for a wave whose window starts on `start_day`.
pub fn notice_day(c: &Communication, start_day: i64) -> i64 {
    let d = start_day + c.offset_days;
    c.earliest_day.map_or(d, |e| d.max(e))
}

/// A notice's dedup key prefix for one wave; the customer's legacy id completes it.
fn key_prefix(c: &Communication, window_start: i64) -> String {
    match c.from {
        CommsFrom::Window => format!("comms:{}:d{window_start}:", c.name),
        _ => format!("comms:{}:", c.name),
    }
}

/// Whether a customer in `status` is held from a `hold` notice: the runner's own stop holds
/// everyone, and once the wave's window has closed (`late`) a "starts tomorrow" would mislead,
/// so it is not sent late.
fn held(status: &str, runner_stopped: bool, late: bool) -> bool {
    late || runner_stopped || matches!(status, "quarantined" | "migrated" | "rolling_back")
}

/// Whether the runner is paused or halted. Read here rather than through the engine: the
/// engine's halt writes the crisis notice ([`crisis`]), so the engine sits above this module.
async fn runner_stopped(ctx: &Ctx) -> eyre::Result<bool> {
    let s: String = sqlx::query_scalar("SELECT state FROM runner WHERE id = 1")
        .fetch_one(&ctx.state)
        .await?;
    Ok(matches!(s.as_str(), "paused" | "halted"))
}

/// Whether `w`'s window closed before `today`.
fn closed(ctx: &Ctx, w: &Wave, today: NaiveDate) -> bool {
    ctx.cfg
        .programme
        .as_ref()
        .is_some_and(|p| p.date_of(w.window_end_day) < today)
}

/// The last moment (exclusive) a customer may have moved for a migration notice with `offset`
/// days to be due on `today`: the start of `today - offset + 1`.
fn moved_before(today: NaiveDate, offset: i64) -> String {
    (today - chrono::Duration::days(offset - 1)).to_string()
}

#[derive(sqlx::FromRow)]
struct Wave {
    name: String,
    window_start_day: i64,
    window_end_day: i64,
    support: String,
}

async fn waves(ctx: &Ctx) -> eyre::Result<Vec<Wave>> {
    Ok(sqlx::query_as(
        "SELECT name, window_start_day, window_end_day, support FROM segments ORDER BY priority",
    )
    .fetch_all(&ctx.state)
    .await?)
}

/// The day a notice is due for `wave`, if it is one that is scheduled: a window notice's day
/// (as a date), `None` for the rest.
fn window_date(ctx: &Ctx, c: &Communication, wave: &Wave) -> Option<(i64, NaiveDate)> {
    let p = ctx.cfg.programme.as_ref()?;
    (c.from == CommsFrom::Window).then(|| {
        let d = notice_day(c, wave.window_start_day);
        (d, p.date_of(d))
    })
}

/// The notices a pass schedules: every `[[communication]]` counted from a window or a
/// migration, but not the engine's own (`moved`, `moved_back`) or the crisis (a halt sends it).
fn scheduled(ctx: &Ctx) -> impl Iterator<Item = &Communication> {
    ctx.cfg
        .communication
        .iter()
        .filter(|c| c.from != CommsFrom::Halt && !SENT_BY_ENGINE.contains(&c.name.as_str()))
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Pass {
    /// Notices put into the outbox.
    pub enqueued: usize,
    /// Notices due but held (quarantine, a paused or halted runner, a customer who moved).
    pub held: usize,
}

#[derive(sqlx::FromRow)]
struct Candidate {
    id: i64,
    legacy_id: String,
    name: String,
    status: String,
    migrated_at: Option<String>,
}

/// Puts every notice due on `today` that its customer has not had into the outbox, rendered
/// from its template, for its target (none: recorded).
///
/// Errors: the state database failing; a template that became unreadable since load (named).
pub async fn schedule(ctx: &Ctx, today: NaiveDate) -> eyre::Result<Pass> {
    let runner = runner_stopped(ctx).await?;
    let dir = ctx.cfg.path.parent().unwrap_or(std::path::Path::new("."));
    let waves = waves(ctx).await?;
    let mut pass = Pass::default();
    for c in scheduled(ctx) {
        let text =
            template_text(dir, &c.template).map_err(|e| eyre::eyre!("notice {}: {e}", c.name))?;
        for w in &waves {
            let prefix = key_prefix(c, w.window_start_day);
            let late = closed(ctx, w, today);
            let (date, cutoff) = match c.from {
                CommsFrom::Window => {
                    let Some((_, date)) = window_date(ctx, c, w) else {
                        continue;
                    };
                    if date > today {
                        continue;
                    }
                    (Some(date.to_string()), None)
                }
                _ => (None, Some(moved_before(today, c.offset_days))),
            };
            // A page of customers at a time, by id: memory stays bounded by the page whatever
            // the wave's size (the first pass of a 100,000-customer demo held 206,401 rendered
            // notices, 127 MB, when it read each wave whole).
            // A window notice gives the wave's first day; a migration notice the move's.
            let planned = date
                .as_ref()
                .and(ctx.cfg.programme.as_ref())
                .map(|p| p.date_of(w.window_start_day).to_string());
            let mut after = 0;
            loop {
                let page = unsent::<Candidate>(ctx, w, &prefix, cutoff.as_deref(), after).await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                let now = crate::clock::now();
                let mut messages = Vec::new();
                for m in page {
                    if c.hold && held(&m.status, runner, late) {
                        pass.held += 1;
                        continue;
                    }
                    let migration_date = planned.clone().unwrap_or_else(|| {
                        m.migrated_at
                            .as_deref()
                            .and_then(|t| t.get(..10))
                            .unwrap_or_default()
                            .to_string()
                    });
                    let vars = Vars {
                        name: m.name.clone(),
                        customer_id: m.legacy_id.clone(),
                        wave: w.name.clone(),
                        migration_date,
                        support: w.support.clone(),
                    };
                    let payload = serde_json::json!({
                        "event": format!("notice.{}", c.name), "at": now, "notice": c.name,
                        "customer": { "legacy_id": m.legacy_id, "name": m.name, "segment": w.name },
                        "message": render(&text, &vars),
                    });
                    messages.push((
                        format!("{prefix}{}", m.legacy_id),
                        Some(m.id),
                        payload.to_string(),
                    ));
                }
                // One transaction a page: a wave of 10^5 customers is not one write lock.
                if !messages.is_empty() {
                    let mut tx = write_tx(&ctx.state).await?;
                    crate::notify::enqueue_many(&mut tx, &c.name, c.target.as_deref(), &messages)
                        .await?;
                    tx.commit().await?;
                    crate::fault::point("comms.chunk");
                    pass.enqueued += messages.len();
                }
            }
        }
    }
    Ok(pass)
}

/// Customers a scheduling pass reads at a time.
const PAGE: i64 = 2000;

/// Up to [`PAGE`] customers of wave `w` after id `after` without a notice under `prefix`:
/// every one for a window notice, the migrated ones that moved before `cutoff` for a migration
/// notice.
async fn unsent<T>(
    ctx: &Ctx,
    w: &Wave,
    prefix: &str,
    cutoff: Option<&str>,
    after: i64,
) -> eyre::Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let moved = if cutoff.is_some() {
        "AND c.status = 'migrated' AND c.migrated_at < $3"
    } else {
        "AND $3 IS NULL"
    };
    let sql = format!(
        "SELECT c.id, c.legacy_id, c.name, c.status, c.migrated_at FROM customers c
         WHERE c.segment = $1 {moved} AND c.id > $4
         AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.dedup_key = $2 || c.legacy_id)
         ORDER BY c.id LIMIT $5"
    );
    Ok(sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql))
        .bind(w.name.clone())
        .bind(prefix.to_string())
        .bind(cutoff.map(str::to_string))
        .bind(after)
        .bind(PAGE)
        .fetch_all(&ctx.state)
        .await?)
}

/// The customers of wave `w` without a notice under `prefix`, counted per status.
async fn unsent_by_status(ctx: &Ctx, w: &Wave, prefix: &str) -> eyre::Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT c.status, COUNT(*) FROM customers c WHERE c.segment = $1
         AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.dedup_key = $2 || c.legacy_id)
         GROUP BY c.status",
    )
    .bind(w.name.clone())
    .bind(prefix.to_string())
    .fetch_all(&ctx.state)
    .await?)
}

/// Puts the crisis notice (every `[[communication]]` with `from = "halt"`) for each customer
/// the halt at `halted_at` stops into the outbox, in the halt's own transaction `tx`: customers
/// not yet migrated nor quarantined in a wave that has begun (its window opened on or before
/// `day`, or a customer of it started). Returns how many were written.
///
/// Errors: the state database failing.
pub async fn crisis(
    ctx: &Ctx,
    tx: &mut crate::db::Tx,
    halted_at: &str,
    day: Option<i64>,
) -> eyre::Result<usize> {
    let notices: Vec<&Communication> = ctx
        .cfg
        .communication
        .iter()
        .filter(|c| c.from == CommsFrom::Halt)
        .collect();
    if notices.is_empty() {
        return Ok(0);
    }
    let begun: HashSet<String> = sqlx::query_scalar(
        "SELECT DISTINCT segment FROM customers WHERE status IN ('running', 'migrated', 'failed', 'rolled_back')",
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .collect();
    let rows: Vec<(i64, String, String, String, String, i64)> = sqlx::query_as(
        "SELECT c.id, c.legacy_id, c.name, c.segment, s.support, s.window_start_day
         FROM customers c JOIN segments s ON s.name = c.segment
         WHERE c.status IN ('pending', 'running', 'failed', 'rolled_back') ORDER BY c.id",
    )
    .fetch_all(&mut **tx)
    .await?;
    let dir = ctx.cfg.path.parent().unwrap_or(std::path::Path::new("."));
    let mut written = 0;
    for c in notices {
        let text =
            template_text(dir, &c.template).map_err(|e| eyre::eyre!("notice {}: {e}", c.name))?;
        let messages: Vec<_> = rows
            .iter()
            .filter(|(_, _, _, wave, _, start)| {
                begun.contains(wave) || day.is_some_and(|d| *start <= d)
            })
            .map(|(id, legacy, name, wave, support, start)| {
                let vars = Vars {
                    name: name.clone(),
                    customer_id: legacy.clone(),
                    wave: wave.clone(),
                    migration_date: ctx
                        .cfg
                        .programme
                        .as_ref()
                        .map(|p| p.date_of(*start).to_string())
                        .unwrap_or_else(|| "the day of your wave".into()),
                    support: support.clone(),
                };
                let payload = serde_json::json!({
                    "event": format!("notice.{}", c.name), "at": halted_at, "notice": c.name,
                    "customer": { "legacy_id": legacy, "name": name, "segment": wave },
                    "message": render(&text, &vars),
                });
                (
                    format!("comms:{}:{halted_at}:{legacy}", c.name),
                    Some(*id),
                    payload.to_string(),
                )
            })
            .collect();
        crate::notify::enqueue_many(tx, &c.name, c.target.as_deref(), &messages).await?;
        written += messages.len();
    }
    Ok(written)
}

/// One notice for one wave, as the Communications view and `cutover comms` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeStatus {
    /// The wave.
    pub wave: String,
    /// The notice's name.
    pub notice: String,
    /// When it goes: a date for a window notice, `+3d after moving`, `on a halt`, `on moving`.
    pub when: String,
    /// Customers it is due to today, less those held.
    pub due: i64,
    /// In the outbox in any state (sending, delivered, recorded, dead).
    pub sent: i64,
    /// Delivered, or recorded where the notice has no target (the record is its delivery).
    pub delivered: i64,
    /// Dead-lettered.
    pub failed: i64,
    /// Due but held (quarantine, a paused or halted runner, a customer who already moved).
    pub held: i64,
}

impl NoticeStatus {
    /// Reach: delivered ÷ due, in percent; `None` while nothing is due.
    pub fn reach(&self) -> Option<f64> {
        (self.due > 0).then(|| 100.0 * self.delivered as f64 / self.due as f64)
    }
}

/// One row of [`overview`] before its counts.
struct Line {
    notice: String,
    when: String,
    /// The dedup key's prefix of a scheduled notice; `None` for the engine's and a halt's.
    prefix: Option<String>,
    /// Count only customers still migrated (a rolled-back customer's "moved" is history).
    migrated_only: bool,
    /// Customers whose day has come; `None` for an event's notice (due to whom it went).
    due: Option<i64>,
    hold: bool,
}

/// Every wave's notices on `today`, in wave priority order then the config's order of notices,
/// with the engine's `moved` notice and any crisis.
///
/// Errors: the state database failing.
pub async fn overview(ctx: &Ctx, today: NaiveDate) -> eyre::Result<Vec<NoticeStatus>> {
    let runner = runner_stopped(ctx).await?;
    let waves = waves(ctx).await?;
    // Customers per wave and status from the trigger-kept counters (migration 0003), not a
    // count over the customers per wave.
    let counts: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT segment, status, customers FROM customer_counts")
            .fetch_all(&ctx.state)
            .await?;
    let count = |wave: &str, status: Option<&str>| -> i64 {
        counts
            .iter()
            .filter(|(w, s, _)| w == wave && status.is_none_or(|x| x == s))
            .map(|(_, _, n)| n)
            .sum()
    };
    let mut out = Vec::new();
    for w in &waves {
        let customers = count(&w.name, None);
        let mut rows: Vec<Line> = Vec::new();
        for c in scheduled(ctx) {
            let prefix = key_prefix(c, w.window_start_day);
            match c.from {
                CommsFrom::Window => {
                    let Some((_, date)) = window_date(ctx, c, w) else {
                        continue;
                    };
                    let due = if date <= today { customers } else { 0 };
                    rows.push(Line {
                        notice: c.name.clone(),
                        when: date.to_string(),
                        prefix: Some(prefix),
                        migrated_only: false,
                        due: Some(due),
                        hold: c.hold,
                    });
                }
                _ => {
                    let cutoff = moved_before(today, c.offset_days);
                    let due: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM customers WHERE segment = $1 AND status = 'migrated' AND migrated_at < $2",
                    )
                    .bind(w.name.clone())
                    .bind(cutoff)
                    .fetch_one(&ctx.state)
                    .await?;
                    rows.push(Line {
                        notice: c.name.clone(),
                        when: format!("{:+}d after moving", c.offset_days),
                        prefix: Some(prefix),
                        migrated_only: false,
                        due: Some(due),
                        hold: c.hold,
                    });
                }
            }
        }
        let migrated = count(&w.name, Some("migrated"));
        rows.push(Line {
            notice: "moved".into(),
            when: "on moving".into(),
            prefix: None,
            migrated_only: true,
            due: Some(migrated),
            hold: false,
        });
        for c in ctx
            .cfg
            .communication
            .iter()
            .filter(|c| c.from == CommsFrom::Halt)
        {
            rows.push(Line {
                notice: c.name.clone(),
                when: "on a halt".into(),
                prefix: None,
                migrated_only: false,
                due: None,
                hold: false,
            });
        }
        for Line {
            notice,
            when,
            prefix,
            migrated_only,
            due,
            hold,
        } in rows
        {
            let counts: Vec<(String, i64)> = match &prefix {
                Some(p) => sqlx::query_as(
                    "SELECT n.status, COUNT(*) FROM notifications n JOIN customers c ON c.id = n.customer_id
                     WHERE c.segment = $1 AND n.kind = $2 AND n.dedup_key LIKE $3 GROUP BY n.status",
                )
                .bind(w.name.clone())
                .bind(notice.clone())
                .bind(format!("{p}%")),
                None => sqlx::query_as(
                    "SELECT n.status, COUNT(*) FROM notifications n JOIN customers c ON c.id = n.customer_id
                     WHERE c.segment = $1 AND n.kind = $2 AND ($3 = 0 OR c.status = 'migrated') GROUP BY n.status",
                )
                .bind(w.name.clone())
                .bind(notice.clone())
                .bind(i64::from(migrated_only)),
            }
            .fetch_all(&ctx.state)
            .await?;
            let count = |f: &dyn Fn(&str) -> bool| -> i64 {
                counts.iter().filter(|(s, _)| f(s)).map(|(_, n)| n).sum()
            };
            let sent = count(&|_| true);
            let delivered = count(&|s| matches!(s, "delivered" | "recorded"));
            let failed = count(&|s| s == "dead");
            let held_now = if hold
                && due.is_some_and(|d| d > 0)
                && let Some(p) = &prefix
            {
                let late = closed(ctx, w, today);
                unsent_by_status(ctx, w, p)
                    .await?
                    .iter()
                    .filter(|(status, _)| held(status, runner, late))
                    .map(|(_, n)| n)
                    .sum()
            } else {
                0
            };
            out.push(NoticeStatus {
                wave: w.name.clone(),
                notice,
                when,
                // An event's notice (a halt) is due to everyone it was written for.
                due: due.map_or(sent, |d| d - held_now),
                sent,
                delivered,
                failed,
                held: held_now,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_notice_waits_for_quarantine_a_stopped_runner_and_never_goes_late() {
        let idle = false;
        assert!(!held("pending", idle, false));
        assert!(!held("failed", idle, false));
        assert!(held("quarantined", idle, false));
        assert!(held("migrated", idle, false), "moved already: moot");
        assert!(held("pending", true, false), "paused or halted");
        assert!(held("pending", idle, true), "the window closed");
    }

    #[test]
    fn a_window_notice_goes_on_its_day_or_the_earliest_day() {
        let c = Communication {
            name: "announcement".into(),
            offset_days: -14,
            from: CommsFrom::Window,
            template: "announcement".into(),
            target: None,
            hold: false,
            earliest_day: Some(1),
        };
        assert_eq!(notice_day(&c, 8), 1);
        assert_eq!(notice_day(&c, 22), 8);
        assert_eq!(
            notice_day(
                &Communication {
                    earliest_day: None,
                    ..c
                },
                8
            ),
            -6
        );
        assert_eq!(
            moved_before(NaiveDate::from_ymd_opt(2026, 12, 10).unwrap(), 3),
            "2026-12-08"
        );
    }
}

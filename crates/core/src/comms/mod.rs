//! Customer communications (brief section 2, "Customer communications"): the notices a
//! customer gets around its move, as templates with placeholders. The eight shipped ones
//! (`assets/templates/comms/`) are the brief's timeline — announcement, guide, reminder,
//! starts, moved (the pipeline's `notify` step), survey — and the "moved back" and crisis
//! notices. A `[[communication]]` entry may point at a file of its own instead.
//!
//! [`schedule`] puts the notices due on a day into the outbox (delivered by
//! [`crate::notify`]), a halt writes the crisis notice ([`crisis`]), and [`overview`] counts
//! them per wave; [`preview`] renders what a customer would get, and the `notify` step and a
//! rollback render the "moved" and "moved back" texts ([`engine_notice`]).

pub mod schedule;
pub mod template;

pub use schedule::{NoticeStatus, Pass, crisis, notice_day, overview, schedule};

pub use template::{
    BUILT_IN, PLACEHOLDERS, Vars, built_in, placeholders_in, render, template_text,
    unknown_placeholder,
};

use std::path::Path;

#[derive(sqlx::FromRow)]
struct Who {
    legacy_id: String,
    name: String,
    segment: String,
    support: Option<String>,
    migrated_at: Option<String>,
    window_start_day: Option<i64>,
}

/// One customer's [`Vars`], read from the state; `None` when the plan has no such customer.
/// `{migration_date}` is the wave window's first day for a notice counted from the window
/// (`planned`), else the day the customer moved, else that first day.
///
/// Errors: the state database failing.
pub async fn vars(
    ctx: &crate::ctx::Ctx,
    legacy_id: &str,
    planned: bool,
) -> eyre::Result<Option<Vars>> {
    let Some(w) = sqlx::query_as::<_, Who>(
        "SELECT c.legacy_id, c.name, c.segment, s.support, c.migrated_at, s.window_start_day
         FROM customers c LEFT JOIN segments s ON s.name = c.segment WHERE c.legacy_id = $1",
    )
    .bind(legacy_id.to_string())
    .fetch_optional(&ctx.state)
    .await?
    else {
        return Ok(None);
    };
    let window = match (&ctx.cfg.programme, w.window_start_day) {
        (Some(p), Some(d)) => Some(p.date_of(d).to_string()),
        _ => None,
    };
    let moved = w
        .migrated_at
        .as_deref()
        .and_then(|t| t.get(..10))
        .map(str::to_string);
    let migration_date = if planned {
        window.or(moved)
    } else {
        moved.or(window)
    }
    .unwrap_or_else(|| "the day of your wave".into());
    Ok(Some(Vars {
        name: w.name,
        customer_id: w.legacy_id,
        wave: w.segment,
        migration_date,
        support: w.support.unwrap_or_else(|| "customer".into()),
    }))
}

/// The text of notice `notice` (a `[[communication]]` entry's name, or a shipped template's)
/// as customer `legacy_id` would get it.
///
/// Errors: an unknown customer or notice (naming the ones there are), an unreadable template,
/// the state database failing.
pub async fn preview(ctx: &crate::ctx::Ctx, legacy_id: &str, notice: &str) -> eyre::Result<String> {
    let dir = ctx.cfg.path.parent().unwrap_or(Path::new("."));
    let entry = ctx.cfg.communication.iter().find(|c| c.name == notice);
    // Without an entry, the shipped timeline's notices before a move count from the window.
    let planned = entry.map_or(
        matches!(notice, "announcement" | "guide" | "reminder" | "starts"),
        |c| c.from == crate::config::CommsFrom::Window,
    );
    let template = entry
        .map(|c| c.template.clone())
        .or_else(|| built_in(notice).map(|_| notice.to_string()));
    let Some(template) = template else {
        let mut names: Vec<String> = ctx
            .cfg
            .communication
            .iter()
            .map(|c| c.name.clone())
            .collect();
        names.extend(BUILT_IN.iter().map(|(n, _)| n.to_string()));
        names.dedup();
        eyre::bail!(
            "notice {notice}: no such notice (there are {})",
            names.join(", ")
        );
    };
    let text = template_text(dir, &template).map_err(|e| eyre::eyre!("notice {notice}: {e}"))?;
    let Some(v) = vars(ctx, legacy_id, planned).await? else {
        eyre::bail!("customer {legacy_id}: no such legacy id in the plan");
    };
    Ok(render(&text, &v))
}

/// The template text and target of a notice the engine sends itself (`moved`, `moved_back`):
/// a `[[communication]]` of that name sets them, else the shipped template goes to
/// `[notify] moved`.
pub fn engine_notice(ctx: &crate::ctx::Ctx, name: &str) -> (String, Option<String>) {
    let dir = ctx.cfg.path.parent().unwrap_or(Path::new("."));
    let entry = ctx.cfg.communication.iter().find(|c| c.name == name);
    let text = entry
        .and_then(|c| template_text(dir, &c.template).ok())
        .unwrap_or_else(|| built_in(name).unwrap_or_default().to_string());
    let target = entry
        .and_then(|c| c.target.clone())
        .or_else(|| ctx.cfg.notify.moved.clone());
    (text, target)
}

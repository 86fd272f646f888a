//! The demo's success plans: onboarding plans for its first wave, a migration plan per wave.

use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::customer::pick;
use crate::db;

/// Seeds an onboarding plan (`assets/templates/onboarding.toml`) for every customer of the
/// first-priority segment, started up to 60 days before `as_of`: milestones due before `as_of`
/// are mostly completed, the first open one is in progress, so some are overdue. Adds a
/// migration plan per wave, starting on its window's first day (the programme starts `as_of`).
pub async fn seed_plans(
    state: &crate::db::Pool,
    seed: u64,
    as_of: NaiveDate,
) -> eyre::Result<usize> {
    let onboarding = crate::plans::template("onboarding")?;
    let migration = crate::plans::template("migration")?;
    let vip: Vec<String> = sqlx::query_scalar(
        "SELECT legacy_id FROM customers WHERE priority = (SELECT MIN(priority) FROM segments) ORDER BY id",
    )
    .fetch_all(state)
    .await?;
    let owners = ["amara.okafor", "li.wei", "sofia.rossi", "tom.baker"];
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_91a5);
    let mut tx = db::write_tx(state).await?;
    for cust in &vip {
        let owner = *pick(&mut rng, &owners);
        let start = as_of - Duration::days(rng.random_range(0..60));
        let (plan, _) = crate::plans::create(&mut tx, &onboarding, cust, owner, start).await?;
        let mut first_open = true;
        for (k, m) in onboarding.milestone.iter().enumerate() {
            let due = start + Duration::days(m.due_days);
            let status = if due < as_of && rng.random_bool(0.85) {
                "completed"
            } else if std::mem::take(&mut first_open) {
                "in_progress"
            } else {
                continue;
            };
            sqlx::query("UPDATE milestones SET status = $1 WHERE plan_id = $2 AND seq = $3")
                .bind(status)
                .bind(plan)
                .bind(k as i64 + 1)
                .execute(&mut *tx)
                .await?;
        }
    }
    let waves: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, window_start_day FROM segments ORDER BY priority")
            .fetch_all(&mut *tx)
            .await?;
    for (name, day) in waves {
        let start = as_of + Duration::days(day - 1);
        crate::plans::create(
            &mut tx,
            &migration,
            &format!("wave:{name}"),
            "migration.lead",
            start,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(vip.len())
}

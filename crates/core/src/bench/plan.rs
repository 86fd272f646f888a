//! `cutover bench plan`: `cutover plan` on a generated export with no index at all (a CSV
//! loaded into SQLite as a user would), against one `GROUP BY` aggregate over the same
//! purchases table: the least any plan that reads the purchases must do. Measured in rounds,
//! each a new state planned twice and the aggregate timed right after, and reported as
//! medians: on this shared machine one round's ratio ranged 8–15.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::db;

/// What one `plan` measurement found.
#[derive(Debug, Clone, Serialize)]
pub struct PlanBench {
    /// Customers in the export.
    pub customers: usize,
    /// Purchase rows in the export.
    pub purchases: usize,
    /// Rounds measured; each figure below is the median over them.
    pub rounds: usize,
    /// The first plan of a new state, in seconds.
    pub first_secs: f64,
    /// A second plan over the state the first left, in seconds.
    pub replan_secs: f64,
    /// `SELECT customer_id, SUM(amount) … GROUP BY customer_id` over the purchases, rows
    /// fetched, in seconds (the best of three in each round).
    pub group_by_secs: f64,
    /// The slower plan over the aggregate, per round (issue 21's goal: at most 3).
    pub ratio: f64,
}

/// The export's two tables, no keys and no indexes: the shape `sqlite3 .import` leaves.
const SCHEMA: &str = "\
CREATE TABLE customers (customer_id TEXT, full_name TEXT, email TEXT, country TEXT, signup_date TEXT);
CREATE TABLE purchases (order_id TEXT, customer_id TEXT, amount TEXT, purchased_at TEXT, status TEXT);";

const MAPPING: &str = r#"
[mapping.customers]
query = "SELECT customer_id AS legacy_id, full_name AS name, email, country, signup_date AS created_at FROM customers"

[mapping.payments]
query = "SELECT order_id AS legacy_id, customer_id AS customer_legacy_id, amount, purchased_at AS paid_at, status FROM purchases"
"#;

/// Generates the export in `dir` (seeded, so every run plans the same rows): `customers`
/// customers and `purchases` purchases spread over them, dated in the year before `as_of`.
async fn generate(
    dir: &Path,
    customers: usize,
    purchases: usize,
    as_of: chrono::NaiveDate,
) -> eyre::Result<PathBuf> {
    let file = dir.join("export.db");
    let pool = db::open(
        &format!("sqlite://{}", file.display()),
        "source",
        true,
        false,
    )
    .await?;
    sqlx::raw_sql(SCHEMA).execute(&pool).await?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
    let countries = ["DE", "FR", "ES", "PT", "IT", "NL"];
    let mut tx = pool.begin().await?;
    for start in (0..customers).step_by(500) {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO customers (customer_id, full_name, email, country, signup_date) ",
        );
        q.push_values(start..customers.min(start + 500), |mut b, i| {
            let days = rng.random_range(30..3000);
            b.push_bind(format!("{}", 10_000 + i))
                .push_bind(format!("Customer {i}"))
                .push_bind(format!("customer{i}@example.com"))
                .push_bind(countries[i % countries.len()])
                .push_bind((as_of - chrono::Duration::days(days)).to_string());
        });
        q.build().execute(&mut *tx).await?;
    }
    for start in (0..purchases).step_by(500) {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO purchases (order_id, customer_id, amount, purchased_at, status) ",
        );
        q.push_values(start..purchases.min(start + 500), |mut b, i| {
            let who = rng.random_range(0..customers);
            let cents: i64 = rng.random_range(500..250_000);
            let days = rng.random_range(0..540);
            let status = if rng.random_range(0..20) == 0 {
                "refunded"
            } else {
                "paid"
            };
            b.push_bind(format!("O{}", 500_000 + i))
                .push_bind(format!("{}", 10_000 + who))
                .push_bind(format!("{}.{:02}", cents / 100, cents % 100))
                .push_bind((as_of - chrono::Duration::days(days)).to_string())
                .push_bind(status);
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    pool.close().await;
    Ok(file)
}

/// Generates an unindexed export of `customers` customers and `purchases` purchases in a
/// scratch directory, then, `rounds` times, plans it twice (a new state, then a re-plan) and
/// times one `GROUP BY` aggregate over the purchases on the same file; the directory is
/// removed afterwards.
///
/// Errors: `rounds` or `customers` of 0, the scratch directory or a database refusing a
/// statement, or the plan failing.
pub async fn plan(customers: usize, purchases: usize, rounds: usize) -> eyre::Result<PlanBench> {
    eyre::ensure!(customers > 0, "--customers must be at least 1");
    eyre::ensure!(rounds > 0, "--rounds must be at least 1");
    let dir = std::env::temp_dir().join(format!("cutover_bench_plan_{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = plan_in(&dir, customers, purchases, rounds).await;
    std::fs::remove_dir_all(&dir)?;
    result
}

/// The median of `xs` (the mean of the middle two for an even count); 0 when empty.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => 0.0,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

async fn plan_in(
    dir: &Path,
    customers: usize,
    purchases: usize,
    rounds: usize,
) -> eyre::Result<PlanBench> {
    let as_of = chrono::Utc::now().date_naive();
    let export = generate(dir, customers, purchases, as_of).await?;
    let (mut firsts, mut replans, mut groups, mut ratios) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let here = dir.join(format!("round{round}"));
        std::fs::create_dir_all(&here)?;
        let text = format!(
            "[workspace]\nname = \"bench plan\"\nas_of = \"{as_of}\"\n\n[state]\nurl = \"sqlite://state.db\"\n\n\
             [source]\nurl = \"sqlite://{}\"\n\n[target]\nurl = \"sqlite://platform.db\"\n\n\
             [roles]\ndefault = \"admin\"\n{MAPPING}",
            export.display()
        );
        let path = here.join("cutover.toml");
        std::fs::write(&path, &text)?;
        let cfg = crate::config::Config::from_toml(&text, &path)?;
        let ctx = crate::ctx::Ctx::create(cfg).await?;
        let t = Instant::now();
        crate::engine::plan::plan(&ctx).await?;
        let first = t.elapsed().as_secs_f64();
        let t = Instant::now();
        crate::engine::plan::plan(&ctx).await?;
        let replan = t.elapsed().as_secs_f64();
        drop(ctx);
        let group_by = group_by(&export).await?;
        firsts.push(first);
        replans.push(replan);
        groups.push(group_by);
        ratios.push(first.max(replan) / group_by);
    }
    Ok(PlanBench {
        customers,
        purchases,
        rounds,
        first_secs: median(firsts),
        replan_secs: median(replans),
        group_by_secs: median(groups),
        ratio: median(ratios),
    })
}

/// The best of three `GROUP BY` aggregates over the export's purchases, rows fetched, in
/// seconds.
async fn group_by(export: &Path) -> eyre::Result<f64> {
    let src = db::open(
        &format!("sqlite://{}", export.display()),
        "source",
        false,
        true,
    )
    .await?;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let rows: Vec<(Option<String>, Option<f64>)> = sqlx::query_as(
            "SELECT customer_id, SUM(CAST(amount AS REAL)) FROM purchases GROUP BY customer_id",
        )
        .fetch_all(&src)
        .await?;
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(rows);
    }
    src.close().await;
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn the_median_is_the_middle_value_or_the_mean_of_the_middle_two() {
        assert_eq!(median(vec![9.0, 1.0, 5.0]), 5.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![7.0]), 7.0);
        assert_eq!(median(Vec::new()), 0.0);
    }
}

//! `cutover report`: the end-of-run summary per entity (rows read, written, rejected,
//! mismatched, as pgloader's summary gives them), the time each step took summed over its
//! batches, the time migrations actually ran, and the latest run's span; all read from the
//! databases.

pub mod period;

use serde::Serialize;

use crate::ctx::Ctx;
use crate::schema::Entity;

/// One entity's line of the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EntityReport {
    /// The canonical entity.
    pub entity: &'static str,
    /// Rows the mapping returns from the source.
    pub source_rows: i64,
    /// Rows on the platform (on a mapped platform, the whole table: the platform's own too).
    pub target_rows: i64,
    /// Rows the migration wrote and validated: the platform's count at the last validation of
    /// each migrated customer.
    pub written: i64,
    /// Source rows not migrated: orphans, and the rows of quarantined customers.
    pub rejected: i64,
    /// Customers whose last validation of this entity did not match.
    pub checksum_mismatches: i64,
}

/// One pipeline step's time over every batch that ran it.
#[derive(Debug, Clone, Serialize, PartialEq, sqlx::FromRow)]
pub struct StepTime {
    /// backup, create_account (the customer rows), migrate_data (every child entity, in one
    /// transaction per batch), validate, notify, rollback.
    pub step: String,
    /// Times it ran (per batch; a rollback per chunk of customers).
    pub runs: i64,
    /// Customers it recorded.
    pub customers: i64,
    /// Seconds, summed over its runs.
    pub seconds: f64,
}

/// The latest run: the steps since the runner was last started.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Run {
    /// When its first step started.
    pub started_at: Option<String>,
    /// When its last step finished.
    pub finished_at: Option<String>,
    /// From the first to the last, in seconds.
    pub seconds: f64,
    /// Customers it migrated (their notify step, the last, recorded in it).
    pub customers_migrated: i64,
}

/// The end-of-run report: per entity, rows on each side, rejects and mismatches.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// `[workspace]`.
    pub workspace: String,
    /// Per entity.
    pub entities: Vec<EntityReport>,
    /// Customers migrated.
    pub customers_migrated: i64,
    /// When the first step started.
    pub first_step_at: Option<String>,
    /// When the last step finished.
    pub last_step_at: Option<String>,
    /// Seconds from the first pipeline step ever to the last (idle time between runs
    /// included).
    pub seconds: f64,
    /// Seconds migrations actually ran: the durations of every batch that finished, summed.
    pub batch_seconds: f64,
    /// Per step, its time summed over its runs.
    pub steps: Vec<StepTime>,
    /// The latest run.
    pub latest_run: Run,
    /// The success rate over every wave (README, "Success rate"): migrated ÷ (migrated +
    /// failed + rolled back), percent; `None` before any attempt.
    pub success_rate: Option<f64>,
}

/// Builds the report. Errors: a database failing.
pub async fn build(ctx: &Ctx) -> eyre::Result<Report> {
    let mut entities = Vec::new();
    let quarantined: Vec<String> =
        sqlx::query_scalar("SELECT legacy_id FROM customers WHERE status = 'quarantined'")
            .fetch_all(&ctx.state)
            .await?;
    for e in Entity::ALL {
        let Some(q) = ctx.cfg.mapping.get(e) else {
            continue;
        };
        let source_rows = ctx
            .source
            .count(&format!("SELECT COUNT(*) FROM ({q}) AS m"), &[])
            .await?;
        let Some(table) = ctx.layout.table(e) else {
            continue;
        };
        // Rows the migration wrote and validated: the platform's count at each migrated
        // customer's last validation.
        let written: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(v.target_count), 0) AS BIGINT) FROM validations v \
             JOIN customers c ON c.id = v.customer_id WHERE v.entity = $1 AND c.status = 'migrated'",
        )
        .bind(e.name())
        .fetch_one(&ctx.state)
        .await?;
        let target_rows: i64 = if ctx.api.is_some() {
            // An HTTP platform cannot be counted: the rows its API returned at validation.
            written
        } else {
            // On a mapped platform this counts every row of the table, the platform's own too.
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {}",
                table.name
            )))
            .fetch_one(&ctx.target)
            .await?
        };
        let orphans: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM rejected_rows WHERE entity = $1")
                .bind(e.name())
                .fetch_one(&ctx.state)
                .await?;
        let mut of_quarantined = 0;
        let as_int = ctx.source.key_is_int(q, e.customer_key()).await;
        for chunk in quarantined.chunks(crate::source::CHUNK) {
            let binds = crate::source::conn::id_binds(chunk, as_int);
            if binds.is_empty() {
                continue;
            }
            let sql = format!(
                "SELECT COUNT(*) FROM ({q}) AS m WHERE m.{} IN ({})",
                e.customer_key(),
                ctx.source.placeholders(1, binds.len())
            );
            of_quarantined += ctx.source.count(&sql, &binds).await?;
        }
        let checksum_mismatches: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM validations WHERE entity = $1 AND ok = 0")
                .bind(e.name())
                .fetch_one(&ctx.state)
                .await?;
        entities.push(EntityReport {
            entity: e.name(),
            source_rows,
            target_rows,
            written,
            rejected: orphans + of_quarantined,
            checksum_mismatches,
        });
    }
    #[derive(sqlx::FromRow)]
    struct Span {
        first: Option<String>,
        last: Option<String>,
        migrated: i64,
    }
    let Span {
        first,
        last,
        migrated,
    } = sqlx::query_as(
        "SELECT MIN(started_at) AS first, MAX(finished_at) AS last,
           (SELECT COUNT(*) FROM customers WHERE status = 'migrated') AS migrated FROM steps",
    )
    .fetch_one(&ctx.state)
    .await?;
    let seconds = match (
        first.as_deref().and_then(crate::clock::parse),
        last.as_deref().and_then(crate::clock::parse),
    ) {
        (Some(a), Some(b)) => (b - a).num_milliseconds() as f64 / 1000.0,
        _ => 0.0,
    };
    let batch_seconds = batch_seconds(ctx).await?;
    let steps = step_times(ctx).await?;
    let latest_run = latest_run(ctx).await?;
    let status = crate::engine::status::status(&ctx.state).await?;
    let total = status.segments.iter().fold(
        crate::engine::status::SegmentStatus::default(),
        |mut t, g| {
            t.migrated += g.migrated;
            t.failed += g.failed;
            t.rolled_back += g.rolled_back;
            t
        },
    );
    Ok(Report {
        workspace: ctx.cfg.workspace.name.clone(),
        entities,
        customers_migrated: migrated,
        first_step_at: first,
        last_step_at: last,
        seconds,
        batch_seconds,
        steps,
        latest_run,
        success_rate: total.success_rate(),
    })
}

/// Seconds between two stored times; 0 when either is missing.
fn between(a: Option<&str>, b: Option<&str>) -> f64 {
    match (
        a.and_then(crate::clock::parse),
        b.and_then(crate::clock::parse),
    ) {
        (Some(a), Some(b)) => ((b - a).num_milliseconds().max(0)) as f64 / 1000.0,
        _ => 0.0,
    }
}

/// The durations of every batch that finished (done or rolled back after running), summed.
async fn batch_seconds(ctx: &Ctx) -> eyre::Result<f64> {
    let spans: Vec<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT started_at, finished_at FROM batches WHERE status = 'done' AND started_at IS NOT NULL",
    )
    .fetch_all(&ctx.state)
    .await?;
    Ok(spans
        .iter()
        .map(|(a, b)| between(a.as_deref(), b.as_deref()))
        .sum())
}

/// Each step's runs: a step records all of a batch's customers with one start and end, so a
/// run is a `(batch, step, started_at, finished_at)` group.
async fn step_times(ctx: &Ctx) -> eyre::Result<Vec<StepTime>> {
    let runs: Vec<(String, i64, String, String)> = sqlx::query_as(
        "SELECT step, COUNT(*), started_at, finished_at FROM steps
         GROUP BY step, batch_id, started_at, finished_at",
    )
    .fetch_all(&ctx.state)
    .await?;
    let order = [
        "backup",
        "create_account",
        "migrate_data",
        "validate",
        "notify",
        "rollback",
    ];
    let mut out: Vec<StepTime> = Vec::new();
    for (step, n, a, b) in runs {
        let secs = between(Some(&a), Some(&b));
        match out.iter_mut().find(|t| t.step == step) {
            Some(t) => {
                t.runs += 1;
                t.customers += n;
                t.seconds += secs;
            }
            None => out.push(StepTime {
                step,
                runs: 1,
                customers: n,
                seconds: secs,
            }),
        }
    }
    out.sort_by_key(|t| {
        order
            .iter()
            .position(|o| *o == t.step)
            .unwrap_or(order.len())
    });
    Ok(out)
}

/// The steps since the runner was last started (its last `running` audit row), or every step
/// when it never was.
async fn latest_run(ctx: &Ctx) -> eyre::Result<Run> {
    let since: Option<String> = sqlx::query_scalar(
        "SELECT MAX(at) FROM audit_log WHERE action = 'running' AND scope = 'runner'",
    )
    .fetch_one(&ctx.state)
    .await?;
    let since = since.unwrap_or_default();
    let (started_at, finished_at, customers_migrated): (Option<String>, Option<String>, i64) =
        sqlx::query_as(
            "SELECT MIN(started_at), MAX(finished_at),
                    COUNT(DISTINCT CASE WHEN step = 'notify' AND outcome = 'ok' THEN customer_id END)
             FROM steps WHERE started_at >= $1 AND step <> 'rollback'",
        )
        .bind(since)
        .fetch_one(&ctx.state)
        .await?;
    Ok(Run {
        seconds: between(started_at.as_deref(), finished_at.as_deref()),
        started_at,
        finished_at,
        customers_migrated,
    })
}

/// The report as Markdown: the entities, the steps' times, the runs.
pub fn markdown(r: &Report) -> String {
    let mut s = format!("# Migration report: {}\n\n", r.workspace);
    s.push_str("| entity | read | written | on platform | rejected | mismatched |\n|---|---:|---:|---:|---:|---:|\n");
    for e in &r.entities {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            e.entity, e.source_rows, e.written, e.target_rows, e.rejected, e.checksum_mismatches
        ));
    }
    s.push_str("\n| step | runs | customers | time |\n|---|---:|---:|---:|\n");
    for t in &r.steps {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            t.step,
            t.runs,
            t.customers,
            crate::clock::duration(t.seconds)
        ));
    }
    s.push_str(&format!(
        "\n{} customers migrated; migrations ran {} (batch durations summed).\n",
        r.customers_migrated,
        crate::clock::duration(r.batch_seconds),
    ));
    let run = &r.latest_run;
    s.push_str(&format!(
        "Latest run: {} customers migrated in {} ({} → {}).\n",
        run.customers_migrated,
        crate::clock::duration(run.seconds),
        run.started_at.as_deref().unwrap_or("-"),
        run.finished_at.as_deref().unwrap_or("-")
    ));
    s.push_str(&match r.success_rate {
        Some(p) => {
            format!("Success rate: {p:.1}% (migrated ÷ (migrated + failed + rolled back)).\n")
        }
        None => "Success rate: no customer attempted yet.\n".into(),
    });
    s
}

/// The report as CSV, one line per entity.
pub fn csv(r: &Report) -> String {
    let mut s = String::from(
        "entity,read,written,on_platform,rejected,checksum_mismatches,batch_seconds\n",
    );
    for e in &r.entities {
        s.push_str(&format!(
            "{},{},{},{},{},{},{:.3}\n",
            e.entity,
            e.source_rows,
            e.written,
            e.target_rows,
            e.rejected,
            e.checksum_mismatches,
            r.batch_seconds
        ));
    }
    s
}

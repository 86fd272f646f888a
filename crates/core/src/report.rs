//! `cutover report`: the end-of-run summary per entity — source rows, platform rows, rejected
//! rows, checksum mismatches — and the run's time, all read from the databases.

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
    /// Rows on the platform.
    pub target_rows: i64,
    /// Source rows not migrated: orphans, and the rows of quarantined customers.
    pub rejected: i64,
    /// Customers whose last validation of this entity did not match.
    pub checksum_mismatches: i64,
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
    /// Seconds from the first pipeline step to the last.
    pub seconds: f64,
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
        let target_rows: i64 = if ctx.api.is_some() {
            // An HTTP platform cannot be counted: the rows its API returned when each migrated
            // customer was validated.
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(v.target_count), 0) AS BIGINT) FROM validations v \
                 JOIN customers c ON c.id = v.customer_id WHERE v.entity = $1 AND c.status = 'migrated'",
            )
            .bind(e.name())
            .fetch_one(&ctx.state)
            .await?
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
    Ok(Report {
        workspace: ctx.cfg.workspace.name.clone(),
        entities,
        customers_migrated: migrated,
        first_step_at: first,
        last_step_at: last,
        seconds,
    })
}

/// The report as a Markdown table.
pub fn markdown(r: &Report) -> String {
    let mut s = format!("# Migration report: {}\n\n", r.workspace);
    s.push_str("| entity | source rows | target rows | rejected | checksum mismatches |\n|---|---:|---:|---:|---:|\n");
    for e in &r.entities {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            e.entity, e.source_rows, e.target_rows, e.rejected, e.checksum_mismatches
        ));
    }
    s.push_str(&format!(
        "\n{} customers migrated in {:.1} s ({} → {}).\n",
        r.customers_migrated,
        r.seconds,
        r.first_step_at.as_deref().unwrap_or("-"),
        r.last_step_at.as_deref().unwrap_or("-")
    ));
    s
}

/// The report as CSV, one line per entity.
pub fn csv(r: &Report) -> String {
    let mut s =
        String::from("entity,source_rows,target_rows,rejected,checksum_mismatches,seconds\n");
    for e in &r.entities {
        s.push_str(&format!(
            "{},{},{},{},{},{:.3}\n",
            e.entity, e.source_rows, e.target_rows, e.rejected, e.checksum_mismatches, r.seconds
        ));
    }
    s
}

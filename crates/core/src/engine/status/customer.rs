//! One customer in full, for the console's customer view: profile, per-entity counts and
//! checksums, its steps, findings, audit entries and health.

use serde::Serialize;

/// One customer in full: profile, per-entity counts and checksums, steps, audit entries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomerDetail {
    /// The customer's legacy id (the source's).
    pub legacy_id: String,
    /// Its name.
    pub name: String,
    /// Email address.
    pub email: Option<String>,
    /// Account type (individual, business, enterprise).
    pub account_type: Option<String>,
    /// Country (ISO code).
    pub country: Option<String>,
    /// The segment (wave).
    pub segment: String,
    /// Its tier (`[[tier]]`), if one matched.
    pub tier: Option<String>,
    /// Its owning CSM (`[mapping.owner]`), if any.
    pub owner: Option<String>,
    /// Its status.
    pub status: String,
    /// The last step completed.
    pub step: Option<String>,
    /// The customer's batch, if planned into one.
    pub batch_id: Option<String>,
    /// Revenue in the 12 months before the as-of date, in cents of the source's currency.
    pub annual_revenue_cents: i64,
    /// Repairs opened in the 12 months before the as-of date.
    pub repairs_12m: i64,
    /// Why.
    pub reason: Option<String>,
    /// Warnings.
    pub warnings: Option<String>,
    /// The last validation per entity.
    pub validations: Vec<Validation>,
    /// The backup per entity.
    pub backups: Vec<Backup>,
    /// The step timeline, oldest first (the last 50).
    pub steps: Vec<StepRow>,
    /// The audit's findings.
    pub findings: Vec<Finding>,
    /// Audit-log entries about the customer, its batch, or everything (the last 20).
    pub audit: Vec<AuditEntry>,
    /// The latest health score, explained; `None` before the first scoring.
    pub health: Option<crate::health::Explanation>,
    /// Its stored scores over the last 30 health runs, oldest first.
    pub health_history: Vec<HealthPoint>,
}

/// One stored health score.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct HealthPoint {
    /// When the run that scored it started (UTC, RFC 3339).
    pub at: String,
    /// The score (0–100).
    pub score: f64,
}

/// One entity's validation: counts and checksums, source against platform.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Validation {
    /// The canonical entity.
    pub entity: String,
    /// Rows on the source.
    pub source_count: i64,
    /// Rows on the platform.
    pub target_count: i64,
    /// Checksum of the source's rows.
    pub source_checksum: String,
    /// Checksum of the platform's rows.
    pub target_checksum: String,
    /// 1 when counts and checksums agreed.
    pub ok: i64,
}

/// One entity's backup: the source count and checksum, and the platform's count before.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Backup {
    /// The canonical entity.
    pub entity: String,
    /// Rows on the source.
    pub source_count: i64,
    /// Rows on the platform.
    pub target_count: i64,
    /// Checksum of the source's rows.
    pub source_checksum: String,
}

/// One recorded step.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StepRow {
    /// The last step completed.
    pub step: String,
    /// When it started.
    pub started_at: String,
    /// When it finished.
    pub finished_at: String,
    /// How it ended (`ok`, `failed`, `refused`, …).
    pub outcome: String,
    /// What happened, in words.
    pub detail: Option<String>,
    /// The worker that recorded it (`host:pid`; `rollback:…` for a rollback); none for steps
    /// recorded before workers were.
    pub worker: Option<String>,
}

/// One audit finding.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Finding {
    /// The rule's name.
    pub rule: String,
    /// Its severity.
    pub severity: String,
    /// What happened, in words.
    pub detail: String,
}

/// One audit-log entry, as the customer view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    /// When (UTC, RFC 3339).
    pub at: String,
    /// Who did it (the operator, or `cutover` for the system).
    pub actor: String,
    /// `action (scope)`.
    pub action: String,
    /// How it ended (`ok`, `failed`, `refused`, …).
    pub outcome: String,
}

/// The customer's own row.
#[derive(sqlx::FromRow)]
struct Profile {
    id: i64,
    legacy_id: String,
    name: String,
    email: Option<String>,
    account_type: Option<String>,
    country: Option<String>,
    segment: String,
    tier: Option<String>,
    owner: Option<String>,
    status: String,
    step: Option<String>,
    batch_id: Option<String>,
    annual_revenue_cents: i64,
    repairs_12m: i64,
    reason: Option<String>,
    warnings: Option<String>,
}

/// Reads one customer by legacy id; `None` when the plan has no such customer.
///
/// Errors: the state database failing.
pub async fn customer(
    state: &crate::db::Pool,
    legacy_id: &str,
) -> eyre::Result<Option<CustomerDetail>> {
    let Some(p) = sqlx::query_as::<_, Profile>(
        "SELECT id, legacy_id, name, email, account_type, country, segment, tier, owner, status, step, batch_id,
                annual_revenue_cents, repairs_12m, reason, warnings FROM customers WHERE legacy_id = $1",
    )
    .bind(legacy_id.to_string())
    .fetch_optional(state)
    .await?
    else {
        return Ok(None);
    };
    let validations = sqlx::query_as(
        "SELECT entity, source_count, target_count, source_checksum, target_checksum, ok FROM validations
         WHERE customer_id = $1 ORDER BY entity",
    )
    .bind(p.id)
    .fetch_all(state)
    .await?;
    let backups = sqlx::query_as(
        "SELECT entity, source_count, target_count, source_checksum FROM backups
         WHERE customer_id = $1 ORDER BY entity",
    )
    .bind(p.id)
    .fetch_all(state)
    .await?;
    let mut steps: Vec<StepRow> = sqlx::query_as(
        "SELECT step, started_at, finished_at, outcome, detail, worker FROM steps WHERE customer_id = $1
         ORDER BY id DESC LIMIT 50",
    )
    .bind(p.id)
    .fetch_all(state)
    .await?;
    steps.reverse();
    let findings = sqlx::query_as(
        "SELECT rule, severity, detail FROM findings WHERE customer_legacy_id = $1 ORDER BY rule",
    )
    .bind(legacy_id.to_string())
    .fetch_all(state)
    .await?;
    let audit = sqlx::query_as(
        // Entries about this customer, its batch, its wave, or everything (rollback --all).
        "SELECT at, actor, action || ' (' || scope || ')' AS action, outcome FROM audit_log
         WHERE scope IN ($1, $2, $3, 'all') ORDER BY id DESC LIMIT 20",
    )
    .bind(format!("customer {legacy_id}"))
    .bind(format!("batch {}", p.batch_id.clone().unwrap_or_default()))
    .bind(format!("wave {}", p.segment))
    .fetch_all(state)
    .await?;
    let health = crate::health::explain(state, legacy_id).await?;
    // Driven from the runs: the scores are keyed by (run, customer), one seek per run.
    let mut health_history: Vec<HealthPoint> = sqlx::query_as(
        "SELECT r.started_at AS at, s.score FROM
           (SELECT id, started_at FROM health_runs ORDER BY id DESC LIMIT 30) AS r
         JOIN health_scores s ON s.run_id = r.id AND s.customer_id = $1
         ORDER BY r.id DESC",
    )
    .bind(p.id)
    .fetch_all(state)
    .await?;
    health_history.reverse();
    Ok(Some(CustomerDetail {
        legacy_id: p.legacy_id,
        name: p.name,
        email: p.email,
        account_type: p.account_type,
        country: p.country,
        segment: p.segment,
        tier: p.tier,
        owner: p.owner,
        status: p.status,
        step: p.step,
        batch_id: p.batch_id,
        annual_revenue_cents: p.annual_revenue_cents,
        repairs_12m: p.repairs_12m,
        reason: p.reason,
        warnings: p.warnings,
        validations,
        backups,
        steps,
        findings,
        audit,
        health,
        health_history,
    }))
}

//! The console's lists: batches in flight, the customers list, plans, the audit log, and
//! customers migrated per minute.

use chrono::Utc;
use serde::Serialize;

use crate::clock;
use crate::engine::pipeline::Step;

/// A batch being worked on, with how many of its customers finished each step.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningBatch {
    /// Its id.
    pub id: String,
    /// The segment (wave).
    pub segment: String,
    /// Who owns it.
    pub owner: Option<String>,
    /// Customers in it.
    pub size: i64,
    /// (last completed step or "-", customers) in pipeline order.
    pub steps: Vec<(String, i64)>,
}

/// A customer in flight or recently settled (the Migration pane's list).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RecentRow {
    /// The customer's legacy id (the source's).
    pub legacy_id: String,
    /// Its name.
    pub name: String,
    /// The customer's batch, if planned into one.
    pub batch_id: Option<String>,
    /// Its status.
    pub status: String,
    /// The last step completed.
    pub step: Option<String>,
    /// When its status last changed (a step within its batch leaves it as it is).
    pub updated_at: String,
}

/// A success plan with its milestone progress.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct PlanRow {
    /// Its id.
    pub id: i64,
    /// The customer (legacy id).
    pub customer: String,
    /// The customer's name (empty when the plan names a customer not in the plan).
    pub name: String,
    /// Its title.
    pub title: String,
    /// Its kind.
    pub kind: String,
    /// Its status.
    pub status: String,
    /// Who owns it.
    pub owner: String,
    /// Milestones.
    pub milestones: i64,
    /// Milestones completed.
    pub completed: i64,
    /// Milestones overdue.
    pub overdue: i64,
    /// The next open milestone's due date.
    pub next_due: Option<String>,
}

/// One audit-log row: who did what to which scope, in which role, why, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    /// Its id.
    pub id: i64,
    /// When (UTC, RFC 3339).
    pub at: String,
    /// Who did it (the operator, or `cutover` for the system).
    pub actor: String,
    /// The role.
    pub role: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub scope: String,
    /// Why.
    pub reason: String,
    /// How it ended (`ok`, `failed`, `refused`, …).
    pub outcome: String,
    /// What happened, in words.
    pub detail: Option<String>,
}

/// The newest audit rows first, at most `limit`, narrowed by `filter` (actor, role, action,
/// scope, reason or detail). Walks the primary key backwards and stops at `limit` matches.
///
/// Errors: the state database failing.
pub async fn audit_log(
    state: &crate::db::Pool,
    filter: &str,
    limit: i64,
) -> eyre::Result<Vec<AuditRow>> {
    Ok(sqlx::query_as(
        "SELECT id, at, actor, role, action, scope, reason, outcome, detail FROM audit_log
         WHERE ($1 = '%%' OR lower(actor) LIKE $1 OR lower(role) LIKE $1 OR lower(action) LIKE $1
                OR lower(scope) LIKE $1 OR lower(reason) LIKE $1 OR lower(COALESCE(detail, '')) LIKE $1)
         ORDER BY id DESC LIMIT $2",
    )
    .bind(like(filter))
    .bind(limit)
    .fetch_all(state)
    .await?)
}

/// What the console asks the poller for beyond the fixed panes.
pub(super) fn like(filter: &str) -> String {
    format!("%{}%", filter.trim().to_lowercase())
}

/// The Migration pane's list: customers in flight first, then the most recently changed.
/// Each settled status is its own range of the `(status, updated_at)` index, so no scan walks
/// past the pending customers; the filter (`$1`) applies inside each range, so it searches
/// every settled customer, not only the newest page. `$2` is the page size.
static RECENT_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    const FILTER: &str = "($1 = '%%' OR lower(name) LIKE $1 OR lower(legacy_id) LIKE $1 \
                          OR lower(COALESCE(batch_id, '')) LIKE $1 OR lower(status) LIKE $1)";
    const COLUMNS: &str = "legacy_id, name, batch_id, status, step, updated_at";
    let settled: Vec<String> = ["migrated", "failed", "rolled_back", "quarantined"]
        .iter()
        .map(|st| {
            format!(
                "SELECT * FROM (SELECT {COLUMNS}, 1 AS k FROM customers WHERE status = '{st}' AND {FILTER} \
                 ORDER BY updated_at DESC LIMIT $2) AS s_{st}"
            )
        })
        .collect();
    format!(
        "SELECT * FROM (SELECT {COLUMNS}, 0 AS k FROM customers WHERE status IN ('running', 'rolling_back') \
         UNION ALL {}) AS r WHERE {FILTER} ORDER BY k, updated_at DESC LIMIT $2",
        settled.join(" UNION ALL ")
    )
});

/// Customers migrated per minute over the last 30 minutes, oldest first (trigger-kept,
/// migration 0011). Errors: the state database failing.
pub async fn throughput(
    state: &crate::db::Pool,
    now: chrono::DateTime<Utc>,
) -> eyre::Result<Vec<u64>> {
    let since = clock::fmt(now - chrono::Duration::minutes(30));
    let mut throughput = vec![0u64; 30];
    #[derive(sqlx::FromRow)]
    struct Minute {
        minute: String,
        customers: i64,
    }
    let rows: Vec<Minute> = sqlx::query_as(
        "SELECT minute, CAST(SUM(customers) AS BIGINT) AS customers FROM migrated_minutes
         WHERE minute >= $1 GROUP BY minute",
    )
    .bind(since[..16].to_string())
    .fetch_all(state)
    .await?;
    for r in rows {
        if let Some(t) = clock::parse(&format!("{}:00Z", r.minute)) {
            let ago = (now - t).num_minutes();
            if (0..30).contains(&ago) {
                throughput[29 - ago as usize] += r.customers as u64;
            }
        }
    }
    Ok(throughput)
}

/// Up to 4 running batches, in claim order, with their customers per step.
/// Errors: the state database failing.
pub async fn running_batches(state: &crate::db::Pool) -> eyre::Result<Vec<RunningBatch>> {
    #[derive(sqlx::FromRow)]
    struct Leased {
        id: String,
        segment: String,
        lease_owner: Option<String>,
        size: i64,
    }
    #[derive(sqlx::FromRow)]
    struct AtStep {
        step: String,
        customers: i64,
    }
    let leased: Vec<Leased> = sqlx::query_as(
        "SELECT id, segment, lease_owner, size FROM batches WHERE status = 'running'
         ORDER BY priority, seq LIMIT 4",
    )
    .fetch_all(state)
    .await?;
    let mut running = Vec::with_capacity(leased.len());
    for b in leased {
        let mut steps: Vec<(String, i64)> = sqlx::query_as::<_, AtStep>(
            "SELECT COALESCE(step, 'claimed') AS step, COUNT(*) AS customers FROM customers
             WHERE batch_id = $1 AND status = 'running' GROUP BY 1",
        )
        .bind(b.id.clone())
        .fetch_all(state)
        .await?
        .into_iter()
        .map(|r| (r.step, r.customers))
        .collect();
        steps.sort_by_key(|(s, _)| Step::done_after(Some(s.as_str())));
        running.push(RunningBatch {
            id: b.id,
            segment: b.segment,
            owner: b.lease_owner,
            size: b.size,
            steps,
        });
    }
    Ok(running)
}

/// The Migration pane's list ([`RECENT_SQL`]): up to `limit` customers matching `filter`.
/// Errors: the state database failing.
pub async fn recent(
    state: &crate::db::Pool,
    filter: &str,
    limit: i64,
) -> eyre::Result<Vec<RecentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(RECENT_SQL.as_str()))
        .bind(like(filter))
        .bind(limit)
        .fetch_all(state)
        .await?)
}

/// Which plans to list: `owner:NAME`, `type:KIND` (or `kind:`), `status:STATUS` words, the
/// rest matched against title, subject and owner; words combine with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanQuery {
    /// Matched against title, subject and owner (lowercase).
    pub text: String,
    /// Only this owner's.
    pub owner: Option<String>,
    /// Only this kind (onboarding, recovery, expansion, …).
    pub kind: Option<String>,
    /// Only this status (draft, active, on_hold, completed, cancelled).
    pub status: Option<String>,
}

impl PlanQuery {
    /// Reads a filter line (`owner:li.wei type:recovery late` …).
    pub fn parse(filter: &str) -> Self {
        let mut q = PlanQuery::default();
        let mut text = Vec::new();
        for w in filter.split_whitespace() {
            let w = w.to_lowercase();
            match w.split_once(':') {
                Some(("owner", v)) => q.owner = Some(v.to_string()),
                Some(("type" | "kind", v)) => q.kind = Some(v.to_string()),
                Some(("status", v)) => q.status = Some(v.replace(' ', "_")),
                _ => text.push(w),
            }
        }
        q.text = text.join(" ");
        q
    }
}

/// The filter of [`PlanQuery`] on `sp` (a `success_plans` row), placeholders from `$2`:
/// text, owner, kind, status.
const PLAN_FILTER: &str = "($2 = '%%' OR lower(sp.title) LIKE $2 OR lower(sp.customer_legacy_id) LIKE $2 OR lower(sp.owner) LIKE $2)
     AND ($3 = '' OR lower(sp.owner) = $3) AND ($4 = '' OR sp.kind = $4) AND ($5 = '' OR sp.status = $5)";

/// Success plans with milestone progress, the longest overdue first (by their oldest open
/// milestone past due), then by id, at most `limit`, narrowed by `filter` as
/// [`PlanQuery::parse`] reads it; milestones due before `as_of` and not done count as overdue.
///
/// The page is found from the index of open milestones by due date, read in its order until
/// `limit` plans are found, then topped up by id: an aggregate over every overdue milestone
/// took 48 ms of each poll at 10^5 customers (`cutover bench poll`).
///
/// Errors: the state database failing.
pub async fn plans(
    state: &crate::db::Pool,
    filter: &str,
    as_of: &str,
    limit: i64,
) -> eyre::Result<Vec<PlanRow>> {
    let q = PlanQuery::parse(filter);
    let text = like(&q.text);
    let (owner, kind, status) = (
        q.owner.unwrap_or_default(),
        q.kind.unwrap_or_default(),
        q.status.unwrap_or_default(),
    );
    // Plans with a milestone past due, in the order of their oldest one: overdue milestones in
    // index order, a window at a time, until `limit` plans are found or there are no more.
    let mut page: Vec<i64> = Vec::new();
    let window = limit.clamp(1, 10_000) * 4;
    let mut offset = 0;
    loop {
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT m.plan_id FROM milestones m JOIN success_plans sp ON sp.id = m.plan_id
             WHERE m.status IN ('pending', 'in_progress', 'overdue') AND m.due_on < $1 AND {PLAN_FILTER}
             ORDER BY m.due_on, m.plan_id LIMIT $6 OFFSET $7"
        )))
        .bind(as_of.to_string())
        .bind(text.clone())
        .bind(owner.clone())
        .bind(kind.clone())
        .bind(status.clone())
        .bind(window)
        .bind(offset)
        .fetch_all(state)
        .await?;
        let n = ids.len() as i64;
        for id in ids {
            if !page.contains(&id) && (page.len() as i64) < limit {
                page.push(id);
            }
        }
        if n < window || page.len() as i64 >= limit {
            break;
        }
        offset += window;
    }
    // Topped up with the plans that have nothing overdue, by id.
    if (page.len() as i64) < limit {
        let rest: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT sp.id FROM success_plans sp
             WHERE {PLAN_FILTER}
               AND NOT EXISTS (SELECT 1 FROM milestones m WHERE m.plan_id = sp.id
                               AND m.status IN ('pending', 'in_progress', 'overdue') AND m.due_on < $1)
             ORDER BY sp.id LIMIT $6"
        )))
        .bind(as_of.to_string())
        .bind(text.clone())
        .bind(owner.clone())
        .bind(kind.clone())
        .bind(status.clone())
        .bind(limit - page.len() as i64)
        .fetch_all(state)
        .await?;
        page.extend(rest);
    }
    if page.is_empty() {
        return Ok(Vec::new());
    }
    // One pass over the page's milestones (was four correlated subqueries per plan: 4.2–6.7 ms
    // at p95 on PostgreSQL at 10^6).
    let mut qb = crate::db::Builder::on(
        crate::db::Backend::of_pool(state),
        "SELECT p.id, p.customer_legacy_id AS customer, COALESCE(c.name, '') AS name, p.title, p.kind, p.status, p.owner,
           COUNT(m.plan_id) AS milestones,
           COALESCE(SUM(CASE WHEN m.status = 'completed' THEN 1 ELSE 0 END), 0) AS completed,
           COALESCE(SUM(CASE WHEN m.status NOT IN ('completed', 'cancelled')
              AND (m.status = 'overdue' OR m.due_on < ",
    );
    qb.push_bind(as_of.to_string()).push(
        ") THEN 1 ELSE 0 END), 0) AS overdue,
           MIN(CASE WHEN m.status NOT IN ('completed', 'cancelled') THEN m.due_on END) AS next_due
         FROM success_plans p
         LEFT JOIN milestones m ON m.plan_id = p.id
         LEFT JOIN customers c ON c.legacy_id = p.customer_legacy_id
         WHERE p.id IN ",
    );
    qb.push_list(page.iter().copied())
        .push(" GROUP BY p.id, p.customer_legacy_id, c.name, p.title, p.kind, p.status, p.owner");
    let mut rows: Vec<PlanRow> = qb
        .build_query_as()
        .persistent(false)
        .fetch_all(state)
        .await?;
    rows.sort_by_key(|r| page.iter().position(|id| *id == r.id));
    Ok(rows)
}

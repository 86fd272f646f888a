//! Health scores (brief section 2, "Health score"): a weighted sum of configured components,
//! each a query returning `legacy_id` and `value` (0–100) on the state, source or target
//! database. A run stores every customer's score, level, component values and trend against
//! the previous score, as history and as the customer's latest score.
//!
//! Memory is one chunk of customers whatever their number: component values wait in a
//! temporary table of the state database, and scores are computed and written in chunks.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tracing::Instrument;

use crate::config::{Db, Health};
use crate::ctx::Ctx;
use crate::db::{Backend, JsonCol, write_tx_on};
use crate::schema::Raw;
use crate::source::Source;
use crate::{clock, source};

/// Customers scored and written per chunk.
const CHUNK: usize = 2000;

/// Component values gathered per insert into the run's temporary table (three binds each).
const VALUES_PER_INSERT: usize = 1000;

/// What a scoring run did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RunSummary {
    /// The scoring run.
    pub run_id: i64,
    /// What started it.
    pub trigger: String,
    /// Customers.
    pub customers: usize,
    /// Seconds.
    pub seconds: f64,
    /// Customers per level, best level first.
    pub levels: Vec<(String, i64)>,
    /// Customers per trend (new, improving, stable, declining).
    pub trends: Vec<(String, i64)>,
    /// Component values outside 0–100 that were clamped.
    pub clamped: i64,
}

/// Customers per health level as the latest full scoring run left them, and the run before's.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Distribution {
    /// When the latest full run finished.
    pub at: String,
    /// Customers per level, best level first.
    pub levels: Vec<(String, i64)>,
    /// The same from the full run before, if there was one (the trend).
    pub previous: Option<Vec<(String, i64)>>,
}

impl Distribution {
    /// The change of `level` since the run before; `None` without one.
    pub fn change(&self, level: &str) -> Option<i64> {
        let now = self.levels.iter().find(|l| l.0 == level).map_or(0, |l| l.1);
        let prev = self.previous.as_ref()?;
        Some(now - prev.iter().find(|l| l.0 == level).map_or(0, |l| l.1))
    }
}

/// The distribution over health levels from the two latest full scoring runs (two rows of
/// `health_runs`); `None` before the first.
///
/// Errors: the state database failing.
pub async fn distribution(state: &crate::db::Pool) -> eyre::Result<Option<Distribution>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT COALESCE(finished_at, started_at), levels FROM health_runs
         WHERE levels IS NOT NULL ORDER BY id DESC LIMIT 2",
    )
    .fetch_all(state)
    .await?;
    let read = |t: &str| serde_json::from_str::<Vec<(String, i64)>>(t).unwrap_or_default();
    Ok(rows.first().map(|(at, levels)| Distribution {
        at: at.clone(),
        levels: read(levels),
        previous: rows.get(1).map(|(_, l)| read(l)),
    }))
}

/// Whether the workspace scores health at all (it configures components).
pub fn enabled(h: &Health) -> bool {
    !h.component.is_empty()
}

/// Where a component's query runs; the platform through the workspace's native reader
/// ([`Ctx::target_reader`]), opened once with the workspace.
pub(crate) fn pool(ctx: &Ctx, db: Db) -> eyre::Result<Source> {
    Ok(match db {
        Db::State => Source::any(ctx.state.clone()),
        Db::Source => ctx.source.clone(),
        Db::Target => ctx
            .target_reader
            .clone()
            .ok_or_else(|| eyre::eyre!("the platform reader was not opened"))?,
    })
}

pub(crate) fn number(r: &Raw) -> Option<f64> {
    match r {
        Raw::Int(i) => Some(*i as f64),
        Raw::Real(f) if f.is_finite() => Some(*f),
        Raw::Dec(d) => f64::try_from(*d).ok(),
        Raw::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}

/// The temporary table a scoring run gathers component values in, on its own state
/// connection: `(legacy_id, component, value)`, indexed by legacy id once filled.
fn values_table(backend: Backend) -> String {
    backend.temp_table("health_values")
}

/// Scores the customers `only` (by state id), or every customer, and records the run.
///
/// Memory stays bounded by a chunk whatever the number of customers: each component's rows
/// are streamed into a temporary table on the state connection, and the scores are computed
/// `CHUNK` customers at a time from a join of that table with the customers (at 10^6
/// customers, holding every legacy id and value in the process cost 90–184 MB in the
/// console; see BENCHMARKS.md).
///
/// Errors: a component query failing (the message names the component), or a database failing.
pub async fn score(ctx: &Ctx, only: Option<&[i64]>, trigger: &str) -> eyre::Result<RunSummary> {
    let t0 = std::time::Instant::now();
    let h = &ctx.cfg.health;
    if !enabled(h) {
        eyre::bail!("no health components are configured (add [[health.component]] to the config)");
    }
    let backend = Backend::of_pool(&ctx.state);
    let table = values_table(backend);
    let mut conn = ctx.state.acquire().await?;
    // A run that failed half-way leaves its table on the connection it returned to the pool.
    let drop_values = format!("DROP TABLE IF EXISTS {table}");
    sqlx::query(AssertSqlSafe(drop_values.clone()))
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "CREATE TEMPORARY TABLE health_values \
         (legacy_id TEXT NOT NULL, component BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    // The customers `only` names, sorted, with their legacy ids to filter the components by:
    // one statement whatever the batch's size (a primary-key seek per id on SQLite and
    // PostgreSQL alike), where lists of 500 binds made a batch of 5,000 ten statements.
    let picked: Vec<(i64, String)> = match only {
        Some(list) => {
            let mut q =
                crate::db::Builder::on(backend, "SELECT id, legacy_id FROM customers WHERE id ");
            q.push_json_in(backend, JsonCol::Int, list)
                .push(" ORDER BY id");
            q.build_query_as().fetch_all(&mut *conn).await?
        }
        None => Vec::new(),
    };
    let clamped = gather(ctx, &mut conn, backend, only, &picked).await?;
    sqlx::query("CREATE INDEX health_values_key ON health_values (legacy_id)")
        .execute(&mut *conn)
        .await?;
    // Without statistics the join below may scan the values once per chunk.
    crate::db::analyze_temp(&mut conn, &table).await?;
    let started = clock::now();
    let run_id: i64 = sqlx::query_scalar(
        "INSERT INTO health_runs (trigger, started_at) VALUES ($1, $2) RETURNING id",
    )
    .bind(trigger.to_string())
    .bind(started.clone())
    .fetch_one(&mut *conn)
    .await?;
    let mut levels: HashMap<String, i64> = HashMap::new();
    let mut scored = 0usize;
    // A batch's customers are scored in one pass (its statements do not grow with its size);
    // every customer's in keyset chunks, so memory stays bounded.
    let mut picked = picked.chunks(picked.len().max(1));
    let mut after = i64::MIN;
    loop {
        // The next CHUNK customers by id: a keyset walk over every customer, or `only`'s.
        let ids: Vec<i64> = match only {
            Some(_) => match picked.next() {
                Some(chunk) => chunk.iter().map(|(id, _)| *id).collect(),
                None => break,
            },
            None => {
                sqlx::query_scalar("SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after)
                    .bind(CHUNK as i64)
                    .fetch_all(&mut *conn)
                    .await?
            }
        };
        let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
            break;
        };
        after = last;
        let n = h.component.len();
        let mut values = vec![f64::NAN; ids.len() * n];
        let mut q = crate::db::Builder::on(
            backend,
            "SELECT c.id, v.component, v.value FROM customers c \
             JOIN health_values v ON v.legacy_id = c.legacy_id WHERE c.id ",
        );
        match only {
            // Every customer: the chunk is a dense range of ids.
            None => {
                q.push("BETWEEN ")
                    .push_bind(first)
                    .push(" AND ")
                    .push_bind(last);
            }
            // A batch's customers are spread over every id: a range from its first to its last
            // walked most of the customers (0.12 s per batch at 10^6).
            Some(_) => {
                q.push_json_in(backend, JsonCol::Int, &ids);
            }
        }
        let mut rows = q.build_query_as::<(i64, i64, f64)>().fetch(&mut *conn);
        while let Some((id, c, v)) = rows.try_next().await? {
            if let (Ok(i), Ok(c)) = (ids.binary_search(&id), usize::try_from(c))
                && c < n
            {
                values[i * n + c] = v;
            }
        }
        drop(rows);
        let now = clock::now();
        let rows = weigh(h, &ids, &values);
        for r in &rows {
            *levels.entry(r.2.clone()).or_default() += 1;
        }
        scored += rows.len();
        write_scores(&mut conn, backend, h, run_id, &now, &rows).await?;
    }
    sqlx::query(AssertSqlSafe(drop_values))
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE health_runs SET finished_at = $1, customers = $2 WHERE id = $3")
        .bind(clock::now())
        .bind(scored as i64)
        .bind(run_id)
        .execute(&mut *conn)
        .await?;
    let mut level_list: Vec<(String, i64)> = h
        .levels
        .iter()
        .map(|l| (l.name.clone(), levels.get(&l.name).copied().unwrap_or(0)))
        .collect();
    level_list.dedup_by(|a, b| a.0 == b.0);
    // A run over everyone is the distribution the Alerts pane shows.
    if only.is_none() {
        sqlx::query("UPDATE health_runs SET levels = $1 WHERE id = $2")
            .bind(serde_json::to_string(&level_list)?)
            .bind(run_id)
            .execute(&ctx.state)
            .await?;
    }
    let trends: HashMap<String, i64> = sqlx::query_as(
        "SELECT trend, COUNT(*) FROM health_latest WHERE run_id = $1 GROUP BY trend",
    )
    .bind(run_id)
    .fetch_all(&ctx.state)
    .await?
    .into_iter()
    .collect();
    let trend_list = ["new", "improving", "stable", "declining"]
        .iter()
        .map(|t| (t.to_string(), trends.get(*t).copied().unwrap_or(0)))
        .collect();
    Ok(RunSummary {
        run_id,
        trigger: trigger.to_string(),
        customers: scored,
        seconds: t0.elapsed().as_secs_f64(),
        levels: level_list,
        trends: trend_list,
        clamped,
    })
}

/// Streams every component's values (clamped to 0–100) for the customers `picked` (every
/// customer when `only` is `None`) into the `health_values` temporary table on `conn`, in
/// multi-row inserts. Returns how many values were outside 0–100.
///
/// Errors: a component query failing (the message names the component), or the state failing.
async fn gather(
    ctx: &Ctx,
    conn: &mut crate::db::Conn,
    backend: Backend,
    only: Option<&[i64]>,
    picked: &[(i64, String)],
) -> eyre::Result<i64> {
    let h = &ctx.cfg.health;
    let mut clamped = 0i64;
    for (c, comp) in h.component.iter().enumerate() {
        let db = pool(ctx, comp.database)?;
        let span = match comp.database {
            Db::Source => crate::db::Scope::Source.span(),
            _ => tracing::Span::none(),
        };
        let as_int = only.is_some()
            && db
                .key_is_int(&comp.query, "legacy_id")
                .instrument(span.clone())
                .await;
        // After a batch only its customers are scored, through the same query filtered by id,
        // in lists of literal placeholders: SQLite pushes those into a grouped component query
        // and seeks its index, where an `IN` over a JSON parameter made it scan every row
        // (0.007 → 0.044 s per statement on the 10^5 demo's engagement; `cutover bench
        // pipeline` at 25 customers a batch went from 8,516 to 2,346 rows/s).
        let filters: Vec<(String, Vec<source::conn::Bind>)> = match only {
            None => vec![(String::new(), Vec::new())],
            Some(_) => picked
                .chunks(source::CHUNK)
                .filter_map(|chunk| {
                    let legacy: Vec<String> = chunk.iter().map(|(_, l)| l.clone()).collect();
                    let (list, binds) = db.id_list(&legacy, as_int)?;
                    Some((format!(" WHERE h.legacy_id IN ({list})"), binds))
                })
                .collect(),
        };
        // A batch's values of one component go in one insert, across the filter's chunks;
        // every customer's in bounded ones.
        let flush_at = if only.is_some() {
            usize::MAX
        } else {
            VALUES_PER_INSERT
        };
        let mut vals: Vec<(String, f64)> = Vec::with_capacity(VALUES_PER_INSERT);
        let chunks = filters.len();
        for (i, (filter, binds)) in filters.into_iter().enumerate() {
            let last = i + 1 == chunks;
            let sql = format!(
                "SELECT h.legacy_id, h.value FROM ({}) AS h{filter}",
                comp.query
            );
            let failed = |e| eyre::eyre!("health component `{}`: query failed: {e}", comp.name);
            let mut rows = db.rows(&sql, &binds);
            loop {
                let next = rows
                    .try_next()
                    .instrument(span.clone())
                    .await
                    .map_err(failed)?;
                if let Some(r) = &next {
                    let (Some(k), Some(v)) = (
                        r.first().and_then(source::raw_key),
                        r.get(1).and_then(number),
                    ) else {
                        continue;
                    };
                    if !(0.0..=100.0).contains(&v) {
                        clamped += 1;
                    }
                    vals.push((k, v.clamp(0.0, 100.0)));
                }
                if vals.len() >= flush_at || (next.is_none() && last && !vals.is_empty()) {
                    let rows: Vec<serde_json::Value> = vals
                        .iter()
                        .map(|(k, v)| serde_json::json!([k, v]))
                        .collect();
                    let mut qb = crate::db::Builder::on(
                        backend,
                        "INSERT INTO health_values (legacy_id, component, value) SELECT r.k, ",
                    );
                    qb.push_bind(c as i64).push(", r.v FROM ").push_json_rows(
                        backend,
                        &[("k", JsonCol::Text), ("v", JsonCol::Real)],
                        &rows,
                        "r",
                    );
                    qb.build().execute(&mut *conn).await?;
                    vals.clear();
                }
                if next.is_none() {
                    break;
                }
            }
            // sqlx reports the statement when its stream is dropped: in its database's span.
            span.in_scope(|| drop(rows));
        }
    }
    Ok(clamped)
}

/// Each customer's weighted score, level and components (JSON), from `values` (one row of
/// `h.component.len()` values per customer of `ids`, NaN where a component has none: its
/// default counts then).
fn weigh(
    h: &crate::config::Health,
    ids: &[i64],
    values: &[f64],
) -> Vec<(i64, f64, String, String)> {
    let n = h.component.len();
    let mut rows = Vec::with_capacity(ids.len());
    for (j, id) in ids.iter().enumerate() {
        let mut total = 0.0;
        let mut comps = serde_json::Map::new();
        for (c, comp) in h.component.iter().enumerate() {
            let v = values[j * n + c];
            let v = if v.is_nan() { comp.default } else { v };
            total += v * comp.weight / 100.0;
            comps.insert(
                comp.name.clone(),
                serde_json::json!([round2(v), comp.weight]),
            );
        }
        let total = round2(total);
        let level = h.level(total).to_string();
        rows.push((
            *id,
            total,
            level,
            serde_json::Value::Object(comps).to_string(),
        ));
    }
    rows
}

/// Writes a chunk's scores to the history and the latest score of each customer, judging the
/// trend against the score it replaces in the same statement, in one transaction on `conn`.
async fn write_scores(
    conn: &mut crate::db::Conn,
    backend: Backend,
    h: &crate::config::Health,
    run_id: i64,
    now: &str,
    rows: &[(i64, f64, String, String)],
) -> eyre::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut tx = write_tx_on(conn).await?;
    // One JSON parameter per statement, whatever the number of customers.
    let json: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::json!([r.0, r.1, r.2, r.3]))
        .collect();
    let cols = [
        ("id", JsonCol::Int),
        ("score", JsonCol::Real),
        ("level", JsonCol::Text),
        ("components", JsonCol::Text),
    ];
    let mut qb = crate::db::Builder::on(
        backend,
        "INSERT INTO health_scores (customer_id, run_id, score, level, components) SELECT r.id, ",
    );
    qb.push_bind(run_id)
        .push(", r.score, r.level, r.components FROM ")
        .push_json_rows(backend, &cols, &json, "r");
    qb.build().execute(&mut *tx).await?;
    // The trend is judged against the row this replaces, in the same statement: no read of
    // the previous scores. A first score is `new`.
    let mut qb = crate::db::Builder::on(
        backend,
        "INSERT INTO health_latest (customer_id, run_id, scored_at, score, level, trend, components) \
         SELECT r.id, ",
    );
    qb.push_bind(run_id)
        .push(", ")
        .push_bind(now.to_string())
        .push(", r.score, r.level, 'new', r.components FROM ")
        .push_json_rows(backend, &cols, &json, "r");
    // `WHERE true`: SQLite would read `ON CONFLICT` as the join's `ON` otherwise.
    qb.push(" WHERE true ON CONFLICT (customer_id) DO UPDATE SET trend = CASE WHEN excluded.score - health_latest.score > ");
    qb.push_bind(h.trend_threshold);
    qb.push(" THEN 'improving' WHEN health_latest.score - excluded.score > ");
    qb.push_bind(h.trend_threshold);
    qb.push(
        " THEN 'declining' ELSE 'stable' END, previous = health_latest.score, \
         previous_components = health_latest.components, run_id = excluded.run_id, \
         scored_at = excluded.scored_at, score = excluded.score, level = excluded.level, \
         components = excluded.components",
    );
    qb.build().execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One component's part in a score, now and at the previous score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    /// Its name.
    pub name: String,
    /// The value.
    pub value: f64,
    /// Percent of the score.
    pub weight: f64,
    /// `value × weight / 100`: the points this component adds to the score.
    pub contribution: f64,
    /// Its value in the score before.
    pub previous_value: Option<f64>,
    /// Its points in the score before.
    pub previous_contribution: Option<f64>,
}

impl Part {
    /// Points the contribution moved since the previous score.
    pub fn moved(&self) -> f64 {
        self.contribution - self.previous_contribution.unwrap_or(self.contribution)
    }
}

/// Why a customer has the score it has.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The score (0–100).
    pub score: f64,
    /// Its level.
    pub level: String,
    /// Improving, stable or declining against the score before.
    pub trend: String,
    /// The score before.
    pub previous: Option<f64>,
    /// When it was scored.
    pub scored_at: String,
    /// Each component's part of the score.
    pub parts: Vec<Part>,
    /// The component whose contribution moved most since the previous score.
    pub moved_most: Option<String>,
}

fn parse_components(s: &str) -> Vec<(String, f64, f64)> {
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(serde_json::Value::Object(m)) => m
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.get(0)?.as_f64()?, v.get(1)?.as_f64()?)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Explains a customer's latest score; `None` before its first scoring.
pub async fn explain(
    state: &crate::db::Pool,
    legacy_id: &str,
) -> eyre::Result<Option<Explanation>> {
    #[derive(sqlx::FromRow)]
    struct Latest {
        score: f64,
        level: String,
        trend: String,
        previous: Option<f64>,
        scored_at: String,
        components: String,
        previous_components: Option<String>,
    }
    let Some(r) = sqlx::query_as::<_, Latest>(
        "SELECT h.score, h.level, h.trend, h.previous, h.scored_at, h.components, h.previous_components
         FROM health_latest h JOIN customers c ON c.id = h.customer_id WHERE c.legacy_id = $1",
    )
    .bind(legacy_id.to_string())
    .fetch_optional(state)
    .await?
    else {
        return Ok(None);
    };
    let now = parse_components(&r.components);
    let before: HashMap<String, (f64, f64)> = r
        .previous_components
        .as_deref()
        .map(|s| {
            parse_components(s)
                .into_iter()
                .map(|(n, v, w)| (n, (v, w)))
                .collect()
        })
        .unwrap_or_default();
    let parts: Vec<Part> = now
        .into_iter()
        .map(|(name, value, weight)| {
            let prev = before.get(&name).copied();
            Part {
                contribution: round2(value * weight / 100.0),
                previous_value: prev.map(|p| p.0),
                previous_contribution: prev.map(|(v, w)| round2(v * w / 100.0)),
                name,
                value,
                weight,
            }
        })
        .collect();
    let moved_most = parts
        .iter()
        .filter(|p| p.moved().abs() > 0.0)
        .max_by(|a, b| a.moved().abs().total_cmp(&b.moved().abs()))
        .map(|p| p.name.clone());
    Ok(Some(Explanation {
        score: r.score,
        level: r.level,
        trend: r.trend,
        previous: r.previous,
        scored_at: r.scored_at,
        parts,
        moved_most,
    }))
}

/// Scores everyone every `health.interval_minutes`, skipping a turn when another process (a
/// second console, `cutover health`) ran one within the interval. Runs until aborted; failures
/// are logged and retried at the next turn.
pub async fn schedule(ctx: Ctx) {
    let minutes = ctx.cfg.health.interval_minutes;
    if !enabled(&ctx.cfg.health) || minutes == 0 {
        return;
    }
    let every = std::time::Duration::from_secs(minutes * 60);
    loop {
        let since = clock::fmt(chrono::Utc::now() - chrono::Duration::minutes(minutes as i64));
        let recent: Result<i64, _> =
            sqlx::query_scalar("SELECT COUNT(*) FROM health_runs WHERE started_at >= $1")
                .bind(since)
                .fetch_one(&ctx.state)
                .await;
        if matches!(recent, Ok(0)) {
            match score(&ctx, None, "scheduled").await {
                Ok(_) => crate::alerts::refresh(&ctx, None).await,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "scheduled health scoring failed")
                }
            }
        }
        tokio::time::sleep(every).await;
    }
}

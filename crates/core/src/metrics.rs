//! The Prometheus text format (version 0.0.4) of a workspace, for the monitoring a team
//! already runs: customers by segment, tier and status, customers migrated per minute, batch
//! and step durations as histograms, steps redone, dead letters, open alerts by severity and
//! level, the runner's state. Gauges come from the state database through the same queries as
//! the console (the trigger-kept counters); step histograms are accumulated by the
//! [`Collector`] from the steps recorded since its last scrape, so a scrape reads only what is
//! new.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::clock;
use crate::db::Pool;
use crate::engine::status;

/// Upper bounds of the step-duration buckets, in seconds.
const STEP_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Upper bounds of the batch-duration buckets, in seconds.
const BATCH_BUCKETS: [f64; 10] = [0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];
/// Steps read per query while catching up.
const PAGE: i64 = 20_000;

/// A cumulative histogram.
#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Observations at or below each bound (not yet cumulative).
    buckets: Vec<u64>,
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.buckets.len() != bounds.len() {
            self.buckets = vec![0; bounds.len()];
        }
        if let Some(i) = bounds.iter().position(|b| v <= *b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += v;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut acc = 0;
        for (i, b) in bounds.iter().enumerate() {
            acc += self.buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {acc}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let set = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{set} {}", self.sum);
        let _ = writeln!(out, "{name}_count{set} {}", self.count);
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// What one process has accumulated between scrapes: the step histograms and counters, and
/// the id of the last step it read.
#[derive(Debug, Default)]
pub struct Collector {
    last_step: i64,
    steps: BTreeMap<String, Histogram>,
    outcomes: BTreeMap<(String, String), u64>,
    redone: u64,
    scrapes: u64,
}

fn seconds(from: &str, to: &str) -> Option<f64> {
    let (a, b) = (clock::parse(from)?, clock::parse(to)?);
    Some(((b - a).num_milliseconds().max(0)) as f64 / 1000.0)
}

impl Collector {
    /// Reads the steps recorded since the last call into the histograms and counters.
    async fn catch_up(&mut self, state: &Pool) -> eyre::Result<()> {
        loop {
            let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
                "SELECT id, step, started_at, finished_at, outcome FROM steps WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(self.last_step)
            .bind(PAGE)
            .fetch_all(state)
            .await?;
            let Some(last) = rows.last().map(|r| r.0) else {
                return Ok(());
            };
            // Steps done a second time for the same customer: a retry (of a failed batch, or
            // one a worker lost), read from the customer's own steps by index.
            let redone: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM steps s WHERE s.id > $1 AND s.id <= $2 AND s.outcome = 'ok'
                   AND s.step <> 'rollback'
                   AND EXISTS (SELECT 1 FROM steps p WHERE p.customer_id = s.customer_id
                               AND p.step = s.step AND p.outcome = 'ok' AND p.id < s.id)",
            )
            .bind(self.last_step)
            .bind(last)
            .fetch_one(state)
            .await?;
            self.redone += redone.max(0) as u64;
            for (_, step, started, finished, outcome) in &rows {
                if let Some(s) = seconds(started, finished) {
                    self.steps
                        .entry(step.clone())
                        .or_default()
                        .observe(&STEP_BUCKETS, s);
                }
                *self
                    .outcomes
                    .entry((step.clone(), outcome.clone()))
                    .or_default() += 1;
            }
            self.last_step = last;
            if (rows.len() as i64) < PAGE {
                return Ok(());
            }
        }
    }

    /// The exposition of the workspace whose state is `state`, now.
    ///
    /// Errors: the state database failing.
    pub async fn render(&mut self, state: &Pool) -> eyre::Result<String> {
        self.scrapes += 1;
        self.catch_up(state).await?;
        let s = status::status(state).await?;
        let mut out = String::new();
        let gauge = |out: &mut String, name: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        };

        gauge(
            &mut out,
            "cutover_customers",
            "Customers by segment (wave), tier and status.",
        );
        let counts: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT segment, tier, status, customers FROM customer_counts WHERE customers <> 0
             ORDER BY segment, tier, status",
        )
        .fetch_all(state)
        .await?;
        for (segment, tier, st, n) in &counts {
            let _ = writeln!(
                out,
                "cutover_customers{{segment=\"{}\",tier=\"{}\",status=\"{}\"}} {n}",
                esc(segment),
                esc(tier),
                esc(st)
            );
        }
        gauge(
            &mut out,
            "cutover_migrated_per_minute",
            "Customers migrated per minute over the last ten minutes, by segment.",
        );
        for g in &s.segments {
            let _ = writeln!(
                out,
                "cutover_migrated_per_minute{{segment=\"{}\"}} {}",
                esc(&g.name),
                g.rate_per_min
            );
        }
        gauge(&mut out, "cutover_batches", "Batches by status.");
        for (st, n) in [
            ("pending", s.batches.pending),
            ("running", s.batches.running),
            ("done", s.batches.done),
            ("rolled_back", s.batches.rolled_back),
        ] {
            let _ = writeln!(out, "cutover_batches{{status=\"{st}\"}} {n}");
        }
        gauge(
            &mut out,
            "cutover_runner_state",
            "1 for the runner's current state (idle, running, paused, halted).",
        );
        for st in ["idle", "running", "paused", "halted"] {
            let on = i32::from(s.runner.state.as_str() == st);
            let _ = writeln!(out, "cutover_runner_state{{state=\"{st}\"}} {on}");
        }
        gauge(
            &mut out,
            "cutover_notifications",
            "Outbox messages waiting (pending) and dead-lettered (dead).",
        );
        let _ = writeln!(
            out,
            "cutover_notifications{{status=\"pending\"}} {}\ncutover_notifications{{status=\"dead\"}} {}",
            s.notifications.pending, s.notifications.dead
        );
        gauge(
            &mut out,
            "cutover_alerts_open",
            "Open alerts by severity and escalation level.",
        );
        let alerts: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT severity, level, COUNT(*) FROM alerts WHERE status <> 'resolved'
             GROUP BY severity, level ORDER BY severity, level",
        )
        .fetch_all(state)
        .await?;
        for (sev, level, n) in &alerts {
            let _ = writeln!(
                out,
                "cutover_alerts_open{{severity=\"{}\",level=\"L{level}\"}} {n}",
                esc(sev)
            );
        }

        let _ = writeln!(
            out,
            "# HELP cutover_batch_duration_seconds Time from claim to done of the batches done.\n# TYPE cutover_batch_duration_seconds histogram"
        );
        let batches: Vec<(String, String)> = sqlx::query_as(
            "SELECT started_at, finished_at FROM batches
             WHERE status = 'done' AND started_at IS NOT NULL AND finished_at IS NOT NULL",
        )
        .fetch_all(state)
        .await?;
        let mut h = Histogram::default();
        for (a, b) in &batches {
            if let Some(x) = seconds(a, b) {
                h.observe(&BATCH_BUCKETS, x);
            }
        }
        h.write(
            &mut out,
            "cutover_batch_duration_seconds",
            "",
            &BATCH_BUCKETS,
        );
        let _ = writeln!(
            out,
            "# HELP cutover_step_duration_seconds Pipeline step durations per customer.\n# TYPE cutover_step_duration_seconds histogram"
        );
        for (step, h) in &self.steps {
            h.write(
                &mut out,
                "cutover_step_duration_seconds",
                &format!("step=\"{}\"", esc(step)),
                &STEP_BUCKETS,
            );
        }
        let _ = writeln!(
            out,
            "# HELP cutover_steps_total Steps recorded, by step and outcome.\n# TYPE cutover_steps_total counter"
        );
        for ((step, outcome), n) in &self.outcomes {
            let _ = writeln!(
                out,
                "cutover_steps_total{{step=\"{}\",outcome=\"{}\"}} {n}",
                esc(step),
                esc(outcome)
            );
        }
        let _ = writeln!(
            out,
            "# HELP cutover_steps_redone_total Steps done again for a customer that had done them (retries).\n# TYPE cutover_steps_redone_total counter\ncutover_steps_redone_total {}",
            self.redone
        );
        let _ = writeln!(
            out,
            "# HELP cutover_scrapes_total Scrapes this process answered.\n# TYPE cutover_scrapes_total counter\ncutover_scrapes_total {}",
            self.scrapes
        );
        Ok(out)
    }
}

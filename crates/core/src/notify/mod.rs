//! Outgoing notifications. A message is written to the `notifications` outbox in the same
//! transaction as the change that caused it, then delivered by [`deliver_due`]: Slack incoming
//! webhooks (`text` and `blocks`), PagerDuty Events API v2, or a JSON webhook signed with
//! HMAC-SHA256. 429, 5xx and network errors are retried with exponential backoff and jitter
//! (honouring `Retry-After`); any other 4xx, or running out of attempts, dead-letters the
//! message. Secrets come from the config's resolved targets, never from the database, and never
//! reach a log: errors name the target, not its URL.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::clock;
use crate::config::{ResolvedTarget, TargetKind};
use crate::ctx::Ctx;

/// Writes a message for `target` in `tx`; a repeated `dedup_key` is ignored, so a retried
/// change never sends twice.
pub async fn enqueue(
    tx: &mut crate::db::Tx,
    dedup_key: &str,
    customer_id: Option<i64>,
    kind: &str,
    target: Option<&str>,
    event: &Value,
) -> eyre::Result<()> {
    enqueue_many(
        tx,
        kind,
        target,
        &[(dedup_key.to_string(), customer_id, event.to_string())],
    )
    .await
}

/// [`enqueue`] for many messages of one `kind` and `target`, `(dedup_key, customer_id,
/// event)` each with the event as JSON text, in one statement whatever their number (a
/// batch's "moved" messages: one statement per customer was 3,000 statements for three
/// batches of 1,000). Callers serialise each event as they build it: a batch of 5,000
/// customers' events held as `Value` trees was 8 MB of its peak heap.
pub async fn enqueue_many(
    tx: &mut crate::db::Tx,
    kind: &str,
    target: Option<&str>,
    messages: &[(String, Option<i64>, String)],
) -> eyre::Result<()> {
    let now = clock::now();
    let status = if target.is_some() {
        "pending"
    } else {
        "recorded"
    };
    if messages.is_empty() {
        return Ok(());
    }
    let backend = crate::db::Backend::of_conn(tx);
    let rows: Vec<(&str, Option<i64>, &str)> = messages
        .iter()
        .map(|(key, customer, event)| (key.as_str(), *customer, event.as_str()))
        .collect();
    let mut b = crate::db::Builder::on(
        backend,
        "INSERT INTO notifications (dedup_key, customer_id, kind, payload, created_at, status, target, next_attempt_at) \
         SELECT r.dedup_key, r.customer_id, ",
    );
    b.push_bind(kind.to_string())
        .push(", r.payload, ")
        .push_bind(now.clone())
        .push(", ")
        .push_bind(status)
        .push(", ")
        .push_bind(target.map(str::to_string))
        .push(", ")
        .push_bind(now)
        .push(" FROM ")
        .push_json_rows(
            backend,
            &[
                ("dedup_key", crate::db::JsonCol::Text),
                ("customer_id", crate::db::JsonCol::Int),
                ("payload", crate::db::JsonCol::Text),
            ],
            &rows,
            "r",
        )
        // `WHERE true`: SQLite would read `ON CONFLICT` as the join's `ON` otherwise.
        .push(" WHERE true ON CONFLICT (dedup_key) DO NOTHING");
    b.build().execute(&mut **tx).await?;
    Ok(())
}

/// One line a person reads: "[CRITICAL] L2 technical support · customer 1412 Ben Jones
/// (High-value) · migration_failed: … (score 75 → 55)".
pub fn summary(event: &Value) -> String {
    let a = &event["alert"];
    let c = &event["customer"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    if a.is_null() {
        return format!(
            "{} · customer {} {}",
            s(&event["event"]),
            s(&c["legacy_id"]),
            s(&c["name"])
        );
    }
    let score = match (a["previous_score"].as_f64(), a["score"].as_f64()) {
        (Some(p), Some(n)) => format!(" (score {p:.0} → {n:.0})"),
        (None, Some(n)) => format!(" (score {n:.0})"),
        _ => String::new(),
    };
    let note = event["note"]
        .as_str()
        .filter(|n| !n.is_empty())
        .map(|n| format!(" · note: {n}"))
        .unwrap_or_default();
    // The owning CSM is who the message is for (brief section 2: each customer has one).
    let owner = a["owner"]
        .as_str()
        .map(|o| format!(" · owner {o}"))
        .unwrap_or_default();
    let tier = c["tier"]
        .as_str()
        .map(|t| format!(", {t}"))
        .unwrap_or_default();
    format!(
        "[{}] {} {} {} · customer {} {} ({}{tier}){owner} · {}: {}{score}{note}",
        s(&a["severity"]).to_uppercase(),
        s(&event["event"]),
        s(&a["level"]),
        s(&a["level_title"]),
        s(&c["legacy_id"]),
        s(&c["name"]),
        s(&c["segment"]),
        s(&a["rule"]),
        s(&a["detail"]),
    )
}

/// The request body for `target`, and the signature header for webhooks.
pub fn render(target: &ResolvedTarget, event: &Value) -> (String, Option<String>) {
    match target.kind {
        TargetKind::Slack => {
            let text = summary(event);
            let body = json!({
                "text": text,
                "blocks": [
                    { "type": "section", "text": { "type": "mrkdwn", "text": text } },
                    { "type": "context", "elements": [ { "type": "mrkdwn", "text": format!("cutover · {}", event["at"].as_str().unwrap_or("")) } ] }
                ]
            });
            (body.to_string(), None)
        }
        TargetKind::Pagerduty => {
            let a = &event["alert"];
            let action = match event["event"].as_str() {
                Some("alert.acknowledged") => "acknowledge",
                Some("alert.resolved") => "resolve",
                _ => "trigger",
            };
            let severity = match a["severity"].as_str() {
                Some("critical") => "critical",
                Some("warning") => "warning",
                _ => "info",
            };
            let mut summary = summary(event);
            summary.truncate(1024);
            let body = json!({
                "routing_key": target.routing_key.clone().unwrap_or_default(),
                "event_action": action,
                // Stable per alert (rule and customer), so PagerDuty groups every event of it.
                "dedup_key": a["dedup_key"],
                "payload": {
                    "summary": summary,
                    "severity": severity,
                    "source": "cutover",
                    "custom_details": {
                        "score": a["score"],
                        "previous_score": a["previous_score"],
                        "rule": a["rule"],
                        "segment": event["customer"]["segment"],
                        "level": a["level"],
                    }
                }
            });
            (body.to_string(), None)
        }
        TargetKind::Webhook => {
            let body = event.to_string();
            let key = target.secret.clone().unwrap_or_default();
            let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
                .expect("HMAC takes keys of any length");
            mac.update(body.as_bytes());
            let sig = mac
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>();
            (body, Some(format!("sha256={sig}")))
        }
    }
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Delivered.
    Delivered,
    /// Retry no earlier than this.
    Retry(DateTime<Utc>, String),
    /// Dead-lettered.
    Dead(String),
}

/// The delay before retry number `attempt` (1-based): `base × 2^(attempt-1)` plus up to as
/// much again of jitter, or the server's `Retry-After` when it gave one.
pub fn backoff(base_ms: u64, attempt: i64, retry_after: Option<u64>) -> chrono::Duration {
    if let Some(s) = retry_after {
        return chrono::Duration::seconds(s as i64);
    }
    let exp = base_ms.saturating_mul(1u64 << (attempt - 1).clamp(0, 20));
    // Jitter only spreads retries apart, so a clock-seeded generator is enough.
    let seed = Utc::now().timestamp_subsec_nanos() as u64 ^ attempt as u64;
    let jitter = rand_chacha::ChaCha8Rng::seed_from_u64(seed).random_range(0..=exp);
    chrono::Duration::milliseconds(exp.saturating_add(jitter).min(3_600_000) as i64)
}

/// A 429 or 503 answer's `Retry-After`, in seconds (the delay form; a date is ignored and the
/// backoff applies).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// One outbox message on its way to a target.
pub struct Message<'a> {
    /// Sent as the `Idempotency-Key` header.
    pub dedup_key: &'a str,
    /// The target's name in `[notify.target.<name>]`; errors name it, never its URL.
    pub target: &'a str,
    /// What happened.
    pub event: &'a Value,
    /// 1 for the first try.
    pub attempt: i64,
}

/// Sends one message and classifies the answer.
pub async fn send(
    http: &reqwest::Client,
    msg: &Message<'_>,
    target: &ResolvedTarget,
    policy: &crate::config::Notify,
    now: DateTime<Utc>,
) -> Outcome {
    let Message {
        dedup_key,
        target: name,
        event,
        attempt,
    } = *msg;
    let (body, signature) = render(target, event);
    let mut req = http
        .post(&target.url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(sig) = signature {
        req = req.header("x-cutover-signature", sig);
    }
    // Receivers that keep idempotency keys can drop a retry of a request they did answer.
    req = req.header("idempotency-key", dedup_key);
    let (retry, why, after) = match req.send().await {
        Ok(r) if r.status().is_success() => return Outcome::Delivered,
        Ok(r) => {
            let code = r.status().as_u16();
            let after = retry_after(r.headers());
            (
                code == 429 || code >= 500,
                format!("target {name} answered HTTP {code}"),
                after,
            )
        }
        // Without the URL: it may hold a secret.
        Err(e) => (
            true,
            format!(
                "target {name}: {}",
                if e.is_timeout() {
                    "timed out"
                } else {
                    "connection failed"
                }
            ),
            None,
        ),
    };
    if !retry {
        return Outcome::Dead(format!("{why} (not retried)"));
    }
    if attempt >= policy.max_attempts {
        return Outcome::Dead(format!("{why}; gave up after {attempt} attempts"));
    }
    Outcome::Retry(now + backoff(policy.backoff_ms, attempt, after), why)
}

/// How long a claimed message may stay `sending` before its sender is taken for dead: the HTTP
/// timeout with room to record the answer.
const SENDING_DEADLINE_SECS: i64 = HTTP_TIMEOUT_SECS as i64 + 20;

/// The answer every message gets when its sender died between claiming it and recording the
/// receiver's answer.
pub const OUTCOME_UNKNOWN: &str = "delivery outcome unknown: the sender stopped while sending \
    (killed or crashed); not sent again, so the receiver has it at most once: check it there";

/// Delivers up to 100 messages that are due at `now`; returns `(id, outcome)` for each.
///
/// At most once per dedup key: each message is claimed (`pending` → `sending`, committed)
/// before its request leaves, so a second worker skips it and a sender killed mid-request
/// leaves it `sending`. Once [`SENDING_DEADLINE_SECS`] pass, such a message is dead-lettered
/// with [`OUTCOME_UNKNOWN`] rather than sent again.
///
/// Errors: the state database failing. A target missing from the config dead-letters its
/// messages rather than failing the run.
pub async fn deliver_due(
    ctx: &Ctx,
    http: &reqwest::Client,
    now: DateTime<Utc>,
) -> eyre::Result<Vec<(i64, Outcome)>> {
    sqlx::query(
        "UPDATE notifications SET status = 'dead', last_error = $1
         WHERE status = 'sending' AND next_attempt_at < $2",
    )
    .bind(OUTCOME_UNKNOWN)
    .bind(clock::fmt(now))
    .execute(&ctx.state)
    .await?;
    let due: Vec<(i64, String, String, i64, String)> = sqlx::query_as(
        "SELECT id, target, payload, attempts, dedup_key FROM notifications
         WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT 100",
    )
    .bind(clock::fmt(now))
    .fetch_all(&ctx.state)
    .await?;
    let mut out = Vec::new();
    for (id, target, payload, attempts, key) in due {
        let attempt = attempts + 1;
        let claimed = sqlx::query(
            "UPDATE notifications SET status = 'sending', next_attempt_at = $1
             WHERE id = $2 AND status = 'pending'",
        )
        .bind(clock::fmt(
            now + chrono::Duration::seconds(SENDING_DEADLINE_SECS),
        ))
        .bind(id)
        .execute(&ctx.state)
        .await?;
        if claimed.rows_affected() != 1 {
            continue; // another worker claimed it first
        }
        crate::fault::point("notify.claimed");
        let cfg = &ctx.cfg.notify;
        let outcome = match cfg.target.get(&target).map(|t| t.resolve(&target)) {
            Some(Ok(t)) => {
                let event: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
                let msg = Message {
                    dedup_key: &key,
                    target: &target,
                    event: &event,
                    attempt,
                };
                send(http, &msg, &t, cfg, now).await
            }
            Some(Err(e)) => Outcome::Dead(e),
            None => Outcome::Dead(format!("no [notify.target.{target}] in the config")),
        };
        crate::fault::point("notify.answered");
        let at = clock::fmt(now);
        let (status, next, error, delivered) = match &outcome {
            Outcome::Delivered => ("delivered", None, None, Some(at)),
            Outcome::Retry(t, why) => ("pending", Some(clock::fmt(*t)), Some(why.clone()), None),
            Outcome::Dead(why) => ("dead", None, Some(why.clone()), None),
        };
        sqlx::query(
            "UPDATE notifications SET status = $1, attempts = $2, next_attempt_at = COALESCE($3, next_attempt_at),
             last_error = COALESCE($4, last_error), delivered_at = $5 WHERE id = $6 AND status = 'sending'",
        )
        .bind(status)
        .bind(attempt)
        .bind(next)
        .bind(error.clone())
        .bind(delivered)
        .bind(id)
        .execute(&ctx.state)
        .await?;
        if let Some(e) = &error {
            tracing::warn!(notification = id, target = %target, error = %e, status, "notification not delivered");
        }
        out.push((id, outcome));
    }
    Ok(out)
}

/// The longest one webhook request may take.
const HTTP_TIMEOUT_SECS: u64 = 10;

/// The client every delivery uses (a timeout per request); `None`, logged, when it cannot be
/// built.
pub(crate) fn http_client() -> Option<reqwest::Client> {
    match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(HTTP_TIMEOUT_SECS))
        .build()
    {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::error!(error = %e, "cannot build the HTTP client; notifications stay in the outbox");
            None
        }
    }
}

/// One delivery pass at the real clock; failures are logged.
pub(crate) async fn pass(ctx: &Ctx, http: &reqwest::Client) {
    if let Err(e) = deliver_due(ctx, http, Utc::now()).await {
        tracing::warn!(error = %format!("{e:#}"), "notification delivery failed");
    }
}

/// One delivery pass over what is due now: `cutover run` calls it on its way out, so the
/// notices its last batch wrote do not wait for the next console.
pub async fn drain(ctx: &Ctx) {
    if let Some(http) = http_client() {
        pass(ctx, &http).await;
    }
}

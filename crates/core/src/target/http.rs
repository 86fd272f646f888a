//! A platform reached only through its HTTP API (`target.kind = "http"`, brief 3.3).
//!
//! The conventions, per entity under `[target.entity.<name>]` with its `path` (`{customer}`
//! in a child's path is the owning customer's platform id):
//!
//! | what | request | answer |
//! |---|---|---|
//! | create | `POST path`, JSON body, `Idempotency-Key` | the created object, with its `id` field |
//! | read a customer | `GET path?<key>=<legacy id>` | an array of objects (empty: none) |
//! | read a customer's children | `GET path` | an array of objects |
//! | merge into / restore a row | `PATCH path/<id>`, the mapped fields, each replaced whole, `null` removing it | any 2xx |
//! | delete a row | `DELETE path/<id>` | any 2xx; 404 counts as gone |
//!
//! A body holds the key field (the legacy id), the parent and device fields (platform ids),
//! one field per mapped canonical column (text as strings, integers as numbers, booleans as
//! `true`/`false`, money as a decimal string such as `"2328.6"`, so it stays exact) and the
//! attributes field as a JSON object. What comes back is normalised like any database value,
//! so validation compares the canonical checksum of what the API returns.
//!
//! Every create carries `Idempotency-Key: cutover:<entity>:<customer>:<row>:<attempt>`: a worker
//! killed after the platform created a row but before the state recorded it sends the same key
//! again on resume and the platform answers with the row it already made. The attempt makes a
//! re-migration after a rollback a new key. Requests are limited to `requests_per_second` and
//! `concurrency`; 429, 5xx and connection failures are retried after `Retry-After` or the
//! outbox's doubling backoff, up to `max_attempts`; any other answer fails the step, naming the
//! request and the status.
//!
//! There is no transaction to fence in: before each step's requests the worker re-checks its
//! lease in the state, so a worker that lost its lease stops at the next step, but a request
//! already sent is not taken back. The idempotency keys are what keeps such a request harmless.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::try_join_all;
use serde_json::{Map, Value};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use super::{Layout, Slot, Table, TargetRow};
use crate::config::Platform;
use crate::schema::{ColType, Entity, Raw, Row, Val};
use crate::source;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The platform's API: its base URL, the token, and the limits every request goes through.
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
    /// Between two request starts, at least.
    gap: Duration,
    next: Mutex<Instant>,
    slots: Semaphore,
    attempts: u32,
}

impl std::fmt::Debug for Api {
    // Never the token, and not the URL: it may hold a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").finish_non_exhaustive()
    }
}

/// A request that did not succeed: the method and path (never the base URL, which may hold a
/// secret), and why.
#[derive(Debug, thiserror::Error)]
#[error("platform API: {method} {path}: {why}")]
pub struct ApiError {
    method: String,
    path: String,
    why: String,
}

impl Api {
    /// The API `[target]` describes, with its token read.
    ///
    /// Errors: the token's key (`target.token_env`, `target.token_file`) and what is wrong.
    pub fn new(cfg: &Platform) -> Result<Api, String> {
        let token =
            crate::config::secret("target.token", &cfg.token, &cfg.token_env, &cfg.token_file)?;
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| format!("key `target.url`: {e}"))?;
        Ok(Api {
            client,
            base: cfg.url.trim_end_matches('/').to_string(),
            token,
            gap: Duration::from_secs(1) / cfg.requests_per_second.max(1),
            next: Mutex::new(Instant::now()),
            slots: Semaphore::new(cfg.concurrency.max(1)),
            attempts: cfg.max_attempts.max(1),
        })
    }

    /// Waits for the rate limit's next start.
    async fn pace(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let at = (*next).max(Instant::now());
            *next = at + self.gap;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// One request, retried on 429, 5xx and connection failures. `Ok(None)` for a 404.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<Option<Value>, ApiError> {
        let fail = |why: String| ApiError {
            method: method.to_string(),
            path: path.to_string(),
            why,
        };
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let mut attempt = 1;
        loop {
            self.pace().await;
            let mut req = self
                .client
                .request(method.clone(), format!("{}{path}", self.base));
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            if let Some(k) = idempotency_key {
                req = req.header("idempotency-key", k);
            }
            if let Some(b) = body {
                req = req
                    .header("content-type", "application/json")
                    .body(b.to_string());
            }
            let (why, after) = match req.send().await {
                Ok(r) if r.status().as_u16() == 404 => return Ok(None),
                Ok(r) if r.status().is_success() => {
                    let text = r.text().await.map_err(|e| fail(e.to_string()))?;
                    if text.trim().is_empty() {
                        return Ok(Some(Value::Null));
                    }
                    return serde_json::from_str(&text)
                        .map(Some)
                        .map_err(|e| fail(format!("the answer is not JSON: {e}")));
                }
                Ok(r) => {
                    let code = r.status().as_u16();
                    let after = crate::notify::retry_after(r.headers());
                    let text = r.text().await.unwrap_or_default();
                    let why = format!("HTTP {code} {}", excerpt(&text));
                    if !(code == 429 || code >= 500) {
                        return Err(fail(why));
                    }
                    (why, after)
                }
                Err(e) if e.is_timeout() => ("timed out".to_string(), None),
                Err(_) => ("connection failed".to_string(), None),
            };
            if attempt >= self.attempts {
                return Err(fail(format!("{why}; gave up after {attempt} attempts")));
            }
            let wait = crate::notify::backoff(100, attempt.into(), after);
            tokio::time::sleep(wait.to_std().unwrap_or_default()).await;
            attempt += 1;
        }
    }
}

/// The first 200 characters of an error answer, on one line.
fn excerpt(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    one.chars().take(200).collect()
}

/// `t`'s path for the customer with platform id `customer`.
fn path_of(t: &Table, customer: Option<i64>) -> String {
    match customer {
        Some(c) => t.name.replace("{customer}", &c.to_string()),
        None => t.name.clone(),
    }
}

/// Percent-encodes a query value.
fn query_value(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The JSON body of `row`: its key, platform ids and mapped fields.
fn body(t: &Table, row: &Row, ids: [Option<i64>; 2], only_values: bool) -> Value {
    let mut m = Map::new();
    for c in &t.cols {
        let v = match c.slot {
            Slot::Parent | Slot::Device if only_values => continue,
            Slot::Value(0) if only_values => continue,
            Slot::Parent => ids[0].map_or(Value::Null, Value::from),
            Slot::Device => ids[1].map_or(Value::Null, Value::from),
            // An empty attributes object is no field at all in a PATCH (null removes it), so
            // a restored object gets back the shape it had.
            Slot::Attrs if only_values && row.attributes == "{}" => Value::Null,
            Slot::Attrs => serde_json::from_str(&row.attributes).unwrap_or(Value::Null),
            Slot::Value(i) => match (&row.values[i], c.ty) {
                (Val::Null, _) => Value::Null,
                (Val::Int(n), ColType::Bool) => Value::Bool(*n != 0),
                (Val::Int(n), _) => Value::from(*n),
                (Val::Text(s), _) => Value::from(s.as_str()),
            },
        };
        m.insert(c.name.clone(), v);
    }
    Value::Object(m)
}

/// A JSON value as the normaliser takes it.
fn raw(v: Option<&Value>) -> Raw {
    match v {
        None | Some(Value::Null) => Raw::Null,
        Some(Value::Bool(b)) => Raw::Int(i64::from(*b)),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Raw::Int(i),
            // The number's own text: "12.5" stays 12.5, never 12.4999….
            None => Raw::Text(n.to_string()),
        },
        Some(Value::String(s)) => Raw::Text(s.clone()),
        Some(other) => Raw::Text(other.to_string()),
    }
}

/// The platform id in `obj`'s `t.id` field.
fn id_of(t: &Table, obj: &Value) -> Option<i64> {
    match obj.get(&t.id)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A platform object of `t` back in canonical form: the customer's legacy id given, the
/// device's resolved from its platform id through `devices`.
fn canonical_of(
    t: &Table,
    obj: &Value,
    customer: &str,
    devices: &HashMap<i64, String>,
) -> eyre::Result<TargetRow> {
    let e = t.entity;
    let mut names = Vec::new();
    let mut raws = Vec::new();
    let mut device_id = None;
    for c in &t.cols {
        let v = obj.get(&c.name);
        match c.slot {
            Slot::Parent => {}
            Slot::Device => {
                device_id = v.and_then(Value::as_i64);
                names.push("device_legacy_id".to_string());
                raws.push(match device_id.and_then(|d| devices.get(&d)) {
                    Some(l) => Raw::Text(l.clone()),
                    None => Raw::Null,
                });
            }
            Slot::Value(i) => {
                names.push(e.columns()[i].name.to_string());
                raws.push(raw(v));
            }
            Slot::Attrs => {
                names.push("attributes".to_string());
                raws.push(match v {
                    None | Some(Value::Null) => Raw::Null,
                    Some(x) => Raw::Text(x.to_string()),
                });
            }
        }
    }
    if e != Entity::Customers {
        names.push("customer_legacy_id".to_string());
        raws.push(Raw::Text(customer.to_string()));
    }
    let shape = source::Shape::of(&names, e);
    let row = source::canonical(&raws, e, &shape)
        .map_err(|err| eyre::eyre!("platform API {err} (edited on the platform?)"))?;
    let id = id_of(t, obj).ok_or_else(|| {
        eyre::eyre!(
            "platform API: a {} object without a numeric `{}` field",
            e.name(),
            t.id
        )
    })?;
    Ok(TargetRow { row, id, device_id })
}

/// The objects of a JSON array answer (a 404 or `null` is none).
fn objects(v: Option<Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    }
}

/// The platform's rows of the customers `ids`, as [`super::read_all`] gives them: the customer
/// by `GET path?key=…`, then each customer's children by `GET path`, `concurrency` at a time.
///
/// Errors: a request failing (after its retries), or an object that does not normalise.
pub async fn read_all(
    api: &Api,
    layout: &Layout,
    ids: &[String],
) -> eyre::Result<HashMap<Entity, HashMap<String, Vec<TargetRow>>>> {
    let mut out: HashMap<Entity, HashMap<String, Vec<TargetRow>>> = HashMap::new();
    let c = layout.customers();
    let mut reads = Vec::with_capacity(ids.len());
    for id in ids {
        let path = format!("{}?{}={}", path_of(c, None), c.key, query_value(id));
        reads.push(get_list(api, path, id.clone()));
    }
    let found = try_join_all(reads).await?;
    let mut owners: Vec<(String, i64)> = Vec::new();
    let customers = out.entry(Entity::Customers).or_default();
    for (id, objs) in found {
        for o in objs {
            let r = canonical_of(c, &o, &id, &HashMap::new())?;
            owners.push((id.clone(), r.id));
            customers.entry(id.clone()).or_default().push(r);
        }
    }
    let mut device_names: HashMap<i64, String> = HashMap::new();
    for e in [
        Entity::Devices,
        Entity::Repairs,
        Entity::Payments,
        Entity::Communications,
    ] {
        let Some(t) = layout.table(e) else { continue };
        let mut reads = Vec::with_capacity(owners.len());
        for (legacy, pid) in &owners {
            reads.push(get_list(api, path_of(t, Some(*pid)), legacy.clone()));
        }
        let got = try_join_all(reads).await?;
        let of = out.entry(e).or_default();
        for (legacy, objs) in got {
            for o in objs {
                let r = canonical_of(t, &o, &legacy, &device_names)?;
                of.entry(legacy.clone()).or_default().push(r);
            }
        }
        if e == Entity::Devices {
            device_names = of
                .values()
                .flatten()
                .map(|d| (d.id, d.row.legacy_id().to_string()))
                .collect();
        }
    }
    Ok(out)
}

/// One row to create: the row, its platform ids (customer, device), its idempotency key.
pub struct Create<'a> {
    /// The canonical row.
    pub row: &'a Row,
    /// The owning customer's platform id (children) and the repair's device's.
    pub ids: [Option<i64>; 2],
    /// Sent as `Idempotency-Key`.
    pub key: String,
}

/// Creates `rows` of `entity`, `concurrency` at a time (every request waits for a slot of the
/// API's semaphore and the rate limit, so the futures here only queue). Returns each created row's platform
/// id, in the order of `rows`.
///
/// Errors: a request failing after its retries, or an answer without the id field.
pub async fn create(
    api: &Api,
    layout: &Layout,
    entity: Entity,
    rows: &[Create<'_>],
) -> eyre::Result<Vec<i64>> {
    let Some(t) = layout.table(entity) else {
        return Ok(Vec::new());
    };
    let mut posts = Vec::with_capacity(rows.len());
    for r in rows {
        posts.push(create_one(api, t, r));
    }
    try_join_all(posts).await
}

/// One `POST`: the created object's platform id.
async fn create_one(api: &Api, t: &Table, r: &Create<'_>) -> eyre::Result<i64> {
    let path = path_of(t, r.ids[0]);
    let v = api
        .call(
            reqwest::Method::POST,
            &path,
            Some(&body(t, r.row, r.ids, false)),
            Some(&r.key),
        )
        .await?
        .unwrap_or(Value::Null);
    crate::fault::point("http.create");
    id_of(t, &v).ok_or_else(|| {
        eyre::eyre!(
            "platform API: POST {path}: the answer has no numeric `{}`",
            t.id
        )
    })
}

/// One `GET` of a list, with what it was for.
async fn get_list(api: &Api, path: String, of: String) -> Result<(String, Vec<Value>), ApiError> {
    let v = api.call(reqwest::Method::GET, &path, None, None).await?;
    Ok((of, objects(v)))
}

/// One request whose answer does not matter beyond success.
async fn send(
    api: &Api,
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
) -> Result<(), ApiError> {
    api.call(method, &path, body.as_ref(), None)
        .await
        .map(|_| ())
}

/// Writes the mapped fields of each row into the platform object with that id
/// (`PATCH path/<id>`): a merge, or a merged row's pre-image written back.
///
/// Errors: a request failing after its retries.
pub async fn update(
    api: &Api,
    layout: &Layout,
    entity: Entity,
    rows: &[(&Row, i64)],
) -> eyre::Result<()> {
    let Some(t) = layout.table(entity) else {
        return Ok(());
    };
    let mut patches = Vec::with_capacity(rows.len());
    for (row, id) in rows {
        let path = format!("{}/{id}", path_of(t, None));
        patches.push(send(
            api,
            reqwest::Method::PATCH,
            path,
            Some(body(t, row, [None; 2], true)),
        ));
    }
    try_join_all(patches).await?;
    Ok(())
}

/// Deletes the platform objects `ids` of `entity`, each with its owning customer's platform id
/// for the path; one already gone counts as deleted.
///
/// Errors: a request failing after its retries.
pub async fn delete(
    api: &Api,
    layout: &Layout,
    entity: Entity,
    ids: &[(Option<i64>, i64)],
) -> eyre::Result<()> {
    let Some(t) = layout.table(entity) else {
        return Ok(());
    };
    let mut deletes = Vec::with_capacity(ids.len());
    for (customer, id) in ids {
        let path = format!("{}/{id}", path_of(t, *customer));
        deletes.push(send(api, reqwest::Method::DELETE, path, None));
    }
    try_join_all(deletes).await?;
    Ok(())
}

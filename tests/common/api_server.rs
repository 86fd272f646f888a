//! A platform that is only an HTTP API, played by a small axum server (included by the tests
//! that use it through `common/api.rs`, and by `examples/platform_api.rs` for the benchmark): the API of
//! `assets/examples/http-platform.toml`. It keeps its own records (every object, every create
//! per external id, every idempotency key), checks the bearer token, answers one request in
//! eleven with 429 and one in seventeen with 500 before doing anything, and one create in five
//! with 503 *after* creating: the case only an idempotency key makes safe.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// The token the server accepts.
pub const TOKEN: &str = "test-platform-token";

/// What the server holds and has seen.
#[derive(Debug, Default)]
pub struct Records {
    next: i64,
    /// Every object, by (collection, id): `accounts`, `assets`, `tickets`, `payments`,
    /// `messages`.
    pub objects: BTreeMap<(String, i64), Value>,
    /// Idempotency key → the object it created (collection, id).
    idem: HashMap<String, (String, i64)>,
    /// Objects created per (collection, external id), over the server's life (a rollback and
    /// a re-migration create again).
    pub creates: BTreeMap<(String, String), usize>,
    /// Creates that came without an `Idempotency-Key`.
    pub keyless: u64,
    /// Requests seen, answered 429, answered 500 before acting, answered 503 after creating.
    pub requests: u64,
    pub throttled: u64,
    pub failed: u64,
    pub failed_after: u64,
    /// Whether faults are injected.
    pub flaky: bool,
}

impl Records {
    /// Every object without its platform ids, each child named by its account's external id:
    /// two equal dumps are the same platform.
    pub fn dump(&self) -> String {
        let ext = |coll: &str, id: Option<i64>| {
            id.and_then(|i| self.objects.get(&(coll.to_string(), i)))
                .and_then(|o| o.get("external_id"))
                .map_or("-".to_string(), |v| v.to_string())
        };
        let mut lines: Vec<String> = self
            .objects
            .iter()
            .map(|((coll, _), o)| {
                let mut o = o.clone();
                let m = o.as_object_mut().unwrap();
                m.remove("id");
                let account = m.remove("account_id").and_then(|v| v.as_i64());
                let asset = m.remove("asset_id").and_then(|v| v.as_i64());
                format!(
                    "{coll} account={} asset={} {}",
                    ext("accounts", account),
                    ext("assets", asset),
                    Value::Object(m.clone())
                )
            })
            .collect();
        lines.sort();
        lines.join("\n")
    }

    /// Inserts an object as the platform's own (a customer who signed up early, its payment).
    pub fn insert(&mut self, coll: &str, mut obj: Value) -> i64 {
        self.next += 1;
        obj["id"] = json!(self.next);
        self.objects.insert((coll.to_string(), self.next), obj);
        self.next
    }

    /// The (collection, external id) pairs the platform holds more than one live object of:
    /// a create that should have been recognised by its idempotency key.
    pub fn duplicates(&self) -> Vec<(String, String)> {
        let mut live: BTreeMap<(String, String), usize> = BTreeMap::new();
        for ((coll, _), o) in &self.objects {
            let ext = o
                .get("external_id")
                .map_or(String::new(), |v| v.to_string());
            *live.entry((coll.clone(), ext)).or_default() += 1;
        }
        live.into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(k, _)| k)
            .collect()
    }
}

type Shared = Arc<Mutex<Records>>;

/// The running server.
pub struct PlatformApi {
    /// The base URL (`http://127.0.0.1:PORT/api`).
    pub url: String,
    pub records: Shared,
}

/// Starts the server on a free port of 127.0.0.1.
pub async fn start(flaky: bool) -> PlatformApi {
    let records: Shared = Arc::new(Mutex::new(Records {
        flaky,
        ..Default::default()
    }));
    let app = Router::new()
        .route("/api/accounts", get(list_accounts).post(create_account))
        .route(
            "/api/accounts/{id}",
            axum::routing::patch(patch_account).delete(delete_account),
        )
        .route(
            "/api/accounts/{cid}/{coll}",
            get(list_children).post(create_child),
        )
        .route(
            "/api/accounts/{cid}/{coll}/{id}",
            axum::routing::delete(delete_child),
        )
        .with_state(records.clone());
    // Its own thread and runtime: a test blocked on a child process (a `cutover` command that
    // talks to this server) must not hold the task that answers it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap()
        });
    });
    PlatformApi {
        url: format!("http://127.0.0.1:{port}/api"),
        records,
    }
}

fn answer(code: StatusCode, body: Value) -> Response {
    (
        code,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The token and the injected faults: `Some` answer when the request stops here.
fn gate(r: &mut Records, headers: &HeaderMap) -> Option<Response> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {TOKEN}")) {
        return Some(answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "bad token"}),
        ));
    }
    r.requests += 1;
    if r.flaky && r.requests.is_multiple_of(11) {
        r.throttled += 1;
        return Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "0")],
                "slow down",
            )
                .into_response(),
        );
    }
    if r.flaky && r.requests.is_multiple_of(17) {
        r.failed += 1;
        return Some(answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": "oops"}),
        ));
    }
    None
}

fn create(
    r: &mut Records,
    coll: &str,
    headers: &HeaderMap,
    body: &Bytes,
    account: Option<i64>,
) -> Response {
    let Ok(mut obj) = serde_json::from_slice::<Value>(body) else {
        return answer(StatusCode::BAD_REQUEST, json!({"error": "not JSON"}));
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(k) = &key
        && let Some(at) = r.idem.get(k)
    {
        let o = r.objects.get(at).cloned().unwrap_or(json!({"id": at.1}));
        return answer(StatusCode::OK, o);
    }
    if let Some(a) = account {
        if !r.objects.contains_key(&("accounts".to_string(), a)) {
            return answer(StatusCode::NOT_FOUND, json!({"error": "no such account"}));
        }
        obj["account_id"] = json!(a);
    }
    let ext = obj
        .get("external_id")
        .map_or(String::new(), |v| v.to_string());
    *r.creates.entry((coll.to_string(), ext)).or_default() += 1;
    let id = r.insert(coll, obj);
    match key {
        Some(k) => {
            r.idem.insert(k, (coll.to_string(), id));
        }
        None => r.keyless += 1,
    }
    let o = r.objects[&(coll.to_string(), id)].clone();
    if r.flaky && r.creates.values().sum::<usize>().is_multiple_of(5) {
        r.failed_after += 1;
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "created, but the answer was lost"}),
        );
    }
    answer(StatusCode::CREATED, o)
}

async fn create_account(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut r = s.lock().unwrap();
    if let Some(stop) = gate(&mut r, &headers) {
        return stop;
    }
    create(&mut r, "accounts", &headers, &body, None)
}

async fn create_child(
    State(s): State<Shared>,
    Path((cid, coll)): Path<(i64, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut r = s.lock().unwrap();
    if let Some(stop) = gate(&mut r, &headers) {
        return stop;
    }
    create(&mut r, &coll, &headers, &body, Some(cid))
}

async fn list_accounts(
    State(s): State<Shared>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut r = s.lock().unwrap();
    if let Some(stop) = gate(&mut r, &headers) {
        return stop;
    }
    let want = q
        .as_deref()
        .and_then(|q| q.strip_prefix("external_id="))
        .map(|v| v.to_string());
    let found: Vec<Value> = r
        .objects
        .iter()
        .filter(|((c, _), o)| {
            c == "accounts"
                && want.as_ref().is_none_or(|w| {
                    o.get("external_id").map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    }) == Some(w.clone())
                })
        })
        .map(|(_, o)| o.clone())
        .collect();
    answer(StatusCode::OK, Value::Array(found))
}

async fn list_children(
    State(s): State<Shared>,
    Path((cid, coll)): Path<(i64, String)>,
    headers: HeaderMap,
) -> Response {
    let mut r = s.lock().unwrap();
    if let Some(stop) = gate(&mut r, &headers) {
        return stop;
    }
    let found: Vec<Value> = r
        .objects
        .iter()
        .filter(|((c, _), o)| *c == coll && o.get("account_id") == Some(&json!(cid)))
        .map(|(_, o)| o.clone())
        .collect();
    answer(StatusCode::OK, Value::Array(found))
}

async fn patch_account(
    State(s): State<Shared>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut r = s.lock().unwrap();
    if let Some(stop) = gate(&mut r, &headers) {
        return stop;
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "not a JSON object"}),
        );
    };
    let Some(o) = r.objects.get_mut(&("accounts".to_string(), id)) else {
        return answer(StatusCode::NOT_FOUND, json!({"error": "no such account"}));
    };
    // Each field replaced whole; null removes it.
    let m = o.as_object_mut().unwrap();
    for (k, v) in fields {
        if v.is_null() {
            m.remove(&k);
        } else {
            m.insert(k, v);
        }
    }
    let o = o.clone();
    answer(StatusCode::OK, o)
}

async fn delete_account(
    State(s): State<Shared>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let mut r = s.lock().unwrap();
    if let Some(stop) = gate(&mut r, &headers) {
        return stop;
    }
    if r.objects
        .iter()
        .any(|((c, _), o)| c != "accounts" && o.get("account_id") == Some(&json!(id)))
    {
        return answer(
            StatusCode::CONFLICT,
            json!({"error": "the account still has objects"}),
        );
    }
    match r.objects.remove(&("accounts".to_string(), id)) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => answer(StatusCode::NOT_FOUND, json!({"error": "no such account"})),
    }
}

async fn delete_child(
    State(s): State<Shared>,
    Path((_cid, coll, id)): Path<(i64, String, i64)>,
    headers: HeaderMap,
) -> Response {
    let mut r = s.lock().unwrap();
    if let Some(stop) = gate(&mut r, &headers) {
        return stop;
    }
    if coll == "assets"
        && r.objects
            .iter()
            .any(|((c, _), o)| c == "tickets" && o.get("asset_id") == Some(&json!(id)))
    {
        return answer(
            StatusCode::CONFLICT,
            json!({"error": "a ticket still points at the asset"}),
        );
    }
    match r.objects.remove(&(coll, id)) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => answer(StatusCode::NOT_FOUND, json!({"error": "no such object"})),
    }
}

//! Crash and resume. `cutover run`, and then `cutover rollback --all`, run as child processes
//! that are SIGKILLed again and again, and restarted until they finish:
//!
//! - at a random fault point (`CUTOVER_FAULT=kill@N`, see `src/fault.rs`): a step boundary, a
//!   copy chunk inside the platform's open transaction, between the platform's commit and the
//!   state's, just before a state commit, between a batch's done commit and its customers'
//!   health scoring (`batch.done`), between a webhook's claim and its request, between its
//!   answer and its record;
//! - or from outside, after a random delay, wherever the process happens to be.
//!
//! After each kill the dead worker's lease is expired at once (instead of waiting
//! `lease_seconds`; `tests/leases.rs` covers the wait). Each round then compares the workspace
//! with an uninterrupted run of the same seed: the same platform rows, the same statuses,
//! every customer migrated and notified once, and scored after its migration, at most one
//! request per dedup key at the webhook receiver; and after the rollback, the same platform again, every checksum verified.
//!
//! 300 kills on SQLite and 150 on PostgreSQL by default; `CUTOVER_TEST_KILLS=N` asks for more
//! (the opt-in long run), `CUTOVER_TEST_SEED` replays a sequence.

#[path = "common/api.rs"]
mod api;
mod common;

use std::collections::{BTreeMap, HashMap};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{PgSchema, Ws, platform_dump, state_rows};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CUSTOMERS: usize = 60;
const SEED: u64 = 606;

/// Requests per `Idempotency-Key` (the outbox's dedup key) at the receiver.
type Got = Arc<Mutex<HashMap<String, usize>>>;

async fn receiver() -> (String, Got) {
    let got: Got = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(|State(g): State<Got>, h: HeaderMap| async move {
                let key = h
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("(none)")
                    .to_string();
                *g.lock().unwrap().entry(key).or_default() += 1;
                StatusCode::OK
            }),
        )
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

/// The demo workspace of the reference seed, telling the receiver when a customer moved; with
/// `mapped`, its platform is the other team's schema (`common::theirs`), planned against it.
async fn workspace(mapped: bool) -> (Ws, Got, Option<PgSchema>) {
    let mut ws = Ws::demo(CUSTOMERS, SEED).await;
    let mut theirs = None;
    if mapped {
        let (w, t) = common::theirs::map(ws).await;
        ws = w;
        theirs = Some(t);
        common::ok(&ws.cli(&["plan"]));
    }
    let (url, got) = receiver().await;
    ws.edit_config(|t| {
        format!(
            "{t}\n[notify]\nmoved = \"t\"\n[notify.target.t]\nkind = \"slack\"\nurl = \"{url}\"\n"
        )
    });
    (ws, got, theirs)
}

/// The platform's rows, managed or the other team's.
async fn dump(ws: &Ws, theirs: &Option<PgSchema>) -> String {
    match theirs {
        Some(t) => common::theirs::dump(&t.url).await,
        None => platform_dump(ws).await,
    }
}

async fn state_exec(ws: &Ws, sql: &str) {
    let cfg = cutover_core::config::Config::load(&ws.config_path()).unwrap();
    let pool = cutover_core::db::open(&cfg.state.url, "state", false, false)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// How one attempt ended.
enum End {
    Finished(std::process::Output),
    /// Killed at this fault point ("outside" for a kill from the harness).
    Killed(String),
}

/// Runs `args` once, armed to die at fault point `at`, or killed from outside after `after`.
async fn attempt(ws: &Ws, args: &[&str], at: Option<u64>, after: Duration) -> End {
    let mut c = ws.command(args);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(n) = at {
        c.env("CUTOVER_FAULT", format!("kill@{n}"));
    }
    let mut child = c.spawn().unwrap();
    if at.is_none() {
        let deadline = Instant::now() + after;
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let _ = child.kill();
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    if out.status.signal() == Some(9) {
        let err = common::stderr(&out);
        let point = err
            .split("fault: SIGKILL at ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .unwrap_or("outside")
            .to_string();
        return End::Killed(point);
    }
    End::Finished(out)
}

/// Where kills land: fault points up to `points`, outside kills up to `millis` after start.
#[derive(Clone, Copy)]
struct Reach {
    points: u64,
    millis: u64,
}

/// A database platform's steps pass a few dozen fault points each.
const REACH: Reach = Reach {
    points: 60,
    millis: 250,
};

/// Drives `args` to the end through kills; returns how many landed.
async fn until_done(
    ws: &Ws,
    args: &[&str],
    rng: &mut ChaCha8Rng,
    points: &mut BTreeMap<String, usize>,
    done: impl Fn(&std::process::Output) -> bool,
) -> usize {
    until_done_within(ws, args, rng, points, done, REACH).await
}

/// [`until_done`] with kills landing within `reach`.
async fn until_done_within(
    ws: &Ws,
    args: &[&str],
    rng: &mut ChaCha8Rng,
    points: &mut BTreeMap<String, usize>,
    done: impl Fn(&std::process::Output) -> bool,
    reach: Reach,
) -> usize {
    let mut kills = 0;
    for _ in 0..500 {
        // Most kills land on a named point; one in four comes from outside at any moment.
        let (at, after) = if rng.random_range(0..4) == 0 {
            (
                None,
                Duration::from_millis(rng.random_range(5..reach.millis)),
            )
        } else {
            (Some(rng.random_range(1..=reach.points)), Duration::ZERO)
        };
        match attempt(ws, args, at, after).await {
            End::Killed(point) => {
                kills += 1;
                *points.entry(point).or_default() += 1;
                // The dead worker's lease ends now rather than `lease_seconds` from now.
                state_exec(
                    ws,
                    "UPDATE batches SET lease_until = NULL WHERE status = 'running'",
                )
                .await;
            }
            End::Finished(out) => {
                assert!(
                    done(&out),
                    "{args:?} failed after {kills} kills: {}",
                    common::stderr(&out)
                );
                return kills;
            }
        }
    }
    panic!("{args:?} did not finish in 500 attempts");
}

async fn count(ws: &Ws, sql: &str) -> i64 {
    state_rows(ws, sql).await.trim().parse().unwrap()
}

const COMPARED: [&str; 4] = [
    "SELECT COUNT(*) FROM customers WHERE status = 'migrated'",
    "SELECT COUNT(*) FROM customers WHERE status = 'quarantined'",
    "SELECT COUNT(*) FROM customers WHERE status = 'rolled_back'",
    "SELECT COUNT(*) FROM notifications WHERE kind = 'moved'",
];

// Two threads: the receiver must answer while the test waits on a child synchronously.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_anywhere_a_run_and_a_rollback_resume_to_the_uninterrupted_result() {
    let sqlite = !common::on_postgres();
    harness(false, if sqlite { 300 } else { 150 }).await;
}

/// The same harness against a platform that is not ours (the PostgreSQL leg): 60 kills by
/// default, `CUTOVER_TEST_KILLS=N` for more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_anywhere_on_a_mapped_platform_resume_to_the_uninterrupted_result() {
    if !common::on_postgres() {
        return common::skip(
            "killed_anywhere_on_a_mapped_platform",
            "CUTOVER_TEST_BACKEND=postgres",
        );
    }
    harness(true, 60).await;
}

async fn harness(mapped: bool, default_kills: usize) {
    let wanted: usize = std::env::var("CUTOVER_TEST_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_kills);
    let seed: u64 = std::env::var("CUTOVER_TEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    // The uninterrupted reference.
    let (reference, _, reference_theirs) = workspace(mapped).await;
    let out = reference.cli(&["run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let migrated_dump = dump(&reference, &reference_theirs).await;
    let mut migrated_counts = Vec::new();
    for sql in COMPARED {
        migrated_counts.push(count(&reference, sql).await);
    }
    let unfinished = state_rows(
        &reference,
        "SELECT legacy_id, status, reason FROM customers WHERE status NOT IN ('migrated', 'quarantined')",
    )
    .await;
    assert!(
        unfinished.is_empty(),
        "the reference run left: {unfinished}"
    );
    let out = reference.cli(&["rollback", "--all", "--yes"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let rolled_back_dump = dump(&reference, &reference_theirs).await;
    let mut rolled_back_counts = Vec::new();
    for sql in COMPARED {
        rolled_back_counts.push(count(&reference, sql).await);
    }
    assert!(
        migrated_counts[0] > 0 && rolled_back_counts[2] == migrated_counts[0],
        "migrated {migrated_counts:?}, rolled back {rolled_back_counts:?}"
    );

    let t0 = Instant::now();
    let (mut kills, mut rounds, mut sent, mut unknown, mut unsent) = (0, 0, 0, 0, 0);
    let mut points = BTreeMap::new();
    while kills < wanted {
        rounds += 1;
        let (ws, got, theirs) = workspace(mapped).await;
        kills += until_done(&ws, &["run"], &mut rng, &mut points, |o| o.status.success()).await;
        assert_eq!(dump(&ws, &theirs).await, migrated_dump, "round {rounds}");
        for (sql, want) in COMPARED.iter().zip(&migrated_counts) {
            assert_eq!(count(&ws, sql).await, *want, "round {rounds}: {sql}");
        }
        for (what, sql) in [
            (
                "a customer migrated twice",
                "SELECT COUNT(*) FROM (SELECT customer_id FROM steps WHERE step = 'notify' GROUP BY customer_id HAVING COUNT(*) > 1) AS d",
            ),
            (
                "a customer left unfinished",
                "SELECT COUNT(*) FROM customers WHERE status NOT IN ('migrated', 'quarantined')",
            ),
            (
                "a migrated customer not scored after its migration",
                "SELECT COUNT(*) FROM customers c WHERE c.status = 'migrated' AND NOT EXISTS
                 (SELECT 1 FROM health_latest h WHERE h.customer_id = c.id AND h.scored_at >= c.migrated_at)",
            ),
            (
                "a batch's scoring still owed",
                "SELECT COUNT(*) FROM batches WHERE scoring_owed = 1",
            ),
            (
                "a notice neither delivered nor accounted for",
                "SELECT COUNT(*) FROM notifications WHERE kind = 'moved' AND status NOT IN ('delivered', 'sending', 'dead')",
            ),
        ] {
            assert_eq!(count(&ws, sql).await, 0, "round {rounds}: {what}");
        }
        let out = ws.cli(&["validate"]);
        assert!(
            out.status.success(),
            "round {rounds}: {}",
            common::stdout(&out)
        );
        {
            let got = got.lock().unwrap();
            let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
            assert!(
                twice.is_empty(),
                "round {rounds}: delivered twice: {twice:?}"
            );
            sent += got.len();
        }
        let delivered = count(
            &ws,
            "SELECT COUNT(*) FROM notifications WHERE status = 'delivered'",
        )
        .await;
        assert!(
            delivered as usize <= got.lock().unwrap().len(),
            "round {rounds}: recorded as delivered but never received"
        );
        // A message whose sender died mid-request is never sent again (at most once); the
        // receiver may or may not have it.
        let stuck = state_rows(
            &ws,
            "SELECT dedup_key FROM notifications WHERE status IN ('sending', 'dead')",
        )
        .await;
        for key in stuck.lines() {
            unknown += 1;
            if !got.lock().unwrap().contains_key(key) {
                unsent += 1;
            }
        }

        kills += until_done(
            &ws,
            &["rollback", "--all", "--yes"],
            &mut rng,
            &mut points,
            // A kill after the last customer's commit leaves only the audit row unwritten.
            |o| o.status.success() || common::stderr(o).contains("nothing to roll back"),
        )
        .await;
        assert_eq!(dump(&ws, &theirs).await, rolled_back_dump, "round {rounds}");
        for (sql, want) in COMPARED.iter().zip(&rolled_back_counts) {
            assert_eq!(count(&ws, sql).await, *want, "round {rounds}: {sql}");
        }
        assert_eq!(
            count(
                &ws,
                "SELECT COUNT(*) FROM customers WHERE status = 'failed'"
            )
            .await,
            0,
            "round {rounds}: a rollback not verified"
        );
    }
    let platform = if mapped { "mapped" } else { "managed" };
    println!(
        "faults ({platform} platform): {kills} kills survived in {rounds} rounds ({:.0} s, seed {seed}); by point: {points:?}; \
         {sent} moved notices received once each; {unknown} senders killed mid-request, of which \
         {unsent} never reached the receiver (dead letters that say so); 0 platform rows lost, 0 duplicated",
        t0.elapsed().as_secs_f64()
    );
}

/// Every create request is a fault point, and a batch's children are a few hundred requests.
const HTTP_REACH: Reach = Reach {
    points: 200,
    millis: 1500,
};

/// A platform that is only an HTTP API (`common::api`: 429s, 500s, answers lost after a
/// create): `run` and `rollback --all` killed again and again, at any fault point (each create
/// request is one, `http.create`) or from outside. Every round ends with exactly the objects of
/// an uninterrupted run, a customer the API already had merged into its own object, and the
/// server's own records show no object created twice and no create without an idempotency
/// key; the rollback leaves the API exactly as it was. 40 kills by default (a fifth of
/// `CUTOVER_TEST_KILLS` when set), in the SQLite leg: the state's backend does not change what
/// reaches the API, and the PostgreSQL leg runs the HTTP journey.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_anywhere_a_run_against_an_http_platform_never_creates_twice() {
    if common::on_postgres() {
        return common::skip(
            "killed_anywhere_a_run_against_an_http_platform",
            "the SQLite leg",
        );
    }
    let wanted: usize = std::env::var("CUTOVER_TEST_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(40, |n: usize| n / 5);
    let seed: u64 = std::env::var("CUTOVER_TEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let setup = async || {
        let (ws, api) = api::workspace(10, 71, true).await;
        let first: String = state_rows(
            &ws,
            "SELECT legacy_id FROM customers WHERE status = 'pending' ORDER BY id LIMIT 1",
        )
        .await
        .trim()
        .to_string();
        let id = api.records.lock().unwrap().insert(
            "accounts",
            serde_json::json!({"external_id": first, "display_name": "Signed up early"}),
        );
        api.records.lock().unwrap().insert(
            "payments",
            serde_json::json!({"account_id": id, "external_id": "WEB-1", "amount": "9.99"}),
        );
        let out = ws.cli(&["plan"]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        let before = api.records.lock().unwrap().dump();
        (ws, api, before)
    };
    let (reference, reference_api, _) = setup().await;
    let out = reference.cli(&["run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let migrated = reference_api.records.lock().unwrap().dump();
    let t0 = Instant::now();
    let (mut kills, mut rounds) = (0, 0);
    let mut points = BTreeMap::new();
    while kills < wanted {
        rounds += 1;
        let (ws, api, before) = setup().await;
        kills += until_done_within(
            &ws,
            &["run"],
            &mut rng,
            &mut points,
            |o| o.status.success(),
            HTTP_REACH,
        )
        .await;
        {
            let r = api.records.lock().unwrap();
            assert_eq!(r.dump(), migrated, "round {rounds}");
            assert_eq!(
                r.duplicates(),
                Vec::<(String, String)>::new(),
                "round {rounds}"
            );
            assert_eq!(r.keyless, 0, "round {rounds}");
        }
        let out = ws.cli(&["validate"]);
        assert!(
            out.status.success(),
            "round {rounds}: {}",
            common::stdout(&out)
        );
        kills += until_done_within(
            &ws,
            &["rollback", "--all", "--yes"],
            &mut rng,
            &mut points,
            |o| o.status.success() || common::stderr(o).contains("nothing to roll back"),
            HTTP_REACH,
        )
        .await;
        assert_eq!(api.records.lock().unwrap().dump(), before, "round {rounds}");
        assert_eq!(
            count(
                &ws,
                "SELECT COUNT(*) FROM customers WHERE status = 'failed'"
            )
            .await,
            0,
            "round {rounds}: a rollback not verified"
        );
    }
    println!(
        "faults (HTTP platform): {kills} kills survived in {rounds} rounds ({:.0} s, seed {seed}); \
         by point: {points:?}; 0 objects created twice, 0 creates without an idempotency key",
        t0.elapsed().as_secs_f64()
    );
}

//! Notifications over HTTP against a real server on loopback: Slack, PagerDuty Events v2 and a
//! signed webhook; 202, 429 with Retry-After, 500 and 400; the retry budget and dead letters;
//! secrets from the environment and from an owner-only file; "moved" notices after a batch.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{Duration, Utc};
use common::Ws;
use cutover_core::alerts::{self, Act};
use cutover_core::notify::{self, Outcome};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What the receiver got, and what it answers next (202 when the script is empty).
#[derive(Default)]
struct Receiver {
    got: Vec<(HeaderMap, serde_json::Value)>,
    script: VecDeque<(u16, Option<&'static str>)>,
}

type Shared = Arc<Mutex<Receiver>>;

async fn hook(State(r): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut r = r.lock().unwrap();
    r.got.push((
        headers,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    ));
    let (code, retry_after) = r.script.pop_front().unwrap_or((202, None));
    let mut resp = StatusCode::from_u16(code).unwrap().into_response();
    if let Some(ra) = retry_after {
        resp.headers_mut()
            .insert("retry-after", ra.parse().unwrap());
    }
    resp
}

/// Starts a receiver on 127.0.0.1 and returns its URL.
async fn receiver(script: &[(u16, Option<&'static str>)]) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Receiver {
        got: Vec::new(),
        script: script.iter().copied().collect(),
    }));
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), shared)
}

/// A demo workspace whose L1 and L2 tell `target` (configured by `target_toml`).
async fn ws_with(target_toml: &str, extra: &str) -> Ws {
    let ws = Ws::demo(60, 71).await;
    ws.edit_config(|t| {
        let ladder = "\n[[escalation.level]]\nname = \"L1\"\ntitle = \"standard support\"\ntimeout_minutes = 60\ntargets = [\"t\"]\n\
                      [[escalation.level]]\nname = \"L2\"\ntitle = \"technical support\"\ntimeout_minutes = 120\ntargets = [\"t\"]\n\
                      [[escalation.level]]\nname = \"L3\"\ntitle = \"engineering\"\ntimeout_minutes = 0\n";
        format!("{t}\n[notify]\nmax_attempts = 3\nbackoff_ms = 1000\n{extra}\n[notify.target.t]\n{target_toml}\n{ladder}")
    });
    ws
}

async fn first_alert(ctx: &cutover_core::engine::Ctx) -> (i64, String) {
    sqlx::query_as(
        "SELECT id, dedup_key FROM alerts WHERE status = 'triggered' ORDER BY id LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn slack_gets_text_and_blocks_once() {
    let (url, got) = receiver(&[]).await;
    let ws = ws_with(&format!("kind = \"slack\"\nurl = \"{url}\""), "").await;
    let ctx = ws.ctx().await;
    let (id, _) = first_alert(&ctx).await;
    alerts::act(&ctx, id, &Act::Acknowledge, "amara", Utc::now())
        .await
        .unwrap();
    let out = notify::deliver_due(&ctx, &http(), Utc::now())
        .await
        .unwrap();
    assert_eq!(out, vec![(out[0].0, Outcome::Delivered)]);
    assert!(
        notify::deliver_due(&ctx, &http(), Utc::now())
            .await
            .unwrap()
            .is_empty(),
        "delivered once"
    );
    let r = got.lock().unwrap();
    assert_eq!(r.got.len(), 1);
    let body = &r.got[0].1;
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("[WARNING] alert.acknowledged L1 standard support · customer "),
        "{text}"
    );
    assert_eq!(body["blocks"][0]["text"]["text"], body["text"]);
}

#[tokio::test]
async fn pagerduty_events_share_a_stable_dedup_key_and_carry_details() {
    let (url, got) = receiver(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let key = owner_only(dir.path(), "pd.key", "R0UT1NGKEY\n");
    let ws = ws_with(
        &format!(
            "kind = \"pagerduty\"\nurl = \"{url}\"\nrouting_key_file = \"{}\"",
            key.display()
        ),
        "",
    )
    .await;
    let ctx = ws.ctx().await;
    let (id, dedup) = first_alert(&ctx).await;
    alerts::act(
        &ctx,
        id,
        &Act::Escalate("customer called twice".into()),
        "amara",
        Utc::now(),
    )
    .await
    .unwrap();
    alerts::act(
        &ctx,
        id,
        &Act::Resolve("email fixed in the CRM".into()),
        "amara",
        Utc::now(),
    )
    .await
    .unwrap();
    let out = notify::deliver_due(&ctx, &http(), Utc::now())
        .await
        .unwrap();
    assert!(out.iter().all(|(_, o)| *o == Outcome::Delivered), "{out:?}");
    let r = got.lock().unwrap();
    let actions: Vec<&str> = r
        .got
        .iter()
        .map(|(_, b)| b["event_action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["trigger", "resolve"]);
    for (_, b) in &r.got {
        assert_eq!(b["routing_key"], "R0UT1NGKEY");
        assert_eq!(b["dedup_key"], dedup.as_str());
        assert_eq!(b["payload"]["source"], "cutover");
        assert_eq!(b["payload"]["severity"], "warning");
        let d = &b["payload"]["custom_details"];
        assert_eq!(d["rule"], "quarantined");
        assert!(
            d["segment"].is_string()
                && d.get("score").is_some()
                && d.get("previous_score").is_some()
        );
    }
    assert_eq!(r.got[0].1["payload"]["custom_details"]["level"], "L2");
    assert!(
        r.got[0].1["payload"]["summary"]
            .as_str()
            .unwrap()
            .contains("note: to L2 (technical support): customer called twice")
    );
}

fn owner_only(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

#[tokio::test]
async fn a_secret_from_the_environment_must_be_set() {
    let ws = ws_with("kind = \"slack\"\nurl_env = \"CUTOVER_TEST_SLACK_URL\"", "").await;
    let run = |set: bool| {
        let mut c = std::process::Command::new(common::bin());
        c.arg("--config")
            .arg(ws.config_path())
            .arg("status")
            .env("HOME", ws.path());
        if set {
            c.env("CUTOVER_TEST_SLACK_URL", "http://127.0.0.1:9/hook");
        } else {
            c.env_remove("CUTOVER_TEST_SLACK_URL");
        }
        c.output().unwrap()
    };
    let out = run(false);
    assert_eq!(out.status.code(), Some(2));
    let e = common::stderr(&out);
    assert!(
        e.contains("notify.target.t.url_env") && e.contains("CUTOVER_TEST_SLACK_URL is not set"),
        "{e}"
    );
    assert!(run(true).status.success());
}

#[tokio::test]
async fn webhook_is_signed_with_hmac_from_an_owner_only_file() {
    let (url, got) = receiver(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = owner_only(dir.path(), "hook.secret", "s3cret\n");
    use std::os::unix::fs::PermissionsExt;
    let ws = ws_with(
        &format!(
            "kind = \"webhook\"\nurl = \"{url}\"\nsecret_file = \"{}\"",
            secret.display()
        ),
        "",
    )
    .await;
    let ctx = ws.ctx().await;
    let (id, _) = first_alert(&ctx).await;
    alerts::act(&ctx, id, &Act::Acknowledge, "amara", Utc::now())
        .await
        .unwrap();
    notify::deliver_due(&ctx, &http(), Utc::now())
        .await
        .unwrap();
    let r = got.lock().unwrap();
    let (headers, body) = &r.got[0];
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(body.to_string().as_bytes());
    let want = format!(
        "sha256={}",
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    assert_eq!(headers["x-cutover-signature"].to_str().unwrap(), want);
    assert_eq!(body["event"], "alert.acknowledged");

    // The same file readable by others is refused at load, naming file, key and fix.
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = ws.cli(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    let e = common::stderr(&out);
    assert!(
        e.contains("notify.target.t.secret_file")
            && e.contains("chmod 600")
            && e.contains("hook.secret"),
        "{e}"
    );
}

#[tokio::test]
async fn retry_after_429_and_500_are_retried_400_is_dead_lettered() {
    let (url, got) = receiver(&[(429, Some("7")), (500, None), (400, None)]).await;
    let ws = ws_with(&format!("kind = \"slack\"\nurl = \"{url}\""), "").await;
    let ctx = ws.ctx().await;
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM alerts WHERE status = 'triggered' ORDER BY id LIMIT 2")
            .fetch_all(&ctx.state)
            .await
            .unwrap();
    alerts::act(&ctx, ids[0], &Act::Acknowledge, "amara", Utc::now())
        .await
        .unwrap();
    let t0 = Utc::now();
    // 429 with Retry-After: 7 → not before t0 + 7 s.
    let out = notify::deliver_due(&ctx, &http(), t0).await.unwrap();
    let Outcome::Retry(at, why) = &out[0].1 else {
        panic!("{out:?}")
    };
    assert_eq!(*at, t0 + Duration::seconds(7));
    assert!(
        why.contains("HTTP 429") && !why.contains("127.0.0.1"),
        "the URL stays out of messages: {why}"
    );
    assert!(
        notify::deliver_due(&ctx, &http(), t0 + Duration::seconds(6))
            .await
            .unwrap()
            .is_empty()
    );
    // 500 → retried with backoff (1 s doubled for the second attempt, plus jitter up to as much).
    let out = notify::deliver_due(&ctx, &http(), t0 + Duration::seconds(7))
        .await
        .unwrap();
    let Outcome::Retry(at, _) = &out[0].1 else {
        panic!("{out:?}")
    };
    let wait = (*at - (t0 + Duration::seconds(7))).num_milliseconds();
    assert!((2000..=4000).contains(&wait), "{wait}");
    // 400 → dead at once, never sent again.
    let out = notify::deliver_due(&ctx, &http(), t0 + Duration::seconds(60))
        .await
        .unwrap();
    assert!(
        matches!(&out[0].1, Outcome::Dead(w) if w.contains("HTTP 400 (not retried)")),
        "{out:?}"
    );
    assert!(
        notify::deliver_due(&ctx, &http(), t0 + Duration::hours(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(got.lock().unwrap().got.len(), 3);

    // The console shows the dead letter.
    let st = cutover_core::engine::status::status(&ctx.state)
        .await
        .unwrap();
    assert_eq!((st.notifications.dead, st.notifications.pending), (1, 0));
    let view = cutover_tui::snapshot::View {
        limit: 50,
        ..Default::default()
    };
    let snap = cutover_tui::snapshot::snapshot(&ctx.state, &view)
        .await
        .unwrap();
    let mut app = cutover_tui::app::App::new(
        "t".into(),
        "amara".into(),
        false,
        cutover_tui::theme::Theme::plain(),
        "2026-11-21".into(),
    );
    app.on_snapshot(Arc::new(snap));
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).unwrap();
    term.draw(|f| app.render(f)).unwrap();
    let top: String = (0..120)
        .map(|x| term.backend().buffer()[(x, 0)].symbol().to_string())
        .collect();
    assert!(top.contains("1 dead letter"), "{top}");

    // The retry budget: always 500, three attempts, then dead with the reason.
    got.lock()
        .unwrap()
        .script
        .extend([(500, None), (500, None), (500, None)]);
    alerts::act(&ctx, ids[1], &Act::Acknowledge, "amara", t0)
        .await
        .unwrap();
    let mut t = t0 + Duration::hours(2);
    let mut last = None;
    for _ in 0..3 {
        let out = notify::deliver_due(&ctx, &http(), t).await.unwrap();
        last = out.into_iter().next().map(|o| o.1);
        t += Duration::minutes(5);
    }
    assert!(
        matches!(&last, Some(Outcome::Dead(w)) if w.contains("gave up after 3 attempts")),
        "{last:?}"
    );
}

#[tokio::test]
async fn migrated_customers_are_told_once_each() {
    let (url, got) = receiver(&[]).await;
    let ws = ws_with(
        &format!("kind = \"slack\"\nurl = \"{url}\""),
        "moved = \"t\"",
    )
    .await;
    let ctx = ws.ctx().await;
    cutover_core::engine::run::run(
        &ctx,
        &cutover_core::engine::run::RunOpts {
            max_batches: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let migrated: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE status = 'migrated'")
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    for _ in 0..2 {
        notify::deliver_due(&ctx, &http(), Utc::now())
            .await
            .unwrap();
    }
    let r = got.lock().unwrap();
    let moved: Vec<&str> = r
        .got
        .iter()
        .filter(|(_, b)| {
            b["text"]
                .as_str()
                .unwrap_or("")
                .starts_with("customer.moved")
        })
        .map(|(_, b)| b["text"].as_str().unwrap())
        .collect();
    assert_eq!(moved.len() as i64, migrated, "{moved:?}");
    let mut unique = moved.clone();
    unique.dedup();
    assert_eq!(unique.len(), moved.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_send_once_and_a_sender_killed_mid_request_is_not_sent_again() {
    let (url, got) = receiver(&[]).await;
    let ws = ws_with(&format!("kind = \"slack\"\nurl = \"{url}\""), "").await;
    let ctx = ws.ctx().await;
    let (id, _) = first_alert(&ctx).await;
    alerts::act(&ctx, id, &Act::Acknowledge, "amara", Utc::now())
        .await
        .unwrap();
    // Two consoles deliver at the same moment: each message is claimed by one of them.
    let (now, one, two) = (Utc::now(), http(), http());
    let (a, b) = tokio::join!(
        notify::deliver_due(&ctx, &one, now),
        notify::deliver_due(&ctx, &two, now)
    );
    assert_eq!(a.unwrap().len() + b.unwrap().len(), 1);
    assert_eq!(got.lock().unwrap().got.len(), 1, "sent once");

    // A sender that claimed a message and died (as `tests/faults.rs` does with SIGKILL) leaves
    // it `sending`; once its deadline passes it is dead-lettered, never sent again.
    alerts::act(
        &ctx,
        id,
        &Act::Escalate("again".into()),
        "amara",
        Utc::now(),
    )
    .await
    .unwrap();
    // As a claim 30 s ago would have left it: the deadline is the claim plus 30 s.
    sqlx::query(
        "UPDATE notifications SET status = 'sending', attempts = 1, next_attempt_at = $1 WHERE status = 'pending'",
    )
    .bind(cutover_core::clock::fmt(Utc::now() + Duration::seconds(30)))
    .execute(&ctx.state)
    .await
    .unwrap();
    let early = notify::deliver_due(&ctx, &http(), Utc::now())
        .await
        .unwrap();
    assert!(early.is_empty(), "{early:?}");
    let sending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE status = 'sending'")
            .fetch_one(&ctx.state)
            .await
            .unwrap();
    assert_eq!(sending, 1, "still within its sender's deadline");
    let late = Utc::now() + Duration::seconds(60);
    assert!(
        notify::deliver_due(&ctx, &http(), late)
            .await
            .unwrap()
            .is_empty()
    );
    let (status, error): (String, String) = sqlx::query_as(
        "SELECT status, last_error FROM notifications WHERE attempts = 1 AND delivered_at IS NULL",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    assert_eq!(status, "dead");
    assert_eq!(error, notify::OUTCOME_UNKNOWN);
    assert_eq!(got.lock().unwrap().got.len(), 1, "not sent again");
}

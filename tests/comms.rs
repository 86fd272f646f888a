//! Customer communications: the shipped templates render with the customer's own facts
//! (`comms preview`), the pipeline's "moved" message carries the rendered welcome, and a bad
//! `[[communication]]` (a template that does not exist, an unknown placeholder, an offset before
//! the programme's day 1) exits 2 naming the key.

mod common;

use common::{Ws, stderr, stdout};

#[tokio::test]
async fn a_preview_fills_the_placeholders_from_the_state_and_moved_carries_the_welcome() {
    let ws = Ws::demo(30, 23).await;
    let out = ws.cli(&["run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ctx = ws.ctx().await;
    let (id, name, wave, migrated_at): (String, String, String, String) = sqlx::query_as(
        "SELECT legacy_id, name, segment, migrated_at FROM customers WHERE status = 'migrated' ORDER BY id LIMIT 1",
    )
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    let text = stdout(&ws.cli(&["comms", "preview", "--customer", &id, "--notice", "moved"]));
    assert!(text.starts_with(&format!("Hello {name},")), "{text}");
    assert!(
        text.contains(&format!("moved on {}", &migrated_at[..10])),
        "{text}"
    );
    assert!(!text.contains('{'), "every placeholder filled: {text}");
    let announcement = stdout(&ws.cli(&[
        "comms",
        "preview",
        "--customer",
        &id,
        "--notice",
        "announcement",
    ]));
    assert!(
        announcement.contains(&format!("Your wave, {wave},")),
        "{announcement}"
    );

    let payload: String = sqlx::query_scalar(
        "SELECT n.payload FROM notifications n JOIN customers c ON c.id = n.customer_id
         WHERE n.kind = 'moved' AND c.legacy_id = $1",
    )
    .bind(&id)
    .fetch_one(&ctx.state)
    .await
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
    let message = v["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(&format!("Hello {name},")), "{v}");
    assert!(message.contains("Welcome to the new platform"), "{v}");

    let unknown = ws.cli(&["comms", "preview", "--customer", &id, "--notice", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no such notice (there are announcement"),
        "{}",
        stderr(&unknown)
    );
}

#[tokio::test]
async fn a_bad_communication_exits_2_naming_the_key() {
    let ws = Ws::demo(10, 24).await;
    let base = std::fs::read_to_string(ws.config_path()).unwrap();
    let try_with = |entry: &str| {
        std::fs::write(ws.config_path(), format!("{base}\n{entry}")).unwrap();
        let out = ws.cli(&["status"]);
        (out.status.code(), stderr(&out))
    };
    let (code, e) = try_with(
        "[[communication]]\nname = \"letter\"\noffset_days = -1\nfrom = \"window\"\ntemplate = \"letters/none.txt\"\n",
    );
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("key `communication[0].template` of `letter`"),
        "{e}"
    );
    assert!(e.contains("neither a shipped template"), "{e}");

    std::fs::write(ws.path().join("letter.txt"), "Dear {nmae},\n").unwrap();
    let (code, e) = try_with(
        "[[communication]]\nname = \"letter\"\noffset_days = -1\nfrom = \"window\"\ntemplate = \"letter.txt\"\n",
    );
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("unknown placeholder {nmae}"), "{e}");

    // VIP's window opens on day 8: 14 days before it is day -6.
    let (code, e) = try_with(
        "[[communication]]\nname = \"announcement\"\noffset_days = -14\nfrom = \"window\"\ntemplate = \"announcement\"\n",
    );
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("key `communication[0].offset_days` of `announcement`"),
        "{e}"
    );
    assert!(e.contains("is day -6, before the programme's day 1"), "{e}");

    let (code, e) = try_with(
        "[[communication]]\nname = \"reminder\"\noffset_days = -1\nfrom = \"window\"\ntemplate = \"reminder\"\ntarget = \"nowhere\"\n",
    );
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("no `[notify.target.nowhere]`"), "{e}");

    let (code, e) = try_with(
        "[[communication]]\nname = \"reminder\"\noffset_days = -1\nfrom = \"window\"\ntemplate = \"reminder\"\n",
    );
    assert_eq!(code, Some(0), "a good entry loads: {e}");
}

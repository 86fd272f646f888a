//! Invalid workspaces exit with status 2 and a message that names the file, the key and the
//! fix. (Unknown keys: tests/cli.rs; weights: tests/health.rs; readable secrets: tests/notify.rs.)

mod common;

use common::{Ws, stderr};

fn refused(ws: &Ws, wants: &[&str]) {
    let out = ws.cli(&["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains("cutover.toml"), "names the file: {e}");
    for w in wants {
        assert!(e.contains(w), "{w:?} missing from: {e}");
    }
}

#[tokio::test]
async fn an_unreachable_source_names_its_key() {
    let ws = Ws::demo(10, 91).await;
    ws.edit_config(|t| {
        t.replace(
            "url = \"sqlite://legacy.db\"",
            "url = \"sqlite://no-such-legacy.db\"",
        )
    });
    refused(
        &ws,
        &["key `source.url`", "no-such-legacy.db", "fix the URL"],
    );
}

#[tokio::test]
async fn a_mapping_without_a_required_column_names_it() {
    let ws = Ws::demo(10, 92).await;
    ws.edit_config(|t| {
        t.replace(
            "SELECT client_id AS legacy_id, full_name AS name",
            "SELECT client_id AS id, full_name AS name",
        )
    });
    refused(
        &ws,
        &[
            "key `mapping.customers.query`",
            "returns no column legacy_id",
            "AS legacy_id",
        ],
    );
}

#[tokio::test]
async fn a_mapping_the_source_refuses_names_it() {
    let ws = Ws::demo(10, 93).await;
    ws.edit_config(|t| t.replace("FROM repair_tickets", "FROM repair_ticketz"));
    refused(&ws, &["key `mapping.repairs.query`", "repair_ticketz"]);
}

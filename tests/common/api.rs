//! The HTTP platform for tests (included only by the tests that use it, as
//! `#[path = "common/api.rs"] mod api;`, so the other test binaries do not build axum): the
//! server (`api_server.rs`), the `[target]` that points at it, and a demo workspace using it.

#![allow(dead_code)]

#[path = "api_server.rs"]
mod server;

pub use server::*;

/// `[target]` for the server at `url`: the example's (`assets/examples/http-platform.toml`) with
/// the URL and token file replaced, so the example is what the tests run.
pub fn http_target(url: &str, token_file: &std::path::Path) -> String {
    let t = include_str!("../../assets/examples/http-platform.toml");
    let t = &t[t
        .find("\n[target]\n")
        .expect("the example has a [target] table")..];
    // The limits of a test server on this machine, not of a real platform.
    t.replace("https://platform.example.com/api", url)
        .replace(
            "/etc/cutover/platform-token",
            &token_file.display().to_string(),
        )
        .replace("requests_per_second = 200", "requests_per_second = 5000")
}

/// A demo workspace of `customers` whose platform is the server, planned.
pub async fn workspace(
    customers: usize,
    seed: u64,
    flaky: bool,
) -> (crate::common::Ws, PlatformApi) {
    let ws = crate::common::Ws::demo(customers, seed).await;
    let api = start(flaky).await;
    let token = ws.path().join("platform-token");
    std::fs::write(&token, TOKEN).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    ws.edit_config(|t| {
        let start = t.find("[target]").unwrap();
        let end = start + t[start..].find("\n\n").unwrap();
        format!(
            "{}{}{}",
            &t[..start],
            http_target(&api.url, &token),
            &t[end..]
        )
    });
    (ws, api)
}

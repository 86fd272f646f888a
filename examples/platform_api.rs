//! The test platform API (`tests/common/api_server.rs`) as a program, for measuring cutover
//! against an HTTP platform: `cargo run --release --example platform_api -- [--flaky]`. It
//! prints its base URL and the bearer token, and serves until killed. See BENCHMARKS.md.

#[path = "../tests/common/api_server.rs"]
mod api_server;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let flaky = std::env::args().any(|a| a == "--flaky");
    let api = api_server::start(flaky).await;
    println!("{} {}", api.url, api_server::TOKEN);
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}

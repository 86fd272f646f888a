//! The real Telco export (../shared/data/telco_customers.csv) through the README's commands:
//! import, plan, run, validate. Skipped, saying so, when the file is not there.

mod common;

use std::path::Path;
use std::process::Command;

use common::{bin, stderr, stdout};

#[test]
fn telco_export_migrates_every_customer_but_the_eight_blank_totalcharges() {
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/telco_customers.csv");
    if !csv.exists() {
        eprintln!("SKIPPED: {} not found", csv.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("cutover.toml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/examples/telco.toml"),
        &cfg,
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(bin())
            .arg("--config")
            .arg(&cfg)
            .args(args)
            .env("HOME", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        out
    };
    let out = Command::new(bin())
        .args(["import", "csv"])
        .arg(&csv)
        .args(["--table", "telco", "--into"])
        .arg(dir.path().join("legacy.db"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("imported 4930 rows (21 columns)"));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&run(&["plan", "--json"]))).unwrap();
    assert_eq!(plan["customers"], 4930);
    assert_eq!(plan["quarantined"], 8);
    run(&["run"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&run(&["status", "--json"]))).unwrap();
    assert_eq!(v["customers"]["migrated"], 4922);
    assert_eq!(v["customers"]["failed"], 0);
    for s in v["segments"].as_array().unwrap() {
        assert!(
            s["customers"].as_i64().unwrap() > 100,
            "segment {} is populated",
            s["name"]
        );
    }
    let out = run(&["validate"]);
    assert!(stdout(&out).contains("validated 4922 migrated customers: 0 mismatched"));
    let q = tokio::runtime::Runtime::new().unwrap().block_on(common::sqlite_rows(
        &dir.path().join("state.db"),
        "SELECT COUNT(*) FROM customers WHERE status = 'quarantined' AND reason LIKE 'required:customers.totalcharges%'",
    ));
    assert_eq!(q.trim(), "8", "quarantined for the blank totalcharges rule");
}

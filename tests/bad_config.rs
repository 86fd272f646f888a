//! Invalid workspaces exit with status 2 and a message that names the file, the key and the
//! fix. One fixture per invalid config in `tests/bad_config/`: a complete config against the
//! demo's legacy database, each with one defect, whose `# expect:` lines say what the message
//! must contain (`# secret: FILE MODE` writes a secret file with that mode beside it).
//! Mappings the source refuses are checked here too, on the demo's own config.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Ws, stderr};

fn refused(ws: &Ws, config: &str, wants: &[&str]) {
    let out = ws
        .command_with(&ws.path().join(config), &["status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{config}: {}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains(config), "{config}: names the file: {e}");
    for w in wants {
        assert!(e.contains(w), "{config}: {w:?} missing from: {e}");
    }
}

#[tokio::test]
async fn each_invalid_config_fixture_exits_2_naming_file_key_and_fix() {
    let ws = Ws::demo(10, 90).await;
    let mut tried = 0;
    let mut fixtures: Vec<_> = std::fs::read_dir("tests/bad_config")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    fixtures.sort();
    for path in fixtures {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut wants = Vec::new();
        for line in text.lines() {
            if let Some(w) = line.strip_prefix("# expect: ") {
                wants.push(w.to_string());
            }
            if let Some(s) = line.strip_prefix("# secret: ") {
                let (file, mode) = s.split_once(' ').unwrap();
                let p = ws.path().join(file);
                std::fs::write(&p, "http://127.0.0.1:9/hook\n").unwrap();
                let mode = u32::from_str_radix(mode, 8).unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            }
        }
        assert!(!wants.is_empty(), "{name} has no `# expect:` line");
        std::fs::write(ws.path().join(&name), &text).unwrap();
        let wants: Vec<&str> = wants.iter().map(String::as_str).collect();
        refused(&ws, &name, &wants);
        tried += 1;
    }
    assert!(tried >= 5, "only {tried} fixtures");
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
        "cutover.toml",
        &["key `source.url`", "no-such-legacy.db", "fix the URL"],
    );
}

#[tokio::test]
async fn a_mapping_the_source_refuses_names_it() {
    let ws = Ws::demo(10, 93).await;
    ws.edit_config(|t| t.replace("FROM repair_tickets", "FROM repair_ticketz"));
    refused(
        &ws,
        "cutover.toml",
        &["key `mapping.repairs.query`", "repair_ticketz"],
    );
}

//! The layering the compiler is asked to keep: the engine crate (`cutover-core`) has no
//! terminal in its dependency tree, not even through another crate, and the console
//! (`cutover-tui`) does not know the command line (`cutover-cli`).

use std::process::Command;

/// The crates `package` depends on (normal and build dependencies, transitively), one per line.
fn tree(package: &str) -> String {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--locked",
            "--offline",
            "-p",
            package,
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn depends_on(tree: &str, krate: &str) -> bool {
    tree.lines()
        .any(|l| l.split_whitespace().next() == Some(krate))
}

#[test]
fn the_engine_crate_never_depends_on_a_terminal() {
    let core = tree("cutover-core");
    assert!(depends_on(&core, "sqlx"), "the tree was read:\n{core}");
    for ui in ["ratatui", "crossterm", "cutover-tui", "cutover-cli", "clap"] {
        assert!(!depends_on(&core, ui), "cutover-core depends on {ui}");
    }
}

#[test]
fn the_console_does_not_depend_on_the_command_line() {
    let tui = tree("cutover-tui");
    assert!(depends_on(&tui, "ratatui"), "the tree was read:\n{tui}");
    for above in ["cutover-cli", "clap"] {
        assert!(!depends_on(&tui, above), "cutover-tui depends on {above}");
    }
}

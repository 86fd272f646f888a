//! `cutover`: parses the command line and runs it; everything else is in the crates
//! (`cutover-cli` for the commands, `cutover-tui` for the console, `cutover-core` for the
//! engine).

fn main() -> std::process::ExitCode {
    cutover_cli::main()
}

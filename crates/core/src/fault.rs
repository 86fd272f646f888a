//! Fault injection for the crash-and-resume harness (`tests/faults.rs`) and the terminal tests.
//!
//! The engine calls [`point`] at the places where a crash matters: step boundaries, between
//! the platform's commit and the state's, inside a copy's open transaction, between a
//! webhook's answer and its record, between rollback chunks. Nothing happens unless the
//! process was started with `CUTOVER_FAULT`:
//!
//! - `kill@N`: the N-th point this process reaches (any name, counting from 1) sends SIGKILL to
//!   the process itself, after naming the point on stderr (`cutover: fault: SIGKILL at
//!   copy.chunk (point 7)`), so the harness knows where each kill landed.
//! - `panic@NAME`: the first point called NAME panics (the terminal tests use `render`).
//! - `stop@NAME#K`: the K-th point called NAME sends SIGSTOP to the process itself, after
//!   naming it on stderr: the process stalls, every thread with it (heartbeats included), until
//!   someone sends SIGCONT. The stall tests use it to let a lease expire at an exact place.
//!
//! A real SIGKILL rather than a panic or an early return: no destructor, no rollback, no
//! flush runs, exactly as with `kill -9` or a lost machine.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that arms a fault.
pub const ENV: &str = "CUTOVER_FAULT";

#[derive(Debug, PartialEq)]
enum Plan {
    Kill(u64),
    Panic(String),
    Stop(String, u64),
}

fn parse(spec: &str) -> Option<Plan> {
    let (what, at) = spec.trim().split_once('@')?;
    match what {
        "kill" => at.parse().ok().filter(|n| *n > 0).map(Plan::Kill),
        "panic" if !at.is_empty() => Some(Plan::Panic(at.to_string())),
        "stop" => {
            let (name, k) = at.split_once('#')?;
            let k = k.parse().ok().filter(|n| *n > 0)?;
            (!name.is_empty()).then(|| Plan::Stop(name.to_string(), k))
        }
        _ => None,
    }
}

static PLAN: LazyLock<Option<Plan>> = LazyLock::new(|| {
    let spec = std::env::var(ENV).ok()?;
    let plan = parse(&spec);
    if plan.is_none() {
        eprintln!(
            "cutover: {ENV}={spec:?} is not kill@N, panic@NAME or stop@NAME#K; no fault armed"
        );
    }
    plan
});

static REACHED: AtomicU64 = AtomicU64::new(0);
/// Points reached with the name a `stop@NAME#K` plan waits for.
static REACHED_NAMED: AtomicU64 = AtomicU64::new(0);

/// A place where the process may be made to die; free (one atomic load) when no fault is armed.
pub fn point(name: &str) {
    let Some(plan) = &*PLAN else { return };
    let n = REACHED.fetch_add(1, Ordering::SeqCst) + 1;
    match plan {
        Plan::Kill(at) if *at == n => {
            eprintln!("cutover: fault: SIGKILL at {name} (point {n})");
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::KILL,
            );
            // SIGKILL cannot be caught; this line is never reached.
            std::process::abort();
        }
        Plan::Panic(p) if p == name => panic!("injected fault at {name} ({ENV})"),
        // Counted only for points of the name it waits for.
        Plan::Stop(p, k) if p == name && REACHED_NAMED.fetch_add(1, Ordering::SeqCst) + 1 == *k => {
            eprintln!("cutover: fault: SIGSTOP at {name} #{k}");
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::STOP,
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_or_are_refused() {
        assert_eq!(parse("kill@7"), Some(Plan::Kill(7)));
        assert_eq!(parse("panic@render"), Some(Plan::Panic("render".into())));
        assert_eq!(parse("stop@step#2"), Some(Plan::Stop("step".into(), 2)));
        for bad in [
            "kill@0",
            "kill@x",
            "kill",
            "panic@",
            "boom@3",
            "",
            "stop@step",
            "stop@#2",
            "stop@s#0",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}

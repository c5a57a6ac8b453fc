//! How many heap allocations one `evaluate()` makes, on the bench's KMS-heavy mix
//! (`benches/cases/`).
//!
//! The workspace forbids `unsafe_code`, so a counting `#[global_allocator]` cannot be written here;
//! instead the test re-runs itself under valgrind (memcheck's "total heap usage" line) twice, once
//! with no evaluations and once with `LOOPS` passes over the mix, and divides the difference. Skipped,
//! with a message, when valgrind is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

#[path = "../benches/support/mod.rs"]
mod support;

use std::process::Command;

const LOOPS: usize = 200;
/// Upper bound on the average allocations per decision (measured: 37 for the 14 cases, 2.6 each;
/// no case above 4). The bound has margin; lower it as the hot path stops allocating.
const MAX_PER_DECISION: f64 = 4.0;
const CHILD_ENV: &str = "CUSTODY_ALLOC_COUNT_LOOPS";

/// Runs in the child: evaluates the mix `CUSTODY_ALLOC_COUNT_LOOPS` times. A no-op otherwise.
#[test]
fn alloc_count_child() {
    let Some(loops) = std::env::var(CHILD_ENV).ok().and_then(|n| n.parse::<usize>().ok()) else { return };
    let cases = support::load().unwrap();
    for c in &cases {
        c.check(&custody_policy::evaluate(&c.case)).unwrap();
    }
    for _ in 0..loops {
        for c in &cases {
            std::hint::black_box(custody_policy::evaluate(std::hint::black_box(&c.case)));
        }
    }
}

/// Total allocations of the child run with `loops` passes.
fn child_allocs(loops: usize) -> Option<u64> {
    let exe = std::env::current_exe().ok()?;
    let out = Command::new("valgrind")
        .args(["--tool=memcheck", "--error-exitcode=0"])
        .arg(exe)
        .args(["--exact", "alloc_count_child", "--test-threads=1", "-q"])
        .env(CHILD_ENV, loops.to_string())
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child under valgrind failed:\n{stderr}");
    let line = stderr.lines().find(|l| l.contains("total heap usage:"))?;
    let allocs = line.split("total heap usage:").nth(1)?.split_whitespace().next()?;
    allocs.replace(',', "").parse().ok()
}

#[test]
fn evaluate_allocates_at_most_a_few_times_per_decision() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("valgrind not installed: allocation count skipped");
        return;
    }
    let cases = support::load().unwrap().len();
    let (Some(base), Some(with)) = (child_allocs(0), child_allocs(LOOPS)) else {
        panic!("could not read valgrind's heap summary");
    };
    let per_decision = (with - base) as f64 / (LOOPS * cases) as f64;
    eprintln!("evaluate(): {per_decision:.2} allocations per decision ({cases} cases x {LOOPS} loops)");
    assert!(
        per_decision <= MAX_PER_DECISION,
        "evaluate() makes {per_decision:.2} allocations per decision, more than {MAX_PER_DECISION}"
    );
}

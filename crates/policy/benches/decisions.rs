//! Decisions per second on a KMS-heavy mix: one policy set (key policy modelled on the default key
//! policy plus the seeds' option-2 statements, three identity policies with variables and
//! StringLike/ArnLike/Bool/IpAddress conditions, two SCP levels with a region deny, two grants) and
//! the requests an acquisition makes against it (`benches/cases/`). Cases are parsed once; the
//! timed loop evaluates the whole mix, so criterion's element throughput is decisions per second.
//!
//! ```console
//! $ cargo bench -p custody-policy --bench decisions
//! ```
//!
//! Profiling driver: with `CUSTODY_BENCH_LOOPS=<n>` set, the binary skips criterion and evaluates
//! the mix `n` times (`CUSTODY_BENCH_MODE=explain` adds `explain`; `CUSTODY_BENCH_ONLY=<text>` keeps
//! the cases whose file name contains it), for perf, callgrind or valgrind's allocation count:
//!
//! ```console
//! $ CUSTODY_BENCH_LOOPS=0    valgrind target/release/deps/decisions-<hash>   # allocations of setup
//! $ CUSTODY_BENCH_LOOPS=1000 valgrind target/release/deps/decisions-<hash>   # … plus 1000 × the mix
//! ```

// A bench is a test program: a broken input must stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod support;

use criterion::{black_box, criterion_group, Criterion, Throughput};
use std::time::Duration;
use support::BenchCase;

fn load_checked() -> Vec<BenchCase> {
    let cases = support::load().unwrap_or_else(|e| panic!("bench cases: {e}"));
    assert!(cases.len() >= 8, "expected at least 8 bench cases, found {}", cases.len());
    // The bench must not measure a broken path: every case gets the decision its file expects.
    for c in &cases {
        if let Err(e) = c.check(&custody_policy::evaluate(&c.case)) {
            panic!("bench case does not decide as expected: {e}");
        }
    }
    cases
}

fn decisions(c: &mut Criterion) {
    let cases = load_checked();
    let mut group = c.benchmark_group("decisions");
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.bench_function("evaluate", |b| {
        b.iter(|| {
            for c in &cases {
                black_box(custody_policy::evaluate(black_box(&c.case)));
            }
        })
    });
    group.bench_function("evaluate+explain", |b| {
        b.iter(|| {
            for c in &cases {
                let case = black_box(&c.case);
                black_box(custody_policy::explain(case, &custody_policy::evaluate(case)));
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = decisions
}

/// Evaluates the mix `loops` times without criterion (for profilers and allocation counts).
fn driver(loops: u64) {
    let mut cases = load_checked();
    if let Ok(only) = std::env::var("CUSTODY_BENCH_ONLY") {
        cases.retain(|c| c.name.contains(&only));
    }
    let explain = std::env::var("CUSTODY_BENCH_MODE").is_ok_and(|m| m == "explain");
    let mut allowed = 0u64;
    for _ in 0..loops {
        for c in &cases {
            let d = custody_policy::evaluate(black_box(&c.case));
            allowed += u64::from(d.kind == custody_policy::DecisionKind::Allowed);
            if explain {
                black_box(custody_policy::explain(&c.case, &d));
            }
        }
    }
    println!("{} cases x {loops} loops: {allowed} allowed", cases.len());
}

fn main() {
    if let Some(loops) = std::env::var("CUSTODY_BENCH_LOOPS").ok().and_then(|n| n.parse().ok()) {
        driver(loops);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! Bytes per second of the two SHA-256s `custody image` needs per EBS block (the block's own and the
//! image's), side by side: two passes of the `sha2` crate, and one pass of
//! [`Sha256Stream::digest_and_update`]. Throughput is of the data, so a higher figure is fewer CPU
//! seconds per GiB imaged.
//!
//! ```console
//! $ cargo bench -p custody-sha256 --bench pair
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use custody_sha256::Sha256Stream;
use sha2::{Digest, Sha256};

const BLOCK: usize = 524_288;

fn pair(c: &mut Criterion) {
    let block: Vec<u8> = (0..BLOCK as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let mut group = c.benchmark_group("two-sha256-per-ebs-block");
    group.throughput(Throughput::Bytes(BLOCK as u64));
    group.bench_function("sha2-two-passes", |b| {
        let mut image = Sha256::new();
        b.iter(|| {
            let own = Sha256::digest(black_box(&block));
            image.update(black_box(&block));
            own
        })
    });
    group.bench_function("custody-sha256-one-pass", |b| {
        let mut image = Sha256Stream::new();
        b.iter(|| {
            let (own, next) = image.digest_and_update(black_box(&block));
            image = next;
            own
        })
    });
    group.finish();
}

criterion_group!(benches, pair);
criterion_main!(benches);

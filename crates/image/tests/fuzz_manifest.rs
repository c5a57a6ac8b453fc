//! Fuzzing the readers of what others wrote beside an image: the manifest and the block checksum file
//! (`custody verify` reads both, from wherever they came). Arbitrary bytes, a valid manifest mutated
//! with hostile values, bytes spliced into one: never a panic, and whatever is accepted holds.
//!
//! ```console
//! $ cargo test --workspace --test image -- fuzz_manifest::                               # 256 cases each
//! $ CUSTODY_FUZZ_SECONDS=450 target/debug/deps/image-<hash> fuzz_manifest:: --test-threads 1  # 4 tests, 30 min
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::fuzz_support;

use custody_image::fetch::MAX_VOLUME_SIZE_GIB;
use custody_image::verify::parse_blocks;
use custody_image::{Manifest, BLOCK_SIZE, GIB};
use fuzz_support::*;
use std::path::Path;

const KEYS: &[&str] = &[
    "format",
    "custody_version",
    "created_at",
    "case_id",
    "examiner",
    "source",
    "snapshot_id",
    "region",
    "account",
    "instance_id",
    "volume_id",
    "kms_key_arn",
    "acquisition_path",
    "aws_calls",
    "api",
    "step_id",
    "signer",
    "intended_at",
    "finished_at",
    "outcome",
    "request_id",
    "imaging",
    "started_at",
    "workers",
    "list_request_ids",
    "blocks_downloaded",
    "blocks_resumed",
    "image",
    "file",
    "size_bytes",
    "block_size",
    "volume_size_gib",
    "blocks_total",
    "blocks_with_data",
    "sparse_ranges",
    "offset",
    "length",
    "block_checksums",
    "method",
    "sha256",
    "md5",
    "sha1",
    "sha512",
    "hashes",
];

fn template() -> Value {
    json!({
        "format": "custody-image-manifest/1",
        "custody_version": "0.1.0",
        "created_at": "2026-01-01T00:00:00.000000Z",
        "case_id": "IR-42", "examiner": null,
        "source": {"snapshot_id": "snap-0123456789abcdef0", "region": "us-east-1", "account": "222222222222",
                   "instance_id": "i-0123456789abcdef0", "volume_id": null, "kms_key_arn": null, "acquisition_path": "1"},
        "aws_calls": [{"api": "ec2:CreateSnapshot", "step_id": "s", "account": "1", "region": "r", "signer": "x",
                       "intended_at": "t", "finished_at": null, "outcome": "ok", "request_id": "req"}],
        "imaging": {"started_at": "x", "finished_at": "y", "workers": 4, "list_request_ids": ["a"],
                    "blocks_downloaded": 2, "blocks_resumed": 0},
        "image": {"file": "snap.raw", "size_bytes": 2147483648u64, "block_size": 524288, "volume_size_gib": 2,
                  "blocks_total": 4096, "blocks_with_data": 2,
                  "sparse_ranges": [{"offset": 524288, "length": 524288}],
                  "block_checksums": {"file": "snap.blocks", "method": "m",
                                      "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
                  "hashes": {"sha256": "49bc20df15e412a64472421e13fe86ff1c5165e18b2afccf160d4dc19fe68a14",
                             "md5": "900150983cd24fb0d6963f7d28e17f72"}}
    })
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Parses; an accepted manifest must be one `verify` can use safely, and survive a round trip.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let file = Path::new("/evidence/snap.manifest.json");
    let manifest = match Manifest::parse(bytes, file) {
        Ok(m) => m,
        Err(e) => {
            let message = e.to_string();
            prop_assert!(message.starts_with("/evidence/snap.manifest.json: "), "{message}");
            return Ok(());
        }
    };
    let image = &manifest.image;
    prop_assert!(custody_image::ids::snapshot_id(&manifest.source.snapshot_id).is_ok());
    prop_assert!((1..=MAX_VOLUME_SIZE_GIB).contains(&image.volume_size_gib));
    prop_assert_eq!(image.size_bytes, image.volume_size_gib * GIB);
    prop_assert_eq!(image.blocks_total * BLOCK_SIZE, image.size_bytes);
    prop_assert!(image.blocks_with_data <= image.blocks_total);
    prop_assert!(image
        .sparse_ranges
        .iter()
        .all(|r| r.offset.checked_add(r.length).is_some_and(|e| e <= image.size_bytes)));
    for name in [&image.file, &image.block_checksums.file] {
        prop_assert!(!name.is_empty() && !name.contains('/') && name != "..", "{}", name);
    }
    prop_assert!(is_hex(&image.hashes.sha256, 64) && is_hex(&image.block_checksums.sha256, 64));
    prop_assert!(image.hashes.md5.as_deref().is_none_or(|h| is_hex(h, 32)));
    prop_assert!(image.hashes.sha1.as_deref().is_none_or(|h| is_hex(h, 40)));
    let again = Manifest::parse(manifest.to_json().as_bytes(), file).ok();
    prop_assert_eq!(again, Some(manifest), "the manifest as custody writes it reads back the same");
    Ok(())
}

#[test]
fn the_template_is_accepted() {
    let manifest = Manifest::parse(template().to_string().as_bytes(), Path::new("m.json")).unwrap();
    assert_eq!(manifest.image.blocks_total, 4096);
}

#[test]
fn manifests_of_arbitrary_bytes_never_panic() {
    fuzz(prop::collection::vec(any::<u8>(), 0..400), |bytes| check(&bytes));
}

#[test]
fn mutated_manifests_never_panic_and_what_is_accepted_is_usable() {
    fuzz(mutated(template(), KEYS), |value| check(value.to_string().as_bytes()));
}

#[test]
fn bytes_spliced_into_a_manifest_never_panic() {
    fuzz(spliced(serde_json::to_vec_pretty(&template()).unwrap()), |bytes| check(&bytes));
}

/// A block checksum line as custody writes it, or close to it.
fn block_line() -> impl Strategy<Value = String> {
    let index = prop_oneof![
        3 => (0u64..5000).prop_map(|i| i.to_string()),
        1 => select(HOSTILE_STRINGS).prop_map(str::to_string),
        1 => any::<u64>().prop_map(|i| i.to_string()),
    ];
    let sum = prop_oneof![
        3 => Just("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".to_string()),
        1 => select(HOSTILE_STRINGS).prop_map(str::to_string),
        1 => "[A-Za-z0-9+/=]{0,50}",
    ];
    let separator = prop_oneof![8 => Just(" "), 1 => Just("  "), 1 => Just("\t"), 1 => Just("")];
    (index, separator, sum).prop_map(|(i, s, c)| format!("{i}{s}{c}"))
}

#[test]
fn block_checksum_files_never_panic_and_what_is_accepted_is_ascending_inside_the_volume() {
    let total = prop_oneof![Just(0u64), Just(4096), any::<u64>()];
    let text = prop_oneof![
        prop::collection::vec(block_line(), 0..12).prop_map(|lines| lines.join("\n")),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    fuzz((text, total), |(text, total)| {
        if let Ok(list) = parse_blocks(&text, total) {
            prop_assert!(list.0.windows(2).all(|w| w[0].0 < w[1].0));
            prop_assert!(list.0.iter().all(|(i, _)| *i < total));
        }
        Ok(())
    });
}

//! Every integration test of custody-image in one test program: imaging against moto, hostile and
//! fuzzed answers, the files it writes, the manifest and checkpoint parsers.
//!
//! One program, not one per file: each program links the whole crate and its dependencies (the AWS
//! SDK among them) and compiles their generic code again, which made the test build minutes
//! longer; here the files are modules. Run one file's tests with a filter:
//! `cargo test --workspace --test image -- fuzz_checkpoint::`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod fuzz_support;
mod memory;
mod support;

mod fuzz_checkpoint;
mod fuzz_ebs_answers;
mod fuzz_manifest;
mod hostile_answers;
mod moto_direct;
mod moto_image;
mod moto_refusals;
mod output_files;

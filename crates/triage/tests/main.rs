//! Every integration test of custody-triage in one test program: the collection scripts, the
//! answers of SSM and S3 (fuzzed too), refusals, resume and truncation, against moto.
//!
//! One program, not one per file: each program links the whole crate and its dependencies (the AWS
//! SDK among them) and compiles their generic code again, which made the test build minutes
//! longer; here the files are modules. Run one file's tests with a filter:
//! `cargo test --workspace --test triage -- fuzz_answers::`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod support;

mod fuzz_answers;
mod fuzz_parse;
mod linux_script;
mod moto;
mod refusals;
mod resume;
mod s3_output;
mod truncation;
mod windows_script;

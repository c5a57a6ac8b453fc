//! Every integration test of custody-sim in one test program: the simulated cloud's EC2/EBS, KMS
//! and STS behaviour, its faults, the plans run on it, its CloudTrail record.
//!
//! One program, not one per file: each program links the whole crate and its dependencies (the AWS
//! SDK among them) and compiles their generic code again, which made the test build minutes
//! longer; here the files are modules. Run one file's tests with a filter:
//! `cargo test --workspace --test simulated_cloud -- sim_copy::`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod sim_copy;
mod sim_faults;
mod sim_identity;
mod sim_kms;
mod sim_plans;
mod sim_snapshots;
mod sim_trail;

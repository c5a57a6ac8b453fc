//! custody's access to AWS: the calls it makes, behind small async traits.
//!
//! custody decides offline (crates `policy` and `plan`) and touches AWS only through this crate. Every
//! AWS API call it makes is one method of a small trait per service ([`api`]): [`Ec2`], [`Kms`],
//! [`Iam`], [`Sts`], [`Organizations`], [`CloudTrail`], handed out per Region by a [`Cloud`], the
//! services of one identity. Three things implement them: the aws-sdk-rust adapter
//! ([`sdk::SdkCloud`], which also talks to a local emulator through `AWS_ENDPOINT_URL`), test fakes,
//! and — with the acquisition calls (issue 4) — a simulated multi-account cloud that authorizes every
//! call with the engine.
//!
//! Methods take and return plain data ([`types`]), never SDK types, so the other implementations
//! need not know the SDK. Failures are [`CloudError`]s that keep AWS's error code and request id and
//! say which kind of refusal they were: access denied, not found, throttled, credentials refused,
//! unreachable. Credentials never cross the traits: [`Cloud::assume_role`] returns another `Cloud`,
//! not keys.
//!
//! [`collect`](collect::collect) builds an inventory (`custody collect`) on these traits with
//! read-only calls; what it cannot read it lists as unknown and reports as a [`collect::Warning`].

pub mod api;
pub mod config;
pub mod ebs;
pub mod error;
pub mod policy_doc;
pub mod retry;
pub mod sdk;
pub mod sessions;
#[cfg(feature = "testing")]
pub mod testing;
pub mod triage;
pub mod types;

pub use api::{Cloud, CloudTrail, Ec2, Iam, Kms, Organizations, SessionName, Sts};
pub use error::{ApiError, CloudError, CloudResult};

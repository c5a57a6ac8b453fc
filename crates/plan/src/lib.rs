//! # custody-plan: the acquisition permission model
//!
//! custody proves, before it touches anything, that every call an acquisition makes will be allowed.
//! This crate turns what custody knows about the accounts involved into that proof:
//!
//! - [`inventory`]: what custody knows (principals and their policies, KMS keys with key policies and
//!   grants, instances and volumes, SCPs/RCPs, custody's configuration), read from a versioned JSON
//!   document (`docs/inventory-format.md`). What could not be read is marked unknown, and stays unknown.
//! - [`plan`]: chooses an acquisition path per volume and lays out the ordered steps, each with its
//!   AWS API calls and, for every call, the authorization requests AWS evaluates on the way,
//!   including the KMS calls EC2 makes on the caller's behalf (`docs/aws-authorization-map.md`).
//! - [`check`]: the preflight. Evaluates every request with the `custody-policy` engine against the
//!   inventory (plus the grants and keys the plan itself creates), and for each refusal works out the
//!   minimal fix and the alternatives the seeds offer ([`check::fix`]); [`report`] renders it.
//! - [`generate`]: least-privilege policies for exactly the features asked for: the forensic and
//!   source role policies, key-policy statements and `aws kms create-grant` commands, as JSON,
//!   CloudFormation YAML or Terraform HCL.
//! - [`text`]: the one sanitizer every human-facing output goes through, so that a value written by
//!   someone else (a tag, a Sid, a command line) cannot drive the examiner's terminal or hide itself.
//!
//! Like `custody-policy`, the crate is pure: no I/O, no async, no AWS SDK.

pub mod check;
pub mod generate;
pub mod inventory;
mod json_order;
pub mod key_access;
pub mod plan;
pub mod report;
pub mod text;

/// The case id and its one rule (crate `custody-ids`).
pub use custody_ids::{case_id, CaseId};

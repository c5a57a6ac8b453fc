//! # custody-policy: an offline IAM + KMS authorization engine
//!
//! custody must know, before it touches anything, whether every call an acquisition makes will be
//! allowed, and when not, which statement (or missing statement) is to blame. This crate decides one
//! request the way AWS does, from the policies and grants that bear on it, and says why.
//!
//! The pipeline has one module per stage:
//! - [`document`] parses policy JSON into a compiled model ([`pattern`] for wildcards and policy
//!   [`variables`], [`condition`] for operators, [`principal`] for the Principal element); every error
//!   names the JSON path ([`error`]);
//! - [`case`] parses a whole case: the request (with the context keys AWS derives from it, see
//!   [`context`]), identity policies, boundary, session policy, SCPs, RCPs, resource policy, VPC
//!   endpoint policy and KMS grants ([`kms`]);
//! - [`evaluate`](evaluate()) decides, returning a structured [`Decision`]: the statements that decided,
//!   or the gate that failed;
//! - [`explain`](explain()) puts the decision into words and into the `custody authz` JSON contract.
//!
//! The crate is pure: no I/O, no async, no AWS SDK. Policies are parsed once; evaluation compares
//! compiled patterns against the request and allocates only the lists of matching statements.
//! The rules, with the AWS documentation each comes from, are in `docs/semantics.md` and beside the
//! code that implements them.

pub mod case;
pub mod condition;
pub mod context;
pub mod decision;
pub mod document;
pub mod error;
mod evaluate;
mod explain;
pub mod kms;
mod nearmiss;
pub use nearmiss::near_misses;
pub mod pattern;
pub mod principal;
pub mod variables;

pub use case::{Case, Request};
pub use decision::{Decision, DecisionKind, Gate, GateKind, Hit, MissReason, NearMiss, Note, PolicyRef};
pub use document::{parse_policy, Policy, PolicyKind};
pub use error::ParseError;
pub use evaluate::evaluate;
pub use explain::{describe_ref, explain, ConditionReport, Explanation, GateReport, NearMissReport, StatementRef};

/// Parses a case from JSON text (serde_json's default nesting limit of 128 keeps hostile input from
/// exhausting the stack).
pub fn parse_case(text: &str) -> Result<Case, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ParseError {
        path: format!("line {} column {}", e.line(), e.column()),
        expected: "valid JSON".into(),
        found: Some(e.to_string()),
    })?;
    Case::from_json(&value)
}

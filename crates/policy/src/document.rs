//! Policy documents: the model, and the parser that turns JSON into it.
//!
//! Grammar: IAM User Guide, "Grammar of the IAM JSON policy language"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html>) and the element
//! reference pages. A policy is a JSON object, or a JSON string holding one (the form the IAM API
//! returns, URL-decoded). `Statement` is one object or an array; `Action`, `Resource` and the principal
//! lists are a string or an array of strings. Everything is compiled once here so that evaluation
//! only compares.

mod parse;

use crate::condition::Condition;
use crate::pattern::Pattern;
use crate::principal::PrincipalPattern;
pub use parse::parse_policy;

/// Which kind of policy a document is: it decides which elements are required or forbidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Identity-based: no Principal; Resource required.
    Identity,
    /// Permissions boundary: as identity-based.
    Boundary,
    /// Session policy: as identity-based.
    Session,
    /// Service control policy: no Principal.
    Scp,
    /// Resource control policy: Principal optional (`*`).
    Rcp,
    /// Resource-based (a KMS key policy among them): Principal required.
    Resource,
    /// VPC endpoint policy: Principal optional.
    VpcEndpoint,
}

/// `Version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2008-10-17`, also when Version is absent: policy variables are literal text.
    V2008,
    /// `2012-10-17`: policy variables are resolved.
    V2012,
}

/// `Effect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action`/`NotAction`, `Resource`/`NotResource`.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    /// The element is absent (only where the policy kind allows that): everything.
    Any,
    /// `Action` / `Resource`.
    Only(Vec<Pattern>),
    /// `NotAction` / `NotResource`.
    Not(Vec<Pattern>),
}

/// `Principal`/`NotPrincipal`.
#[derive(Debug, Clone, PartialEq)]
pub enum PrincipalSpec {
    /// Absent (identity-based policies, or where the kind defaults to everyone).
    Absent,
    Principal(Vec<PrincipalPattern>),
    NotPrincipal(Vec<PrincipalPattern>),
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// `Sid`, if any.
    pub sid: Option<Box<str>>,
    /// Position in the `Statement` array (0 when `Statement` is one object).
    pub index: usize,
    pub effect: Effect,
    pub principal: PrincipalSpec,
    pub action: Spec,
    pub resource: Spec,
    /// Every condition must hold.
    pub conditions: Vec<Condition>,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub version: Version,
    pub id: Option<Box<str>>,
    pub statements: Vec<Statement>,
    pub kind: PolicyKind,
}

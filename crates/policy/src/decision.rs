//! The outcome of an evaluation, as structured data: which statements decided it and, for an
//! implicit deny, which gate failed. The preflight turns these into fixes; [`crate::explain`] turns
//! them into words.

use crate::principal::PrincipalMatch;
use std::fmt;

/// The decision, in the IAM policy simulator's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionKind {
    Allowed,
    ExplicitDeny,
    ImplicitDeny,
}

impl DecisionKind {
    /// `allowed`, `explicitDeny`, `implicitDeny`.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Allowed => "allowed",
            DecisionKind::ExplicitDeny => "explicitDeny",
            DecisionKind::ImplicitDeny => "implicitDeny",
        }
    }
}

/// Where a policy sits in the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRef {
    Identity(usize),
    Boundary,
    Session,
    /// Level (0 = root), index at that level.
    Scp(usize, usize),
    Rcp(usize, usize),
    Resource,
    VpcEndpoint,
    Grant(usize),
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyRef::Identity(i) => write!(f, "identity_policies[{i}]"),
            PolicyRef::Boundary => f.write_str("permissions_boundary"),
            PolicyRef::Session => f.write_str("session_policy"),
            PolicyRef::Scp(l, i) => write!(f, "scps[{l}][{i}]"),
            PolicyRef::Rcp(l, i) => write!(f, "rcps[{l}][{i}]"),
            PolicyRef::Resource => f.write_str("resource_policy"),
            PolicyRef::VpcEndpoint => f.write_str("vpc_endpoint_policy"),
            PolicyRef::Grant(i) => write!(f, "grants[{i}]"),
        }
    }
}

/// A statement (or grant) that matched the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub policy: PolicyRef,
    /// The statement's index; `None` for a grant.
    pub statement: Option<usize>,
    /// How its Principal matched (resource-based policies only).
    pub via: Option<PrincipalMatch>,
}

impl fmt::Display for Hit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.statement {
            Some(s) => write!(f, "{}#{s}", self.policy),
            None => write!(f, "{}", self.policy),
        }
    }
}

/// The check that failed, for an implicit deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateKind {
    Scp,
    Rcp,
    VpcEndpointPolicy,
    KeyPolicy,
    ResourcePolicy,
    IdentityPolicy,
    PermissionsBoundary,
    SessionPolicy,
    RetireGrant,
}

impl GateKind {
    /// The name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            GateKind::Scp => "scp",
            GateKind::Rcp => "rcp",
            GateKind::VpcEndpointPolicy => "vpc_endpoint_policy",
            GateKind::KeyPolicy => "key_policy",
            GateKind::ResourcePolicy => "resource_policy",
            GateKind::IdentityPolicy => "identity_policy",
            GateKind::PermissionsBoundary => "permissions_boundary",
            GateKind::SessionPolicy => "session_policy",
            GateKind::RetireGrant => "retire_grant",
        }
    }
}

/// A failed gate: its kind and, for SCPs and RCPs, the level (0 = root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    pub kind: GateKind,
    pub level: Option<usize>,
}

/// Facts worth knowing beside the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// An identity-based policy allows, but the key policy does not let IAM policies count.
    IdentityAllowIgnoredByKeyPolicy,
    /// The resource policy allows only through the account, so the caller's IAM policies decide.
    ResourceAllowsAccountOnly,
    /// A grant names the caller and the operation but its constraint is not met by the request.
    GrantConstraintUnmet(usize),
    /// A grant names the caller but not this operation.
    GrantOperationMissing(usize),
    /// SCPs were not applied: the caller is a service-linked role (or not an IAM principal).
    ScpsNotApplicable,
    /// RCPs were not applied: the service does not support them, or the caller is exempt.
    RcpsNotApplicable,
    /// The request crosses accounts (caller's account differs from the resource's).
    CrossAccount,
    /// An identity-based policy allows assuming the role, but the role's trust policy must name the
    /// caller (or its account) even in the same account.
    IdentityAllowNeedsTrust,
    /// The action needs no permission and no policy can deny it (`sts:GetCallerIdentity`).
    NeedsNoPermission,
}

/// Why an Allow statement that covers the request's action and resource did not allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissReason {
    /// Its Principal does not name the caller (nor its account).
    Principal,
    /// This condition (index into the statement's conditions, in document order) does not hold.
    Condition(usize),
}

/// An Allow statement that came close: the first thing to change to make the request pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NearMiss {
    pub policy: PolicyRef,
    pub statement: usize,
    pub reason: MissReason,
}

/// The full outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub kind: DecisionKind,
    pub allowed_by: Vec<Hit>,
    pub denied_by: Vec<Hit>,
    pub gate: Option<Gate>,
    pub notes: Vec<Note>,
}

impl Decision {
    pub(crate) fn allowed(allowed_by: Vec<Hit>, notes: Vec<Note>) -> Decision {
        Decision { kind: DecisionKind::Allowed, allowed_by, denied_by: Vec::new(), gate: None, notes }
    }

    pub(crate) fn implicit(kind: GateKind, level: Option<usize>, notes: Vec<Note>) -> Decision {
        Decision {
            kind: DecisionKind::ImplicitDeny,
            allowed_by: Vec::new(),
            denied_by: Vec::new(),
            gate: Some(Gate { kind, level }),
            notes,
        }
    }
}

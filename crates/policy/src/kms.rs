//! KMS grants: who they authorise, for what, under which encryption-context constraints.
//!
//! KMS Developer Guide, "Grants in AWS KMS" (<https://docs.aws.amazon.com/kms/latest/developerguide/grants.html>):
//! a grant lets its grantee principal call exactly the listed operations on the key, also from another
//! account, without any key-policy or IAM-policy statement; grant constraints
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html#grant-constraints>)
//! hold when the request's encryption context contains (`EncryptionContextSubset`) or equals
//! (`EncryptionContextEquals`) the constraint's pairs. Retiring a grant is decided by the grant itself
//! ("Retiring and revoking grants", <https://docs.aws.amazon.com/kms/latest/developerguide/grant-delete.html>).

use crate::context::Context;
use crate::error::{reject_unknown_fields, JsonPath, ParseError};
use crate::principal::{Caller, PrincipalPattern};
use serde_json::{Map, Value};

/// The operations a grant can list (KMS API reference, CreateGrant `Operations`).
pub const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
];

/// Operations that take an encryption context, the only ones a constraint can be met for.
const EC_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
];

/// Encryption-context pairs (key, value), as given.
pub type ContextPairs = Vec<(Box<str>, Box<str>)>;

/// A grant constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// Every pair must be in the request's encryption context; it may hold more.
    Subset(ContextPairs),
    /// The request's encryption context must be exactly these pairs.
    Equals(ContextPairs),
}

/// A grant on a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub grant_id: Option<Box<str>>,
    pub grantee: PrincipalPattern,
    /// Exact KMS operation names.
    pub operations: Vec<Box<str>>,
    pub constraints: Option<Constraint>,
    pub retiring: Option<PrincipalPattern>,
    /// The account that created the grant.
    pub issuing_account: Option<Box<str>>,
}

/// Why a grant did not authorise a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantMiss {
    /// The caller is not the grantee.
    Grantee,
    /// The operation is not listed.
    Operation,
    /// The encryption context does not satisfy the constraint.
    Constraint,
}

impl Grant {
    /// Whether this grant authorises `caller` to call `operation` with `ctx`.
    pub fn authorises(&self, caller: &Caller, operation: &str, ctx: &Context) -> Result<(), GrantMiss> {
        if self.grantee.matches(caller).is_none() {
            return Err(GrantMiss::Grantee);
        }
        if !self.operations.iter().any(|op| **op == *operation) {
            return Err(GrantMiss::Operation);
        }
        if operation == "CreateGrant" {
            return self.may_create(ctx);
        }
        match &self.constraints {
            None => Ok(()),
            // "Grants with grant constraints can include the DescribeKey and RetireGrant operations,
            // but the constraint doesn't apply to these operations" (KMS API reference, CreateGrant,
            // `Constraints`: <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>).
            Some(_) if operation == "DescribeKey" || operation == "RetireGrant" => Ok(()),
            Some(c) if EC_OPERATIONS.contains(&operation) && constraint_holds(c, ctx) => Ok(()),
            Some(_) => Err(GrantMiss::Constraint),
        }
    }

    /// What a grant that lists CreateGrant lets its grantee create: "the operations in the child
    /// grant must be a subset of the operations in the parent grant", and a parent with constraints
    /// admits only a child whose constraints are at least as strict (KMS Developer Guide, "Granting
    /// CreateGrant permission",
    /// <https://docs.aws.amazon.com/kms/latest/developerguide/create-grant-overview.html#grant-creategrant>).
    /// The request describes the child grant by `kms:GrantOperations`, `kms:GrantConstraintType` and
    /// the constraint's pairs as `kms:EncryptionContext:<key>` (KMS condition keys); a request without
    /// `kms:GrantOperations` says nothing about them and is not refused for them, one without
    /// `kms:GrantConstraintType` creates a grant without constraints.
    fn may_create(&self, ctx: &Context) -> Result<(), GrantMiss> {
        if let Some(ops) = ctx.get("kms:GrantOperations") {
            if !ops.values().all(|op| self.operations.iter().any(|mine| **mine == *op)) {
                return Err(GrantMiss::Operation);
            }
        }
        let Some(parent) = &self.constraints else { return Ok(()) };
        let child_type = ctx.get("kms:GrantConstraintType").and_then(|v| v.as_single());
        let has = |k: &str, v: &str| ctx.encryption_context_value(k).and_then(|cv| cv.as_single()) == Some(v);
        let strict_enough = match (parent, child_type) {
            (_, None) => false,
            // A child constrained to a subset that holds every pair of the parent's, or to exactly
            // such a context, asks for no context the parent would refuse.
            (Constraint::Subset(pairs), Some("EncryptionContextSubset" | "EncryptionContextEquals")) => {
                pairs.iter().all(|(k, v)| has(k, v))
            }
            (Constraint::Equals(pairs), Some("EncryptionContextEquals")) => {
                pairs.iter().all(|(k, v)| has(k, v)) && ctx.encryption_context().count() == pairs.len()
            }
            _ => false,
        };
        if strict_enough {
            Ok(())
        } else {
            Err(GrantMiss::Constraint)
        }
    }

    /// Whether the grant itself names `caller` as able to retire it: the retiring principal (not an
    /// account, which delegates to IAM), or the grantee when the grant lists RetireGrant.
    pub fn retirable_by_name(&self, caller: &Caller) -> bool {
        let retiring = self
            .retiring
            .as_ref()
            .is_some_and(|r| matches!(r.matches(caller), Some(m) if m != crate::principal::PrincipalMatch::Account));
        let grantee = self.operations.iter().any(|op| &**op == "RetireGrant") && self.grantee.matches(caller).is_some();
        retiring || grantee
    }
}

fn constraint_holds(c: &Constraint, ctx: &Context) -> bool {
    // One indexed lookup per pair (this used to scan the whole context for each pair: O(pairs × keys)).
    let has = |k: &str, v: &str| ctx.encryption_context_value(k).and_then(|cv| cv.as_single()) == Some(v);
    match c {
        Constraint::Subset(pairs) => pairs.iter().all(|(k, v)| has(k, v)),
        Constraint::Equals(pairs) => {
            pairs.iter().all(|(k, v)| has(k, v)) && ctx.encryption_context().count() == pairs.len()
        }
    }
}

/// Parses `{"encryption_context_subset": {…}}` or `{"encryption_context_equals": {…}}`.
pub(crate) fn parse_constraints(obj: &Map<String, Value>, path: &JsonPath) -> Result<Option<Constraint>, ParseError> {
    let pairs = |name: &str, v: &Value| -> Result<ContextPairs, ParseError> {
        let p = path.key(name);
        let map = v.as_object().ok_or_else(|| ParseError::new(&p, "an object of encryption context pairs", Some(v)))?;
        map.iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.as_str().into(), s.as_str().into())),
                other => Err(ParseError::new(&p.key(k), "a string", Some(other))),
            })
            .collect()
    };
    reject_unknown_fields(obj, path, &["encryption_context_subset", "encryption_context_equals"])?;
    let subset = obj.get("encryption_context_subset").filter(|v| !v.is_null());
    let equals = obj.get("encryption_context_equals").filter(|v| !v.is_null());
    match (subset, equals) {
        (Some(_), Some(_)) => Err(ParseError::new(
            &path.key("encryption_context_equals"),
            "at most one of `encryption_context_subset` and `encryption_context_equals`",
            None,
        )),
        (Some(v), None) => Ok(Some(Constraint::Subset(pairs("encryption_context_subset", v)?))),
        (None, Some(v)) => Ok(Some(Constraint::Equals(pairs("encryption_context_equals", v)?))),
        (None, None) => Ok(None),
    }
}

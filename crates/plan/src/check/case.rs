//! The pieces of a `custody authz` case (docs/authz-case-format.md) as the checker builds them: the
//! JSON of each policy field, the request with the context keys AWS adds, and what could not be known.

use crate::inventory::KeyManager;
use crate::plan::{CaseRequest, ContextEntry, PolicyScope};
use custody_policy::case::Request;
use custody_policy::context::{Context, ContextValue};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Something the decision depends on that the inventory lists as unknown (or lacks), and which way it
/// could move the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unknown {
    pub what: String,
    /// It could hold an Allow (or be a grant) that the known policies lack.
    pub can_allow: bool,
    /// It could hold a Deny, or be a guardrail, that the known policies lack.
    pub can_deny: bool,
    /// It matters only when a policy of the case tests this context key (lower case, a prefix):
    /// unknown tags when a policy tests `aws:PrincipalTag/…`, unknown aliases `kms:ResourceAliases`.
    pub tested: Option<&'static str>,
}

impl Unknown {
    pub(crate) fn both(what: String) -> Unknown {
        Unknown { what, can_allow: true, can_deny: true, tested: None }
    }
    /// Guardrails (SCPs, RCPs, a permissions boundary) only ever limit.
    pub(crate) fn guardrail(what: String) -> Unknown {
        Unknown { what, can_allow: false, can_deny: true, tested: None }
    }
    /// Grants only ever allow: "grants cannot deny" (KMS Developer Guide, "Grants in AWS KMS",
    /// <https://docs.aws.amazon.com/kms/latest/developerguide/grants.html>).
    pub(crate) fn grant(what: String) -> Unknown {
        Unknown { what, can_allow: true, can_deny: false, tested: None }
    }
    /// Only when a policy tests the context key `prefix` (lower case).
    pub(crate) fn when_tested(mut self, prefix: &'static str) -> Unknown {
        self.tested = Some(prefix);
        self
    }
}

/// The JSON of each policy field of a case, as the case format names them.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Slots {
    pub identity: Vec<Value>,
    pub boundary: Option<Value>,
    pub scps: Option<Vec<Vec<Value>>>,
    pub rcps: Option<Vec<Vec<Value>>>,
    pub resource: Option<Value>,
    pub grants: Vec<Value>,
}

impl Slots {
    /// The whole case file (docs/authz-case-format.md) with `request`.
    pub fn case_json(&self, request: Value) -> Value {
        let mut m = Map::new();
        m.insert("request".into(), request);
        if !self.identity.is_empty() {
            m.insert("identity_policies".into(), Value::Array(self.identity.clone()));
        }
        if let Some(b) = &self.boundary {
            m.insert("permissions_boundary".into(), b.clone());
        }
        let levels = |l: &Vec<Vec<Value>>| Value::Array(l.iter().map(|v| Value::Array(v.clone())).collect());
        if let Some(s) = &self.scps {
            m.insert("scps".into(), levels(s));
        }
        if let Some(r) = &self.rcps {
            m.insert("rcps".into(), levels(r));
        }
        if let Some(r) = &self.resource {
            m.insert("resource_policy".into(), r.clone());
        }
        if !self.grants.is_empty() {
            m.insert("grants".into(), Value::Array(self.grants.clone()));
        }
        Value::Object(m)
    }
}

/// The KMS key a request is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyInfo {
    pub arn: String,
    pub account: String,
    pub region: String,
    pub manager: KeyManager,
    /// The step that creates it, for the temporary key (its policy is custody's own).
    pub planned_by: Option<String>,
    /// Its key policy is known.
    pub policy_known: bool,
}

impl KeyInfo {
    /// Whether custody can suggest changes to its key policy ("you can only change the key policy for
    /// a customer managed key", KMS Developer Guide,
    /// <https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying.html>).
    pub fn policy_editable(&self) -> bool {
        self.manager == KeyManager::Customer && self.policy_known
    }
}

/// A request in the shape the checker builds cases from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestSpec<'r> {
    pub principal: &'r str,
    pub action: &'r str,
    pub resource: &'r str,
    pub resource_account: Option<&'r str>,
    pub context: &'r BTreeMap<String, ContextEntry>,
    pub grant_id: Option<&'r str>,
    pub scope: PolicyScope,
}

/// The origin of the stand-in identity policy of a [`PolicyScope::Resource`] request.
pub(crate) const STAND_IN_IDENTITY: &str =
    "a stand-in that allows everything on the caller's side (this request is about the resource's side only)";
/// The origin of the stand-in resource policy of a [`PolicyScope::Identity`] request.
pub(crate) const STAND_IN_RESOURCE: &str =
    "a stand-in naming the caller's account, so that its own policies decide (this request is about the caller's side only)";

pub(crate) fn context_value(v: &ContextEntry) -> ContextValue {
    match v {
        ContextEntry::Single(s) => ContextValue::single(s.as_str()),
        ContextEntry::Multi(m) => ContextValue::multi(m.iter().map(String::as_str)),
    }
}

pub(crate) fn build_request(spec: &RequestSpec<'_>, defaults: &[(String, ContextValue)]) -> Result<Request, String> {
    let mut ctx = Context::new();
    for (k, v) in spec.context {
        ctx.set(k, context_value(v));
    }
    for (k, v) in defaults {
        ctx.set_default(k, v.clone());
    }
    let mut request = Request::new(spec.principal, spec.action, spec.resource, spec.resource_account, ctx)
        .map_err(|(field, expected)| format!("`request.{field}`: expected {expected}"))?;
    request.grant_id = spec.grant_id.map(Into::into);
    Ok(request)
}

/// The case's `request` object.
pub(crate) fn request_json(spec: &RequestSpec<'_>, defaults: &[(String, ContextValue)]) -> Value {
    let mut context = Map::new();
    for (k, v) in spec.context {
        context.insert(k.clone(), crate::plan::context_value(v));
    }
    for (k, v) in defaults {
        if !context.keys().any(|have| have.eq_ignore_ascii_case(k)) {
            let value = match v.as_single() {
                Some(s) if !v.is_multi() => Value::String(s.to_string()),
                _ => Value::Array(v.values().map(|s| Value::String(s.to_string())).collect()),
            };
            context.insert(k.clone(), value);
        }
    }
    CaseRequest {
        principal: spec.principal.to_string(),
        action: spec.action.to_string(),
        resource: spec.resource.to_string(),
        resource_account: spec.resource_account.map(str::to_string),
        context: (!context.is_empty()).then_some(context),
        grant_id: spec.grant_id.map(str::to_string),
    }
    .to_json()
}

/// Whether a policy origin is one of the stand-ins of a scoped request.
pub(crate) fn is_stand_in(origin: &str) -> bool {
    origin == STAND_IN_IDENTITY || origin == STAND_IN_RESOURCE
}

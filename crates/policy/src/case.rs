//! The authorization case: one request and every policy and grant that bears on it.
//!
//! This is the `custody authz` case file (docs/authz-case-format.md), parsed from JSON already in
//! memory: the crate does no I/O. Unknown fields are ignored so that a case can carry notes.

use crate::context::{Context, ContextValue};
use crate::decision::PolicyRef;
use crate::document::{parse_policy, Policy, PolicyKind, ServiceMask};
use crate::error::{reject_unknown_fields, JsonPath, ParseError};
use crate::kms::{Grant, GRANT_OPERATIONS};
use crate::principal::{is_account_id, Caller, PrincipalPattern};
use custody_ids::Arn;
use serde_json::{Map, Value};

/// One request to authorize.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub caller: Caller,
    /// As given in the case.
    pub principal: Box<str>,
    /// `service:Action` as given.
    pub action: Box<str>,
    /// The part before `:`, lower-cased.
    pub service: Box<str>,
    pub resource: Box<str>,
    /// The resource's account: given, or read from the ARN.
    pub resource_account: Option<Box<str>>,
    /// The context, derived keys included.
    pub context: Context,
    /// For `kms:RetireGrant`: the grant retired.
    pub grant_id: Option<Box<str>>,
    /// Where the action's name starts (after `service:`), found once.
    name_start: usize,
    /// The resource is a KMS key, found once.
    kms_key: bool,
    /// The request is decided by a role's trust policy, found once.
    role_trust: bool,
    /// The service's bit, tested against each statement's [`ServiceMask`].
    service_mask: ServiceMask,
}

impl Request {
    /// Builds a request and fills in the context keys that follow from it (unless `context` has them).
    pub fn new(
        principal: &str,
        action: &str,
        resource: &str,
        resource_account: Option<&str>,
        mut context: Context,
    ) -> Result<Request, (&'static str, String)> {
        let caller = Caller::parse(principal).map_err(|e| ("principal", e))?;
        let (service, name) = action
            .split_once(':')
            .filter(|(s, n)| !s.is_empty() && !n.is_empty())
            .ok_or(("action", "an action of the form `service:Action`, such as `kms:Decrypt`".to_string()))?;
        if resource.is_empty() {
            return Err(("resource", "a resource ARN, or `*`".into()));
        }
        let resource_account = resource_account.map(Into::into).or_else(|| arn_account(resource).map(Into::into));
        let name_start = service.len() + 1;
        let service: Box<str> = service.to_ascii_lowercase().into();
        let resource_arn = Arn::parse(resource).ok();
        let kms_key = &*service == "kms" && resource_arn.is_some_and(|a| a.resource().starts_with("key/"));
        let role_trust = &*service == "sts"
            && TRUST_POLICY_ACTIONS.iter().any(|a| name.eq_ignore_ascii_case(a))
            && resource_arn.is_some_and(|a| a.service() == "iam" && a.resource().starts_with("role/"));
        derive_context(&mut context, &caller, &service, resource_account.as_deref());
        let service_mask = ServiceMask::of_service(&service);
        Ok(Request {
            caller,
            principal: principal.into(),
            action: action.into(),
            service,
            resource: resource.into(),
            resource_account,
            context,
            grant_id: None,
            name_start,
            kms_key,
            role_trust,
            service_mask,
        })
    }

    /// The action's name after `service:`.
    pub fn action_name(&self) -> &str {
        self.action.get(self.name_start..).unwrap_or(&self.action)
    }

    /// The bit of the request's service in a statement's [`ServiceMask`].
    pub fn service_mask(&self) -> ServiceMask {
        self.service_mask
    }

    /// True when the resource is a KMS key (its key policy is the resource policy).
    pub fn is_kms_key(&self) -> bool {
        self.kms_key
    }

    /// True when the request is one a role's trust policy decides (its trust policy is the resource
    /// policy): assuming the role, or tagging or naming the session being made.
    pub fn is_role_trust(&self) -> bool {
        self.role_trust
    }
}

/// The STS actions a role's trust policy authorizes (IAM User Guide, "Policy elements: Principal" and
/// "Pass session tags in AWS STS",
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html#id_session-tags_permissions-required>).
const TRUST_POLICY_ACTIONS: &[&str] =
    &["AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "TagSession", "SetSourceIdentity", "SetContext"];

/// Context keys AWS adds to every request (IAM User Guide, "AWS global condition context keys",
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>), and
/// `kms:CallerAccount` for KMS (KMS Developer Guide, "kms:CallerAccount",
/// <https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-caller-account>).
fn derive_context(ctx: &mut Context, caller: &Caller, service: &str, resource_account: Option<&str>) {
    if let Some(arn) = caller.principal_arn() {
        ctx.set_default("aws:PrincipalArn", ContextValue::single(arn));
    }
    if let Some(account) = caller.account() {
        ctx.set_default("aws:PrincipalAccount", ContextValue::single(account));
        if service == "kms" {
            ctx.set_default("kms:CallerAccount", ContextValue::single(account));
        }
    }
    if let Some(t) = caller.principal_type() {
        ctx.set_default("aws:PrincipalType", ContextValue::single(t));
    }
    match caller {
        Caller::User { name, .. } => ctx.set_default("aws:username", ContextValue::single(&**name)),
        Caller::Root { account, .. } => ctx.set_default("aws:userid", ContextValue::single(&**account)),
        Caller::FederatedUser { account, name, .. } => {
            ctx.set_default("aws:userid", ContextValue::single(format!("{account}:{name}")))
        }
        Caller::Service(name) => ctx.set_default("aws:PrincipalServiceName", ContextValue::single(&**name)),
        _ => {}
    }
    let is_service = matches!(caller, Caller::Service(_));
    ctx.set_default("aws:PrincipalIsAWSService", ContextValue::single(if is_service { "true" } else { "false" }));
    if let Some(account) = resource_account {
        ctx.set_default("aws:ResourceAccount", ContextValue::single(account));
    }
}

/// The account field of an ARN, when it holds one.
pub fn arn_account(arn: &str) -> Option<&str> {
    Arn::parse(arn).ok()?.account()
}

/// A whole case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub request: Request,
    pub identity_policies: Vec<Policy>,
    pub permissions_boundary: Option<Policy>,
    pub session_policy: Option<Policy>,
    /// One entry per level of the caller's organization path, root first; `None`: not in an organization.
    pub scps: Option<Vec<Vec<Policy>>>,
    /// Likewise for the resource account.
    pub rcps: Option<Vec<Vec<Policy>>>,
    pub resource_policy: Option<Policy>,
    pub vpc_endpoint_policy: Option<Policy>,
    pub grants: Vec<Grant>,
}

impl Case {
    /// The parsed policy a decision's [`PolicyRef`] points at (`None` for a grant, or a reference
    /// into a policy the case does not hold).
    pub fn policy(&self, at: PolicyRef) -> Option<&Policy> {
        match at {
            PolicyRef::Identity(i) => self.identity_policies.get(i),
            PolicyRef::Boundary => self.permissions_boundary.as_ref(),
            PolicyRef::Session => self.session_policy.as_ref(),
            PolicyRef::Scp(l, i) => self.scps.as_ref()?.get(l)?.get(i),
            PolicyRef::Rcp(l, i) => self.rcps.as_ref()?.get(l)?.get(i),
            PolicyRef::Resource => self.resource_policy.as_ref(),
            PolicyRef::VpcEndpoint => self.vpc_endpoint_policy.as_ref(),
            PolicyRef::Grant(_) => None,
        }
    }

    /// Parses a case file's JSON.
    pub fn from_json(value: &Value) -> Result<Case, ParseError> {
        let top = JsonPath::default();
        let obj = value
            .as_object()
            .ok_or_else(|| ParseError::new(&top, "a case (a JSON object with a `request`)", Some(value)))?;
        let request = parse_request(obj, &top)?;
        let policies = |name: &str| -> Result<Vec<Policy>, ParseError> {
            let path = top.key(name);
            match present(obj, name) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, p)| parse_policy(p, PolicyKind::Identity, &path.index(i)))
                    .collect(),
                Some(v) => Err(ParseError::new(&path, "an array of policy documents", Some(v))),
            }
        };
        let one = |name: &str, kind: PolicyKind| -> Result<Option<Policy>, ParseError> {
            present(obj, name).map(|v| parse_policy(v, kind, &top.key(name))).transpose()
        };
        let levels = |name: &str, kind: PolicyKind| -> Result<Option<Vec<Vec<Policy>>>, ParseError> {
            let path = top.key(name);
            let Some(v) = present(obj, name) else { return Ok(None) };
            let levels = v.as_array().ok_or_else(|| {
                ParseError::new(
                    &path,
                    "an array with one array of policies per level of the organization path, root first",
                    Some(v),
                )
            })?;
            levels
                .iter()
                .enumerate()
                .map(|(l, level)| {
                    let lpath = path.index(l);
                    let items = level.as_array().ok_or_else(|| {
                        ParseError::new(&lpath, "an array of the policies attached at this level", Some(level))
                    })?;
                    items.iter().enumerate().map(|(i, p)| parse_policy(p, kind, &lpath.index(i))).collect()
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        };
        let key_account = request.resource_account.clone();
        let grants = match present(obj, "grants") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, g)| parse_grant(g, &top.key("grants").index(i), key_account.as_deref()))
                .collect::<Result<_, _>>()?,
            Some(v) => return Err(ParseError::new(&top.key("grants"), "an array of grants", Some(v))),
        };
        Ok(Case {
            identity_policies: policies("identity_policies")?,
            permissions_boundary: one("permissions_boundary", PolicyKind::Boundary)?,
            session_policy: one("session_policy", PolicyKind::Session)?,
            scps: levels("scps", PolicyKind::Scp)?,
            rcps: levels("rcps", PolicyKind::Rcp)?,
            resource_policy: one("resource_policy", PolicyKind::Resource)?,
            vpc_endpoint_policy: one("vpc_endpoint_policy", PolicyKind::VpcEndpoint)?,
            grants,
            request,
        })
    }
}

/// A field that is present and not `null`.
fn present<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn string_field<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    path: &JsonPath,
    what: &str,
) -> Result<Option<&'a str>, ParseError> {
    match present(obj, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(ParseError::new(&path.key(name), what, Some(v))),
    }
}

fn parse_request(obj: &Map<String, Value>, top: &JsonPath) -> Result<Request, ParseError> {
    let path = top.key("request");
    let req = match obj.get("request") {
        Some(Value::Object(r)) => r,
        Some(v) => return Err(ParseError::new(&path, "an object with principal, action and resource", Some(v))),
        None => return Err(ParseError::missing(&path, "an object with principal, action and resource")),
    };
    let required = |name: &str, what: &str| -> Result<&str, ParseError> {
        string_field(req, name, &path, what)?.ok_or_else(|| ParseError::missing(&path.key(name), what))
    };
    let principal = required("principal", "the caller's ARN (or a service principal, or `anonymous`)")?;
    let action = required("action", "an action such as `kms:Decrypt`")?;
    let resource = required("resource", "a resource ARN, or `*`")?;
    let resource_account = string_field(req, "resource_account", &path, "a 12-digit account id")?;
    if let Some(a) = resource_account.filter(|a| !is_account_id(a)) {
        return Err(ParseError::new(
            &path.key("resource_account"),
            "a 12-digit account id",
            Some(&Value::String(a.into())),
        ));
    }
    let context = match present(req, "context") {
        None => Context::new(),
        Some(Value::Object(map)) => parse_context(map, &path.key("context"))?,
        Some(v) => return Err(ParseError::new(&path.key("context"), "an object of context keys and values", Some(v))),
    };
    let grant_id = string_field(req, "grant_id", &path, "a grant id")?;
    let mut request = Request::new(principal, action, resource, resource_account, context)
        .map_err(|(field, expected)| ParseError::new(&path.key(field), expected, req.get(field)))?;
    request.grant_id = grant_id.map(Into::into);
    Ok(request)
}

fn parse_context(map: &Map<String, Value>, path: &JsonPath) -> Result<Context, ParseError> {
    let scalar = |v: &Value, p: &JsonPath| -> Result<String, ParseError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(ParseError::new(p, "a string, number or boolean", Some(other))),
        }
    };
    let mut ctx = Context::new();
    for (key, v) in map {
        let kpath = path.key(key);
        let value = match v {
            Value::Array(items) => ContextValue::multi(
                items.iter().enumerate().map(|(i, x)| scalar(x, &kpath.index(i))).collect::<Result<Vec<_>, _>>()?,
            ),
            other => ContextValue::single(scalar(other, &kpath)?),
        };
        ctx.set(key, value);
    }
    Ok(ctx)
}

/// Parses one grant in the case format's grant form (docs/authz-case-format.md), for documents that
/// embed grants (the inventory): errors name `path` and what was expected there. `key_account` is the
/// account of the key, the default `issuing_account`. Fields the grant form does not define are refused.
pub fn parse_grant_value(value: &Value, path: &JsonPath, key_account: Option<&str>) -> Result<Grant, ParseError> {
    parse_grant(value, path, key_account)
}

/// The fields of a grant in the case format.
const GRANT_FIELDS: &[&str] =
    &["grant_id", "grantee_principal", "retiring_principal", "operations", "constraints", "issuing_account"];

fn parse_grant(value: &Value, path: &JsonPath, key_account: Option<&str>) -> Result<Grant, ParseError> {
    let obj = value.as_object().ok_or_else(|| ParseError::new(path, "a grant object", Some(value)))?;
    // An unknown field is refused, never skipped: a constraint written under another name (AWS's own
    // `Constraints.EncryptionContextSubset`, say) would otherwise vanish and make the grant broader.
    reject_unknown_fields(obj, path, GRANT_FIELDS)?;
    let principal = |name: &str| -> Result<Option<PrincipalPattern>, ParseError> {
        let what = "a principal ARN (account root, IAM user or role, assumed-role session) or a service principal";
        let Some(text) = string_field(obj, name, path, what)? else { return Ok(None) };
        let parsed = if crate::principal::is_service_principal(text) {
            Ok(PrincipalPattern::Service(text.into()))
        } else {
            PrincipalPattern::parse_aws(text)
        };
        parsed.map(Some).map_err(|e| ParseError::new(&path.key(name), e, Some(&Value::String(text.into()))))
    };
    let grantee = principal("grantee_principal")?
        .ok_or_else(|| ParseError::missing(&path.key("grantee_principal"), "the grantee principal's ARN"))?;
    let retiring = principal("retiring_principal")?;
    let ops_path = path.key("operations");
    let operations = match present(obj, "operations") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v.as_str() {
                Some(op) if GRANT_OPERATIONS.contains(&op) => Ok(op.into()),
                _ => Err(ParseError::new(
                    &ops_path.index(i),
                    format!("a grant operation, exactly one of {}", GRANT_OPERATIONS.join(", ")),
                    Some(v),
                )),
            })
            .collect::<Result<Vec<Box<str>>, _>>()?,
        Some(v) => return Err(ParseError::new(&ops_path, "a non-empty array of grant operations", Some(v))),
        None => return Err(ParseError::missing(&ops_path, "a non-empty array of grant operations")),
    };
    let constraints = match present(obj, "constraints") {
        None => None,
        Some(Value::Object(c)) => crate::kms::parse_constraints(c, &path.key("constraints"))?,
        Some(v) => return Err(ParseError::new(&path.key("constraints"), "an object", Some(v))),
    };
    let grant_id = string_field(obj, "grant_id", path, "a string")?.map(Into::into);
    let issuing_account = match string_field(obj, "issuing_account", path, "a 12-digit account id")? {
        Some(a) if is_account_id(a) => Some(a.into()),
        Some(a) => {
            return Err(ParseError::new(
                &path.key("issuing_account"),
                "a 12-digit account id",
                Some(&Value::String(a.into())),
            ))
        }
        None => key_account.map(Into::into),
    };
    Ok(Grant { grant_id, grantee, operations, constraints, retiring, issuing_account })
}

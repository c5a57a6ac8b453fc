//! Running one call: the request id, the faults, the call's own logic, the authorization requests it
//! makes decided with the engine, and the log entry; plus the role sessions calls are made as and
//! the errors in AWS's words.
//!
//! A request is decided by [`custody_plan::check::authorize`], exactly as the preflight decides it,
//! against the world's inventory copy. `Outcome::Unknown` refuses: the world is what the inventory
//! says, and what it does not know cannot be taken as allowed.

use super::state::State;
use super::trail::{CallFacts, OnBehalf};
use super::{SimCall, SimDecision, SimWorld};
use custody_cloud::error::{ApiError, CloudError, CloudResult};
use custody_plan::check::{authorize, Outcome, RequestCheck};
use custody_plan::inventory::arn::{Arn, Identity};
use custody_plan::inventory::Inventory;
use custody_plan::plan::{AuthzRequest, ContextEntry};
use serde_json::Value;

/// An API operation: its IAM service prefix and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Api {
    pub service: &'static str,
    pub operation: &'static str,
}

impl Api {
    pub const fn new(service: &'static str, operation: &'static str) -> Api {
        Api { service, operation }
    }

    /// `ec2:CopySnapshot`.
    pub fn name(&self) -> String {
        format!("{}:{}", self.service, self.operation)
    }

    /// An error of this call with AWS's code and message.
    pub fn error(&self, code: &str, message: impl AsRef<str>) -> CloudError {
        CloudError::from_api(ApiError::new(self.service, self.operation, code, message.as_ref()))
    }

    /// A call the simulator does not model.
    pub fn not_simulated(&self, what: &str) -> CloudError {
        self.error("NotSimulated", format!("the simulated cloud does not model {}: {what}", self.name()))
    }

    /// AWS's throttling error for this service: EC2 `RequestLimitExceeded` (EC2 API Reference, "Error
    /// codes", <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>), KMS
    /// `ThrottlingException` (<https://docs.aws.amazon.com/kms/latest/developerguide/throttling.html>),
    /// STS and IAM `Throttling`.
    fn throttled(&self) -> CloudError {
        match self.service {
            "ec2" => self.error("RequestLimitExceeded", "Request limit exceeded."),
            "kms" => self.error("ThrottlingException", "Rate exceeded"),
            _ => self.error("Throttling", "Rate exceeded"),
        }
    }

    /// The refusal of a request, in the service's words: EC2 `UnauthorizedOperation` ("You are not
    /// authorized to perform this operation."), KMS and CloudTrail `AccessDeniedException`, STS and IAM
    /// `AccessDenied`, each naming the principal, action and resource as AWS's messages do.
    fn refused(&self, principal: &str, d: &SimDecision) -> CloudError {
        let detail = format!(
            "User: {principal} is not authorized to perform: {} on resource: {} ({})",
            d.action, d.resource, d.why
        );
        match self.service {
            "ec2" => self
                .error("UnauthorizedOperation", format!("You are not authorized to perform this operation. {detail}")),
            // CloudTrail, a JSON API like KMS: `AccessDeniedException` (CloudTrail API Reference,
            // "Common Errors", https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/CommonErrors.html).
            "kms" | "cloudtrail" => self.error("AccessDeniedException", detail),
            _ => self.error("AccessDenied", detail),
        }
    }
}

/// A role session: the identity a `Cloud` of the simulator acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// `arn:aws:iam::<acct>:role/<path/>name`.
    pub role_arn: String,
    /// `arn:aws:sts::<acct>:assumed-role/<name>/<session>` (no path: IAM User Guide, "IAM
    /// identifiers", <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>).
    pub arn: String,
    pub name: String,
    pub account: String,
    pub partition: String,
}

impl Session {
    pub fn new(role_arn: &str, session_name: &str) -> Session {
        let (partition, account, role) = match Identity::parse(role_arn) {
            Some(id) => (id.partition.to_string(), id.account.to_string(), id.name.to_string()),
            None => {
                // Not a role ARN: keep what can be read, so calls are still logged (and refused).
                let arn = Arn::parse(role_arn).ok();
                let partition = arn.map(|a| a.partition()).unwrap_or_default().to_string();
                let account = arn.and_then(|a| a.account()).unwrap_or_default().to_string();
                let name = role_arn.rsplit_once('/').map_or(role_arn, |(_, name)| name).to_string();
                (partition, account, name)
            }
        };
        let partition = if partition.is_empty() { "aws".to_string() } else { partition };
        Session {
            role_arn: role_arn.to_string(),
            arn: format!("arn:{partition}:sts::{account}:assumed-role/{role}/{session_name}"),
            name: session_name.to_string(),
            account,
            partition,
        }
    }
}

/// One call in progress: what the log will say about it.
pub(crate) struct Call {
    pub api: Api,
    pub principal: String,
    /// The account it acts in (a KMS call on another account's key acts in that account).
    pub account: String,
    pub region: String,
    pub params: String,
    pub decisions: Vec<SimDecision>,
    /// The request id AWS would give the call (receipts and errors carry it).
    pub request_id: String,
    /// What its CloudTrail record shows as `requestParameters` and `responseElements` (`trail`).
    pub request: Option<Value>,
    pub response: Option<Value>,
    /// The decisions that were a service's KMS requests on the caller's behalf (`trail`).
    pub on_behalf: Vec<OnBehalf>,
}

impl Call {
    /// A receipt for `value`, with this call's request id.
    pub fn receipt<T>(&self, value: T) -> custody_cloud::types::Receipt<T> {
        custody_cloud::types::Receipt::new(value, Some(self.request_id.clone()))
    }

    /// The parameters the call was sent, as its CloudTrail record shows them.
    pub fn sent(&mut self, request: Value) {
        self.request = Some(request);
    }

    /// What the call answered, as its CloudTrail record shows it (calls that change something).
    pub fn answered(&mut self, response: Value) {
        self.response = Some(response);
    }

    /// Decides every request, records each decision, and refuses with the first request not allowed.
    pub fn authorize(&mut self, st: &State, requests: &[AuthzRequest]) -> Result<(), CloudError> {
        match self.evaluate(st, requests) {
            Some(refused) => Err(self.api.refused(&self.principal, &refused)),
            None => Ok(()),
        }
    }

    /// Decides every request and records each decision; returns the first refused (for the requests
    /// a service makes on the caller's behalf, whose refusal does not fail the call itself).
    pub fn evaluate(&mut self, st: &State, requests: &[AuthzRequest]) -> Option<SimDecision> {
        let mut first = None;
        // Once per call, not per request: with a lag it is a copy of the inventory. A second view,
        // for what a service asks on the caller's behalf, only when that lags more.
        let direct = st.authorizing_inventory(false);
        let through_service = (st.service_authz_lag > 0).then(|| st.authorizing_inventory(true));
        for r in requests {
            let inv = match &through_service {
                Some(later) if r.context.contains_key("kms:ViaService") => later,
                _ => &direct,
            };
            let d = decide(inv, &self.api.name(), r);
            if r.context.contains_key("kms:ViaService") {
                let ebs_id = match r.context.get("kms:EncryptionContext:aws:ebs:id") {
                    Some(ContextEntry::Single(id)) => Some(id.clone()),
                    _ => None,
                };
                let key_error = key_state_error(st, &r.resource).map(str::to_string);
                self.on_behalf.push(OnBehalf { decision: self.decisions.len(), ebs_id, key_error });
            }
            if !d.allowed && first.is_none() {
                first = Some(d.clone());
            }
            self.decisions.push(d);
        }
        first
    }
}

/// The error KMS answers for a key in its state, whatever the policies say: disabled keys
/// `DisabledException`, keys pending deletion `KMSInvalidStateException` (KMS Developer Guide, "Key
/// states of AWS KMS keys", <https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html>).
fn key_state_error(st: &State, key_arn: &str) -> Option<&'static str> {
    match st.keys.get(key_arn).map(|k| k.state.as_str()) {
        None => Some("NotFoundException"),
        Some("Enabled") => None,
        Some("Disabled") => Some("DisabledException"),
        Some(_) => Some("KMSInvalidStateException"),
    }
}

/// Decides one request with the engine, as the preflight does, against `inv`: the grants and aliases
/// that authorize by now ([`State::authorizing_inventory`]).
fn decide(inv: &Inventory, call: &str, request: &AuthzRequest) -> SimDecision {
    let check = authorize(inv, call, request);
    SimDecision {
        action: request.action.clone(),
        resource: request.resource.clone(),
        allowed: check.outcome == Outcome::Allowed,
        why: why(&check),
    }
}

fn why(check: &RequestCheck) -> String {
    let summary = check.explanation.as_ref().map(|e| e.summary.clone());
    match check.outcome {
        Outcome::Allowed | Outcome::Denied => summary.unwrap_or_else(|| "no explanation".to_string()),
        Outcome::Unknown => format!("unknown in the inventory: {}", check.unknown.join("; ")),
    }
}

/// Runs one call of `session` in `region`: request id, faults, then `body`, which returns the value
/// and a summary for the log. Errors get the request id, as AWS's do.
pub(crate) fn run<T>(
    world: &SimWorld,
    session: &Session,
    api: Api,
    region: &str,
    params: String,
    body: impl FnOnce(&mut State, &mut Call) -> Result<(T, String), CloudError>,
) -> CloudResult<T> {
    let mut st = world.lock();
    let request_id = st.next_request_id();
    st.tick();
    let mut call = Call {
        api,
        principal: session.arn.clone(),
        account: session.account.clone(),
        region: region.to_string(),
        params,
        decisions: Vec::new(),
        request_id: request_id.clone(),
        request: None,
        response: None,
        on_behalf: Vec::new(),
    };
    // CloudTrail's eventTime: the wall clock when the call was made.
    let time = chrono::Utc::now().timestamp().saturating_add(st.clock_shift);
    let result = match fault(&mut st, api) {
        Some(e) => Err(e),
        None => body(&mut st, &mut call),
    };
    let result = result.map_err(|e| with_request_id(e, &request_id));
    let logged = match &result {
        Ok((_, summary)) => Ok(summary.clone()),
        Err(e) => Err(match e.api() {
            Some(a) => {
                format!("{}: {}", a.code.as_deref().unwrap_or("Error"), a.message.as_deref().unwrap_or_default())
            }
            None => e.to_string(),
        }),
    };
    let failed = result.as_ref().err();
    let index = st.calls.len();
    st.trail.push(CallFacts {
        call: index,
        time,
        request_id: request_id.clone(),
        role: session.role_arn.clone(),
        error: failed.map(|e| e.code().unwrap_or("InternalFailure").to_string()),
        request: call.request,
        response: if failed.is_none() { call.response } else { None },
        on_behalf: call.on_behalf,
    });
    st.calls.push(SimCall {
        principal: call.principal,
        api: api.name(),
        account: call.account,
        region: call.region,
        params: call.params,
        decisions: call.decisions,
        result: logged,
    });
    // A persistent world is on disk before the call answers, as AWS has done a call that answered.
    if let Err(source) = world.save(&st) {
        return Err(CloudError::Unreachable {
            service: api.service,
            operation: api.operation,
            source: Box::new(source),
        });
    }
    result.map(|(value, _)| value)
}

/// The fault to inject into a call of `api`, if any: throttling first (and counted down), then a
/// permanent failure.
fn fault(st: &mut State, api: Api) -> Option<CloudError> {
    let name = api.name();
    if let Some(left) = st.faults.throttle.get_mut(&name) {
        if *left > 0 {
            *left -= 1;
            return Some(api.throttled());
        }
    }
    st.faults.fail.get(&name).map(|(code, message)| api.error(code, message))
}

fn with_request_id(e: CloudError, id: &str) -> CloudError {
    let set = |mut a: ApiError| {
        a.request_id = Some(id.to_string());
        a
    };
    match e {
        CloudError::AccessDenied(a) => CloudError::AccessDenied(set(a)),
        CloudError::NotFound(a) => CloudError::NotFound(set(a)),
        CloudError::Throttled(a) => CloudError::Throttled(set(a)),
        CloudError::Unauthenticated(a) => CloudError::Unauthenticated(set(a)),
        CloudError::Api(a) => CloudError::Api(set(a)),
        other => other,
    }
}

/// `ec2.<region>.amazonaws.com`: the `kms:ViaService` of the KMS requests EBS makes (KMS Developer
/// Guide, "kms:ViaService", <https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service>).
pub(crate) fn via_ec2(region: &str) -> String {
    format!("ec2.{region}.amazonaws.com")
}

/// `arn:<p>:ec2:<region>::snapshot/<id>`: snapshot ARNs carry no account (map §0).
pub(crate) fn snapshot_arn(partition: &str, region: &str, id: &str) -> String {
    format!("arn:{partition}:ec2:{region}::snapshot/{id}")
}

/// The Region field of an ARN.
pub(crate) fn arn_region(arn: &str) -> &str {
    Arn::parse(arn).ok().and_then(|a| a.region()).unwrap_or_default()
}

/// The account field of an ARN.
pub(crate) fn arn_account(arn: &str) -> &str {
    Arn::parse(arn).ok().and_then(|a| a.account()).unwrap_or_default()
}

/// Tags as the request builders take them.
pub(crate) fn tag_pairs(tags: &std::collections::BTreeMap<String, String>) -> Vec<(String, String)> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

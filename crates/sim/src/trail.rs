//! CloudTrail's record of the simulated cloud: a record for every call it answered (refused ones
//! too), and one for every KMS request a service made on the caller's behalf, in AWS's record format
//! (CloudTrail User Guide, "CloudTrail record contents",
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>),
//! in every account whose event history AWS puts it in; and LookupEvents over them.
//!
//! Nothing here is stored as JSON: the state keeps, per call, the [`CallFacts`] the call log
//! ([`SimCall`]) does not hold (the time, the request id, the parameters sent, what came back, which
//! decisions were a service's requests), and the records are derived from both when asked, so a world
//! kept in a file stays small. Event ids are uuid-shaped counters over the records in order, so the
//! same world gives the same ids every time.
//!
//! What AWS documents, and what is inferred:
//! - `requestID` is the call's, the one its receipt or error carries. A KMS request EC2 makes on the
//!   caller's behalf carries the request id of the EC2 call, as the `CreateGrant` record of KMS's
//!   "Amazon EC2 example two" does (<https://docs.aws.amazon.com/kms/latest/developerguide/ct-ec2two.html>;
//!   its `GenerateDataKeyWithoutPlaintext` record shows an id of another form, so this is partly
//!   inferred).
//! - A service's KMS requests: `userIdentity` is the caller's session (EC2 acts "on behalf of the
//!   customer", ct-ec2two); `invokedBy` "The name of the AWS service that made the request"
//!   (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>)
//!   and `sourceIPAddress` ("For services in AWS, only the DNS name is displayed", record contents)
//!   are `ec2.amazonaws.com`. ct-ec2two's records show neither: inferred.
//! - `kms:ReEncryptFrom` and `kms:ReEncryptTo` on a key in one call are one `ReEncrypt` record: they
//!   are the two permissions of the one ReEncrypt operation, whose record names the source and the
//!   destination key (<https://docs.aws.amazon.com/kms/latest/developerguide/ct-reencrypt.html>). The
//!   other requests are named by their operation (`kms:Decrypt` → `Decrypt`).
//! - "Cross-account operations on KMS keys are logged in both the caller account and the KMS key owner
//!   account. However, cross-account AWS KMS requests that are rejected because access is denied are
//!   logged only in the caller's account" (KMS Developer Guide,
//!   <https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html>); the two
//!   records share a `sharedEventID` (record contents).
//! - AssumeRole of another account's role "is logged in the calling account and the account where
//!   the AWS STS operation is performed", the role's account seeing an `AWSAccount` identity (IAM User
//!   Guide, <https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html>). A refused
//!   one is recorded in the caller's account only, as KMS does: inferred.
//! - `errorCode`: EC2's codes carry `Client.` (or `Server.` for its faults): "error codes are indicated
//!   as either client or server", `Client.UnauthorizedOperation` (EC2 Developer Guide,
//!   <https://docs.aws.amazon.com/ec2/latest/devguide/query-api-troubleshooting.html>). An authorization
//!   refusal of the other services is recorded `AccessDenied`, IAM's and STS's own error code; KMS's
//!   examples show no refusal (their other failures keep the exception's name, e.g.
//!   `KMSInvalidStateException`, <https://docs.aws.amazon.com/kms/latest/developerguide/ct-decrypt.html>),
//!   so `AccessDenied` for KMS and CloudTrail (whose API says `AccessDeniedException`) is inferred.
//! - `requestParameters` carry what custody sends, named as the API references name the parameters
//!   in lowerCamelCase; the exact nesting CloudTrail writes for each API is documented only for the
//!   examples AWS publishes, so the shapes of the others are custody's. `resources` are given for KMS
//!   (the key ARN, as every KMS example) and STS (the role, `AWS::IAM::Role`), not for EC2, whose
//!   records carry ids in their parameters. `sourceIPAddress` of a direct call is 192.0.2.0 (a
//!   documentation address, as in AWS's examples), its `userAgent` custody's.
//!
//! LookupEvents ("CloudTrail API Reference",
//! <https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html>): the records
//! of one account and Region between the start and end times (both included), newest first, with one
//! attribute: `Username` is the session name for an assumed role, as the AWS CLI's `lookup-events`
//! example shows (<https://docs.aws.amazon.com/cli/latest/reference/cloudtrail/lookup-events.html>);
//! `ResourceName` any ARN among `resources` or any id or ARN in the parameters and response (what
//! CloudTrail extracts as an event's resources is not documented: inferred).

use super::SimCall;
use chrono::DateTime;
use custody_cloud::types::{EventLookup, LookedUpEvent, LookupKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The record format version written.
const EVENT_VERSION: &str = "1.11";

/// A documentation address (RFC 5737), the source of every direct call.
const SOURCE_IP: &str = "192.0.2.0";

const USER_AGENT: &str = "custody (simulated cloud)";

/// What a call's records need beyond its log entry, kept in the world's state for every call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct CallFacts {
    /// Its index in the call log.
    pub call: usize,
    /// When it was made: seconds since the Unix epoch by the wall clock (shifted, see
    /// `SimWorld::shift_clock`).
    pub time: i64,
    pub request_id: String,
    /// The role of the session that made it (with its path, which a session ARN does not carry).
    pub role: String,
    /// AWS's error code, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `requestParameters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    /// `responseElements` (a call that changes something, when it succeeded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// The KMS requests a service made on the caller's behalf during the call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_behalf: Vec<OnBehalf>,
}

/// A KMS request a service made on the caller's behalf (one with `kms:ViaService`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OnBehalf {
    /// Its decision's index among the call's decisions (action, key, allowed, why).
    pub decision: usize,
    /// The `aws:ebs:id` of its encryption context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_id: Option<String>,
    /// The error KMS answers for the key's state although the request is allowed
    /// (`DisabledException`, `KMSInvalidStateException`, `NotFoundException`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_error: Option<String>,
}

/// `eventTime` as CloudTrail writes it.
fn event_time(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_default()
}

/// A stable hash (FNV-1a) for the ids derived from names.
fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A role id's 17 characters after `AROA`, derived from the name so it is stable.
pub(crate) fn role_id_suffix(name: &str) -> String {
    format!("{:017X}", fnv(name)).chars().take(17).collect()
}

/// The access key id of a session's temporary credentials: `ASIA` and 16 characters.
fn access_key_id(session_arn: &str) -> String {
    format!("ASIA{:016X}", fnv(session_arn))
}

/// The error code a record shows for a call of `service` that answered `code`.
pub(crate) fn record_error_code(service: &str, code: &str) -> String {
    const SERVER: &[&str] = &["InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable"];
    match service {
        "ec2" if SERVER.contains(&code) => format!("Server.{code}"),
        "ec2" => format!("Client.{code}"),
        _ if custody_cloud::error::is_access_denied_code(code) => "AccessDenied".to_string(),
        _ => code.to_string(),
    }
}

/// Whether an operation only reads (`readOnly`): the describing, getting and listing calls, and KMS's
/// cryptographic operations, which KMS's examples record read-only (`Decrypt`, `ReEncrypt`, ct-ec2two's
/// `GenerateDataKeyWithoutPlaintext`; `CreateGrant` is not). AssumeRole is recorded read-only, as
/// CloudTrail shows it (inferred: the IAM examples leave the field out).
fn read_only(operation: &str) -> bool {
    ["Describe", "Get", "List", "Lookup", "GenerateDataKey"].iter().any(|p| operation.starts_with(p))
        || matches!(operation, "Decrypt" | "Encrypt" | "ReEncrypt" | "AssumeRole")
}

/// A session ARN's parts: (partition, account, role name, session name).
fn session_parts(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let mut fields = arn.splitn(6, ':');
    let (_, partition, _, _, account, resource) =
        (fields.next()?, fields.next()?, fields.next()?, fields.next()?, fields.next()?, fields.next()?);
    let rest = resource.strip_prefix("assumed-role/")?;
    let (role, session) = rest.split_once('/')?;
    Some((partition, account, role, session))
}

/// The `userIdentity` of a role session (CloudTrail User Guide, "userIdentity with temporary security
/// credentials"), with `invokedBy` when a service made the request.
fn user_identity(session_arn: &str, role_arn: &str, created: i64, invoked_by: Option<&str>) -> Value {
    let Some((partition, account, role, session)) = session_parts(session_arn) else {
        return json!({"type": "Unknown", "arn": session_arn});
    };
    let role_arn =
        if role_arn.is_empty() { format!("arn:{partition}:iam::{account}:role/{role}") } else { role_arn.to_string() };
    let role_id = format!("AROA{}", role_id_suffix(role));
    let mut id = json!({
        "type": "AssumedRole",
        "principalId": format!("{role_id}:{session}"),
        "arn": session_arn,
        "accountId": account,
        "accessKeyId": access_key_id(session_arn),
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": role_arn, "accountId": account,
                              "userName": role},
            "attributes": {"creationDate": event_time(created), "mfaAuthenticated": "false"}
        }
    });
    if let (Some(service), Some(map)) = (invoked_by, id.as_object_mut()) {
        map.insert("invokedBy".into(), json!(service));
    }
    id
}

/// A key ARN's account and Region.
fn key_account_region(arn: &str) -> (&str, &str) {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    (fields.get(4).copied().unwrap_or_default(), fields.get(3).copied().unwrap_or_default())
}

fn resource(arn: &str) -> Value {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    let account = fields.get(4).copied().unwrap_or_default();
    let kind = match (fields.get(2).copied(), fields.get(5).copied()) {
        (Some("kms"), Some(r)) if r.starts_with("key/") => Some("AWS::KMS::Key"),
        (Some("iam"), Some(r)) if r.starts_with("role/") => Some("AWS::IAM::Role"),
        _ => None,
    };
    match kind {
        Some(kind) => json!({"ARN": arn, "accountId": account, "type": kind}),
        None => json!({"ARN": arn, "accountId": account}),
    }
}

/// One record before it is given its event ids: the accounts whose history holds it, and its body.
struct Draft {
    accounts: Vec<String>,
    body: Map<String, Value>,
    /// The body for the second account, when it differs (AssumeRole's `AWSAccount` identity).
    other_body: Option<Map<String, Value>>,
}

/// The fields every record has.
#[allow(clippy::too_many_arguments, reason = "one record's fields, named where they are given")]
fn body(
    identity: Value,
    time: i64,
    service: &str,
    operation: &str,
    region: &str,
    source: &str,
    agent: &str,
    request_id: &str,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("eventVersion".into(), json!(EVENT_VERSION));
    m.insert("userIdentity".into(), identity);
    m.insert("eventTime".into(), json!(event_time(time)));
    m.insert("eventSource".into(), json!(format!("{service}.amazonaws.com")));
    m.insert("eventName".into(), json!(operation));
    m.insert("awsRegion".into(), json!(region));
    m.insert("sourceIPAddress".into(), json!(source));
    m.insert("userAgent".into(), json!(agent));
    m.insert("requestID".into(), json!(request_id));
    m.insert("readOnly".into(), json!(read_only(operation)));
    m.insert("eventType".into(), json!("AwsApiCall"));
    m.insert("managementEvent".into(), json!(true));
    m.insert("eventCategory".into(), json!("Management"));
    m
}

fn with_error(m: &mut Map<String, Value>, code: &str, message: &str) {
    m.insert("errorCode".into(), json!(code));
    m.insert("errorMessage".into(), json!(message));
}

/// The record of the call itself.
fn call_draft(c: &SimCall, f: &CallFacts, created: i64) -> Draft {
    let (service, operation) = c.api.split_once(':').unwrap_or(("", c.api.as_str()));
    let caller = session_parts(&c.principal).map(|p| p.1).unwrap_or_default().to_string();
    let identity = user_identity(&c.principal, &f.role, created, None);
    let mut m = body(identity, f.time, service, operation, &c.region, SOURCE_IP, USER_AGENT, &f.request_id);
    m.insert("requestParameters".into(), f.request.clone().unwrap_or(Value::Null));
    let error = f.error.as_deref().map(|code| record_error_code(service, code));
    match (&error, &c.result) {
        (Some(code), Err(text)) => {
            let message = text.split_once(": ").map_or(text.as_str(), |(_, m)| m);
            with_error(&mut m, code, message);
        }
        _ => {
            m.insert("responseElements".into(), f.response.clone().unwrap_or(Value::Null));
        }
    }
    if matches!(service, "kms" | "sts") {
        let behalf: Vec<usize> = f.on_behalf.iter().map(|o| o.decision).collect();
        let mut arns: Vec<&str> = Vec::new();
        for (i, d) in c.decisions.iter().enumerate() {
            if !behalf.contains(&i) && d.resource.starts_with("arn:") && !arns.contains(&d.resource.as_str()) {
                arns.push(&d.resource);
            }
        }
        if !arns.is_empty() {
            m.insert("resources".into(), Value::Array(arns.into_iter().map(resource).collect()));
        }
    }
    let denied = error.as_deref() == Some("AccessDenied");
    let mut accounts = vec![caller.clone()];
    let mut other_body = None;
    if c.account != caller && !c.account.is_empty() && !denied && matches!(service, "kms" | "sts") {
        accounts.push(c.account.clone());
        if service == "sts" {
            // The role's account sees the calling account (IAM User Guide, cross-account example).
            let mut other = m.clone();
            let principal =
                user_identity(&c.principal, &f.role, created, None).get("principalId").cloned().unwrap_or(Value::Null);
            other.insert(
                "userIdentity".into(),
                json!({"type": "AWSAccount", "principalId": principal,
                                                       "accountId": caller}),
            );
            other_body = Some(other);
        }
    }
    Draft { accounts, body: m, other_body }
}

/// A KMS request of a service, as the record shows it.
struct Req<'a> {
    op: &'a str,
    key: &'a str,
    ebs_id: Option<&'a str>,
    refused: Option<String>,
    key_error: Option<&'a str>,
}

/// The records of the KMS requests EC2 made on the caller's behalf during `c`.
fn on_behalf_drafts(c: &SimCall, f: &CallFacts, created: i64) -> Vec<Draft> {
    let (service, _) = c.api.split_once(':').unwrap_or_default();
    let invoked_by = format!("{service}.amazonaws.com");
    let caller = session_parts(&c.principal).map(|p| p.1).unwrap_or_default().to_string();
    let reqs: Vec<Req<'_>> = f
        .on_behalf
        .iter()
        .filter_map(|o| {
            let d = c.decisions.get(o.decision)?;
            Some(Req {
                op: d.action.strip_prefix("kms:").unwrap_or(&d.action),
                key: &d.resource,
                ebs_id: o.ebs_id.as_deref(),
                refused: (!d.allowed).then(|| {
                    format!(
                        "User: {} is not authorized to perform: {} on resource: {} ({})",
                        c.principal, d.action, d.resource, d.why
                    )
                }),
                key_error: o.key_error.as_deref(),
            })
        })
        .collect();
    let mut used = vec![false; reqs.len()];
    let mut out = Vec::new();
    for i in 0..reqs.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let r = &reqs[i];
        // ReEncryptFrom and ReEncryptTo on one key: one ReEncrypt.
        let pair = match r.op {
            "ReEncryptFrom" | "ReEncryptTo" => {
                let other = if r.op == "ReEncryptFrom" { "ReEncryptTo" } else { "ReEncryptFrom" };
                let j = (i + 1..reqs.len()).find(|&j| !used[j] && reqs[j].op == other && reqs[j].key == r.key);
                if let Some(j) = j {
                    used[j] = true;
                }
                Some(j.map(|j| &reqs[j]))
            }
            _ => None,
        };
        let (key_account, key_region) = key_account_region(r.key);
        let identity = user_identity(&c.principal, &f.role, created, Some(&invoked_by));
        let operation = if pair.is_some() { "ReEncrypt" } else { r.op };
        let mut m = body(identity, f.time, "kms", operation, key_region, &invoked_by, &invoked_by, &f.request_id);
        let context = |id: Option<&str>| id.map_or(Value::Null, |id| json!({"aws:ebs:id": id}));
        let request = match (operation, pair) {
            ("ReEncrypt", Some(other)) => {
                let (from, to) = match other {
                    Some(o) if r.op == "ReEncryptTo" => (o, r),
                    Some(o) => (r, o),
                    None => (r, r),
                };
                json!({"sourceKeyId": from.key, "destinationKeyId": to.key,
                       "sourceEncryptionContext": context(from.ebs_id),
                       "destinationEncryptionContext": context(to.ebs_id),
                       "sourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                       "destinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT"})
            }
            ("DescribeKey", _) => json!({"keyId": r.key}),
            // A grant's constraint, as ct-ec2two's CreateGrant record shows it.
            ("CreateGrant", _) => {
                json!({"keyId": r.key, "constraints": {"encryptionContextSubset": context(r.ebs_id)}})
            }
            ("Decrypt", _) => {
                json!({"keyId": r.key, "encryptionContext": context(r.ebs_id), "encryptionAlgorithm": "SYMMETRIC_DEFAULT"})
            }
            // 64 bytes, as ct-ec2two's GenerateDataKeyWithoutPlaintext record shows.
            (op, _) if op.starts_with("GenerateDataKey") => {
                json!({"keyId": r.key, "encryptionContext": context(r.ebs_id), "numberOfBytes": 64})
            }
            _ => json!({"keyId": r.key, "encryptionContext": context(r.ebs_id)}),
        };
        m.insert("requestParameters".into(), request);
        let partner = pair.flatten();
        let refused = r.refused.clone().or_else(|| partner.and_then(|p| p.refused.clone()));
        let key_error = r.key_error.or_else(|| partner.and_then(|p| p.key_error));
        match (&refused, key_error) {
            (Some(message), _) => with_error(&mut m, "AccessDenied", message),
            (None, Some(code)) => with_error(&mut m, code, &format!("{} is not usable: {code}", r.key)),
            (None, None) => {
                m.insert("responseElements".into(), Value::Null);
            }
        }
        m.insert("resources".into(), json!([resource(r.key)]));
        let mut accounts = vec![caller.clone()];
        if key_account != caller && !key_account.is_empty() && refused.is_none() {
            accounts.push(key_account.to_string());
        }
        out.push(Draft { accounts, body: m, other_body: None });
    }
    out
}

/// Every record of the world, in order: (the account whose event history holds it, the record).
pub(crate) fn records(calls: &[SimCall], facts: &[CallFacts]) -> Vec<(String, Value)> {
    // When each session was created: the AssumeRole that made it, else its first call.
    let mut created: BTreeMap<&str, i64> = BTreeMap::new();
    for f in facts {
        let Some(c) = calls.get(f.call) else { continue };
        if let ("sts:AssumeRole", Ok(new_session)) = (c.api.as_str(), &c.result) {
            created.entry(new_session.as_str()).or_insert(f.time);
        }
        created.entry(c.principal.as_str()).or_insert(f.time);
    }
    let (mut events, mut shared) = (0u64, 0u64);
    let mut out = Vec::new();
    for f in facts {
        let Some(c) = calls.get(f.call) else { continue };
        let made = created.get(c.principal.as_str()).copied().unwrap_or(f.time);
        let mut drafts = vec![call_draft(c, f, made)];
        drafts.extend(on_behalf_drafts(c, f, made));
        for d in drafts {
            let shared_id = (d.accounts.len() > 1).then(|| {
                shared += 1;
                format!("5ea7ed00-0000-4000-8000-{shared:012x}")
            });
            for (n, account) in d.accounts.iter().enumerate() {
                let mut m = match (n, &d.other_body) {
                    (1, Some(other)) => other.clone(),
                    _ => d.body.clone(),
                };
                events += 1;
                m.insert("eventID".into(), json!(format!("e7e10000-0000-4000-8000-{events:012x}")));
                m.insert("recipientAccountId".into(), json!(account));
                if let Some(id) = &shared_id {
                    m.insert("sharedEventID".into(), json!(id));
                }
                out.push((account.clone(), Value::Object(m)));
            }
        }
    }
    out
}

/// The ids and ARNs in a value: the strings under a field named `…Id`, `…Arn`, `arn` or `aliasName`.
fn ids_in(field: &str, v: &Value, out: &mut Vec<String>) {
    let named = ["Id", "Arn", "ARN"].iter().any(|s| field.ends_with(s)) || matches!(field, "arn" | "aliasName");
    match v {
        Value::String(s) if named && !s.is_empty() => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| ids_in(field, i, out)),
        Value::Object(m) => m.iter().for_each(|(k, i)| ids_in(k, i, out)),
        _ => {}
    }
}

/// The names LookupEvents' `ResourceName` matches in a record.
fn resource_names(record: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(resources) = record.get("resources").and_then(Value::as_array) {
        out.extend(resources.iter().filter_map(|r| r.get("ARN").and_then(Value::as_str)).map(str::to_string));
    }
    for field in ["requestParameters", "responseElements"] {
        if let Some(v) = record.get(field) {
            ids_in(field, v, &mut out);
        }
    }
    out
}

/// The resource type of a name (`ResourceType`).
fn resource_type(name: &str) -> Option<&'static str> {
    let fields: Vec<&str> = name.splitn(6, ':').collect();
    match (fields.get(2).copied(), fields.get(5).copied()) {
        (Some("kms"), Some(r)) if r.starts_with("key/") => Some("AWS::KMS::Key"),
        (Some("iam"), Some(r)) if r.starts_with("role/") => Some("AWS::IAM::Role"),
        _ if name.starts_with("snap-") => Some("AWS::EC2::Snapshot"),
        _ if name.starts_with("vol-") => Some("AWS::EC2::Volume"),
        _ if name.starts_with("i-") => Some("AWS::EC2::Instance"),
        _ => None,
    }
}

/// LookupEvents' `Username` of a record: the session name of an assumed role, the user name of a user.
fn username(record: &Value) -> Option<&str> {
    let id = record.get("userIdentity")?;
    match id.get("type").and_then(Value::as_str)? {
        "AssumedRole" => id.get("arn").and_then(Value::as_str)?.rsplit('/').next(),
        _ => id.get("userName").and_then(Value::as_str),
    }
}

fn text<'v>(record: &'v Value, field: &str) -> Option<&'v str> {
    record.get(field).and_then(Value::as_str)
}

/// Whether a record has the attribute LookupEvents asks for.
fn has_attribute(record: &Value, key: LookupKey, value: &str) -> bool {
    match key {
        LookupKey::EventId => text(record, "eventID") == Some(value),
        LookupKey::EventName => text(record, "eventName") == Some(value),
        LookupKey::EventSource => text(record, "eventSource") == Some(value),
        LookupKey::ReadOnly => {
            record.get("readOnly").and_then(Value::as_bool).map(|b| b.to_string()).as_deref() == Some(value)
        }
        LookupKey::Username => username(record) == Some(value),
        LookupKey::AccessKeyId => {
            record.get("userIdentity").and_then(|i| i.get("accessKeyId")).and_then(Value::as_str) == Some(value)
        }
        LookupKey::ResourceName => resource_names(record).iter().any(|n| n == value),
        LookupKey::ResourceType => resource_names(record).iter().any(|n| resource_type(n) == Some(value)),
    }
}

/// LookupEvents in `account` and `region`: its records within the query's window and attribute,
/// newest first.
pub(crate) fn lookup(
    calls: &[SimCall],
    facts: &[CallFacts],
    account: &str,
    region: &str,
    query: &EventLookup,
) -> Vec<LookedUpEvent> {
    // Records carry whole seconds: a bound inside a second takes in that second.
    let (start, end) = (query.start.timestamp(), query.end.timestamp());
    let mut found: Vec<(i64, usize, Value)> = records(calls, facts)
        .into_iter()
        .enumerate()
        .filter(|(_, (acct, r))| acct == account && text(r, "awsRegion") == Some(region))
        .filter_map(|(n, (_, r))| {
            let t = DateTime::parse_from_rfc3339(text(&r, "eventTime")?).ok()?.timestamp();
            (start..=end).contains(&t).then_some((t, n, r))
        })
        .filter(|(_, _, r)| query.attribute.as_ref().is_none_or(|a| has_attribute(r, a.key, &a.value)))
        .collect();
    found.sort_by_key(|(t, n, _)| std::cmp::Reverse((*t, *n)));
    found
        .into_iter()
        .map(|(_, _, r)| LookedUpEvent {
            event_id: text(&r, "eventID").unwrap_or_default().to_string(),
            record: r.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_written_as_each_service_records_them() {
        assert_eq!(record_error_code("ec2", "UnauthorizedOperation"), "Client.UnauthorizedOperation");
        assert_eq!(record_error_code("ec2", "InternalError"), "Server.InternalError");
        assert_eq!(record_error_code("kms", "AccessDeniedException"), "AccessDenied");
        assert_eq!(record_error_code("cloudtrail", "AccessDeniedException"), "AccessDenied");
        assert_eq!(record_error_code("kms", "NotFoundException"), "NotFoundException");
        assert_eq!(record_error_code("sts", "AccessDenied"), "AccessDenied");
    }

    #[test]
    fn times_are_written_to_the_second_in_utc() {
        assert_eq!(event_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(event_time(1_735_689_601), "2025-01-01T00:00:01Z");
    }

    #[test]
    fn a_session_arn_reads_as_its_parts() {
        let arn = "arn:aws:sts::111122223333:assumed-role/CustodySource/custody-IR-7";
        assert_eq!(session_parts(arn), Some(("aws", "111122223333", "CustodySource", "custody-IR-7")));
        assert_eq!(session_parts("arn:aws:iam::111122223333:role/R"), None);
        let id = user_identity(arn, "arn:aws:iam::111122223333:role/ops/CustodySource", 0, Some("ec2.amazonaws.com"));
        assert_eq!(id["sessionContext"]["sessionIssuer"]["arn"], "arn:aws:iam::111122223333:role/ops/CustodySource");
        assert_eq!(id["invokedBy"], "ec2.amazonaws.com");
        assert_eq!(username(&json!({"userIdentity": id})), Some("custody-IR-7"));
    }

    #[test]
    fn resource_names_come_from_resources_and_the_ids_sent_and_returned() {
        let r = json!({
            "resources": [{"ARN": "arn:aws:kms:eu-west-1:111122223333:key/k"}],
            "requestParameters": {"snapshotSet": {"items": [{"snapshotId": "snap-1"}]}, "description": "i-am-not-an-id"},
            "responseElements": {"volumeId": "vol-2"}
        });
        let names = resource_names(&r);
        assert!(names.contains(&"snap-1".to_string()) && names.contains(&"vol-2".to_string()));
        assert!(!names.contains(&"i-am-not-an-id".to_string()));
        assert!(has_attribute(&r, LookupKey::ResourceType, "AWS::KMS::Key"));
        assert!(has_attribute(&r, LookupKey::ResourceType, "AWS::EC2::Snapshot"));
    }
}

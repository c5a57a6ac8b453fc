//! One CloudTrail record, typed: the fields `custody audit` reads, checked once, next to the record
//! itself (`raw`) so that nothing AWS wrote is lost.
//!
//! The record format is AWS's, unchanged:
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>.
//! What that page marks `Optional: False` (present in every record) and the audit needs is required
//! here: `eventVersion`, `eventTime`, `userIdentity`, `eventSource`, `eventName`, `awsRegion` and
//! `eventID` (`eventID` exists since `eventVersion` 1.01: the `eventVersion` 1.0 examples on
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html> lack
//! it, and such a record cannot be matched, so it is refused). Everything else may be absent, and a
//! field this crate does not know is kept in `raw` and otherwise ignored: CloudTrail adds fields in
//! minor versions, and the page tells applications to ignore the ones they do not know.
//!
//! `userIdentity.type` is *not* required, although every API call's record has one: AWS's own
//! service-event examples (KMS `DeleteKey`, <https://docs.aws.amazon.com/kms/latest/developerguide/ct-delete-key.html>,
//! and `RotateKey`, <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/non-api-aws-service-events.html>)
//! carry a `userIdentity` of only `accountId` and `invokedBy`.
//!
//! A field that is present must have the type AWS documents (`null` counts as absent: AWS writes
//! `"responseElements": null`); anything else is not CloudTrail's format and is refused with its path.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Input that is not CloudTrail's format: where (the file, then the JSON path from the top of the
/// file, `$.Records[3].eventTime`), what was expected there and what was found.
/// Displays as `FILE: $.Records[3].eventTime: expected …, found …` (without `FILE: ` when no file is
/// known, as from [`parse_record`] alone).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{path}: expected {expected}, found {found}", file_prefix(.file))]
pub struct EventsError {
    /// The file (or other source) the input came from, as the caller named it; empty if unknown.
    pub file: String,
    /// The JSON path of the offending element, from `$` (the whole file).
    pub path: String,
    /// What the element should have been.
    pub expected: String,
    /// What it was, briefly (never a whole value: it may be huge).
    pub found: String,
}

fn file_prefix(file: &str) -> String {
    if file.is_empty() {
        String::new()
    } else {
        format!("{file}: ")
    }
}

impl EventsError {
    /// An error at `path`, in no file yet.
    pub fn new(path: impl Into<String>, expected: impl Into<String>, found: impl Into<String>) -> EventsError {
        EventsError { file: String::new(), path: path.into(), expected: expected.into(), found: found.into() }
    }

    /// The same error, naming the file it was found in.
    pub fn in_file(mut self, file: &str) -> EventsError {
        self.file = file.to_string();
        self
    }
}

/// A short, printable description of a JSON value for an error message: its kind, and for a string
/// its first 60 characters with control and bidirectional-override characters escaped (the text is
/// someone else's and ends up on the examiner's terminal).
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean `{b}`"),
        Value::Number(n) => format!("the number `{n}`"),
        Value::String(s) => format!("the string `{}`", printable(s, 60)),
        Value::Array(a) => format!("an array of {} element(s)", a.len()),
        Value::Object(o) if o.is_empty() => "an empty object".into(),
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            let shown: Vec<String> = keys.iter().take(5).map(|k| format!("`{}`", printable(k, 40))).collect();
            let more = if keys.len() > 5 { ", …" } else { "" };
            format!("an object with the fields {}{more}", shown.join(", "))
        }
    }
}

/// `s` cut to `max` characters (with `…`), control and bidirectional-override characters escaped.
pub fn printable(s: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
        if c.is_control() || bidi {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// The `userIdentity` element:
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserIdentity {
    /// `type`: `AssumedRole`, `IAMUser`, `Root`, `AWSService`, `AWSAccount`, … (absent in some
    /// service events, see the module documentation).
    pub identity_type: Option<String>,
    pub principal_id: Option<String>,
    /// The caller's ARN; for an assumed role `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub access_key_id: Option<String>,
    pub user_name: Option<String>,
    /// The AWS service that made the request for the caller (`ec2.amazonaws.com`, `AWS Internal`).
    pub invoked_by: Option<String>,
    pub session_context: Option<SessionContext>,
}

/// `userIdentity.sessionContext`: present when the request was made with temporary credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionContext {
    /// How the credentials were obtained: for an assumed role, the role.
    pub session_issuer: Option<SessionIssuer>,
    /// `attributes.creationDate`, as written (the page says ISO 8601 basic notation; AWS's examples
    /// also show the extended one, so it is kept as text).
    pub creation_date: Option<String>,
    /// `attributes.mfaAuthenticated`: the text `"true"` or `"false"` in AWS's examples.
    pub mfa_authenticated: Option<String>,
}

/// `userIdentity.sessionContext.sessionIssuer`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionIssuer {
    /// `type`: `Role`, `IAMUser`, `Root`.
    pub issuer_type: Option<String>,
    pub principal_id: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub user_name: Option<String>,
}

/// One element of `resources`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrailResource {
    /// `ARN`.
    pub arn: Option<String>,
    /// `accountId`: the resource owner's account.
    pub account_id: Option<String>,
    /// `type`, such as `AWS::KMS::Key`.
    pub resource_type: Option<String>,
}

/// One CloudTrail record: the fields the audit reads, typed, and the record itself (`raw`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailRecord {
    /// `eventVersion`, major version 1.
    pub event_version: String,
    /// `eventID`: CloudTrail's identifier of this record (unique per record and recipient account).
    pub event_id: String,
    /// `eventTime`, in UTC.
    pub event_time: DateTime<Utc>,
    /// `eventSource`: the service called, `kms.amazonaws.com`.
    pub event_source: String,
    /// `eventName`: the API action, `Decrypt`.
    pub event_name: String,
    /// `awsRegion`.
    pub aws_region: String,
    pub user_identity: UserIdentity,
    pub source_ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// `errorCode`: present when the request failed (`AccessDenied`, `Client.UnauthorizedOperation`).
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// `requestID`: the request id the service returned to the caller (absent in service events).
    pub request_id: Option<String>,
    pub read_only: Option<bool>,
    /// `resources`, in order (for `ReEncrypt`: the source key, then the destination key).
    pub resources: Vec<TrailResource>,
    /// `eventType`: `AwsApiCall`, `AwsServiceEvent`, `AwsConsoleSignIn`, ….
    pub event_type: Option<String>,
    pub management_event: Option<bool>,
    /// `recipientAccountId`: the account whose trail received this record.
    pub recipient_account_id: Option<String>,
    /// `sharedEventID`: the same for the records of one call delivered to several accounts (a KMS
    /// key used from another account).
    pub shared_event_id: Option<String>,
    pub event_category: Option<String>,
    /// The whole record, as read.
    pub raw: Value,
}

/// The user agents (and `invokedBy` values) of the AWS Management Console: a person's own calls,
/// not a service acting for them (`signin.amazonaws.com`: an IAM user with the console;
/// `console.amazonaws.com`: the root user with the console), per `userAgent` in
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>.
const CONSOLE: &[&str] = &["signin.amazonaws.com", "console.amazonaws.com"];

/// Whether `s` names an AWS service the way CloudTrail does in `sourceIPAddress` ("for services in
/// AWS, only the DNS name is displayed", record-contents page) or `invokedBy`: a `*.amazonaws.com`
/// name other than the console's, or `AWS Internal` (as in the EC2-invoked KMS records of
/// <https://docs.aws.amazon.com/kms/latest/developerguide/ct-ec2two.html>).
fn is_service_name(s: &str) -> bool {
    if s == "AWS Internal" {
        return true;
    }
    let Some(host) = s.strip_suffix(".amazonaws.com") else { return false };
    !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') && !CONSOLE.contains(&s)
}

impl TrailRecord {
    /// `eventTime` (the same as the field): the time the request completed, in UTC.
    pub fn event_time(&self) -> DateTime<Utc> {
        self.event_time
    }

    /// The role session name, for a caller that assumed a role: the last segment of
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` (the ARN form on the userIdentity page; the
    /// role name may contain `:`, as EC2's `aws:ec2-infrastructure` does in ct-ec2two). It is also
    /// what LookupEvents calls `Username` for such a caller (the `lookup-events` example of
    /// <https://docs.aws.amazon.com/cli/latest/reference/cloudtrail/lookup-events.html>).
    pub fn session_name(&self) -> Option<&str> {
        let arn = self.user_identity.arn.as_deref()?;
        let resource = arn.splitn(6, ':').nth(5)?;
        let (_role, session) = resource.strip_prefix("assumed-role/")?.rsplit_once('/')?;
        (!session.is_empty()).then_some(session)
    }

    /// The ARN of the role the caller's session was issued by
    /// (`userIdentity.sessionContext.sessionIssuer.arn`), when the issuer is a role.
    pub fn issuer_role_arn(&self) -> Option<&str> {
        let issuer = self.user_identity.session_context.as_ref()?.session_issuer.as_ref()?;
        let arn = issuer.arn.as_deref()?;
        let is_role = issuer.issuer_type.as_deref() == Some("Role")
            || arn.splitn(6, ':').nth(5).is_some_and(|r| r.starts_with("role/"));
        is_role.then_some(arn)
    }

    /// `userIdentity.invokedBy`: the AWS service that made the request (empty text counts as absent).
    pub fn invoked_by(&self) -> Option<&str> {
        self.user_identity.invoked_by.as_deref().filter(|s| !s.is_empty())
    }

    /// The AWS service that made this request on the caller's behalf, if one did: `invokedBy`
    /// (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>:
    /// "the name of the AWS service that made the request"), else a service name or `AWS Internal`
    /// in `sourceIPAddress`, else (only when `sourceIPAddress` is absent) in `userAgent`; `AWSService`
    /// for a `userIdentity.type` of `AWSService` that names nothing else.
    ///
    /// The console (`signin.amazonaws.com`, `console.amazonaws.com`, even in `invokedBy` as in the
    /// `RunInstances` record of ct-ec2two) is a person's own call, never a service's. `userAgent`
    /// alone does not make a service call when `sourceIPAddress` is an address: AWS's KMS examples of
    /// calls an IAM user made directly (ct-creategrant, ct-decrypt) show `"userAgent": "AWS Internal"`
    /// with `"sourceIPAddress": "192.0.2.0"`.
    pub fn acting_service(&self) -> Option<&str> {
        if let Some(by) = self.invoked_by() {
            return (!CONSOLE.contains(&by)).then_some(by);
        }
        match self.source_ip_address.as_deref().filter(|s| !s.is_empty()) {
            Some(ip) if is_service_name(ip) => return Some(ip),
            Some(_) => {}
            None => {
                if let Some(agent) = self.user_agent.as_deref().filter(|a| is_service_name(a)) {
                    return Some(agent);
                }
            }
        }
        (self.user_identity.identity_type.as_deref() == Some("AWSService")).then_some("AWSService")
    }

    /// Whether an AWS service made this request (see [`TrailRecord::acting_service`]).
    pub fn is_service_call(&self) -> bool {
        self.acting_service().is_some()
    }

    /// The IAM action of the call, `kms:Decrypt`: `eventSource` without `.amazonaws.com`, `:`, then
    /// `eventName`. The record-contents page gives the naming rule ("typically a short form of the
    /// service name … plus `.amazonaws.com`") and one exception, CloudWatch's `monitoring`, mapped
    /// to `cloudwatch` here; AWS publishes no general mapping from `eventSource` to action prefixes,
    /// so `None` for an `eventSource` not of that form.
    ///
    /// An `eventName` is an API operation, not always an IAM action: KMS `ReEncrypt` is authorized as
    /// `kms:ReEncryptFrom` on its first `resources` key and `kms:ReEncryptTo` on its second
    /// (<https://docs.aws.amazon.com/kms/latest/developerguide/ct-reencrypt.html>), and this returns
    /// `kms:ReEncrypt`.
    pub fn action(&self) -> Option<String> {
        let service = self.event_source.strip_suffix(".amazonaws.com")?;
        let prefix = if service == "monitoring" { "cloudwatch" } else { service };
        let ok = !prefix.is_empty() && prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        ok.then(|| format!("{prefix}:{}", self.event_name))
    }

    /// The ARNs in `resources`, in order.
    pub fn resource_arns(&self) -> Vec<&str> {
        self.resources.iter().filter_map(|r| r.arn.as_deref()).collect()
    }

    /// `requestParameters.NAME`, if the record has it (`requestParameters` is `null` for some calls).
    pub fn request_param(&self, name: &str) -> Option<&Value> {
        self.raw.get("requestParameters")?.get(name).filter(|v| !v.is_null())
    }

    /// `responseElements.NAME` (the new snapshot's `snapshotId`, a grant's `grantId`), if present.
    pub fn response_element(&self, name: &str) -> Option<&Value> {
        self.raw.get("responseElements")?.get(name).filter(|v| !v.is_null())
    }

    /// The EBS volume or snapshot a KMS request was made for: the first `aws:ebs:id` of
    /// [`TrailRecord::encryption_context_ebs_ids`].
    pub fn encryption_context_ebs_id(&self) -> Option<&str> {
        self.encryption_context_ebs_ids().into_iter().next()
    }

    /// Every `aws:ebs:id` in the request's encryption contexts, in this order without repeats:
    /// `encryptionContext` (Decrypt, GenerateDataKeyWithoutPlaintext), `sourceEncryptionContext`
    /// and `destinationEncryptionContext` (ReEncrypt), and a grant's
    /// `constraints.encryptionContextSubset` / `encryptionContextEquals` (CreateGrant). EC2 uses
    /// the `aws:ebs:id` context key for the volume or snapshot, as the records of
    /// <https://docs.aws.amazon.com/kms/latest/developerguide/ct-ec2two.html> show.
    pub fn encryption_context_ebs_ids(&self) -> Vec<&str> {
        let Some(params) = self.raw.get("requestParameters") else { return Vec::new() };
        let constraints = params.get("constraints");
        let contexts = [
            params.get("encryptionContext"),
            params.get("sourceEncryptionContext"),
            params.get("destinationEncryptionContext"),
            constraints.and_then(|c| c.get("encryptionContextSubset")),
            constraints.and_then(|c| c.get("encryptionContextEquals")),
        ];
        let mut ids: Vec<&str> = Vec::new();
        for id in contexts.into_iter().flatten().filter_map(|c| c.get("aws:ebs:id")?.as_str()) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }
}

/// The fields of one JSON object, read with their paths.
struct Fields<'a> {
    obj: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Fields<'a> {
    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// The field, `null` counting as absent.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn required_str(&self, key: &str, expected: &str) -> Result<String, EventsError> {
        match self.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(v) => Err(EventsError::new(self.at(key), expected, describe(v))),
            None => Err(EventsError::new(self.at(key), expected, "nothing")),
        }
    }

    fn optional_str(&self, key: &str) -> Result<Option<String>, EventsError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(EventsError::new(self.at(key), "a string or nothing", describe(v))),
        }
    }

    /// A string, or a boolean kept as its text (`mfaAuthenticated` is `"false"` in AWS's examples).
    fn optional_text(&self, key: &str) -> Result<Option<String>, EventsError> {
        match self.get(key) {
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            _ => self.optional_str(key),
        }
    }

    fn optional_bool(&self, key: &str) -> Result<Option<bool>, EventsError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(EventsError::new(self.at(key), "`true`, `false` or nothing", describe(v))),
        }
    }

    fn optional_object(&self, key: &str) -> Result<Option<&'a Map<String, Value>>, EventsError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(obj)) => Ok(Some(obj)),
            Some(v) => Err(EventsError::new(self.at(key), "an object or nothing", describe(v))),
        }
    }
}

/// Reads one CloudTrail record. `json_path` is where the record is in its file (`$.Records[3]`,
/// `$.Events[0].CloudTrailEvent`): errors name the offending field under it.
pub fn parse_record(value: &Value, json_path: &str) -> Result<TrailRecord, EventsError> {
    let Value::Object(obj) = value else {
        return Err(EventsError::new(json_path, "a CloudTrail record (a JSON object)", describe(value)));
    };
    let f = Fields { obj, path: json_path };
    let event_version = f.required_str("eventVersion", "the record format's version, `1.`minor")?;
    // "To ensure that your application can parse the event structure, we recommend that you perform
    // an equal-to comparison on the major version number" (record-contents page, `eventVersion`).
    let minor = event_version.strip_prefix("1.");
    if !minor.is_some_and(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit())) {
        return Err(EventsError::new(
            f.at("eventVersion"),
            "major version 1 of CloudTrail's record format, `1.`minor (a new major version changes fields \
             incompatibly; custody reads version 1)",
            describe(&Value::String(event_version.clone())),
        ));
    }
    let event_id =
        f.required_str("eventID", "the record's event id, a string (every record has one since eventVersion 1.01)")?;
    let time_expected = "the time of the call in UTC, as CloudTrail writes it (`2014-11-04T00:53:12Z`)";
    let time_text = f.required_str("eventTime", time_expected)?;
    let event_time = DateTime::parse_from_rfc3339(&time_text)
        .map_err(|_| EventsError::new(f.at("eventTime"), time_expected, describe(&Value::String(time_text))))?
        .with_timezone(&Utc);
    let event_source = f.required_str("eventSource", "the service called, such as `kms.amazonaws.com`")?;
    let event_name = f.required_str("eventName", "the API action called, such as `Decrypt`")?;
    let aws_region = f.required_str("awsRegion", "the Region the request was made to, such as `us-east-1`")?;
    let user_identity = match f.get("userIdentity") {
        Some(Value::Object(obj)) => user_identity(&Fields { obj, path: &f.at("userIdentity") })?,
        other => {
            let found = other.map_or_else(|| "nothing".to_string(), describe);
            return Err(EventsError::new(f.at("userIdentity"), "the caller's identity, an object", found));
        }
    };
    let resources = match f.get("resources") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let path = format!("{}[{i}]", f.at("resources"));
                let Value::Object(obj) = item else {
                    return Err(EventsError::new(path, "a resource (an object with `ARN`)", describe(item)));
                };
                let r = Fields { obj, path: &path };
                out.push(TrailResource {
                    arn: r.optional_str("ARN")?,
                    account_id: r.optional_str("accountId")?,
                    resource_type: r.optional_str("type")?,
                });
            }
            out
        }
        Some(v) => return Err(EventsError::new(f.at("resources"), "an array of resources", describe(v))),
    };
    Ok(TrailRecord {
        event_version,
        event_id,
        event_time,
        event_source,
        event_name,
        aws_region,
        user_identity,
        source_ip_address: f.optional_str("sourceIPAddress")?,
        user_agent: f.optional_str("userAgent")?,
        error_code: f.optional_str("errorCode")?,
        error_message: f.optional_str("errorMessage")?,
        request_id: f.optional_str("requestID")?,
        read_only: f.optional_bool("readOnly")?,
        resources,
        event_type: f.optional_str("eventType")?,
        management_event: f.optional_bool("managementEvent")?,
        recipient_account_id: f.optional_str("recipientAccountId")?,
        shared_event_id: f.optional_str("sharedEventID")?,
        event_category: f.optional_str("eventCategory")?,
        raw: value.clone(),
    })
}

fn user_identity(f: &Fields<'_>) -> Result<UserIdentity, EventsError> {
    let session_context = match f.optional_object("sessionContext")? {
        None => None,
        Some(ctx) => {
            let ctx_path = f.at("sessionContext");
            let ctx = Fields { obj: ctx, path: &ctx_path };
            let issuer = match ctx.optional_object("sessionIssuer")? {
                None => None,
                Some(i) => {
                    let path = ctx.at("sessionIssuer");
                    let i = Fields { obj: i, path: &path };
                    Some(SessionIssuer {
                        issuer_type: i.optional_str("type")?,
                        principal_id: i.optional_str("principalId")?,
                        arn: i.optional_str("arn")?,
                        account_id: i.optional_str("accountId")?,
                        user_name: i.optional_str("userName")?,
                    })
                }
            };
            let (creation_date, mfa_authenticated) = match ctx.optional_object("attributes")? {
                None => (None, None),
                Some(a) => {
                    let path = ctx.at("attributes");
                    let a = Fields { obj: a, path: &path };
                    (a.optional_str("creationDate")?, a.optional_text("mfaAuthenticated")?)
                }
            };
            Some(SessionContext { session_issuer: issuer, creation_date, mfa_authenticated })
        }
    };
    Ok(UserIdentity {
        identity_type: f.optional_str("type")?,
        principal_id: f.optional_str("principalId")?,
        arn: f.optional_str("arn")?,
        account_id: f.optional_str("accountId")?,
        access_key_id: f.optional_str("accessKeyId")?,
        user_name: f.optional_str("userName")?,
        invoked_by: f.optional_str("invokedBy")?,
        session_context,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

    use super::*;
    use serde_json::json;

    /// A record with the required fields, a `userIdentity` and the given extra fields.
    fn record(identity: Value, extra: Value) -> TrailRecord {
        let mut v = json!({
            "eventVersion": "1.08", "eventID": "e", "eventTime": "2024-01-02T03:04:05Z",
            "eventSource": "kms.amazonaws.com", "eventName": "Decrypt", "awsRegion": "eu-west-1",
            "userIdentity": identity,
        });
        if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
            m.extend(x);
        }
        parse_record(&v, "$").unwrap()
    }

    #[test]
    fn record_session_names_come_from_assumed_role_arns_only() {
        let cases = [
            ("arn:aws:sts::111122223333:assumed-role/custody-forensic/custody-case-1", Some("custody-case-1")),
            ("arn:aws-cn:sts::111122223333:assumed-role/aws:ec2-infrastructure/i-1", Some("i-1")),
            ("arn:aws:sts::111122223333:assumed-role/no-session", None),
            ("arn:aws:sts::111122223333:assumed-role/role/", None),
            ("arn:aws:iam::111122223333:user/Alice", None),
            ("arn:aws:sts::111122223333:federated-user/Bob", None),
            ("not an arn", None),
        ];
        for (arn, want) in cases {
            assert_eq!(record(json!({"type": "AssumedRole", "arn": arn}), json!({})).session_name(), want, "{arn}");
        }
        assert_eq!(record(json!({}), json!({})).session_name(), None);
    }

    #[test]
    fn record_issuer_role_arn_is_a_role_only() {
        let ctx = |t: &str, arn: &str| json!({"sessionContext": {"sessionIssuer": {"type": t, "arn": arn}}});
        let role = "arn:aws:iam::111122223333:role/path/custody-forensic";
        assert_eq!(record(ctx("Role", role), json!({})).issuer_role_arn(), Some(role));
        assert_eq!(record(ctx("IAMUser", "arn:aws:iam::1:user/Bob"), json!({})).issuer_role_arn(), None);
        let untyped = json!({"sessionContext": {"sessionIssuer": {"arn": role}}});
        assert_eq!(record(untyped, json!({})).issuer_role_arn(), Some(role));
        assert_eq!(record(json!({"sessionContext": {}}), json!({})).issuer_role_arn(), None);
    }

    #[test]
    fn record_actions_follow_the_event_source() {
        let action =
            |source: &str, name: &str| record(json!({}), json!({"eventSource": source, "eventName": name})).action();
        assert_eq!(action("ec2.amazonaws.com", "CopySnapshot").as_deref(), Some("ec2:CopySnapshot"));
        assert_eq!(action("monitoring.amazonaws.com", "PutMetricData").as_deref(), Some("cloudwatch:PutMetricData"));
        assert_eq!(action("kms.amazonaws.com.evil", "Decrypt"), None);
        assert_eq!(action("a b.amazonaws.com", "Decrypt"), None);
    }

    #[test]
    fn record_ebs_ids_come_from_every_encryption_context() {
        let r = record(
            json!({}),
            json!({"requestParameters": {
                "sourceEncryptionContext": {"aws:ebs:id": "snap-1"},
                "destinationEncryptionContext": {"aws:ebs:id": "snap-2"},
                "constraints": {"encryptionContextEquals": {"aws:ebs:id": "snap-2"}},
            }}),
        );
        assert_eq!(r.encryption_context_ebs_ids(), ["snap-1", "snap-2"]);
        assert_eq!(r.encryption_context_ebs_id(), Some("snap-1"));
        let none = record(json!({}), json!({"requestParameters": {"encryptionContext": {"aws:ebs:id": 5}}}));
        assert_eq!(none.encryption_context_ebs_id(), None);
    }
}

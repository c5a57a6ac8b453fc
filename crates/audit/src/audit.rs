//! Holding a case's journal and plans against CloudTrail's record of it.
//!
//! [`audit`] takes what the journal holds (the plans, the inventory each was made from, the journaled
//! calls with AWS's request ids, the resources) and the CloudTrail records read for the case, and
//! sorts every record of the case's identities into three sets:
//!
//! 1. **journaled and recorded**: each journaled call matched to its record by request id (and API and
//!    Region); a call with no request id (no answer, or settled by a lookup after a crash) by API,
//!    identity and time;
//! 2. **recorded, not journaled**: calls by the case's sessions that match no journaled call. Reads,
//!    AssumeRole, throttled attempts and the removals `custody cleanup` records are expected and said
//!    so; anything else is a chain-of-custody alarm;
//! 3. **service calls on custody's behalf** (KMS calls EC2 makes as the caller: `invokedBy` a service),
//!    held against the requests the plan predicted with `kms:ViaService`: predicted and seen, seen
//!    but not predicted (a gap in custody's model, decided against the inventory and written out to
//!    send in), predicted but never seen.
//!
//! Refusals in the record are explained with the preflight's words for the same request.
//!
//! A record belongs to the case when it is made by one of the case's role sessions, or by a role the
//! plans sign with and it carries a journaled request id or names a resource of the case; records
//! outside the case's time window or of other identities are only counted.

mod lookups;
mod predict;
mod scope;

pub use lookups::{lookup_plan, Lookup, LookupPlan, Place};

use crate::model::*;
use crate::record::TrailRecord;
use chrono::{DateTime, Utc};
use custody_journal::{Entry, Evidence, Outcome, ResourceRecord};
use custody_plan::check::{check, CheckReport, Outcome as CheckOutcome, RequestCheck};
use custody_plan::inventory::Inventory;
use custody_plan::plan::{to_case_request, AuthzRequest, ContextEntry, Plan, PolicyScope};
use scope::{parse_time, Scope};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The CloudTrail page that defines the record fields the audit reads.
pub const RECORD_CONTENTS: &str =
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html";

/// One acquisition of the case: its journaled plan, and the inventory it was planned from (`None`
/// for an acquisition journaled before custody kept it).
pub struct Acquisition {
    pub plan: Plan,
    pub inventory: Option<Inventory>,
}

/// Everything an audit holds against the record.
pub struct CaseInput<'a> {
    pub case_id: &'a str,
    pub acquisitions: &'a [Acquisition],
    pub entries: &'a [Entry],
    pub resources: &'a [ResourceRecord],
    pub evidence: &'a [Evidence],
    /// The case's own times (created, updated), RFC 3339.
    pub case_times: Vec<String>,
    /// The audit's clock (the engine reads none).
    pub now: DateTime<Utc>,
    /// custody's version, for the reports to send in.
    pub version: &'a str,
}

/// Audits the case against `records`, read from `sources`.
pub fn audit(input: &CaseInput<'_>, records: &[TrailRecord], sources: Vec<Source>) -> Audit {
    let scope = Scope::new(input);
    let records = unique(records);
    let (in_case, unrelated): (Vec<&TrailRecord>, Vec<&TrailRecord>) =
        records.iter().copied().partition(|r| scope.in_window(r) && belongs(&scope, input.entries, r));
    let (service, direct): (Vec<&TrailRecord>, Vec<&TrailRecord>) =
        in_case.iter().copied().partition(|r| r.is_service_call());

    // Set 1.
    let mut claimed: BTreeSet<EventKey> = BTreeSet::new();
    let journaled: Vec<JournaledCall> =
        input.entries.iter().map(|e| journaled_call(e, &direct, &scope, &mut claimed)).collect();

    // Set 2.
    let unjournaled: Vec<UnjournaledCall> = direct
        .iter()
        .filter(|r| !claimed.contains(&key(r)))
        .map(|r| UnjournaledCall { event: summary(r), expected: expected(r, input, &scope) })
        .collect();

    // Set 3.
    let (matched, unpredicted, unseen) = predict::hold(predict::predictions(input, &scope), &service);
    let unpredicted: Vec<Unpredicted> = unpredicted.into_iter().map(|r| unpredicted_call(r, input, &scope)).collect();

    let mut preflights = Preflights::default();
    let refusals: Vec<Refusal> = in_case
        .iter()
        .filter(|r| r.error_code.as_deref().is_some_and(is_refusal))
        .map(|r| refusal(r, input, &scope, &matched, &mut preflights))
        .collect();

    // The audit's own calls are not news of CloudTrail's delivery.
    let newest = records.iter().filter(|r| !is_the_audits_own(r)).map(|r| r.event_time).max();
    let verdict = verdict(input, &sources, &journaled, &unjournaled, &unpredicted, &unseen, &refusals, newest);
    Audit {
        case_id: input.case_id.to_string(),
        window: Window { start: rfc3339(scope.start), end: rfc3339(scope.end) },
        sources,
        journaled,
        unjournaled,
        service_calls: ServiceCalls { matched, unpredicted, unseen },
        refusals,
        unrelated_events: unrelated.len(),
        newest_event: newest.map(rfc3339),
        verdict,
    }
}

/// The records, each once: the same event read twice (two lookups, two files) is one event; one call
/// logged in two accounts is two.
fn unique(records: &[TrailRecord]) -> Vec<&TrailRecord> {
    let mut seen = BTreeSet::new();
    records.iter().filter(|r| seen.insert(key(r))).collect()
}

/// A record's identity: its event id in the account whose history holds it.
/// The event name and time are part of it: AWS's own examples reuse event ids, so an id alone is not
/// trusted to tell two records apart.
fn key(r: &TrailRecord) -> EventKey {
    (
        r.event_id.clone(),
        r.recipient_account_id.clone().unwrap_or_default(),
        format!("{}:{}", r.event_source, r.event_name),
        r.event_time,
    )
}

type EventKey = (String, String, String, DateTime<Utc>);

/// Whether the record is a call of the case (see the module docs).
fn belongs(scope: &Scope, entries: &[Entry], r: &TrailRecord) -> bool {
    if r.session_name().is_some_and(|s| scope.is_case_session(s)) {
        return true;
    }
    // AssumeRole into a session of the case: the call that opened it.
    if param(r, "roleSessionName").is_some_and(|s| scope.is_case_session(&s)) {
        return true;
    }
    let by_case_role = r.issuer_role_arn().is_some_and(|arn| scope.roles.contains(arn));
    by_case_role
        && (r.request_id.as_deref().is_some_and(|id| entries.iter().any(|e| request_id(e) == Some(id)))
            || scope.touches(r))
}

fn request_id(e: &Entry) -> Option<&str> {
    match &e.outcome {
        Some(Outcome::Ok { request_id, .. }) | Some(Outcome::Failed { request_id, .. }) => request_id.as_deref(),
        None => None,
    }
}

/// Set 1: the records of one journaled call.
fn journaled_call(
    e: &Entry,
    direct: &[&TrailRecord],
    scope: &Scope,
    claimed: &mut BTreeSet<EventKey>,
) -> JournaledCall {
    let (outcome, id) = match &e.outcome {
        Some(Outcome::Ok { request_id, .. }) => ("ok", request_id.clone()),
        Some(Outcome::Failed { request_id, .. }) => ("failed", request_id.clone()),
        None => ("unknown", None),
    };
    let same_call = |r: &TrailRecord| action(r).eq_ignore_ascii_case(&e.intent.api) && r.aws_region == e.intent.region;
    let mut events: Vec<&TrailRecord> = match &id {
        Some(id) => direct.iter().copied().filter(|r| r.request_id.as_deref() == Some(id) && same_call(r)).collect(),
        None => {
            // No request id: the first unclaimed record of the same API by the same role, from the
            // intent to a minute after the outcome (ten minutes when there is none).
            let from = parse_time(&e.intended_at).map(|t| t - chrono::Duration::minutes(1));
            let to = e
                .finished_at
                .as_deref()
                .and_then(parse_time)
                .or_else(|| parse_time(&e.intended_at).map(|t| t + chrono::Duration::minutes(9)))
                .map(|t| t + chrono::Duration::minutes(1));
            direct
                .iter()
                .copied()
                .filter(|r| {
                    same_call(r)
                        && !claimed.contains(&key(r))
                        && r.issuer_role_arn() == Some(e.intent.signer.as_str())
                        && match (from, to) {
                            (Some(from), Some(to)) => r.event_time >= from && r.event_time <= to,
                            _ => false,
                        }
                        && (r.error_code.is_none() == (outcome != "failed"))
                })
                .take(1)
                .collect()
        }
    };
    events.sort_by_key(|r| r.event_time);
    for r in &events {
        claimed.insert(key(r));
    }
    let status = match (&id, events.is_empty()) {
        (Some(_), false) => CallStatus::Recorded,
        (Some(_), true) => CallStatus::NotRecorded,
        (None, false) => CallStatus::RecordedWithoutRequestId,
        (None, true) => CallStatus::NoRequestId,
    };
    let _ = scope;
    JournaledCall {
        entry_id: e.id,
        instance_id: e.intent.instance_id.clone(),
        step_id: e.intent.step_id.clone(),
        api: e.intent.api.clone(),
        account: e.intent.account.clone(),
        region: e.intent.region.clone(),
        request_id: id,
        outcome: outcome.to_string(),
        events: events.into_iter().map(summary).collect(),
        status,
    }
}

/// Set 2: why a record that matches no journaled call is expected, or `None`.
fn expected(r: &TrailRecord, input: &CaseInput<'_>, scope: &Scope) -> Option<String> {
    let action = action(r);
    if action.eq_ignore_ascii_case("cloudtrail:LookupEvents") {
        return Some("a CloudTrail lookup (custody audit reads the event history)".to_string());
    }
    if is_the_audits_own(r) {
        return Some("custody audit's own call (its session is named custody-audit-<case>)".to_string());
    }
    if action.eq_ignore_ascii_case("sts:AssumeRole") {
        let role = param(r, "roleArn").unwrap_or_default();
        if scope.assumed_roles.contains(&role) || scope.roles.contains(&role) {
            return Some(format!("AssumeRole of {role}, a role the plan uses"));
        }
        return None;
    }
    if let Some(code) = r.error_code.as_deref().filter(|c| is_throttling(c)) {
        if input.entries.iter().any(|e| e.intent.api.eq_ignore_ascii_case(&action)) {
            return Some(format!("a throttled attempt ({code}) of a journaled {action} call, which custody retried"));
        }
    }
    if r.read_only == Some(true) {
        let planned = input
            .acquisitions
            .iter()
            .flat_map(|a| &a.plan.steps)
            .flat_map(|s| &s.calls)
            .any(|c| c.api.eq_ignore_ascii_case(&action));
        return Some(if planned {
            "a read the plan makes (reads change nothing and are not journaled)".to_string()
        } else {
            "a read-only call (custody's inventory collection, waits and lookups read more than the plan lists)"
                .to_string()
        });
    }
    // A removal `custody cleanup` recorded with the resource rather than as a journaled call.
    let removed = input.resources.iter().any(|res| {
        res.removal.as_deref().is_some_and(|how| how.eq_ignore_ascii_case(&action)) && scope_touches_id(r, &res.id)
    });
    if removed {
        return Some(format!("{action} by custody cleanup, recorded with the resource it removed"));
    }
    None
}

fn scope_touches_id(r: &TrailRecord, id: &str) -> bool {
    ["requestParameters", "resources"].iter().filter_map(|k| r.raw.get(*k)).any(|v| v.to_string().contains(id))
}

/// A service call no prediction matched: the request custody's model makes of it, decided against the
/// acquisition's inventory.
fn unpredicted_call(r: &TrailRecord, input: &CaseInput<'_>, scope: &Scope) -> Unpredicted {
    let request = request_of(r);
    let inventory = input.acquisitions.iter().find_map(|a| a.inventory.as_ref());
    let decision = inventory.map(|inv| {
        let label = format!("{} on custody's behalf", r.invoked_by().unwrap_or("a service"));
        decision(&custody_plan::check::authorize(inv, &label, &request))
    });
    let report = json!({
        "what": "a call AWS recorded on custody's behalf that custody's plan did not predict",
        "custody_version": input.version,
        "case": scope.case_id,
        "event": without_credentials(&r.raw),
        "request": to_case_request(&request),
        "decision": decision,
        "record_format": RECORD_CONTENTS,
    });
    Unpredicted { event: summary(r), request: to_case_request(&request), decision, report }
}

/// The authorization request custody's model makes of a service call's record.
fn request_of(r: &TrailRecord) -> AuthzRequest {
    let mut action = action(r);
    let mut key_field = "keyId";
    if action.eq_ignore_ascii_case("kms:ReEncrypt") {
        action = "kms:ReEncryptFrom".to_string();
        key_field = "sourceKeyId";
    }
    let resource = r
        .resource_arns()
        .into_iter()
        .find(|a| a.contains(":key/"))
        .map(str::to_string)
        .or_else(|| param(r, key_field))
        .unwrap_or_else(|| "*".to_string());
    let mut context = BTreeMap::new();
    if let Some(service) = r.invoked_by().filter(|s| s.starts_with("ec2.")) {
        // EBS's KMS requests carry kms:ViaService ec2.<region>.amazonaws.com (KMS Developer Guide,
        // "kms:ViaService", https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
        let _ = service;
        context
            .insert("kms:ViaService".to_string(), ContextEntry::Single(format!("ec2.{}.amazonaws.com", r.aws_region)));
        if action.eq_ignore_ascii_case("kms:CreateGrant") {
            context.insert("kms:GrantIsForAWSResource".to_string(), ContextEntry::Single("true".to_string()));
        }
    }
    if let Some(account) = r.user_identity.account_id.clone() {
        context.insert("kms:CallerAccount".to_string(), ContextEntry::Single(account));
    }
    if let Some(id) = r.encryption_context_ebs_id() {
        context.insert("kms:EncryptionContext:aws:ebs:id".to_string(), ContextEntry::Single(id.to_string()));
    }
    AuthzRequest {
        principal: r.user_identity.arn.clone().unwrap_or_default(),
        action,
        resource,
        resource_account: None,
        context,
        grant_id: None,
        scope: PolicyScope::All,
        why: format!("CloudTrail recorded it (event {})", r.event_id),
        source: RECORD_CONTENTS.to_string(),
        inferred: Some("built from the CloudTrail record, not from AWS's documentation".to_string()),
    }
}

/// The record without what identifies credentials (`userIdentity.accessKeyId`).
fn without_credentials(raw: &Value) -> Value {
    let mut v = raw.clone();
    if let Some(identity) = v.get_mut("userIdentity").and_then(Value::as_object_mut) {
        identity.remove("accessKeyId");
    }
    v
}

/// The preflight's words for a request check.
fn decision(c: &RequestCheck) -> Decision {
    let outcome = match c.outcome {
        CheckOutcome::Allowed => "allowed",
        CheckOutcome::Denied => "denied",
        CheckOutcome::Unknown => "unknown",
    };
    let explanation = match (&c.explanation, c.unknown.is_empty()) {
        (_, false) => format!("unknown: {}", c.unknown.join("; ")),
        (Some(e), true) => e.summary.clone(),
        (None, true) => "no explanation".to_string(),
    };
    Decision { outcome: outcome.to_string(), explanation, fixes: c.fixes.iter().map(|f| f.summary.clone()).collect() }
}

/// The preflight of each acquisition, made once from its journaled plan and inventory.
#[derive(Default)]
struct Preflights {
    reports: BTreeMap<String, Option<CheckReport>>,
}

impl Preflights {
    fn of<'s>(&'s mut self, a: &Acquisition) -> Option<&'s CheckReport> {
        self.reports
            .entry(a.plan.instance_id.clone())
            .or_insert_with(|| a.inventory.as_ref().map(|inv| check(inv, &a.plan)))
            .as_ref()
    }
}

/// A refusal, with the preflight's decision for the same request.
fn refusal(
    r: &TrailRecord,
    input: &CaseInput<'_>,
    scope: &Scope,
    matched: &[ServiceMatch],
    preflights: &mut Preflights,
) -> Refusal {
    let action = action(r);
    // The step: the journaled call with this request id, or the prediction this service call matched.
    let place: Option<(String, String, String)> = input
        .entries
        .iter()
        .find(|e| r.request_id.is_some() && request_id(e) == r.request_id.as_deref())
        .map(|e| (e.intent.instance_id.clone(), e.intent.step_id.clone(), action.clone()))
        .or_else(|| {
            matched
                .iter()
                .find(|m| m.events.iter().any(|ev| ev.event_id == r.event_id))
                .map(|m| (m.prediction.instance_id.clone(), m.prediction.step_id.clone(), m.prediction.action.clone()))
        });
    let found = place.and_then(|(instance, step, want)| {
        let a = input.acquisitions.iter().find(|a| a.plan.instance_id == instance)?;
        let report = preflights.of(a)?;
        let step = report.steps.iter().find(|s| s.id == step)?;
        let rc = step
            .requests
            .iter()
            .find(|q| q.action.eq_ignore_ascii_case(&want) && q.outcome != CheckOutcome::Allowed)
            .or_else(|| step.requests.iter().find(|q| q.action.eq_ignore_ascii_case(&want)))?;
        Some((decision(rc), format!("{} on {}", rc.action, scope.resolve(&rc.resource))))
    });
    let (preflight, request) = match found {
        Some((d, q)) => (Some(d), Some(q)),
        None => (None, None),
    };
    Refusal { event: summary(r), preflight, request }
}

#[allow(clippy::too_many_arguments, reason = "each set of the audit, as computed")]
fn verdict(
    input: &CaseInput<'_>,
    sources: &[Source],
    journaled: &[JournaledCall],
    unjournaled: &[UnjournaledCall],
    unpredicted: &[Unpredicted],
    unseen: &[Prediction],
    refusals: &[Refusal],
    newest: Option<DateTime<Utc>>,
) -> Verdict {
    let mut reasons = Vec::new();
    let mut notes = Vec::new();
    for s in sources.iter().filter(|s| s.error.is_some()) {
        reasons.push(format!("{} could not be read: {}", s.name, s.error.as_deref().unwrap_or_default()));
    }
    let missing = journaled.iter().filter(|c| c.status == CallStatus::NotRecorded).count();
    if missing > 0 {
        let recent = journaled_last(input).is_some_and(|t| input.now - t < chrono::Duration::minutes(20));
        reasons.push(format!(
            "{missing} journaled call(s) with a request id have no CloudTrail event{}",
            if recent {
                " — the case's last call was less than 20 minutes ago and CloudTrail delivers events minutes after \
                 the call: run the audit again later"
            } else {
                ""
            }
        ));
    }
    let alarms = unjournaled.iter().filter(|u| u.expected.is_none()).count();
    if alarms > 0 {
        reasons.push(format!(
            "{alarms} call(s) by the case's identities that custody did not journal and cannot explain: someone \
             else may have used the case's sessions or roles"
        ));
    }
    if !unpredicted.is_empty() {
        reasons.push(format!(
            "{} call(s) a service made on custody's behalf that custody's model did not predict (each is written \
             out as a report to send in)",
            unpredicted.len()
        ));
    }
    let contradicted = refusals.iter().filter(|r| r.preflight.as_ref().is_some_and(|d| d.outcome == "allowed")).count();
    if contradicted > 0 {
        reasons.push(format!("{contradicted} request(s) AWS refused that the preflight allowed"));
    }
    if !unseen.is_empty() {
        notes.push(format!(
            "{} predicted request(s) were never seen: custody's model asks for more than AWS used here (or CloudTrail \
             has not delivered them yet)",
            unseen.len()
        ));
    }
    let no_id = journaled.iter().filter(|c| c.status == CallStatus::NoRequestId).count();
    if no_id > 0 {
        notes.push(format!(
            "{no_id} journaled call(s) have no request id and no matching event (a call that got no answer may never \
             have reached AWS)"
        ));
    }
    if let Some(t) = newest {
        let age = input.now - t;
        notes.push(format!(
            "the newest event read is from {} ({} min before this audit)",
            rfc3339(t),
            age.num_minutes()
        ));
    } else {
        notes.push("no event was read".to_string());
    }
    Verdict { clean: reasons.is_empty(), reasons, notes }
}

fn journaled_last(input: &CaseInput<'_>) -> Option<DateTime<Utc>> {
    input
        .entries
        .iter()
        .flat_map(|e| std::iter::once(e.intended_at.as_str()).chain(e.finished_at.as_deref()))
        .filter_map(parse_time)
        .max()
}

/// Error codes that say a request was refused (EC2 `Client.UnauthorizedOperation`, KMS and STS
/// `AccessDenied…`).
fn is_refusal(code: &str) -> bool {
    code.contains("AccessDenied") || code.contains("UnauthorizedOperation") || code.contains("NotAuthorized")
}

/// Throttling error codes (EC2 `Client.RequestLimitExceeded`, KMS `ThrottlingException`, STS and IAM
/// `Throttling`).
fn is_throttling(code: &str) -> bool {
    code.contains("RequestLimitExceeded") || code.contains("Throttling")
}

/// Whether the record is of a call `custody audit` makes: a lookup, or the AssumeRole or any call of
/// its session, `custody-audit-<case>` (`custody_cloud::SessionName::new("audit", …)`).
fn is_the_audits_own(r: &TrailRecord) -> bool {
    const AUDIT_SESSION: &str = "custody-audit-";
    action(r).eq_ignore_ascii_case("cloudtrail:LookupEvents")
        || r.session_name().is_some_and(|s| s.starts_with(AUDIT_SESSION))
        || param(r, "roleSessionName").is_some_and(|s| s.starts_with(AUDIT_SESSION))
}

/// The record's `service:Operation` (empty when its event source is not a service's).
pub(crate) fn action(r: &TrailRecord) -> String {
    r.action().unwrap_or_default()
}

/// A request parameter that is a string.
pub(crate) fn param(r: &TrailRecord, name: &str) -> Option<String> {
    r.request_param(name).and_then(Value::as_str).map(str::to_string)
}

/// A record as the report shows it.
pub(crate) fn summary(r: &TrailRecord) -> EventSummary {
    EventSummary {
        event_id: r.event_id.clone(),
        event_time: rfc3339(r.event_time),
        account: r.recipient_account_id.clone().unwrap_or_default(),
        region: r.aws_region.clone(),
        action: action(r),
        principal: r.user_identity.arn.clone(),
        invoked_by: r.invoked_by().map(str::to_string),
        request_id: r.request_id.clone(),
        error_code: r.error_code.clone(),
        error_message: r.error_message.clone(),
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

//! What an audit finds: the three sets of the report, and the verdict.

use serde::Serialize;

/// The audit of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Audit {
    pub case_id: String,
    /// The time the audit looked at (the case's calls, with a margin), UTC RFC 3339.
    pub window: Window,
    /// Where the events came from: each account and Region looked up, or each file read.
    pub sources: Vec<Source>,
    /// Set 1: every journaled call, with the events that record it.
    pub journaled: Vec<JournaledCall>,
    /// Set 2: events by the case's sessions that custody did not journal.
    pub unjournaled: Vec<UnjournaledCall>,
    /// Set 3: the calls services made on custody's behalf, against the plan's predictions.
    pub service_calls: ServiceCalls,
    /// Every refused request in the record, explained with the preflight's words.
    pub refusals: Vec<Refusal>,
    /// Events read that belong to no call of the case (other users, other cases): counted only.
    pub unrelated_events: usize,
    /// The newest event time seen, and how long before the audit it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_event: Option<String>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    pub start: String,
    pub end: String,
}

/// One place events were read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// `account 111122223333, us-east-1 (LookupEvents as arn:…)`, or a file name.
    pub name: String,
    pub events: usize,
    /// Why events could not be read from it (the audit is then incomplete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Set 1: a call custody journaled, and what CloudTrail recorded of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournaledCall {
    pub entry_id: i64,
    pub instance_id: String,
    pub step_id: String,
    pub api: String,
    pub account: String,
    pub region: String,
    /// AWS's request id, as journaled (absent when the call got no answer, or its outcome was
    /// settled by a lookup after a crash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `ok`, `failed`, or `unknown` (intended, no outcome journaled).
    pub outcome: String,
    pub events: Vec<EventSummary>,
    pub status: CallStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallStatus {
    /// An event with the journaled request id.
    Recorded,
    /// A request id was journaled and no event carries it.
    NotRecorded,
    /// No request id journaled: matched to an event by API, identity and time instead.
    RecordedWithoutRequestId,
    /// No request id journaled and no event found (a call that got no answer may never have reached AWS).
    NoRequestId,
}

/// One CloudTrail event, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventSummary {
    pub event_id: String,
    pub event_time: String,
    /// The account whose event history holds it (`recipientAccountId`).
    pub account: String,
    pub region: String,
    /// `ec2:CopySnapshot`.
    pub action: String,
    /// `userIdentity.arn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// `userIdentity.invokedBy`, or the service in `sourceIPAddress`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// Set 2: an event by the case's identities that matches no journaled call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnjournaledCall {
    pub event: EventSummary,
    /// Why it is expected (a read the plan makes, an AssumeRole, a throttled attempt of a journaled
    /// call), or `None`: nobody can say custody made it — a chain-of-custody alarm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

/// Set 3.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ServiceCalls {
    /// Predicted, and seen.
    pub matched: Vec<ServiceMatch>,
    /// Seen, not predicted: a gap in custody's model.
    pub unpredicted: Vec<Unpredicted>,
    /// Predicted for a call custody made, never seen: custody asked for more than AWS used (or
    /// CloudTrail has not delivered it yet).
    pub unseen: Vec<Prediction>,
}

/// A request the plan predicts a service makes on custody's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prediction {
    pub instance_id: String,
    pub step_id: String,
    /// The call it is made for (`ec2:CopySnapshot`).
    pub call: String,
    pub action: String,
    /// The key, with the plan's placeholders replaced by the ids the acquisition created.
    pub key_arn: String,
    /// `kms:EncryptionContext:aws:ebs:id`, resolved likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebs_id: Option<String>,
    pub principal: String,
    pub why: String,
    pub source: String,
    /// Absent when AWS documents the request; else what custody inferred.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inferred: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceMatch {
    pub prediction: Prediction,
    pub events: Vec<EventSummary>,
}

/// A service call on custody's behalf that the plan did not predict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unpredicted {
    pub event: EventSummary,
    /// The request custody's model makes of the event, as `custody authz` takes it.
    pub request: serde_json::Value,
    /// What custody would have decided for it from the acquisition's inventory, in the preflight's
    /// words; `None` when the journal has no inventory for the acquisition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// A self-contained report to send in (the event without credentials, the request, the
    /// decision, custody's version).
    pub report: serde_json::Value,
}

/// A decision of custody's engine, in the preflight's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// `allowed`, `denied` or `unknown`.
    pub outcome: String,
    pub explanation: String,
    /// The fixes the preflight offers for it (denied requests).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<String>,
}

/// A refusal in the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub event: EventSummary,
    /// The preflight's decision for the same request, when the plan has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preflight: Option<Decision>,
    /// The request the preflight checked (`kms:CreateGrant on arn:…`), when found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
}

/// The verdict: clean (exit 0) or not (exit 1), and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub clean: bool,
    /// One sentence per reason it is not clean.
    pub reasons: Vec<String>,
    /// Notes that do not change the verdict (predicted but unseen requests, recent calls).
    pub notes: Vec<String>,
}

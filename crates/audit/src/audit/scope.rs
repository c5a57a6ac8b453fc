//! What belongs to the case: its identities, its resources, its time, and the ids the acquisition
//! gave the plan's placeholders.

use super::CaseInput;
use crate::record::TrailRecord;
use chrono::{DateTime, Duration, Utc};
use custody_journal::Outcome;
use custody_plan::plan::Action;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Events may be logged a little before the journal's clock says the call was intended (clocks
/// differ), and service calls on custody's behalf run while a copy completes, after the call that
/// started it: the window opens 15 minutes before the first journaled call and closes an hour after
/// the last.
const BEFORE: i64 = 15;
const AFTER: i64 = 60;

/// The case's identities, resources and time.
pub(crate) struct Scope {
    pub case_id: String,
    /// Role session names custody used for the case (`custody-<case>`, the plans' AssumeRole
    /// sessions, `custody-<purpose>-<case>`).
    sessions: BTreeSet<String>,
    /// Every role that signs a call of the plans.
    pub roles: BTreeSet<String>,
    /// The roles the plans assume (AssumeRole's `roleArn`).
    pub assumed_roles: BTreeSet<String>,
    /// Ids of what the case created or acquired: snapshots, volumes, the instance, keys, aliases,
    /// grants (never a key that existed before: other workloads use it too).
    resources: BTreeSet<String>,
    /// Placeholder → the id the acquisition created for it.
    pub placeholders: BTreeMap<String, String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Scope {
    pub fn new(input: &CaseInput<'_>) -> Scope {
        let case_id = input.case_id.to_string();
        let mut sessions = BTreeSet::new();
        sessions.insert(custody_plan::plan::session_name(&case_id));
        let mut roles = BTreeSet::new();
        let mut assumed_roles = BTreeSet::new();
        let mut resources = BTreeSet::new();
        for a in input.acquisitions {
            resources.insert(a.plan.instance_id.clone());
            for v in &a.plan.volumes {
                resources.insert(v.volume_id.clone());
            }
            for step in &a.plan.steps {
                if let Action::AssumeRole { role_arn, session_name } = &step.action {
                    sessions.insert(custody_plan::plan::sts_session_name(session_name));
                    assumed_roles.insert(role_arn.clone());
                }
                for call in &step.calls {
                    roles.insert(call.signer.clone());
                }
            }
        }
        let mut placeholders = BTreeMap::new();
        for e in input.entries {
            roles.insert(e.intent.signer.clone());
            if let Some(Outcome::Ok { result, .. }) = &e.outcome {
                if let Some(map) = result.get("resolves").and_then(Value::as_object) {
                    for (placeholder, real) in map {
                        if let Some(real) = real.as_str() {
                            placeholders.insert(placeholder.clone(), real.to_string());
                            resources.insert(real.to_string());
                        }
                    }
                }
            }
        }
        for r in input.resources {
            resources.insert(r.id.clone());
        }
        for e in input.evidence {
            resources.insert(e.snapshot_id.clone());
        }
        resources.retain(|r| r.len() >= 6);
        let times = input
            .entries
            .iter()
            .flat_map(|e| std::iter::once(e.intended_at.as_str()).chain(e.finished_at.as_deref()))
            .chain(input.case_times.iter().map(String::as_str))
            .filter_map(parse_time);
        let (mut start, mut end) = (None::<DateTime<Utc>>, None::<DateTime<Utc>>);
        for t in times {
            start = Some(start.map_or(t, |s| s.min(t)));
            end = Some(end.map_or(t, |e| e.max(t)));
        }
        let start = start.unwrap_or(input.now) - Duration::minutes(BEFORE);
        let end = (end.unwrap_or(input.now) + Duration::minutes(AFTER)).min(input.now.max(start));
        Scope { case_id, sessions, roles, assumed_roles, resources, placeholders, start, end }
    }

    /// The session names the plans give the case's sessions.
    pub fn session_names(&self) -> impl Iterator<Item = &String> {
        self.sessions.iter()
    }

    /// Whether `name` is a session custody opened for this case.
    pub fn is_case_session(&self, name: &str) -> bool {
        if self.sessions.contains(name) {
            return true;
        }
        // `custody-<purpose>-<case>` (collect, cleanup, audit, …), cut to STS's 64 characters.
        let case = custody_plan::plan::sts_session_name(&self.case_id);
        name.starts_with("custody-")
            && (name.ends_with(&format!("-{case}")) || (name.len() == 64 && name.contains(&case)))
    }

    /// Whether `text` names something the case created or acquired.
    pub fn names_resource(&self, text: &str) -> bool {
        self.resources.iter().any(|r| text.contains(r.as_str()))
    }

    /// Whether the record's parameters, answer or resources name something of the case.
    pub fn touches(&self, record: &TrailRecord) -> bool {
        ["requestParameters", "responseElements", "resources"]
            .iter()
            .filter_map(|k| record.raw.get(*k))
            .any(|v| any_string(v, &|s| self.names_resource(s)))
    }

    /// `id` with the plan's placeholders replaced by what the acquisition created.
    pub fn resolve(&self, id: &str) -> String {
        if let Some(real) = self.placeholders.get(id) {
            return real.clone();
        }
        let mut out = id.to_string();
        let mut longest_first: Vec<(&String, &String)> = self.placeholders.iter().collect();
        longest_first.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        for (p, real) in longest_first {
            if !p.is_empty() && out.contains(p.as_str()) {
                // A placeholder key ARN's key id resolves to the real key's ARN: use its id.
                let real_part = if real.starts_with("arn:") && out.starts_with("arn:") {
                    real.rsplit('/').next().unwrap_or(real)
                } else {
                    real
                };
                out = out.replace(p.as_str(), real_part);
            }
        }
        out
    }

    /// Whether the record's time is in the case's window.
    pub fn in_window(&self, record: &TrailRecord) -> bool {
        record.event_time >= self.start && record.event_time <= self.end
    }
}

/// Whether any string inside `v` satisfies `f`.
fn any_string(v: &Value, f: &dyn Fn(&str) -> bool) -> bool {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().any(|i| any_string(i, f)),
        Value::Object(map) => map.iter().any(|(k, i)| f(k) || any_string(i, f)),
        _ => false,
    }
}

/// An RFC 3339 time (the journal's and CloudTrail's).
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

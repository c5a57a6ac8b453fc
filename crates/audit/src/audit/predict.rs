//! Set 3: the requests the plans predict a service makes on custody's behalf, and the service calls
//! CloudTrail shows, held against each other.

use super::scope::Scope;
use super::{action, param, summary, CaseInput};
use crate::model::{Prediction, ServiceMatch};
use crate::record::TrailRecord;
use custody_journal::Outcome;
use custody_plan::plan::ContextEntry;

/// The context key that marks a request a service makes on the caller's behalf (KMS Developer
/// Guide, "kms:ViaService", <https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service>).
const VIA_SERVICE: &str = "kms:ViaService";
const EBS_ID: &str = "kms:EncryptionContext:aws:ebs:id";

/// The predictions for every call the acquisitions made (journaled with an answer from AWS).
pub(crate) fn predictions(input: &CaseInput<'_>, scope: &Scope) -> Vec<Prediction> {
    let mut out: Vec<Prediction> = Vec::new();
    for a in input.acquisitions {
        for step in &a.plan.steps {
            for call in &step.calls {
                let made = input.entries.iter().any(|e| {
                    e.intent.instance_id == a.plan.instance_id
                        && e.intent.step_id == step.id
                        && e.intent.api == call.api
                        && reached_aws(e.outcome.as_ref())
                });
                if !made {
                    continue;
                }
                for r in call.requests.iter().filter(|r| r.context.contains_key(VIA_SERVICE)) {
                    let ebs_id = match r.context.get(EBS_ID) {
                        Some(ContextEntry::Single(v)) => Some(scope.resolve(v)),
                        _ => None,
                    };
                    let p = Prediction {
                        instance_id: a.plan.instance_id.clone(),
                        step_id: step.id.clone(),
                        call: call.api.clone(),
                        action: r.action.clone(),
                        key_arn: scope.resolve(&r.resource),
                        ebs_id,
                        principal: r.principal.clone(),
                        why: r.why.clone(),
                        source: r.source.clone(),
                        inferred: r.inferred.clone(),
                    };
                    // The same request predicted twice (a call made again) is one prediction.
                    if !out.iter().any(|o| o.action == p.action && o.key_arn == p.key_arn && o.ebs_id == p.ebs_id) {
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

/// Whether a journaled call reached AWS: it has an outcome with AWS's answer (a failed call with no
/// request id may never have been sent).
fn reached_aws(outcome: Option<&Outcome>) -> bool {
    match outcome {
        Some(Outcome::Ok { .. }) => true,
        Some(Outcome::Failed { request_id, code, .. }) => request_id.is_some() || code.is_some(),
        None => false,
    }
}

/// Holds the service-call records against the predictions: (matched, records predicted by none,
/// predictions never seen).
pub(crate) fn hold<'r>(
    predictions: Vec<Prediction>,
    records: &[&'r TrailRecord],
) -> (Vec<ServiceMatch>, Vec<&'r TrailRecord>, Vec<Prediction>) {
    let mut matched: Vec<ServiceMatch> = Vec::new();
    let mut unseen = Vec::new();
    let mut used = vec![false; records.len()];
    for p in predictions {
        let mut events = Vec::new();
        for (i, r) in records.iter().enumerate() {
            if fits(&p, r) {
                used[i] = true;
                events.push(summary(r));
            }
        }
        if events.is_empty() {
            unseen.push(p);
        } else {
            matched.push(ServiceMatch { prediction: p, events });
        }
    }
    let unpredicted = records.iter().zip(used).filter(|(_, u)| !u).map(|(r, _)| *r).collect();
    (matched, unpredicted, unseen)
}

/// Whether the record is the predicted request: the same KMS action (CloudTrail names the ReEncrypt
/// API, IAM its two halves), on the predicted key, for the predicted snapshot or volume when both say.
fn fits(p: &Prediction, r: &TrailRecord) -> bool {
    let action = action(r);
    let key_fields: &[&str] = match p.action.as_str() {
        // ReEncrypt is authorized twice: ReEncryptFrom on the source key, ReEncryptTo on the
        // destination key (KMS API Reference, ReEncrypt, "Required permissions",
        // https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html).
        "kms:ReEncryptFrom" if action.eq_ignore_ascii_case("kms:ReEncrypt") => &["sourceKeyId"],
        "kms:ReEncryptTo" if action.eq_ignore_ascii_case("kms:ReEncrypt") => &["destinationKeyId"],
        a if a.eq_ignore_ascii_case(&action) => &["keyId"],
        _ => return false,
    };
    let on_key = r.resource_arns().iter().any(|arn| same_key(arn, &p.key_arn))
        || key_fields.iter().filter_map(|f| param(r, f)).any(|k| same_key(&k, &p.key_arn));
    if !on_key {
        return false;
    }
    match (&p.ebs_id, r.encryption_context_ebs_id()) {
        (Some(want), Some(seen)) => want == seen,
        _ => true,
    }
}

/// Whether `named` (a key ARN, key id or ARN from a record) is the key `arn`.
pub(crate) fn same_key(named: &str, arn: &str) -> bool {
    let id = |s: &str| s.rsplit_once("key/").map(|(_, id)| id.to_string()).unwrap_or_else(|| s.to_string());
    named == arn || (!named.starts_with("alias/") && id(named) == id(arn))
}

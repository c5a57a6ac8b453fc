//! What the journal says about a snapshot being imaged: its case, evidence item and the AWS calls
//! that produced it, for the manifest.

use custody_image::{AwsCall, ManifestContext, Source};
use custody_journal::{Evidence, Journal, JournalError, Outcome};

/// One snapshot to image, with what the manifest will say about it.
pub struct Target {
    pub snapshot_id: String,
    pub context: ManifestContext,
}

/// An evidence item, the journaled calls of its instance, and its case's examiner.
pub struct Found {
    pub evidence: Evidence,
    pub calls: Vec<AwsCall>,
    pub examiner: Option<String>,
}

/// The evidence items of `case_id` (all, or the one of `snapshot_id`), or of whichever case holds
/// `snapshot_id` when no case is given. `Ok(None)`: the case is not in the journal.
pub fn from_journal(
    journal: &Journal,
    case_id: Option<&str>,
    snapshot_id: Option<&str>,
) -> Result<Option<Vec<Found>>, JournalError> {
    let cases = match case_id {
        Some(id) => match journal.case(id)? {
            Some(case) => vec![case],
            None => return Ok(None),
        },
        None => journal.cases()?,
    };
    let mut found = Vec::new();
    for case in cases {
        let evidence = journal.evidence(&case.case_id)?;
        // Evidence the examiner discarded no longer exists: there is nothing left to image.
        let discarded = journal.discarded_evidence(&case.case_id)?;
        let wanted: Vec<Evidence> = evidence
            .into_iter()
            .filter(|e| snapshot_id.is_none_or(|s| s == e.snapshot_id) && !discarded.contains_key(&e.snapshot_id))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let entries = journal.entries(&case.case_id)?;
        let audited = journal.audit_matches(&case.case_id)?;
        for item in wanted {
            let calls = entries
                .iter()
                .filter(|e| e.intent.instance_id == item.instance_id)
                .map(|e| {
                    let (outcome, request_id) = match &e.outcome {
                        Some(Outcome::Ok { request_id, .. }) => ("ok", request_id.clone()),
                        Some(Outcome::Failed { request_id, .. }) => ("failed", request_id.clone()),
                        None => ("unknown", None),
                    };
                    AwsCall {
                        api: e.intent.api.clone(),
                        step_id: e.intent.step_id.clone(),
                        account: e.intent.account.clone(),
                        region: e.intent.region.clone(),
                        signer: e.intent.signer.clone(),
                        intended_at: e.intended_at.clone(),
                        finished_at: e.finished_at.clone(),
                        outcome: outcome.to_string(),
                        request_id,
                        cloudtrail_event_ids: audited
                            .iter()
                            .filter(|m| m.entry_id == e.id)
                            .map(|m| m.event_id.clone())
                            .collect(),
                    }
                })
                .collect();
            found.push(Found { evidence: item, calls, examiner: case.examiner.clone() });
        }
        if case_id.is_none() && !found.is_empty() {
            break; // a snapshot is evidence in one case
        }
    }
    Ok(Some(found))
}

/// The manifest context of one evidence item.
pub fn target(Found { evidence, calls, examiner }: Found) -> Target {
    Target {
        snapshot_id: evidence.snapshot_id.clone(),
        context: ManifestContext {
            custody_version: env!("CARGO_PKG_VERSION").to_string(),
            case_id: Some(evidence.case_id.clone()),
            examiner,
            source: Source {
                snapshot_id: evidence.snapshot_id,
                region: evidence.region,
                account: Some(evidence.account),
                instance_id: Some(evidence.instance_id),
                volume_id: Some(evidence.volume_id),
                kms_key_arn: evidence.key_arn,
                acquisition_path: Some(evidence.path),
            },
            aws_calls: calls,
        },
    }
}

//! Deleting snapshots, and the evidence tag: the rows that decide whether evidence can be lost.
//!
//! Evidence snapshots carry the tag `CustodyEvidence` ([`crate::plan::TAG_EVIDENCE`]): the evidence
//! copy from its creation (CopySnapshot's TagSpecifications), a source snapshot that is itself the
//! evidence through a CreateTags step. Every snapshot custody creates carries the id of its run
//! (`CustodyRun`, [`crate::plan::TAG_RUN`]). Three rules follow:
//!
//! - **The guard** ([`GUARDS`]): the roles that create or delete snapshots (features `acquire` and
//!   `cleanup`) get an explicit Deny of `ec2:DeleteSnapshot` and `ec2:DeleteTags` on any snapshot
//!   carrying the evidence tag, in every region. A Deny wins over any Allow, in this policy or in any
//!   other policy attached to the role (IAM User Guide, "Policy evaluation logic",
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>).
//!   Both actions are authorized on the snapshot with its tags as `aws:ResourceTag/${TagKey}` (EC2
//!   service authorization reference, DeleteSnapshot and DeleteTags rows, resource type snapshot,
//!   <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html>). The
//!   test is the tag's presence (`Null` = false, IAM User Guide, "Condition operator to check
//!   existence of condition keys",
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null>),
//!   not its value: rewriting the value with CreateTags leaves the tag present and the snapshot
//!   protected, so no Deny of CreateTags is needed; and such a Deny would refuse custody's own
//!   marking step when a resumed run repeats it on a snapshot already marked. All of DeleteTags is
//!   denied, not only of the evidence tag: DeleteTags without a tag list deletes every tag (EC2 API
//!   Reference, DeleteTags, `Tag.N`,
//!   <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteTags.html>), and custody never
//!   removes a tag.
//! - **Custody deletes only what its runs made and is not evidence** ([`ALLOWS`]): DeleteSnapshot is
//!   allowed on snapshots carrying a run id and the case tag and no evidence tag; a snapshot tagged
//!   with the case id alone (another tool's, or another data directory's) is not custody's to delete.
//!   CreateTags on an existing snapshot is allowed only to add the evidence tag (its value `true`, and
//!   no other key: `ForAllValues:StringEquals aws:TagKeys`), only on snapshots carrying a run id.
//! - **Discarding evidence is someone else's act**: feature `discard-evidence` writes a policy for a
//!   separate role, the evidence custodian, allowed to delete (and untag) custody's evidence snapshots
//!   and nothing else; the roles custody runs as keep their Deny.

use super::{Cond, Res, Role, Scope, Template, ANY_MODE, EBS_IAM, EC2_SAR};
use crate::generate::Feature::{Acquire, Cleanup, DirectRead, DiscardEvidence};
use Cond::{CaseTagged, EvidenceTagRequested, EvidenceTagged, NotEvidence, OnlyEvidenceTagKey, RunTagged};
use Role::{Custodian, Forensic, Source};
use Scope::{Always, SameAccount};

/// A statement's effect: a row of [`super::TEMPLATES`] or [`ALLOWS`] allows, a row of [`GUARDS`] denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// Every row with its effect, in the order the statements are written: the guards first, so that a
/// reader of a policy sees what it can never do before what it may; `audit`'s last, so that adding
/// it leaves every other statement where it was.
pub fn rows() -> impl Iterator<Item = (Effect, &'static Template)> {
    let allows = super::TEMPLATES.iter().chain(ALLOWS).chain(super::triage_output::ROWS).chain(super::audit::ROWS);
    GUARDS.iter().map(|t| (Effect::Deny, t)).chain(allows.map(|t| (Effect::Allow, t)))
}

const DELETE_TAGS: &str = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteTags.html";
const GUARD_PURPOSE: &str = "never delete, or remove tags from, a snapshot marked as evidence, in any region, \
     whatever else allows it: an explicit Deny on the tag's presence (aws:ResourceTag, Null)";

/// The Deny rows (effect Deny): one per acquiring role.
pub const GUARDS: &[Template] = &[
    Template {
        sid: "NeverDeleteEvidence",
        role: Forensic,
        features: &[Acquire, Cleanup],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["ec2:DeleteSnapshot", "ec2:DeleteTags"],
        resources: &[Res::AllSnapshots],
        conditions: &[EvidenceTagged],
        purpose: GUARD_PURPOSE,
        doc: EC2_SAR,
    },
    Template {
        sid: "NeverDeleteEvidence",
        role: Source,
        features: &[Acquire, Cleanup],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["ec2:DeleteSnapshot", "ec2:DeleteTags"],
        resources: &[Res::AllSnapshots],
        conditions: &[EvidenceTagged],
        purpose: GUARD_PURPOSE,
        doc: EC2_SAR,
    },
];

/// The Allow rows that delete snapshots or mark them as evidence.
pub const ALLOWS: &[Template] = &[
    // ---- acquire: a source snapshot that is itself the evidence -----------------------------------
    Template {
        sid: "AcquireMarkOwnSnapshotsAsEvidence",
        role: Forensic,
        features: &[Acquire],
        kms: ANY_MODE,
        scope: SameAccount,
        forensic_too: false,
        actions: &["ec2:CreateTags"],
        resources: &[Res::Snapshots],
        conditions: &[RunTagged, EvidenceTagRequested, OnlyEvidenceTagKey],
        purpose: "mark a snapshot of the forensic account's own volumes as evidence when it is kept as such \
                  (paths 1–3): only the evidence tag, only on snapshots a custody run created (CreateTags on the \
                  snapshot)",
        doc: EC2_SAR,
    },
    Template {
        sid: "DirectReadMarkSourceSnapshotsAsEvidence",
        role: Source,
        features: &[DirectRead],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: true,
        actions: &["ec2:CreateTags"],
        resources: &[Res::Snapshots],
        conditions: &[RunTagged, EvidenceTagRequested, OnlyEvidenceTagKey],
        purpose: "path 9: mark the snapshot read in place as evidence: only the evidence tag, only on snapshots a \
                  custody run created (CreateTags on the snapshot)",
        doc: EC2_SAR,
    },
    // ---- cleanup: only what custody's runs made, never evidence ------------------------------------
    Template {
        sid: "CleanupDeleteCustodySnapshots",
        role: Source,
        features: &[Cleanup],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: true,
        actions: &["ec2:DeleteSnapshot"],
        resources: &[Res::Snapshots],
        conditions: &[CaseTagged, RunTagged, NotEvidence],
        purpose: "delete only the intermediate snapshots a custody run created (case and run tags) and not marked as \
                  evidence (aws:ResourceTag)",
        doc: EBS_IAM,
    },
    // ---- discard-evidence: the evidence custodian, a separate role ---------------------------------
    Template {
        sid: "DiscardEvidenceFindSnapshots",
        role: Custodian,
        features: &[DiscardEvidence],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["ec2:DescribeSnapshots"],
        resources: &[Res::Any],
        conditions: &[],
        purpose: "find a case's evidence snapshots by their tags (DescribeSnapshots has no resource types)",
        doc: EC2_SAR,
    },
    Template {
        sid: "DiscardEvidenceSnapshots",
        role: Custodian,
        features: &[DiscardEvidence],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["ec2:DeleteSnapshot", "ec2:DeleteTags"],
        resources: &[Res::Snapshots],
        conditions: &[EvidenceTagged, CaseTagged],
        purpose: "for the person with authority to destroy evidence: delete, or remove the tags of, custody's \
                  evidence snapshots (evidence and case tags) and no other snapshot",
        doc: DELETE_TAGS,
    },
];

//! The acquisition plan: a path per volume, then the ordered steps, each with its AWS API calls and,
//! for every call, the authorization requests AWS evaluates (`docs/aws-authorization-map.md`).
//!
//! [`plan()`] works in three stages, one submodule each:
//! - `select`: the path of each volume (issue 3, "Paths"), from the volume's key, the accounts and
//!   Regions involved, the grants on the key and, for a cross-account customer key, a probe of its
//!   key policy with the `custody-policy` engine;
//! - `steps` and `transfer`: the ordered steps (discover, the crash-consistent snapshot, triage, the
//!   path's transfer or read steps per volume, cleanup), each with its calls; with
//!   [`PlanRequest::audit`], `audit` adds `custody audit`'s CloudTrail look-ups after them;
//! - `requests` (EC2, STS, EBS, SSM) and `kms`: one builder per AWS call, listing every authorization
//!   request AWS evaluates for it, the KMS calls EC2 makes as the caller included, each with `why`
//!   and the AWS page (`source`). Where the map says the documentation is SILENT, the builder follows
//!   the map's "planner recommendation" and says so in `why`.
//!
//! For the preflight: a request is evaluated for its `principal`, whose role is the call's `signer`;
//! [`AuthzRequest::scope`] says when only one side of the policies is meant (the two evaluations of
//! `sts:AssumeRole`; `ec2:CopySnapshot` of a snapshot shared with the caller, where the share stands
//! in for a resource policy; `kms:TagResource` at key creation, an IAM-only check on `key/*`).
//! Requests on a key listed in a step's `creates_keys` use that key's policy, in that step and later;
//! grants in `creates_grants` exist from the step after the one that creates them.
//!
//! Placeholders: what does not exist yet is named so that policies written for the real thing match
//! it. Snapshots custody will create are `snap-source-…`, `snap-temp-…`, `snap-evidence-…` (so
//! `snapshot/snap-*` matches); the request that *creates* a snapshot is evaluated on
//! `arn:aws:ec2:<r>::snapshot/*` (the ID is not known then, map §3.1, §5.1). The temporary key is
//! `arn:aws:kms:<r>:<acct>:key/custody-temp-<volume>` and a grant custody creates is
//! `custody-grant-<volume>`. [`VolumePlan::snapshots`] lists the snapshot placeholders so the
//! executor can map them to the real IDs.

mod action;
mod api;
mod audit;
mod case_request;
mod context;
mod error;
mod kms;
mod names;
mod propagation;
mod requests;
mod select;
mod steps;
mod transfer;
mod triage_output;

pub use action::{grant_name, session_name, sts_session_name, Action};
pub use api::{Api, UnknownApi};
pub(crate) use case_request::context_value;
pub use case_request::CaseRequest;
pub use error::PlanError;
pub use kms::{ebs_key_operations, COPY_GRANT_OPERATIONS, EBS_ENCRYPTION_OPERATIONS, SHARED_KEY_OPERATIONS};
pub use propagation::{
    Awaited, Propagation, KMS_EVENTUAL_CONSISTENCY, PROPAGATION_WINDOW_SECS, UNTIL_THE_ALIAS_AUTHORIZES,
};
pub use triage_output::TriageOutput;

use crate::inventory::Inventory;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The tag custody puts on every snapshot it creates: the case id.
pub const TAG_CASE: &str = "CustodyCase";
/// The tag custody puts on every snapshot it creates: the instance acquired.
pub const TAG_INSTANCE: &str = "CustodyInstance";
/// The tag custody puts on the per-volume copies: the source volume.
pub const TAG_VOLUME: &str = "CustodyVolume";
/// The tag custody puts on everything it creates: the id of the run that created it. A run owns
/// what carries its id: cleanup's search in AWS only ever removes resources of runs its journal
/// knows, never what merely carries the case id (another data directory may use the same case id).
pub const TAG_RUN: &str = "CustodyRun";
/// The tag that marks a snapshot as evidence (value [`EVIDENCE_TAG_VALUE`]): set at creation on the
/// evidence copy, and by a CreateTags step on a source snapshot that is itself the evidence. The
/// policies custody writes deny deleting, and removing tags from, any snapshot that carries it.
pub const TAG_EVIDENCE: &str = "CustodyEvidence";
/// The value of [`TAG_EVIDENCE`].
pub const EVIDENCE_TAG_VALUE: &str = "true";
/// The waiting period custody asks for when it schedules the temporary key for deletion (the
/// minimum KMS accepts, <https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html>).
pub const TEMP_KEY_DELETION_DAYS: u32 = 7;

/// The ways a volume can reach the forensic account (issue 3, "Paths").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Path {
    /// 1. The volume is not encrypted.
    Unencrypted,
    /// 2. AWS managed key (aws/ebs), same account.
    AwsManagedSameAccount,
    /// 3. Customer managed key, same account.
    CustomerKeySameAccount,
    /// 4. Cross-Region: the copy is re-encrypted under a key of the destination Region.
    CrossRegion,
    /// 5. Cross-account, customer key, CreateGrant only (seed option 1): the source-account role
    ///    creates a grant for the forensic role with the operations AWS lists for a shared key,
    ///    custody uses and retires it.
    CrossAccountGrantOnly,
    /// 6. Cross-account, customer key, direct (seed option 2): the key policy names the forensic
    ///    account or role; CreateGrant only with `kms:GrantIsForAWSResource`.
    CrossAccountDirect,
    /// 7. Key-owner grants already in place (seed option 3).
    CrossAccountOwnerGrants,
    /// 8. Cross-account, AWS managed key: re-encrypt under a temporary customer key with a prefixed
    ///    alias, share, copy, then delete the alias and schedule the key for deletion.
    CrossAccountAwsManagedKey,
    /// 8 with a customer key: the route of path 8 for a key of the source account that its role may
    ///    use through EC2 but may neither open to the forensic role nor grant (seed 002: cross-account
    ///    imports of KMS-encrypted instances re-encrypt to a temporary key with a prefixed alias).
    CrossAccountTempKey,
    /// 9. Direct read: snapshot in the source account, blocks read with the EBS direct APIs.
    DirectRead,
}

impl Path {
    /// The path's number (1–9), as the issue and the report number them.
    pub fn number(self) -> u8 {
        match self {
            Path::Unencrypted => 1,
            Path::AwsManagedSameAccount => 2,
            Path::CustomerKeySameAccount => 3,
            Path::CrossRegion => 4,
            Path::CrossAccountGrantOnly => 5,
            Path::CrossAccountDirect => 6,
            Path::CrossAccountOwnerGrants => 7,
            Path::CrossAccountAwsManagedKey | Path::CrossAccountTempKey => 8,
            Path::DirectRead => 9,
        }
    }

    /// The kebab-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Path::Unencrypted => "unencrypted",
            Path::AwsManagedSameAccount => "aws-managed-same-account",
            Path::CustomerKeySameAccount => "customer-key-same-account",
            Path::CrossRegion => "cross-region",
            Path::CrossAccountGrantOnly => "cross-account-grant-only",
            Path::CrossAccountDirect => "cross-account-direct",
            Path::CrossAccountOwnerGrants => "cross-account-owner-grants",
            Path::CrossAccountAwsManagedKey => "cross-account-aws-managed-key",
            Path::CrossAccountTempKey => "cross-account-temp-key",
            Path::DirectRead => "direct-read",
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.number(), self.as_str())
    }
}

/// What `--mode` can force (the planner otherwise chooses per volume).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Auto,
    GrantOnly,
    #[serde(rename = "direct-use", alias = "direct")]
    Direct,
    #[serde(rename = "owner-grant", alias = "owner-grants")]
    OwnerGrants,
    DirectRead,
}

impl Mode {
    /// The kebab-case name, as `--mode` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::GrantOnly => "grant-only",
            Mode::Direct => "direct-use",
            Mode::OwnerGrants => "owner-grant",
            Mode::DirectRead => "direct-read",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Mode, String> {
        // The older spellings `direct` and `owner-grants` are still accepted.
        let s = match s {
            "direct" => "direct-use",
            "owner-grants" => "owner-grant",
            s => s,
        };
        [Mode::Auto, Mode::GrantOnly, Mode::Direct, Mode::OwnerGrants, Mode::DirectRead]
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a mode: expected auto, grant-only, direct-use, owner-grant or direct-read")
            })
    }
}

/// What the plan is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    pub instance_id: String,
    /// Destination account and Region; default: the inventory's forensic account and Region.
    pub to_account: Option<String>,
    pub to_region: Option<String>,
    pub mode: Mode,
    /// Include the triage steps (SSM Run Command).
    pub triage: bool,
    /// Where triage output goes (`--output s3://…`); `None`: read inline from SSM.
    pub triage_output: Option<TriageOutput>,
    /// The case id (names the temporary alias, tags, the role session); default `CASE`.
    pub case_id: String,
    /// The id of the run that will carry the plan out, tagged (`CustodyRun`) on everything it creates;
    /// default [`PLANNED_RUN_ID`] for a plan that is only shown or checked.
    pub run_id: String,
    /// Create a volume from each evidence snapshot in this availability zone of the destination
    /// Region (for an examiner to attach to an analysis instance); `None`: snapshots only.
    pub volume_az: Option<String>,
    /// Add, after every other step, the CloudTrail look-ups `custody audit` makes: one step per
    /// account and Region the plan's calls act in, each a `cloudtrail:LookupEvents` as the role
    /// custody uses in that account ([`Phase::Audit`]). Only for `custody check --audit` and
    /// `custody plan --audit`: the executor never runs these steps.
    pub audit: bool,
}

impl PlanRequest {
    /// A request for `instance_id` with the defaults: the forensic account and Region, `Mode::Auto`,
    /// no triage, case `CASE`.
    pub fn new(instance_id: impl Into<String>) -> PlanRequest {
        PlanRequest {
            instance_id: instance_id.into(),
            to_account: None,
            to_region: None,
            mode: Mode::Auto,
            triage: false,
            triage_output: None,
            case_id: "CASE".to_string(),
            run_id: PLANNED_RUN_ID.to_string(),
            volume_az: None,
            audit: false,
        }
    }
}

/// The run id of a plan made only to be shown or checked (`custody plan`, `custody check`).
pub const PLANNED_RUN_ID: &str = "r-planned";

/// True for a run id custody makes (and a tag value AWS accepts): `r-` then 1 to 62 ASCII letters, digits
/// and `-`. Checked where a run id enters (the plan request, the journal), since it names what cleanup
/// may remove.
pub fn is_run_id(id: &str) -> bool {
    id.strip_prefix("r-").is_some_and(|rest| {
        (1..=62).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// A plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub instance_id: String,
    pub case_id: String,
    /// The run that carries the plan out (tag `CustodyRun` on everything it creates). Plans journaled
    /// before runs had ids read back without one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_id: String,
    pub source_account: String,
    pub source_region: String,
    pub dest_account: String,
    pub dest_region: String,
    /// The path chosen for each volume, and why.
    pub volumes: Vec<VolumePlan>,
    pub steps: Vec<Step>,
    /// What the plan leaves out or assumes (e.g. triage output stays inline), in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The path of one volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumePlan {
    pub volume_id: String,
    pub path: Path,
    /// Why this path (in words, for the report).
    pub reason: String,
    /// The key the volume is encrypted under (`None`: not encrypted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,
    /// The snapshots the plan creates for this volume, in order; the last one is the evidence, the
    /// others are deleted in the cleanup phase.
    pub snapshots: Vec<PlannedSnapshot>,
}

impl VolumePlan {
    /// The crash-consistent source snapshot CreateSnapshots takes (the first planned).
    pub fn source(&self) -> Option<&PlannedSnapshot> {
        self.snapshots.first()
    }

    /// Whether the planned snapshot `id` is the source snapshot.
    pub fn is_source(&self, id: &str) -> bool {
        self.source().is_some_and(|s| s.id == id)
    }

    /// The evidence copy, when the evidence is a copy (not the source snapshot itself).
    pub fn evidence_copy(&self) -> Option<&PlannedSnapshot> {
        self.snapshots.iter().find(|s| s.evidence && !self.is_source(&s.id))
    }

    /// The intermediate copy, if the plan makes one (neither the source nor the evidence).
    pub fn intermediate_copy(&self) -> Option<&PlannedSnapshot> {
        self.snapshots.iter().find(|s| !s.evidence && !self.is_source(&s.id))
    }
}

/// A snapshot the plan creates (its ID is a placeholder until the call returns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSnapshot {
    /// `snap-source-…`, `snap-temp-…` or `snap-evidence-…`.
    pub id: String,
    /// The account that owns it.
    pub account: String,
    pub region: String,
    /// The key its data is encrypted under (`None`: not encrypted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,
    /// The `aws:ebs:id` of its encryption context: the volume ID for a CreateSnapshots product, its
    /// own ID for a CopySnapshot product (KMS Developer Guide, "Amazon EBS encryption context",
    /// <https://docs.aws.amazon.com/kms/latest/developerguide/services-ebs.html#ebs-encryption-context>).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs_id: Option<String>,
    /// True for the snapshot that holds the evidence at the end (kept); false for intermediates.
    pub evidence: bool,
}

/// When a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Discover,
    Snapshot,
    Transfer,
    Read,
    Triage,
    Cleanup,
    /// `custody audit`'s look-ups of CloudTrail's event history ([`PlanRequest::audit`]): planned
    /// and checked like every other call, never run by the executor.
    Audit,
}

impl Phase {
    /// The kebab-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Discover => "discover",
            Phase::Snapshot => "snapshot",
            Phase::Transfer => "transfer",
            Phase::Read => "read",
            Phase::Triage => "triage",
            Phase::Cleanup => "cleanup",
            Phase::Audit => "audit",
        }
    }
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Stable id, unique in the plan: `assume-source-role`, `copy-to-temp-key:vol-…`, …
    pub id: String,
    /// What the step does, in words.
    pub title: String,
    pub phase: Phase,
    /// What the step does, as the executor runs it.
    pub action: Action,
    /// The volume it is for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_id: Option<String>,
    pub calls: Vec<Call>,
    /// Grants this step creates: later requests may be authorized by them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub creates_grants: Vec<PlannedGrant>,
    /// Keys this step creates (the temporary key): later requests on them use this key policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub creates_keys: Vec<PlannedKey>,
}

/// One AWS API call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// `service:Operation`, e.g. `ec2:CopySnapshot`.
    pub api: String,
    /// The account and Region the call is sent to.
    pub account: String,
    pub region: String,
    /// The role custody signs the call with.
    pub signer: String,
    /// Every authorization request AWS evaluates for the call (the call's own, and the KMS calls a
    /// service makes on the caller's behalf).
    pub requests: Vec<AuthzRequest>,
    /// When the call is made only in some circumstance (a failed copy, a resume after a crash), that
    /// circumstance in words; `None`: every run makes it. The preflight checks it all the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

impl Call {
    /// The same call, made only when `circumstance` holds.
    pub fn only_when(mut self, circumstance: impl Into<String>) -> Call {
        self.when = Some(circumstance.into());
        self
    }
}

/// One authorization request, in the terms of the `custody authz` case format's `request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthzRequest {
    /// The principal evaluated: a role session ARN
    /// (`arn:aws:sts::<acct>:assumed-role/<role>/<session>`), or a role ARN for `sts:AssumeRole`'s caller.
    pub principal: String,
    pub action: String,
    pub resource: String,
    /// The account owning the resource, when the ARN does not say (snapshots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_account: Option<String>,
    /// Context keys beyond those the engine derives (`kms:ViaService`, `kms:GrantIsForAWSResource`,
    /// `kms:EncryptionContext:aws:ebs:id`, `aws:RequestTag/…`, `ssm:resourceTag/…`, …).
    pub context: BTreeMap<String, ContextEntry>,
    /// For `kms:RetireGrant`: the grant retired (a grant created earlier in the plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// Which of the policies that bear on the request this evaluation is about (default: all).
    #[serde(default, skip_serializing_if = "PolicyScope::is_all")]
    pub scope: PolicyScope,
    /// Why AWS evaluates this request, with the documentation page (for the report and the tests).
    pub why: String,
    pub source: String,
    /// Absent when `source` documents the request as planned; else why custody believes AWS evaluates
    /// it so (a context value, a Region, the calls a service makes: what AWS does not document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inferred: Option<String>,
}

/// Which policies an evaluation is about. AWS evaluates some calls twice, against different
/// policies, with the same request (`sts:AssumeRole`: the caller's identity policy, then the role's
/// trust policy); and some cross-account requests have no resource policy at all because an
/// attribute stands in for it (`ec2:CopySnapshot` of a snapshot shared with the caller's account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyScope {
    /// Every policy that bears on the request (identity, boundary, session, SCPs, RCPs, the resource
    /// or key policy, grants), as the engine evaluates a whole case.
    #[default]
    All,
    /// The caller's side only: identity policies, permissions boundary, session policy, SCPs.
    Identity,
    /// The resource's side only: the resource-based policy (the role's trust policy), and RCPs.
    Resource,
}

impl PolicyScope {
    /// True for [`PolicyScope::All`] (the default, not serialized).
    pub fn is_all(&self) -> bool {
        *self == PolicyScope::All
    }
}

/// A context value: one string, or a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContextEntry {
    Single(String),
    Multi(Vec<String>),
}

/// A grant a step creates, in the case format's grant form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedGrant {
    pub key_arn: String,
    /// The grant as the case format writes it (`grant_id`, `grantee_principal`, `operations`,
    /// `constraints`, `retiring_principal`, `issuing_account`).
    pub grant: serde_json::Value,
}

/// A key a step creates (the temporary key of path 8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedKey {
    /// A placeholder ARN: the key id is only known once created.
    pub arn: String,
    pub aliases: Vec<String>,
    /// The key policy custody puts on it.
    pub policy: serde_json::Value,
}

/// Plans the acquisition of `request.instance_id`: a path per volume, then the ordered steps.
///
/// Errors: the instance is not in the inventory, custody has no role for an account it must act in,
/// the forensic account has no key in the destination Region when a copy must be encrypted there,
/// a volume's key is unknown, or `request.mode` is impossible for a volume.
pub fn plan(inventory: &Inventory, request: &PlanRequest) -> Result<Plan, PlanError> {
    let ctx = context::Ctx::new(inventory, request)?;
    let mut volumes = Vec::new();
    let mut transfers = Vec::new();
    let mut cleanups = Vec::new();
    let mut new_volumes = Vec::new();
    for volume in &ctx.instance.volumes {
        let choice = select::choose(&ctx, volume, request.mode)?;
        let laid_out = transfer::volume_steps(&ctx, volume, &choice)?;
        if let Some(az) = &request.volume_az {
            new_volumes.push(transfer::volume_step(&ctx, volume, laid_out.evidence.as_ref(), az)?);
        }
        transfers.extend(laid_out.transfer);
        cleanups.extend(laid_out.cleanup);
        volumes.push(VolumePlan {
            volume_id: volume.id.clone(),
            path: choice.path,
            reason: choice.reason.to_string(),
            key_arn: volume.kms_key_arn.clone(),
            snapshots: laid_out.snapshots,
        });
    }
    let mut notes = Vec::new();
    let signs = |role: &str| transfers.iter().chain(&cleanups).flat_map(|s| &s.calls).any(|c| c.signer == role);
    let dest = ctx.dest.as_ref().ok().filter(|d| signs(&d.role_arn));
    let mut all = steps::discover(&ctx, dest);
    all.push(steps::create_snapshots(&ctx));
    if request.triage {
        all.push(steps::triage(&ctx, request.triage_output.as_ref(), &mut notes));
    }
    all.extend(transfers);
    all.extend(new_volumes);
    all.extend(cleanups);
    if request.audit {
        let lookups = audit::steps(&ctx, &all, &mut notes);
        all.extend(lookups);
    }
    Ok(Plan {
        instance_id: ctx.instance.id.clone(),
        case_id: ctx.case_id.clone(),
        run_id: ctx.run_id.clone(),
        source_account: ctx.src_account.clone(),
        source_region: ctx.src_region.clone(),
        dest_account: ctx.dst_account.clone(),
        dest_region: ctx.dst_region.clone(),
        volumes,
        steps: all,
        notes,
    })
}

/// The `request` object of a `custody authz` case (docs/authz-case-format.md) for `req`; the
/// preflight builds the whole case around it. [`AuthzRequest::scope`], `why` and `source` are not part
/// of the case format and are left out.
pub fn to_case_request(req: &AuthzRequest) -> serde_json::Value {
    CaseRequest {
        principal: req.principal.clone(),
        action: req.action.clone(),
        resource: req.resource.clone(),
        resource_account: req.resource_account.clone(),
        context: Some(case_request::context_map(&req.context)),
        grant_id: req.grant_id.clone(),
    }
    .to_json()
}

//! The acquisition plan: a path per volume, then the ordered steps, each with its AWS API calls and,
//! for every call, the authorization requests AWS evaluates (`docs/aws-authorization-map.md`).

use serde::Serialize;
use std::collections::BTreeMap;

/// The ways a volume can reach the forensic account (issue 3, "Paths").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
    ///    creates a grant for the forensic role with only the operations needed, custody uses and
    ///    retires it.
    CrossAccountGrantOnly,
    /// 6. Cross-account, customer key, direct (seed option 2): the key policy names the forensic
    ///    account or role; CreateGrant only with `kms:GrantIsForAWSResource`.
    CrossAccountDirect,
    /// 7. Key-owner grants already in place (seed option 3).
    CrossAccountOwnerGrants,
    /// 8. Cross-account, AWS managed key: re-encrypt under a temporary customer key with a prefixed
    ///    alias, share, copy, then delete the alias and schedule the key for deletion.
    CrossAccountAwsManagedKey,
    /// 9. Direct read: snapshot in the source account, blocks read with the EBS direct APIs.
    DirectRead,
}

/// What `--mode` can force (the planner otherwise chooses per volume).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Auto,
    GrantOnly,
    Direct,
    OwnerGrants,
    DirectRead,
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
    /// The case id (names the temporary alias, tags, the role session); default `CASE`.
    pub case_id: String,
}

/// A plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub instance_id: String,
    pub case_id: String,
    pub source_account: String,
    pub source_region: String,
    pub dest_account: String,
    pub dest_region: String,
    /// The path chosen for each volume, and why.
    pub volumes: Vec<VolumePlan>,
    pub steps: Vec<Step>,
}

/// The path of one volume.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumePlan {
    pub volume_id: String,
    pub path: Path,
    /// Why this path (in words, for the report).
    pub reason: String,
}

/// When a step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Discover,
    Snapshot,
    Transfer,
    Read,
    Triage,
    Cleanup,
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Stable id, unique in the plan: `assume-source-role`, `copy-to-temp-key:vol-…`, …
    pub id: String,
    /// What the step does, in words.
    pub title: String,
    pub phase: Phase,
    /// The volume it is for, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_id: Option<String>,
    pub calls: Vec<Call>,
    /// Grants this step creates: later requests may be authorized by them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub creates_grants: Vec<PlannedGrant>,
    /// Keys this step creates (the temporary key): later requests on them use this key policy.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub creates_keys: Vec<PlannedKey>,
}

/// One AWS API call.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

/// One authorization request, in the terms of the `custody authz` case format's `request`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthzRequest {
    /// The principal evaluated: a role session ARN
    /// (`arn:aws:sts::<acct>:assumed-role/<role>/<session>`), or a role ARN for `sts:AssumeRole`'s caller.
    pub principal: String,
    pub action: String,
    pub resource: String,
    /// The account owning the resource, when the ARN does not say (snapshots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_account: Option<String>,
    /// Context keys beyond those the engine derives (`kms:ViaService`, `kms:GrantIsForAWSResource`,
    /// `kms:EncryptionContext:aws:ebs:id`, `aws:RequestTag/…`, `ssm:resourceTag/…`, …).
    pub context: BTreeMap<String, ContextEntry>,
    /// For `kms:RetireGrant`: the grant retired (a grant created earlier in the plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// Why AWS evaluates this request, with the documentation page (for the report and the tests).
    pub why: String,
    pub source: String,
}

/// A context value: one string, or a set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ContextEntry {
    Single(String),
    Multi(Vec<String>),
}

/// A grant a step creates, in the case format's grant form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedGrant {
    pub key_arn: String,
    /// The grant as the case format writes it (`grant_id`, `grantee_principal`, `operations`,
    /// `constraints`, `retiring_principal`, `issuing_account`).
    pub grant: serde_json::Value,
}

/// A key a step creates (the temporary key of path 8).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedKey {
    /// A placeholder ARN: the key id is only known once created.
    pub arn: String,
    pub aliases: Vec<String>,
    /// The key policy custody puts on it.
    pub policy: serde_json::Value,
}

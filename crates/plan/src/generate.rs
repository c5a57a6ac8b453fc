//! Least-privilege policies for exactly what custody is asked to do.
//!
//! Two questions, two entry points:
//!
//! - [`role_policies`]: the IAM policy of the **forensic role** (the role custody runs as, in the
//!   forensic account), the IAM policy of the **source role** (the role custody assumes in each
//!   account it acquires from: the seeds' cross-account role) and the source role's trust policy,
//!   for the [`Feature`]s enabled and the [`KmsMode`] chosen. Every statement comes from one table,
//!   [`templates`], where each row says which feature and mode need it, what it is for, and which AWS
//!   page requires it (`docs/aws-authorization-map.md` has the derivations). The roles that create
//!   or delete snapshots also get an explicit Deny on deleting, or removing tags from, any snapshot
//!   marked as evidence ([`templates::evidence`]); only a separate role, the **evidence custodian**,
//!   written only when asked for ([`Feature::DiscardEvidence`]), may discard evidence.
//! - [`key_policy`]: what the owner of a KMS key adds so that a principal can use it, for the three
//!   options of seeds 000–002 (CreateGrant only; direct use with CreateGrant for AWS resources; a grant
//!   by the key owner), including service-linked roles and keys in another account (seed 003).
//!
//! Both return plain data (`serde_json::Value` documents); [`render`] writes them as JSON,
//! CloudFormation YAML or Terraform HCL, with emitters of our own ([`yaml`], [`hcl`]) so the output
//! is exactly what we test. Nothing here does I/O.

mod error;
mod fill;
pub mod hcl;
mod key;
mod render;
pub mod templates;
pub mod validate;
pub mod yaml;

pub use error::GenerateError;
pub use key::{
    custody_key_operations, key_policy, GrantCommand, KeyAccess, KeyOptions, KeyPolicyAdvice,
    SERVICE_LINKED_GRANT_OPERATIONS,
};
pub use render::{render, role_cfn_files, role_cfn_templates, CfnTemplate, Format, Render, KEY_SNIPPET_HEADING};

use crate::inventory::{Tag, DEFAULT_ALIAS_PREFIX};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// The policy language version every generated document carries.
pub const POLICY_VERSION: &str = "2012-10-17";

/// The role custody runs as in the forensic account, by default.
pub const DEFAULT_FORENSIC_ROLE: &str = "CustodyForensic";

/// The role custody assumes in each source account, by default.
pub const DEFAULT_SOURCE_ROLE: &str = "CustodySource";

/// The role of the person with authority to destroy evidence ([`Feature::DiscardEvidence`]), by default.
pub const DEFAULT_CUSTODIAN_ROLE: &str = "CustodyEvidenceCustodian";

/// What custody is asked to be able to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// Snapshot the instance's volumes in the source account and copy them into the forensic account
    /// (paths 1–8).
    Acquire,
    /// Read the evidence copies block by block with the EBS direct APIs (a verified disk image).
    Image,
    /// Live triage through SSM Run Command on the instance.
    Triage,
    /// Delete what custody created in the source account (snapshots, shares, grants, the temporary key).
    Cleanup,
    /// Path 9: read the snapshot's blocks in the source account, without a copy.
    DirectRead,
    /// Create a volume from each evidence snapshot in an availability zone of the forensic account
    /// (`custody acquire --volume-az`).
    Volume,
    /// A policy for a separate role, the evidence custodian, that may delete evidence snapshots and
    /// remove their tags: for the person with authority to destroy evidence, never for a role custody
    /// runs as (whose policies deny exactly that). Only when asked for by name.
    DiscardEvidence,
    /// Read CloudTrail's event history (`cloudtrail:LookupEvents`) in every account custody acts in,
    /// to hold an acquisition against AWS's own record of it (`custody audit`, `custody check --audit`).
    Audit,
}

impl Feature {
    pub const ALL: [Feature; 8] = [
        Feature::Acquire,
        Feature::Image,
        Feature::Triage,
        Feature::Cleanup,
        Feature::DirectRead,
        Feature::Volume,
        Feature::DiscardEvidence,
        Feature::Audit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Acquire => "acquire",
            Feature::Image => "image",
            Feature::Triage => "triage",
            Feature::Cleanup => "cleanup",
            Feature::DirectRead => "direct-read",
            Feature::Volume => "volume",
            Feature::DiscardEvidence => "discard-evidence",
            Feature::Audit => "audit",
        }
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Feature {
    type Err = GenerateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Feature::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| GenerateError::UnknownFeature(s.to_string()))
    }
}

/// How custody gets at customer managed keys in source accounts (seeds 000–002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KmsMode {
    /// Option 1 (path 5): the source role creates a grant for the forensic role with only the
    /// operations custody needs; the forensic role uses it and retires it.
    GrantOnly,
    /// Option 2 (path 6): the key policies name the forensic account or role, the forensic role's own
    /// policy allows the key, and CreateGrant only for AWS resources.
    #[serde(rename = "direct-use")]
    Direct,
    /// Option 3 (path 7): the key owners have granted the forensic role already; custody only uses the
    /// grants.
    #[serde(rename = "owner-grant")]
    OwnerGrants,
}

impl KmsMode {
    pub const ALL: [KmsMode; 3] = [KmsMode::GrantOnly, KmsMode::Direct, KmsMode::OwnerGrants];

    pub fn as_str(self) -> &'static str {
        match self {
            KmsMode::GrantOnly => "grant-only",
            KmsMode::Direct => "direct-use",
            KmsMode::OwnerGrants => "owner-grant",
        }
    }
}

impl fmt::Display for KmsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KmsMode {
    type Err = GenerateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The older spellings `direct` and `owner-grants` are still accepted.
        let name = match s {
            "direct" => "direct-use",
            "owner-grants" => "owner-grant",
            s => s,
        };
        KmsMode::ALL
            .into_iter()
            .find(|m| m.as_str() == name)
            .ok_or_else(|| GenerateError::UnknownKmsMode(s.to_string()))
    }
}

/// What the role policies are generated for. Empty lists and `None` mean "any" (`*` in ARNs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleOptions {
    pub features: BTreeSet<Feature>,
    pub kms: KmsMode,
    /// The tag an instance must carry for triage (seed 004); `None`: any instance.
    pub ssm_tag: Option<Tag>,
    /// The regions custody works in; empty: any.
    pub regions: Vec<String>,
    /// The region custody itself runs in: added to `regions` when missing from it (seeds 000–002:
    /// conditions must not preclude the tool's region).
    pub forensic_region: Option<String>,
    pub forensic_account: Option<String>,
    pub source_accounts: Vec<String>,
    pub alias_prefix: String,
    pub forensic_role_name: String,
    pub source_role_name: String,
    /// The evidence custodian's role ([`Feature::DiscardEvidence`]): never one of the roles custody runs as.
    pub custodian_role_name: String,
    /// The tag key custody puts on what it creates ([`crate::plan::TAG_CASE`]).
    pub case_tag_key: String,
    /// Where triage output goes (`--output-bucket s3://bucket/prefix`): the reader's statements, the
    /// instance profile's policy and the bucket policy; `None`: output read inline from SSM.
    pub output_bucket: Option<crate::plan::TriageOutput>,
}

impl Default for RoleOptions {
    fn default() -> Self {
        RoleOptions {
            features: BTreeSet::new(),
            kms: KmsMode::GrantOnly,
            ssm_tag: None,
            regions: Vec::new(),
            forensic_region: None,
            forensic_account: None,
            source_accounts: Vec::new(),
            alias_prefix: DEFAULT_ALIAS_PREFIX.to_string(),
            forensic_role_name: DEFAULT_FORENSIC_ROLE.to_string(),
            source_role_name: DEFAULT_SOURCE_ROLE.to_string(),
            custodian_role_name: DEFAULT_CUSTODIAN_ROLE.to_string(),
            case_tag_key: crate::plan::TAG_CASE.to_string(),
            output_bucket: None,
        }
    }
}

impl RoleOptions {
    /// Options for these features, everything else by default.
    pub fn for_features(features: impl IntoIterator<Item = Feature>) -> RoleOptions {
        RoleOptions { features: features.into_iter().collect(), ..RoleOptions::default() }
    }

    /// Checks every name; [`role_policies`] trusts options that pass.
    pub fn validate(&self) -> Result<(), GenerateError> {
        if self.features.is_empty() {
            return Err(GenerateError::NoFeature);
        }
        if let Some(tag) = &self.ssm_tag {
            validate::parse_tag(&format!("{}={}", tag.key, tag.value))?;
        }
        for r in self.regions.iter().chain(&self.forensic_region) {
            validate::region(r)?;
        }
        for a in self.source_accounts.iter().chain(&self.forensic_account) {
            validate::account(a)?;
        }
        validate::alias_prefix(&self.alias_prefix)?;
        validate::role_name(&self.forensic_role_name)?;
        validate::role_name(&self.source_role_name)?;
        validate::role_name(&self.custodian_role_name)?;
        // The acquiring roles' policies deny deleting evidence: a custodian that is one of them could
        // not discard it, and one that could would make the Deny meaningless.
        let bare = |name: &str| name.rsplit('/').next().unwrap_or(name).to_string();
        let custodian = bare(&self.custodian_role_name);
        if self.features.contains(&Feature::DiscardEvidence)
            && [&self.forensic_role_name, &self.source_role_name].iter().any(|r| bare(r) == custodian)
        {
            return Err(GenerateError::CustodianIsAnAcquiringRole(self.custodian_role_name.clone()));
        }
        if !validate::tag_key(&self.case_tag_key) {
            return Err(GenerateError::BadCaseTagKey(self.case_tag_key.clone()));
        }
        if self.output_bucket.is_some() && !self.features.contains(&Feature::Triage) {
            return Err(GenerateError::OutputBucketWithoutTriage);
        }
        Ok(())
    }
}

/// Why a statement is there: its Sid, what it is for, and the AWS page that requires it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementInfo {
    pub sid: String,
    pub purpose: String,
    pub doc: String,
}

/// One role's generated identity policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolePolicy {
    /// The role's ARN, one per account (`*` for the account when none was given).
    pub role_arns: Vec<String>,
    /// The identity policy; `None` when the features give this role nothing to do.
    #[serde(serialize_with = "crate::json_order::option")]
    pub policy: Option<Value>,
    /// One entry per statement of `policy`, in order.
    pub statements: Vec<StatementInfo>,
}

/// The output of [`role_policies`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GeneratedRolePolicies {
    pub features: Vec<Feature>,
    pub kms: KmsMode,
    /// The regions the policies allow (empty: any), the forensic region included.
    pub regions: Vec<String>,
    pub forensic_role: RolePolicy,
    pub source_role: RolePolicy,
    /// The evidence custodian's policy, only with [`Feature::DiscardEvidence`]: one role per account
    /// that holds evidence (the forensic account, and the source accounts, where a source snapshot can
    /// be the evidence). Its trust policy is the owner's to write: it names the person with authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custodian_role: Option<RolePolicy>,
    /// The source role's trust policy: trusts the forensic role only. `None` when the source role has
    /// nothing to do, or when the forensic account is not known (a trust policy cannot name a role
    /// by wildcard).
    #[serde(serialize_with = "crate::json_order::option")]
    pub source_trust_policy: Option<Value>,
    /// With an output bucket: the policy to attach to the role of the instance profile of every
    /// instance triaged (its `role_arns` are empty: custody does not know those roles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<RolePolicy>,
    /// With an output bucket in the forensic account and source accounts elsewhere: the bucket policy
    /// that admits the source accounts' writers and custody's reader (a cross-account request needs
    /// an allow on both sides).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "crate::json_order::option")]
    pub output_bucket_policy: Option<Value>,
    /// What the reader must know: what is assumed elsewhere (key policies, grants), and what was
    /// adjusted (a region added).
    pub notes: Vec<String>,
}

/// The role policies for `options` (which must have passed [`RoleOptions::validate`]).
pub fn role_policies(options: &RoleOptions) -> GeneratedRolePolicies {
    let mut notes = Vec::new();
    let mut regions: Vec<String> = Vec::new();
    for r in &options.regions {
        if !regions.contains(r) {
            regions.push(r.clone());
        }
    }
    if let Some(home) = &options.forensic_region {
        if !regions.is_empty() && !regions.contains(home) {
            notes.push(format!(
                "added the forensic region `{home}` to the regions: conditions must not preclude the region custody runs in"
            ));
            regions.push(home.clone());
        }
    } else if !regions.is_empty() {
        notes.push(
            "make sure the region custody runs in is among the regions: a kms:ViaService condition that leaves it out precludes the copies"
                .to_string(),
        );
    }
    let ctx = fill::Ctx::new(options, &regions);
    let forensic = fill::build(&ctx, templates::Role::Forensic);
    let source = fill::build(&ctx, templates::Role::Source);
    let custodian = fill::build(&ctx, templates::Role::Custodian);
    let instance_profile = fill::build(&ctx, templates::Role::InstanceProfile);
    let output_bucket_policy = fill::output_bucket_policy(&ctx, &mut notes);
    let source_trust_policy = match (&options.forensic_account, source.policy.is_some()) {
        (Some(_), true) => Some(json!({
            "Version": POLICY_VERSION,
            "Statement": [{
                "Sid": "TrustCustodyForensicRoleOnly",
                "Effect": "Allow",
                "Principal": {"AWS": ctx.forensic_role_arn()},
                "Action": "sts:AssumeRole"
            }]
        })),
        (None, true) => {
            notes.push("pass --forensic-account to get the source role's trust policy: a trust policy names the forensic role by its exact ARN, wildcards are not allowed in Principal".to_string());
            None
        }
        _ => None,
    };
    notes.extend(fill::notes(&ctx));
    GeneratedRolePolicies {
        features: options.features.iter().copied().collect(),
        kms: options.kms,
        regions: regions.clone(),
        forensic_role: RolePolicy {
            role_arns: vec![ctx.forensic_role_arn()],
            policy: forensic.policy,
            statements: forensic.info,
        },
        source_role: RolePolicy { role_arns: ctx.source_role_arns(), policy: source.policy, statements: source.info },
        custodian_role: custodian.policy.is_some().then(|| RolePolicy {
            role_arns: ctx.custodian_role_arns(),
            policy: custodian.policy,
            statements: custodian.info,
        }),
        source_trust_policy,
        instance_profile: instance_profile.policy.is_some().then(|| RolePolicy {
            role_arns: Vec::new(),
            policy: instance_profile.policy,
            statements: instance_profile.info,
        }),
        output_bucket_policy,
        notes,
    }
}

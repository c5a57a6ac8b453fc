//! What custody knows about the accounts an acquisition touches: the inventory document.
//!
//! Format: `docs/inventory-format.md` (version [`INVENTORY_VERSION`]). Policies are kept as the JSON
//! they were read as (a JSON object, or a string holding one, as IAM returns them); they are checked
//! with the engine's parser when the inventory is loaded, so a bad policy is refused with its JSON
//! path, and the preflight builds `custody authz` cases from them unchanged.
//!
//! Unknowns: what `custody collect` could not read is listed in the object's `unknown` array
//! (`"identity_policies"`, `"policy"`, `"grants"`, …), and the preflight reports any request that
//! depends on it as unknown, never as allowed. [`Inventory::is_unknown`] answers for any fact, and a
//! principal, key or instance that the inventory does not list at all is unknown in every respect.
//!
//! Loading ([`parse_inventory`]) is strict: unknown fields, malformed ARNs and ids, duplicates,
//! encrypted volumes without a key, keys that are not listed, and contradictions (a field both given
//! and listed as unknown) are refused, each with the JSON path of the offending element
//! (`instances[0].volumes[2].kms_key_arn`) and what was expected there. The checks are in the
//! `parse` submodule and the identifier formats in [`arn`]; the lookups the planner and the preflight
//! use (by instance id, key ARN or alias, principal or role session ARN, custody's roles and keys per
//! account and Region, SCPs/RCPs, unknowns) are methods of [`Inventory`], in the `lookup` submodule.

pub mod arn;
mod lookup;
mod parse;

pub use lookup::{EncryptionByDefault, Fact, OrgPolicies};
pub use parse::{is_bucket_name, MAX_INSTANCES, MAX_STATEMENTS, MAX_VOLUMES_PER_INSTANCE};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The `version` an inventory must carry.
pub const INVENTORY_VERSION: &str = "custody-inventory/1";

/// The default prefix of temporary key aliases (`alias/<prefix>-<case>-<volume>`).
pub const DEFAULT_ALIAS_PREFIX: &str = "custody";

/// An inventory document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Always [`INVENTORY_VERSION`].
    pub version: String,
    /// Free text: what the inventory is for (the bundled examples say which acquisition path they show).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub config: Config,
    #[serde(default)]
    pub principals: Vec<Principal>,
    #[serde(default)]
    pub keys: Vec<Key>,
    #[serde(default)]
    pub instances: Vec<Instance>,
    /// Per account id: the organization's SCPs on the account's path, one array per level, root first.
    /// An account not listed is taken as outside any organization (no SCPs), unless listed in
    /// `unknown` as `scps:<account>`.
    #[serde(default)]
    pub scps: BTreeMap<String, Vec<Vec<Value>>>,
    /// Likewise for RCPs.
    #[serde(default)]
    pub rcps: BTreeMap<String, Vec<Vec<Value>>>,
    /// EBS encryption by default, per account and Region where it was read. Where a copy or a new
    /// volume of unencrypted data is made in an account and Region not listed here, the preflight
    /// says that it assumes encryption by default is off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ebs_encryption_by_default: Vec<EbsEncryptionDefault>,
    /// The S3 buckets triage writes its output to (`--output s3://…`), with their bucket policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<Bucket>,
    /// Top-level facts that could not be read: `scps:<account>`, `rcps:<account>`,
    /// `ebs_encryption_by_default:<account>:<region>`.
    #[serde(default)]
    pub unknown: Vec<String>,
}

/// EBS encryption by default in one account and Region: with it on, EC2 encrypts every new volume,
/// and every copy of an unencrypted snapshot, under the default key (EBS User Guide, "Enable Amazon
/// EBS encryption by default", <https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html>;
/// read with EC2 GetEbsEncryptionByDefault and GetEbsDefaultKmsKeyId).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EbsEncryptionDefault {
    pub account: String,
    pub region: String,
    pub enabled: bool,
    /// The default key, listed in `keys`: required when `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
}

/// An S3 bucket triage output goes to: the SSM agent writes it with the instance profile's role,
/// custody reads it; the bucket policy is the resource-based policy of both (S3 User Guide, "Bucket
/// policies for Amazon S3", <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html>).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    /// The bucket's name (`ir-evidence`).
    pub name: String,
    /// The account that owns it.
    pub account: String,
    /// The bucket policy; `None`: the bucket has none (GetBucketPolicy answers
    /// NoSuchBucketPolicy), unless `unknown` lists `policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
    /// `policy` when it could not be read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

/// custody's own configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The account evidence ends up in.
    pub forensic_account: String,
    /// The Region custody runs in, where evidence copies are made.
    pub forensic_region: String,
    /// The role custody runs as in the forensic account.
    pub forensic_role_arn: String,
    /// The role custody assumes in each source account, by account id (the seeds' cross-account role).
    #[serde(default)]
    pub source_role_arns: BTreeMap<String, String>,
    /// The customer managed key evidence copies are encrypted under, by Region of the forensic account.
    #[serde(default)]
    pub forensic_key_arns: BTreeMap<String, String>,
    /// Prefix of temporary key aliases; default [`DEFAULT_ALIAS_PREFIX`].
    #[serde(default = "default_alias_prefix")]
    pub alias_prefix: String,
    /// The tag an instance must carry for triage through SSM (seed 004).
    #[serde(default)]
    pub ssm_tag: Option<Tag>,
}

fn default_alias_prefix() -> String {
    DEFAULT_ALIAS_PREFIX.to_string()
}

/// A tag `key=value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// An IAM principal custody acts as (the forensic role, a source-account role) or that a key names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// Role or user ARN.
    pub arn: String,
    /// Identity-based policies (inline and attached), each a policy document.
    #[serde(default)]
    pub identity_policies: Vec<Value>,
    #[serde(default)]
    pub permissions_boundary: Option<Value>,
    /// For a role: its trust policy.
    #[serde(default)]
    pub trust_policy: Option<Value>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Fields that could not be read: `identity_policies`, `permissions_boundary`, `trust_policy`, `tags`.
    #[serde(default)]
    pub unknown: Vec<String>,
}

/// Who manages a KMS key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum KeyManager {
    /// An AWS managed key (`aws/ebs`): its key policy cannot be changed, its snapshots cannot be shared.
    Aws,
    /// A customer managed key.
    Customer,
}

/// A KMS key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    /// `arn:aws:kms:<region>:<account>:key/<id>` (Region and account are read from it).
    pub arn: String,
    pub manager: KeyManager,
    /// Alias names, `alias/…`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The key policy; absent only when listed in `unknown`.
    #[serde(default)]
    pub policy: Option<Value>,
    /// Grants on the key, in the `custody authz` case format's grant form.
    #[serde(default)]
    pub grants: Vec<Value>,
    /// Fields that could not be read: `policy`, `grants`, `aliases`.
    #[serde(default)]
    pub unknown: Vec<String>,
    /// DescribeKey's `KeyState` (`Enabled`, `Disabled`, `PendingDeletion`, `PendingImport`,
    /// `Unavailable`, …); absent when not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// An EC2 instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    /// `i-…`.
    pub id: String,
    pub account: String,
    pub region: String,
    /// `linux` or `windows`.
    #[serde(default = "default_platform")]
    pub platform: String,
    /// `running`, `stopped`, …
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
    /// The role of the instance's instance profile (GetInstanceProfile), whose credentials the SSM
    /// agent uses to write triage output to S3; `None`: the instance has no instance profile, unless
    /// `unknown` lists `instance_profile_role_arn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile_role_arn: Option<String>,
    /// Fields that could not be read: `tags`, `volumes`, `instance_profile_role_arn`.
    #[serde(default)]
    pub unknown: Vec<String>,
}

fn default_platform() -> String {
    "linux".to_string()
}

/// An EBS volume attached to an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// `vol-…`.
    pub id: String,
    pub size_gib: u64,
    pub encrypted: bool,
    /// The key the volume is encrypted under (required when `encrypted`).
    #[serde(default)]
    pub kms_key_arn: Option<String>,
    /// `/dev/xvda`, …
    #[serde(default)]
    pub device: Option<String>,
}

/// A field of a [`Principal`] that can be listed in its `unknown` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalField {
    IdentityPolicies,
    PermissionsBoundary,
    TrustPolicy,
    Tags,
}

/// A field of a [`Key`] that can be listed in its `unknown` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyField {
    Policy,
    Grants,
    Aliases,
}

/// A field of an [`Instance`] that can be listed in its `unknown` array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstanceField {
    Tags,
    Volumes,
    InstanceProfileRole,
}

macro_rules! field_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every field that can be unknown.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            /// The names `unknown` may hold, in the document's spelling.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The field's name in the document.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }
    };
}
field_names!(PrincipalField {
    IdentityPolicies => "identity_policies",
    PermissionsBoundary => "permissions_boundary",
    TrustPolicy => "trust_policy",
    Tags => "tags",
});
field_names!(KeyField { Policy => "policy", Grants => "grants", Aliases => "aliases" });
field_names!(InstanceField { Tags => "tags", Volumes => "volumes", InstanceProfileRole => "instance_profile_role_arn" });

impl Principal {
    /// The principal's account (from its ARN).
    pub fn account(&self) -> Option<&str> {
        arn::Identity::parse(&self.arn).map(|i| i.account)
    }

    /// The role or user name, without its path.
    pub fn name(&self) -> Option<&str> {
        arn::Identity::parse(&self.arn).map(|i| i.name)
    }

    /// True for an IAM role (false for a user).
    pub fn is_role(&self) -> bool {
        arn::Identity::parse(&self.arn).is_some_and(|i| i.kind == arn::IdentityKind::Role)
    }

    /// True for a service-linked role (path `/aws-service-role/…/`): SCPs and RCPs do not restrict it
    /// (AWS Organizations User Guide, "Service control policies",
    /// <https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html>).
    pub fn is_service_linked_role(&self) -> bool {
        self.is_role() && self.arn.contains(":role/aws-service-role/")
    }

    /// Whether `field` could not be read.
    pub fn is_unknown(&self, field: PrincipalField) -> bool {
        self.unknown.iter().any(|u| u == field.as_str())
    }
}

impl Key {
    /// The key's Region, read from its ARN.
    pub fn region(&self) -> Option<&str> {
        arn::KeyArn::parse(&self.arn).map(|k| k.region)
    }

    /// The key's account, read from its ARN.
    pub fn account(&self) -> Option<&str> {
        arn::KeyArn::parse(&self.arn).map(|k| k.account)
    }

    /// The key id (`1a2b3c4d-…` or `mrk-…`), read from its ARN.
    pub fn key_id(&self) -> Option<&str> {
        arn::KeyArn::parse(&self.arn).map(|k| k.id)
    }

    /// The partition (`aws`, `aws-cn`, …), read from its ARN.
    pub fn partition(&self) -> Option<&str> {
        arn::KeyArn::parse(&self.arn).map(|k| k.partition)
    }

    /// True for an AWS managed key such as `aws/ebs`.
    pub fn is_aws_managed(&self) -> bool {
        self.manager == KeyManager::Aws
    }

    /// The ARN of one of the key's aliases: `arn:<p>:kms:<region>:<account>:alias/<name>`.
    pub fn alias_arn(&self, alias: &str) -> Option<String> {
        let k = arn::KeyArn::parse(&self.arn)?;
        Some(format!("arn:{}:kms:{}:{}:{alias}", k.partition, k.region, k.account))
    }

    /// Whether `field` could not be read.
    pub fn is_unknown(&self, field: KeyField) -> bool {
        self.unknown.iter().any(|u| u == field.as_str())
    }
}

impl Instance {
    /// One of the instance's volumes.
    pub fn volume(&self, id: &str) -> Option<&Volume> {
        self.volumes.iter().find(|v| v.id == id)
    }

    /// Whether `field` could not be read.
    pub fn is_unknown(&self, field: InstanceField) -> bool {
        self.unknown.iter().any(|u| u == field.as_str())
    }
}

/// Parses and validates an inventory (every policy is parsed with the engine, so errors carry the
/// JSON path, e.g. `keys[1].policy.Statement[0].Condition`).
///
/// Never panics, whatever the input; serde_json's nesting limit (128) keeps hostile input from
/// exhausting the stack.
pub fn parse_inventory(text: &str) -> Result<Inventory, custody_policy::ParseError> {
    parse::parse(text)
}

//! The rows of triage output to S3 (`custody policy role --features triage --output-bucket
//! s3://bucket/prefix`): custody's reader lists and reads the output under the prefix; the instance
//! profile's role, whose credentials the SSM agent writes with, puts it there (Systems Manager User
//! Guide, "Create a custom S3 bucket policy for an instance profile",
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-profile.html#instance-profile-custom-s3-policy>).

use super::Cond::OutputPrefix;
use super::Feature::Triage;
use super::Res::{OutputBucket, OutputObjects};
use super::Role::{InstanceProfile, Source};
use super::Scope::{Always, CrossAccount};
use super::{Template, ANY_MODE};

const INSTANCE_PROFILE_S3: &str =
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-profile.html#instance-profile-custom-s3-policy";
const S3_ACTIONS: &str = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html";

/// The rows; each applies only when an output bucket is given.
pub const ROWS: &[Template] = &[
    Template {
        sid: "TriageListOutput",
        role: Source,
        features: &[Triage],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: true,
        actions: &["s3:ListBucket"],
        resources: &[OutputBucket],
        conditions: &[OutputPrefix],
        purpose: "find the output the SSM agent wrote, listing only under the output prefix (s3:prefix)",
        doc: S3_ACTIONS,
    },
    Template {
        sid: "TriageReadOutput",
        role: Source,
        features: &[Triage],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: true,
        actions: &["s3:GetObject"],
        resources: &[OutputObjects],
        conditions: &[],
        purpose: "read the whole output back, only under the output prefix",
        doc: S3_ACTIONS,
    },
    Template {
        sid: "TriageAgentWritesOutput",
        role: InstanceProfile,
        features: &[Triage],
        kms: ANY_MODE,
        scope: Always,
        forensic_too: false,
        actions: &["s3:PutObject"],
        resources: &[OutputObjects],
        conditions: &[],
        purpose: "the SSM agent writes each command's output with the instance profile's role, only under the prefix",
        doc: INSTANCE_PROFILE_S3,
    },
    Template {
        sid: "TriageAgentWritesOutputAcrossAccounts",
        role: InstanceProfile,
        features: &[Triage],
        kms: ANY_MODE,
        scope: CrossAccount,
        forensic_too: false,
        actions: &["s3:PutObjectAcl"],
        resources: &[OutputObjects],
        conditions: &[],
        purpose: "into a bucket of another account, the agent also sets the object's ACL",
        doc: INSTANCE_PROFILE_S3,
    },
];

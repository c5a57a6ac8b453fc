//! The AWS API calls a plan makes, as a type: a step's call is found by its [`Api`], not by a string
//! that a typo would silently never match.
//!
//! An [`Api`] is written (`Display`, serde) as the IAM action that authorizes the call,
//! `service:Operation` (`kms:CreateKey`): the form [`super::Call::api`] and the journal's intents
//! use, so neither format changes. For `s3:ListBucket` the action is not the operation's name (the
//! ListObjectsV2 operation is authorized by `s3:ListBucket`,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html>): the action is what
//! the plan names.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// One AWS API call custody plans (and the executor makes), named by the IAM action authorizing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Api {
    StsAssumeRole,
    Ec2DescribeInstances,
    Ec2DescribeVolumes,
    Ec2DescribeSnapshots,
    Ec2CreateSnapshots,
    Ec2CreateTags,
    Ec2CopySnapshot,
    Ec2ModifySnapshotAttribute,
    Ec2DeleteSnapshot,
    Ec2CreateVolume,
    KmsCreateKey,
    KmsCreateAlias,
    KmsDeleteAlias,
    KmsScheduleKeyDeletion,
    KmsCreateGrant,
    KmsRetireGrant,
    KmsDescribeKey,
    KmsListKeys,
    KmsListResourceTags,
    EbsListSnapshotBlocks,
    EbsGetSnapshotBlock,
    SsmSendCommand,
    SsmListCommands,
    SsmGetCommandInvocation,
    S3ListBucket,
    S3GetObject,
    S3PutObject,
    CloudTrailLookupEvents,
}

impl Api {
    /// Every call, in declaration order.
    pub const ALL: &'static [Api] = &[
        Api::StsAssumeRole,
        Api::Ec2DescribeInstances,
        Api::Ec2DescribeVolumes,
        Api::Ec2DescribeSnapshots,
        Api::Ec2CreateSnapshots,
        Api::Ec2CreateTags,
        Api::Ec2CopySnapshot,
        Api::Ec2ModifySnapshotAttribute,
        Api::Ec2DeleteSnapshot,
        Api::Ec2CreateVolume,
        Api::KmsCreateKey,
        Api::KmsCreateAlias,
        Api::KmsDeleteAlias,
        Api::KmsScheduleKeyDeletion,
        Api::KmsCreateGrant,
        Api::KmsRetireGrant,
        Api::KmsDescribeKey,
        Api::KmsListKeys,
        Api::KmsListResourceTags,
        Api::EbsListSnapshotBlocks,
        Api::EbsGetSnapshotBlock,
        Api::SsmSendCommand,
        Api::SsmListCommands,
        Api::SsmGetCommandInvocation,
        Api::S3ListBucket,
        Api::S3GetObject,
        Api::S3PutObject,
        Api::CloudTrailLookupEvents,
    ];

    /// The IAM action, `service:Operation`: `kms:CreateKey`.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::StsAssumeRole => "sts:AssumeRole",
            Api::Ec2DescribeInstances => "ec2:DescribeInstances",
            Api::Ec2DescribeVolumes => "ec2:DescribeVolumes",
            Api::Ec2DescribeSnapshots => "ec2:DescribeSnapshots",
            Api::Ec2CreateSnapshots => "ec2:CreateSnapshots",
            Api::Ec2CreateTags => "ec2:CreateTags",
            Api::Ec2CopySnapshot => "ec2:CopySnapshot",
            Api::Ec2ModifySnapshotAttribute => "ec2:ModifySnapshotAttribute",
            Api::Ec2DeleteSnapshot => "ec2:DeleteSnapshot",
            Api::Ec2CreateVolume => "ec2:CreateVolume",
            Api::KmsCreateKey => "kms:CreateKey",
            Api::KmsCreateAlias => "kms:CreateAlias",
            Api::KmsDeleteAlias => "kms:DeleteAlias",
            Api::KmsScheduleKeyDeletion => "kms:ScheduleKeyDeletion",
            Api::KmsCreateGrant => "kms:CreateGrant",
            Api::KmsRetireGrant => "kms:RetireGrant",
            Api::KmsDescribeKey => "kms:DescribeKey",
            Api::KmsListKeys => "kms:ListKeys",
            Api::KmsListResourceTags => "kms:ListResourceTags",
            Api::EbsListSnapshotBlocks => "ebs:ListSnapshotBlocks",
            Api::EbsGetSnapshotBlock => "ebs:GetSnapshotBlock",
            Api::SsmSendCommand => "ssm:SendCommand",
            Api::SsmListCommands => "ssm:ListCommands",
            Api::SsmGetCommandInvocation => "ssm:GetCommandInvocation",
            Api::S3ListBucket => "s3:ListBucket",
            Api::S3GetObject => "s3:GetObject",
            Api::S3PutObject => "s3:PutObject",
            Api::CloudTrailLookupEvents => "cloudtrail:LookupEvents",
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no call custody makes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an AWS call custody makes (expected `service:Operation`, e.g. `kms:CreateKey`)")]
pub struct UnknownApi(pub String);

impl FromStr for Api {
    type Err = UnknownApi;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Api::ALL.iter().copied().find(|a| a.as_str() == s).ok_or_else(|| UnknownApi(s.to_string()))
    }
}

impl Serialize for Api {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Api {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_reads_back_from_its_iam_action() {
        for &api in Api::ALL {
            assert_eq!(api.as_str().parse::<Api>(), Ok(api));
            assert_eq!(api.to_string(), api.as_str());
            let json = serde_json::to_value(api).map_err(|e| e.to_string());
            assert_eq!(json, Ok(serde_json::Value::String(api.as_str().to_string())));
            assert_eq!(serde_json::from_value::<Api>(serde_json::json!(api.as_str())).ok(), Some(api));
        }
        assert_eq!(Api::KmsCreateKey.as_str(), "kms:CreateKey");
    }

    #[test]
    fn unknown_calls_are_refused() {
        assert_eq!("kms:CreateKeys".parse::<Api>(), Err(UnknownApi("kms:CreateKeys".to_string())));
        assert!(serde_json::from_value::<Api>(serde_json::json!("kms:createkey")).is_err());
    }
}

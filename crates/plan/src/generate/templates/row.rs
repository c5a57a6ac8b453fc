//! What a row of the table is made of: the role it is for, when it applies, and its resources and
//! conditions in symbols that `fill.rs` turns into ARNs and condition blocks.

use crate::generate::{Feature, KmsMode};

/// Which role a statement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The role custody runs as, in the forensic account.
    Forensic,
    /// The role custody assumes in each source account.
    Source,
    /// The evidence custodian: the role of the person with authority to destroy evidence, in each
    /// account that holds evidence; never a role custody runs as.
    Custodian,
    /// The role of the instance profile of each instance triaged with S3 output: the SSM agent writes
    /// the output with it.
    InstanceProfile,
}

/// When a row applies, beyond its features and KMS modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Always,
    /// Only when some source account differs from the forensic account (sharing, the temporary key).
    CrossAccount,
    /// Only when the forensic account is itself a source account (copies in place, paths 2–4).
    SameAccount,
}

/// A resource, before accounts and regions are filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Res {
    /// `*`: the action has no resource type (Service Authorization Reference).
    Any,
    /// `arn:aws:iam::<source account>:role/<source role>`.
    SourceRole,
    /// `arn:aws:ec2:<region>::snapshot/*` (snapshot ARNs carry no account, map §0).
    Snapshots,
    /// `arn:aws:ec2:*::snapshot/*` whatever the regions given: a Deny that protects evidence must hold
    /// in every region.
    AllSnapshots,
    /// `arn:aws:ec2:<region>:<source account>:instance/*`.
    SourceInstances,
    /// `arn:aws:ec2:<region>:<source account>:volume/*`.
    SourceVolumes,
    /// `arn:aws:kms:<region>:<source account>:key/*`.
    SourceKeys,
    /// `arn:aws:ec2:<region>:<forensic account>:volume/*`.
    ForensicVolumes,
    /// `arn:aws:kms:<region>:<forensic account>:key/*`.
    ForensicKeys,
    /// `arn:aws:kms:<region>:<source account>:alias/<prefix>-*`.
    TempKeyAliases,
    /// `arn:aws:ssm:<region>::document/AWS-RunShellScript` and `…/AWS-RunPowerShellScript`.
    RunCommandDocuments,
    /// `arn:aws:s3:::<output bucket>` (triage output; rows with it apply only when a bucket is given).
    OutputBucket,
    /// `arn:aws:s3:::<output bucket>/<prefix>/*`.
    OutputObjects,
}

/// A condition, before values are filled in. The conditions of a statement are ANDed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// `StringEquals ec2:CreateAction`: tags only on the snapshots these calls create.
    CreateAction(&'static str),
    /// `kms:ViaService`: `StringEquals ec2.<region>.amazonaws.com` for each region given, else
    /// `StringLike ec2.*.amazonaws.com`.
    ViaEc2,
    /// `Bool kms:GrantIsForAWSResource true`.
    ForAwsResource,
    /// `ForAllValues:StringEquals kms:GrantOperations` = the planner's `COPY_GRANT_OPERATIONS`.
    GrantOperations,
    /// `kms:GranteePrincipal` = the forensic role.
    GranteeIsForensicRole,
    /// `kms:RetiringPrincipal` = the forensic role.
    RetiringIsForensicRole,
    /// `ForAnyValue:StringLike kms:ResourceAliases alias/<prefix>-*` (IAM policies only, map §9.8).
    TempKeyAlias,
    /// `StringLike aws:RequestTag/<case tag key> *`: custody must tag what it creates.
    CaseTagRequested,
    /// `StringEquals ec2:Add/userId <forensic account>` (dropped when the account is not given).
    SharedWithForensicAccount,
    /// `StringEquals ec2:Remove/userId <forensic account>` (dropped when the account is not given).
    UnsharedFromForensicAccount,
    /// `StringLike aws:ResourceTag/<case tag key> *`: only what custody tagged.
    CaseTagged,
    /// `Null aws:ResourceTag/CustodyRun false`: the snapshot carries a run id, so custody created it
    /// (another tool's snapshot, or one tagged with the case id alone, does not).
    RunTagged,
    /// `Null aws:ResourceTag/CustodyEvidence false`: the snapshot is marked as evidence, whatever the
    /// tag's value (rewriting the value cannot lift the protection).
    EvidenceTagged,
    /// `Null aws:ResourceTag/CustodyEvidence true`: the snapshot is not marked as evidence.
    NotEvidence,
    /// `StringEquals aws:RequestTag/CustodyEvidence true`: the request adds the evidence tag.
    EvidenceTagRequested,
    /// `ForAllValues:StringEquals aws:TagKeys [CustodyEvidence]`: and no other tag.
    OnlyEvidenceTagKey,
    /// `StringEquals ssm:resourceTag/<key> <value>` (dropped without `--ssm-tag`).
    SsmTag,
    /// `StringLike s3:prefix <prefix>/*`: list only under the triage output prefix.
    OutputPrefix,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    /// IAM Sids are alphanumeric; the prefix names the feature.
    pub sid: &'static str,
    pub role: Role,
    /// Included when any of these features is enabled.
    pub features: &'static [Feature],
    /// Only for these KMS modes (all when empty).
    pub kms: &'static [KmsMode],
    pub scope: Scope,
    /// A source-role row the forensic role also needs, for its own account, when that account is a
    /// source account (the planner then signs the step with the forensic role).
    pub forensic_too: bool,
    pub actions: &'static [&'static str],
    pub resources: &'static [Res],
    pub conditions: &'static [Cond],
    pub purpose: &'static str,
    /// The AWS page that requires it.
    pub doc: &'static str,
}

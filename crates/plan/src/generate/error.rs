//! Errors of policy generation: every one is bad user input (an unknown feature, a malformed ARN, …),
//! named in backticks, with a `help` line that says what is accepted.

/// Bad input to [`super::role_policies`] (through [`super::RoleOptions::validate`]) or
/// [`super::key_policy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    #[error("unknown feature `{0}`")]
    UnknownFeature(String),
    #[error("no feature given")]
    NoFeature,
    #[error("unknown KMS mode `{0}`")]
    UnknownKmsMode(String),
    #[error("unknown format `{0}`")]
    UnknownFormat(String),
    #[error("unknown key access `{0}`")]
    UnknownKeyAccess(String),
    #[error("a grantee is named only for grant-only access (custody creates grants for it)")]
    GranteeWithoutGrantOnly,
    #[error("the CloudFormation output is {} templates ({}), and a stack takes one", .0.len(), .0.join(", "))]
    CfnNeedsOutDir(Vec<String>),
    #[error("bad tag `{input}`: {reason}")]
    BadTag { input: String, reason: &'static str },
    #[error("bad account id `{0}`")]
    BadAccount(String),
    #[error("bad region `{0}`")]
    BadRegion(String),
    #[error("bad alias prefix `{0}`")]
    BadAliasPrefix(String),
    #[error("bad role name `{0}`")]
    BadRoleName(String),
    #[error("an output bucket is for triage output: add `triage` to the features")]
    OutputBucketWithoutTriage,
    #[error("the evidence custodian's role `{0}` is one of the roles custody runs as")]
    CustodianIsAnAcquiringRole(String),
    #[error("bad tag key `{0}` for custody's case tag")]
    BadCaseTagKey(String),
    #[error("bad key ARN `{input}`: {reason}")]
    BadKeyArn { input: String, reason: &'static str },
    #[error("bad principal ARN `{input}`: {reason}")]
    BadPrincipalArn { input: String, reason: &'static str },
    #[error("grant-only access is for a role custody runs as, not for the service-linked role `{0}`")]
    ServiceLinkedRoleCannotCreateGrants(String),
    #[error("the key `{key}` and the principal `{principal}` are in different partitions")]
    PartitionMismatch { key: String, principal: String },
}

impl GenerateError {
    /// What would be accepted instead, for the `help:` line.
    pub fn help(&self) -> String {
        match self {
            GenerateError::UnknownFeature(_) | GenerateError::NoFeature => {
                let names: Vec<String> = super::Feature::ALL.iter().map(|f| format!("`{f}`")).collect();
                format!("features are {}, comma-separated", names.join(", "))
            }
            GenerateError::UnknownKmsMode(_) => "KMS modes are `grant-only`, `direct-use` and `owner-grant`".into(),
            GenerateError::UnknownFormat(_) => "formats are `json`, `cfn` and `terraform`".into(),
            GenerateError::UnknownKeyAccess(_) => {
                "the ways are grant-only (custody creates and retires grants), direct-use (the key policy names the role; CreateGrant only for AWS resources) and owner-grant (the key's owner grants the role)"
                    .into()
            }
            GenerateError::CfnNeedsOutDir(_) => {
                "pass --out DIR to write each template to a file of its own, and deploy each as a stack in the account its name says".into()
            }
            GenerateError::GranteeWithoutGrantOnly => {
                "leave out --grantee, or use --access grant-only: with direct use and key-owner grants, the principal is the one that uses the key".into()
            }
            GenerateError::BadTag { .. } => {
                "write the tag as KEY=VALUE, e.g. `CustodySSMEnabled=True`: letters, digits, spaces and `_ . : / = + - @`, a key of at most 128 characters not starting with `aws:`, a value of at most 256".into()
            }
            GenerateError::BadAccount(_) => "an account id is 12 digits, e.g. `111122223333`".into(),
            GenerateError::BadRegion(_) => "a region looks like `eu-west-1` or `us-gov-west-1`".into(),
            GenerateError::BadAliasPrefix(_) => {
                "an alias prefix has letters, digits, `/`, `_` and `-`, and must not start with `aws`".into()
            }
            GenerateError::BadRoleName(_) => {
                "a role name has 1 to 64 letters, digits and `+ = , . @ _ -`, after an optional path (`custody/CustodySource`)".into()
            }
            GenerateError::OutputBucketWithoutTriage => {
                "e.g. `--features triage --output-bucket s3://ir-evidence/triage`: the SSM agent writes triage output there".into()
            }
            GenerateError::CustodianIsAnAcquiringRole(_) => {
                "the roles custody runs as are denied deleting evidence; name a separate role with --custodian-role, one only the person with authority to destroy evidence can assume".into()
            }
            GenerateError::BadCaseTagKey(_) => {
                "a tag key has letters, digits, spaces and `_ . : / = + - @`, and does not start with `aws:`".into()
            }
            GenerateError::BadKeyArn { .. } => {
                "a key ARN looks like `arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d`".into()
            }
            GenerateError::BadPrincipalArn { .. } => {
                "name a role (`arn:aws:iam::111122223333:role/CustodyResponse`, service-linked roles included), a user, or an account root".into()
            }
            GenerateError::ServiceLinkedRoleCannotCreateGrants(_) => {
                "for a service-linked role use direct-use or owner-grant: it cannot create grants itself".into()
            }
            GenerateError::PartitionMismatch { .. } => "a key can only be used by principals of its own partition".into(),
        }
    }
}

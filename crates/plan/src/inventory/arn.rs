//! The identifier formats an inventory holds, and readers for them.
//!
//! - ARNs: `arn:<partition>:<service>:<region>:<account>:<resource>` (IAM User Guide, "IAM
//!   identifiers", <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html>).
//!   IAM ARNs have no Region; role and user names are 1–64 characters of `A-Za-z0-9+=,.@_-`, under a
//!   path `/…/` (IAM User Guide, "IAM and AWS STS quotas",
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>). A role session's
//!   ARN `arn:aws:sts::<acct>:assumed-role/<role>/<session>` drops the role's path, so a role is
//!   recognised by account and name (role names are unique in an account whatever the path).
//! - KMS: `arn:<p>:kms:<region>:<account>:key/<key-id>` where the key id is a UUID, or `mrk-` and 32
//!   hex digits for a multi-Region key; aliases `alias/<name>` of `A-Za-z0-9/_-`, `alias/aws/` being
//!   reserved for AWS managed keys (KMS Developer Guide, "Key identifiers" and "CreateAlias",
//!   <https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id>,
//!   <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html>).
//! - EC2: `i-` / `vol-` and 8 or 17 hex digits (EC2 User Guide, "Resource IDs",
//!   <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html>).
//!
//! The readers are those of `custody-ids` ([`custody_ids::Arn`] and the id types): this module
//! gives them the shapes the inventory and the planner use.

pub use custody_ids::arn::{is_alias_name, is_key_id, is_partition};
pub use custody_ids::Arn;
pub use custody_policy::principal::is_account_id;

/// A Region name such as `eu-west-1` or `us-gov-west-1`: two letters, words, a number
/// ([`custody_ids::Region`]).
pub fn is_region(text: &str) -> bool {
    custody_ids::Region::is_valid(text)
}

/// Whether `zone` is an availability zone name of `region`: the Region's name and a short suffix of
/// lowercase letters and digits (`eu-west-1b`, `us-west-2-lax-1a` is not one of custody's).
pub fn is_zone_of(zone: &str, region: &str) -> bool {
    zone.strip_prefix(region).is_some_and(|rest| {
        !rest.is_empty() && rest.len() <= 3 && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// `i-` and 8 or 17 lower-case hex digits ([`custody_ids::InstanceId`]).
pub fn is_instance_id(text: &str) -> bool {
    custody_ids::InstanceId::is_valid(text)
}

/// `vol-` and 8 or 17 lower-case hex digits ([`custody_ids::VolumeId`]).
pub fn is_volume_id(text: &str) -> bool {
    custody_ids::VolumeId::is_valid(text)
}

/// True for the aliases only AWS managed keys carry (`alias/aws/ebs`, …).
pub fn is_aws_alias(text: &str) -> bool {
    text.starts_with("alias/aws/")
}

/// A KMS key ARN, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    /// The key id.
    pub id: &'a str,
}

impl<'a> KeyArn<'a> {
    /// Reads `arn:<p>:kms:<region>:<account>:key/<key-id>`.
    pub fn parse(text: &'a str) -> Option<KeyArn<'a>> {
        let arn = Arn::parse(text).ok()?;
        Some(KeyArn { partition: arn.partition(), region: arn.region()?, account: arn.account()?, id: arn.key_id()? })
    }
}

/// A KMS alias ARN, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AliasArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    /// `alias/<name>`.
    pub alias: &'a str,
}

impl<'a> AliasArn<'a> {
    /// Reads `arn:<p>:kms:<region>:<account>:alias/<name>`.
    pub fn parse(text: &'a str) -> Option<AliasArn<'a>> {
        let arn = Arn::parse(text).ok()?;
        Some(AliasArn {
            partition: arn.partition(),
            region: arn.region()?,
            account: arn.account()?,
            alias: arn.alias_name()?,
        })
    }
}

/// Whether an identity is a role or a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentityKind {
    Role,
    User,
}

/// An IAM role or user, read from its ARN, or the role of an assumed-role session ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity<'a> {
    pub partition: &'a str,
    pub account: &'a str,
    pub kind: IdentityKind,
    /// The role or user name, without the path.
    pub name: &'a str,
    /// The path (`/`, `/aws-service-role/autoscaling.amazonaws.com/`), when the ARN gives it (a
    /// session ARN does not).
    pub path: Option<&'a str>,
    /// The session name, for an assumed-role session ARN.
    pub session: Option<&'a str>,
}

impl<'a> Identity<'a> {
    /// Reads `arn:<p>:iam::<acct>:role/<path/>name`, `arn:<p>:iam::<acct>:user/<path/>name`, or
    /// `arn:<p>:sts::<acct>:assumed-role/<role>/<session>`.
    pub fn parse(text: &'a str) -> Option<Identity<'a>> {
        let arn = Arn::parse(text).ok()?;
        let (partition, account) = (arn.partition(), arn.account()?);
        if let Some(s) = arn.assumed_role() {
            let (name, session) = (s.role, Some(s.session));
            return Some(Identity { partition, account, kind: IdentityKind::Role, name, path: None, session });
        }
        let (kind, iam) = match (arn.role(), arn.user()) {
            (Some(role), _) => (IdentityKind::Role, role),
            (None, Some(user)) => (IdentityKind::User, user),
            (None, None) => return None,
        };
        Some(Identity { partition, account, kind, name: iam.name, path: Some(iam.path), session: None })
    }

    /// True when both name the same role or user: same partition, account, kind and name (the path
    /// and any session are ignored).
    pub fn same_identity(&self, other: &Identity<'_>) -> bool {
        self.partition == other.partition
            && self.account == other.account
            && self.kind == other.kind
            && self.name == other.name
    }
}

/// True for an IAM role ARN (`arn:<p>:iam::<acct>:role/<path/>name`).
pub fn is_role_arn(text: &str) -> bool {
    Identity::parse(text).is_some_and(|i| i.kind == IdentityKind::Role && i.session.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_arns_are_read() {
        let k = KeyArn::parse("arn:aws:kms:eu-west-3:111122223333:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d");
        assert_eq!(
            k,
            Some(KeyArn {
                partition: "aws",
                region: "eu-west-3",
                account: "111122223333",
                id: "1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d"
            })
        );
        assert!(KeyArn::parse("arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab").is_some());
        for bad in [
            "arn:aws:kms:eu-west-3:111122223333:alias/aws/ebs",
            "arn:aws:kms:eu-west-3:1111:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d",
            "arn:aws:kms::111122223333:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d",
            "arn:aws:kms:eu-west-3:111122223333:key/not-a-key",
            "arn:aws:s3:eu-west-3:111122223333:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d",
            "1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d",
        ] {
            assert_eq!(KeyArn::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn identities_ignore_paths_and_sessions() {
        let role = Identity::parse("arn:aws:iam::111122223333:role/ops/team/CustodyResponse");
        let session = Identity::parse("arn:aws:sts::111122223333:assumed-role/CustodyResponse/case-1");
        let (Some(role), Some(session)) = (role, session) else { panic!("both parse") };
        assert_eq!(role.path, Some("/ops/team/"));
        assert_eq!(session.session, Some("case-1"));
        assert!(role.same_identity(&session));
        let slr =
            "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";
        assert_eq!(Identity::parse(slr).map(|i| i.name), Some("AWSServiceRoleForAutoScaling"));
        assert_eq!(Identity::parse("arn:aws:iam::111122223333:role/R").and_then(|i| i.path), Some("/"));
    }

    #[test]
    fn bad_identities_are_refused() {
        for bad in [
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:iam::111122223333:role/a//b",
            "arn:aws:iam:eu-west-1:111122223333:role/R",
            "arn:aws:iam::111122223333:group/G",
            "arn:aws:sts::111122223333:assumed-role/R",
            "arn:aws:iam::111122223333:role/has space",
            "arn:aws:iam::111122223333:role/R*",
        ] {
            assert_eq!(Identity::parse(bad), None, "{bad}");
        }
        assert!(!is_role_arn("arn:aws:iam::111122223333:user/alice"));
        assert!(!is_role_arn("arn:aws:sts::111122223333:assumed-role/R/s"));
    }

    #[test]
    fn zones_belong_to_their_region() {
        assert!(is_zone_of("eu-west-1b", "eu-west-1"));
        assert!(is_zone_of("us-east-1az1", "us-east-1") && !is_zone_of("us-east-1", "us-east-1"));
        assert!(!is_zone_of("eu-west-3a", "eu-west-1") && !is_zone_of("eu-west-1B", "eu-west-1"));
        assert!(!is_zone_of("eu-west-1abcd", "eu-west-1"));
    }

    #[test]
    fn regions_ids_and_aliases() {
        for r in ["eu-west-1", "us-gov-west-1", "ap-southeast-2", "il-central-1"] {
            assert!(is_region(r), "{r}");
        }
        for r in ["", "eu-west", "euwest1", "EU-west-1", "eu--1", "eu-west-123"] {
            assert!(!is_region(r), "{r}");
        }
        assert!(is_instance_id("i-0123456789abcdef0") && is_instance_id("i-01234567"));
        assert!(!is_instance_id("i-0123456789ABCDEF0") && !is_instance_id("vol-01234567"));
        assert!(is_volume_id("vol-0123456789abcdef0") && !is_volume_id("vol-"));
        assert!(is_alias_name("alias/aws/ebs") && is_alias_name("alias/custody-case-1"));
        assert!(!is_alias_name("alias/") && !is_alias_name("custody") && !is_alias_name("alias/a b"));
    }
}

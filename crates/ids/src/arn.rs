//! ARNs: `arn:<partition>:<service>:<region>:<account>:<resource>` (IAM User Guide, "IAM
//! identifiers", <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>;
//! AWS General Reference, "Amazon Resource Names (ARNs)",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>).
//!
//! [`Arn::parse`] is the one reader of the six fields; the narrow readers of the resources custody
//! handles sit on it:
//! - IAM roles and users `arn:<p>:iam::<acct>:role/<path/>name`: no Region; a name is 1–64 characters
//!   of `A-Za-z0-9+=,.@_-`, under a path `/…/` of at most 512 characters (IAM User Guide, "IAM and AWS
//!   STS quotas", <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>);
//! - role sessions `arn:<p>:sts::<acct>:assumed-role/<role>/<session>`, which drop the role's path;
//! - KMS keys `arn:<p>:kms:<region>:<acct>:key/<key-id>`, the key id a UUID or `mrk-` and 32 hex
//!   digits for a multi-Region key, and aliases `…:alias/<name>` of `A-Za-z0-9/_-` (AWS KMS Developer
//!   Guide, "Key identifiers", <https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id>;
//!   CreateAlias, <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html>);
//! - EBS snapshots `arn:<p>:ec2:<region>::snapshot/<snapshot-id>` (Service Authorization Reference,
//!   Amazon EC2 resource types,
//!   <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html#amazonec2-resources-for-iam-policies>).

use crate::{AccountId, Region, SnapshotId};
use std::fmt;

/// The field of an ARN a text was refused for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArnPart {
    /// Not `arn:` and six `:`-separated fields.
    Shape,
    Partition,
    Service,
    Region,
    Account,
    Resource,
}

/// Why a text is not an ARN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "ARN `{text}`: {problem}; expected `arn:<partition>:<service>:<region>:<account>:<resource>` with a \
     partition `aws` or `aws-…`, a lowercase service, an empty or Region-shaped Region, an empty, 12-digit or \
     `aws` account and a resource"
)]
pub struct ArnError {
    /// The refused text, with anything that is not a printable ASCII character escaped.
    pub text: String,
    /// The field that breaks the rule.
    pub part: ArnPart,
    pub problem: String,
}

/// An ARN, read: its six fields, borrowed from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arn<'a> {
    text: &'a str,
    partition: &'a str,
    service: &'a str,
    region: &'a str,
    account: &'a str,
    resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Reads `arn:<partition>:<service>:<region>:<account>:<resource>`: the partition `aws` or
    /// `aws-…`, the service lowercase letters, digits and `-`, the Region empty or a Region name, the
    /// account empty, an account id or `aws` (AWS managed policies), the resource not empty (it may
    /// hold `:`).
    pub fn parse(text: &'a str) -> Result<Arn<'a>, ArnError> {
        let refuse = |part, problem: String| ArnError { text: text.escape_default().to_string(), part, problem };
        let mut it = text.splitn(6, ':');
        let fields = [it.next(), it.next(), it.next(), it.next(), it.next(), it.next()];
        let [Some(arn), Some(partition), Some(service), Some(region), Some(account), Some(resource)] = fields else {
            let n = fields.iter().flatten().count();
            return Err(refuse(ArnPart::Shape, format!("it has {n} `:`-separated fields, not 6")));
        };
        if arn != "arn" {
            return Err(refuse(ArnPart::Shape, "it does not start with `arn:`".into()));
        }
        if !is_partition(partition) {
            return Err(refuse(ArnPart::Partition, format!("`{}` is not a partition", partition.escape_default())));
        }
        if service.is_empty() || !service.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(refuse(ArnPart::Service, format!("`{}` is not a service", service.escape_default())));
        }
        if !region.is_empty() && !Region::is_valid(region) {
            return Err(refuse(ArnPart::Region, format!("`{}` is not a Region", region.escape_default())));
        }
        if !account.is_empty() && account != "aws" && !AccountId::is_valid(account) {
            return Err(refuse(ArnPart::Account, format!("`{}` is not an account id", account.escape_default())));
        }
        if resource.is_empty() {
            return Err(refuse(ArnPart::Resource, "the resource is empty".into()));
        }
        Ok(Arn { text, partition, service, region, account, resource })
    }

    /// The whole ARN.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// `aws`, `aws-cn`, `aws-us-gov`, … .
    pub fn partition(&self) -> &'a str {
        self.partition
    }

    /// `iam`, `sts`, `kms`, `ec2`, … .
    pub fn service(&self) -> &'a str {
        self.service
    }

    /// The Region (shaped as [`Region`]), `None` for global resources (IAM, STS, S3 buckets).
    pub fn region(&self) -> Option<&'a str> {
        (!self.region.is_empty()).then_some(self.region)
    }

    /// The account id (shaped as [`AccountId`]), `None` when the ARN names none (S3 buckets, AWS
    /// managed policies' `aws`).
    pub fn account(&self) -> Option<&'a str> {
        (!self.account.is_empty() && self.account != "aws").then_some(self.account)
    }

    /// What follows the account: `role/ops/R`, `key/<id>`, `snapshot/snap-…`, … .
    pub fn resource(&self) -> &'a str {
        self.resource
    }

    /// `<type>/<rest>` of an IAM resource of this account, with no Region.
    fn iam_resource(&self, service: &str, kind: &str) -> Option<&'a str> {
        if self.service != service || !self.region.is_empty() || self.account().is_none() {
            return None;
        }
        self.resource.strip_prefix(kind)?.strip_prefix('/')
    }

    /// `<kind>/<path/>name` of IAM, split, when the name and the path follow IAM's rules.
    fn iam_name(&self, kind: &str) -> Option<IamName<'a>> {
        let rest = self.iam_resource("iam", kind)?;
        // `rest` is `path/name` without the path's leading `/`; the path, slashes included, is what
        // precedes the name in the resource.
        let (inner, name) = rest.rsplit_once('/').unwrap_or(("", rest));
        let inner_ok = inner.len() <= 510 && (inner.is_empty() || inner.split('/').all(is_path_segment));
        if !is_iam_name(name) || !inner_ok {
            return None;
        }
        let start = self.resource.len() - rest.len() - 1;
        let path = self.resource.get(start..self.resource.len() - name.len()).unwrap_or("/");
        Some(IamName { name, path })
    }

    /// A role's name and path, for `arn:<p>:iam::<acct>:role/<path/>name`.
    pub fn role(&self) -> Option<IamName<'a>> {
        self.iam_name("role")
    }

    /// A user's name and path, for `arn:<p>:iam::<acct>:user/<path/>name`.
    pub fn user(&self) -> Option<IamName<'a>> {
        self.iam_name("user")
    }

    /// The role and session names, for `arn:<p>:sts::<acct>:assumed-role/<role>/<session>` (the
    /// session name 1 to 64 characters without `/`).
    pub fn assumed_role(&self) -> Option<AssumedRole<'a>> {
        let (role, session) = self.iam_resource("sts", "assumed-role")?.split_once('/')?;
        let session_ok = !session.is_empty() && session.len() <= 64 && !session.contains('/');
        (is_iam_name(role) && session_ok).then_some(AssumedRole { role, session })
    }

    /// The key id, for `arn:<p>:kms:<region>:<acct>:key/<key-id>`.
    pub fn key_id(&self) -> Option<&'a str> {
        if self.service != "kms" || self.region().is_none() || self.account().is_none() {
            return None;
        }
        self.resource.strip_prefix("key/").filter(|id| is_key_id(id))
    }

    /// The alias name `alias/<name>` (as KMS's `AliasName` takes it), for
    /// `arn:<p>:kms:<region>:<acct>:alias/<name>`.
    pub fn alias_name(&self) -> Option<&'a str> {
        let kms = self.service == "kms" && self.region().is_some() && self.account().is_some();
        (kms && is_alias_name(self.resource)).then_some(self.resource)
    }

    /// The snapshot id, for `arn:<p>:ec2:<region>:[<acct>]:snapshot/<snapshot-id>`.
    pub fn snapshot_id(&self) -> Option<&'a str> {
        if self.service != "ec2" || self.region().is_none() {
            return None;
        }
        self.resource.strip_prefix("snapshot/").filter(|id| SnapshotId::is_valid(id))
    }
}

impl fmt::Display for Arn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

/// An IAM role's or user's name and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IamName<'a> {
    /// The name, without the path.
    pub name: &'a str,
    /// The path, `/` or `/…/` (`/aws-service-role/autoscaling.amazonaws.com/`).
    pub path: &'a str,
}

/// An assumed-role session's role and session names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AssumedRole<'a> {
    /// The role's name (the session ARN drops its path).
    pub role: &'a str,
    /// The role session name.
    pub session: &'a str,
}

/// `aws`, `aws-cn`, `aws-us-gov`, … .
pub fn is_partition(text: &str) -> bool {
    (text == "aws" || text.starts_with("aws-")) && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

/// An IAM role or user name: 1 to 64 characters of `A-Za-z0-9+=,.@_-`.
pub fn is_iam_name(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'=' | b',' | b'.' | b'@' | b'_' | b'-'))
}

fn is_path_segment(seg: &str) -> bool {
    !seg.is_empty() && seg.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// A KMS key id: a UUID (`1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d`, hex in either case) or `mrk-` and 32
/// hex digits.
pub fn is_key_id(text: &str) -> bool {
    if let Some(h) = text.strip_prefix("mrk-") {
        return h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let mut groups = text.split('-');
    [8, 4, 4, 4, 12]
        .iter()
        .all(|&n| groups.next().is_some_and(|g| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit())))
        && groups.next().is_none()
}

/// An alias name `alias/<name>`: letters, digits, `/`, `_`, `-`, at most 256 characters in all.
pub fn is_alias_name(text: &str) -> bool {
    text.len() <= 256
        && text.strip_prefix("alias/").is_some_and(|n| {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:eu-west-3:111122223333:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d";

    #[test]
    fn the_six_fields_are_read() {
        let arn = Arn::parse(KEY).unwrap();
        assert_eq!(
            (arn.partition(), arn.service(), arn.region(), arn.account(), arn.resource()),
            ("aws", "kms", Some("eu-west-3"), Some("111122223333"), "key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d")
        );
        assert_eq!(arn.to_string(), KEY);
        let bucket = Arn::parse("arn:aws:s3:::evidence/cases/IR-7:x").unwrap();
        assert_eq!((bucket.region(), bucket.account(), bucket.resource()), (None, None, "evidence/cases/IR-7:x"));
        let managed = Arn::parse("arn:aws:iam::aws:policy/ReadOnlyAccess").unwrap();
        assert_eq!((managed.account(), managed.resource()), (None, "policy/ReadOnlyAccess"));
        assert!(Arn::parse("arn:aws-us-gov:ec2:us-gov-west-1:111122223333:volume/vol-01234567").is_ok());
    }

    #[test]
    fn malformed_arns_are_refused_for_the_field_that_is_wrong() {
        for (bad, part) in [
            ("", ArnPart::Shape),
            ("arn:aws:iam::111122223333", ArnPart::Shape),
            ("urn:aws:iam::111122223333:root", ArnPart::Shape),
            ("arn:amazon:iam::111122223333:root", ArnPart::Partition),
            ("arn:aws:IAM::111122223333:root", ArnPart::Service),
            ("arn:aws:::111122223333:root", ArnPart::Service),
            ("arn:aws:kms:r1:111122223333:key/k", ArnPart::Region),
            ("arn:aws:iam::1111:root", ArnPart::Account),
            ("arn:aws:iam::*:root", ArnPart::Account),
            ("arn:aws:iam::111122223333:", ArnPart::Resource),
        ] {
            assert_eq!(Arn::parse(bad).map_err(|e| e.part), Err(part), "{bad:?}");
        }
    }

    #[test]
    fn the_error_names_the_value_and_the_rule() {
        let err = Arn::parse("arn:aws:iam::1111:root").unwrap_err().to_string();
        assert!(
            err.starts_with("ARN `arn:aws:iam::1111:root`: `1111` is not an account id; expected `arn:<partition>:"),
            "{err}"
        );
        let err = Arn::parse("arn:aws:iam").unwrap_err().to_string();
        assert!(err.starts_with("ARN `arn:aws:iam`: it has 3 `:`-separated fields, not 6;"), "{err}");
    }

    #[test]
    fn roles_users_and_sessions() {
        let role = Arn::parse("arn:aws:iam::111122223333:role/ops/team/CustodyResponse").unwrap();
        assert_eq!(role.role(), Some(IamName { name: "CustodyResponse", path: "/ops/team/" }));
        assert_eq!(role.user(), None);
        let plain = Arn::parse("arn:aws:iam::111122223333:role/R").unwrap();
        assert_eq!(plain.role(), Some(IamName { name: "R", path: "/" }));
        let user = Arn::parse("arn:aws:iam::111122223333:user/alice").unwrap();
        assert_eq!((user.user().map(|u| u.name), user.role()), (Some("alice"), None));
        let session = Arn::parse("arn:aws:sts::111122223333:assumed-role/CustodyResponse/case-1").unwrap();
        assert_eq!(session.assumed_role(), Some(AssumedRole { role: "CustodyResponse", session: "case-1" }));
        assert_eq!(session.role(), None);
        for bad in [
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:iam::111122223333:role/a//b",
            "arn:aws:iam:eu-west-1:111122223333:role/R",
            "arn:aws:iam::111122223333:group/G",
            "arn:aws:iam::111122223333:role/has space",
            "arn:aws:iam::111122223333:roles/R",
            "arn:aws:iam::aws:role/R",
        ] {
            assert_eq!(Arn::parse(bad).ok().and_then(|a| a.role()), None, "{bad}");
        }
        for bad in [
            "arn:aws:sts::111122223333:assumed-role/R",
            "arn:aws:sts::111122223333:assumed-role/R/",
            "arn:aws:sts::111122223333:assumed-role/R/a/b",
            "arn:aws:iam::111122223333:assumed-role/R/s",
        ] {
            assert_eq!(Arn::parse(bad).ok().and_then(|a| a.assumed_role()), None, "{bad}");
        }
    }

    #[test]
    fn keys_aliases_and_snapshots() {
        assert_eq!(Arn::parse(KEY).unwrap().key_id(), Some("1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d"));
        let mrk = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";
        assert_eq!(Arn::parse(mrk).unwrap().key_id(), Some("mrk-1234abcd12ab34cd56ef1234567890ab"));
        for bad in [
            "arn:aws:kms:eu-west-3:111122223333:alias/aws/ebs",
            "arn:aws:kms::111122223333:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d",
            "arn:aws:kms:eu-west-3:111122223333:key/not-a-key",
            "arn:aws:s3:eu-west-3:111122223333:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d",
        ] {
            assert_eq!(Arn::parse(bad).ok().and_then(|a| a.key_id()), None, "{bad}");
        }
        let alias = Arn::parse("arn:aws:kms:eu-west-3:111122223333:alias/custody-IR-7").unwrap();
        assert_eq!((alias.alias_name(), alias.key_id()), (Some("alias/custody-IR-7"), None));
        assert_eq!(Arn::parse(KEY).unwrap().alias_name(), None);
        let snap = Arn::parse("arn:aws:ec2:eu-west-3::snapshot/snap-0123456789abcdef0").unwrap();
        assert_eq!(snap.snapshot_id(), Some("snap-0123456789abcdef0"));
        for bad in [
            "arn:aws:ec2:eu-west-3::snapshot/snap-x",
            "arn:aws:ec2:eu-west-3::volume/vol-0123456789abcdef0",
            "arn:aws:ec2:::snapshot/snap-0123456789abcdef0",
        ] {
            assert_eq!(Arn::parse(bad).ok().and_then(|a| a.snapshot_id()), None, "{bad}");
        }
    }

    #[test]
    fn names_and_ids() {
        assert!(is_alias_name("alias/aws/ebs") && is_alias_name("alias/custody-case-1"));
        assert!(!is_alias_name("alias/") && !is_alias_name("custody") && !is_alias_name("alias/a b"));
        assert!(is_key_id("1A2B3C4D-5e6f-1a2b-3c4d-5e6f1a2b3c4d") && !is_key_id("1a2b3c4d-5e6f-1a2b-3c4d"));
        assert!(!is_key_id("1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d-00"));
        assert!(is_partition("aws-us-gov") && !is_partition("awsx") && !is_partition("aws-CN"));
    }
}

//! Checks of user-supplied names: account ids, regions, role names, tags, key and principal ARNs.
//! Generation trusts its input once it has passed these, so a malformed name never reaches a policy.

use super::GenerateError;
use crate::inventory::Tag;
use custody_ids::{Arn, ArnPart};

/// A 12-digit account id.
pub fn account(text: &str) -> Result<(), GenerateError> {
    if custody_policy::principal::is_account_id(text) {
        Ok(())
    } else {
        Err(GenerateError::BadAccount(text.to_string()))
    }
}

/// A region name: `eu-west-1`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-5`.
pub fn region(text: &str) -> Result<(), GenerateError> {
    if crate::inventory::arn::is_region(text) {
        Ok(())
    } else {
        Err(GenerateError::BadRegion(text.to_string()))
    }
}

/// An IAM role name, optionally after its path: `CustodySource` or `custody/CustodySource` (IAM User
/// Guide, "IAM object quotas": a name of 64 characters, a path of 512, `[\w+=,.@-]`).
pub fn role_name(text: &str) -> Result<(), GenerateError> {
    let segment_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    let name = text.rsplit('/').next().unwrap_or(text);
    let ok = text.len() <= 512 + 64 && name.len() <= 64 && text.split('/').all(segment_ok);
    if ok {
        Ok(())
    } else {
        Err(GenerateError::BadRoleName(text.to_string()))
    }
}

/// A KMS alias prefix: the alias name rules (`alias/` + letters, digits, `/_-`), not in the reserved
/// `aws/` namespace (KMS API Reference, CreateAlias, `AliasName`).
pub fn alias_prefix(text: &str) -> Result<(), GenerateError> {
    let ok = (1..=200).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
        && !text.to_ascii_lowercase().starts_with("aws");
    if ok {
        Ok(())
    } else {
        Err(GenerateError::BadAliasPrefix(text.to_string()))
    }
}

/// Characters allowed in tag keys and values across AWS services (Tagging AWS Resources User Guide,
/// "Tag naming limits and requirements"): letters, numbers, spaces and `_ . : / = + - @`.
fn tag_chars_ok(text: &str) -> bool {
    text.chars().all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c))
}

/// A tag key: 1 to 128 characters, not in the reserved `aws:` namespace.
pub fn tag_key(text: &str) -> bool {
    (1..=128).contains(&text.chars().count())
        && tag_chars_ok(text)
        && !text.to_ascii_lowercase().starts_with("aws:")
        && text.trim() == text
}

/// Parses `KEY=VALUE` (the first `=` separates them; a value may contain `=`).
pub fn parse_tag(text: &str) -> Result<Tag, GenerateError> {
    let bad = |reason| GenerateError::BadTag { input: text.to_string(), reason };
    let (key, value) = text.split_once('=').ok_or_else(|| bad("expected KEY=VALUE"))?;
    if key.is_empty() {
        return Err(bad("the key is empty"));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(bad("keys starting with `aws:` are reserved for AWS"));
    }
    if !tag_key(key) {
        return Err(bad("the key has a character tags do not allow, or more than 128 characters"));
    }
    if value.chars().count() > 256 || !tag_chars_ok(value) {
        return Err(bad("the value has a character tags do not allow, or more than 256 characters"));
    }
    Ok(Tag { key: key.to_string(), value: value.to_string() })
}

/// The partitions custody knows.
fn partition_ok(p: &str) -> bool {
    matches!(p, "aws" | "aws-cn" | "aws-us-gov")
}

/// A KMS key ARN, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyArn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub id: String,
}

/// `arn:<partition>:kms:<region>:<account>:key/<id>`. An alias ARN is refused: cross-account KMS calls
/// (CreateGrant among them) need the key ARN (KMS API Reference, CreateGrant, "Cross-account use").
pub fn parse_key_arn(text: &str) -> Result<KeyArn, GenerateError> {
    let bad = |reason| GenerateError::BadKeyArn { input: text.to_string(), reason };
    const EXPECTED: &str = "expected `arn:aws:kms:<region>:<account>:key/<key id>`";
    const BAD_REGION: &str = "the region is missing or malformed";
    const BAD_ACCOUNT: &str = "the account is not a 12-digit id";
    let arn = match Arn::parse(text) {
        Ok(arn) => arn,
        Err(e) => match e.part {
            ArnPart::Region => return Err(bad(BAD_REGION)),
            ArnPart::Account => return Err(bad(BAD_ACCOUNT)),
            ArnPart::Resource => return Err(bad("the resource is not `key/<key id>`")),
            ArnPart::Shape | ArnPart::Partition | ArnPart::Service => return Err(bad(EXPECTED)),
        },
    };
    let (partition, resource) = (arn.partition(), arn.resource());
    if !partition_ok(partition) || arn.service() != "kms" {
        return Err(bad(EXPECTED));
    }
    let region_ = arn.region().ok_or_else(|| bad(BAD_REGION))?;
    let account_ = arn.account().ok_or_else(|| bad(BAD_ACCOUNT))?;
    if resource.starts_with("alias/") {
        return Err(bad("this is an alias ARN; give the key ARN, which cross-account use requires"));
    }
    let id = resource.strip_prefix("key/").ok_or_else(|| bad("the resource is not `key/<key id>`"))?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(bad("the key id is empty or malformed"));
    }
    Ok(KeyArn {
        partition: partition.to_string(),
        region: region_.to_string(),
        account: account_.to_string(),
        id: id.to_string(),
    })
}

/// An IAM principal a key policy can name, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalArn {
    pub partition: String,
    pub account: String,
    /// `aws-service-role/<service>/…`: a service-linked role.
    pub service_linked: bool,
    pub root: bool,
}

/// `arn:<p>:iam::<account>:role/<path/>name`, `…:user/<path/>name` or `…:root`.
pub fn parse_principal_arn(text: &str) -> Result<PrincipalArn, GenerateError> {
    let bad = |reason| GenerateError::BadPrincipalArn { input: text.to_string(), reason };
    const EXPECTED: &str = "expected `arn:aws:iam::<account>:role/<name>`";
    const NOT_IAM: &str = "expected an IAM ARN with no region, `arn:aws:iam::<account>:…`";
    const BAD_ACCOUNT: &str = "the account is not a 12-digit id";
    const NOT_A_NAME: &str = "the resource is not `role/<name>`, `user/<name>` or `root`";
    let arn = match Arn::parse(text) {
        Ok(arn) => arn,
        Err(e) => match e.part {
            ArnPart::Region => return Err(bad(NOT_IAM)),
            ArnPart::Account => return Err(bad(BAD_ACCOUNT)),
            ArnPart::Resource => return Err(bad(NOT_A_NAME)),
            ArnPart::Shape | ArnPart::Partition | ArnPart::Service => return Err(bad(EXPECTED)),
        },
    };
    let (partition, service, resource) = (arn.partition(), arn.service(), arn.resource());
    if !partition_ok(partition) {
        return Err(bad(EXPECTED));
    }
    if service == "sts" {
        return Err(bad("a session ARN; key policies name the role (`arn:aws:iam::<account>:role/<name>`)"));
    }
    if service != "iam" || arn.region().is_some() {
        return Err(bad(NOT_IAM));
    }
    let account_ = arn.account().ok_or_else(|| bad(BAD_ACCOUNT))?;
    let name_ok = |path_name: &str| {
        !path_name.is_empty()
            && !path_name.ends_with('/')
            && path_name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
    };
    let (root, service_linked) = match resource.split_once('/') {
        None if resource == "root" => (true, false),
        Some(("role", path_name)) if name_ok(path_name) => (false, path_name.starts_with("aws-service-role/")),
        Some(("user", path_name)) if name_ok(path_name) => (false, false),
        _ => return Err(bad(NOT_A_NAME)),
    };
    Ok(PrincipalArn { partition: partition.to_string(), account: account_.to_string(), service_linked, root })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]
    use super::*;

    #[test]
    fn regions() {
        for ok in ["eu-west-1", "us-gov-west-1", "cn-north-1", "ap-southeast-5", "us-east-10"] {
            assert!(region(ok).is_ok(), "{ok}");
        }
        for bad in ["", "eu", "eu-west", "EU-WEST-1", "eu-west-x", "eu--1", "eu-west-123", "*"] {
            assert!(region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags() {
        assert_eq!(parse_tag("CustodySSMEnabled=True").unwrap().value, "True");
        assert_eq!(parse_tag("a=b=c").unwrap().value, "b=c");
        assert_eq!(parse_tag("team name=ir:forensics @ eu").unwrap().key, "team name");
        assert!(parse_tag("k=").is_ok(), "an empty value is a valid tag value");
        for bad in ["novalue", "=v", "aws:x=1", "AWS:x=1", "k=\"v\"", "k=${x}", "k{=1", " k=v"] {
            assert!(parse_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_arns() {
        let k = parse_key_arn("arn:aws:kms:us-west-2:444455556666:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d").unwrap();
        assert_eq!((k.region.as_str(), k.account.as_str()), ("us-west-2", "444455556666"));
        for bad in [
            "arn:aws:kms:us-west-2:444455556666:alias/custody",
            "arn:aws:kms:us-west-2:4444:key/x",
            "arn:aws:kms::444455556666:key/x",
            "arn:aws:s3:us-west-2:444455556666:key/x",
            "arn:aws:kms:us-west-2:444455556666:key/",
            "arn:aws:kms:us-west-2:444455556666:key/a*",
            "1a2b3c4d",
        ] {
            assert!(parse_key_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn principal_arns() {
        let slr =
            "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";
        assert!(parse_principal_arn(slr).unwrap().service_linked);
        assert!(parse_principal_arn("arn:aws:iam::111122223333:root").unwrap().root);
        assert!(!parse_principal_arn("arn:aws:iam::111122223333:role/CustodyResponse").unwrap().service_linked);
        for bad in [
            "arn:aws:sts::111122223333:assumed-role/CustodyResponse/s",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:iam::111122223333:role/a*",
            "arn:aws:iam::1111:role/x",
            "arn:aws:iam:eu-west-1:111122223333:role/x",
            "111122223333",
        ] {
            assert!(parse_principal_arn(bad).is_err(), "{bad}");
        }
    }
}

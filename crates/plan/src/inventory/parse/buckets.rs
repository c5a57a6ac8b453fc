//! The inventory's `buckets` (triage output) and each instance's instance profile role: checked like
//! the rest of the document, every error with its JSON path.

use super::{policy, refused, Obj, Result, ACCOUNT};
use crate::inventory::{arn, Inventory};
use custody_policy::error::JsonPath;
use custody_policy::PolicyKind;
use serde_json::Value;
use std::collections::BTreeMap;

const BUCKET_FIELDS: &[&str] = &["name", "account", "policy", "unknown"];

/// S3's rules for a bucket name in a general purpose bucket: 3 to 63 characters, lowercase letters,
/// digits, `.` and `-`, beginning and ending with a letter or digit (S3 User Guide, "General purpose
/// bucket naming rules", <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>).
pub fn is_bucket_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(name.chars().next())
        && edge(name.chars().last())
}

/// `buckets`: an array of buckets.
pub(super) fn check_buckets(obj: &Obj<'_>) -> Result<()> {
    let expected = "an array of the S3 buckets triage writes its output to";
    for (i, b) in obj.list("buckets", expected)?.iter().enumerate() {
        check_bucket(b, &obj.at("buckets").index(i))?;
    }
    Ok(())
}

fn check_bucket(value: &Value, path: &JsonPath) -> Result<()> {
    let obj = Obj::new(value, path, "an S3 bucket", BUCKET_FIELDS)?;
    let expected = "an S3 bucket name: 3 to 63 lowercase letters, digits, `.` and `-`, beginning and ending with a \
                    letter or digit";
    obj.required_str("name", expected, is_bucket_name)?;
    obj.required_str("account", ACCOUNT, arn::is_account_id)?;
    let given: &[&str] = if obj.nullable("policy").is_some() { &["policy"] } else { &[] };
    obj.unknown(&["policy"], given)?;
    if let Some(p) = obj.nullable("policy") {
        policy(p, PolicyKind::Resource, &obj.at("policy"))?;
    }
    Ok(())
}

/// An instance's `instance_profile_role_arn`: a role ARN in the instance's account.
pub(super) fn check_instance_profile_role(obj: &Obj<'_>, account: &str) -> Result<()> {
    let expected = format!(
        "the ARN of the role of the instance's instance profile, in its account {account} \
         (`arn:aws:iam::{account}:role/<name>`)"
    );
    obj.nullable_str("instance_profile_role_arn", &expected, |s| {
        arn::Arn::parse(s).is_ok_and(|a| a.role().is_some() && a.account() == Some(account))
    })?;
    Ok(())
}

/// No bucket is listed twice.
pub(super) fn check_bucket_references(inv: &Inventory) -> Result<()> {
    let mut seen = BTreeMap::new();
    for (j, b) in inv.buckets.iter().enumerate() {
        if let Some(i) = seen.insert(b.name.as_str(), j) {
            let expected = format!("a bucket not listed before (`buckets[{i}]` has this name)");
            return Err(refused(JsonPath::default().key("buckets").index(j).key("name"), expected, &b.name));
        }
    }
    Ok(())
}

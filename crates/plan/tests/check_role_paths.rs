//! `aws:PrincipalArn` of a role session is the role's ARN with its path (IAM User Guide, "AWS global
//! condition context keys",
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn>;
//! "IAM identifiers", <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>).
//! The session ARN has no path, so the preflight takes the role's ARN from the inventory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::check_support;

use check_support::*;
use custody_plan::check::{check, Outcome};
use serde_json::json;

const SS: &str = "arn:aws:sts::222222222222:assumed-role/CustodySource/CASE";
const K_PATH: &str = "arn:aws:kms:eu-west-3:222222222222:key/7777aaaa-2222-3333-4444-555566667777";

/// DescribeKey by the source role's session on a key whose policy allows only roles under `pattern`.
fn describe_key_with_policy_on(pattern: &str) -> Outcome {
    let mut inv = inventory_json();
    assert_eq!(principal_mut(&mut inv, SR)["arn"], SR, "the fixture's source role has the path /forensics/");
    inv["keys"].as_array_mut().unwrap().push(json!({
        "arn": K_PATH, "manager": "CUSTOMER",
        "policy": {"Version": "2012-10-17", "Statement": [{
            "Sid": "RolesUnderAPath", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:DescribeKey",
            "Resource": "*", "Condition": {"ArnLike": {"aws:PrincipalArn": pattern}}}]}
    }));
    let plan = plan_from_json(&json!({"steps": [{"id": "describe", "title": "Describe the key", "phase": "discover",
        "calls": [{"api": "kms:DescribeKey", "requests": [{"principal": SS, "action": "kms:DescribeKey", "resource": K_PATH}]}]}]}));
    check(&load(&inv), &plan).steps[0].requests[0].outcome
}

#[test]
fn a_key_policy_on_the_role_path_allows_the_roles_session() {
    assert_eq!(describe_key_with_policy_on("arn:aws:iam::222222222222:role/forensics/*"), Outcome::Allowed);
}

#[test]
fn a_key_policy_on_another_path_or_on_the_pathless_arn_does_not() {
    assert_eq!(describe_key_with_policy_on("arn:aws:iam::222222222222:role/other/*"), Outcome::Denied);
    // The ARN rebuilt from the session, without the path, is not the role's ARN.
    assert_eq!(describe_key_with_policy_on("arn:aws:iam::222222222222:role/CustodySource"), Outcome::Denied);
}

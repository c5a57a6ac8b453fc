//! Run Command documents `ssm:resourceTag/<key>` for the instance SendCommand targets
//! (<https://docs.aws.amazon.com/systems-manager/latest/userguide/run-command-setting-up.html#tag-based-access>)
//! and says nothing of `aws:ResourceTag/<key>` there: a policy that decides SendCommand by the latter
//! makes the request unknown, never allowed or refused on a guess.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::check_support;

use check_support::*;
use custody_plan::check::{check, Outcome, RequestCheck};
use serde_json::json;

const INSTANCE: &str = "arn:aws:ec2:eu-west-3:111111111111:instance/i-0123456789abcdef0";

/// SendCommand by the forensic session on an instance tagged `Team=ir`, when the forensic role's
/// only SendCommand statement has this condition.
fn send_command_under(condition: serde_json::Value) -> RequestCheck {
    let mut inv = inventory_json();
    principal_mut(&mut inv, FR)["identity_policies"].as_array_mut().unwrap().push(json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "TriageTagged", "Effect": "Allow", "Action": "ssm:SendCommand", "Resource": "*",
                       "Condition": condition}]
    }));
    let plan = plan_from_json(&json!({"steps": [{"id": "send", "title": "Send the command", "phase": "triage",
        "calls": [{"api": "ssm:SendCommand", "requests": [{"principal": FS, "action": "ssm:SendCommand",
            "resource": INSTANCE, "context": {"ssm:resourceTag/Team": "ir"}}]}]}]}));
    check(&load(&inv), &plan).steps[0].requests[0].clone()
}

#[test]
fn a_policy_on_aws_resource_tag_leaves_send_command_unknown() {
    let r = send_command_under(json!({"StringEquals": {"aws:ResourceTag/Team": "ir"}}));
    assert_eq!(r.outcome, Outcome::Unknown, "{r:#?}");
    assert!(
        r.unknown.iter().any(|u| u.contains("aws:ResourceTag") && u.contains("ssm:resourceTag")),
        "{:?}",
        r.unknown
    );
}

#[test]
fn a_policy_on_ssm_resource_tag_decides() {
    assert_eq!(send_command_under(json!({"StringEquals": {"ssm:resourceTag/Team": "ir"}})).outcome, Outcome::Allowed);
    assert_eq!(send_command_under(json!({"StringEquals": {"ssm:resourceTag/Team": "other"}})).outcome, Outcome::Denied);
}

//! The triage-output parts of `custody policy role --output-bucket` in CloudFormation and Terraform:
//! the instance profile's policy (a managed policy to attach to the instance profiles' roles, which
//! custody does not know) and the output bucket's policy.

use super::CfnTemplate;
use crate::generate::hcl::{self, Block};
use crate::generate::{yaml, GeneratedRolePolicies};
use serde_json::{json, Value};

const INSTANCE_PROFILE_HEADING: &str = "The instance profiles: deploy in each source account and attach to \
     the role of the instance profile of every instance triaged with S3 output (the SSM agent writes the output with \
     it).";
const BUCKET_HEADING: &str = "The output bucket's policy: deploy in the account that owns the bucket.";

/// The bucket a bucket policy is for (the Resource of its statements: `arn:aws:s3:::bucket[/…]`).
fn bucket_of(policy: &Value) -> String {
    let resource = policy["Statement"][0]["Resource"].as_str().unwrap_or_default();
    resource.trim_start_matches("arn:aws:s3:::").split('/').next().unwrap_or_default().to_string()
}

/// The CloudFormation templates: the instance profiles' policy (source accounts) and the bucket's.
pub(super) fn cfn(g: &GeneratedRolePolicies) -> Vec<CfnTemplate> {
    let mut out = Vec::new();
    if let Some(profile) = g.instance_profile.as_ref().filter(|p| p.policy.is_some()) {
        let mut text = String::new();
        yaml::comment(&mut text, INSTANCE_PROFILE_HEADING);
        for i in &profile.statements {
            yaml::comment(&mut text, &format!("  {}: {} ({})", i.sid, i.purpose, i.doc));
        }
        let template = json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "custody: what the SSM agent needs to write triage output",
            "Resources": {"CustodyTriageOutputWriterPolicy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "Description": "custody triage output: attach to the instance profiles' roles",
                    "PolicyDocument": profile.policy
                }
            }}
        });
        text.push_str(&yaml::to_yaml(&template));
        out.push(CfnTemplate { file: "triage-instance-profiles.yaml", text });
    }
    if let Some(policy) = &g.output_bucket_policy {
        let mut text = String::new();
        yaml::comment(&mut text, BUCKET_HEADING);
        let template = json!({
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "custody: the triage output bucket's policy",
            "Resources": {"CustodyTriageOutputBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {"Bucket": bucket_of(policy), "PolicyDocument": policy}
            }}
        });
        text.push_str(&yaml::to_yaml(&template));
        out.push(CfnTemplate { file: "triage-output-bucket.yaml", text });
    }
    out
}

/// The instance profiles' policy, its labels ending in `suffix` (one per source account).
pub(super) fn terraform_instance_profile(g: &GeneratedRolePolicies, suffix: &str, blocks: &mut Vec<Block>) {
    let Some(profile) = &g.instance_profile else { return };
    let Some(policy) = &profile.policy else { return };
    let name = format!("custody_triage_output_writer{suffix}");
    blocks.push(hcl::policy_document(&name, policy, &profile.statements));
    let mut p = Block::new("resource", &["aws_iam_policy", &name]);
    p.comment(INSTANCE_PROFILE_HEADING)
        .attr_str("name", "custody-triage-output-writer")
        .attr_str("description", "custody triage output: attach to the instance profiles' roles")
        .attr("policy", format!("data.aws_iam_policy_document.{name}.json"));
    blocks.push(p);
}

/// The output bucket's policy.
pub(super) fn terraform_bucket(g: &GeneratedRolePolicies, blocks: &mut Vec<Block>) {
    if let Some(policy) = &g.output_bucket_policy {
        let name = "custody_triage_output_bucket";
        blocks.push(hcl::policy_document(name, policy, &[]));
        let mut b = Block::new("resource", &["aws_s3_bucket_policy", name]);
        b.comment(BUCKET_HEADING)
            .attr_str("bucket", &bucket_of(policy))
            .attr("policy", format!("data.aws_iam_policy_document.{name}.json"));
        blocks.push(b);
    }
}

//! Triage output to S3 (`--output s3://bucket/prefix`): the SSM agent writes each command's output
//! there with the credentials of the instance's instance profile, and custody reads it back. Three
//! parties must agree, and the preflight checks each: the instance profile's role may `s3:PutObject`
//! (and `s3:PutObjectAcl` into another account's bucket) under the prefix (Systems Manager User Guide,
//! "Create a custom S3 bucket policy for an instance profile", map §10.3); custody's reader may
//! `s3:ListBucket` with the command's prefix and `s3:GetObject` the output; and the bucket's own
//! policy, which a bucket of another account must grant too.

use super::context::{Ctx, Signer};
use super::transfer::call;
use super::{AuthzRequest, Call};
use serde::{Deserialize, Serialize};

/// Where triage output goes: `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageOutput {
    pub bucket: String,
    /// Without leading or trailing `/`; may be empty.
    pub prefix: String,
}

impl TriageOutput {
    /// Parses `s3://bucket[/prefix]`.
    pub fn parse(text: &str) -> Result<TriageOutput, String> {
        let rest = text.strip_prefix("s3://").ok_or_else(|| format!("`{text}`: expected s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if !crate::inventory::is_bucket_name(bucket) {
            return Err(format!(
                "`{text}`: `{bucket}` is not an S3 bucket name (3 to 63 lowercase letters, digits, `.` and `-`)"
            ));
        }
        Ok(TriageOutput { bucket: bucket.to_string(), prefix: prefix.trim_matches('/').to_string() })
    }

    /// `arn:aws:s3:::<bucket>`.
    pub fn bucket_arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.bucket)
    }

    /// `arn:aws:s3:::<bucket>/<key>`.
    pub fn object_arn(&self, key: &str) -> String {
        format!("arn:aws:s3:::{}/{key}", self.bucket)
    }

    /// `arn:aws:s3:::<bucket>/<prefix>/*`: every object under the prefix.
    pub fn objects_arn(&self) -> String {
        if self.prefix.is_empty() {
            self.object_arn("*")
        } else {
            self.object_arn(&format!("{}/*", self.prefix))
        }
    }

    /// The key prefix of one command's output on one instance: `<prefix>/<command-id>/<instance-id>/`,
    /// the layout the SSM agent writes (`OutputS3KeyPrefix`, then the command and instance ids).
    pub fn command_prefix(&self, command_id: &str, instance_id: &str) -> String {
        if self.prefix.is_empty() {
            format!("{command_id}/{instance_id}/")
        } else {
            format!("{}/{command_id}/{instance_id}/", self.prefix)
        }
    }
}

impl std::fmt::Display for TriageOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// The command id in the checked object keys: SendCommand makes the real one, so the preflight
/// checks a key of the same shape.
const PLANNED_COMMAND_ID: &str = "command-id";
const INSTANCE_PROFILE_S3: &str =
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-profile.html#instance-profile-custom-s3-policy";
const S3_ACTIONS: &str = "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html";

/// The calls of triage output to S3: the agent's writes as the instance profile's role (when the
/// inventory names it), and custody's reads as `reader`. Notes say what is not checked.
pub(crate) fn output_calls(ctx: &Ctx, reader: &Signer, out: &TriageOutput, notes: &mut Vec<String>) -> Vec<Call> {
    let instance = &ctx.instance;
    let prefix = out.command_prefix(PLANNED_COMMAND_ID, &instance.id);
    let stdout = format!("{prefix}awsrunShellScript/0.awsrunShellScript/stdout");
    let object_arn = out.object_arn(&stdout);
    let bucket_arn = out.bucket_arn();
    let bucket = ctx.inventory.bucket(&out.bucket);
    // S3 ARNs carry no account: the bucket's, from the inventory; else the forensic account's, where
    // custody's evidence lives (the request then rests on a bucket policy that is unknown anyway).
    let owner = bucket.map_or(ctx.inventory.config.forensic_account.as_str(), |b| b.account.as_str());
    if bucket.is_none() {
        notes.push(format!(
            "the bucket {} is not in the inventory (`buckets`): its account and bucket policy are unknown, so the S3 \
             requests of triage output are unknown",
            out.bucket
        ));
    }
    notes.push(format!(
        "triage output goes to {out}; if the bucket encrypts with a KMS key (SSE-KMS), the instance profile's role also \
         needs kms:GenerateDataKey and the reader kms:Decrypt on that key, which this preflight does not check"
    ));
    let mut calls = Vec::new();
    let profile = instance.instance_profile_role_arn.as_deref();
    let unreadable = instance.unknown.iter().any(|u| u == "instance_profile_role_arn");
    match (profile, unreadable) {
        (Some(role_arn), _) => {
            let writer = instance_role_session(role_arn, &instance.id, &instance.account);
            let mut writes = vec![AuthzRequest::new(&writer.session, "s3:PutObject", &object_arn)
                .owned_by(owner)
                .because(
                    format!(
                        "the SSM agent on {} writes the command's output to {out} with its instance profile's role, \
                         which needs s3:PutObject there",
                        instance.id
                    ),
                    INSTANCE_PROFILE_S3,
                )
                .inferred(
                    "AWS documents that the instance profile writes the output, not the request: that the agent's \
                     session is named after the instance, and the object keys <prefix>/<command-id>/<instance-id>/…, \
                     are inferred",
                )];
            if owner != instance.account {
                writes.push(
                    AuthzRequest::new(&writer.session, "s3:PutObjectAcl", &object_arn)
                        .owned_by(owner)
                        .because(
                            "the instance profile needs s3:PutObjectAcl to write into a bucket of another account",
                            INSTANCE_PROFILE_S3,
                        )
                        .inferred(
                            "AWS lists the permission for cross-account buckets, not the request the agent sends",
                        ),
                );
            }
            calls.push(call("s3:PutObject", owner, &ctx.src_region, &writer, writes));
        }
        (None, true) => notes.push(format!(
            "the instance profile of {} could not be read: whether its role may write the output to {out} is unknown",
            instance.id
        )),
        (None, false) => notes.push(format!(
            "{} has no instance profile: the SSM agent has no role to write the output to {out} with (and no role to \
             talk to Systems Manager with); attach an instance profile whose role may s3:PutObject there",
            instance.id
        )),
    }
    calls.push(call(
        "s3:ListBucket",
        owner,
        &ctx.src_region,
        reader,
        vec![AuthzRequest::new(&reader.session, "s3:ListBucket", &bucket_arn)
            .owned_by(owner)
            .with("s3:prefix", prefix.clone())
            .because(
                format!("custody lists the objects the agent wrote under {prefix} to find the command's output"),
                S3_ACTIONS,
            )],
    ));
    calls.push(call(
        "s3:GetObject",
        owner,
        &ctx.src_region,
        reader,
        vec![AuthzRequest::new(&reader.session, "s3:GetObject", &object_arn)
            .owned_by(owner)
            .because("custody reads the command's whole output back from the bucket", S3_ACTIONS)],
    ));
    calls
}

/// The session of an instance profile's role on `instance_id`: EC2 names it after the instance
/// (`aws:userid` is `role-id:ec2-instance-id` for "Role assigned to Amazon EC2 instance", IAM User
/// Guide, <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#principaltable>).
fn instance_role_session(role_arn: &str, instance_id: &str, account: &str) -> Signer {
    let arn = custody_ids::Arn::parse(role_arn).ok();
    let name = arn.and_then(|a| a.role()).map_or(role_arn, |r| r.name);
    Signer {
        role_arn: role_arn.to_string(),
        session: format!("arn:aws:sts::{account}:assumed-role/{name}/{instance_id}"),
        session_name: instance_id.to_string(),
        account: account.to_string(),
    }
}

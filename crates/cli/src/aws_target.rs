//! The arguments `custody collect` and `custody acquire` share: which Region, which roles and which
//! forensic keys to read AWS with. One definition, one validation, so the two cannot drift apart.

use custody_acquire::collect::CollectRequest;
use custody_plan::inventory::arn::{is_region, is_role_arn, KeyArn};

/// Where and as whom AWS is read.
#[derive(Debug, Clone, clap::Args)]
pub struct AwsTargetArgs {
    /// The Region of the instances, where custody works [default: AWS_REGION or the profile's Region].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The role custody acquires as, in the forensic account [default: the role of the current session].
    #[arg(long, value_name = "ARN")]
    pub forensic_role_arn: Option<String>,
    /// The role custody assumes in the instances' account (read through a session of it).
    #[arg(long, value_name = "ARN")]
    pub source_role_arn: Option<String>,
    /// The customer managed key evidence copies are encrypted under; repeat for one per Region.
    #[arg(long = "forensic-key-arn", value_name = "ARN")]
    pub forensic_key_arns: Vec<String>,
}

impl AwsTargetArgs {
    /// Checks the raw values, before anything is asked of AWS.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(region) = self.region.as_deref().filter(|r| !is_region(r)) {
            return Err(format!("--region `{region}`: expected a Region name such as `eu-west-3`"));
        }
        for (flag, arn) in
            [("--forensic-role-arn", &self.forensic_role_arn), ("--source-role-arn", &self.source_role_arn)]
        {
            if let Some(arn) = arn.as_deref().filter(|a| !is_role_arn(a)) {
                return Err(format!("{flag} `{arn}`: expected a role ARN, `arn:aws:iam::<account>:role/<name>`"));
            }
        }
        for arn in &self.forensic_key_arns {
            if KeyArn::parse(arn).is_none() {
                return Err(format!(
                    "--forensic-key-arn `{arn}`: expected a key ARN, `arn:aws:kms:<region>:<account>:key/<key-id>`"
                ));
            }
        }
        Ok(())
    }

    /// The collection these arguments ask for, of `instance_ids` in `region` (the resolved Region).
    pub fn collect_request(&self, instance_ids: &[String], region: String, case_id: Option<String>) -> CollectRequest {
        CollectRequest {
            instance_ids: instance_ids.to_vec(),
            region,
            forensic_role_arn: self.forensic_role_arn.clone(),
            source_role_arn: self.source_role_arn.clone(),
            forensic_key_arns: self.forensic_key_arns.clone(),
            case_id,
        }
    }
}

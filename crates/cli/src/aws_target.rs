//! The arguments `custody collect` and `custody acquire` share: which roles and which forensic keys
//! to read AWS with. One definition, one validation, so the two cannot drift apart. (Where AWS is
//! called, `--profile`, `--region`, `--endpoint-url`, is [`crate::aws_options`].)

use custody_acquire::collect::CollectRequest;
use custody_plan::inventory::arn::{is_account_id, is_role_arn, KeyArn};
use custody_plan::inventory::Tag;

/// Where and as whom AWS is read.
#[derive(Debug, Clone, clap::Args)]
pub struct AwsTargetArgs {
    /// The role custody acquires as, in the forensic account [default: forensic.role_arn of
    /// custody.toml, else the role of the current session].
    #[arg(long, value_name = "ARN", env = "CUSTODY_FORENSIC_ROLE_ARN", hide_env_values = true)]
    pub forensic_role_arn: Option<String>,
    /// The account of the instances: custody assumes its source role there ([source.roles] of
    /// custody.toml for the account, else arn:aws:iam::<account>:role/<source.role_name>, by default
    /// CustodySource) [default: the forensic role's account, nothing assumed].
    #[arg(
        long,
        value_name = "ACCOUNT_ID",
        env = "CUSTODY_SOURCE_ACCOUNT",
        hide_env_values = true,
        value_parser = parse_account_id
    )]
    pub source_account: Option<String>,
    /// The role custody assumes in the instances' account (read through a session of it); wins over
    /// --source-account.
    #[arg(long, value_name = "ARN")]
    pub source_role_arn: Option<String>,
    /// The customer managed key evidence copies are encrypted under; repeat for one per Region
    /// [default: forensic.key_arns of custody.toml; the variable takes a comma-separated list].
    #[arg(
        long = "forensic-key-arn",
        value_name = "ARN",
        env = "CUSTODY_FORENSIC_KEY_ARN",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub forensic_key_arns: Vec<String>,
    /// From custody.toml or CUSTODY_ALIAS_PREFIX: the prefix of the temporary key aliases written
    /// into the collected inventory.
    #[arg(skip)]
    pub alias_prefix: Option<String>,
    /// From custody.toml or CUSTODY_SSM_TAG: the triage tag written into the collected inventory.
    #[arg(skip)]
    pub ssm_tag: Option<Tag>,
}

/// An account id: 12 digits.
pub fn parse_account_id(text: &str) -> Result<String, String> {
    if is_account_id(text) {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}`: expected an account id, 12 digits"))
    }
}

impl AwsTargetArgs {
    /// Checks the raw values, before anything is asked of AWS.
    pub fn validate(&self) -> Result<(), String> {
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
            alias_prefix: self.alias_prefix.clone(),
            ssm_tag: self.ssm_tag.clone(),
        }
    }
}

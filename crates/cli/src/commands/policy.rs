//! `custody policy role` and `custody policy key`: least-privilege policies, as JSON, CloudFormation
//! YAML or Terraform HCL.
//!
//! Arguments are checked in two layers: clap parses each value (features, KMS mode, key access and
//! format are value enums, [`crate::choices`]; the tag with the library's parser), then the library
//! checks the names together (accounts, regions, ARNs). Either failure prints `error:` and `help:`
//! lines on standard error, nothing on standard output, and exits 2.

use crate::choices::{AccessArg, FeatureArg, KmsArg, PolicyFormatArg};
use crate::exit::{write_stdout, CliError, CliResult, ExitStatus};
use custody_plan::generate::{
    key_policy, render, role_cfn_files, role_policies, validate, Feature, Format, GenerateError, KeyOptions,
    RoleOptions, DEFAULT_CUSTODIAN_ROLE, DEFAULT_FORENSIC_ROLE, DEFAULT_SOURCE_ROLE,
};
use custody_plan::inventory::{Tag, DEFAULT_ALIAS_PREFIX};

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// The IAM policies of the forensic role and of the source-account role (with its trust policy),
    /// for exactly the features you use; with discard-evidence, also the evidence custodian's.
    Role(Box<RoleArgs>),
    /// What a KMS key's owner adds so that a principal can use the key: key-policy statements, the
    /// `aws kms create-grant` command, and the IAM policies that go with them.
    Key(KeyArgs),
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  custody policy role --features acquire,image,triage,cleanup --kms grant-only \\
      --forensic-account 999999999999 --forensic-region eu-west-1 \\
      --format cfn --out policies/
  custody policy role --features acquire,cleanup --kms direct-use --json

--out is a local directory custody writes the files to.")]
pub struct RoleArgs {
    /// What custody must be able to do (comma-separated). The roles that acquire or clean up can never
    /// delete evidence snapshots. discard-evidence, only when named: the policy of a separate role
    /// (--custodian-role) that may delete evidence snapshots, for the person with authority to destroy
    /// evidence.
    #[arg(long, value_name = "FEATURE,...", value_delimiter = ',', required = true, value_enum)]
    pub features: Vec<FeatureArg>,
    /// How custody uses customer managed keys of the source accounts.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = KmsArg::GrantOnly)]
    pub kms: KmsArg,
    /// Allow triage only on instances carrying this tag, e.g. CustodySSMEnabled=True [default:
    /// triage.ssm_tag of custody.toml].
    #[arg(long, value_name = "KEY=VALUE", value_parser = tag, env = "CUSTODY_SSM_TAG", hide_env_values = true)]
    pub ssm_tag: Option<Tag>,
    /// The regions custody works in (comma-separated) [default: source.regions of custody.toml,
    /// else any].
    #[arg(long, value_name = "REGION,...", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// The region custody runs in: added to --regions when missing from it [default:
    /// forensic.region of custody.toml].
    #[arg(long, value_name = "REGION")]
    pub forensic_region: Option<String>,
    /// The account evidence is copied into [default: forensic.account of custody.toml].
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub forensic_account: Option<String>,
    /// The accounts custody acquires from (comma-separated) [default: source.accounts of
    /// custody.toml, else any].
    #[arg(long, value_name = "ACCOUNT_ID,...", value_delimiter = ',')]
    pub source_accounts: Vec<String>,
    /// The prefix of custody's temporary key aliases [default: acquire.alias_prefix of
    /// custody.toml, else custody].
    #[arg(long, value_name = "PREFIX", env = "CUSTODY_ALIAS_PREFIX", hide_env_values = true)]
    pub alias_prefix: Option<String>,
    /// The name of the role custody runs as in the forensic account [default: the name in
    /// forensic.role_arn of custody.toml, else CustodyForensic].
    #[arg(long, value_name = "NAME")]
    pub forensic_role: Option<String>,
    /// The name of the role custody assumes in each source account [default: source.role_name of
    /// custody.toml, else CustodySource].
    #[arg(long, value_name = "NAME")]
    pub source_role: Option<String>,
    /// With discard-evidence: the role of the person with authority to destroy evidence; never a role
    /// custody runs as.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_CUSTODIAN_ROLE)]
    pub custodian_role: String,
    /// With triage: where the SSM agent writes triage output (`custody triage --output`). Adds the
    /// reads to the source role, and prints the policy for the instance profiles' roles and the
    /// bucket policy (for a bucket in the forensic account) [default: triage.output of
    /// custody.toml].
    #[arg(long, value_name = "s3://BUCKET/PREFIX", value_parser = custody_plan::plan::TriageOutput::parse)]
    pub output_bucket: Option<custody_plan::plan::TriageOutput>,
    /// The policies' format.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = PolicyFormatArg::Json)]
    pub format: PolicyFormatArg,
    /// Print the policies as JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Write files into this local directory (created if missing; an existing file is never
    /// overwritten) instead of standard output: with cfn, one template per kind of account
    /// (forensic-account.yaml, source-account.yaml, …), each deployed as a stack of its own; with
    /// terraform, custody.tf; with json, role-policies.json.
    #[arg(long = "out", alias = "out-dir", value_name = "DIR")]
    pub out_dir: Option<std::path::PathBuf>,
}

impl RoleArgs {
    /// The format asked for: --json, else --format.
    fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            self.format.into()
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Example (the key's ARN in $KEY_ARN):
  custody policy key --access grant-only --key-arn \"$KEY_ARN\" \\
      --for arn:aws:iam::111122223333:role/CustodySource \\
      --grantee arn:aws:iam::999999999999:role/CustodyForensic")]
pub struct KeyArgs {
    /// The key: arn:aws:kms:<region>:<account>:key/<key id>.
    #[arg(long, value_name = "ARN")]
    pub key_arn: String,
    /// The principal that will use the key (with grant-only: that creates grants on it): a role
    /// (service-linked roles included), a user, or an account root.
    #[arg(long = "for", value_name = "PRINCIPAL_ARN")]
    pub principal: String,
    /// How the key is opened: with grant-only custody creates and retires the grants; with
    /// direct-use CreateGrant is allowed only for AWS resources.
    #[arg(long, value_name = "ACCESS", value_enum)]
    pub access: AccessArg,
    /// With grant-only: the role the grants are for (the forensic role, when --for is custody's role
    /// in the key's account); default: the --for principal itself.
    #[arg(long, value_name = "ROLE_ARN")]
    pub grantee: Option<String>,
    /// The statements' format.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = PolicyFormatArg::Json)]
    pub format: PolicyFormatArg,
    /// Print the advice as JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
}

/// A clap error message for a library error: what is wrong, then what is accepted.
fn clap_message(e: &GenerateError) -> String {
    format!("{e}\n\nhelp: {}", e.help())
}

fn tag(text: &str) -> Result<Tag, String> {
    validate::parse_tag(text).map_err(|e| clap_message(&e))
}

/// Runs the command.
pub fn run(command: &PolicyCommand) -> CliResult {
    let answer = match command {
        PolicyCommand::Role(args) => match (role(args), &args.out_dir) {
            (Ok(files), Some(dir)) => return write_files(dir, &files),
            (Ok(files), None) => match files.as_slice() {
                [(_, text)] => Ok(text.clone()),
                _ => Err(GenerateError::CfnNeedsOutDir(files.iter().map(|(name, _)| name.clone()).collect())),
            },
            (Err(e), _) => Err(e),
        },
        PolicyCommand::Key(args) => key(args),
    };
    let out = answer.map_err(|e| CliError::user(e.to_string()).with_help(e.help()))?;
    write_stdout(&out);
    Ok(ExitStatus::Success)
}

/// Writes `files` into `dir`, refusing (exit 2, nothing written) when one of them exists already.
fn write_files(dir: &std::path::Path, files: &[(String, String)]) -> CliResult {
    let existing: Vec<String> =
        files.iter().map(|(name, _)| dir.join(name)).filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
    if !existing.is_empty() {
        return Err(CliError::user(format!(
            "{} exists already: custody does not overwrite a file",
            existing.join(", ")
        ))
        .with_help("remove it, or choose another --out"));
    }
    fs_err::create_dir_all(dir)
        .and_then(|_| files.iter().try_for_each(|(name, text)| fs_err::write(dir.join(name), text.as_bytes())))
        .map_err(|e| CliError::user(e.to_string()))?;
    let wrote: String = files.iter().map(|(name, _)| format!("wrote {}\n", dir.join(name).display())).collect();
    write_stdout(&wrote);
    Ok(ExitStatus::Success)
}

/// The role policies as the files `--out` writes: (file name, contents).
fn role(args: &RoleArgs) -> Result<Vec<(String, String)>, GenerateError> {
    let options = RoleOptions {
        features: args.features.iter().map(|f| Feature::from(*f)).collect(),
        kms: args.kms.into(),
        ssm_tag: args.ssm_tag.clone(),
        regions: args.regions.clone(),
        forensic_region: args.forensic_region.clone(),
        forensic_account: args.forensic_account.clone(),
        source_accounts: args.source_accounts.clone(),
        alias_prefix: args.alias_prefix.clone().unwrap_or_else(|| DEFAULT_ALIAS_PREFIX.to_string()),
        forensic_role_name: args.forensic_role.clone().unwrap_or_else(|| DEFAULT_FORENSIC_ROLE.to_string()),
        source_role_name: args.source_role.clone().unwrap_or_else(|| DEFAULT_SOURCE_ROLE.to_string()),
        custodian_role_name: args.custodian_role.clone(),
        output_bucket: args.output_bucket.clone(),
        ..RoleOptions::default()
    };
    options.validate()?;
    let generated = role_policies(&options);
    Ok(match args.format() {
        Format::Json => vec![("role-policies.json".to_string(), render(&generated, Format::Json))],
        Format::Terraform => vec![("custody.tf".to_string(), render(&generated, Format::Terraform))],
        Format::Cfn => role_cfn_files(&generated).into_iter().map(|t| (t.file.to_string(), t.text)).collect(),
    })
}

fn key(args: &KeyArgs) -> Result<String, GenerateError> {
    let advice = key_policy(&KeyOptions {
        key_arn: args.key_arn.clone(),
        principal_arn: args.principal.clone(),
        access: args.access.into(),
        grantee_arn: args.grantee.clone(),
    })?;
    let format = if args.json { Format::Json } else { args.format.into() };
    Ok(render(&advice, format))
}

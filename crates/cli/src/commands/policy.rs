//! `custody policy role` and `custody policy key`: least-privilege policies, as JSON, CloudFormation
//! YAML or Terraform HCL.
//!
//! Arguments are checked in two layers: clap parses each value (features, KMS mode, tag, key access,
//! format) with the library's `FromStr`, then the library checks the names together (accounts,
//! regions, ARNs). Either failure prints `error:` and `help:` lines on standard error, nothing on
//! standard output, and exits 2.

use crate::exit::{write_stdout, CliError, CliResult, ExitStatus};
use custody_plan::generate::{
    key_policy, render, role_cfn_files, role_policies, validate, Feature, Format, GenerateError, KeyAccess, KeyOptions,
    KmsMode, RoleOptions, DEFAULT_CUSTODIAN_ROLE, DEFAULT_FORENSIC_ROLE, DEFAULT_SOURCE_ROLE,
};
use custody_plan::inventory::{Tag, DEFAULT_ALIAS_PREFIX};
use std::str::FromStr;

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
pub struct RoleArgs {
    /// What custody must be able to do: acquire, image, triage, cleanup, direct-read, volume
    /// (comma-separated). The roles that acquire or clean up can never delete evidence snapshots.
    /// discard-evidence, only when named: the policy of a separate role (--custodian-role) that may
    /// delete evidence snapshots, for the person with authority to destroy evidence.
    #[arg(long, value_name = "FEATURE,...", value_delimiter = ',', required = true, value_parser = parsed::<Feature>)]
    pub features: Vec<Feature>,
    /// How custody uses customer managed keys of the source accounts: grant-only (its source role
    /// creates grants for the forensic role and retires them), direct (the key policies name the
    /// forensic role) or owner-grants (the keys' owners grant the forensic role).
    #[arg(long, value_name = "MODE", default_value = "grant-only", value_parser = parsed::<KmsMode>)]
    pub kms: KmsMode,
    /// Allow triage only on instances carrying this tag, e.g. CustodySSMEnabled=True.
    #[arg(long, value_name = "KEY=VALUE", value_parser = tag)]
    pub ssm_tag: Option<Tag>,
    /// The regions custody works in (comma-separated); default: any.
    #[arg(long, value_name = "REGION,...", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// The region custody runs in: added to --regions when missing from it.
    #[arg(long, value_name = "REGION")]
    pub forensic_region: Option<String>,
    /// The account evidence is copied into.
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub forensic_account: Option<String>,
    /// The accounts custody acquires from (comma-separated); default: any.
    #[arg(long, value_name = "ACCOUNT_ID,...", value_delimiter = ',')]
    pub source_accounts: Vec<String>,
    /// The prefix of custody's temporary key aliases.
    #[arg(long, value_name = "PREFIX", default_value = DEFAULT_ALIAS_PREFIX)]
    pub alias_prefix: String,
    /// The name of the role custody runs as in the forensic account.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_FORENSIC_ROLE)]
    pub forensic_role: String,
    /// The name of the role custody assumes in each source account.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_SOURCE_ROLE)]
    pub source_role: String,
    /// With discard-evidence: the role of the person with authority to destroy evidence; never a role
    /// custody runs as.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_CUSTODIAN_ROLE)]
    pub custodian_role: String,
    /// With triage: where the SSM agent writes triage output (`custody triage --output`). Adds the
    /// reads to the source role, and prints the policy for the instance profiles' roles and the
    /// bucket policy (for a bucket in the forensic account).
    #[arg(long, value_name = "s3://BUCKET/PREFIX", value_parser = custody_plan::plan::TriageOutput::parse)]
    pub output_bucket: Option<custody_plan::plan::TriageOutput>,
    /// json, cfn (CloudFormation YAML) or terraform (HCL).
    #[arg(long, value_name = "FORMAT", default_value = "json", value_parser = parsed::<Format>)]
    pub format: Format,
    /// Write files into this directory (created if missing; an existing file is never overwritten)
    /// instead of standard output: with cfn, one template per kind of account (forensic-account.yaml,
    /// source-account.yaml, …), each deployed as a stack of its own; with terraform, custody.tf; with
    /// json, role-policies.json.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    /// The key: arn:aws:kms:<region>:<account>:key/<key id>.
    #[arg(long, value_name = "ARN")]
    pub key_arn: String,
    /// The principal that will use the key (with grant-only: that creates grants on it): a role
    /// (service-linked roles included), a user, or an account root.
    #[arg(long = "for", value_name = "PRINCIPAL_ARN")]
    pub principal: String,
    /// How the key is opened: grant-only (the principal may create grants only for --grantee and only
    /// with custody's operations; custody creates and retires them), direct-use (the key policy names
    /// the principal for exactly custody's operations, CreateGrant only for AWS resources), or
    /// owner-grant (the key's owner grants the principal those operations).
    #[arg(long, value_name = "ACCESS", value_parser = parsed::<KeyAccess>)]
    pub access: KeyAccess,
    /// With grant-only: the role the grants are for (the forensic role, when --for is custody's role
    /// in the key's account); default: the --for principal itself.
    #[arg(long, value_name = "ROLE_ARN")]
    pub grantee: Option<String>,
    /// json, cfn (CloudFormation YAML) or terraform (HCL).
    #[arg(long, value_name = "FORMAT", default_value = "json", value_parser = parsed::<Format>)]
    pub format: Format,
}

/// A clap error message for a library error: what is wrong, then what is accepted.
fn clap_message(e: &GenerateError) -> String {
    format!("{e}\n\nhelp: {}", e.help())
}

/// Parses a value with the library's `FromStr`, for clap.
fn parsed<T: FromStr<Err = GenerateError>>(text: &str) -> Result<T, String> {
    text.parse().map_err(|e| clap_message(&e))
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
        .with_help("remove it, or choose another --out-dir"));
    }
    fs_err::create_dir_all(dir)
        .and_then(|_| files.iter().try_for_each(|(name, text)| fs_err::write(dir.join(name), text.as_bytes())))
        .map_err(|e| CliError::user(e.to_string()))?;
    let wrote: String = files.iter().map(|(name, _)| format!("wrote {}\n", dir.join(name).display())).collect();
    write_stdout(&wrote);
    Ok(ExitStatus::Success)
}

/// The role policies as the files `--out-dir` writes: (file name, contents).
fn role(args: &RoleArgs) -> Result<Vec<(String, String)>, GenerateError> {
    let options = RoleOptions {
        features: args.features.iter().copied().collect(),
        kms: args.kms,
        ssm_tag: args.ssm_tag.clone(),
        regions: args.regions.clone(),
        forensic_region: args.forensic_region.clone(),
        forensic_account: args.forensic_account.clone(),
        source_accounts: args.source_accounts.clone(),
        alias_prefix: args.alias_prefix.clone(),
        forensic_role_name: args.forensic_role.clone(),
        source_role_name: args.source_role.clone(),
        custodian_role_name: args.custodian_role.clone(),
        output_bucket: args.output_bucket.clone(),
        ..RoleOptions::default()
    };
    options.validate()?;
    let generated = role_policies(&options);
    Ok(match args.format {
        Format::Json => vec![("role-policies.json".to_string(), render(&generated, Format::Json))],
        Format::Terraform => vec![("custody.tf".to_string(), render(&generated, Format::Terraform))],
        Format::Cfn => role_cfn_files(&generated).into_iter().map(|t| (t.file.to_string(), t.text)).collect(),
    })
}

fn key(args: &KeyArgs) -> Result<String, GenerateError> {
    let advice = key_policy(&KeyOptions {
        key_arn: args.key_arn.clone(),
        principal_arn: args.principal.clone(),
        access: args.access,
        grantee_arn: args.grantee.clone(),
    })?;
    Ok(render(&advice, args.format))
}

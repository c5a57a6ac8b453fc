//! `custody init`: writes a commented custody.toml ([`crate::config`]) from its flags, asking on a
//! terminal for the two answers it cannot do without (the forensic account and Region), then prints
//! the `custody policy role` command that writes the roles' policies from that file.
//!
//! Every value is checked as the file's reader checks it, and the text written is read back before
//! it is written, so the file always loads. An existing file is never overwritten (exit 2). Without
//! a terminal, a missing required value is exit 2 naming its flag.

use crate::choices::{FeatureArg, KmsArg};
use crate::config::{self, FILE_NAME};
use crate::exit::{write_stdout, CliError, CliResult, ExitStatus};
use clap::ValueEnum;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

/// Arguments of `custody init`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  custody init --forensic-account 999999999999 --forensic-region eu-west-1
  custody init --forensic-account 999999999999 --forensic-region eu-west-1 \\
      --source-accounts 111122223333,444455556666 --source-regions eu-west-1 \\
      --ssm-tag CustodySSMEnabled=True --out ~/.config/custody/custody.toml

On a terminal, custody init asks for the forensic account and Region when they are not given. \
It never overwrites a file. Exit status 0 written, 2 bad input or the file exists (nothing written).")]
pub struct InitArgs {
    /// The file to write (its directory is created when missing).
    #[arg(long, value_name = "FILE", default_value = FILE_NAME)]
    pub out: PathBuf,
    /// The account evidence is copied into (asked on a terminal when missing).
    #[arg(long, value_name = "ACCOUNT_ID", value_parser = checked(config::check_account))]
    pub forensic_account: Option<String>,
    /// The Region evidence is copied into (asked on a terminal when missing).
    #[arg(long, value_name = "REGION", value_parser = checked(config::check_region))]
    pub forensic_region: Option<String>,
    /// The role custody acquires as [default: arn:aws:iam::<forensic account>:role/CustodyForensic].
    #[arg(long, value_name = "ARN", value_parser = checked(config::check_role_arn))]
    pub forensic_role_arn: Option<String>,
    /// A customer managed key evidence copies are encrypted under; repeat for one per Region.
    #[arg(long, value_name = "ARN", value_parser = checked(config::check_key_arn))]
    pub forensic_key_arn: Vec<String>,
    /// The accounts custody acquires from (comma-separated).
    #[arg(long, value_name = "ACCOUNT_ID,...", value_delimiter = ',', value_parser = checked(config::check_account))]
    pub source_accounts: Vec<String>,
    /// The Regions the instances are in (comma-separated).
    #[arg(long, value_name = "REGION,...", value_delimiter = ',', value_parser = checked(config::check_region))]
    pub source_regions: Vec<String>,
    /// The role custody assumes in each source account [default: CustodySource].
    #[arg(long, value_name = "NAME", value_parser = checked(config::check_role_name))]
    pub source_role_name: Option<String>,
    /// The prefix of custody's temporary key aliases [default: custody].
    #[arg(long, value_name = "PREFIX", value_parser = checked(config::check_alias_prefix))]
    pub alias_prefix: Option<String>,
    /// Triage only instances carrying this tag, e.g. CustodySSMEnabled=True.
    #[arg(long, value_name = "KEY=VALUE", value_parser = checked(config::check_tag))]
    pub ssm_tag: Option<String>,
    /// Where the SSM agent writes triage output.
    #[arg(long, value_name = "s3://BUCKET/PREFIX", value_parser = checked(config::check_output))]
    pub triage_output: Option<String>,
    /// The directory of the journal.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The named profile of the AWS configuration files custody calls AWS with.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The Region AWS is called in [default: the profile's].
    #[arg(long, value_name = "REGION", value_parser = checked(config::check_region))]
    pub region: Option<String>,
    /// The examiner's name, recorded with each case.
    #[arg(long, value_name = "NAME")]
    pub examiner: Option<String>,
    /// What custody must be able to do, for the printed `custody policy role` command
    /// (comma-separated).
    #[arg(
        long,
        value_name = "FEATURE,...",
        value_delimiter = ',',
        value_enum,
        default_value = "acquire,image,triage,cleanup"
    )]
    pub features: Vec<FeatureArg>,
    /// How custody uses customer managed keys of the source accounts, for the printed `custody
    /// policy role` command.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = KmsArg::GrantOnly)]
    pub kms: KmsArg,
    /// Print {"config": FILE, "policy_command": "…"} as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A clap value parser from one of the file's checks: the value as typed, or why not.
fn checked(check: fn(&str) -> Result<(), String>) -> impl Fn(&str) -> Result<String, String> + Clone {
    move |text| check(text).map(|()| text.to_string())
}

/// Runs the command.
pub fn run(args: &InitArgs) -> CliResult {
    if args.out.exists() {
        return Err(exists(&args.out));
    }
    for (flag, value) in [("--profile", &args.profile), ("--examiner", &args.examiner)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(CliError::user(format!("{flag}: expected a value, not an empty one")));
        }
    }
    let account_known = args.forensic_account.is_some() || args.forensic_role_arn.is_some();
    let missing: Vec<&str> =
        [("--forensic-account", account_known), ("--forensic-region", args.forensic_region.is_some())]
            .into_iter()
            .filter_map(|(flag, known)| (!known).then_some(flag))
            .collect();
    if !missing.is_empty() && !std::io::stdin().is_terminal() {
        return Err(CliError::user(format!(
            "{} required: the forensic account and Region, where evidence is copied",
            if missing.len() == 1 { format!("{} is", missing[0]) } else { format!("{} are", missing.join(" and ")) }
        ))
        .with_help("pass them, or run custody init on a terminal to be asked"));
    }
    let account = match &args.forensic_account {
        Some(account) => account.clone(),
        None => match args.forensic_role_arn.as_deref().and_then(|arn| arn.split(':').nth(4)) {
            Some(account) => account.to_string(),
            None => ask(
                "forensic account (the 12-digit account evidence is copied into)",
                None,
                config::check_account,
                "--forensic-account",
            )?,
        },
    };
    let region = match &args.forensic_region {
        Some(region) => region.clone(),
        None => ask(
            "forensic Region (where evidence is copied)",
            args.region.as_deref(),
            config::check_region,
            "--forensic-region",
        )?,
    };
    let text = render(args, &account, &region);
    // Read back before anything is written: what init writes always loads.
    config::parse(&args.out, &text)
        .map_err(|e| CliError::bug(format!("custody init wrote a file it cannot read back: {e}")))?;
    write_new(&args.out, &text)?;
    let command = policy_command(args);
    let out = if args.json {
        let value = serde_json::json!({ "config": args.out.display().to_string(), "policy_command": command });
        // Two strings: serializing cannot fail.
        serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
    } else {
        format!("wrote {}\nnext, write the roles' policies and deploy them:\n  {command}\n", args.out.display())
    };
    write_stdout(&out);
    Ok(ExitStatus::Success)
}

fn exists(path: &Path) -> CliError {
    CliError::user(format!("{} exists already: custody init does not overwrite a file", path.display()))
        .with_help("edit it, remove it, or write another with --out")
}

/// Asks for a required value on the terminal (`default` in brackets, taken on an empty answer), until
/// it passes `check`; without a terminal, the missing value is the user's error, naming `flag`.
fn ask(
    question: &str,
    default: Option<&str>,
    check: fn(&str) -> Result<(), String>,
    flag: &str,
) -> Result<String, CliError> {
    let missing = || {
        CliError::user(format!("{flag} is required: {question}"))
            .with_help(format!("pass {flag}, or run custody init on a terminal to be asked"))
    };
    if !std::io::stdin().is_terminal() {
        return Err(missing());
    }
    let mut stdin = std::io::stdin().lock();
    loop {
        match default {
            Some(d) => eprint!("{question} [{d}]: "),
            None => eprint!("{question}: "),
        }
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if stdin.read_line(&mut line).map_err(|e| CliError::user("cannot read the answer").caused_by(&e))? == 0 {
            return Err(missing());
        }
        let answer = match (line.trim(), default) {
            ("", Some(d)) => d.to_string(),
            (answer, _) => answer.to_string(),
        };
        match check(&answer) {
            Ok(()) => return Ok(answer),
            Err(why) => eprintln!("`{answer}`: {why}"),
        }
    }
}

/// Writes `text` to a new file at `path` (its directory created if missing), refusing one that
/// exists.
fn write_new(path: &Path, text: &str) -> Result<(), CliError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs_err::create_dir_all(dir)
            .map_err(|e| CliError::user(format!("{}: cannot create", dir.display())).caused_by(&e))?;
    }
    let file = fs_err::OpenOptions::new().write(true).create_new(true).open(path);
    let mut file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists(path)),
        Err(e) => return Err(CliError::user(format!("{}: cannot write", path.display())).caused_by(&e)),
    };
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError::failure(format!("{}: cannot write", path.display())).caused_by(&e))
}

/// The `custody policy role` command that writes the policies from the file just written: run in its
/// directory, or with `--config` when the file is not where custody looks by itself.
fn policy_command(args: &InitArgs) -> String {
    let features: Vec<String> = args.features.iter().map(|f| value_name(*f)).collect();
    let mut command = format!(
        "custody policy role --features {} --kms {} --format cfn --out policies/",
        features.join(","),
        value_name(args.kms)
    );
    if !found_by_itself(&args.out) {
        command.push_str(&format!(" --config {}", shell_word(&args.out.display().to_string())));
    }
    command
}

/// Whether custody finds the file at `path` without `--config`: `./custody.toml`, or the one in the
/// configuration directory.
fn found_by_itself(path: &Path) -> bool {
    let canonical = |p: &Path| p.canonicalize().ok();
    let Some(path) = canonical(path) else { return false };
    config::candidates().iter().any(|c| canonical(c).as_ref() == Some(&path))
}

fn value_name(value: impl ValueEnum) -> String {
    value.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
}

/// A path as a shell would need it typed.
fn shell_word(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%~".contains(c)) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(values: &[String]) -> String {
    format!("[{}]", values.iter().map(|v| quoted(v)).collect::<Vec<_>>().join(", "))
}

/// `key = value` when given, else the line commented out with `example`.
fn line(key: &str, value: Option<String>, example: &str) -> String {
    match value {
        Some(value) => format!("{key} = {value}\n"),
        None => format!("# {key} = {example}\n"),
    }
}

/// The file's text.
fn render(args: &InitArgs, account: &str, region: &str) -> String {
    let q = |v: &Option<String>| v.as_deref().map(quoted);
    let role_arn =
        args.forensic_role_arn.clone().unwrap_or_else(|| format!("arn:aws:iam::{account}:role/CustodyForensic"));
    let mut t = String::new();
    t.push_str(
        "# custody's configuration, written by `custody init`. For every value: a flag wins over its\n\
         # environment variable, which wins over this file, which wins over custody's default.\n\
         # custody finds this file as ./custody.toml, else $XDG_CONFIG_HOME/custody/custody.toml (else\n\
         # ~/.config/custody/custody.toml), or wherever --config (CUSTODY_CONFIG) names.\n\n",
    );
    t.push_str("[aws]\n# The named profile of the AWS configuration files (--profile, AWS_PROFILE).\n");
    t.push_str(&line("profile", q(&args.profile), "\"incident-response\""));
    t.push_str("# The Region AWS is called in, where the instances are (--region, AWS_REGION).\n");
    t.push_str(&line("region", q(&args.region), "\"eu-west-1\""));
    t.push_str(
        "# Every AWS call to this URL instead: an emulator, a VPC endpoint (--endpoint-url, AWS_ENDPOINT_URL).\n",
    );
    t.push_str("# endpoint_url = \"http://127.0.0.1:5000\"\n\n");

    t.push_str("[forensic]\n# The account evidence is copied into: --to's account when --to is not given.\n");
    t.push_str(&format!("account = {}\n", quoted(account)));
    t.push_str("# The Region evidence is copied into: --to's Region.\n");
    t.push_str(&format!("region = {}\n", quoted(region)));
    t.push_str("# The role custody acquires as (--forensic-role-arn, CUSTODY_FORENSIC_ROLE_ARN).\n");
    t.push_str(&format!("role_arn = {}\n", quoted(&role_arn)));
    t.push_str("# The customer managed keys evidence copies are encrypted under, one per Region\n");
    t.push_str("# (--forensic-key-arn, CUSTODY_FORENSIC_KEY_ARN).\n");
    let keys = (!args.forensic_key_arn.is_empty()).then(|| list(&args.forensic_key_arn));
    t.push_str(&line("key_arns", keys, &format!("[\"arn:aws:kms:{region}:{account}:key/<key-id>\"]")));
    t.push('\n');

    t.push_str("[source]\n# The accounts custody acquires from (policy role --source-accounts).\n");
    let accounts = (!args.source_accounts.is_empty()).then(|| list(&args.source_accounts));
    t.push_str(&line("accounts", accounts, "[\"111122223333\"]"));
    t.push_str("# The Regions the instances are in (policy role --regions).\n");
    let regions = (!args.source_regions.is_empty()).then(|| list(&args.source_regions));
    t.push_str(&line("regions", regions, &format!("[{}]", quoted(region))));
    t.push_str("# The role custody assumes in each source account (--source-account ACCOUNT_ID):\n");
    t.push_str("# arn:aws:iam::<account>:role/<role_name>.\n");
    t.push_str(&line("role_name", q(&args.source_role_name), "\"CustodySource\""));
    t.push_str("# Exceptions, per account: the whole ARN of the role to assume there.\n");
    t.push_str("# [source.roles]\n# \"444455556666\" = \"arn:aws:iam::444455556666:role/IRReader\"\n\n");

    t.push_str("[acquire]\n# Temporary key aliases are alias/<prefix>-<case>-<volume> (CUSTODY_ALIAS_PREFIX).\n");
    t.push_str(&line("alias_prefix", q(&args.alias_prefix), "\"custody\""));
    t.push_str("# The examiner recorded with each case (--examiner, CUSTODY_EXAMINER).\n");
    t.push_str(&line("examiner", q(&args.examiner), "\"J. Doe\""));
    t.push('\n');

    t.push_str("[triage]\n# Triage only instances carrying this tag (--ssm-tag, CUSTODY_SSM_TAG).\n");
    t.push_str(&line("ssm_tag", q(&args.ssm_tag), "\"CustodySSMEnabled=True\""));
    t.push_str("# Where the SSM agent writes triage output (--output, CUSTODY_TRIAGE_OUTPUT).\n");
    t.push_str(&line("output", q(&args.triage_output), "\"s3://ir-evidence/triage\""));
    t.push('\n');

    t.push_str("[journal]\n# The directory of the journal (--data-dir, CUSTODY_DATA_DIR); a relative one is\n");
    t.push_str("# beside this file.\n");
    // As typed, a relative directory is the working directory's: written whole.
    let data_dir = args.data_dir.as_ref().map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()));
    let data_dir = data_dir.map(|d| quoted(&d.display().to_string()));
    t.push_str(&line("data_dir", data_dir, "\"/var/lib/custody\""));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_as_toml_reads_them() {
        for text in ["J. \"Doe\"", "C:\\evidence", "tab\there", "ü"] {
            let doc = format!("x = {}", quoted(text));
            let value: toml::Table = toml::from_str(&doc).unwrap();
            assert_eq!(value["x"].as_str(), Some(text), "{doc}");
        }
    }
}

//! custody.toml: the values an examiner would otherwise type on every command (the AWS profile and
//! Region, the forensic account and role, the source accounts, the triage tag and bucket, the data
//! directory).
//!
//! Found at `--config FILE` (or `CUSTODY_CONFIG`), else `./custody.toml`, else
//! `$XDG_CONFIG_HOME/custody/custody.toml`, else `~/.config/custody/custody.toml`; no file is fine,
//! a file named by `--config` that does not exist is not. The file is read with serde
//! (`deny_unknown_fields`), then every value is checked with the parser its flag uses, so a bad
//! value is refused (exit 2) naming the file, the line and the dotted key before anything runs.
//!
//! Precedence, for every value: the flag, else its environment variable (clap's `env`), else the
//! file, else the built-in default. `main` loads the file after clap has parsed the command line and
//! fills each argument still missing from it ([`apply`]), so commands read their arguments only.

pub mod apply;

use crate::exit::CliError;
use custody_plan::generate::validate;
use custody_plan::inventory::arn::{is_account_id, is_region, is_role_arn, KeyArn};
use custody_plan::inventory::Tag;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The file's name, in the working directory and in the configuration directory.
pub const FILE_NAME: &str = "custody.toml";

/// The environment variables of values some commands take from the file without a flag of their
/// own (`collect` and `acquire` write them into the inventory they collect).
pub const ALIAS_PREFIX_ENV: &str = "CUSTODY_ALIAS_PREFIX";
pub const SSM_TAG_ENV: &str = "CUSTODY_SSM_TAG";

/// The configuration: every value checked. Empty when there is no file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// The file it was read from.
    pub path: Option<PathBuf>,
    pub aws: Aws,
    pub forensic: Forensic,
    pub source: Source,
    pub acquire: Acquire,
    pub triage: Triage,
    pub journal: Journal,
}

/// `[aws]`: as the AWS CLI's `--profile`, `--region`, `--endpoint-url`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aws {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// `[forensic]`: where evidence goes and as whom custody works.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forensic {
    pub account: Option<String>,
    pub region: Option<String>,
    pub role_arn: Option<String>,
    pub key_arns: Vec<String>,
}

/// `[source]`: the accounts and Regions of the instances, and the role custody assumes there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub role_name: Option<String>,
    /// Per-account exceptions to `role_name`: account id → role ARN.
    pub roles: BTreeMap<String, String>,
}

/// `[acquire]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acquire {
    pub alias_prefix: Option<String>,
    pub examiner: Option<String>,
}

/// `[triage]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Triage {
    /// `KEY=VALUE`, parsed by the one tag parser.
    pub ssm_tag: Option<Tag>,
    /// `s3://bucket/prefix`, checked.
    pub output: Option<String>,
}

/// `[journal]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Journal {
    /// Relative paths are taken from the file's directory; `~/` is the home directory.
    pub data_dir: Option<PathBuf>,
}

impl Source {
    /// The role custody assumes in `account`: its exception in `[source.roles]`, else
    /// `arn:aws:iam::<account>:role/<role_name>` (role_name by default `CustodySource`).
    pub fn role_arn(&self, account: &str) -> String {
        if let Some(arn) = self.roles.get(account) {
            return arn.clone();
        }
        let name = self.role_name.as_deref().unwrap_or(custody_plan::generate::DEFAULT_SOURCE_ROLE);
        format!("arn:aws:iam::{account}:role/{name}")
    }
}

impl Forensic {
    /// The name of the forensic role (with its path), from `role_arn`.
    pub fn role_name(&self) -> Option<String> {
        let arn = self.role_arn.as_deref()?;
        arn.split_once(":role/").map(|(_, name)| name.to_string())
    }
}

// The file as written: every value with its place in the file, for the error that names its line.

type Text = Spanned<String>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    aws: RawAws,
    #[serde(default)]
    forensic: RawForensic,
    #[serde(default)]
    source: RawSource,
    #[serde(default)]
    acquire: RawAcquire,
    #[serde(default)]
    triage: RawTriage,
    #[serde(default)]
    journal: RawJournal,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAws {
    profile: Option<Text>,
    region: Option<Text>,
    endpoint_url: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForensic {
    account: Option<Text>,
    region: Option<Text>,
    role_arn: Option<Text>,
    #[serde(default)]
    key_arns: Vec<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    #[serde(default)]
    accounts: Vec<Text>,
    #[serde(default)]
    regions: Vec<Text>,
    role_name: Option<Text>,
    #[serde(default)]
    roles: BTreeMap<String, Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAcquire {
    alias_prefix: Option<Text>,
    examiner: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTriage {
    ssm_tag: Option<Text>,
    output: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJournal {
    data_dir: Option<Text>,
}

/// Finds and reads the configuration: `explicit` (`--config` or `CUSTODY_CONFIG`), else the first
/// file of [`candidates`] that exists; no file at all is an empty configuration. Then the
/// environment variables of the values without a flag of their own are laid over it.
pub fn load(explicit: Option<&Path>) -> Result<Config, CliError> {
    let path = match explicit {
        Some(path) if path.is_file() => Some(path.to_path_buf()),
        Some(path) => {
            return Err(CliError::user(format!("{}: no such configuration file", path.display()))
                .with_help("--config (or CUSTODY_CONFIG) names a custody.toml; `custody init` writes one"));
        }
        None => candidates().into_iter().find(|p| p.is_file()),
    };
    let mut config = match path {
        Some(path) => {
            let text = fs_err::read_to_string(&path).map_err(|e| {
                CliError::user(format!("{}: cannot read the configuration file", path.display())).caused_by(&e)
            })?;
            parse(&path, &text)?
        }
        None => Config::default(),
    };
    overlay_env(&mut config)?;
    Ok(config)
}

/// Where the configuration is looked for when `--config` is not given, in order.
pub fn candidates() -> Vec<PathBuf> {
    let mut found = vec![PathBuf::from(FILE_NAME)];
    if let Some(dir) = config_dir() {
        found.push(dir.join("custody").join(FILE_NAME));
    }
    found
}

/// `$XDG_CONFIG_HOME` (an absolute path, as the XDG Base Directory Specification requires), else
/// `~/.config`.
pub fn config_dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).filter(|p| p.is_absolute());
    xdg.or_else(|| home().map(|h| h.join(".config")))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// The variables of the values `collect` and `acquire` take without a flag: the variable wins over
/// the file, as a flag's variable does.
fn overlay_env(config: &mut Config) -> Result<(), CliError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(prefix) = var(ALIAS_PREFIX_ENV) {
        check_alias_prefix(&prefix).map_err(|e| CliError::user(format!("{ALIAS_PREFIX_ENV} `{prefix}`: {e}")))?;
        config.acquire.alias_prefix = Some(prefix);
    }
    if let Some(tag) = var(SSM_TAG_ENV) {
        config.triage.ssm_tag =
            Some(parse_tag(&tag).map_err(|e| CliError::user(format!("{SSM_TAG_ENV} `{tag}`: {e}")))?);
    }
    Ok(())
}

/// Parses and checks the text of the file at `path`.
pub fn parse(path: &Path, text: &str) -> Result<Config, CliError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| syntax_error(path, text, &e))?;
    let file = FileText { path, text };
    let aws = Aws {
        profile: file.check(raw.aws.profile, "aws.profile", |p| non_empty(p, "a profile name"))?,
        region: file.check(raw.aws.region, "aws.region", check_region)?,
        endpoint_url: file.check(raw.aws.endpoint_url, "aws.endpoint_url", |u| {
            crate::aws_options::is_endpoint_url(u)
                .then_some(())
                .ok_or_else(|| "expected a URL, http://… or https://…".into())
        })?,
    };
    let forensic = Forensic {
        account: file.check(raw.forensic.account, "forensic.account", check_account)?,
        region: file.check(raw.forensic.region, "forensic.region", check_region)?,
        role_arn: file.check(raw.forensic.role_arn, "forensic.role_arn", check_role_arn)?,
        key_arns: file.check_all(raw.forensic.key_arns, "forensic.key_arns", check_key_arn)?,
    };
    let mut roles = BTreeMap::new();
    for (account, arn) in raw.source.roles {
        let key = format!("source.roles.\"{account}\"");
        let line = file.line(arn.span().start);
        if !is_account_id(&account) {
            return Err(file.error(line, &key, "expected a 12-digit account id as the key"));
        }
        let arn = file.check(Some(arn), &key, check_role_arn)?.unwrap_or_default();
        if arn.split(':').nth(4) != Some(account.as_str()) {
            return Err(file.error(line, &key, &format!("the role `{arn}` is not in account {account}")));
        }
        roles.insert(account, arn);
    }
    let source = Source {
        accounts: file.check_all(raw.source.accounts, "source.accounts", check_account)?,
        regions: file.check_all(raw.source.regions, "source.regions", check_region)?,
        role_name: file.check(raw.source.role_name, "source.role_name", check_role_name)?,
        roles,
    };
    let acquire = Acquire {
        alias_prefix: file.check(raw.acquire.alias_prefix, "acquire.alias_prefix", check_alias_prefix)?,
        examiner: file.check(raw.acquire.examiner, "acquire.examiner", |e| non_empty(e, "a name"))?,
    };
    let triage = Triage {
        ssm_tag: file.parse(raw.triage.ssm_tag, "triage.ssm_tag", parse_tag)?,
        output: file.check(raw.triage.output, "triage.output", check_output)?,
    };
    let data_dir = file.check(raw.journal.data_dir, "journal.data_dir", |d| non_empty(d, "a directory"))?;
    let journal = Journal { data_dir: data_dir.map(|d| resolve_dir(path, &d)) };
    Ok(Config { path: Some(path.to_path_buf()), aws, forensic, source, acquire, triage, journal })
}

/// A directory named in the file: `~/…` in the home directory, a relative one beside the file.
fn resolve_dir(file: &Path, dir: &str) -> PathBuf {
    if let (Some(rest), Some(home)) = (dir.strip_prefix("~/"), home()) {
        return home.join(rest);
    }
    let dir = PathBuf::from(dir);
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    match file.parent() {
        Some(parent) if dir.is_relative() => parent.join(dir),
        _ => dir,
    }
}

/// The file's text, to turn a place in it into a line number.
struct FileText<'a> {
    path: &'a Path,
    text: &'a str,
}

impl FileText<'_> {
    fn line(&self, offset: usize) -> usize {
        line_of(self.text, offset)
    }

    fn error(&self, line: usize, key: &str, what: &str) -> CliError {
        CliError::user(format!("{}: line {line}: {key}: {what}", self.path.display()))
    }

    /// The value, checked by `check`: the error names the file, the line and `key`.
    fn check(
        &self,
        value: Option<Text>,
        key: &str,
        check: impl Fn(&str) -> Result<(), String>,
    ) -> Result<Option<String>, CliError> {
        self.parse(value, key, |text| check(text).map(|()| text.to_string()))
    }

    /// The value at `key` parsed by `parse`, or the error that names its line.
    fn parse<T>(
        &self,
        value: Option<Text>,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, CliError> {
        let Some(value) = value else { return Ok(None) };
        parse(value.get_ref()).map(Some).map_err(|what| self.error(self.line(value.span().start), key, &what))
    }

    /// Each value of a list, checked by `check`.
    fn check_all(
        &self,
        values: Vec<Text>,
        key: &str,
        check: impl Fn(&str) -> Result<(), String>,
    ) -> Result<Vec<String>, CliError> {
        values.into_iter().map(|v| self.check(Some(v), key, &check).map(Option::unwrap_or_default)).collect()
    }
}

/// The 1-based line of byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// An error of the TOML reader (syntax, an unknown key, a value of the wrong type): its line and,
/// when the file's syntax is sound, the dotted key it is about.
fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> CliError {
    let message = e.message().trim().replace("unknown field", "unknown key").replace("invalid type: ", "");
    let Some(span) = e.span() else {
        return CliError::user(format!("{}: {message}", path.display()));
    };
    let line = line_of(text, span.start);
    match key_at(text, span.start) {
        Some(key) => CliError::user(format!("{}: line {line}: {key}: {message}", path.display())),
        None => CliError::user(format!("{}: line {line}: {message}", path.display())),
    }
}

/// The dotted key whose name or value holds byte `offset` of `text` (`None` when the text is not
/// TOML, or the place is in no key).
fn key_at(text: &str, offset: usize) -> Option<String> {
    let table = toml::de::DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    key_in(table.get_ref(), offset, &mut path);
    (!path.is_empty()).then(|| path.join("."))
}

fn key_in(table: &toml::de::DeTable<'_>, offset: usize, path: &mut Vec<String>) {
    for (key, value) in table {
        let name = key.get_ref().to_string();
        let shown = if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            name
        } else {
            format!("\"{name}\"")
        };
        if key.span().contains(&offset) {
            path.push(shown);
            return;
        }
        if let Some(inner) = value.get_ref().as_table() {
            let before = path.len();
            path.push(shown.clone());
            key_in(inner, offset, path);
            if path.len() > before + 1 || value.span().contains(&offset) {
                return;
            }
            path.truncate(before);
        } else if value.span().contains(&offset) {
            path.push(shown);
            return;
        }
    }
}

fn non_empty(text: &str, what: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        Err(format!("expected {what}, not an empty string"))
    } else {
        Ok(())
    }
}

pub(crate) fn check_region(text: &str) -> Result<(), String> {
    is_region(text).then_some(()).ok_or_else(|| "expected a Region name such as eu-west-3".into())
}

pub(crate) fn check_account(text: &str) -> Result<(), String> {
    is_account_id(text).then_some(()).ok_or_else(|| "expected an account id, 12 digits (quoted)".into())
}

pub(crate) fn check_role_arn(text: &str) -> Result<(), String> {
    is_role_arn(text).then_some(()).ok_or_else(|| "expected a role ARN, arn:aws:iam::<account>:role/<name>".into())
}

pub(crate) fn check_key_arn(text: &str) -> Result<(), String> {
    KeyArn::parse(text)
        .map(|_| ())
        .ok_or_else(|| "expected a key ARN, arn:aws:kms:<region>:<account>:key/<key-id>".into())
}

pub(crate) fn check_role_name(text: &str) -> Result<(), String> {
    validate::role_name(text).map_err(|e| e.to_string())
}

pub(crate) fn check_alias_prefix(text: &str) -> Result<(), String> {
    validate::alias_prefix(text).map_err(|e| e.to_string())
}

pub(crate) fn parse_tag(text: &str) -> Result<Tag, String> {
    validate::parse_tag(text).map_err(|e| e.to_string())
}

pub(crate) fn check_tag(text: &str) -> Result<(), String> {
    parse_tag(text).map(|_| ())
}

pub(crate) fn check_output(text: &str) -> Result<(), String> {
    custody_plan::plan::TriageOutput::parse(text)?;
    custody_triage::S3Location::parse(text).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[aws]
profile = "incident-response"
region = "eu-west-1"

[forensic]
account = "999999999999"
region = "eu-west-1"
role_arn = "arn:aws:iam::999999999999:role/CustodyForensic"
key_arns = ["arn:aws:kms:eu-west-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab"]

[source]
accounts = ["111122223333"]
regions = ["eu-west-1", "us-east-1"]
role_name = "CustodySource"
[source.roles]
"444455556666" = "arn:aws:iam::444455556666:role/IRReader"

[acquire]
alias_prefix = "custody"
examiner = "J. Doe"

[triage]
ssm_tag = "CustodySSMEnabled=True"
output = "s3://ir-evidence/triage"

[journal]
data_dir = "/var/lib/custody"
"#;

    fn error(text: &str) -> String {
        parse(Path::new("custody.toml"), text).unwrap_err().message
    }

    #[test]
    fn the_example_of_the_documentation_loads() {
        let config = parse(Path::new("custody.toml"), EXAMPLE).unwrap();
        assert_eq!(config.aws.profile.as_deref(), Some("incident-response"));
        assert_eq!(config.forensic.role_name().as_deref(), Some("CustodyForensic"));
        assert_eq!(config.source.role_arn("444455556666"), "arn:aws:iam::444455556666:role/IRReader");
        assert_eq!(config.source.role_arn("111122223333"), "arn:aws:iam::111122223333:role/CustodySource");
        assert_eq!(config.journal.data_dir, Some(PathBuf::from("/var/lib/custody")));
    }

    #[test]
    fn a_bad_value_names_the_file_the_line_and_the_key() {
        let text = EXAMPLE.replace("role/CustodyForensic", "user/Alice");
        assert_eq!(
            error(&text),
            "custody.toml: line 9: forensic.role_arn: expected a role ARN, arn:aws:iam::<account>:role/<name>"
        );
        let text = EXAMPLE.replace("\"us-east-1\"", "\"Virginia\"");
        assert_eq!(error(&text), "custody.toml: line 14: source.regions: expected a Region name such as eu-west-3");
    }

    #[test]
    fn an_unknown_key_or_a_wrong_type_names_the_key_and_the_line() {
        let unknown = error("[aws]\nregion = \"eu-west-1\"\nregoin = \"x\"\n");
        assert!(unknown.starts_with("custody.toml: line 3: aws.regoin: unknown key `regoin`"), "{unknown}");
        let typed = error("[forensic]\n\naccount = 999999999999\n");
        assert!(typed.starts_with("custody.toml: line 3: forensic.account: "), "{typed}");
        let section = error("[forensics]\naccount = \"999999999999\"\n");
        assert!(section.starts_with("custody.toml: line 1: forensics: unknown key `forensics`"), "{section}");
        let syntax = error("[aws\n");
        assert!(syntax.starts_with("custody.toml: line 1: "), "{syntax}");
    }

    #[test]
    fn a_role_exception_must_be_in_its_account() {
        let text = "[source.roles]\n\"444455556666\" = \"arn:aws:iam::111122223333:role/X\"\n";
        assert!(error(text).contains("is not in account 444455556666"), "{}", error(text));
    }

    #[test]
    fn a_relative_data_dir_is_beside_the_file() {
        assert_eq!(
            resolve_dir(Path::new("/etc/custody/custody.toml"), "journal"),
            PathBuf::from("/etc/custody/journal")
        );
        let here = std::env::current_dir().unwrap();
        assert_eq!(resolve_dir(Path::new("custody.toml"), "journal"), here.join("journal"));
        assert_eq!(resolve_dir(Path::new("custody.toml"), "/var/lib/custody"), PathBuf::from("/var/lib/custody"));
    }
}

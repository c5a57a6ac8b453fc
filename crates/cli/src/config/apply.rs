//! Fills each argument the command line left empty from the configuration: one method per kind of
//! arguments, so that commands read their arguments only. clap has already taken the flag, else its
//! environment variable; what is still `None` (or empty) takes the file's value.

use super::Config;
use crate::aws_options::AwsArgs;
use crate::aws_target::AwsTargetArgs;
use crate::choices::FeatureArg;
use crate::commands::acquire::AcquireArgs;
use crate::commands::cases::{CasesArgs, ShowArgs};
use crate::commands::cleanup::CleanupArgs;
use crate::commands::collect::CollectArgs;
use crate::commands::image::ImageArgs;
use crate::commands::policy::{PolicyCommand, RoleArgs};
use crate::commands::triage::TriageArgs;
use crate::data_dir::DataDirArgs;
use crate::Command;

/// What of the command line `apply` needs beyond the parsed arguments: whether a value was typed
/// there rather than taken from its environment variable (clap's `ValueSource`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Typed {
    /// `--region` was typed.
    pub region: bool,
    /// `--data-dir` was typed.
    pub data_dir: bool,
}

/// Fills `command`'s missing arguments from `config`.
pub fn apply(command: &mut Command, config: &Config, typed: Typed) {
    match command {
        Command::Collect(a) => a.apply(config),
        Command::Acquire(a) => a.apply(config, typed),
        Command::Cleanup(a) => a.apply(config),
        Command::Image(a) => a.apply(config),
        Command::Verify(a) => a.aws.apply(config),
        Command::Triage(a) => a.apply(config),
        Command::Cases(a) => a.apply(config),
        Command::Show(a) => a.apply(config),
        Command::Audit(a) => {
            a.aws.apply(config);
            a.data.apply(config);
        }
        Command::Policy(PolicyCommand::Role(a)) => a.apply(config),
        _ => {}
    }
    if let Some(aws) = command.aws_mut() {
        aws.region_on_command_line = typed.region;
    }
}

impl Command {
    /// The AWS options of the command, when it calls AWS.
    fn aws_mut(&mut self) -> Option<&mut AwsArgs> {
        match self {
            Command::Collect(a) => Some(&mut a.aws),
            Command::Acquire(a) => Some(&mut a.aws),
            Command::Cleanup(a) => Some(&mut a.aws),
            Command::Image(a) => Some(&mut a.aws),
            Command::Verify(a) => Some(&mut a.aws),
            Command::Triage(a) => Some(&mut a.aws),
            Command::Audit(a) => Some(&mut a.aws),
            _ => None,
        }
    }
}

fn fill<T: Clone>(slot: &mut Option<T>, value: Option<&T>) {
    if slot.is_none() {
        *slot = value.cloned();
    }
}

fn fill_list<T: Clone>(slot: &mut Vec<T>, values: &[T]) {
    if slot.is_empty() {
        *slot = values.to_vec();
    }
}

/// The source role of `--source-account`: named by `--source-role-arn`, else the configuration's.
fn source_role(source_role_arn: &mut Option<String>, source_account: Option<&String>, config: &Config) {
    if let (None, Some(account)) = (source_role_arn.as_ref(), source_account) {
        *source_role_arn = Some(config.source.role_arn(account));
    }
}

impl AwsArgs {
    pub fn apply(&mut self, config: &Config) {
        fill(&mut self.profile, config.aws.profile.as_ref());
        fill(&mut self.region, config.aws.region.as_ref());
        fill(&mut self.endpoint_url, config.aws.endpoint_url.as_ref());
    }
}

impl AwsTargetArgs {
    pub fn apply(&mut self, config: &Config) {
        fill(&mut self.forensic_role_arn, config.forensic.role_arn.as_ref());
        fill_list(&mut self.forensic_key_arns, &config.forensic.key_arns);
        source_role(&mut self.source_role_arn, self.source_account.as_ref(), config);
        fill(&mut self.alias_prefix, config.acquire.alias_prefix.as_ref());
        fill(&mut self.ssm_tag, config.triage.ssm_tag.as_ref());
    }
}

impl DataDirArgs {
    pub fn apply(&mut self, config: &Config) {
        fill(&mut self.data_dir, config.journal.data_dir.as_ref());
    }
}

impl CollectArgs {
    pub fn apply(&mut self, config: &Config) {
        self.aws.apply(config);
        self.target.apply(config);
    }
}

impl AcquireArgs {
    /// A dry run (`--simulate`) is the world its inventory describes: its journal stays in memory
    /// unless `--data-dir` is typed (a data directory from the environment or the file is for real
    /// cases), and the evidence goes where the inventory says unless `--to` is given.
    pub fn apply(&mut self, config: &Config, typed: Typed) {
        self.aws.apply(config);
        self.target.apply(config);
        fill(&mut self.examiner, config.acquire.examiner.as_ref());
        let dry_run = self.simulate.is_some();
        if dry_run && self.resume.is_none() {
            if !typed.data_dir {
                self.data.data_dir = None;
            }
        } else {
            self.data.apply(config);
        }
        if !dry_run && self.resume.is_none() && self.to.is_none() {
            self.to = config.forensic.account.as_ref().map(|account| crate::acquisition::Destination {
                account: account.clone(),
                region: config.forensic.region.clone(),
            });
        }
    }
}

impl CleanupArgs {
    pub fn apply(&mut self, config: &Config) {
        self.aws.apply(config);
        self.data.apply(config);
    }
}

impl ImageArgs {
    pub fn apply(&mut self, config: &Config) {
        self.aws.apply(config);
        self.data.apply(config);
    }
}

impl TriageArgs {
    pub fn apply(&mut self, config: &Config) {
        self.aws.apply(config);
        self.data.apply(config);
        source_role(&mut self.source_role_arn, self.source_account.as_ref(), config);
        fill(&mut self.examiner, config.acquire.examiner.as_ref());
        fill(&mut self.ssm_tag, config.triage.ssm_tag.as_ref());
        if self.output.is_none() {
            self.output = config.triage.output.as_deref().and_then(|o| custody_triage::S3Location::parse(o).ok());
        }
    }
}

impl CasesArgs {
    pub fn apply(&mut self, config: &Config) {
        self.data.apply(config);
    }
}

impl ShowArgs {
    pub fn apply(&mut self, config: &Config) {
        self.data.apply(config);
    }
}

impl RoleArgs {
    pub fn apply(&mut self, config: &Config) {
        fill(&mut self.forensic_account, config.forensic.account.as_ref());
        fill(&mut self.forensic_region, config.forensic.region.as_ref());
        fill_list(&mut self.source_accounts, &config.source.accounts);
        fill_list(&mut self.regions, &config.source.regions);
        fill(&mut self.forensic_role, config.forensic.role_name().as_ref());
        fill(&mut self.source_role, config.source.role_name.as_ref());
        fill(&mut self.alias_prefix, config.acquire.alias_prefix.as_ref());
        // The triage values only with triage: the policies of other features have no use for them.
        if !self.features.contains(&FeatureArg::Triage) {
            return;
        }
        fill(&mut self.ssm_tag, config.triage.ssm_tag.as_ref());
        if self.output_bucket.is_none() {
            self.output_bucket =
                config.triage.output.as_deref().and_then(|o| custody_plan::plan::TriageOutput::parse(o).ok());
        }
    }
}

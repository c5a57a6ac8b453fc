//! `--profile`, `--region` and `--endpoint-url`: where and as whom every command that calls AWS
//! calls it. One definition, flattened into each such command, so the flags cannot drift apart.
//!
//! They behave as the AWS CLI's: the flag, else its environment variable (`AWS_PROFILE`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL`), else `[aws]` of custody.toml, else the SDK's own chain (the
//! profile's Region, instance metadata, …). clap reads the flag and the variable; `main` fills what
//! is still missing from the file ([`crate::config`]).

use custody_cloud::config::AwsOptions;
use custody_plan::inventory::arn::is_region;

/// Where and as whom AWS is called.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "AWS")]
pub struct AwsArgs {
    /// The named profile of the AWS configuration files to call AWS with (credentials, Region,
    /// endpoint) [default: [aws] profile of custody.toml, else the default credentials chain].
    #[arg(long, value_name = "NAME", env = "AWS_PROFILE", hide_env_values = true)]
    pub profile: Option<String>,
    /// The Region AWS is called in, where the instances are [default: [aws] region of custody.toml,
    /// else the profile's Region].
    #[arg(long, value_name = "REGION", env = "AWS_REGION", hide_env_values = true)]
    pub region: Option<String>,
    /// Send every AWS call to this URL (an emulator, a VPC endpoint) [default: [aws] endpoint_url of
    /// custody.toml, else AWS's own endpoints].
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL", hide_env_values = true)]
    pub endpoint_url: Option<String>,
    /// Whether `region` was typed on the command line (set by `main`), rather than taken from
    /// AWS_REGION or the file: only then does it win over a Region the command knows better.
    #[arg(skip)]
    pub region_on_command_line: bool,
}

impl AwsArgs {
    /// Checks the raw values, before anything is asked of AWS.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(region) = self.region.as_deref().filter(|r| !is_region(r)) {
            return Err(format!("--region `{region}`: expected a Region name such as `eu-west-3`"));
        }
        if let Some(url) = self.endpoint_url.as_deref().filter(|u| !is_endpoint_url(u)) {
            return Err(format!("--endpoint-url `{url}`: expected a URL, `http://…` or `https://…`"));
        }
        if self.profile.as_deref().is_some_and(str::is_empty) {
            return Err("--profile: expected a profile name, not an empty one".to_string());
        }
        Ok(())
    }

    /// What the SDK configuration is loaded with.
    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }

    /// [`options`](Self::options) in `known`, the Region the command knows the resource is in (an
    /// evidence item's, a manifest's): `--region` on the command line wins over it, AWS_REGION and
    /// the file do not.
    pub fn options_in(&self, known: Option<String>) -> AwsOptions {
        let region = match (self.region_on_command_line, known) {
            (false, Some(known)) => Some(known),
            _ => self.region.clone(),
        };
        AwsOptions { region, ..self.options() }
    }
}

/// An endpoint URL: `http://` or `https://` and a host.
pub fn is_endpoint_url(text: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| text.strip_prefix(scheme).is_some_and(|rest| !rest.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_refused_by_flag_name() {
        let args = |region: &str, url: &str| AwsArgs {
            profile: None,
            region: Some(region.into()),
            endpoint_url: Some(url.into()),
            region_on_command_line: true,
        };
        assert_eq!(args("eu-west-1", "http://127.0.0.1:5000").validate(), Ok(()));
        assert!(args("Europe", "http://x").validate().unwrap_err().starts_with("--region `Europe`"));
        assert!(args("eu-west-1", "127.0.0.1:5000").validate().unwrap_err().starts_with("--endpoint-url"));
    }

    #[test]
    fn only_a_region_typed_on_the_command_line_wins_over_the_one_the_command_knows() {
        let typed = AwsArgs { region: Some("eu-west-1".into()), region_on_command_line: true, ..AwsArgs::default() };
        let known = || Some("us-east-1".to_string());
        assert_eq!(typed.options_in(known()).region.as_deref(), Some("eu-west-1"));
        let from_env = AwsArgs { region_on_command_line: false, ..typed.clone() };
        assert_eq!(from_env.options_in(known()).region.as_deref(), Some("us-east-1"));
        assert_eq!(from_env.options_in(None).region.as_deref(), Some("eu-west-1"));
    }
}

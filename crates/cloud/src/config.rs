//! The one place custody loads its AWS configuration: credentials and Region as the AWS CLI finds
//! them (environment, shared profiles, SSO, a credential process, instance metadata), with the
//! command line's `--profile`, `--region` and `--endpoint-url` taking precedence, as they do for the
//! AWS CLI. Every SDK client custody makes (EC2, KMS, IAM, STS, Organizations, EBS, SSM, S3) is built
//! from what this returns, so a profile or an endpoint given once applies to every call.
//!
//! Credentials stay inside the configuration: nothing here returns or prints them.

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// What the command line may say about where and as whom AWS is called. `None` leaves the choice to
/// the environment and the shared configuration files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    /// A named profile of `~/.aws/config` (as `AWS_PROFILE`).
    pub profile: Option<String>,
    /// The Region calls are sent to (as `AWS_REGION`).
    pub region: Option<String>,
    /// Every service at this URL (as `AWS_ENDPOINT_URL`): a local emulator, a VPC endpoint.
    pub endpoint_url: Option<String>,
}

impl AwsOptions {
    /// Only a Region (the environment decides the rest).
    pub fn in_region(region: Option<&str>) -> AwsOptions {
        AwsOptions { region: region.map(str::to_string), ..AwsOptions::default() }
    }
}

/// The SDK configuration the AWS CLI would load, with `options` overriding it where given.
pub async fn load(options: &AwsOptions) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &options.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// `config` with `region` as its Region.
pub fn with_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config.to_builder().region(Region::new(region.to_string())).build()
}

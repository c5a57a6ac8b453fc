//! The adapter on the official aws-sdk-rust crates.
//!
//! [`SdkCloud::from_env`] loads the configuration the AWS CLI would: credentials from the environment,
//! the shared profiles (`AWS_PROFILE`), SSO, a credential process or instance metadata; the Region from
//! `--region`, `AWS_REGION` or the profile; the endpoint from `AWS_ENDPOINT_URL` (or a service's own
//! `AWS_ENDPOINT_URL_<SERVICE>`), which is how tests point it at a local emulator. Credentials never
//! leave the SDK's configuration: no method returns them and errors never contain them.

mod ec2;
mod iam;
mod kms;
mod org;
mod sts;

use crate::api::{Cloud, Ec2, Iam, Kms, Organizations, SessionName, Sts};
use crate::error::{ApiError, CloudError, CloudResult};
use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::RequestId;
use std::sync::Arc;

/// The Region global services (IAM, Organizations) are signed for when none is configured.
const GLOBAL_REGION: &str = "us-east-1";

/// The AWS services of one identity, through aws-sdk-rust.
#[derive(Clone, Debug)]
pub struct SdkCloud {
    config: SdkConfig,
}

impl SdkCloud {
    /// Loads the default configuration (environment, profiles, `AWS_ENDPOINT_URL`), with `region`
    /// overriding the configured Region when given.
    pub async fn from_env(region: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_string()));
        }
        Self { config: loader.load().await }
    }

    /// Uses a configuration built by the caller (tests build one for a local emulator).
    pub fn from_config(config: SdkConfig) -> Self {
        Self { config }
    }

    /// The configuration, for callers that need an SDK client of their own (seeding an emulator).
    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    /// A session of `role_arn` (AssumeRole called once now, so a refusal surfaces here; renewed when
    /// it expires), as an adapter of its own: for callers that need its configuration, such as
    /// `custody triage` sending Run Command in a source account.
    pub async fn assume(&self, role_arn: &str, session: &SessionName) -> CloudResult<SdkCloud> {
        let config = sts::assume_role(&self.global(), &self.config, role_arn, session).await?;
        Ok(SdkCloud { config })
    }

    /// The configuration with `region` as its Region.
    fn in_region(&self, region: &str) -> SdkConfig {
        self.config.to_builder().region(Region::new(region.to_string())).build()
    }

    /// The configuration for a global service: the configured Region, else [`GLOBAL_REGION`].
    fn global(&self) -> SdkConfig {
        match self.config.region() {
            Some(_) => self.config.clone(),
            None => self.in_region(GLOBAL_REGION),
        }
    }
}

#[async_trait]
impl Cloud for SdkCloud {
    fn default_region(&self) -> Option<String> {
        self.config.region().map(|r| r.to_string())
    }

    fn ec2(&self, region: &str) -> Arc<dyn Ec2> {
        Arc::new(ec2::SdkEc2(aws_sdk_ec2::Client::new(&self.in_region(region))))
    }

    fn kms(&self, region: &str) -> Arc<dyn Kms> {
        Arc::new(kms::SdkKms(aws_sdk_kms::Client::new(&self.in_region(region))))
    }

    fn iam(&self) -> Arc<dyn Iam> {
        Arc::new(iam::SdkIam(aws_sdk_iam::Client::new(&self.global())))
    }

    fn sts(&self) -> Arc<dyn Sts> {
        Arc::new(sts::SdkSts(aws_sdk_sts::Client::new(&self.global())))
    }

    fn organizations(&self) -> Arc<dyn Organizations> {
        Arc::new(org::SdkOrganizations(aws_sdk_organizations::Client::new(&self.global())))
    }

    async fn assume_role(&self, role_arn: &str, session: &SessionName) -> CloudResult<Arc<dyn Cloud>> {
        Ok(Arc::new(self.assume(role_arn, session).await?))
    }
}

/// Turns an SDK error into a [`CloudError`], keeping AWS's code, message and request id.
pub(crate) fn sdk_error<E>(service: &'static str, operation: &'static str, err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(context) => {
            let meta = context.err().meta();
            let request_id = meta.request_id().or_else(|| context.raw().headers().request_id()).map(str::to_string);
            CloudError::from_api(ApiError {
                service,
                operation,
                code: meta.code().map(str::to_string),
                message: meta.message().map(str::to_string),
                request_id,
            })
        }
        SdkError::ResponseError(_) => CloudError::Malformed {
            service,
            operation,
            what: format!("{}", aws_sdk_sts::error::DisplayErrorContext(&err)),
        },
        other => CloudError::Unreachable { service, operation, source: Box::new(other) },
    }
}

/// An error for a documented response field that AWS left out.
pub(crate) fn missing(service: &'static str, operation: &'static str, field: &str) -> CloudError {
    CloudError::Malformed { service, operation, what: format!("the response has no `{field}`") }
}

/// An error for a policy document that does not decode to a JSON object.
pub(crate) fn bad_document(service: &'static str, operation: &'static str, why: String) -> CloudError {
    CloudError::Malformed { service, operation, what: why }
}

/// An error for a request custody refuses to send because AWS would refuse it (an unknown grant
/// operation): shaped as AWS's own `ValidationException` so callers handle it like AWS's refusal, with
/// no request id since nothing was sent.
pub(crate) fn not_sent(service: &'static str, operation: &'static str, why: String) -> CloudError {
    CloudError::Api(ApiError::new(service, operation, "ValidationException", &format!("not sent: {why}")))
}

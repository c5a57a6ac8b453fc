//! The adapter on the official aws-sdk-rust crates.
//!
//! [`SdkCloud::from_env`] loads the configuration the AWS CLI would: credentials from the environment,
//! the shared profiles (`AWS_PROFILE`), SSO, a credential process or instance metadata; the Region from
//! `--region`, `AWS_REGION` or the profile; the endpoint from `AWS_ENDPOINT_URL` (or a service's own
//! `AWS_ENDPOINT_URL_<SERVICE>`), which is how tests point it at a local emulator. Credentials never
//! leave the SDK's configuration: no method returns them and errors never contain them.

mod cloudtrail;
mod ec2;
mod iam;
mod kms;
mod org;
mod sts;

use crate::api::{Cloud, CloudTrail, Ec2, Iam, Kms, Organizations, SessionName, Sts};
use crate::config::AwsOptions;
use crate::error::{ApiError, CloudError, CloudResult};
use async_trait::async_trait;
use aws_config::SdkConfig;
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
        Self::load(&AwsOptions::in_region(region)).await
    }

    /// Loads the configuration with the command line's `--profile`, `--region` and
    /// `--endpoint-url` (see [`crate::config`]).
    pub async fn load(options: &AwsOptions) -> Self {
        Self { config: crate::config::load(options).await }
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
        crate::config::with_region(&self.config, region)
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

    fn cloudtrail(&self, region: &str) -> Arc<dyn CloudTrail> {
        Arc::new(cloudtrail::SdkCloudTrail::new(aws_sdk_cloudtrail::Client::new(&self.in_region(region))))
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

/// An id or ARN AWS answered in `field`, checked where it enters with the parser of its type
/// (`custody-ids`): one of the wrong shape is an answer custody cannot act on, as a missing one is, so
/// it becomes [`CloudError::Malformed`] and is never passed on.
pub(crate) fn checked<T, E: std::fmt::Display>(
    service: &'static str,
    operation: &'static str,
    field: &str,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> CloudResult<String> {
    match parse(text) {
        Ok(_) => Ok(text.to_string()),
        Err(e) => Err(CloudError::Malformed { service, operation, what: format!("the response's `{field}`: {e}") }),
    }
}

/// [`checked`] for a field AWS may leave out.
pub(crate) fn checked_opt<T, E: std::fmt::Display>(
    service: &'static str,
    operation: &'static str,
    field: &str,
    text: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> CloudResult<Option<String>> {
    text.map(|text| checked(service, operation, field, text, parse)).transpose()
}

/// Parsers of the ARNs AWS answers, for [`checked`]: an ARN ([`custody_ids::Arn::parse`]) of the expected kind.
pub(crate) mod arns {
    use custody_ids::Arn;

    fn of_kind(text: &str, kind: impl FnOnce(&Arn<'_>) -> bool, expected: &str) -> Result<(), String> {
        let arn = Arn::parse(text).map_err(|e| e.to_string())?;
        if kind(&arn) {
            Ok(())
        } else {
            Err(format!("`{}` is not {expected}", text.escape_default()))
        }
    }

    /// Any ARN (an IAM policy's, whose account may be `aws`).
    pub(crate) fn any(text: &str) -> Result<(), String> {
        Arn::parse(text).map(drop).map_err(|e| e.to_string())
    }

    /// `arn:<p>:kms:<region>:<account>:key/<key id>`.
    pub(crate) fn key(text: &str) -> Result<(), String> {
        of_kind(
            text,
            |a| a.key_id().is_some(),
            "the ARN of a KMS key (`arn:<partition>:kms:<region>:<account>:key/<key id>`)",
        )
    }

    /// `arn:<p>:kms:<region>:<account>:alias/<name>`.
    pub(crate) fn alias(text: &str) -> Result<(), String> {
        of_kind(
            text,
            |a| a.alias_name().is_some(),
            "the ARN of a KMS alias (`arn:<partition>:kms:<region>:<account>:alias/<name>`)",
        )
    }

    /// `arn:<p>:iam::<account>:role/<path/>name`.
    pub(crate) fn role(text: &str) -> Result<(), String> {
        of_kind(text, |a| a.role().is_some(), "the ARN of an IAM role (`arn:<partition>:iam::<account>:role/<name>`)")
    }

    /// The caller's ARN: a role session, an IAM user, the account root or a federated user (STS
    /// GetCallerIdentity); any IAM or STS ARN of an account, with no Region.
    pub(crate) fn principal(text: &str) -> Result<(), String> {
        of_kind(
            text,
            |a| matches!(a.service(), "iam" | "sts") && a.region().is_none() && a.account().is_some(),
            "the ARN of an IAM or STS principal (`arn:<partition>:sts::<account>:assumed-role/<role>/<session>`, …)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_ids::{SnapshotId, VolumeId};

    #[test]
    fn an_id_of_the_wrong_shape_is_an_unexpected_answer() {
        let ok = checked("ec2", "CreateVolume", "VolumeId", "vol-0123456789abcdef0", VolumeId::parse);
        assert_eq!(ok.ok().as_deref(), Some("vol-0123456789abcdef0"));
        let err = checked("ec2", "CopySnapshot", "SnapshotId", "snap-zz", SnapshotId::parse);
        let Err(CloudError::Malformed { service, operation, what }) = err else { panic!("Malformed: {err:?}") };
        assert_eq!((service, operation), ("ec2", "CopySnapshot"));
        assert!(what.starts_with("the response's `SnapshotId`: snapshot id `snap-zz`: `z` is not"), "{what}");
        assert!(matches!(
            checked_opt("ec2", "DescribeVolumes", "Volumes.SnapshotId", None, SnapshotId::parse),
            Ok(None)
        ));
    }

    #[test]
    fn arns_are_checked_for_their_kind() {
        let key = "arn:aws:kms:eu-west-1:111122223333:key/1a2b3c4d-5e6f-1a2b-3c4d-5e6f1a2b3c4d";
        assert!(arns::key(key).is_ok() && arns::key("alias/aws/ebs").is_err());
        assert!(arns::key("arn:aws:kms:eu-west-1:111122223333:alias/aws/ebs").is_err());
        assert!(arns::alias("arn:aws:kms:eu-west-1:111122223333:alias/aws/ebs").is_ok());
        assert!(arns::role("arn:aws:iam::111122223333:role/ops/R").is_ok());
        assert!(arns::role("arn:aws:iam::111122223333:user/alice").is_err());
        assert!(arns::principal("arn:aws:sts::111122223333:assumed-role/R/s").is_ok());
        assert!(arns::principal("arn:aws:iam::111122223333:user/moto").is_ok());
        assert!(arns::principal("arn:aws:s3:::bucket").is_err());
        assert!(arns::any("arn:aws:iam::aws:policy/ReadOnlyAccess").is_ok() && arns::any("ReadOnlyAccess").is_err());
    }
}

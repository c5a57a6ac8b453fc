//! STS: GetCallerIdentity, and AssumeRole into a configuration whose credentials renew themselves.

use super::{arns, checked, missing, sdk_error};
use crate::api::{SessionName, Sts};
use crate::error::CloudResult;
use crate::types::CallerIdentity;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_credential_types::provider::{error::CredentialsError, future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

pub(super) struct SdkSts(pub(super) aws_sdk_sts::Client);

#[async_trait]
impl Sts for SdkSts {
    async fn get_caller_identity(&self) -> CloudResult<CallerIdentity> {
        const OP: &str = "GetCallerIdentity";
        let out = self.0.get_caller_identity().send().await.map_err(|e| sdk_error("sts", OP, e))?;
        Ok(CallerIdentity {
            account: checked(
                "sts",
                OP,
                "Account",
                out.account().ok_or_else(|| missing("sts", OP, "Account"))?,
                custody_ids::AccountId::parse,
            )?,
            arn: checked("sts", OP, "Arn", out.arn().ok_or_else(|| missing("sts", OP, "Arn"))?, arns::principal)?,
            user_id: out.user_id().unwrap_or_default().to_string(),
        })
    }
}

/// Calls AssumeRole once (so a refusal surfaces here, with its code and request id), and returns
/// `base` with credentials that are these, then renewed by calling AssumeRole again through `sts_config`
/// whenever the SDK's identity cache finds them near expiry.
pub(super) async fn assume_role(
    sts_config: &SdkConfig,
    base: &SdkConfig,
    role_arn: &str,
    session: &SessionName,
) -> CloudResult<SdkConfig> {
    let client = aws_sdk_sts::Client::new(sts_config);
    let first = call_assume_role(&client, role_arn, session).await?;
    let provider = AssumedRole {
        client,
        role_arn: role_arn.to_string(),
        session: session.clone(),
        first: Mutex::new(Some(first)),
    };
    Ok(base.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build())
}

async fn call_assume_role(
    client: &aws_sdk_sts::Client,
    role_arn: &str,
    session: &SessionName,
) -> CloudResult<Credentials> {
    const OP: &str = "AssumeRole";
    let out = client
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session.as_str())
        .send()
        .await
        .map_err(|e| sdk_error("sts", OP, e))?;
    let creds = out.credentials().ok_or_else(|| missing("sts", OP, "Credentials"))?;
    let expiry = SystemTime::try_from(*creds.expiration()).ok();
    Ok(Credentials::new(
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_string()),
        expiry,
        "custody-assume-role",
    ))
}

/// The credentials of a role session: the first set, then fresh ones from AssumeRole.
struct AssumedRole {
    client: aws_sdk_sts::Client,
    role_arn: String,
    session: SessionName,
    first: Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for AssumedRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        f.debug_struct("AssumedRole").field("role_arn", &self.role_arn).field("session", &self.session).finish()
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        // The first credentials only while they have a while to live; after that, a new session.
        let fresh = |c: &Credentials| c.expiry().is_none_or(|t| t > SystemTime::now() + Duration::from_secs(300));
        let first = self.first.lock().ok().and_then(|mut slot| slot.take()).filter(fresh);
        match first {
            Some(creds) => future::ProvideCredentials::ready(Ok(creds)),
            None => future::ProvideCredentials::new(async move {
                call_assume_role(&self.client, &self.role_arn, &self.session)
                    .await
                    .map_err(CredentialsError::provider_error)
            }),
        }
    }
}

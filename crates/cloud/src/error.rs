//! Errors of AWS calls: what kind of refusal it was, with AWS's own error code and request id kept.
//!
//! The kind decides what custody does with a failure: `AccessDenied` means "this fact cannot be read
//! with these permissions" (collect marks it unknown), `NotFound` is a fact about the account,
//! `Throttled` is worth a retry later, `Unreachable` and `Unauthenticated` mean AWS could not be asked
//! at all. The code and request id are kept verbatim so a refusal can be looked up in CloudTrail.

use std::fmt;

/// What AWS said about one failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The IAM service prefix: `ec2`, `kms`, `iam`, `sts`, `organizations`.
    pub service: &'static str,
    /// The API operation, e.g. `GetKeyPolicy`.
    pub operation: &'static str,
    /// AWS's error code, e.g. `AccessDeniedException`, `UnauthorizedOperation`, `NoSuchEntity`.
    pub code: Option<String>,
    /// AWS's message (never holds credentials).
    pub message: Option<String>,
    /// The request id, for CloudTrail and AWS support.
    pub request_id: Option<String>,
}

impl ApiError {
    /// An error for `service:operation` with an AWS error code and message.
    pub fn new(service: &'static str, operation: &'static str, code: &str, message: &str) -> Self {
        Self { service, operation, code: Some(code.to_string()), message: Some(message.to_string()), request_id: None }
    }

    /// The action as IAM names it: `kms:GetKeyPolicy`.
    pub fn action(&self) -> String {
        format!("{}:{}", self.service, self.operation)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.action())?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        if let Some(message) = self.message.as_deref().filter(|m| !m.is_empty()) {
            write!(f, ": {message}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

/// A failed AWS call.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The caller's policies (or an SCP, a key policy, …) do not allow the call.
    #[error("access denied: {0}")]
    AccessDenied(ApiError),
    /// The resource does not exist (or is not visible to the caller).
    #[error("not found: {0}")]
    NotFound(ApiError),
    /// AWS throttled the call and the SDK's retries did not get through.
    #[error("throttled: {0}")]
    Throttled(ApiError),
    /// The credentials were refused (invalid, expired, unsigned): AWS does not know who is calling.
    #[error("credentials refused: {0}")]
    Unauthenticated(ApiError),
    /// Any other error AWS answered with.
    #[error("AWS error: {0}")]
    Api(ApiError),
    /// The request never got an answer: no network, no endpoint, no credentials to sign it, a timeout.
    #[error("`{service}:{operation}` did not reach AWS")]
    Unreachable {
        service: &'static str,
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// AWS answered, but not with what the API documents (a field missing, a policy that is not JSON).
    #[error("`{service}:{operation}` answered unexpectedly: {what}")]
    Malformed { service: &'static str, operation: &'static str, what: String },
}

/// Shorthand for results of AWS calls.
pub type CloudResult<T> = Result<T, CloudError>;

/// Error codes that mean the caller is not allowed to make the call.
const ACCESS_DENIED: &[&str] =
    &["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"];

/// Error codes that mean the credentials themselves were refused.
const UNAUTHENTICATED: &[&str] = &[
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "ExpiredToken",
    "ExpiredTokenException",
    "AuthFailure",
    "MissingAuthenticationToken",
    "InvalidAccessKeyId",
];

/// Error codes that mean throttling.
const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
];

/// Error codes that mean "no such resource" beyond the `*.NotFound` family of EC2.
const NOT_FOUND: &[&str] = &[
    "NoSuchEntity",
    "NotFoundException",
    "PolicyNotFoundException",
    "TargetNotFoundException",
    "ChildNotFoundException",
    "ParentNotFoundException",
    "OrganizationalUnitNotFoundException",
    "AccountNotFoundException",
];

/// Error codes of a fault on AWS's side, worth a retry (AWS's common errors `InternalFailure` and
/// `ServiceUnavailable`, <https://docs.aws.amazon.com/ec2/latest/APIReference/CommonErrors.html>;
/// the EBS direct APIs' `InternalServerException`).
const SERVER_FAULT: &[&str] = &["InternalFailure", "InternalError", "InternalServerException", "ServiceUnavailable"];

/// Whether `code` says the caller is not allowed to make the call. The one list for every service
/// custody calls: `custody triage`, imaging and the acquisition all classify through here.
pub fn is_access_denied_code(code: &str) -> bool {
    ACCESS_DENIED.contains(&code)
}

/// Whether `code` says AWS throttled the call (worth a retry after a backoff).
pub fn is_throttling_code(code: &str) -> bool {
    THROTTLED.contains(&code)
}

/// Whether `code` says AWS failed on its side (worth a retry).
pub fn is_server_fault_code(code: &str) -> bool {
    SERVER_FAULT.contains(&code)
}

impl CloudError {
    /// Classifies an error AWS answered with by its code.
    pub fn from_api(error: ApiError) -> Self {
        let code = error.code.as_deref().unwrap_or_default();
        if is_access_denied_code(code) {
            Self::AccessDenied(error)
        } else if UNAUTHENTICATED.contains(&code) {
            Self::Unauthenticated(error)
        } else if is_throttling_code(code) {
            Self::Throttled(error)
        } else if NOT_FOUND.contains(&code) || code.ends_with(".NotFound") {
            Self::NotFound(error)
        } else {
            Self::Api(error)
        }
    }

    /// What AWS said, when it said something.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::AccessDenied(e)
            | Self::NotFound(e)
            | Self::Throttled(e)
            | Self::Unauthenticated(e)
            | Self::Api(e) => Some(e),
            Self::Unreachable { .. } | Self::Malformed { .. } => None,
        }
    }

    /// AWS's error code, e.g. `AccessDeniedException`.
    pub fn code(&self) -> Option<&str> {
        self.api().and_then(|e| e.code.as_deref())
    }

    /// Whether AWS answered with the error code `code`.
    pub fn is_code(&self, code: &str) -> bool {
        self.code() == Some(code)
    }

    /// The request id of the failed call, when AWS answered.
    pub fn request_id(&self) -> Option<&str> {
        self.api().and_then(|e| e.request_id.as_deref())
    }

    /// Whether the caller was refused by authorization (the fact may exist but cannot be read).
    pub fn is_access_denied(&self) -> bool {
        matches!(self, Self::AccessDenied(_))
    }

    /// Whether the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound(_))
    }

    /// Whether AWS could not be asked at all (no network, no or refused credentials): every further
    /// call will fail the same way, so there is no point going on.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Unauthenticated(_))
    }
}

/// `e` and its sources, `: `-separated: the whole story of an error in one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(code: &str) -> CloudError {
        CloudError::from_api(ApiError::new("kms", "GetKeyPolicy", code, "m"))
    }

    #[test]
    fn refusals_are_told_apart_by_code() {
        assert!(classify("AccessDeniedException").is_access_denied());
        assert!(classify("UnauthorizedOperation").is_access_denied());
        assert!(classify("AccessDenied").is_access_denied());
        assert!(classify("NoSuchEntity").is_not_found());
        assert!(classify("InvalidInstanceID.NotFound").is_not_found());
        assert!(classify("NotFoundException").is_not_found());
        assert!(matches!(classify("ThrottlingException"), CloudError::Throttled(_)));
        assert!(matches!(classify("RequestLimitExceeded"), CloudError::Throttled(_)));
        assert!(classify("ExpiredToken").is_fatal());
        assert!(matches!(classify("KMSInvalidStateException"), CloudError::Api(_)));
    }

    #[test]
    fn imaging_and_triage_classify_by_the_same_lists() {
        // Regression: imaging kept its own list, without `RequestLimitExceeded`, and triage its own,
        // without `AuthorizationError` (SNS and SQS say it for an authorization refusal).
        use crate::ebs::{classify::failure_kind, FailureKind};
        for code in THROTTLED {
            assert_eq!(failure_kind(code, Some(400)), FailureKind::Throttled, "{code}");
        }
        for code in SERVER_FAULT {
            assert_eq!(failure_kind(code, Some(400)), FailureKind::Transient, "{code}");
        }
        for code in ACCESS_DENIED {
            assert!(crate::triage::AwsError::new(Some(code), "m").is_access_denied(), "{code}");
            assert!(classify(code).is_access_denied(), "{code}");
            assert_eq!(failure_kind(code, Some(403)), FailureKind::Fatal, "{code}");
        }
    }

    #[test]
    fn display_names_the_action_code_message_and_request_id() {
        let mut e = ApiError::new("kms", "GetKeyPolicy", "AccessDeniedException", "not authorized");
        e.request_id = Some("req-1".into());
        let text = CloudError::AccessDenied(e).to_string();
        assert_eq!(
            text,
            "access denied: `kms:GetKeyPolicy` (AccessDeniedException): not authorized [request id req-1]"
        );
    }
}

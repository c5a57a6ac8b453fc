//! The AWS calls triage makes, behind a trait: EC2 DescribeInstances (platform and tags), SSM
//! SendCommand and GetCommandInvocation, S3 ListObjectsV2 and GetObject for the output.

use crate::script::Platform;
use async_trait::async_trait;
use std::collections::BTreeMap;

/// An error AWS answered with (or a call that got no answer: then `code` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct AwsError {
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
}

impl AwsError {
    pub fn new(code: Option<&str>, message: impl Into<String>) -> AwsError {
        AwsError { code: code.map(str::to_string), message: message.into(), request_id: None }
    }

    /// AccessDenied / AccessDeniedException (SSM says the latter, EC2 and S3 the former).
    pub fn is_access_denied(&self) -> bool {
        matches!(self.code.as_deref(), Some("AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation"))
    }
}

/// What DescribeInstances says of one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    pub id: String,
    pub platform: Platform,
    pub tags: BTreeMap<String, String>,
    /// `running`, `stopped`, …
    pub state: String,
    /// The account of its reservation.
    pub account: Option<String>,
}

/// `s3://bucket/prefix`: the planner's own type, so that what `custody check --triage --output`
/// checks and what `custody triage --output` writes to are parsed and laid out alike.
pub use custody_plan::plan::TriageOutput as S3Location;

/// One SendCommand to one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    pub instance_id: String,
    pub document: String,
    pub commands: Vec<String>,
    /// The document's `executionTimeout`, seconds.
    pub execution_timeout: u64,
    pub output: Option<S3Location>,
    pub comment: String,
}

/// An invocation's state, as GetCommandInvocation answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invocation {
    /// Pending, InProgress, Delayed, Success, Cancelled, TimedOut, Failed, Cancelling.
    pub status: String,
    pub status_details: Option<String>,
    /// -1 until the command ran.
    pub response_code: i64,
    /// The first 24,000 characters of stdout.
    pub stdout: String,
    /// The first 8,000 characters of stderr.
    pub stderr: String,
}

impl Invocation {
    /// The status is final: Success, Cancelled, TimedOut or Failed (GetCommandInvocation's
    /// `Status`; `Cancelling`, `Delayed`, `Pending` and `InProgress` move on).
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "Success" | "Cancelled" | "TimedOut" | "Failed")
    }
}

/// An object listed under a command's output prefix (ListObjectsV2 `Contents`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    pub key: String,
    /// `Size`, as listed (the instance's to choose: checked again while downloading).
    pub size: Option<i64>,
    pub etag: Option<String>,
}

/// What GetObject said of the object it streamed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectMeta {
    pub etag: Option<String>,
    pub version_id: Option<String>,
}

/// A command ListCommands knows (what custody reads of it to find a command it sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCommand {
    pub command_id: String,
    pub document: String,
    pub comment: String,
    pub instance_ids: Vec<String>,
}

/// Why an object was not fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Custody refused it (larger than the cap) or could not write it to disk.
    #[error("{0}")]
    Refused(String),
}

/// The AWS calls of a triage.
#[async_trait]
pub trait TriageAws: Send + Sync {
    /// The instances `ids`, or those carrying `tag` when `ids` is empty.
    async fn describe_instances(
        &self,
        ids: &[String],
        tag: Option<(&str, &str)>,
    ) -> Result<Vec<InstanceInfo>, AwsError>;
    /// Sends the command; answers its command id.
    async fn send_command(&self, request: &SendRequest) -> Result<String, AwsError>;
    /// The invocation, or `None` while SSM does not know it yet (`InvocationDoesNotExist`, which
    /// GetCommandInvocation answers for a moment after SendCommand).
    async fn get_invocation(&self, command_id: &str, instance_id: &str) -> Result<Option<Invocation>, AwsError>;
    /// The commands of `document` requested since `since` (ListCommands, filtered by DocumentName and
    /// InvokedAfter, at most [`crate::run::LOOKUP_MAX_COMMANDS`]): how a resumed triage finds a
    /// command whose SendCommand answer was never journaled.
    async fn list_commands(
        &self,
        document: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ListedCommand>, AwsError>;
    /// The objects under `prefix`, at most `max` (more: the first `max` and `true`).
    async fn list_objects(&self, bucket: &str, prefix: &str, max: usize) -> Result<(Vec<S3Object>, bool), AwsError>;
    /// Streams the object into `to`, which refuses more than its cap.
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        to: &mut crate::download::Download,
    ) -> Result<ObjectMeta, FetchError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_locations_parse() {
        let l = S3Location::parse("s3://evidence-bucket/ir-7/triage/").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("evidence-bucket", "ir-7/triage"));
        assert_eq!(l.command_prefix("c1", "i-1"), "ir-7/triage/c1/i-1/");
        let bare = S3Location::parse("s3://evidence-bucket").unwrap();
        assert_eq!(bare.command_prefix("c1", "i-1"), "c1/i-1/");
        for bad in ["evidence", "s3://", "s3://Upper/x", "s3://a/x", "https://b/x"] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
    }
}

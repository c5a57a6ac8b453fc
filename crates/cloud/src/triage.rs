//! The AWS calls a triage makes, behind a trait: EC2 DescribeInstances (platform and tags), SSM
//! SendCommand, GetCommandInvocation and ListCommands, S3 ListObjectsV2 and GetObject for the
//! output. [`sdk::SdkTriage`] implements it on aws-sdk-rust; the triage crate's tests implement it
//! to inject what instances and AWS may answer.

pub mod sdk;

use async_trait::async_trait;
use std::collections::BTreeMap;

pub use sdk::SdkTriage;

/// The most commands [`TriageAws::list_commands`] returns: a resumed triage looks its command up
/// among them.
pub const LOOKUP_MAX_COMMANDS: usize = 1000;

/// What DescribeInstances says an instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Linux,
    Windows,
}

impl Platform {
    /// The AWS-owned document that runs the script.
    pub fn document(self) -> &'static str {
        match self {
            Platform::Linux => "AWS-RunShellScript",
            Platform::Windows => "AWS-RunPowerShellScript",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Linux => "linux",
            Platform::Windows => "windows",
        }
    }
}

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

    /// A refusal by authorization (`AccessDeniedException` from SSM, `AccessDenied` from S3,
    /// `UnauthorizedOperation` from EC2, …: the boundary's one list, `crate::error`).
    pub fn is_access_denied(&self) -> bool {
        self.code.as_deref().is_some_and(crate::error::is_access_denied_code)
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

/// Where SendCommand has the SSM agent write a command's output: `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLocation {
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (empty: the bucket's root).
    pub prefix: String,
}

/// One SendCommand to one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    pub instance_id: String,
    pub document: String,
    pub commands: Vec<String>,
    /// The document's `executionTimeout`, seconds.
    pub execution_timeout: u64,
    pub output: Option<OutputLocation>,
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

/// Where [`TriageAws::get_object`] streams an object to.
pub trait ObjectSink: Send {
    /// The object's size as GetObject announced it (`Content-Length`), before any byte.
    fn announce(&mut self, size: Option<i64>) -> Result<(), FetchError>;
    /// The next bytes of the object.
    fn write(&mut self, chunk: &[u8]) -> Result<(), FetchError>;
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
    /// InvokedAfter, at most [`LOOKUP_MAX_COMMANDS`]): how a resumed triage finds a
    /// command whose SendCommand answer was never journaled.
    async fn list_commands(
        &self,
        document: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ListedCommand>, AwsError>;
    /// The objects under `prefix`, at most `max` (more: the first `max` and `true`).
    async fn list_objects(&self, bucket: &str, prefix: &str, max: usize) -> Result<(Vec<S3Object>, bool), AwsError>;
    /// Streams the object into `to`, which may refuse it (more than its cap).
    async fn get_object(&self, bucket: &str, key: &str, to: &mut dyn ObjectSink) -> Result<ObjectMeta, FetchError>;
}

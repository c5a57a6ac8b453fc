//! The two EBS direct API calls imaging needs, behind a trait: the SDK adapter ([`crate::sdk`])
//! implements it for AWS, tests implement it to inject faults (a block failing twice, a wrong
//! checksum, throttling, a run killed after N blocks).

use async_trait::async_trait;

/// The size of every snapshot block the EBS direct APIs serve: 512 KiB. A block index is the
/// logical offset divided by 524288 (EBS User Guide, "Concepts for EBS direct APIs", Block indexes).
pub const BLOCK_SIZE: u64 = 524_288;

/// One GiB, the unit of `VolumeSize` in a ListSnapshotBlocks answer.
pub const GIB: u64 = 1 << 30;

/// One page of ListSnapshotBlocks, as AWS answered it (checked by the caller, not here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockPage {
    /// The blocks that hold data: index and the token GetSnapshotBlock needs.
    pub blocks: Vec<ListedBlock>,
    /// `VolumeSize`, in GiB.
    pub volume_size_gib: Option<i64>,
    /// `BlockSize`, in bytes.
    pub block_size: Option<i32>,
    pub next_token: Option<String>,
    pub request_id: Option<String>,
}

/// A block of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBlock {
    pub index: i32,
    pub token: String,
}

/// One GetSnapshotBlock answer, as AWS gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedBlock {
    pub data: Vec<u8>,
    /// `x-amz-Checksum`: base64 of the SHA-256 of `data`.
    pub checksum: Option<String>,
    /// `x-amz-Checksum-Algorithm`: `SHA256` is the only value AWS documents.
    pub checksum_algorithm: Option<String>,
    /// `x-amz-Data-Length`.
    pub data_length: Option<i32>,
}

/// How a failed call may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// ThrottlingException, RequestThrottledException, HTTP 429: back off and retry.
    Throttled,
    /// 5xx, InternalServerException, a connection or timeout failure: retry.
    Transient,
    /// Everything else (access denied, no such snapshot, validation): retrying cannot help.
    Fatal,
}

/// A call that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {message}{}", request_id.as_deref().map(|r| format!(" (request id {r})")).unwrap_or_default())]
pub struct SourceError {
    pub kind: FailureKind,
    pub operation: &'static str,
    /// AWS's error code and message, or the transport's.
    pub message: String,
    pub request_id: Option<String>,
}

impl SourceError {
    pub fn new(kind: FailureKind, operation: &'static str, message: impl Into<String>) -> Self {
        SourceError { kind, operation, message: message.into(), request_id: None }
    }
}

/// The EBS direct API reads of one snapshot.
#[async_trait]
pub trait SnapshotBlocks: Send + Sync {
    /// ListSnapshotBlocks: the page after `next_token` (the first page when `None`).
    async fn list_blocks(&self, snapshot_id: &str, next_token: Option<&str>) -> Result<BlockPage, SourceError>;

    /// GetSnapshotBlock.
    async fn get_block(&self, snapshot_id: &str, index: i32, token: &str) -> Result<FetchedBlock, SourceError>;
}

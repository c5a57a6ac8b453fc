//! The two EBS direct API calls imaging needs, behind a trait: the SDK adapter ([`sdk`])
//! implements it for AWS, tests implement it to inject faults (a block failing twice, a wrong
//! checksum, throttling, a run killed after N blocks).

pub(crate) mod classify;
pub(crate) mod direct;
pub mod sdk;
pub(crate) mod skew;

pub use sdk::SdkSnapshotBlocks;

/// How GetSnapshotBlock answers read directly (not through the SDK) are parsed, error answers
/// included; public for the fuzz targets.
pub mod answers {
    pub use super::direct::{block_answer, failure as error_answer};

    /// AWS's clock minus this machine's, in milliseconds, as an answer's `Date` header shows it (how
    /// every answer is read, `skew`).
    pub fn clock_offset(
        sent: std::time::SystemTime,
        received: std::time::SystemTime,
        headers: &http::HeaderMap,
    ) -> Option<i64> {
        super::skew::ClockSkew::default()
            .observe(sent, received, |name| headers.get(name).and_then(|v| v.to_str().ok()))
    }
}

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

/// A block's bytes in the pieces the response body arrived in. They are hashed and written as they
/// are: gathering 512 KiB into one buffer would cost a copy and an allocation per block, for nothing.
#[derive(Clone, Default)]
pub struct BlockData {
    parts: Vec<bytes::Bytes>,
    len: usize,
}

/// Equal when the bytes are, however they were split.
impl PartialEq for BlockData {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.bytes().eq(other.bytes())
    }
}

impl Eq for BlockData {}

/// The length and the pieces, not 512 KiB of bytes.
impl std::fmt::Debug for BlockData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlockData({} bytes in {} parts)", self.len, self.parts.len())
    }
}

impl BlockData {
    pub fn from_parts(parts: impl IntoIterator<Item = bytes::Bytes>) -> Self {
        let parts: Vec<bytes::Bytes> = parts.into_iter().filter(|p| !p.is_empty()).collect();
        let len = parts.iter().map(bytes::Bytes::len).sum();
        BlockData { parts, len }
    }

    pub fn parts(&self) -> &[bytes::Bytes] {
        &self.parts
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.parts.iter().flat_map(|part| part.iter().copied())
    }

    /// The bytes in one buffer (a copy).
    pub fn to_vec(&self) -> Vec<u8> {
        self.parts.concat()
    }
}

impl From<Vec<u8>> for BlockData {
    fn from(data: Vec<u8>) -> Self {
        BlockData::from_parts([bytes::Bytes::from(data)])
    }
}

/// One GetSnapshotBlock answer, as AWS gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedBlock {
    pub data: BlockData,
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

//! Listing and reading blocks with retries, and the checks every answer must pass.
//!
//! - The listing: every page must say `BlockSize` 524288 and the same `VolumeSize`; every index must
//!   fall inside the volume and appear once; a `NextToken` must not come back. Anything else is
//!   refused: an image built on a listing we do not understand could put data at the wrong offset.
//! - A block: `DataLength` must be 524288, the body exactly that long, the algorithm `SHA256`, and the
//!   SHA-256 of the body must equal the base64 checksum AWS sent. A mismatch or a short body is read
//!   again (the EBS user guide says to consider such data not valid and retry); if it persists the
//!   image fails.
//! - Throttling and transient failures back off exponentially with jitter, capped.
//!
//! Where the rules come from (AWS documentation):
//! - Block size and indexes: EBS User Guide, "Concepts for EBS direct APIs", Block indexes ("a logical
//!   index in units of 512 KiB blocks … logical offset of data/524288"),
//!   <https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-elements.html>.
//! - `VolumeSize` (GiB), `BlockSize` (bytes), `NextToken` (null when there are no more blocks):
//!   EBS API Reference, ListSnapshotBlocks,
//!   <https://docs.aws.amazon.com/ebs/latest/APIReference/API_ListSnapshotBlocks.html>; `BlockIndex`
//!   minimum 0: EBS API Reference, Block, <https://docs.aws.amazon.com/ebs/latest/APIReference/API_Block.html>.
//! - A volume is at most 64 TiB (65,536 GiB; io2 Block Express, the largest): EBS User Guide,
//!   "Amazon EBS volume constraints", <https://docs.aws.amazon.com/ebs/latest/userguide/volume_constraints.html>.
//!   A larger `VolumeSize` is refused; every size and offset below follows from one within it, and is
//!   computed with checked arithmetic all the same.
//! - Indexes are unique and in numerical order: EBS User Guide, "Frequently asked questions for EBS
//!   direct APIs", <https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-faq.html>.
//! - `x-amz-Data-Length`, `x-amz-Checksum` (base64 SHA-256), `x-amz-Checksum-Algorithm` (`SHA256`):
//!   EBS API Reference, GetSnapshotBlock,
//!   <https://docs.aws.amazon.com/ebs/latest/APIReference/API_GetSnapshotBlock.html>.

use crate::error::ImageError;
use base64::Engine as _;
use custody_cloud::ebs::{BlockData, FailureKind, ListedBlock, SnapshotBlocks, SourceError, BLOCK_SIZE, GIB};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// The largest EBS volume, in GiB: 64 TiB (EBS User Guide, "Amazon EBS volume constraints",
/// <https://docs.aws.amazon.com/ebs/latest/userguide/volume_constraints.html>).
pub const MAX_VOLUME_SIZE_GIB: u64 = 65_536;

/// The byte offset of block `index`; `None` when it would not fit in 64 bits (an index no volume
/// within [`MAX_VOLUME_SIZE_GIB`] has).
pub fn block_offset(index: u64) -> Option<u64> {
    index.checked_mul(BLOCK_SIZE)
}

/// How often and how patiently calls are retried (the AWS boundary's one policy).
pub use custody_cloud::retry::RetryPolicy;

/// The whole listing of a snapshot, checked.
#[derive(Debug, Clone)]
pub struct Listing {
    pub volume_size_gib: u64,
    /// Blocks with data, in index order.
    pub blocks: Vec<ListedBlock>,
    /// The request id of each ListSnapshotBlocks page.
    pub request_ids: Vec<String>,
}

impl Listing {
    /// The volume's size in bytes (saturated: [`list_all`] refuses a size over
    /// [`MAX_VOLUME_SIZE_GIB`], so only a `Listing` built by hand could reach the limit).
    pub fn volume_bytes(&self) -> u64 {
        self.volume_size_gib.saturating_mul(GIB)
    }
    pub fn volume_blocks(&self) -> u64 {
        self.volume_bytes() / BLOCK_SIZE
    }
}

/// An optional number as a message shows it: the number, or "none".
fn shown<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "none".to_string(), |v| v.to_string())
}

/// Runs `call` until it succeeds, fails fatally or runs out of attempts.
async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    salt: u64,
    context: &(dyn Fn() -> String + Sync),
    mut call: F,
) -> Result<T, ImageError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SourceError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if e.kind != FailureKind::Fatal && attempt < policy.max_attempts => {
                tokio::time::sleep(policy.delay(attempt, salt)).await;
            }
            Err(source) => return Err(ImageError::Source { context: context(), attempts: attempt, source }),
        }
    }
}

/// ListSnapshotBlocks, every page, checked.
pub async fn list_all(
    source: &dyn SnapshotBlocks,
    snapshot_id: &str,
    policy: &RetryPolicy,
) -> Result<Listing, ImageError> {
    let mut volume_size_gib: Option<u64> = None;
    let mut blocks = Vec::new();
    let mut seen = BTreeSet::new();
    let mut request_ids = Vec::new();
    let mut token: Option<String> = None;
    let mut tokens_seen = BTreeSet::new();
    loop {
        let context = || format!("listing the blocks of {snapshot_id}");
        let page = with_retries(policy, 0, &context, || source.list_blocks(snapshot_id, token.as_deref())).await?;
        if page.block_size != Some(BLOCK_SIZE as i32) {
            return Err(ImageError::Inconsistent(format!(
                "ListSnapshotBlocks of {snapshot_id} says BlockSize {}; the EBS direct APIs serve blocks of {BLOCK_SIZE} bytes",
                shown(page.block_size)
            )));
        }
        let size = match page.volume_size_gib.map(u64::try_from) {
            Some(Ok(s)) if (1..=MAX_VOLUME_SIZE_GIB).contains(&s) => s,
            _ => {
                return Err(ImageError::Inconsistent(format!(
                    "ListSnapshotBlocks of {snapshot_id} says VolumeSize {}; expected a size in GiB from 1 to {MAX_VOLUME_SIZE_GIB} (64 TiB, the largest EBS volume)",
                    shown(page.volume_size_gib)
                )))
            }
        };
        if volume_size_gib.is_some_and(|v| v != size) {
            return Err(ImageError::Inconsistent(format!(
                "ListSnapshotBlocks of {snapshot_id}: VolumeSize changed between pages ({} GiB, then {size} GiB)",
                shown(volume_size_gib)
            )));
        }
        volume_size_gib = Some(size);
        // At most 65,536 GiB: neither product can overflow; saturating all the same.
        let volume_blocks = size.saturating_mul(GIB / BLOCK_SIZE);
        for block in page.blocks {
            if u64::try_from(block.index).map_or(true, |index| index >= volume_blocks) {
                return Err(ImageError::Inconsistent(format!(
                    "ListSnapshotBlocks of {snapshot_id} lists block {} outside a volume of {size} GiB ({volume_blocks} blocks)",
                    block.index
                )));
            }
            if !seen.insert(block.index) {
                return Err(ImageError::Inconsistent(format!(
                    "ListSnapshotBlocks of {snapshot_id} lists block {} twice",
                    block.index
                )));
            }
            blocks.push(block);
        }
        request_ids.extend(page.request_id);
        match page.next_token {
            Some(next) if !next.is_empty() => {
                if !tokens_seen.insert(next.clone()) {
                    return Err(ImageError::Inconsistent(format!(
                        "ListSnapshotBlocks of {snapshot_id} returned the same NextToken twice (`{next}`); following it would list the same blocks forever"
                    )));
                }
                token = Some(next);
            }
            _ => break,
        }
    }
    let volume_size_gib = volume_size_gib.unwrap_or(0);
    // AWS lists in index order; sorting costs nothing and removes the assumption.
    blocks.sort_by_key(|b| b.index);
    Ok(Listing { volume_size_gib, blocks, request_ids })
}

/// A block read and checked: its data and its SHA-256 (what AWS's checksum decodes to).
#[derive(Debug, Clone)]
pub struct VerifiedBlock {
    pub index: u64,
    pub data: BlockData,
    pub sha256: [u8; 32],
}

/// A block whose answer passed every check but the hash: its data, and the SHA-256 AWS says it has.
/// The image writer hashes it, in one pass with the image's own hash (crate custody-sha256).
#[derive(Debug, Clone)]
pub struct ArrivedBlock {
    pub index: u64,
    pub data: BlockData,
    pub expected_sha256: [u8; 32],
    /// AWS's checksum as sent (base64), for messages.
    pub checksum: String,
}

impl ArrivedBlock {
    /// The block as checked, once its SHA-256 was found equal to AWS's.
    pub fn verified(self) -> VerifiedBlock {
        VerifiedBlock { index: self.index, data: self.data, sha256: self.expected_sha256 }
    }
}

/// Why one read of a block was not accepted.
enum ReadProblem {
    /// The data does not hash to AWS's checksum: worth reading again.
    Mismatch {
        expected: String,
        actual: String,
    },
    /// The body is not as long as `DataLength` says (a truncated transfer, as far as we can tell):
    /// worth reading again.
    BodyLength {
        received: usize,
    },
    Refuse(String),
}

/// Every check of a GetSnapshotBlock answer but the hash.
fn check_answer(
    snapshot_id: &str,
    index: u64,
    block: custody_cloud::ebs::FetchedBlock,
) -> Result<ArrivedBlock, ReadProblem> {
    let where_ = || format!("GetSnapshotBlock of {snapshot_id} block {index}");
    match block.checksum_algorithm.as_deref() {
        Some("SHA256") => {}
        other => {
            return Err(ReadProblem::Refuse(format!("{}: checksum algorithm {other:?}, expected SHA256", where_())))
        }
    }
    if block.data_length != Some(BLOCK_SIZE as i32) {
        return Err(ReadProblem::Refuse(format!(
            "{}: DataLength {}, expected {BLOCK_SIZE} (every block is 512 KiB)",
            where_(),
            shown(block.data_length)
        )));
    }
    let Some(checksum) = block.checksum else {
        return Err(ReadProblem::Refuse(format!("{}: no checksum", where_())));
    };
    let decoded = base64::engine::general_purpose::STANDARD.decode(&checksum).ok();
    let Some(expected_sha256) = decoded.and_then(|bytes| <[u8; 32]>::try_from(bytes).ok()) else {
        return Err(ReadProblem::Refuse(format!("{}: checksum `{checksum}` is not a base64 SHA-256", where_())));
    };
    if block.data.len() as u64 != BLOCK_SIZE {
        return Err(ReadProblem::BodyLength { received: block.data.len() });
    }
    Ok(ArrivedBlock { index, data: block.data, expected_sha256, checksum })
}

/// A listed block's index and byte offset; a negative index (which [`list_all`] refuses) is refused
/// here too, for a block that did not come from it.
fn index_and_offset(snapshot_id: &str, block: &ListedBlock) -> Result<(u64, u64), ImageError> {
    u64::try_from(block.index)
        .ok()
        .and_then(|index| Some((index, block_offset(index)?)))
        .ok_or_else(|| ImageError::Inconsistent(format!("{snapshot_id}: block index {} is negative", block.index)))
}

/// GetSnapshotBlock with retries and every check but the hash, which the caller makes (the image
/// writer, in one pass with the image hash; a mismatch it finds goes to [`read_again_after_mismatch`]).
pub async fn fetch_block(
    source: &dyn SnapshotBlocks,
    snapshot_id: &str,
    block: &ListedBlock,
    policy: &RetryPolicy,
) -> Result<ArrivedBlock, ImageError> {
    read_checked(source, snapshot_id, block, policy, 0, false).await
}

/// GetSnapshotBlock with retries, checked, hashed here.
pub async fn read_block(
    source: &dyn SnapshotBlocks,
    snapshot_id: &str,
    block: &ListedBlock,
    policy: &RetryPolicy,
) -> Result<VerifiedBlock, ImageError> {
    Ok(read_checked(source, snapshot_id, block, policy, 0, true).await?.verified())
}

/// The caller found that a block [`fetch_block`] returned does not hash to AWS's checksum: the block
/// is read again and hashed here, that first mismatch counting as one of `policy.checksum_attempts`.
pub async fn read_again_after_mismatch(
    source: &dyn SnapshotBlocks,
    snapshot_id: &str,
    block: &ListedBlock,
    policy: &RetryPolicy,
    expected: String,
    actual: [u8; 32],
) -> Result<VerifiedBlock, ImageError> {
    let (index, offset) = index_and_offset(snapshot_id, block)?;
    if policy.checksum_attempts <= 1 {
        let actual = base64::engine::general_purpose::STANDARD.encode(actual);
        return Err(ImageError::ChecksumMismatch { index, offset, attempts: 1, expected, actual });
    }
    Ok(read_checked(source, snapshot_id, block, policy, 1, true).await?.verified())
}

/// Reads until an answer passes the checks (the hash too when `hash_here`), `failed_before` reads of
/// this block having been refused already.
async fn read_checked(
    source: &dyn SnapshotBlocks,
    snapshot_id: &str,
    block: &ListedBlock,
    policy: &RetryPolicy,
    failed_before: u32,
    hash_here: bool,
) -> Result<ArrivedBlock, ImageError> {
    let (index, offset) = index_and_offset(snapshot_id, block)?;
    let mut mismatches = failed_before;
    loop {
        let context = || format!("{snapshot_id} block {index} (offset {offset})");
        let fetched =
            with_retries(policy, index, &context, || source.get_block(snapshot_id, block.index, &block.token)).await?;
        let problem = match check_answer(snapshot_id, index, fetched) {
            Ok(arrived) if !hash_here => return Ok(arrived),
            Ok(arrived) => {
                let mut hasher = Sha256::new();
                for part in arrived.data.parts() {
                    hasher.update(part);
                }
                let actual: [u8; 32] = hasher.finalize().into();
                if actual == arrived.expected_sha256 {
                    return Ok(arrived);
                }
                ReadProblem::Mismatch {
                    expected: arrived.checksum,
                    actual: base64::engine::general_purpose::STANDARD.encode(actual),
                }
            }
            Err(problem) => problem,
        };
        match problem {
            ReadProblem::Refuse(why) => return Err(ImageError::Inconsistent(why)),
            ReadProblem::Mismatch { expected, actual } => {
                mismatches += 1;
                if mismatches >= policy.checksum_attempts {
                    return Err(ImageError::ChecksumMismatch { index, offset, attempts: mismatches, expected, actual });
                }
            }
            ReadProblem::BodyLength { received } => {
                mismatches += 1;
                if mismatches >= policy.checksum_attempts {
                    return Err(ImageError::Inconsistent(format!(
                        "GetSnapshotBlock of {snapshot_id} block {index}: the body is {received} bytes where DataLength says {BLOCK_SIZE}, on each of {mismatches} reads; nothing of this block was written"
                    )));
                }
            }
        }
    }
}

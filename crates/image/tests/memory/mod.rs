//! A snapshot held in memory behind [`SnapshotBlocks`], answering as the EBS direct APIs document:
//! for the tests that need no AWS at all (hostile answers, file safety, fuzzing).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: each test crate uses a part of it, and fails loudly"
)]

use base64::Engine as _;
use custody_image::{
    BlockData, BlockPage, ExtraHashes, FailureKind, FetchedBlock, ImageRequest, ListedBlock, ManifestContext,
    RetryPolicy, SnapshotBlocks, SourceError, BLOCK_SIZE,
};
use sha2::{Digest as _, Sha256};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub const SNAPSHOT: &str = "snap-0123456789abcdef0";

/// Rewrites a listing page, given the NextToken it was asked with.
pub type PageRewrite = Box<dyn FnMut(Option<&str>, &mut BlockPage) + Send>;
/// Answers GetSnapshotBlock of an index instead of the snapshot.
pub type BlockAnswer = Box<dyn FnMut(i32) -> Result<FetchedBlock, SourceError> + Send>;

pub struct Memory {
    pub volume_size_gib: i64,
    pub blocks: Vec<(i32, Vec<u8>)>,
    /// After this many blocks were served, every read fails fatally (a run stopped part way).
    pub stop_after: Option<u64>,
    /// Every page of the listing is rewritten by this, when set.
    pub rewrite_page: Mutex<Option<PageRewrite>>,
    /// Every block answer is replaced by this, when set.
    pub answer: Mutex<Option<BlockAnswer>>,
    pub served: AtomicU64,
}

impl Memory {
    /// A 1 GiB snapshot with data in blocks 0 and 5.
    pub fn small() -> Memory {
        Memory::new(1, vec![(0, block(1)), (5, block(2))])
    }

    pub fn new(volume_size_gib: i64, blocks: Vec<(i32, Vec<u8>)>) -> Memory {
        Memory {
            volume_size_gib,
            blocks,
            stop_after: None,
            rewrite_page: Mutex::new(None),
            answer: Mutex::new(None),
            served: AtomicU64::new(0),
        }
    }
}

/// A block of a repeated byte.
pub fn block(byte: u8) -> Vec<u8> {
    vec![byte; BLOCK_SIZE as usize]
}

/// The answer AWS gives for `data`.
pub fn answer_for(data: &[u8]) -> FetchedBlock {
    FetchedBlock {
        data: BlockData::from(data.to_vec()),
        checksum: Some(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data))),
        checksum_algorithm: Some("SHA256".into()),
        data_length: Some(data.len() as i32),
    }
}

#[async_trait::async_trait]
impl SnapshotBlocks for Memory {
    async fn list_blocks(&self, _snapshot_id: &str, next_token: Option<&str>) -> Result<BlockPage, SourceError> {
        let mut page = BlockPage {
            blocks: self.blocks.iter().map(|(i, _)| ListedBlock { index: *i, token: format!("t{i}") }).collect(),
            volume_size_gib: Some(self.volume_size_gib),
            block_size: Some(BLOCK_SIZE as i32),
            next_token: None,
            request_id: Some("list-1".into()),
        };
        if let Some(rewrite) = self.rewrite_page.lock().unwrap().as_mut() {
            rewrite(next_token, &mut page);
        }
        Ok(page)
    }

    async fn get_block(&self, _snapshot_id: &str, index: i32, _token: &str) -> Result<FetchedBlock, SourceError> {
        if let Some(answer) = self.answer.lock().unwrap().as_mut() {
            return answer(index);
        }
        if self.stop_after.is_some_and(|n| self.served.load(Ordering::SeqCst) >= n) {
            return Err(SourceError::new(FailureKind::Fatal, "ebs:GetSnapshotBlock", "stopped by the test"));
        }
        self.served.fetch_add(1, Ordering::SeqCst);
        let data = self.blocks.iter().find(|(i, _)| *i == index).map(|(_, d)| d.clone()).unwrap();
        Ok(answer_for(&data))
    }
}

/// Retries that do not wait.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        checksum_attempts: 2,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(1),
    }
}

pub fn request(snapshot_id: &str, out_dir: &Path) -> ImageRequest {
    ImageRequest {
        snapshot_id: snapshot_id.to_string(),
        out_dir: out_dir.to_path_buf(),
        workers: 2,
        extra_hashes: ExtraHashes::default(),
        retry: quick_retries(),
        context: ManifestContext { custody_version: "test".into(), ..ManifestContext::default() },
    }
}

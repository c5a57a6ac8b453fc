//! Answers that contradict the EBS direct API contract are refused, by name, and no image appears.
//!
//! moto (127.0.0.1 only) serves a real snapshot; the [`Faulty`] wrapper rewrites its answers through the
//! [`custody_image::SnapshotBlocks`] trait into what the documentation rules out. Each test cites the
//! AWS page that states the rule it breaks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::support;

use custody_image::{
    image_snapshot, ExtraHashes, ImageError, ImagePaths, ImageRequest, ManifestContext, NoProgress, RetryPolicy,
    SdkSnapshotBlocks, BLOCK_SIZE, GIB,
};
use std::sync::Arc;
use std::time::Duration;
use support::{pattern_block, upload, Faults, Faulty, MotoEbs};

/// Rewrites a ListSnapshotBlocks page, given the NextToken it was asked with.
type PageRewrite = fn(Option<&str>, &mut custody_image::BlockPage);
/// Rewrites a GetSnapshotBlock answer, given the block index.
type BlockRewrite = fn(i32, &mut custody_image::FetchedBlock);

/// A 1 GiB snapshot (2048 blocks) with data in blocks 0, 1 and 2, served by moto.
async fn snapshot() -> (MotoEbs, String) {
    let moto = MotoEbs::start().await;
    let blocks: Vec<(i32, Vec<u8>)> = (0..3).map(|i| (i, pattern_block(500 + i as u64))).collect();
    let snapshot_id = upload(&moto.sdk_config().await, 1, &blocks).await;
    (moto, snapshot_id)
}

/// What a refused run left behind.
struct Refused {
    message: String,
    paths: ImagePaths,
    source: Arc<Faulty>,
    _dir: tempfile::TempDir,
}

impl Refused {
    /// The indexes the checkpoint holds (blocks written and synced before the refusal).
    fn checkpointed(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.paths.checkpoint).unwrap_or_default();
        text.lines().skip(1).map(|l| l.split(' ').next().unwrap().to_string()).collect()
    }
}

/// Images the snapshot through `faults` with one worker; the run must be refused as inconsistent,
/// leaving no image and no manifest.
async fn refused(moto: &MotoEbs, snapshot_id: &str, faults: Faults) -> Refused {
    let dir = tempfile::tempdir().unwrap();
    let request = ImageRequest {
        snapshot_id: snapshot_id.to_string(),
        out_dir: dir.path().to_path_buf(),
        workers: 1,
        extra_hashes: ExtraHashes::default(),
        retry: RetryPolicy {
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            ..RetryPolicy::default()
        },
        context: ManifestContext { custody_version: "test".into(), ..ManifestContext::default() },
    };
    let source = Faulty::new(Arc::new(SdkSnapshotBlocks::new(&moto.sdk_config().await)), faults);
    let result = image_snapshot(source.clone(), &request, Arc::new(NoProgress)).await;
    let message = match result {
        Err(e @ ImageError::Inconsistent(_)) => e.to_string(),
        Err(other) => panic!("expected a refusal of an inconsistent answer, got: {other}"),
        Ok(outcome) => panic!("an inconsistent answer was imaged: {}", outcome.paths.image.display()),
    };
    assert!(message.starts_with("refusing an inconsistent answer: "), "{message}");
    let paths = ImagePaths::new(dir.path(), snapshot_id);
    for path in [&paths.image, &paths.manifest_json, &paths.manifest_text, &paths.blocks] {
        assert!(!path.exists(), "{} must not exist after a refusal", path.display());
    }
    Refused { message, paths, source, _dir: dir }
}

/// A listing refusal happens before anything is read or written: no partial file, no block read.
fn assert_nothing_read(refused: &Refused) {
    assert!(!refused.paths.partial.exists() && !refused.paths.checkpoint.exists(), "{}", refused.message);
    assert_eq!(refused.source.calls(), 0, "no GetSnapshotBlock after a refused listing");
}

// EBS User Guide, "Concepts for EBS direct APIs", Block indexes: a block index is "in units of 512 KiB
// blocks … logical offset of data/524288"
// (https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-elements.html); ListSnapshotBlocks'
// `BlockSize` is "the size of the blocks in the snapshot, in bytes"
// (https://docs.aws.amazon.com/ebs/latest/APIReference/API_ListSnapshotBlocks.html).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_size_other_than_512_kib_is_refused() {
    let (moto, snapshot_id) = snapshot().await;
    // 512 is what moto 5.2.1 itself says before moto_ebs.py corrects it; then an absent BlockSize.
    let cases: [(PageRewrite, &str); 2] = [
        (|_, page| page.block_size = Some(512), "says BlockSize 512; the EBS direct APIs serve blocks of 524288 bytes"),
        (|_, page| page.block_size = None, "says BlockSize none; the EBS direct APIs serve blocks of 524288 bytes"),
    ];
    for (rewrite, expected) in cases {
        let r = refused(&moto, &snapshot_id, Faults { rewrite_page: Some(rewrite), ..Faults::default() }).await;
        assert!(r.message.contains(&format!("ListSnapshotBlocks of {snapshot_id} {expected}")), "{}", r.message);
        assert_nothing_read(&r);
    }
}

// A block index is offset / 524288 and `VolumeSize` is in GiB (ListSnapshotBlocks,
// https://docs.aws.amazon.com/ebs/latest/APIReference/API_ListSnapshotBlocks.html; Block indexes,
// https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-elements.html), so a 1 GiB volume has blocks
// 0..=2047; `BlockIndex` has a minimum value of 0 (Block,
// https://docs.aws.amazon.com/ebs/latest/APIReference/API_Block.html).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_index_outside_the_volume_is_refused() {
    let (moto, snapshot_id) = snapshot().await;
    assert_eq!(GIB / BLOCK_SIZE, 2048);
    let cases: [(PageRewrite, &str); 2] = [
        (|_, page| page.blocks[2].index = 2048, "lists block 2048 outside a volume of 1 GiB (2048 blocks)"),
        (|_, page| page.blocks[0].index = -1, "lists block -1 outside a volume of 1 GiB (2048 blocks)"),
    ];
    for (rewrite, expected) in cases {
        let r = refused(&moto, &snapshot_id, Faults { rewrite_page: Some(rewrite), ..Faults::default() }).await;
        assert!(r.message.contains(&format!("ListSnapshotBlocks of {snapshot_id} {expected}")), "{}", r.message);
        assert_nothing_read(&r);
    }
}

// "The block indexes returned are unique, and in numerical order": EBS User Guide, "Frequently asked
// questions for EBS direct APIs" (https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-faq.html).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_listed_twice_is_refused() {
    let (moto, snapshot_id) = snapshot().await;
    let rewrite: PageRewrite = |_, page| {
        let again = page.blocks[1].clone();
        page.blocks.push(again);
    };
    let r = refused(&moto, &snapshot_id, Faults { rewrite_page: Some(rewrite), ..Faults::default() }).await;
    assert!(r.message.contains(&format!("ListSnapshotBlocks of {snapshot_id} lists block 1 twice")), "{}", r.message);
    assert_nothing_read(&r);
}

// `NextToken` "is null when there are no more blocks to return" (ListSnapshotBlocks,
// https://docs.aws.amazon.com/ebs/latest/APIReference/API_ListSnapshotBlocks.html): a token that comes
// back would be followed forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_token_that_comes_back_is_refused() {
    let (moto, snapshot_id) = snapshot().await;
    // The first page lists the blocks and says "more after AAAA"; every later page is empty and says
    // the same again.
    let rewrite: PageRewrite = |asked_with, page| {
        if asked_with.is_some() {
            page.blocks.clear();
        }
        page.next_token = Some("AAAA".to_string());
    };
    let r = refused(&moto, &snapshot_id, Faults { rewrite_page: Some(rewrite), ..Faults::default() }).await;
    assert!(
        r.message.contains(&format!("ListSnapshotBlocks of {snapshot_id} returned the same NextToken twice (`AAAA`)")),
        "{}",
        r.message
    );
    assert_nothing_read(&r);
}

// `VolumeSize` is the size of the volume (ListSnapshotBlocks,
// https://docs.aws.amazon.com/ebs/latest/APIReference/API_ListSnapshotBlocks.html): one snapshot, one
// size; pages that disagree leave the image's size unknown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_size_that_changes_between_pages_is_refused() {
    let (moto, snapshot_id) = snapshot().await;
    let rewrite: PageRewrite = |asked_with, page| match asked_with {
        None => page.next_token = Some("AAAA".to_string()),
        Some(_) => {
            page.blocks.clear();
            page.volume_size_gib = Some(2);
            page.next_token = None;
        }
    };
    let r = refused(&moto, &snapshot_id, Faults { rewrite_page: Some(rewrite), ..Faults::default() }).await;
    assert!(
        r.message.contains(&format!(
            "ListSnapshotBlocks of {snapshot_id}: VolumeSize changed between pages (1 GiB, then 2 GiB)"
        )),
        "{}",
        r.message
    );
    assert_nothing_read(&r);
}

// GetSnapshotBlock answers `x-amz-Data-Length`, "the size of the data in the block" (GetSnapshotBlock,
// https://docs.aws.amazon.com/ebs/latest/APIReference/API_GetSnapshotBlock.html), and every block is
// 512 KiB (https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-elements.html). A different
// DataLength is refused at once: reading again cannot make it right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_length_other_than_512_kib_is_refused() {
    let (moto, snapshot_id) = snapshot().await;
    let rewrite: BlockRewrite = |index, block| {
        if index == 1 {
            block.data_length = Some(4096);
        }
    };
    let r = refused(&moto, &snapshot_id, Faults { rewrite_block: Some(rewrite), ..Faults::default() }).await;
    assert!(
        r.message.contains(&format!("GetSnapshotBlock of {snapshot_id} block 1: DataLength 4096, expected 524288")),
        "{}",
        r.message
    );
    assert_eq!(r.source.calls_of(1), 1, "a wrong DataLength is not read again");
    assert_eq!(r.checkpointed(), ["0"], "block 0 was written; block 1 was not");
}

// The body must be as long as `x-amz-Data-Length` says (GetSnapshotBlock,
// https://docs.aws.amazon.com/ebs/latest/APIReference/API_GetSnapshotBlock.html). A short body looks
// like a truncated transfer, so it is read again, like a checksum mismatch ("Use EBS direct APIs
// checksums to validate snapshot data" in the EBS User Guide); if it stays short the image fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_shorter_than_its_data_length_is_read_again_then_refused() {
    let (moto, snapshot_id) = snapshot().await;
    let rewrite: BlockRewrite = |index, block| {
        if index == 1 {
            block.data = block.data.to_vec()[..4096].to_vec().into();
        }
    };
    let r = refused(&moto, &snapshot_id, Faults { rewrite_block: Some(rewrite), ..Faults::default() }).await;
    let attempts = RetryPolicy::default().checksum_attempts;
    assert!(
        r.message.contains(&format!(
            "GetSnapshotBlock of {snapshot_id} block 1: the body is 4096 bytes where DataLength says 524288, on each of {attempts} reads"
        )),
        "{}",
        r.message
    );
    assert_eq!(r.source.calls_of(1), u64::from(attempts), "block 1 is read {attempts} times");
    assert_eq!(r.checkpointed(), ["0"], "block 0 was written; block 1 was not");
}

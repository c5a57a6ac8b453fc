//! Imaging against moto (127.0.0.1 only): a real ext4 filesystem image, a sparse snapshot, a killed
//! run resumed, faults injected through the trait, verification.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::support;

use custody_image::verify::{self, Verdict};
use custody_image::{
    image_snapshot, ExtraHashes, ImageError, ImageRequest, ManifestContext, NoProgress, RetryPolicy, SdkSnapshotBlocks,
    SnapshotBlocks, BLOCK_SIZE, GIB,
};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::{nonzero_blocks, pattern_block, upload, Faults, Faulty, MotoEbs};

fn fast_retries() -> RetryPolicy {
    RetryPolicy { base_delay: Duration::from_millis(1), max_delay: Duration::from_millis(5), ..RetryPolicy::default() }
}

fn request(snapshot_id: &str, out: &Path, workers: usize) -> ImageRequest {
    ImageRequest {
        snapshot_id: snapshot_id.to_string(),
        out_dir: out.to_path_buf(),
        workers,
        extra_hashes: ExtraHashes::default(),
        retry: fast_retries(),
        context: ManifestContext { custody_version: "test".into(), ..ManifestContext::default() },
    }
}

/// The whole volume as it should be imaged: `blocks` at their indexes, zeros elsewhere.
fn expected_volume(volume_size_gib: u64, blocks: &[(i32, Vec<u8>)]) -> Vec<u8> {
    let mut volume = vec![0u8; (volume_size_gib * GIB) as usize];
    for (index, data) in blocks {
        let at = *index as usize * BLOCK_SIZE as usize;
        volume[at..at + data.len()].copy_from_slice(data);
    }
    volume
}

/// The hash of a file by coreutils (`sha256sum`, `md5sum`, `sha1sum`): an independent implementation,
/// and optimised, where the test's own debug-built hashing of a 1 GiB volume would take most of a minute.
fn coreutils_sum(tool: &str, path: &Path) -> String {
    let out = std::process::Command::new(tool).arg(path).output().unwrap();
    assert!(out.status.success(), "{tool} failed");
    String::from_utf8(out.stdout).unwrap().split(' ').next().unwrap().to_string()
}

/// The image holds exactly `blocks` and zeros, and its manifest hash is what coreutils computes.
fn assert_image(outcome: &custody_image::ImageOutcome, blocks: &[(i32, Vec<u8>)]) {
    let image = std::fs::read(&outcome.paths.image).unwrap();
    assert!(image == expected_volume(outcome.manifest.image.volume_size_gib, blocks), "image bytes differ");
    assert_eq!(outcome.manifest.image.hashes.sha256, coreutils_sum("sha256sum", &outcome.paths.image));
}

async fn sdk_source(moto: &MotoEbs) -> Arc<dyn SnapshotBlocks> {
    Arc::new(SdkSnapshotBlocks::new(&moto.sdk_config().await))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ext4_filesystem_image_comes_back_byte_for_byte_with_its_hashes() {
    let dir = tempfile::tempdir().unwrap();
    // A real filesystem with files in it: mkfs.ext4 -d populates it from a directory.
    let content = dir.path().join("content");
    std::fs::create_dir(&content).unwrap();
    std::fs::write(content.join("evidence.txt"), "the attacker was here\n".repeat(1000)).unwrap();
    std::fs::write(content.join("binary.bin"), pattern_block(7)).unwrap();
    let fs_image = dir.path().join("fs.ext4");
    let made = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F", "-d"])
        .arg(&content)
        .arg(&fs_image)
        .arg("24M")
        .status();
    let filesystem = match made {
        Ok(s) if s.success() => std::fs::read(&fs_image).unwrap(),
        // No mkfs.ext4 here: deterministic data with the same layout (some blocks, some holes).
        _ => {
            (0..48u64).flat_map(|i| if i % 3 == 0 { vec![0; BLOCK_SIZE as usize] } else { pattern_block(i) }).collect()
        }
    };
    let moto = MotoEbs::start().await;
    let blocks = nonzero_blocks(&filesystem);
    assert!(blocks.len() > 3, "the filesystem image should have several blocks with data");
    let snapshot_id = upload(&moto.sdk_config().await, 1, &blocks).await;

    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut req = request(&snapshot_id, &out, 8);
    req.extra_hashes = ExtraHashes { md5: true, sha1: true };
    let outcome = image_snapshot(sdk_source(&moto).await, &req, Arc::new(NoProgress)).await.unwrap();

    let image = std::fs::read(&outcome.paths.image).unwrap();
    assert_eq!(image.len() as u64, GIB);
    assert!(image[..filesystem.len()] == filesystem[..], "the filesystem's bytes come back unchanged");
    drop(image);
    assert_image(&outcome, &blocks);
    let hashes = &outcome.manifest.image.hashes;
    assert_eq!(hashes.md5.as_deref(), Some(coreutils_sum("md5sum", &outcome.paths.image).as_str()));
    assert_eq!(hashes.sha1.as_deref(), Some(coreutils_sum("sha1sum", &outcome.paths.image).as_str()));
    assert_eq!(outcome.manifest.image.blocks_with_data, blocks.len() as u64);
    assert_eq!(outcome.manifest.imaging.blocks_downloaded, blocks.len() as u64);
    assert!(!outcome.paths.partial.exists() && !outcome.paths.checkpoint.exists());
    // The manifest on disk is the one returned, and verification agrees with it.
    let loaded = verify::load(&outcome.paths.manifest_json).unwrap();
    assert_eq!(loaded.manifest, outcome.manifest);
    assert_eq!(verify::verify_image(&loaded).unwrap(), Verdict::Match);
    let against = verify::verify_against_snapshot(&loaded, sdk_source(&moto).await, 4, fast_retries()).await.unwrap();
    assert_eq!(against, Verdict::Match);
    // custody never overwrites an image.
    let again = image_snapshot(sdk_source(&moto).await, &req, Arc::new(NoProgress)).await;
    assert!(matches!(again, Err(ImageError::Exists { .. })), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sparse_snapshot_leaves_holes_unwritten_and_verify_finds_the_first_changed_byte() {
    let moto = MotoEbs::start().await;
    let last = (GIB / BLOCK_SIZE) as i32 - 1;
    let mut blocks: Vec<(i32, Vec<u8>)> =
        [0, 5, 6, 100, last].iter().map(|&i| (i, pattern_block(i as u64 + 1))).collect();
    // A block written with zeros is listed like any other (AWS lists written blocks, not non-zero ones).
    blocks.insert(4, (200, vec![0; BLOCK_SIZE as usize]));
    let snapshot_id = upload(&moto.sdk_config().await, 1, &blocks).await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = image_snapshot(sdk_source(&moto).await, &request(&snapshot_id, dir.path(), 64), Arc::new(NoProgress))
        .await
        .unwrap();

    let facts = &outcome.manifest.image;
    let ranges: Vec<(u64, u64)> =
        facts.sparse_ranges.iter().map(|r| (r.offset / BLOCK_SIZE, r.length / BLOCK_SIZE)).collect();
    assert_eq!(ranges, vec![(1, 4), (7, 93), (101, 99), (201, last as u64 - 201)]);
    assert_image(&outcome, &blocks);
    // Holes are not written, and the listed zero block is a hole too (its space, claimed before the
    // download, is given back): the file allocates the five blocks of data, not six, not 1 GiB.
    let allocated = std::fs::metadata(&outcome.paths.image).unwrap().blocks() * 512;
    assert!(allocated < 6 * BLOCK_SIZE, "{allocated} bytes allocated for 5 blocks of data");

    let loaded = verify::load(&outcome.paths.manifest_json).unwrap();
    assert_eq!(verify::verify_image(&loaded).unwrap(), Verdict::Match);
    // One byte in a hole: the exact offset is reported.
    let file = std::fs::OpenOptions::new().write(true).open(&outcome.paths.image).unwrap();
    let hole_byte = 50 * BLOCK_SIZE + 12_345;
    std::os::unix::fs::FileExt::write_all_at(&file, &[0xff], hole_byte).unwrap();
    match verify::verify_image(&loaded).unwrap() {
        Verdict::Mismatch { offset, .. } => assert_eq!(offset, Some(hole_byte)),
        Verdict::Match => panic!("a changed hole must not verify"),
    }
    std::os::unix::fs::FileExt::write_all_at(&file, &[0], hole_byte).unwrap();
    // One byte in block 6 (before the hole byte would be, had it stayed): the block's start.
    std::os::unix::fs::FileExt::write_all_at(&file, &[0xee], 6 * BLOCK_SIZE + 9).unwrap();
    match verify::verify_image(&loaded).unwrap() {
        Verdict::Mismatch { offset, reason } => {
            assert_eq!(offset, Some(6 * BLOCK_SIZE), "{reason}");
        }
        Verdict::Match => panic!("a changed block must not verify"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_resumes_without_downloading_the_blocks_it_finished() {
    let moto = MotoEbs::start().await;
    let blocks: Vec<(i32, Vec<u8>)> = (0..12).map(|i| (i * 3, pattern_block(100 + i as u64))).collect();
    let snapshot_id = upload(&moto.sdk_config().await, 1, &blocks).await;
    let dir = tempfile::tempdir().unwrap();
    let req = request(&snapshot_id, dir.path(), 1);

    // "Killed" after 5 blocks: every later read fails fatally.
    let first = Faulty::new(sdk_source(&moto).await, Faults { stop_after: Some(5), ..Faults::default() });
    let err = image_snapshot(first.clone(), &req, Arc::new(NoProgress)).await.unwrap_err();
    assert!(matches!(err, ImageError::Source { .. }), "{err}");
    let paths = custody_image::ImagePaths::new(dir.path(), &snapshot_id);
    assert!(paths.partial.exists() && paths.checkpoint.exists() && !paths.image.exists());
    let checkpointed = std::fs::read_to_string(&paths.checkpoint).unwrap().lines().count() - 1;
    assert_eq!(checkpointed, 5, "the five blocks read were written and checkpointed before the run stopped");

    let second = Faulty::new(sdk_source(&moto).await, Faults::default());
    let outcome = image_snapshot(second.clone(), &req, Arc::new(NoProgress)).await.unwrap();
    assert_eq!(second.reads(), 7, "only the seven blocks not checkpointed are read again");
    assert_eq!(outcome.manifest.imaging.blocks_resumed, 5);
    assert_eq!(outcome.manifest.imaging.blocks_downloaded, 7);
    assert_image(&outcome, &blocks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_throttling_and_a_passing_checksum_mismatch_are_retried() {
    let moto = MotoEbs::start().await;
    let blocks: Vec<(i32, Vec<u8>)> = (0..6).map(|i| (i, pattern_block(200 + i as u64))).collect();
    let snapshot_id = upload(&moto.sdk_config().await, 1, &blocks).await;
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        transient: [(1, 2)].into(), // a block failing twice
        throttled: [(2, 4)].into(),
        corrupt: [(3, 1)].into(), // a checksum mismatch on the first read only
        ..Faults::default()
    };
    let source = Faulty::new(sdk_source(&moto).await, faults);
    let outcome =
        image_snapshot(source.clone(), &request(&snapshot_id, dir.path(), 4), Arc::new(NoProgress)).await.unwrap();
    assert_eq!(source.calls(), 6 + 2 + 4 + 1);
    assert_image(&outcome, &blocks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checksum_that_never_matches_fails_loudly_and_no_image_appears() {
    let moto = MotoEbs::start().await;
    let blocks: Vec<(i32, Vec<u8>)> = (0..4).map(|i| (i, pattern_block(300 + i as u64))).collect();
    let snapshot_id = upload(&moto.sdk_config().await, 1, &blocks).await;
    let dir = tempfile::tempdir().unwrap();
    let source = Faulty::new(sdk_source(&moto).await, Faults { corrupt: [(2, u32::MAX)].into(), ..Faults::default() });
    let err = image_snapshot(source, &request(&snapshot_id, dir.path(), 2), Arc::new(NoProgress)).await.unwrap_err();
    match &err {
        ImageError::ChecksumMismatch { index, attempts, .. } => {
            assert_eq!((*index, *attempts), (2, RetryPolicy::default().checksum_attempts));
        }
        other => panic!("expected a checksum mismatch, got {other}"),
    }
    let paths = custody_image::ImagePaths::new(dir.path(), &snapshot_id);
    assert!(!paths.image.exists() && !paths.manifest_json.exists());
    // The bad block is neither written nor checkpointed; the two before it are.
    let checkpoint = std::fs::read_to_string(&paths.checkpoint).unwrap();
    let indexes: Vec<&str> = checkpoint.lines().skip(1).map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(indexes, ["0", "1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_against_the_snapshot_reports_a_block_checksum_file_that_was_edited() {
    let moto = MotoEbs::start().await;
    let blocks: Vec<(i32, Vec<u8>)> = (0..3).map(|i| (i * 2, pattern_block(400 + i as u64))).collect();
    let snapshot_id = upload(&moto.sdk_config().await, 1, &blocks).await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = image_snapshot(sdk_source(&moto).await, &request(&snapshot_id, dir.path(), 2), Arc::new(NoProgress))
        .await
        .unwrap();
    // Swap two checksum lines: the file no longer hashes to the manifest's digest.
    let text = std::fs::read_to_string(&outcome.paths.blocks).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(0, 1);
    std::fs::write(&outcome.paths.blocks, lines.join("\n") + "\n").unwrap();
    let loaded = verify::load(&outcome.paths.manifest_json).unwrap();
    for verdict in [
        verify::verify_image(&loaded).unwrap(),
        verify::verify_against_snapshot(&loaded, sdk_source(&moto).await, 2, fast_retries()).await.unwrap(),
    ] {
        match verdict {
            Verdict::Mismatch { offset: None, reason } => assert!(reason.contains("block_checksums"), "{reason}"),
            other => panic!("expected a digest mismatch, got {other:?}"),
        }
    }
}

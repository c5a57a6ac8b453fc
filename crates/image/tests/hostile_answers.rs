//! Answers and ids no honest source gives are refused with a clear error, never a panic or an
//! overflow, and never become a path outside `--out`. No AWS: a snapshot held in memory
//! (`memory`) answers, rewritten into what the documentation rules out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::memory;

use custody_image::fetch::{fetch_block, list_all, MAX_VOLUME_SIZE_GIB};
use custody_image::{image_snapshot, ImageError, ListedBlock, NoProgress, BLOCK_SIZE, GIB};
use memory::{quick_retries, request, Memory, SNAPSHOT};
use std::sync::Arc;

/// A volume is at most 64 TiB, 65,536 GiB (EBS User Guide, "Amazon EBS volume constraints",
/// <https://docs.aws.amazon.com/ebs/latest/userguide/volume_constraints.html>). A larger
/// `VolumeSize` once overflowed the size computation (a panic); it is refused, by name, before
/// anything is written.
#[tokio::test]
async fn a_volume_size_beyond_64_tib_is_refused_not_overflowed() {
    for size in [i64::MAX, 1 << 40, 1 << 34, MAX_VOLUME_SIZE_GIB as i64 + 1] {
        let dir = tempfile::tempdir().unwrap();
        let source = Arc::new(Memory::new(size, vec![(0, memory::block(1))]));
        let result = image_snapshot(source, &request(SNAPSHOT, dir.path()), Arc::new(NoProgress)).await;
        let message = match result {
            Err(e @ ImageError::Inconsistent(_)) => e.to_string(),
            other => panic!("VolumeSize {size}: expected a refusal, got {other:?}"),
        };
        assert!(message.contains(&format!("VolumeSize {size}; expected a size in GiB from 1 to 65536")), "{message}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "VolumeSize {size}: nothing is written");
    }
}

/// The largest volume, 65,536 GiB, is accepted, up to its last block (ListSnapshotBlocks,
/// <https://docs.aws.amazon.com/ebs/latest/APIReference/API_ListSnapshotBlocks.html>: `VolumeSize`
/// in GiB; block indexes in 512 KiB units, "Concepts for EBS direct APIs",
/// <https://docs.aws.amazon.com/ebs/latest/userguide/ebsapi-elements.html>).
#[tokio::test]
async fn the_largest_volume_is_listed_up_to_its_last_block() {
    let last = (MAX_VOLUME_SIZE_GIB * GIB / BLOCK_SIZE - 1) as i32;
    let source = Memory::new(MAX_VOLUME_SIZE_GIB as i64, vec![(0, vec![]), (last, vec![])]);
    let listing = list_all(&source, SNAPSHOT, &quick_retries()).await.unwrap();
    assert_eq!(listing.volume_bytes(), 64 << 40);
    assert_eq!(listing.blocks.last().unwrap().index, last);
    let beyond = Memory::new(MAX_VOLUME_SIZE_GIB as i64, vec![(last.checked_add(1).unwrap(), vec![])]);
    let refused = list_all(&beyond, SNAPSHOT, &quick_retries()).await.unwrap_err().to_string();
    assert!(refused.contains("outside a volume of 65536 GiB"), "{refused}");
}

/// A negative block index (`BlockIndex` minimum 0, EBS API Reference, Block,
/// <https://docs.aws.amazon.com/ebs/latest/APIReference/API_Block.html>) given to the block reader
/// directly is refused; its offset once overflowed in the error message.
#[tokio::test]
async fn a_negative_block_index_is_refused_by_the_reader_too() {
    let source = Memory::small();
    *source.answer.lock().unwrap() = Some(Box::new(|_| {
        Err(custody_image::SourceError::new(custody_image::FailureKind::Fatal, "ebs:GetSnapshotBlock", "no"))
    }));
    for index in [-1, i32::MIN] {
        let block = ListedBlock { index, token: "t".into() };
        let message = fetch_block(&source, SNAPSHOT, &block, &quick_retries()).await.unwrap_err().to_string();
        assert!(message.contains(&format!("block index {index} is negative")), "{message}");
    }
}

/// A snapshot id names the image's files, so one that is not `snap-` and 8 or 17 lowercase hex
/// digits (EC2 User Guide, "Resource IDs",
/// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/resource-ids.html>) is refused before
/// anything is asked or written: `../../x` once wrote `../../x.raw.partial` outside the directory.
#[tokio::test]
async fn a_snapshot_id_that_is_a_path_names_no_file() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("a/b");
    std::fs::create_dir_all(&out).unwrap();
    for id in ["../../x", "snap-0123abcd/../../x", "snap-../../x", "/tmp/x", "snap-0123ABCD"] {
        let result = image_snapshot(Arc::new(Memory::small()), &request(id, &out), Arc::new(NoProgress)).await;
        match result {
            Err(e @ ImageError::SnapshotId(_)) => assert!(e.to_string().contains("not a snapshot id"), "{e}"),
            other => panic!("`{id}`: expected a refusal, got {other:?}"),
        }
    }
    let everything: Vec<_> = walk(root.path());
    assert_eq!(everything, vec![root.path().join("a"), out.clone()], "no file was created anywhere");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push(path.clone());
        if path.is_dir() {
            out.extend(walk(&path));
        }
    }
    out.sort();
    out
}

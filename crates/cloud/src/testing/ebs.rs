//! Snapshots written through the EBS direct APIs, for imaging tests.

use crate::ebs::BLOCK_SIZE;
use aws_config::SdkConfig;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Writes `blocks` (index, 512 KiB of data) as a new snapshot of a `volume_size_gib` volume through
/// StartSnapshot, PutSnapshotBlock and CompleteSnapshot; its id.
pub async fn upload_snapshot(
    config: &SdkConfig,
    volume_size_gib: i64,
    blocks: &[(i32, Vec<u8>)],
) -> Result<String, String> {
    let client = aws_sdk_ebs::Client::new(config);
    let started = client
        .start_snapshot()
        .volume_size(volume_size_gib)
        .description("custody test")
        .send()
        .await
        .map_err(|e| format!("StartSnapshot: {e}"))?;
    let snapshot_id = started.snapshot_id().ok_or("StartSnapshot answered no snapshot id")?.to_string();
    for (index, data) in blocks {
        if data.len() as u64 != BLOCK_SIZE {
            return Err(format!("block {index} has {} bytes, not {BLOCK_SIZE}", data.len()));
        }
        // PutSnapshotBlock: a base64 SHA-256 checksum, algorithm SHA256 (EBS API Reference,
        // PutSnapshotBlock; EBS User Guide, "Use EBS direct APIs checksums to validate snapshot data").
        let checksum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(data));
        client
            .put_snapshot_block()
            .snapshot_id(&snapshot_id)
            .block_index(*index)
            .block_data(aws_sdk_ebs::primitives::ByteStream::from(data.clone()))
            .data_length(BLOCK_SIZE as i32)
            .checksum(checksum)
            .checksum_algorithm(aws_sdk_ebs::types::ChecksumAlgorithm::ChecksumAlgorithmSha256)
            .send()
            .await
            .map_err(|e| format!("PutSnapshotBlock {index}: {e}"))?;
    }
    client
        .complete_snapshot()
        .snapshot_id(&snapshot_id)
        .changed_blocks_count(blocks.len() as i32)
        .send()
        .await
        .map_err(|e| format!("CompleteSnapshot: {e}"))?;
    Ok(snapshot_id)
}

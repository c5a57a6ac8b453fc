//! GetSnapshotBlock outside the SDK's orchestrator (`crates/image/src/direct.rs`) against moto on
//! 127.0.0.1: the same answers as through the SDK, and errors reported the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use custody_image::{FailureKind, SdkSnapshotBlocks, SnapshotBlocks};
use support::{pattern_block, upload, MotoEbs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_read_directly_are_the_blocks_the_sdk_reads() {
    let moto = MotoEbs::start().await;
    let config = moto.sdk_config().await;
    let blocks = vec![(0, pattern_block(11)), (7, pattern_block(12)), (2047, pattern_block(13))];
    let snapshot_id = upload(&config, 1, &blocks).await;

    let direct = SdkSnapshotBlocks::new(&config);
    let sdk = SdkSnapshotBlocks::new(&config).through_the_sdk_only();
    assert!(!direct.reads_blocks_directly(), "nothing is known of the endpoint before a listing");
    let page = direct.list_blocks(&snapshot_id, None).await.unwrap();
    assert!(direct.reads_blocks_directly(), "the listing showed where and how the SDK signs");
    assert!(!sdk.reads_blocks_directly());
    assert_eq!(page.blocks.len(), blocks.len());
    for listed in &page.blocks {
        let directly = direct.get_block(&snapshot_id, listed.index, &listed.token).await.unwrap();
        let through_sdk = sdk.get_block(&snapshot_id, listed.index, &listed.token).await.unwrap();
        assert_eq!(directly, through_sdk, "block {}", listed.index);
        let (_, data) = blocks.iter().find(|(i, _)| *i == listed.index).unwrap();
        assert!(directly.data.to_vec() == *data, "block {} holds what was uploaded", listed.index);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_answer_read_directly_is_reported_as_through_the_sdk() {
    let moto = MotoEbs::start().await;
    let config = moto.sdk_config().await;
    let snapshot_id = upload(&config, 1, &[(1, pattern_block(5))]).await;
    let direct = SdkSnapshotBlocks::new(&config);
    let sdk = SdkSnapshotBlocks::new(&config).through_the_sdk_only();
    direct.list_blocks(&snapshot_id, None).await.unwrap();
    assert!(direct.reads_blocks_directly());
    // A snapshot that does not exist. moto answers HTTP 500 with an HTML page (AWS would answer
    // ResourceNotFoundException in JSON); both paths take a 5xx for a transient failure, as the EBS
    // direct API reference says to (GetSnapshotBlock, Note: "always retry 5xx"). The SDK cannot
    // parse the page; the direct path reports the status.
    let directly = direct.get_block("snap-00000000000000000", 1, "no-such-token").await.unwrap_err();
    let through_sdk = sdk.get_block("snap-00000000000000000", 1, "no-such-token").await.unwrap_err();
    assert_eq!(directly.operation, "ebs:GetSnapshotBlock");
    assert_eq!(directly.kind, through_sdk.kind);
    assert_eq!((directly.kind, directly.message.as_str()), (FailureKind::Transient, "HTTP 500"));
}

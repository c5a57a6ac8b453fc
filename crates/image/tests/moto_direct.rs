//! GetSnapshotBlock outside the SDK's orchestrator (`crates/cloud/src/ebs/direct.rs`) against moto on
//! 127.0.0.1: the same answers as through the SDK, and errors reported the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::support;

use custody_image::{FailureKind, SdkSnapshotBlocks, SnapshotBlocks};
use support::{pattern_block, sdk_config_for, upload, ClockCheckProxy, MotoEbs};

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

/// A machine whose clock is 20 minutes behind AWS's. AWS refuses a request signed more than five
/// minutes from its clock (IAM User Guide, "Elements of an AWS API request signature"); moto does
/// not check, so `clock_check_proxy.py` does, in front of it. The first answer's `Date` shows the
/// offset: the refused listing is retryable, with the reason spelled out, and every later request —
/// the listing again through the SDK, the blocks read directly and through the SDK — is signed at
/// AWS's time and accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_20_minutes_behind_aws_is_corrected_from_the_answers() {
    let moto = MotoEbs::start().await;
    let blocks = vec![(3, pattern_block(21)), (4, pattern_block(22))];
    let snapshot_id = upload(&moto.sdk_config().await, 1, &blocks).await;
    let proxy = ClockCheckProxy::start(&moto, 20 * 60).await;
    let config = sdk_config_for(&proxy.endpoint).await;

    for source in [SdkSnapshotBlocks::new(&config), SdkSnapshotBlocks::new(&config).through_the_sdk_only()] {
        let refused_before = proxy.refused().await;
        let first = source.list_blocks(&snapshot_id, None).await.unwrap_err();
        assert_eq!(first.kind, FailureKind::Transient, "{first}");
        assert!(first.message.starts_with("InvalidSignatureException: Signature expired"), "{first}");
        assert!(first.message.contains("this machine's clock is 20 min behind AWS's"), "{first}");
        let page = source.list_blocks(&snapshot_id, None).await.unwrap();
        for listed in &page.blocks {
            let block = source.get_block(&snapshot_id, listed.index, &listed.token).await.unwrap();
            let (_, data) = blocks.iter().find(|(i, _)| *i == listed.index).unwrap();
            assert!(block.data.to_vec() == *data, "block {}", listed.index);
        }
        assert_eq!(page.blocks.len(), 2);
        assert_eq!(proxy.refused().await - refused_before, 1, "only the first listing was refused");
    }
}

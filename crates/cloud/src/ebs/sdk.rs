//! [`SnapshotBlocks`] on aws-sdk-ebs.
//!
//! The SDK's own retries are turned off for this client: `custody_image::fetch` retries with its own backoff
//! and counts attempts per block, so a block that keeps failing is reported once, with its index,
//! instead of being retried by two layers that do not know of each other.

use crate::ebs::classify::classify_answer;
use crate::ebs::direct::{DirectReads, RecordTarget};
use crate::ebs::skew::ClockSkew;
use crate::ebs::{BlockData, BlockPage, FailureKind, FetchedBlock, ListedBlock, SnapshotBlocks, SourceError};
use crate::error::error_chain;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_ebs::config::http::HttpResponse;
use aws_sdk_ebs::config::retry::RetryConfig;
use aws_sdk_ebs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ebs::operation::RequestId;
use std::sync::{Arc, OnceLock};

/// The EBS direct APIs of one configuration (credentials, Region, endpoint). GetSnapshotBlock is
/// sent by `direct` once a listing has shown where and how the SDK signs.
#[derive(Debug, Clone)]
pub struct SdkSnapshotBlocks {
    client: aws_sdk_ebs::Client,
    direct: Option<Arc<DirectReads>>,
    /// AWS's clock against this machine's, from every answer (`RecordTarget`).
    skew: Arc<ClockSkew>,
}

impl SdkSnapshotBlocks {
    pub fn new(config: &SdkConfig) -> Self {
        let target = Arc::new(OnceLock::new());
        let skew = Arc::new(ClockSkew::default());
        let ebs_config = aws_sdk_ebs::config::Builder::from(config)
            .retry_config(RetryConfig::disabled())
            .interceptor(RecordTarget { target: target.clone(), skew: skew.clone() })
            .build();
        let direct = DirectReads::new(target, config.credentials_provider(), skew.clone()).map(Arc::new);
        SdkSnapshotBlocks { client: aws_sdk_ebs::Client::from_conf(ebs_config), direct, skew }
    }

    /// True once GetSnapshotBlock is sent by `direct`: after a listing through the SDK
    /// showed where and how to sign.
    pub fn reads_blocks_directly(&self) -> bool {
        self.direct.as_ref().is_some_and(|d| d.target().is_some())
    }

    /// Every GetSnapshotBlock through the SDK (for comparing the two paths).
    pub fn through_the_sdk_only(mut self) -> Self {
        self.direct = None;
        self
    }
}

/// An SDK failure as a [`SourceError`]. A signature refused while AWS's clock is found to be over
/// four minutes from this machine's (`skew`, measured from this very answer by `RecordTarget`) is
/// retried: the SDK signs its next attempt at AWS's time (aws-runtime's clock skew correction).
fn classify<E>(operation: &'static str, err: SdkError<E, HttpResponse>, skew: &ClockSkew) -> SourceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (kind, message, request_id) = match &err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let code = inner.code().unwrap_or("unknown error").to_string();
            let message = match inner.message() {
                Some(m) => format!("{code}: {m}"),
                None => code.clone(),
            };
            let (kind, message) = classify_answer(&code, service_status(&err), message, Some(skew.millis()));
            (kind, message, inner.meta().request_id().map(str::to_string))
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            (FailureKind::Transient, error_chain(&err), None)
        }
        _ => (FailureKind::Fatal, error_chain(&err), None),
    };
    SourceError { kind, operation, message, request_id }
}

fn service_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

#[async_trait]
impl SnapshotBlocks for SdkSnapshotBlocks {
    async fn list_blocks(&self, snapshot_id: &str, next_token: Option<&str>) -> Result<BlockPage, SourceError> {
        let out = self
            .client
            .list_snapshot_blocks()
            .snapshot_id(snapshot_id)
            .set_next_token(next_token.map(str::to_string))
            .max_results(10_000)
            .send()
            .await
            .map_err(|e| classify("ebs:ListSnapshotBlocks", e, &self.skew))?;
        let mut blocks = Vec::with_capacity(out.blocks().len());
        for block in out.blocks() {
            match (block.block_index(), block.block_token()) {
                (Some(index), Some(token)) => blocks.push(ListedBlock { index, token: token.to_string() }),
                _ => {
                    return Err(SourceError::new(
                        FailureKind::Fatal,
                        "ebs:ListSnapshotBlocks",
                        "a block without BlockIndex or BlockToken",
                    ))
                }
            }
        }
        Ok(BlockPage {
            blocks,
            volume_size_gib: out.volume_size(),
            block_size: out.block_size(),
            next_token: out.next_token().map(str::to_string),
            request_id: out.request_id().map(str::to_string),
        })
    }

    async fn get_block(&self, snapshot_id: &str, index: i32, token: &str) -> Result<FetchedBlock, SourceError> {
        if let Some((direct, target)) = self.direct.as_ref().and_then(|d| Some((d, d.target()?))) {
            return direct.get_block(target, snapshot_id, index, token).await;
        }
        let out = self
            .client
            .get_snapshot_block()
            .snapshot_id(snapshot_id)
            .block_index(index)
            .block_token(token)
            .send()
            .await
            .map_err(|e| classify("ebs:GetSnapshotBlock", e, &self.skew))?;
        let checksum = out.checksum().map(str::to_string);
        let checksum_algorithm = out.checksum_algorithm().map(|a| a.as_str().to_string());
        let data_length = out.data_length();
        let body = out.block_data.collect().await.map_err(|e| {
            SourceError::new(FailureKind::Transient, "ebs:GetSnapshotBlock", format!("reading the block data: {e}"))
        })?;
        let data = BlockData::from_parts(body.into_segments());
        Ok(FetchedBlock { data, checksum, checksum_algorithm, data_length })
    }
}

//! Test support: moto with the EBS direct API quirks corrected (see `moto_ebs.py`), uploading a
//! snapshot through StartSnapshot/PutSnapshotBlock/CompleteSnapshot, and a [`SnapshotBlocks`] wrapper
//! that injects faults and counts reads.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: each test crate uses a part of it, and fails loudly"
)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use custody_cloud::testing::Moto;
use custody_image::{BlockPage, FailureKind, FetchedBlock, SnapshotBlocks, SourceError, BLOCK_SIZE};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const REGION: &str = "us-east-1";

/// moto with its EBS direct API answers corrected (the harness of every moto-backed test,
/// `custody_cloud::testing::Moto`), killed on drop.
pub struct MotoEbs {
    moto: Moto,
    pub endpoint: String,
}

impl MotoEbs {
    pub async fn start() -> MotoEbs {
        let moto = Moto::start_with_ebs_corrections().await.unwrap();
        MotoEbs { endpoint: moto.endpoint().to_string(), moto }
    }

    /// Fake credentials, the test Region, this endpoint; nothing read from profiles.
    pub async fn sdk_config(&self) -> SdkConfig {
        self.moto.sdk_config(REGION).await.unwrap()
    }
}

/// Fake credentials, the test Region, `endpoint` (127.0.0.1 only); nothing read from profiles.
pub async fn sdk_config_for(endpoint: &str) -> SdkConfig {
    custody_cloud::testing::check_local(endpoint).unwrap();
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_ebs::config::Credentials::new("testing", "testing", None, None, "moto-test"))
        .load()
        .await
}

/// `clock_check_proxy.py` in front of a moto: AWS's five-minute check of the request time, against
/// a clock `offset_secs` from this machine's. Killed on drop.
pub struct ClockCheckProxy {
    _proxy: Moto,
    pub endpoint: String,
}

impl ClockCheckProxy {
    pub async fn start(moto: &MotoEbs, offset_secs: i64) -> ClockCheckProxy {
        let upstream = moto.endpoint.trim_start_matches("http://").to_string();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/clock_check_proxy.py");
        let proxy = Moto::start_python(|port| {
            let port = port.to_string();
            let args = [&script.to_string_lossy(), "--port", &port, "--upstream", &upstream, "--offset"];
            args.map(|a| a.to_string()).into_iter().chain([offset_secs.to_string()]).collect()
        })
        .await
        .unwrap();
        ClockCheckProxy { endpoint: proxy.endpoint().to_string(), _proxy: proxy }
    }

    /// How many requests the proxy refused for their time.
    pub async fn refused(&self) -> u64 {
        let url = format!("{}/custody-test/refused", self.endpoint);
        let port = self.endpoint.rsplit(':').next().unwrap().to_string();
        let mut stream = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}")).await.unwrap();
        let request = b"GET /custody-test/refused HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        tokio::io::AsyncWriteExt::write_all(&mut stream, request).await.unwrap();
        let mut answer = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stream, &mut answer).await.unwrap();
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_else(|| panic!("no answer from {url}: {answer}"));
        body.trim().parse().unwrap()
    }
}

/// Uploads `volume` (its length a multiple of 512 KiB, at most `volume_size_gib`) as a snapshot,
/// skipping all-zero blocks as EBS does; returns the snapshot id and the indexes written.
pub async fn upload(config: &SdkConfig, volume_size_gib: i64, blocks: &[(i32, Vec<u8>)]) -> String {
    custody_cloud::testing::upload_snapshot(config, volume_size_gib, blocks).await.unwrap()
}

/// The non-zero 512 KiB blocks of `bytes`.
pub fn nonzero_blocks(bytes: &[u8]) -> Vec<(i32, Vec<u8>)> {
    bytes
        .chunks(BLOCK_SIZE as usize)
        .enumerate()
        .filter(|(_, c)| c.iter().any(|b| *b != 0))
        .map(|(i, c)| {
            let mut block = c.to_vec();
            block.resize(BLOCK_SIZE as usize, 0);
            (i as i32, block)
        })
        .collect()
}

/// Deterministic non-zero block content.
pub fn pattern_block(seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..BLOCK_SIZE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Faults to inject, per block index.
#[derive(Default)]
pub struct Faults {
    /// Answer this many reads of the block with a transient failure (a 500) first.
    pub transient: HashMap<i32, u32>,
    /// Answer this many reads with RequestThrottledException first.
    pub throttled: HashMap<i32, u32>,
    /// Flip a bit of the data this many times (the checksum then does not match).
    pub corrupt: HashMap<i32, u32>,
    /// After this many successful reads, every read fails fatally (a run "killed" at that point).
    pub stop_after: Option<u64>,
    /// Rewrites every listing page (to test refusals); given the NextToken the page was asked with.
    pub rewrite_page: Option<fn(Option<&str>, &mut BlockPage)>,
    /// Rewrites every GetSnapshotBlock answer (to test refusals); given the block index.
    pub rewrite_block: Option<fn(i32, &mut FetchedBlock)>,
}

/// Wraps a source: injects [`Faults`] and counts reads.
pub struct Faulty {
    pub inner: Arc<dyn SnapshotBlocks>,
    pub faults: Mutex<Faults>,
    /// Reads that returned data.
    pub reads: AtomicU64,
    /// Every GetSnapshotBlock call, failed or not.
    pub calls: AtomicU64,
    /// GetSnapshotBlock calls per block index.
    pub calls_by_index: Mutex<HashMap<i32, u64>>,
}

impl Faulty {
    pub fn new(inner: Arc<dyn SnapshotBlocks>, faults: Faults) -> Arc<Faulty> {
        Arc::new(Faulty {
            inner,
            faults: Mutex::new(faults),
            reads: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            calls_by_index: Mutex::new(HashMap::new()),
        })
    }
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
    pub fn calls_of(&self, index: i32) -> u64 {
        self.calls_by_index.lock().unwrap().get(&index).copied().unwrap_or(0)
    }
}

fn take(map: &mut HashMap<i32, u32>, index: i32) -> bool {
    match map.get_mut(&index) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    }
}

#[async_trait::async_trait]
impl SnapshotBlocks for Faulty {
    async fn list_blocks(&self, snapshot_id: &str, next_token: Option<&str>) -> Result<BlockPage, SourceError> {
        let mut page = self.inner.list_blocks(snapshot_id, next_token).await?;
        if let Some(rewrite) = self.faults.lock().unwrap().rewrite_page {
            rewrite(next_token, &mut page);
        }
        Ok(page)
    }

    async fn get_block(&self, snapshot_id: &str, index: i32, token: &str) -> Result<FetchedBlock, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        *self.calls_by_index.lock().unwrap().entry(index).or_default() += 1;
        let (corrupt, rewrite) = {
            let mut faults = self.faults.lock().unwrap();
            if faults.stop_after.is_some_and(|n| self.reads() >= n) {
                return Err(SourceError::new(
                    FailureKind::Fatal,
                    "ebs:GetSnapshotBlock",
                    "injected: the run is killed",
                ));
            }
            if take(&mut faults.transient, index) {
                return Err(SourceError::new(FailureKind::Transient, "ebs:GetSnapshotBlock", "injected: HTTP 500"));
            }
            if take(&mut faults.throttled, index) {
                return Err(SourceError::new(
                    FailureKind::Throttled,
                    "ebs:GetSnapshotBlock",
                    "injected: RequestThrottledException",
                ));
            }
            (take(&mut faults.corrupt, index), faults.rewrite_block)
        };
        let mut block = self.inner.get_block(snapshot_id, index, token).await?;
        if corrupt {
            let mut data = block.data.to_vec();
            data[1000] ^= 0x01;
            block.data = data.into();
        }
        if let Some(rewrite) = rewrite {
            rewrite(index, &mut block);
        }
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(block)
    }
}

//! The chain-of-custody manifest written beside an image: JSON for tools, text for people.
//!
//! It says what the image is an image of (case, evidence, account, Region, instance, volume, snapshot,
//! KMS key), how that evidence came to exist (every AWS call the journal recorded for it, with request
//! id and UTC times), how the image was read (ListSnapshotBlocks request ids, blocks read and resumed),
//! and what the image is: size, sparse ranges, the digest of the per-block checksums, the hashes.
//!
//! The per-block checksums are in a sidecar file (`<snapshot>.blocks`, one `<index> <base64 SHA-256>`
//! line per block with data, in index order) because a large volume has millions of blocks; the
//! manifest holds that file's SHA-256, the "per-block checksum digest". `custody verify` uses the
//! sidecar to name the first block that differs.

use crate::hashes::ImageHashes;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

mod check;

pub const FORMAT: &str = "custody-image-manifest/1";

/// The largest manifest `custody verify` reads. A manifest is small (its size grows with the AWS
/// calls and sparse ranges it lists); this only stops a file that is something else.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 30;

/// How the per-block checksum digest is computed, stated in the manifest itself.
pub const BLOCK_DIGEST_METHOD: &str =
    "SHA-256 of the block checksum file: one line `<block index> <base64 SHA-256 of the block as AWS returned it>\\n` per block with data, in index order";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub custody_version: String,
    pub created_at: String,
    pub case_id: Option<String>,
    pub examiner: Option<String>,
    pub source: Source,
    /// The journaled AWS calls that produced the evidence (empty when the snapshot is not in a case).
    pub aws_calls: Vec<AwsCall>,
    pub imaging: Imaging,
    pub image: ImageFacts,
}

/// What was imaged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub snapshot_id: String,
    pub region: String,
    pub account: Option<String>,
    pub instance_id: Option<String>,
    pub volume_id: Option<String>,
    pub kms_key_arn: Option<String>,
    /// The acquisition path the journal recorded for the evidence item.
    pub acquisition_path: Option<String>,
}

/// One journaled AWS call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsCall {
    pub api: String,
    pub step_id: String,
    pub account: String,
    pub region: String,
    pub signer: String,
    pub intended_at: String,
    pub finished_at: Option<String>,
    /// `ok`, `failed`, or `unknown` (intended, no outcome recorded).
    pub outcome: String,
    pub request_id: Option<String>,
    /// The CloudTrail events `custody audit` matched to the call by its request id (absent when no
    /// audit has run): AWS's own, independent record of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cloudtrail_event_ids: Vec<String>,
}

/// How the image was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imaging {
    pub started_at: String,
    pub finished_at: String,
    pub workers: usize,
    pub list_request_ids: Vec<String>,
    /// Blocks read from AWS in the run that finished the image.
    pub blocks_downloaded: u64,
    /// Blocks a killed earlier run had written, read back and checked against its checkpoint.
    pub blocks_resumed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteRange {
    pub offset: u64,
    pub length: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockChecksums {
    /// The sidecar file, beside the manifest.
    pub file: String,
    pub method: String,
    pub sha256: String,
}

/// The image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFacts {
    /// The raw image, beside the manifest.
    pub file: String,
    pub size_bytes: u64,
    pub block_size: u64,
    pub volume_size_gib: u64,
    pub blocks_total: u64,
    pub blocks_with_data: u64,
    /// Ranges AWS listed no data for: zeros in the image, not written (a sparse file).
    pub sparse_ranges: Vec<ByteRange>,
    pub block_checksums: BlockChecksums,
    pub hashes: ImageHashes,
}

/// A manifest that cannot be used, with where and what was expected.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}{expected}", file.display(), if json_path.is_empty() { String::new() } else { format!("`{json_path}`: ") })]
pub struct ManifestError {
    pub file: PathBuf,
    /// A JSON pointer (`/image/hashes/sha256`), empty for the file as a whole.
    pub json_path: String,
    pub expected: String,
}

impl Manifest {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The readable version.
    pub fn to_text(&self) -> String {
        let mut t = String::new();
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
        let _ = writeln!(t, "custody disk image manifest ({})", self.format);
        let _ = writeln!(t, "created      {} by custody {}", self.created_at, self.custody_version);
        let _ = writeln!(t, "case         {}", opt(&self.case_id));
        let _ = writeln!(t, "examiner     {}", opt(&self.examiner));
        let _ = writeln!(t, "\nsource");
        let s = &self.source;
        let _ = writeln!(t, "  snapshot   {}", s.snapshot_id);
        let _ = writeln!(t, "  account    {}", opt(&s.account));
        let _ = writeln!(t, "  region     {}", s.region);
        let _ = writeln!(t, "  instance   {}", opt(&s.instance_id));
        let _ = writeln!(t, "  volume     {}", opt(&s.volume_id));
        let _ = writeln!(t, "  kms key    {}", opt(&s.kms_key_arn));
        let _ = writeln!(t, "  path       {}", opt(&s.acquisition_path));
        let _ = writeln!(t, "\nAWS calls that produced the evidence ({})", self.aws_calls.len());
        for c in &self.aws_calls {
            let _ = writeln!(
                t,
                "  {}  {:<28} {:<8} request {}  ({} in {} as {})",
                c.finished_at.as_deref().unwrap_or(&c.intended_at),
                c.api,
                c.outcome,
                opt(&c.request_id),
                c.account,
                c.region,
                c.signer
            );
            if !c.cloudtrail_event_ids.is_empty() {
                let _ = writeln!(t, "      CloudTrail event {}", c.cloudtrail_event_ids.join(", "));
            }
        }
        let m = &self.imaging;
        let _ = writeln!(t, "\nimaging      {} to {}, {} workers", m.started_at, m.finished_at, m.workers);
        let _ = writeln!(t, "  blocks read {}, resumed from a checkpoint {}", m.blocks_downloaded, m.blocks_resumed);
        let _ = writeln!(t, "  ListSnapshotBlocks request ids: {}", m.list_request_ids.join(", "));
        let i = &self.image;
        let _ = writeln!(t, "\nimage        {}", i.file);
        let _ = writeln!(
            t,
            "  size       {} bytes ({} GiB, {} blocks of {} bytes)",
            i.size_bytes, i.volume_size_gib, i.blocks_total, i.block_size
        );
        let _ = writeln!(
            t,
            "  with data  {} blocks; {} sparse ranges (zeros, not written)",
            i.blocks_with_data,
            i.sparse_ranges.len()
        );
        let _ = writeln!(t, "  SHA-256    {}", i.hashes.sha256);
        if let Some(md5) = &i.hashes.md5 {
            let _ = writeln!(t, "  MD5        {md5}");
        }
        if let Some(sha1) = &i.hashes.sha1 {
            let _ = writeln!(t, "  SHA-1      {sha1}");
        }
        let _ = writeln!(t, "  block checksum digest {} ({})", i.block_checksums.sha256, i.block_checksums.file);
        let _ = writeln!(t, "    {}", i.block_checksums.method);
        t
    }

    /// Reads and checks a manifest: every field `custody verify` relies on is present and well formed.
    pub fn read(file: &Path) -> Result<Manifest, ManifestError> {
        let err = |expected: String| ManifestError { file: file.to_path_buf(), json_path: String::new(), expected };
        // The file is named by the user; a link to it is fine, a device or a FIFO is not (a manifest
        // "read" from /dev/zero would never end).
        let metadata = std::fs::metadata(file).map_err(|e| err(format!("cannot read the manifest: {e}")))?;
        if !metadata.is_file() {
            return Err(err("cannot read the manifest: not a regular file".to_string()));
        }
        if metadata.len() > MAX_MANIFEST_BYTES {
            return Err(err(format!(
                "a manifest of {} bytes; custody writes them far smaller (at most {MAX_MANIFEST_BYTES} bytes are read)",
                metadata.len()
            )));
        }
        let bytes = std::fs::read(file).map_err(|e| err(format!("cannot read the manifest: {e}")))?;
        Manifest::parse(&bytes, file)
    }

    /// Checks the bytes of a manifest read from `file` (named in errors).
    pub fn parse(bytes: &[u8], file: &Path) -> Result<Manifest, ManifestError> {
        let err = |json_path: &str, expected: String| ManifestError {
            file: file.to_path_buf(),
            json_path: json_path.to_string(),
            expected,
        };
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| err("", format!("not JSON: {e}")))?;
        check::manifest(&value).map_err(|(json_path, expected)| err(&json_path, expected))?;
        serde_json::from_value(value).map_err(|e| err("", format!("not a custody image manifest: {e}")))
    }
}

//! `custody verify`: does the image still hold what the manifest says, and (optionally) does AWS still
//! serve the same blocks?
//!
//! The image is read once, in order. Each block with data is hashed and compared with its line of the
//! block checksum file (whose own SHA-256 must equal the manifest's digest), each hole must be zeros,
//! and the whole-image hashes must match. The first difference is reported with its offset: the start
//! of a block whose checksum differs, or the exact byte of a hole that is not zero.

use crate::error::ImageError;
use crate::fetch::{list_all, read_block, RetryPolicy};
use crate::hashes::{ExtraHashes, ImageHasher};
use crate::manifest::{Manifest, ManifestError};
use base64::Engine as _;
use custody_cloud::ebs::{SnapshotBlocks, BLOCK_SIZE};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Match,
    /// The first difference: where (when it has a place) and what.
    Mismatch {
        offset: Option<u64>,
        reason: String,
    },
}

/// Why verification could not be done (exit status 2: nothing to compare).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// Reading AWS failed (`--against-snapshot`).
    #[error(transparent)]
    Aws(#[from] ImageError),
}

/// The block checksum file, parsed: `(index, sha256)` in order.
pub struct BlockChecksumList(pub Vec<(u64, [u8; 32])>);

/// The manifest, and the block checksums it vouches for.
pub struct Verified {
    pub manifest: Manifest,
    pub dir: PathBuf,
    pub blocks: Result<BlockChecksumList, Verdict>,
}

/// Parses a block checksum file: `<index> <base64 SHA-256>` lines, ascending, each index below
/// `blocks_total`. The error names the line.
pub fn parse_blocks(text: &str, blocks_total: u64) -> Result<BlockChecksumList, String> {
    let mut out = Vec::new();
    let mut previous: Option<u64> = None;
    for (n, line) in text.lines().enumerate() {
        let parsed = line.split_once(' ').and_then(|(i, s)| {
            let index = i.parse::<u64>().ok()?;
            let sum: [u8; 32] = base64::engine::general_purpose::STANDARD.decode(s).ok()?.try_into().ok()?;
            Some((index, sum))
        });
        match parsed {
            Some((index, sum)) if index < blocks_total && previous.is_none_or(|p| index > p) => {
                previous = Some(index);
                out.push((index, sum));
            }
            _ => {
                return Err(format!(
                    "line {}: expected `<index> <base64 SHA-256>` in ascending order inside the volume",
                    n + 1
                ))
            }
        }
    }
    Ok(BlockChecksumList(out))
}

/// The longest line of a block checksum file: 20 digits, a space, 44 base64 characters, a newline.
const MAX_LINE_BYTES: u64 = 66;

/// Reads the block checksum file, a regular file of at most one longest line per block with data
/// (anything larger is not one custody wrote, and could be endless: a link to /dev/zero).
fn read_block_checksums(path: &Path, blocks_with_data: u64) -> Result<String, VerifyError> {
    let unusable = |message: String| VerifyError::File { path: path.to_path_buf(), message };
    let cannot = |e: std::io::Error| unusable(format!("cannot read the block checksum file: {e}"));
    let metadata = std::fs::metadata(path).map_err(cannot)?;
    let limit = blocks_with_data.saturating_mul(MAX_LINE_BYTES);
    if !metadata.is_file() {
        return Err(unusable("cannot read the block checksum file: not a regular file".to_string()));
    }
    if metadata.len() > limit {
        return Err(unusable(format!(
            "{} bytes: too long for the {blocks_with_data} blocks the manifest says have data (`/image/blocks_with_data`)",
            metadata.len()
        )));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes)).map_err(cannot)?;
    String::from_utf8(bytes).map_err(|_| unusable("not a block checksum file (not text)".to_string()))
}

/// Reads the manifest and its block checksum file.
pub fn load(manifest_path: &Path) -> Result<Verified, VerifyError> {
    let manifest = Manifest::read(manifest_path)?;
    let dir = manifest_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let blocks_path = dir.join(&manifest.image.block_checksums.file);
    let text = read_block_checksums(&blocks_path, manifest.image.blocks_with_data)?;
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    let blocks = if digest != manifest.image.block_checksums.sha256 {
        Err(Verdict::Mismatch {
            offset: None,
            reason: format!(
                "{}: SHA-256 {digest}, the manifest says {} (`/image/block_checksums/sha256`)",
                blocks_path.display(),
                manifest.image.block_checksums.sha256
            ),
        })
    } else {
        // The file is the one the manifest vouches for, yet unusable: the manifest's set is not one
        // custody wrote, and there is nothing to compare the image with.
        let unusable = |message: String| VerifyError::File { path: blocks_path.clone(), message };
        let list = parse_blocks(&text, manifest.image.blocks_total).map_err(unusable)?;
        if list.0.len() as u64 != manifest.image.blocks_with_data {
            return Err(unusable(format!(
                "lists {} blocks, the manifest says {} (`/image/blocks_with_data`)",
                list.0.len(),
                manifest.image.blocks_with_data
            )));
        }
        Ok(list)
    };
    Ok(Verified { manifest, dir, blocks })
}

/// Re-hashes the image against the manifest.
pub fn verify_image(loaded: &Verified) -> Result<Verdict, VerifyError> {
    let blocks = match &loaded.blocks {
        Ok(b) => b,
        Err(verdict) => return Ok(verdict.clone()),
    };
    let image = &loaded.manifest.image;
    let path = loaded.dir.join(&image.file);
    let file_error =
        |e: std::io::Error| VerifyError::File { path: path.clone(), message: format!("cannot read the image: {e}") };
    let mut file = std::fs::File::open(&path).map_err(file_error)?;
    let size = file.metadata().map_err(file_error)?.len();
    if size != image.size_bytes {
        return Ok(Verdict::Mismatch {
            offset: Some(size.min(image.size_bytes)),
            reason: format!("the image is {size} bytes, the manifest says {}", image.size_bytes),
        });
    }
    let extra = ExtraHashes { md5: image.hashes.md5.is_some(), sha1: image.hashes.sha1.is_some() };
    let mut hasher = ImageHasher::new(extra);
    let mut buffer = vec![0u8; BLOCK_SIZE as usize];
    let mut listed = blocks.0.iter().peekable();
    let mut reader = std::io::BufReader::with_capacity(4 * BLOCK_SIZE as usize, &mut file);
    for index in 0..image.blocks_total {
        reader.read_exact(&mut buffer).map_err(file_error)?;
        // `blocks_total` × 512 KiB is the image size, checked when the manifest was read.
        let offset = index.saturating_mul(BLOCK_SIZE);
        match listed.peek() {
            Some((i, sum)) if *i == index => {
                let actual: [u8; 32] = Sha256::digest(&buffer).into();
                if &actual != sum {
                    return Ok(Verdict::Mismatch {
                        offset: Some(offset),
                        reason: format!("block {index}: SHA-256 differs from the block checksum file"),
                    });
                }
                listed.next();
            }
            _ => {
                if let Some(at) = buffer.iter().position(|b| *b != 0) {
                    return Ok(Verdict::Mismatch {
                        offset: Some(offset + at as u64),
                        reason: format!("block {index} is a hole in the snapshot but holds non-zero bytes"),
                    });
                }
            }
        }
        hasher.update(&buffer);
    }
    let actual = hasher.finish();
    for (name, expected, got) in [
        ("SHA-256", Some(&image.hashes.sha256), Some(&actual.sha256)),
        ("MD5", image.hashes.md5.as_ref(), actual.md5.as_ref()),
        ("SHA-1", image.hashes.sha1.as_ref(), actual.sha1.as_ref()),
    ] {
        if expected != got {
            return Ok(Verdict::Mismatch {
                offset: None,
                reason: format!(
                    "image {name} {}, the manifest says {}",
                    got.map_or("-", |s| s),
                    expected.map_or("-", |s| s)
                ),
            });
        }
    }
    Ok(Verdict::Match)
}

/// Re-reads every block from AWS and compares its checksum with the block checksum file.
pub async fn verify_against_snapshot(
    loaded: &Verified,
    source: Arc<dyn SnapshotBlocks>,
    workers: usize,
    policy: RetryPolicy,
) -> Result<Verdict, VerifyError> {
    let blocks = match &loaded.blocks {
        Ok(b) => b,
        Err(verdict) => return Ok(verdict.clone()),
    };
    let snapshot_id = loaded.manifest.source.snapshot_id.clone();
    let listing = list_all(source.as_ref(), &snapshot_id, &policy).await?;
    if listing.volume_size_gib != loaded.manifest.image.volume_size_gib {
        return Ok(Verdict::Mismatch {
            offset: None,
            reason: format!(
                "AWS says the volume is {} GiB, the manifest says {}",
                listing.volume_size_gib, loaded.manifest.image.volume_size_gib
            ),
        });
    }
    let listed: Vec<u64> = listing.blocks.iter().map(|b| b.index as u64).collect();
    let recorded: Vec<u64> = blocks.0.iter().map(|(i, _)| *i).collect();
    if listed != recorded {
        let first = listed.iter().zip(&recorded).position(|(a, b)| a != b).unwrap_or(listed.len().min(recorded.len()));
        let index = listed.get(first).or(recorded.get(first)).copied().unwrap_or(0);
        return Ok(Verdict::Mismatch {
            offset: Some(index.saturating_mul(BLOCK_SIZE)),
            reason: format!(
                "AWS lists {} blocks with data, the block checksum file {}; they first differ at block {index}",
                listed.len(),
                recorded.len()
            ),
        });
    }
    let workers = workers.max(1);
    let mut pending = listing.blocks.into_iter().zip(blocks.0.iter().map(|(_, s)| *s));
    let mut window = VecDeque::new();
    loop {
        while window.len() < workers {
            let Some((block, expected)) = pending.next() else { break };
            let (source, snapshot_id) = (source.clone(), snapshot_id.clone());
            window.push_back(tokio::spawn(async move {
                read_block(source.as_ref(), &snapshot_id, &block, &policy).await.map(|b| (b.index, b.sha256, expected))
            }));
        }
        let Some(task) = window.pop_front() else { break };
        let result = task.await.map_err(|e| ImageError::Inconsistent(format!("internal: a block reader stopped: {e}")));
        match result.and_then(|r| r) {
            Ok((index, actual, expected)) if actual != expected => {
                for task in &window {
                    task.abort();
                }
                return Ok(Verdict::Mismatch {
                    offset: Some(index.saturating_mul(BLOCK_SIZE)),
                    reason: format!("block {index}: AWS's checksum differs from the block checksum file"),
                });
            }
            Ok(_) => {}
            Err(e) => {
                for task in &window {
                    task.abort();
                }
                return Err(e.into());
            }
        }
    }
    Ok(Verdict::Match)
}

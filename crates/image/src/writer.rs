//! The one thread that touches the image file: it walks the volume in block order, writes the blocks
//! it receives (in order), hashes everything in order — blocks, resumed blocks read back, and zeros
//! for holes — and keeps the checkpoint. Keeping hashing in order on one thread is what lets the
//! whole-image hash be computed without reading the image again.

use crate::checkpoint::CheckpointWriter;
use crate::error::ImageError;
use crate::fetch::{ArrivedBlock, VerifiedBlock};
use crate::hashes::{is_zero, ExtraHashes, ImageHasher, ImageHashes};
use crate::space::{self, Claim};
use base64::Engine as _;
use custody_cloud::ebs::BLOCK_SIZE;
use std::collections::BTreeMap;
use std::io::{IoSlice, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;

/// Sync the image and append to the checkpoint every this many new blocks (64 MiB).
const SYNC_EVERY_BLOCKS: u64 = 128;

/// Test-only kill switches, so that tests can kill the real binary mid-image (no unwinding, no
/// cleanup), as the journal's do: read once per process; a value that is not a number is ignored.
/// Either one makes the writer sync after every block, so that "block N" is an exact point.
///
/// - `CUSTODY_TEST_ABORT_AFTER_IMAGE_BLOCKS=N`: right after the N-th new block is written and
///   checkpointed (a resume reads it from the partial image).
/// - `CUSTODY_TEST_ABORT_AT_IMAGE_BLOCK=N`: right after the N-th new block is written to the image,
///   before its checkpoint line is (a resume must download it again, and finds it there unrecorded).
mod kill_switch {
    use std::sync::OnceLock;

    fn limits() -> (Option<u64>, Option<u64>) {
        static LIMITS: OnceLock<(Option<u64>, Option<u64>)> = OnceLock::new();
        *LIMITS.get_or_init(|| {
            let read = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok());
            (read("CUSTODY_TEST_ABORT_AFTER_IMAGE_BLOCKS"), read("CUSTODY_TEST_ABORT_AT_IMAGE_BLOCK"))
        })
    }

    /// Whether a switch is set (then every block is synced and checkpointed on its own).
    pub(super) fn armed() -> bool {
        limits() != (None, None)
    }

    /// Block `n` (1-based) is written to the image file, its checkpoint line not yet.
    pub(super) fn written(n: u64) {
        if limits().1 == Some(n) {
            std::process::abort();
        }
    }

    /// Block `n` (1-based) is written and checkpointed.
    pub(super) fn checkpointed(n: u64) {
        if limits().0 == Some(n) {
            std::process::abort();
        }
    }
}

pub struct WriterInput {
    pub partial_path: PathBuf,
    pub file: std::fs::File,
    pub checkpoint: CheckpointWriter,
    pub volume_blocks: u64,
    /// Indexes of the blocks with data, ascending.
    pub listed: Vec<u64>,
    /// Blocks already in the partial image, with their SHA-256.
    pub resumed: BTreeMap<u64, [u8; 32]>,
    pub extra: ExtraHashes,
    /// Whether the blocks to download had their space claimed (then an all-zero block gives it back).
    pub(crate) claim: Claim,
    pub blocks: tokio::sync::mpsc::Receiver<ArrivedBlock>,
    /// Reads a block again after it did not hash to AWS's checksum (its index, that checksum, the
    /// SHA-256 it had): rare, so the writer waits for it.
    pub read_again: ReadAgain,
}

pub type ReadAgain = Box<dyn FnMut(u64, String, [u8; 32]) -> Result<VerifiedBlock, ImageError> + Send>;

pub struct WriterOutput {
    pub hashes: ImageHashes,
    /// The block checksum file's content.
    pub block_lines: String,
    pub written: u64,
}

/// Why the writer stopped before the end.
pub enum WriterStop {
    /// The block stream ended early (the reader failed or was stopped); what was written is synced and
    /// checkpointed.
    Incomplete {
        written: u64,
    },
    Failed(ImageError),
}

impl From<ImageError> for WriterStop {
    fn from(e: ImageError) -> Self {
        WriterStop::Failed(e)
    }
}

pub fn run(mut input: WriterInput) -> Result<WriterOutput, WriterStop> {
    let path = input.partial_path.clone();
    let mut hasher = ImageHasher::new(input.extra);
    let mut block_lines = String::with_capacity(input.listed.len() * 56);
    let mut position = 0u64;
    let mut written = 0u64;
    let mut since_sync = 0u64;
    let mut buffer = vec![0u8; BLOCK_SIZE as usize];
    let sync = |file: &std::fs::File, checkpoint: &mut CheckpointWriter| -> Result<(), ImageError> {
        file.sync_data().map_err(ImageError::io(&path))?;
        checkpoint.flush()
    };
    // `listed` is ascending and inside the volume (checked by `fetch::list_all`); anything else stops
    // the writer rather than wrap an offset.
    let out_of_order = |index: u64| {
        WriterStop::Failed(ImageError::Inconsistent(format!(
            "internal: block {index} is not after the blocks before it, inside a volume of {} blocks",
            input.volume_blocks
        )))
    };
    for &index in &input.listed {
        let (Some(hole), Some(offset)) = (index.checked_sub(position), crate::fetch::block_offset(index)) else {
            return Err(out_of_order(index));
        };
        if index >= input.volume_blocks {
            return Err(out_of_order(index));
        }
        hasher.zero_blocks(hole);
        let sha256 = if let Some(expected) = input.resumed.get(&index) {
            input.file.read_exact_at(&mut buffer, offset).map_err(ImageError::io(&path))?;
            if hasher.update_if_sha256(&[&buffer], expected).is_err() {
                return Err(WriterStop::Failed(ImageError::Checkpoint {
                    path: path.clone(),
                    message: format!(
                        "block {index} (offset {offset}) does not hold what the checkpoint says; remove the .partial file and its checkpoint to start over"
                    ),
                }));
            }
            *expected
        } else {
            let Some(arrived) = input.blocks.blocking_recv() else {
                sync(&input.file, &mut input.checkpoint)?;
                return Err(WriterStop::Incomplete { written });
            };
            if arrived.index != index {
                return Err(WriterStop::Failed(ImageError::Inconsistent(format!(
                    "internal: block {} arrived where block {index} was due",
                    arrived.index
                ))));
            }
            // The block's own SHA-256 and the image's, in one pass; a block that does not hash to
            // AWS's checksum is not fed to the image hash and is read again.
            let block = match hasher.update_if_sha256(arrived.data.parts(), &arrived.expected_sha256) {
                Ok(()) => arrived.verified(),
                Err(actual) => {
                    let again = match (input.read_again)(index, arrived.checksum, actual) {
                        Ok(again) => again,
                        Err(e) => {
                            // As when the reader fails: what is written is kept for a resume.
                            sync(&input.file, &mut input.checkpoint)?;
                            return Err(WriterStop::Failed(e));
                        }
                    };
                    for part in again.data.parts() {
                        hasher.update(part);
                    }
                    again
                }
            };
            // The file was created at full size, so an all-zero block is already there as a hole (or
            // as claimed space, given back so that it is one).
            if !is_zero(block.data.parts()) {
                write_parts_at(&input.file, block.data.parts(), offset).map_err(ImageError::io(&path))?;
            } else if input.claim == Claim::Claimed {
                space::release_zero_block(&input.file, offset);
            }
            written += 1;
            if kill_switch::armed() {
                input.file.sync_data().map_err(ImageError::io(&path))?;
                kill_switch::written(written);
            }
            input.checkpoint.record(index, &block.sha256);
            since_sync += 1;
            if since_sync >= SYNC_EVERY_BLOCKS || kill_switch::armed() {
                sync(&input.file, &mut input.checkpoint)?;
                since_sync = 0;
                kill_switch::checkpointed(written);
            }
            block.sha256
        };
        block_lines.push_str(&format!("{index} {}\n", base64::engine::general_purpose::STANDARD.encode(sha256)));
        position = index + 1;
    }
    hasher.zero_blocks(input.volume_blocks.saturating_sub(position));
    sync(&input.file, &mut input.checkpoint)?;
    Ok(WriterOutput { hashes: hasher.finish(), block_lines, written })
}

/// Writes `parts` one after the other at `offset`: one `writev` for a block that arrived in pieces,
/// rather than a copy into one buffer first.
fn write_parts_at(mut file: &std::fs::File, parts: &[bytes::Bytes], offset: u64) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    let mut slices: Vec<IoSlice> = parts.iter().map(|part| IoSlice::new(part)).collect();
    let mut slices = &mut slices[..];
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => {
                return Err(std::io::Error::new(std::io::ErrorKind::WriteZero, "the image file took no more bytes"))
            }
            Ok(written) => IoSlice::advance_slices(&mut slices, written),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_written_one_after_the_other_at_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image");
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        file.set_len(16).unwrap();
        let parts = [bytes::Bytes::from_static(b"ab"), bytes::Bytes::from_static(b"cde")];
        write_parts_at(&file, &parts, 4).unwrap();
        write_parts_at(&file, &parts[..1], 12).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"\0\0\0\0abcde\0\0\0ab\0\0");
    }
}

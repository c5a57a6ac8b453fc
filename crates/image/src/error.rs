//! What can stop an image. Every variant says which block or file, and none is ever swallowed: an
//! image either completes with every block checked, or fails with the reason and leaves its partial
//! file and checkpoint for a resume.

use crate::source::SourceError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A call kept failing (or failed in a way retrying cannot help).
    #[error("{context}: {source} (attempt {attempts})")]
    Source {
        context: String,
        attempts: u32,
        #[source]
        source: SourceError,
    },
    /// The block's data did not hash to the checksum AWS sent, every time it was read.
    #[error(
        "block {index} (offset {offset}): checksum mismatch after {attempts} reads: AWS says `{expected}`, the data hashes to `{actual}`; nothing of this block was written"
    )]
    ChecksumMismatch { index: u64, offset: u64, attempts: u32, expected: String, actual: String },
    /// AWS answered something that contradicts the EBS direct API contract; refused rather than
    /// writing a wrong image.
    #[error("refusing an inconsistent answer: {0}")]
    Inconsistent(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The checkpoint beside a partial image belongs to another image, or cannot be read.
    #[error("{}: {message}", path.display())]
    Checkpoint { path: PathBuf, message: String },
    /// The image exists already; custody never overwrites evidence.
    #[error("{}: already exists; custody does not overwrite an image (choose another --out)", path.display())]
    Exists { path: PathBuf },
    /// Stopped on request (tests stop a run after N blocks to test resume).
    #[error("stopped after {written} blocks were written")]
    Stopped { written: u64 },
}

impl ImageError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ImageError {
        let path = path.into();
        move |source| ImageError::Io { path, source }
    }
}

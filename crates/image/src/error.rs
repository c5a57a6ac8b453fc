//! What can stop an image. Every variant says which block or file, and none is ever swallowed: an
//! image either completes with every block checked, or fails with the reason and leaves its partial
//! file and checkpoint for a resume.

use custody_cloud::ebs::SourceError;
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
    /// The blocks still to download do not fit on the filesystem of `--out` (or in the user's quota);
    /// found before the first block is read, and nothing is left claimed.
    #[error(
        "{}: not enough disk space for the image: its {blocks} blocks with data still to download need {} and {}; free some space or choose another --out",
        path.display(), bytes_in_units(*needed), available_text(*available, *quota)
    )]
    NoSpace { path: PathBuf, blocks: u64, needed: u64, available: Option<u64>, quota: bool },
    /// A symbolic link is where an image file goes: refused, never written through (it could point
    /// at anything, another image included).
    #[error("{}: is a symbolic link; custody does not write through links (remove it or choose another --out)", path.display())]
    Symlink { path: PathBuf },
    /// The snapshot id cannot name files: it would not stay inside the output directory.
    #[error(transparent)]
    SnapshotId(#[from] crate::ids::NotASnapshotId),
    /// Stopped on request (tests stop a run after N blocks to test resume).
    #[error("stopped after {written} blocks were written")]
    Stopped { written: u64 },
}

fn bytes_in_units(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    match bytes {
        b if b >= 1 << 30 => format!("{b} bytes ({:.1} GiB)", b as f64 / (1u64 << 30) as f64),
        b if b >= MIB => format!("{b} bytes ({:.1} MiB)", b as f64 / MIB as f64),
        b => format!("{b} bytes"),
    }
}

fn available_text(available: Option<u64>, quota: bool) -> String {
    match (quota, available) {
        (true, _) => "the disk quota does not allow that".to_string(),
        (false, Some(bytes)) => format!("the filesystem has {} free", bytes_in_units(bytes)),
        (false, None) => "the filesystem has less free".to_string(),
    }
}

impl ImageError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ImageError {
        let path = path.into();
        move |source| ImageError::Io { path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_space_says_what_is_needed_and_what_there_is() {
        let error = |available, quota| {
            ImageError::NoSpace {
                path: "/evidence/snap.raw.partial".into(),
                blocks: 4096,
                needed: 4096 * 524_288,
                available,
                quota,
            }
            .to_string()
        };
        assert_eq!(
            error(Some(700 << 20), false),
            "/evidence/snap.raw.partial: not enough disk space for the image: its 4096 blocks with data still to download need 2147483648 bytes (2.0 GiB) and the filesystem has 734003200 bytes (700.0 MiB) free; free some space or choose another --out"
        );
        assert!(error(Some(700 << 20), true)
            .contains("need 2147483648 bytes (2.0 GiB) and the disk quota does not allow that;"));
        assert!(error(None, false).contains("and the filesystem has less free;"));
        assert!(error(Some(512), false).contains("the filesystem has 512 bytes free"));
    }
}

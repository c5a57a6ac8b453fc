//! Disk space for the image, claimed before the first block is read.
//!
//! Every block that is still to be downloaded gets its space allocated up front with `fallocate(2)`
//! (mode 0: allocated, reading as zeros, the file's size unchanged). That gives:
//! - a refusal in the first second, with the figures, when the image cannot fit, rather than
//!   `ENOSPC` hours into a large volume;
//! - an image laid out in long extents rather than in the order blocks happen to arrive;
//! - cheaper writes: the filesystem no longer reserves space page by page as the data comes in
//!   (ext4's delayed allocation; measured in CONTRIBUTING.md, "Disk images, against coldsnap").
//!
//! Holes stay holes: only listed blocks are claimed, and a listed block that turns out to be all
//! zeros is given back (`release_zero_block`).
//!
//! A filesystem that cannot preallocate (`EOPNOTSUPP`, some network and FUSE filesystems) is imaged
//! as before, allocating as the blocks are written.

use crate::error::ImageError;
use custody_cloud::ebs::BLOCK_SIZE;
use std::fs::File;
use std::path::Path;

/// Whether the space of the blocks to download was claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    Claimed,
    /// The filesystem does not preallocate; the writes allocate as they go.
    Unsupported,
}

/// Runs of consecutive block indexes as byte ranges (offset, length), from ascending indexes (inside
/// a volume of at most 64 TiB, as `fetch::list_all` checks; the arithmetic saturates all the same).
pub(crate) fn byte_runs(indexes: impl IntoIterator<Item = u64>) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for index in indexes {
        match runs.last_mut() {
            Some((_, end)) if *end == index => *end = index.saturating_add(1),
            _ => runs.push((index, index.saturating_add(1))),
        }
    }
    runs.into_iter()
        .map(|(start, end)| (start.saturating_mul(BLOCK_SIZE), end.saturating_sub(start).saturating_mul(BLOCK_SIZE)))
        .collect()
}

/// Claims the space of `runs` in `file`. Not enough space (or quota) is `ImageError::NoSpace`, with
/// whatever was claimed given back first.
pub(crate) fn claim(file: &File, path: &Path, runs: &[(u64, u64)]) -> Result<Claim, ImageError> {
    let needed: u64 = runs.iter().fold(0u64, |sum, (_, length)| sum.saturating_add(*length));
    for (done, &(offset, length)) in runs.iter().enumerate() {
        match os::allocate(file, offset, length) {
            Ok(()) => {}
            Err(e) if os::is_unsupported(&e) => return Ok(Claim::Unsupported),
            Err(e) if os::is_no_space(&e) => {
                // Give back what this call claimed (the failed run may be half-claimed), so a refusal
                // leaves the disk as it found it. A failure here only leaves space allocated to a
                // file that reads as zeros, so it is not reported over the real problem.
                for &(offset, length) in &runs[..=done] {
                    let _ = os::release(file, offset, length);
                }
                return Err(ImageError::NoSpace {
                    path: path.to_path_buf(),
                    blocks: needed / BLOCK_SIZE,
                    needed,
                    available: os::available(file),
                    quota: os::is_quota(&e),
                });
            }
            Err(source) => return Err(ImageError::Io { path: path.to_path_buf(), source }),
        }
    }
    Ok(Claim::Claimed)
}

/// Gives back the claimed space of a block that turned out to be all zeros, so it is a hole as if
/// it had never been claimed. It reads as zeros either way, so a failure costs only disk space.
pub(crate) fn release_zero_block(file: &File, offset: u64) {
    let _ = os::release(file, offset, BLOCK_SIZE);
}

#[cfg(target_os = "linux")]
mod os {
    use rustix::fs::FallocateFlags;
    use rustix::io::Errno;
    use std::fs::File;

    pub fn allocate(file: &File, offset: u64, length: u64) -> std::io::Result<()> {
        loop {
            match rustix::fs::fallocate(file, FallocateFlags::empty(), offset, length) {
                Err(Errno::INTR) => continue,
                other => return other.map_err(std::io::Error::from),
            }
        }
    }

    pub fn release(file: &File, offset: u64, length: u64) -> std::io::Result<()> {
        let flags = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
        rustix::fs::fallocate(file, flags, offset, length).map_err(std::io::Error::from)
    }

    pub fn available(file: &File) -> Option<u64> {
        let stat = rustix::fs::fstatvfs(file).ok()?;
        stat.f_bavail.checked_mul(stat.f_frsize)
    }

    fn errno(e: &std::io::Error) -> Option<Errno> {
        e.raw_os_error().map(Errno::from_raw_os_error)
    }

    pub fn is_unsupported(e: &std::io::Error) -> bool {
        matches!(errno(e), Some(Errno::OPNOTSUPP | Errno::NOSYS))
    }

    pub fn is_no_space(e: &std::io::Error) -> bool {
        matches!(errno(e), Some(Errno::NOSPC | Errno::DQUOT))
    }

    pub fn is_quota(e: &std::io::Error) -> bool {
        errno(e) == Some(Errno::DQUOT)
    }
}

/// Elsewhere, no preallocation: the writes allocate as they go, as on a filesystem without it.
#[cfg(not(target_os = "linux"))]
mod os {
    use std::fs::File;

    pub fn allocate(_: &File, _: u64, _: u64) -> std::io::Result<()> {
        Err(std::io::ErrorKind::Unsupported.into())
    }

    pub fn release(_: &File, _: u64, _: u64) -> std::io::Result<()> {
        Ok(())
    }

    pub fn available(_: &File) -> Option<u64> {
        None
    }

    pub fn is_unsupported(e: &std::io::Error) -> bool {
        e.kind() == std::io::ErrorKind::Unsupported
    }

    pub fn is_no_space(_: &std::io::Error) -> bool {
        false
    }

    pub fn is_quota(_: &std::io::Error) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    #[test]
    fn consecutive_blocks_make_one_run() {
        let b = BLOCK_SIZE;
        assert_eq!(byte_runs([]), vec![]);
        assert_eq!(byte_runs([0, 1, 2, 5, 7, 8]), vec![(0, 3 * b), (5 * b, b), (7 * b, 2 * b)]);
    }

    /// Claimed space is allocated without changing the content (zeros) or the size, and a released
    /// zero block is a hole again.
    #[test]
    fn claimed_blocks_are_allocated_zeros_and_a_released_one_is_a_hole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image");
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        file.set_len(16 * BLOCK_SIZE).unwrap();
        let claimed = claim(&file, &path, &byte_runs([2, 3, 9])).unwrap();
        let allocated = || std::fs::metadata(&path).unwrap().blocks() * 512;
        if claimed == Claim::Unsupported {
            // The test directory's filesystem cannot preallocate: nothing was allocated either.
            assert_eq!(allocated(), 0);
            return;
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 16 * BLOCK_SIZE);
        assert!(allocated() >= 3 * BLOCK_SIZE, "{} bytes allocated for 3 blocks", allocated());
        assert!(std::fs::read(&path).unwrap().iter().all(|&byte| byte == 0));
        release_zero_block(&file, 3 * BLOCK_SIZE);
        release_zero_block(&file, 9 * BLOCK_SIZE);
        assert!(allocated() < 2 * BLOCK_SIZE, "{} bytes allocated for 1 block", allocated());
    }
}

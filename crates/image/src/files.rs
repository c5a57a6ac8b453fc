//! How the image's files are opened: never through a symbolic link, and readable by their owner
//! only.
//!
//! The output directory may be shared, or hold a link planted where an image file will go (pointing
//! at a file of the user's, or at another case's evidence): a file custody writes is opened with
//! `O_NOFOLLOW`, so a link in its place is refused rather than written through. A disk image holds
//! everything the disk held, so images, partial images, checkpoints, block checksum files and
//! manifests are created with mode 0600 (a resumed partial image is set to it too).

use crate::error::ImageError;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// The mode of every file custody writes beside an image.
pub(crate) const FILE_MODE: u32 = 0o600;

/// `O_NOFOLLOW`: opening a symbolic link fails (`ELOOP`) instead of opening what it points to.
#[cfg(target_os = "linux")]
fn no_follow(options: &mut OpenOptions) {
    options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
}

/// Elsewhere (no flag constant at hand): a link found in the way is refused before opening, which
/// leaves a window a link planted at that instant could use; Linux has none.
#[cfg(not(target_os = "linux"))]
fn no_follow(_options: &mut OpenOptions) {}

/// True when `path` itself is a symbolic link (not what it points to).
pub(crate) fn is_symlink(path: &Path) -> bool {
    path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink())
}

/// True when anything is at `path`, a dangling link included (`Path::exists` follows links).
pub(crate) fn is_present(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// Opens `path` with `options`, refusing a symbolic link in its place.
fn open(path: &Path, options: &mut OpenOptions) -> Result<File, ImageError> {
    no_follow(options);
    if is_symlink(path) {
        return Err(ImageError::Symlink { path: path.to_path_buf() });
    }
    options.open(path).map_err(|source| {
        // A link planted between the check and the open.
        if is_symlink(path) {
            ImageError::Symlink { path: path.to_path_buf() }
        } else {
            ImageError::Io { path: path.to_path_buf(), source }
        }
    })
}

/// Opens an output file for writing, created with mode 0600 (`truncate`: emptied first). A file that
/// was there already is set to 0600 too: it is evidence of this run from now on.
pub(crate) fn open_output(path: &Path, read: bool, truncate: bool) -> Result<File, ImageError> {
    let file = open(path, OpenOptions::new().read(read).write(true).create(true).truncate(truncate).mode(FILE_MODE))?;
    file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE)).map_err(ImageError::io(path))?;
    Ok(file)
}

/// Writes a whole output file (created or replaced, mode 0600), not through a link, and syncs it.
pub(crate) fn write_output(path: &Path, contents: &[u8]) -> Result<(), ImageError> {
    use std::io::Write as _;
    let mut file = open_output(path, false, true)?;
    file.write_all(contents).map_err(ImageError::io(path))?;
    file.sync_all().map_err(ImageError::io(path))
}

/// Opens a file custody wrote earlier (a checkpoint) for reading, not through a link; `None` when
/// there is none.
pub(crate) fn open_existing(path: &Path, write: bool) -> Result<Option<File>, ImageError> {
    match open(path, OpenOptions::new().read(true).write(write)) {
        Ok(file) => Ok(Some(file)),
        Err(ImageError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_files_are_not_opened_through_a_link_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("snap-0123abcd.raw.partial");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let dangling = dir.path().join("snap-0123abcd.manifest.json");
        std::os::unix::fs::symlink(dir.path().join("created-through-a-link"), &dangling).unwrap();
        for path in [&link, &dangling] {
            assert!(matches!(write_output(path, b"x"), Err(ImageError::Symlink { .. })), "{}", path.display());
            assert!(matches!(open_existing(path, true), Err(ImageError::Symlink { .. })));
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(!dir.path().join("created-through-a-link").exists());

        let plain = dir.path().join("snap-0123abcd.blocks");
        write_output(&plain, b"0 x\n").unwrap();
        assert_eq!(std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(open_existing(&dir.path().join("none"), false).unwrap().map(|_| ()), None);
    }
}

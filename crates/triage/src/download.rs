//! Where the S3 output of a command lands on this machine: streamed to a file, never held whole in
//! memory, with a cap on its size, hashed as it arrives.
//!
//! The objects are the instance's: a compromised instance chooses how large they are, how many, and
//! what they are called. So every object is written as it streams (a [`Download`] holds one chunk at
//! a time) and refused past the cap (`--max-object-size`, default [`DEFAULT_MAX_OBJECT_BYTES`]), the
//! size S3 announces is checked before the first byte and the bytes are counted while they arrive.
//! File names never come from the key: `<n>-<key with every character but letters, digits, `.`,
//! `_` and `-` replaced>`, in a directory per command and instance whose names are checked ids. The
//! directories are 0700 and the files 0600 (the output of a suspect's processes, their memory): a
//! file is written as `<name>.part` (created new, so a link in its place is refused) and renamed once
//! whole; a refused or failed download leaves nothing.

use custody_cloud::triage::{FetchError, ObjectSink};
use sha2::{Digest, Sha256};
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// The default cap on one object: far more than a collection prints, enough for a memory dump of
/// one process at the default `--memory-limit` (256 MiB of memory is about 342 MiB of base64, so
/// raise the cap with the limit).
pub const DEFAULT_MAX_OBJECT_BYTES: u64 = 256 << 20;

/// Directories custody writes triage output into: the owner's only.
const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// A path component from an id AWS answered or the journal holds (a command id, an instance id):
/// 1 to 64 letters, digits and `-`, so it can never climb out of its directory.
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('-')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The file name of the `index`-th object of a command, `name` its key below the command's prefix.
pub fn file_name(index: usize, name: &str) -> String {
    let clean: String =
        name.chars().take(100).map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    format!("{index:02}-{clean}")
}

/// Creates `dir` and its missing parents with mode 0700, and sets `dir` itself to 0700; refuses a
/// symbolic link in its place.
pub fn private_dir(dir: &Path) -> Result<(), String> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| format!("{}: cannot create the directory: {e}", dir.display()))?;
    let meta = dir.symlink_metadata().map_err(|e| format!("{}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("{}: not a directory (a symbolic link?)", dir.display()));
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
        .map_err(|e| format!("{}: cannot make it private (0700): {e}", dir.display()))
}

/// An object downloaded whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
}

/// One object being downloaded: the sink [`crate::TriageAws::get_object`] writes into.
pub struct Download {
    what: String,
    path: PathBuf,
    part: PathBuf,
    file: Option<BufWriter<File>>,
    hasher: Sha256,
    written: u64,
    cap: u64,
}

impl Download {
    /// Starts the download of `what` (`s3://bucket/key`, for messages) into `dir/name`, refusing more
    /// than `cap` bytes. A `.part` left by a killed run is removed first (it was never whole).
    pub fn create(dir: &Path, name: &str, cap: u64, what: &str) -> Result<Download, FetchError> {
        private_dir(dir).map_err(FetchError::Refused)?;
        let path = dir.join(name);
        let part = dir.join(format!("{name}.part"));
        match std::fs::remove_file(&part) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(FetchError::Refused(format!("{}: {e}", part.display()))),
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&part)
            .map_err(|e| FetchError::Refused(format!("{}: cannot create it: {e}", part.display())))?;
        Ok(Download {
            what: what.to_string(),
            path,
            part,
            file: Some(BufWriter::new(file)),
            hasher: Sha256::new(),
            written: 0,
            cap,
        })
    }

    /// The cap, in bytes.
    pub fn cap(&self) -> u64 {
        self.cap
    }

    fn too_large(&self, size: u64) -> FetchError {
        FetchError::Refused(format!(
            "{} is {size} bytes or more, over the cap of {} bytes per object: not fetched (raise it with \
             --max-object-size if this output is expected to be that large)",
            self.what, self.cap
        ))
    }

    /// Refuses at once an object whose announced size (`Content-Length`) is over the cap.
    pub fn announce(&self, size: Option<i64>) -> Result<(), FetchError> {
        match size.map(|s| u64::try_from(s).unwrap_or(0)) {
            Some(size) if size > self.cap => Err(self.too_large(size)),
            _ => Ok(()),
        }
    }

    /// Writes the next chunk; refuses the object once it passes the cap.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), FetchError> {
        let total = self.written.saturating_add(chunk.len() as u64);
        if total > self.cap {
            return Err(self.too_large(total));
        }
        let Some(file) = self.file.as_mut() else {
            return Err(FetchError::Refused(format!("{}: already finished", self.part.display())));
        };
        file.write_all(chunk).map_err(|e| FetchError::Refused(format!("{}: {e}", self.part.display())))?;
        self.hasher.update(chunk);
        self.written = total;
        Ok(())
    }

    /// The object is whole: synced, renamed to its name (replacing a copy an earlier, interrupted
    /// fetch left), hashed.
    pub fn finish(mut self) -> Result<Downloaded, FetchError> {
        let io = |path: &Path, e: std::io::Error| FetchError::Refused(format!("{}: {e}", path.display()));
        let file = self.file.take().ok_or_else(|| FetchError::Refused(format!("{}: finished", self.part.display())))?;
        let file = file.into_inner().map_err(|e| io(&self.part, e.into_error()))?;
        file.sync_all().map_err(|e| io(&self.part, e))?;
        std::fs::rename(&self.part, &self.path).map_err(|e| io(&self.path, e))?;
        Ok(Downloaded {
            path: self.path.clone(),
            sha256: hex::encode(std::mem::take(&mut self.hasher).finalize()),
            bytes: self.written,
        })
    }
}

impl ObjectSink for Download {
    fn announce(&mut self, size: Option<i64>) -> Result<(), FetchError> {
        Download::announce(self, size)
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), FetchError> {
        Download::write(self, chunk)
    }
}

impl Drop for Download {
    /// An unfinished download leaves nothing behind.
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_never_leave_the_directory() {
        assert_eq!(
            file_name(0, "awsrunShellScript/0.awsrunShellScript/stdout"),
            "00-awsrunShellScript_0.awsrunShellScript_stdout"
        );
        assert_eq!(file_name(3, "../../etc/passwd"), "03-.._.._etc_passwd");
        assert_eq!(file_name(1, ""), "01-");
        assert!(!file_name(2, "a\u{202e}b/\0").contains(['/', '\0', '\u{202e}']));
    }

    #[test]
    fn ids_that_could_climb_out_are_not_path_components() {
        assert!(is_safe_id("0b1e9f3a-5c2d-4e6f-8a7b-9c0d1e2f3a4b"));
        assert!(is_safe_id("i-0123456789abcdef0"));
        for bad in ["", "..", "a/b", "-rf", "x.y", &"a".repeat(65)] {
            assert!(!is_safe_id(bad), "{bad}");
        }
    }
}

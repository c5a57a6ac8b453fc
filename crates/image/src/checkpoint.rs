//! The checkpoint beside a partial image: which blocks are already on disk, with their SHA-256.
//!
//! Text, one line per block: `<index> <base64 SHA-256>`, after a header naming the snapshot and the
//! geometry. Lines are appended only after the image data they describe has been synced, so a line
//! never claims a block the file does not hold. A run killed while appending leaves at most a torn
//! last line, which is ignored (that block is fetched again). On resume each checkpointed block is
//! read back from the partial image and hashed — it has to be read for the whole-image hash anyway —
//! and must match its line.

use crate::error::ImageError;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

const MAGIC: &str = "custody-image-checkpoint 1";

/// The header line: what the partial image is an image of.
pub fn header(snapshot_id: &str, volume_size_gib: u64) -> String {
    format!("{MAGIC} snapshot={snapshot_id} volume_size_gib={volume_size_gib} block_size={}", crate::BLOCK_SIZE)
}

/// The blocks a checkpoint lists, and the length of its whole lines (a torn last line is cut off
/// before appending, so that the next line does not run into it).
pub struct Loaded {
    pub done: BTreeMap<u64, [u8; 32]>,
    pub valid_len: u64,
}

/// Reads a checkpoint; `None` when there is none. A symbolic link in its place is refused.
pub fn load(path: &Path, expected_header: &str) -> Result<Option<Loaded>, ImageError> {
    let Some(mut file) = crate::files::open_existing(path, false)? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(ImageError::io(path))?;
    parse(&bytes, expected_header)
        .map(Some)
        .map_err(|message| ImageError::Checkpoint { path: path.to_path_buf(), message })
}

/// Parses a checkpoint's bytes; the error says what is wrong, for [`load`] to put after the path.
pub fn parse(bytes: &[u8], expected_header: &str) -> Result<Loaded, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("not a checkpoint (not text: {e}); remove it and the .partial file to start over"))?;
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default().trim_end();
    if first != expected_header {
        let first: String = first.chars().take(200).flat_map(char::escape_debug).collect();
        return Err(format!(
            "belongs to another image (`{first}`, expected `{expected_header}`); remove it and the .partial file to start over"
        ));
    }
    let mut done = BTreeMap::new();
    let mut valid_len = first.len() as u64 + 1;
    for (n, line) in lines.enumerate() {
        let Some(line) = line.strip_suffix('\n') else {
            break; // torn last line of a killed run
        };
        valid_len += line.len() as u64 + 1;
        let parsed = line.split_once(' ').and_then(|(index, sum)| {
            let index = index.parse::<u64>().ok()?;
            let sum: [u8; 32] = base64::engine::general_purpose::STANDARD.decode(sum).ok()?.try_into().ok()?;
            Some((index, sum))
        });
        match parsed {
            Some((index, sum)) => {
                done.insert(index, sum);
            }
            None => {
                let line: String = line.chars().take(200).flat_map(char::escape_debug).collect();
                return Err(format!("line {}: expected `<index> <base64 SHA-256>`, found `{line}`", n + 2));
            }
        }
    }
    Ok(Loaded { done, valid_len })
}

/// Appends checkpoint lines.
pub struct CheckpointWriter {
    path: PathBuf,
    file: std::fs::File,
    pending: String,
}

impl CheckpointWriter {
    /// Starts a new checkpoint (`resume_at` `None`) or appends to one after its first `resume_at`
    /// bytes (its whole lines).
    pub fn open(path: &Path, header_line: &str, resume_at: Option<u64>) -> Result<Self, ImageError> {
        let mut file = match resume_at {
            None => {
                let mut file = crate::files::open_output(path, false, true)?;
                writeln!(file, "{header_line}").map_err(ImageError::io(path))?;
                file
            }
            Some(len) => {
                let file = crate::files::open_output(path, false, false)?;
                file.set_len(len).map_err(ImageError::io(path))?;
                file
            }
        };
        use std::io::Seek as _;
        file.seek(std::io::SeekFrom::End(0)).map_err(ImageError::io(path))?;
        Ok(CheckpointWriter { path: path.to_path_buf(), file, pending: String::new() })
    }

    /// Queues a block's line; written by the next [`CheckpointWriter::flush`].
    pub fn record(&mut self, index: u64, sha256: &[u8; 32]) {
        self.pending.push_str(&format!("{index} {}\n", base64::engine::general_purpose::STANDARD.encode(sha256)));
    }

    /// Writes the queued lines. Call only after the image data they describe has been synced.
    pub fn flush(&mut self) -> Result<(), ImageError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file.write_all(self.pending.as_bytes()).map_err(ImageError::io(&self.path))?;
        self.file.sync_data().map_err(ImageError::io(&self.path))?;
        self.pending.clear();
        Ok(())
    }
}

//! Reading user input: a path, or `-` for standard input; errors name the file.

use std::io::Read;
use std::path::Path;

/// A user-input error: shown as `error: <where>: <what>`, exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct InputError {
    /// The file (or `<stdin>`), with a line number for batch input.
    pub origin: String,
    pub message: String,
}

/// The display name of an input.
pub fn origin_name(path: &Path) -> String {
    if path == Path::new("-") {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// The largest input read: 16 MiB. Every file custody reads from the user is a JSON document (an
/// inventory, an authorization case) or JSON Lines; the largest of real ones are well under a
/// megabyte (an IAM role's policies together are at most tens of kilobytes, a key policy 32 KB),
/// and a limit keeps `/dev/zero` or a wrong file from filling the memory.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// Reads the whole input as UTF-8 text, refusing more than [`MAX_INPUT_BYTES`].
pub fn read_text(path: &Path) -> Result<String, InputError> {
    read_text_capped(path, MAX_INPUT_BYTES)
}

fn read_text_capped(path: &Path, cap: u64) -> Result<String, InputError> {
    let origin = origin_name(path);
    let mut bytes = Vec::new();
    // One byte more than the cap is read, to tell "exactly the cap" from "more".
    let result = if path == Path::new("-") {
        std::io::stdin().lock().take(cap + 1).read_to_end(&mut bytes).map(|_| ())
    } else {
        fs_err::File::open(path).and_then(|f| f.take(cap + 1).read_to_end(&mut bytes)).map(|_| ())
    };
    result.map_err(|e| InputError { origin: origin.clone(), message: format!("cannot read: {e}") })?;
    if bytes.len() as u64 > cap {
        return Err(InputError {
            origin,
            message: format!(
                "larger than {} MiB, the most custody reads from one input: is it the file you meant?",
                cap / (1024 * 1024)
            ),
        });
    }
    String::from_utf8(bytes).map_err(|e| InputError {
        origin,
        message: format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn an_input_over_the_cap_is_refused_and_one_at_the_cap_is_read() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&[b'x'; 2 * 1024 * 1024]).unwrap();
        let err = read_text_capped(file.path(), 1024 * 1024).unwrap_err();
        assert_eq!(err.message, "larger than 1 MiB, the most custody reads from one input: is it the file you meant?");
        assert_eq!(read_text_capped(file.path(), 2 * 1024 * 1024).unwrap().len(), 2 * 1024 * 1024);
    }
}

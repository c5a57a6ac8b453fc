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

/// Reads the whole input as UTF-8 text.
pub fn read_text(path: &Path) -> Result<String, InputError> {
    let origin = origin_name(path);
    let mut bytes = Vec::new();
    let result = if path == Path::new("-") {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        fs_err::File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)).map(|_| ())
    };
    result.map_err(|e| InputError { origin: origin.clone(), message: format!("cannot read: {e}") })?;
    String::from_utf8(bytes).map_err(|e| InputError {
        origin,
        message: format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
    })
}

//! Lines of untrusted output, each cut at [`MAX_LINE_BYTES`]: a reader never holds more than one
//! line (plus its buffer), whatever the instance printed.

use std::io::{self, BufRead};

/// The longest line kept. A process's command line can be long (Linux allows 128 KiB per argument),
/// the scripts' base64 lines are 76 characters; past this, the rest of the line is read and dropped.
pub const MAX_LINE_BYTES: usize = 256 * 1024;

/// A line reader over untrusted bytes.
pub(crate) struct Lines<R> {
    inner: R,
    buf: Vec<u8>,
    /// Lines longer than [`MAX_LINE_BYTES`] so far.
    pub(crate) cut: u64,
}

impl<R: BufRead> Lines<R> {
    pub(crate) fn new(inner: R) -> Lines<R> {
        Lines { inner, buf: Vec::new(), cut: 0 }
    }

    /// The next line without its `\n` (and a `\r` before it), invalid UTF-8 replaced; `None` at the
    /// end. A last line without `\n` is a line; an empty input has none (as `str::lines`).
    pub(crate) fn next_line(&mut self) -> io::Result<Option<String>> {
        self.buf.clear();
        let mut started = false;
        let mut was_cut = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if !started {
                    return Ok(None);
                }
                break;
            }
            started = true;
            let (end, consumed, done) = match available.iter().position(|&b| b == b'\n') {
                Some(at) => (at, at + 1, true),
                None => (available.len(), available.len(), false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.buf.len());
            if end > room {
                was_cut = true;
            }
            self.buf.extend_from_slice(&available[..end.min(room)]);
            self.inner.consume(consumed);
            if done {
                break;
            }
        }
        if was_cut {
            self.cut += 1;
        } else if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(String::from_utf8_lossy(&self.buf).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> (Vec<String>, u64) {
        let mut lines = Lines::new(bytes);
        let mut out = Vec::new();
        while let Some(l) = lines.next_line().unwrap() {
            out.push(l);
        }
        (out, lines.cut)
    }

    #[test]
    fn lines_split_like_str_lines() {
        for text in ["", "a", "a\n", "a\r\nb", "\n\n", "a\nb\n", "x\r\n\r\n"] {
            let (got, cut) = all(text.as_bytes());
            assert_eq!(got, text.lines().collect::<Vec<_>>(), "{text:?}");
            assert_eq!(cut, 0);
        }
    }

    #[test]
    fn a_line_past_the_limit_is_cut_and_counted_and_the_next_line_is_whole() {
        let mut text = vec![b'a'; MAX_LINE_BYTES * 3 + 5];
        text.extend_from_slice(b"\nnext\n");
        let (got, cut) = all(&text);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), MAX_LINE_BYTES);
        assert_eq!((got[1].as_str(), cut), ("next", 1));
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        let (got, _) = all(b"\xff\xfeok\n");
        assert_eq!(got, ["\u{fffd}\u{fffd}ok"]);
    }
}

//! Parsing a memory stream: per process, regions of base64, each followed by the SHA-256 and length
//! the instance computed. Every region is decoded and re-hashed as it streams by; its bytes are never
//! kept, so a dump of any size parses in constant memory (plus one [`Region`] record per region, up
//! to [`MAX_REGIONS`]).

use super::lines::Lines;
use super::{marker, push_bounded, MAX_LINE_BYTES, MAX_NOTES};
use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::{self, BufRead};

/// The most processes kept from one stream.
pub const MAX_PROCESSES: usize = 1024;
/// The most regions kept from one stream, all processes together.
pub const MAX_REGIONS: usize = 65_536;

/// One memory region, as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    pub start: u64,
    pub perms: String,
    pub path: String,
    pub bytes: u64,
    /// The SHA-256 the instance computed, if its line arrived.
    pub sha256_on_instance: Option<String>,
    /// The SHA-256 of the bytes decoded here.
    pub sha256_received: String,
    /// Both hashes are there and equal, and so are the lengths.
    pub verified: bool,
}

/// The dump of one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessDump {
    pub pid: String,
    pub description: String,
    pub regions: Vec<Region>,
    /// The per-process limit stopped the dump.
    pub limited: bool,
    /// Regions the instance could not read, with why.
    pub skipped: Vec<String>,
    pub complete: bool,
}

/// A parsed memory stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryDump {
    pub processes: Vec<ProcessDump>,
    pub notes: Vec<String>,
    pub complete: bool,
    /// Regions whose base64 did not decode.
    pub undecodable: usize,
}

impl MemoryDump {
    /// Every region arrived whole and matches the instance's hash.
    pub fn all_verified(&self) -> bool {
        self.complete
            && self.undecodable == 0
            && self.processes.iter().all(|p| p.complete && p.regions.iter().all(|r| r.verified))
    }
}

/// Decodes standard base64 (RFC 4648 §4, padded) as it streams by, ASCII whitespace ignored, and
/// hashes what it decodes. Holds at most one chunk of text.
struct Base64Hash {
    pending: Vec<u8>,
    hasher: Sha256,
    len: u64,
    /// Padding was seen: the region's text must end here.
    ended: bool,
    bad: bool,
}

/// Text decoded at a time: a multiple of 4.
const CHUNK: usize = 64 * 1024;

impl Base64Hash {
    fn new() -> Base64Hash {
        Base64Hash { pending: Vec::new(), hasher: Sha256::new(), len: 0, ended: false, bad: false }
    }

    fn push(&mut self, line: &str) {
        for b in line.bytes().filter(|b| !b.is_ascii_whitespace()) {
            if self.bad {
                return;
            }
            if self.ended {
                // Text after the padding: not one base64 string.
                self.bad = true;
                return;
            }
            self.pending.push(b);
            if self.pending.len() == CHUNK {
                self.decode_pending();
            }
        }
    }

    fn decode_pending(&mut self) {
        let text = std::mem::take(&mut self.pending);
        if text.is_empty() {
            return;
        }
        match base64::engine::general_purpose::STANDARD.decode(&text) {
            Ok(bytes) => {
                self.hasher.update(&bytes);
                self.len += bytes.len() as u64;
                self.ended = text.last() == Some(&b'=');
            }
            Err(_) => self.bad = true,
        }
    }

    /// The SHA-256 (hex) and length of what was decoded; `None` if it did not decode.
    fn finish(mut self) -> Option<(String, u64)> {
        self.decode_pending();
        (!self.bad).then(|| (hex::encode(self.hasher.finalize()), self.len))
    }
}

/// The SHA-256 and length of what `text` decodes to, fed a line at a time (for tests).
#[cfg(test)]
pub(super) fn hash_base64(text: &str) -> Option<(String, u64)> {
    let mut data = Base64Hash::new();
    for line in text.lines() {
        data.push(line);
    }
    data.finish()
}

/// The region being received.
struct Open {
    start: u64,
    perms: String,
    path: String,
    data: Base64Hash,
}

/// Parses a memory stream held in memory.
pub fn parse_memory(text: &str, nonce: &str) -> MemoryDump {
    parse_memory_from(text.as_bytes(), nonce).unwrap_or_else(|e| MemoryDump {
        processes: Vec::new(),
        notes: vec![format!("the output could not be read: {e}")],
        complete: false,
        undecodable: 0,
    })
}

/// Parses a memory stream from a stream, decoding and re-hashing every region. Fails only when
/// `reader` does.
pub fn parse_memory_from(reader: impl BufRead, nonce: &str) -> io::Result<MemoryDump> {
    let mut out = MemoryDump { processes: Vec::new(), notes: Vec::new(), complete: false, undecodable: 0 };
    let mut region: Option<Open> = None;
    let (mut regions, mut dropped_processes, mut dropped_regions, mut dropped_notes) = (0usize, 0u64, 0u64, 0u64);
    let mut lines = Lines::new(reader);
    while let Some(line) = lines.next_line()? {
        let Some(m) = marker(&line, nonce) else {
            if let Some(r) = region.as_mut() {
                r.data.push(&line);
            }
            continue;
        };
        let words: Vec<&str> = m.split_whitespace().take(4).collect();
        let current = out.processes.last_mut();
        match (words.as_slice(), current) {
            (["TRIAGE", "END"], _) => out.complete = true,
            (["MEMORY", pid, "BEGIN", ..], _) => {
                if out.processes.len() >= MAX_PROCESSES {
                    dropped_processes += 1;
                    continue;
                }
                let description = m.splitn(4, ' ').nth(3).unwrap_or_default().trim().to_string();
                out.processes.push(ProcessDump {
                    pid: (*pid).to_string(),
                    description,
                    regions: Vec::new(),
                    limited: false,
                    skipped: Vec::new(),
                    complete: false,
                });
            }
            (["MEMORY", _, "END"], Some(p)) => p.complete = true,
            (["REGION", start, perms, ..], _) => {
                let start = u64::from_str_radix(start, 16).unwrap_or(0);
                let path = m.split_whitespace().skip(3).collect::<Vec<_>>().join(" ");
                region = Some(Open { start, perms: (*perms).to_string(), path, data: Base64Hash::new() });
            }
            (["SHA256", sum, bytes], Some(p)) => {
                let Some(r) = region.take() else { continue };
                let Some((received, len)) = r.data.finish() else {
                    out.undecodable += 1;
                    continue;
                };
                if regions >= MAX_REGIONS {
                    dropped_regions += 1;
                    continue;
                }
                regions += 1;
                p.regions.push(Region {
                    start: r.start,
                    perms: r.perms,
                    path: r.path,
                    bytes: len,
                    verified: *sum == received && bytes.parse::<u64>().ok() == Some(len),
                    sha256_on_instance: Some((*sum).to_string()),
                    sha256_received: received,
                });
            }
            (["LIMIT"], Some(p)) => p.limited = true,
            (["SKIP", range, ..], Some(p)) => {
                let why = m.split_whitespace().skip(2).collect::<Vec<_>>().join(" ");
                if !push_bounded(&mut p.skipped, format!("{range}: {why}")) {
                    dropped_notes += 1;
                }
            }
            // The note is kept by the guard itself; the arm counts one that did not fit.
            (["NOTE", ..], _) if !push_bounded(&mut out.notes, m.trim_start_matches("NOTE").trim().to_string()) => {
                dropped_notes += 1;
            }
            _ => {}
        }
    }
    // What the parser dropped is said after what the script said (these never count against it).
    if lines.cut > 0 {
        out.notes.push(format!("{} line(s) longer than {MAX_LINE_BYTES} bytes were cut at that length", lines.cut));
    }
    if dropped_processes > 0 {
        out.notes.push(format!("{dropped_processes} process(es) past the first {MAX_PROCESSES} were ignored"));
    }
    if dropped_regions > 0 {
        out.notes.push(format!("{dropped_regions} region(s) past the first {MAX_REGIONS} were not recorded"));
        out.complete = false;
    }
    if dropped_notes > 0 {
        out.notes.push(format!("{dropped_notes} note(s) or skipped region(s) past {MAX_NOTES} were ignored"));
    }
    Ok(out)
}

//! Parsing what the collection scripts print.
//!
//! Only lines that start with `@@CUSTODY <nonce> ` are markers; every other line is data, including
//! marker-looking lines with another nonce (an attacker who planted `@@CUSTODY … SECTION … END` in a
//! command line cannot end a section early). Parsing never fails: a collection cut short (inline
//! output truncated at 24,000 characters, a script killed by its timeout) parses into the sections
//! that arrived, with the rest reported missing or unterminated.

use crate::script::SECTIONS;
use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How a section ended, as the script said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionStatus {
    Ok,
    /// A fallback was used, or part of the data could not be read.
    Partial,
    /// Nothing could be read (tools missing, no permission).
    Unavailable,
    /// It began but its END never arrived (the output was cut).
    Unterminated,
}

/// One section of a collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    pub name: String,
    pub status: SectionStatus,
    /// The script's NOTE lines (a missing tool, a fallback).
    pub notes: Vec<String>,
    #[serde(skip)]
    pub body: String,
}

/// A parsed collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collection {
    /// `linux 1`: the platform and script version of the TRIAGE header, if it arrived.
    pub header: Option<String>,
    pub sections: Vec<Section>,
    /// The TRIAGE END marker arrived: the script ran to its end and nothing after it was cut.
    pub complete: bool,
    /// Expected sections that never began.
    pub missing: Vec<String>,
}

impl Collection {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
}

/// The marker of `line` (what follows `@@CUSTODY <nonce> `), if it is one of this run.
fn marker<'a>(line: &'a str, nonce: &str) -> Option<&'a str> {
    line.strip_prefix("@@CUSTODY ")?.strip_prefix(nonce)?.strip_prefix(' ')
}

/// Parses a collection's stdout.
pub fn parse_collection(text: &str, nonce: &str) -> Collection {
    let mut out = Collection { header: None, sections: Vec::new(), complete: false, missing: Vec::new() };
    let mut open: Option<Section> = None;
    for line in text.lines() {
        let Some(m) = marker(line.trim_end_matches('\r'), nonce) else {
            if let Some(s) = open.as_mut() {
                s.body.push_str(line);
                s.body.push('\n');
            }
            continue;
        };
        let words: Vec<&str> = m.split_whitespace().collect();
        match words.as_slice() {
            ["TRIAGE", "END"] => out.complete = true,
            ["TRIAGE", platform, version, "BEGIN"] => out.header = Some(format!("{platform} {version}")),
            ["SECTION", name, "BEGIN"] => {
                if let Some(s) = open.take() {
                    out.sections.push(s);
                }
                open = Some(Section {
                    name: (*name).to_string(),
                    status: SectionStatus::Unterminated,
                    notes: Vec::new(),
                    body: String::new(),
                });
            }
            ["SECTION", name, "END", status, ..] => {
                if let Some(mut s) = open.take() {
                    if s.name == *name {
                        s.status = match *status {
                            "ok" => SectionStatus::Ok,
                            "partial" => SectionStatus::Partial,
                            _ => SectionStatus::Unavailable,
                        };
                    }
                    out.sections.push(s);
                }
            }
            ["NOTE", ..] => {
                let note = m.trim_start_matches("NOTE").trim().to_string();
                if let Some(s) = open.as_mut() {
                    s.notes.push(note);
                }
            }
            _ => {}
        }
    }
    if let Some(s) = open.take() {
        out.sections.push(s);
    }
    out.missing = SECTIONS.iter().filter(|name| out.section(name).is_none()).map(|name| (*name).to_string()).collect();
    out
}

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

/// Standard base64 (RFC 4648 §4, padded) of a region, line breaks and other ASCII whitespace ignored;
/// `None` when it does not decode.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact).ok()
}

/// Parses a memory stream, decoding and re-hashing every region.
pub fn parse_memory(text: &str, nonce: &str) -> MemoryDump {
    let mut out = MemoryDump { processes: Vec::new(), notes: Vec::new(), complete: false, undecodable: 0 };
    // The region being received: its header and base64 text.
    let mut region: Option<(u64, String, String, String)> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let Some(m) = marker(line, nonce) else {
            if let Some((_, _, _, b64)) = region.as_mut() {
                b64.push_str(line);
            }
            continue;
        };
        let words: Vec<&str> = m.split_whitespace().collect();
        let current = out.processes.last_mut();
        match (words.as_slice(), current) {
            (["TRIAGE", "END"], _) => out.complete = true,
            (["MEMORY", pid, "BEGIN", ..], _) => {
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
            (["REGION", start, perms, path @ ..], _) => {
                let start = u64::from_str_radix(start, 16).unwrap_or(0);
                region = Some((start, (*perms).to_string(), path.join(" "), String::new()));
            }
            (["SHA256", sum, bytes], Some(p)) => {
                if let Some((start, perms, path, b64)) = region.take() {
                    let Some(data) = decode_base64(&b64) else {
                        out.undecodable += 1;
                        continue;
                    };
                    let received = hex::encode(Sha256::digest(&data));
                    let claimed_len = bytes.parse::<u64>().ok();
                    let len = data.len() as u64;
                    p.regions.push(Region {
                        start,
                        perms,
                        path,
                        bytes: len,
                        verified: *sum == received && claimed_len == Some(len),
                        sha256_on_instance: Some((*sum).to_string()),
                        sha256_received: received,
                    });
                }
            }
            (["LIMIT"], Some(p)) => p.limited = true,
            (["SKIP", range, ..], Some(p)) => p.skipped.push(format!("{range}: {}", words[2..].join(" "))),
            (["NOTE", ..], _) => out.notes.push(m.trim_start_matches("NOTE").trim().to_string()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
#[path = "parse/tests.rs"]
mod tests;

//! Parsing what the collection scripts print.
//!
//! Only lines that start with `@@CUSTODY <nonce> ` are markers; every other line is data, including
//! marker-looking lines with another nonce (an attacker who planted `@@CUSTODY … SECTION … END` in a
//! command line cannot end a section early). Parsing never fails: a collection cut short (inline
//! output truncated at 24,000 characters, a script killed by its timeout) parses into the sections
//! that arrived, with the rest reported missing or unterminated.
//!
//! ## What the instance cannot make it do
//!
//! The output is the instance's, and a compromised instance knows the nonce (it is in the command it
//! runs). So the parser reads from a stream ([`parse_collection_from`], [`parse_memory_from`]), one
//! line at a time, each line cut at [`MAX_LINE_BYTES`]; it keeps at most [`MAX_SECTIONS`] sections,
//! [`MAX_NOTES`] notes each, [`MAX_BODY_BYTES`] of section text in memory altogether, and for memory
//! [`memory::MAX_PROCESSES`] processes and [`memory::MAX_REGIONS`] regions, whose bytes are hashed as
//! they are decoded and never kept. Whatever goes past a limit is dropped and said in `notes`. Text is
//! returned as it arrived (invalid UTF-8 replaced): making it safe for a terminal is the printer's job.

mod lines;
mod memory;

pub use lines::MAX_LINE_BYTES;
pub use memory::{parse_memory, parse_memory_from, MemoryDump, ProcessDump, Region, MAX_PROCESSES, MAX_REGIONS};

use crate::script::SECTIONS;
use lines::Lines;
use serde::Serialize;
use std::io::{self, BufRead};

/// The most sections kept (the scripts print 11).
pub const MAX_SECTIONS: usize = 64;
/// The most notes kept per section (and per collection, per memory dump, per process's skips).
pub const MAX_NOTES: usize = 256;
/// The most section text kept in memory, all sections together; the output itself is on disk.
pub const MAX_BODY_BYTES: usize = 16 << 20;

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
    /// What the parser dropped to stay bounded (long lines, sections, notes, text past the limits).
    pub notes: Vec<String>,
}

impl Collection {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
}

/// The marker of `line` (what follows `@@CUSTODY <nonce> `), if it is one of this run.
pub(crate) fn marker<'a>(line: &'a str, nonce: &str) -> Option<&'a str> {
    line.strip_prefix("@@CUSTODY ")?.strip_prefix(nonce)?.strip_prefix(' ')
}

/// Pushes `note` unless `notes` is full; answers whether it was kept.
pub(crate) fn push_bounded(notes: &mut Vec<String>, note: String) -> bool {
    if notes.len() < MAX_NOTES {
        notes.push(note);
        true
    } else {
        false
    }
}

/// Parses a collection's stdout held in memory (the inline output: at most 24,000 characters).
pub fn parse_collection(text: &str, nonce: &str) -> Collection {
    // Reading from a slice cannot fail.
    parse_collection_from(text.as_bytes(), nonce).unwrap_or_else(|e| Collection {
        header: None,
        sections: Vec::new(),
        complete: false,
        missing: SECTIONS.iter().map(|s| (*s).to_string()).collect(),
        notes: vec![format!("the output could not be read: {e}")],
    })
}

/// Parses a collection's stdout from a stream (the S3 output, from its file on disk), within the
/// limits of this module. Fails only when `reader` does.
pub fn parse_collection_from(reader: impl BufRead, nonce: &str) -> io::Result<Collection> {
    let mut out =
        Collection { header: None, sections: Vec::new(), complete: false, missing: Vec::new(), notes: Vec::new() };
    let mut open: Option<Section> = None;
    let mut kept_bytes = 0usize;
    let (mut body_dropped, mut sections_dropped, mut notes_dropped) = (false, 0u64, 0u64);
    let mut lines = Lines::new(reader);
    while let Some(line) = lines.next_line()? {
        let Some(m) = marker(&line, nonce) else {
            if let Some(s) = open.as_mut() {
                if kept_bytes.saturating_add(line.len() + 1) <= MAX_BODY_BYTES {
                    kept_bytes += line.len() + 1;
                    s.body.push_str(&line);
                    s.body.push('\n');
                } else {
                    body_dropped = true;
                }
            }
            continue;
        };
        let mut words = m.split_whitespace();
        match (words.next(), words.next(), words.next(), words.next(), words.next()) {
            (Some("TRIAGE"), Some("END"), None, ..) => out.complete = true,
            (Some("TRIAGE"), Some(platform), Some(version), Some("BEGIN"), None) => {
                out.header = Some(format!("{platform} {version}"));
            }
            (Some("SECTION"), Some(name), Some("BEGIN"), None, _) => {
                if let Some(s) = open.take() {
                    out.sections.push(s);
                }
                if out.sections.len() < MAX_SECTIONS {
                    open = Some(Section {
                        name: name.to_string(),
                        status: SectionStatus::Unterminated,
                        notes: Vec::new(),
                        body: String::new(),
                    });
                } else {
                    sections_dropped += 1;
                }
            }
            (Some("SECTION"), Some(name), Some("END"), Some(status), _) => {
                if let Some(mut s) = open.take() {
                    if s.name == name {
                        s.status = match status {
                            "ok" => SectionStatus::Ok,
                            "partial" => SectionStatus::Partial,
                            _ => SectionStatus::Unavailable,
                        };
                    }
                    out.sections.push(s);
                }
            }
            (Some("NOTE"), ..) => {
                let note = m.trim_start_matches("NOTE").trim().to_string();
                if let Some(s) = open.as_mut() {
                    if !push_bounded(&mut s.notes, note) {
                        notes_dropped += 1;
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(s) = open.take() {
        out.sections.push(s);
    }
    out.missing = SECTIONS.iter().filter(|name| out.section(name).is_none()).map(|name| (*name).to_string()).collect();
    if lines.cut > 0 {
        out.notes.push(format!("{} line(s) longer than {MAX_LINE_BYTES} bytes were cut at that length", lines.cut));
    }
    if sections_dropped > 0 {
        out.notes.push(format!("{sections_dropped} section(s) past the first {MAX_SECTIONS} were ignored"));
    }
    if notes_dropped > 0 {
        out.notes.push(format!("{notes_dropped} note(s) past {MAX_NOTES} in one section were ignored"));
    }
    if body_dropped {
        out.notes.push(format!(
            "section text past the first {MAX_BODY_BYTES} bytes was not kept in memory (the whole output is in the \
             journaled artifact)"
        ));
    }
    Ok(out)
}

#[cfg(test)]
#[path = "parse/tests.rs"]
mod tests;

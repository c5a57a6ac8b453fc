//! Unit tests of the output parsing, on hand-written outputs (the real script's output is checked in
//! `tests/linux_script.rs`).

use super::*;
use base64::Engine as _;
use sha2::{Digest, Sha256};

fn decode_base64(text: &str) -> Option<(String, u64)> {
    memory::hash_base64(text)
}

fn hashed(plain: &[u8]) -> Option<(String, u64)> {
    Some((hex::encode(Sha256::digest(plain)), plain.len() as u64))
}

const N: &str = "0123abcd";

fn full() -> String {
    let mut out = format!("@@CUSTODY {N} TRIAGE linux 1 BEGIN\n");
    for s in SECTIONS {
        out.push_str(&format!("@@CUSTODY {N} SECTION {s} BEGIN\nline of {s}\n@@CUSTODY {N} SECTION {s} END ok\n"));
    }
    out.push_str(&format!("@@CUSTODY {N} TRIAGE END\n"));
    out
}

#[test]
fn a_whole_collection_has_every_section_and_is_complete() {
    let c = parse_collection(&full(), N);
    assert!(c.complete);
    assert_eq!(c.header.as_deref(), Some("linux 1"));
    assert!(c.missing.is_empty(), "{:?}", c.missing);
    assert_eq!(c.sections.len(), SECTIONS.len());
    assert_eq!(c.section("processes").unwrap().body, "line of processes\n");
    assert!(c.sections.iter().all(|s| s.status == SectionStatus::Ok));
}

#[test]
fn a_cut_collection_reports_the_unterminated_and_missing_sections() {
    // Inline output stops at 24,000 characters, wherever that falls.
    let text = full();
    let cut = &text[..text.find("line of histories").unwrap() + 4];
    let c = parse_collection(cut, N);
    assert!(!c.complete);
    assert_eq!(c.section("histories").unwrap().status, SectionStatus::Unterminated);
    assert_eq!(c.missing, ["scheduled", "services", "modules", "logs"]);
}

#[test]
fn markers_of_another_nonce_are_data() {
    // A process whose command line prints a fake END and a fake TRIAGE END.
    let text = format!(
        "@@CUSTODY {N} SECTION processes BEGIN\n@@CUSTODY ffff SECTION processes END ok\n@@CUSTODY ffff TRIAGE END\n"
    );
    let c = parse_collection(&text, N);
    assert!(!c.complete);
    let p = c.section("processes").unwrap();
    assert_eq!(p.status, SectionStatus::Unterminated);
    assert_eq!(p.body.lines().count(), 2);
}

#[test]
fn notes_and_statuses_are_kept() {
    let text = format!(
        "@@CUSTODY {N} SECTION modules BEGIN\n@@CUSTODY {N} NOTE unavailable: no lsmod\n@@CUSTODY {N} SECTION modules END unavailable\n\
         @@CUSTODY {N} SECTION network BEGIN\n@@CUSTODY {N} NOTE no ss or netstat\n@@CUSTODY {N} SECTION network END partial\n"
    );
    let c = parse_collection(&text, N);
    let m = c.section("modules").unwrap();
    assert_eq!(
        (m.status, m.notes.as_slice()),
        (SectionStatus::Unavailable, &["unavailable: no lsmod".to_string()][..])
    );
    assert_eq!(c.section("network").unwrap().status, SectionStatus::Partial);
}

#[test]
fn windows_line_endings_parse() {
    let text = full().replace('\n', "\r\n");
    let c = parse_collection(&text, N);
    assert!(c.complete && c.missing.is_empty());
}

fn region(start: &str, data: &[u8], claimed: Option<&str>) -> String {
    let b64 = encode(data);
    let sum = claimed.map(str::to_string).unwrap_or_else(|| hex::encode(Sha256::digest(data)));
    format!("@@CUSTODY {N} REGION {start} r--p /usr/bin/x\n{b64}\n@@CUSTODY {N} SHA256 {sum} {}\n", data.len())
}

/// The base64 the script's `base64 -w 76` prints: standard alphabet, padded, in lines of 76.
fn encode(data: &[u8]) -> String {
    let one_line = base64::engine::general_purpose::STANDARD.encode(data);
    one_line.as_bytes().chunks(76).map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>().join("\n")
}

#[test]
fn base64_decodes_across_line_breaks_and_refuses_garbage() {
    // RFC 4648 §10 test vectors.
    for (plain, encoded) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
        assert_eq!(decode_base64(encoded), hashed(plain.as_bytes()), "{encoded}");
    }
    assert_eq!(decode_base64("Zm9v\nYmFy\r\n"), hashed(b"foobar"));
    for bad in ["Zm9*", "Zm9", "Zg==Zg=="] {
        assert_eq!(decode_base64(bad), None, "{bad}");
    }
}

#[test]
fn memory_regions_are_decoded_and_rehashed() {
    let text = format!(
        "@@CUSTODY {N} TRIAGE linux 1 MEMORY\n@@CUSTODY {N} MEMORY 42 BEGIN /usr/bin/x --flag\n{}{}@@CUSTODY {N} SKIP 7f00-7f01 Input/output error\n@@CUSTODY {N} LIMIT\n@@CUSTODY {N} MEMORY 42 END\n@@CUSTODY {N} TRIAGE END\n",
        region("1000", b"hello memory", None),
        region("2000", &[0u8, 1, 2, 3, 255], None),
    );
    let d = parse_memory(&text, N);
    assert!(d.all_verified(), "{d:?}");
    let p = &d.processes[0];
    assert_eq!((p.pid.as_str(), p.description.as_str()), ("42", "/usr/bin/x --flag"));
    assert_eq!(p.regions.len(), 2);
    assert_eq!((p.regions[0].start, p.regions[0].bytes), (0x1000, 12));
    assert!(p.limited);
    assert_eq!(p.skipped, ["7f00-7f01: Input/output error"]);
}

#[test]
fn a_region_altered_in_transit_is_not_verified() {
    let wrong = "00".repeat(32);
    let text = format!(
        "@@CUSTODY {N} MEMORY 42 BEGIN x\n{}@@CUSTODY {N} MEMORY 42 END\n@@CUSTODY {N} TRIAGE END\n",
        region("1000", b"hello", Some(&wrong))
    );
    let d = parse_memory(&text, N);
    assert!(!d.all_verified());
    assert!(!d.processes[0].regions[0].verified);
}

#[test]
fn a_cut_memory_stream_is_not_verified() {
    let text = format!("@@CUSTODY {N} MEMORY 42 BEGIN x\n{}", region("1000", b"hello", None));
    let d = parse_memory(&text, N);
    assert!(!d.complete && !d.all_verified());
}

#[test]
fn base64_decodes_in_pieces_larger_than_one_chunk_and_padding_only_at_the_end() {
    // 200 KiB of data is three 64 KiB pieces of text and a tail: the hash is the same as in one go.
    let data: Vec<u8> = (0..200 * 1024 + 1).map(|n| (n % 251) as u8).collect();
    assert_eq!(decode_base64(&encode(&data)), hashed(&data));
    // Padding then more text is not one base64 string, even when the padding ends a piece.
    let mut text = encode(&vec![7u8; 3 * 16 * 1024 - 1]);
    text.push_str("\nQUJD\n");
    assert_eq!(decode_base64(&text), None);
}

#[test]
fn an_endless_section_keeps_only_the_bounded_text_and_says_so() {
    let line = "x".repeat(1023);
    let mut text = format!("@@CUSTODY {N} SECTION processes BEGIN\n");
    for _ in 0..(MAX_BODY_BYTES / 1024 + 10) {
        text.push_str(&line);
        text.push('\n');
    }
    let c = parse_collection(&text, N);
    assert!(c.section("processes").unwrap().body.len() <= MAX_BODY_BYTES);
    assert!(c.notes.iter().any(|n| n.contains("not kept in memory")), "{:?}", c.notes);
}

#[test]
fn sections_and_notes_past_their_limits_are_dropped_and_counted() {
    let mut text = format!("@@CUSTODY {N} SECTION s0 BEGIN\n");
    for n in 0..MAX_NOTES + 3 {
        text.push_str(&format!("@@CUSTODY {N} NOTE n{n}\n"));
    }
    for n in 1..MAX_SECTIONS + 5 {
        text.push_str(&format!("@@CUSTODY {N} SECTION s{n} BEGIN\n"));
    }
    let c = parse_collection(&text, N);
    assert_eq!(c.sections.len(), MAX_SECTIONS);
    assert_eq!(c.sections[0].notes.len(), MAX_NOTES);
    assert!(c.notes.iter().any(|n| n.starts_with("5 section(s)")), "{:?}", c.notes);
    assert!(c.notes.iter().any(|n| n.starts_with("3 note(s)")), "{:?}", c.notes);
}

#[test]
fn a_line_longer_than_the_limit_is_cut_and_said() {
    let text = format!("@@CUSTODY {N} SECTION processes BEGIN\n{}\nafter\n", "y".repeat(MAX_LINE_BYTES + 10));
    let c = parse_collection(&text, N);
    let body = &c.section("processes").unwrap().body;
    assert_eq!(body.len(), MAX_LINE_BYTES + 1 + "after\n".len());
    assert!(c.notes.iter().any(|n| n.starts_with("1 line(s) longer than")), "{:?}", c.notes);
}

#[test]
fn regions_past_the_limit_are_not_recorded_and_the_dump_is_not_complete() {
    let mut text = format!("@@CUSTODY {N} MEMORY 1 BEGIN x\n");
    let sum = hex::encode(Sha256::digest(b""));
    for _ in 0..MAX_REGIONS + 2 {
        text.push_str(&format!("@@CUSTODY {N} REGION 0 r\n@@CUSTODY {N} SHA256 {sum} 0\n"));
    }
    text.push_str(&format!("@@CUSTODY {N} MEMORY 1 END\n@@CUSTODY {N} TRIAGE END\n"));
    let d = parse_memory(&text, N);
    assert_eq!(d.processes[0].regions.len(), MAX_REGIONS);
    assert!(!d.complete && !d.all_verified());
}

//! The Linux collection script, run for real on this machine (it is read-only): every section
//! begins and ends, and a memory dump of a child process arrives whole and verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_triage::parse::{parse_collection, parse_memory, SectionStatus};
use custody_triage::script::{prepare, MemoryTarget, Platform, SECTIONS};
use std::process::Command;

/// Runs the commands exactly as they would be sent: the agent writes them into a script file run by
/// `sh`; here they go to `sh -c`, which writes nothing either.
fn run(commands: &[String]) -> String {
    let out = Command::new("sh").arg("-c").arg(commands.join("\n")).output().unwrap();
    assert!(out.status.success(), "the script failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[test]
fn the_linux_script_produces_every_section() {
    let prepared = prepare(Platform::Linux, "feedc0de", None);
    let out = run(&prepared.commands);
    let c = parse_collection(&out, "feedc0de");
    assert!(c.complete, "no TRIAGE END");
    assert_eq!(c.header.as_deref(), Some("linux 2"));
    assert!(c.missing.is_empty(), "missing: {:?}", c.missing);
    let names: Vec<&str> = c.sections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, SECTIONS);
    for s in &c.sections {
        assert_ne!(s.status, SectionStatus::Unterminated, "{}", s.name);
        // A section that could read nothing says why.
        if s.status == SectionStatus::Unavailable {
            assert!(s.notes.iter().any(|n| n.starts_with("unavailable:")), "{}: {:?}", s.name, s.notes);
        }
    }
    // This test's own process is in the process table, with its executable's hash.
    let me = std::process::id().to_string();
    let processes = &c.section("processes").unwrap().body;
    let line = processes.lines().find(|l| l.split('\t').next() == Some(me.as_str())).expect("this process is listed");
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields.len(), 6, "{line}");
    assert!(fields[4].len() == 64 || fields[4] == "-", "{line}");
    assert!(c.section("system").unwrap().body.contains("kernel: "));
}

#[test]
fn a_memory_dump_of_a_process_verifies_on_arrival() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let target = MemoryTarget::parse(&child.id().to_string()).unwrap();
    let prepared = prepare(Platform::Linux, "feedc0de", Some((&target, 256 * 1024)));
    let out = run(&prepared.commands);
    let _ = child.kill();
    let _ = child.wait();
    let dump = parse_memory(&out, "feedc0de");
    assert!(dump.all_verified(), "{:?}", dump.notes);
    let p = &dump.processes[0];
    assert_eq!(p.pid, child.id().to_string());
    assert!(!p.regions.is_empty());
    let total: u64 = p.regions.iter().map(|r| r.bytes).sum();
    assert!(total <= 256 * 1024, "the limit holds: {total}");
    assert!(p.regions.iter().any(|r| r.path.contains("sleep")), "the executable's mapping is there");
}

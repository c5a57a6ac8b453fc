//! A world that outlives its process: the state in a file, read at the start and brought up to date
//! after every call, so that crash tests can kill the real `custody` binary at any point and run it
//! again on the same cloud (`custody acquire --simulate INVENTORY --simulate-state FILE`; moto, the
//! other emulator, cannot share snapshots across accounts).
//!
//! The file is JSON lines. A header line, then for every save: the inventory copy (only when it
//! changed since the previous save), the rest of the state but the call log and the CloudTrail facts
//! (`rest`), and last the calls and facts made since the previous save. The last line commits the
//! save: a record read back counts only if a complete calls line (ending in a newline) follows it,
//! so a process killed at any point leaves either the world before the call or the world after it,
//! never half of one. As with AWS, a call that returned has taken effect, whatever the caller managed
//! to record of it. Nothing is synced to the disk: the tests kill processes, not machines.
//!
//! Why lines: the call log grows with every call, and writing the whole state after each one (as
//! this file once did) made a run's saves cost the square of its calls; they were a third of a
//! simulated acquisition's CPU time. A save now appends what the call added. The call log and the
//! facts are append-only (`call::run` pushes one of each and nothing edits them): a save checks the
//! last entry it wrote is unchanged and the logs did not shrink, and writes the whole file otherwise,
//! as it does the first time a process saves a file, when the file changed behind it, and when the
//! superseded records outweigh the live ones (`COMPACT_*`). A whole write goes to a temporary file
//! beside it, then renamed over it (a rename within a directory is atomic).

use super::state::State;
use super::trail::CallFacts;
use super::SimCall;
use custody_plan::inventory::Inventory;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// The first line of a state file.
const HEADER: &[u8] = b"{\"custody_simulated_cloud\":2}\n";
/// How each kind of line starts.
const INV: &[u8] = b"{\"inv\":";
const REST: &[u8] = b"{\"rest\":";
const CALLS: &[u8] = b"{\"calls_from\":";
/// A whole write when the superseded lines exceed twice the live ones plus this many bytes.
const COMPACT_SLACK: u64 = if cfg!(test) { 64 * 1024 } else { 1 << 20 };
const COMPACT_FACTOR: u64 = 2;
/// Files whose last save this process remembers, at most (beyond that it forgets them all).
const REMEMBERED: usize = 256;

/// What this process last wrote to a file, to append to it.
struct Written {
    /// The file as this process left it: its length and modification time.
    len: u64,
    modified: Option<SystemTime>,
    /// How many calls and facts it holds, and the last of each (to see they were not edited since).
    calls: usize,
    trail: usize,
    last_call: Option<SimCall>,
    last_fact: Option<CallFacts>,
    /// The inventory copy its last inventory line holds.
    inv: Inventory,
    /// The lengths of the live inventory and rest lines (superseded by the next of their kind).
    inv_line: u64,
    rest_line: u64,
    /// Bytes of lines superseded since the file was last written whole.
    waste: u64,
}

static WRITTEN: Mutex<BTreeMap<PathBuf, Written>> = Mutex::new(BTreeMap::new());

fn remembered() -> std::sync::MutexGuard<'static, BTreeMap<PathBuf, Written>> {
    WRITTEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads a world's state from `path`; `Ok(None)` if there is no such file.
pub(crate) fn load(path: &Path) -> Result<Option<State>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read the simulated cloud's state {}: {e}", path.display())),
    };
    parse(&bytes).map(Some).map_err(|e| format!("{}: not a simulated cloud's state file: {e}", path.display()))
}

/// A calls line.
#[derive(Deserialize)]
struct CallsLine {
    calls_from: usize,
    trail_from: usize,
    calls: Vec<SimCall>,
    trail: Vec<CallFacts>,
}

#[derive(Deserialize)]
struct InvLine {
    inv: Value,
}

#[derive(Deserialize)]
struct RestLine {
    rest: Map<String, Value>,
}

fn parse(bytes: &[u8]) -> Result<State, String> {
    let Some(mut body) = bytes.strip_prefix(HEADER) else {
        // A file written whole, as this module once did.
        return serde_json::from_slice(bytes).map_err(|e| e.to_string());
    };
    let (mut calls, mut trail): (Vec<SimCall>, Vec<CallFacts>) = (Vec::new(), Vec::new());
    let (mut inv, mut rest): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    let (mut next_inv, mut next_rest): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    // Complete lines only: a line without its newline is a save that did not finish.
    while let Some(end) = body.iter().position(|b| *b == b'\n') {
        let (line, more) = body.split_at(end);
        body = more.get(1..).unwrap_or_default();
        if line.starts_with(INV) {
            next_inv = Some(line);
        } else if line.starts_with(REST) {
            next_rest = Some(line);
        } else if line.starts_with(CALLS) {
            let added: CallsLine = serde_json::from_slice(line).map_err(|e| e.to_string())?;
            if added.calls_from != calls.len() || added.trail_from != trail.len() {
                return Err(format!(
                    "calls from {} and facts from {} follow {} calls and {} facts",
                    added.calls_from,
                    added.trail_from,
                    calls.len(),
                    trail.len()
                ));
            }
            calls.extend(added.calls);
            trail.extend(added.trail);
            inv = next_inv.take().or(inv);
            rest = Some(next_rest.take().ok_or("a save without the rest of the state")?);
        } else {
            return Err(format!("an unknown line: {}", String::from_utf8_lossy(line.get(..40).unwrap_or(line))));
        }
    }
    let (Some(inv), Some(rest)) = (inv, rest) else { return Err("no complete save".to_string()) };
    let inv: InvLine = serde_json::from_slice(inv).map_err(|e| e.to_string())?;
    let mut fields = serde_json::from_slice::<RestLine>(rest).map_err(|e| e.to_string())?.rest;
    fields.insert("inv".to_string(), inv.inv);
    fields.insert("calls".to_string(), Value::Array(Vec::new()));
    fields.insert("trail".to_string(), Value::Array(Vec::new()));
    let mut state: State = serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())?;
    state.calls = calls;
    state.trail = trail;
    Ok(state)
}

/// Brings the file at `path` up to `state`: appends what changed since this process last saved it,
/// or writes it whole, atomically (a temporary file beside it, renamed over it).
pub(crate) fn save(state: &State, path: &Path) -> std::io::Result<()> {
    let known = remembered().remove(path);
    let written = match known {
        Some(w) => match append(state, path, w)? {
            Some(w) => w,
            None => whole(state, path)?,
        },
        None => whole(state, path)?,
    };
    let mut all = remembered();
    if all.len() >= REMEMBERED {
        all.clear();
    }
    all.insert(path.to_path_buf(), written);
    Ok(())
}

/// Appends `state`'s news to the file as `w` says this process left it; `None` if the file must be
/// written whole instead.
fn append(state: &State, path: &Path, mut w: Written) -> std::io::Result<Option<Written>> {
    let edited = state.calls.len() < w.calls
        || state.trail.len() < w.trail
        || (w.calls > 0 && state.calls.get(w.calls - 1) != w.last_call.as_ref())
        || (w.trail > 0 && state.trail.get(w.trail - 1) != w.last_fact.as_ref());
    let live = w.len.saturating_sub(w.waste);
    if edited || w.waste > COMPACT_FACTOR * live + COMPACT_SLACK {
        return Ok(None);
    }
    let mut file = match std::fs::OpenOptions::new().append(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if meta.len() != w.len || meta.modified().ok() != w.modified {
        return Ok(None);
    }
    let mut buf = Vec::with_capacity(16 * 1024);
    let inv_changed = state.inv != w.inv;
    if inv_changed {
        inv_line(&mut buf, &state.inv)?;
    }
    let inv_line = buf.len() as u64;
    rest_line(&mut buf, state)?;
    let rest_line = buf.len() as u64 - inv_line;
    calls_line(&mut buf, state, w.calls, w.trail)?;
    file.write_all(&buf)?;
    w.modified = file.metadata()?.modified().ok();
    w.len += buf.len() as u64;
    w.waste += w.rest_line;
    w.rest_line = rest_line;
    if inv_changed {
        w.waste += w.inv_line;
        w.inv_line = inv_line;
        w.inv = state.inv.clone();
    }
    remember_logs(&mut w, state);
    Ok(Some(w))
}

/// Writes the whole file: the header, then one save of everything.
fn whole(state: &State, path: &Path) -> std::io::Result<Written> {
    let mut buf = HEADER.to_vec();
    inv_line(&mut buf, &state.inv)?;
    let inv_line = (buf.len() - HEADER.len()) as u64;
    rest_line(&mut buf, state)?;
    let rest_line = buf.len() as u64 - HEADER.len() as u64 - inv_line;
    calls_line(&mut buf, state, 0, 0)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(&buf)?;
    let modified = file.metadata()?.modified().ok();
    drop(file);
    std::fs::rename(&temp, path)?;
    let mut w = Written {
        len: buf.len() as u64,
        modified,
        calls: 0,
        trail: 0,
        last_call: None,
        last_fact: None,
        inv: state.inv.clone(),
        inv_line,
        rest_line,
        waste: 0,
    };
    remember_logs(&mut w, state);
    Ok(w)
}

fn remember_logs(w: &mut Written, state: &State) {
    w.calls = state.calls.len();
    w.trail = state.trail.len();
    w.last_call = state.calls.last().cloned();
    w.last_fact = state.trail.last().cloned();
}

fn inv_line(buf: &mut Vec<u8>, inv: &Inventory) -> std::io::Result<()> {
    buf.extend_from_slice(INV);
    serde_json::to_writer(&mut *buf, inv).map_err(std::io::Error::other)?;
    buf.extend_from_slice(b"}\n");
    Ok(())
}

fn rest_line(buf: &mut Vec<u8>, state: &State) -> std::io::Result<()> {
    buf.extend_from_slice(REST);
    // Without the inventory copy and the logs, which `State` leaves out of its serialization.
    serde_json::to_writer(&mut *buf, state).map_err(std::io::Error::other)?;
    buf.extend_from_slice(b"}\n");
    Ok(())
}

/// The calls and facts from `calls` and `trail` on.
fn calls_line(buf: &mut Vec<u8>, state: &State, calls: usize, trail: usize) -> std::io::Result<()> {
    write!(buf, "{{\"calls_from\":{calls},\"trail_from\":{trail},\"calls\":")?;
    serde_json::to_writer(&mut *buf, state.calls.get(calls..).unwrap_or_default()).map_err(std::io::Error::other)?;
    buf.extend_from_slice(b",\"trail\":");
    serde_json::to_writer(&mut *buf, state.trail.get(trail..).unwrap_or_default()).map_err(std::io::Error::other)?;
    buf.extend_from_slice(b"}\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

    use super::super::SimWorld;
    use super::*;
    use custody_plan::inventory::parse_inventory;

    const FORENSIC: &str = "arn:aws:iam::999999999999:role/CustodyForensic";
    const SOURCE: &str = "arn:aws:iam::111122223333:role/CustodySource";

    fn inventory(name: &str) -> custody_plan::inventory::Inventory {
        let path = format!("{}/../../examples/inventories/{name}", env!("CARGO_MANIFEST_DIR"));
        parse_inventory(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// A fresh path in the temporary directory (no file there yet).
    fn temp_file(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("custody-sim-persist-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("world.json")
    }

    fn examples() -> Vec<String> {
        let dir = format!("{}/../../examples/inventories", env!("CARGO_MANIFEST_DIR"));
        let mut out: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        out.sort();
        out
    }

    /// The whole state as JSON (as the earlier format wrote it), to compare two states.
    fn json(state: &State) -> Value {
        let mut all = serde_json::to_value(state).unwrap();
        all["inv"] = serde_json::to_value(&state.inv).unwrap();
        all["calls"] = serde_json::to_value(&state.calls).unwrap();
        all["trail"] = serde_json::to_value(&state.trail).unwrap();
        all
    }

    /// `calls` calls, each saved as it is made.
    fn calls_saved(state: &mut State, file: &Path, calls: std::ops::Range<usize>) {
        for n in calls {
            call(state, n);
            save(state, file).unwrap();
        }
    }

    /// What a new process would read from `file` (and it forgets what it wrote there).
    fn read_back(file: &Path) -> State {
        remembered().remove(file);
        load(file).unwrap().unwrap()
    }

    /// A call as `call::run` logs it, with its facts.
    fn call(state: &mut State, n: usize) {
        state.trail.push(CallFacts {
            call: state.calls.len(),
            time: 1_700_000_000 + n as i64,
            request_id: format!("req-{n}"),
            role: FORENSIC.to_string(),
            request: Some(serde_json::json!({"n": n, "text": "line\nbreak \"quoted\""})),
            ..CallFacts::default()
        });
        state.calls.push(SimCall {
            principal: FORENSIC.to_string(),
            api: "ec2:DescribeSnapshots".to_string(),
            account: "999999999999".to_string(),
            region: "eu-west-1".to_string(),
            params: format!("call {n}"),
            decisions: Vec::new(),
            result: if n.is_multiple_of(3) { Err("Code: message".to_string()) } else { Ok(format!("snap-{n}")) },
        });
    }

    #[test]
    fn every_example_world_reads_back_as_it_was_written() {
        for name in examples() {
            let state = State::new(&inventory(&name)).unwrap();
            let text = json(&state);
            let back: State = serde_json::from_value(text.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(json(&back), text, "{name}");
            let file = temp_file(&format!("example-{name}"));
            save(&state, &file).unwrap();
            assert_eq!(json(&read_back(&file)), text, "{name}, through the file");
        }
    }

    #[test]
    fn saves_append_what_changed_and_read_back_as_the_world_in_memory() {
        let file = temp_file("appends");
        let mut state = State::new(&inventory("5-cross-account-grant-only.json")).unwrap();
        save(&state, &file).unwrap();
        let whole = std::fs::metadata(&file).unwrap().len();
        for n in 0..30 {
            call(&mut state, n);
            let edits = n % 7 == 3;
            if edits {
                // A call that edits the inventory copy (an alias, as CreateAlias does).
                state.inv.keys[0].aliases.push(format!("alias/custody-{n}"));
            }
            let before = std::fs::metadata(&file).unwrap().len();
            save(&state, &file).unwrap();
            let after = std::fs::metadata(&file).unwrap().len();
            assert!(after > before && (edits || after - before < whole / 2), "call {n}: appended {}", after - before);
            if n.is_multiple_of(5) {
                assert_eq!(json(&load(&file).unwrap().unwrap()), json(&state), "after call {n}");
            }
        }
        // A new process goes on from the file: its first save writes it whole, then appends.
        let mut again = read_back(&file);
        assert_eq!(json(&again), json(&state));
        calls_saved(&mut again, &file, 30..40);
        assert_eq!(json(&read_back(&file)), json(&again));
    }

    #[test]
    fn a_save_cut_short_reads_back_as_the_world_before_it() {
        let file = temp_file("cut");
        let mut state = State::new(&inventory("8-cross-account-aws-managed.json")).unwrap();
        calls_saved(&mut state, &file, 0..4);
        let before = json(&state);
        let complete = std::fs::read(&file).unwrap();
        call(&mut state, 4);
        state.inv.keys[0].aliases.push("alias/custody-cut".to_string());
        save(&state, &file).unwrap();
        let bytes = std::fs::read(&file).unwrap();
        assert!(bytes.starts_with(&complete), "the save appended");
        // Cut around each line's end (just before and just after its newline: a complete inventory or
        // rest line without its calls line commits nothing), and at every 101st byte between.
        let ends = (complete.len()..bytes.len()).filter(|&i| bytes[i] == b'\n');
        let cuts = ends.flat_map(|i| i.saturating_sub(2)..=i + 1).chain((complete.len()..bytes.len()).step_by(101));
        for cut in cuts.filter(|&cut| cut < bytes.len()) {
            let back = parse(&bytes[..cut]).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            assert_eq!(json(&back), before, "cut at {cut} of {}", bytes.len());
        }
        assert_eq!(json(&parse(&bytes).unwrap()), json(&state));
        // A process that finds a save cut short goes on from the world before it.
        std::fs::write(&file, &bytes[..bytes.len() - 10]).unwrap();
        let mut again = read_back(&file);
        call(&mut again, 5);
        save(&again, &file).unwrap();
        assert_eq!(json(&read_back(&file)), json(&again));
    }

    #[test]
    fn an_edited_or_replaced_file_is_written_whole() {
        let file = temp_file("edited");
        let mut state = State::new(&inventory("3-customer-key-same-account.json")).unwrap();
        calls_saved(&mut state, &file, 0..3);
        // The last call edited after it was saved, then the log cut shorter: both written whole.
        state.calls.last_mut().unwrap().params = "edited".to_string();
        save(&state, &file).unwrap();
        assert_eq!(json(&read_back(&file)), json(&state));
        save(&state, &file).unwrap();
        state.calls.pop();
        state.trail.pop();
        save(&state, &file).unwrap();
        assert_eq!(json(&read_back(&file)), json(&state));
        // The file replaced behind the process's back (another world saved there).
        save(&state, &file).unwrap();
        let other = State::new(&inventory("1-unencrypted.json")).unwrap();
        let elsewhere = temp_file("elsewhere");
        save(&other, &elsewhere).unwrap();
        std::fs::rename(&elsewhere, &file).unwrap();
        call(&mut state, 9);
        save(&state, &file).unwrap();
        assert_eq!(json(&read_back(&file)), json(&state));
    }

    #[test]
    fn superseded_records_are_compacted() {
        let file = temp_file("compacted");
        let mut state = State::new(&inventory("8-cross-account-aws-managed.json")).unwrap();
        let mut largest = 0;
        let mut rewritten = false;
        for n in 0..150 {
            call(&mut state, n);
            let before = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            save(&state, &file).unwrap();
            let after = std::fs::metadata(&file).unwrap().len();
            rewritten |= after < before;
            largest = largest.max(after);
        }
        let w = remembered().remove(&file).unwrap();
        let live = w.len - w.waste;
        assert!(rewritten, "never written whole again");
        assert!(largest <= (COMPACT_FACTOR + 1) * live + COMPACT_SLACK + 64 * 1024, "{largest} bytes, {live} live");
        assert_eq!(json(&read_back(&file)), json(&state));
    }

    #[test]
    fn a_file_written_whole_by_the_earlier_format_still_reads() {
        let file = temp_file("earlier");
        let mut state = State::new(&inventory("6-cross-account-direct.json")).unwrap();
        call(&mut state, 0);
        std::fs::write(&file, serde_json::to_vec(&json(&state)).unwrap()).unwrap();
        assert_eq!(json(&read_back(&file)), json(&state));
    }

    #[tokio::test]
    async fn a_call_has_reached_the_file_when_it_answers_and_a_new_process_finds_it() {
        let file = temp_file("answers");
        let inv = inventory("5-cross-account-grant-only.json");
        let world = SimWorld::persistent(&inv, &file).unwrap();
        assert!(file.exists(), "the seeded world is written at once");
        let tags: BTreeMap<String, String> = [("CustodyCase".to_string(), "C1".to_string())].into();
        let ec2 = world.cloud_as(SOURCE, "s").ec2("eu-west-1");
        let made = ec2.create_snapshots("i-05e5e5e5e5e5e5e5e", "d", &tags).await.unwrap().value;
        // What another process would read now, the call having answered.
        let seen = SimWorld::load(&file).unwrap();
        let ids: Vec<String> = seen.snapshots().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, made.iter().map(|s| s.id.clone()).collect::<Vec<_>>());
        assert_eq!(seen.calls(), world.calls());
        // Opened again with the inventory, the file wins: the world goes on, ids and clock included.
        let again = SimWorld::persistent(&inv, &file).unwrap();
        assert_eq!(again.snapshots().len(), 3);
        let ec2 = again.cloud_as(SOURCE, "s").ec2("eu-west-1");
        let more = ec2.create_snapshots("i-05e5e5e5e5e5e5e5e", "d", &tags).await.unwrap().value;
        assert!(more.iter().all(|s| !ids.contains(&s.id)), "new ids, not the first run's again");
        assert_eq!(SimWorld::load(&file).unwrap().snapshots().len(), 6);
    }

    #[tokio::test]
    async fn a_world_in_memory_writes_no_file() {
        let world = SimWorld::new(&inventory("1-unencrypted.json")).unwrap();
        assert!(world.file.is_none());
        let _ = world.cloud_as(FORENSIC, "s").sts().get_caller_identity().await.unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_world_is_refused_naming_it() {
        let file = temp_file("bad");
        for text in ["{\"not\": \"a world\"}", "{\"custody_simulated_cloud\":2}\n{\"other\":1}\n", ""] {
            std::fs::write(&file, text).unwrap();
            let err = SimWorld::persistent(&inventory("1-unencrypted.json"), &file).unwrap_err();
            assert!(
                err.contains(&file.display().to_string()) && err.contains("not a simulated cloud's state file"),
                "{err}"
            );
            assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "left as it was");
        }
    }
}

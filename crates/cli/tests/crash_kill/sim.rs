//! The kill matrix on the simulated cloud: every path of the plan, every journal write, both ways to
//! die, then a resume and (separately) a cleanup; with look-ups that lag behind creation in one
//! variant; and cleanup killed at each of its own writes.

use crate::support::*;
use custody_sim::SimWorld;

/// How a run never killed ends.
struct Baseline {
    shape: Vec<Shape>,
    created: Created,
    volumes: Vec<String>,
    /// The volumes whose evidence is their source snapshot (paths 1 and 9).
    source_held: Vec<String>,
}

impl Baseline {
    fn source_held(&self, volume: &str) -> bool {
        self.source_held.iter().any(|v| v == volume)
    }
}

fn baseline(e: Example, lag: u64) -> Baseline {
    let site = Site::new(e, lag);
    let ran = site.acquire(None);
    assert_eq!(ran.code, Some(0), "{}: the run never killed fails: {}", e.file, ran.said());
    let volumes = volumes(e);
    let shape = shapes(&site.evidence());
    assert_eq!(shape.len(), volumes.len(), "{}: one evidence item per volume", e.file);
    let world = site.world();
    let snapshots = world.snapshots();
    let source_held = site
        .evidence()
        .into_iter()
        .filter(|e| snapshots.iter().any(|s| s.id == e.snapshot && s.volume_id.as_deref() == Some(e.volume.as_str())))
        .map(|e| e.volume)
        .collect();
    Baseline { shape, created: created(&world, &volumes), volumes, source_held }
}

/// What is wrong with a case a resume finished, in words (empty: nothing).
fn resumed_wrong(site: &Site, base: &Baseline) -> Vec<String> {
    let mut wrong = Vec::new();
    let evidence = site.evidence();
    let world = site.world();
    let snapshots = world.snapshots();
    // Same evidence.
    if shapes(&evidence) != base.shape {
        wrong.push(format!("the evidence differs from the run never killed: {:?}", shapes(&evidence)));
    }
    for e in &evidence {
        match snapshots.iter().find(|s| s.id == e.snapshot) {
            None => wrong.push(format!("evidence {} of {} is not in the cloud", e.snapshot, e.volume)),
            Some(s) if s.state != "completed" => wrong.push(format!("evidence {} is {}", s.id, s.state)),
            Some(s) if !marked(s) => wrong.push(format!("evidence {} is not tagged CustodyEvidence=true", s.id)),
            Some(_) => {}
        }
    }
    // Nothing temporary left.
    let ids: Vec<String> = evidence.iter().map(|e| e.snapshot.clone()).collect();
    wrong.extend(world.leftovers(CASE, &ids, "custody").into_iter().map(|l| format!("left: {l}")));
    wrong.extend(site.open_temporaries().into_iter().map(|t| format!("open in the journal: {t}")));
    // No volume without a copy.
    for b in &base.shape {
        if holders(&snapshots, b, base.source_held(&b.volume)).is_empty() {
            wrong.push(format!("{} has no completed copy in {} {}", b.volume, b.account, b.region));
        }
    }
    // Nothing created twice.
    let made = created(&world, &base.volumes);
    if made != base.created {
        wrong.push(format!("created {made:?}, the run never killed {:?}", base.created));
    }
    wrong
}

/// What is wrong with a case cleaned up after a kill (`before`: the world as the kill left it).
fn cleaned_wrong(before: &SimWorld, site: &Site, base: &Baseline) -> Vec<String> {
    let mut wrong = Vec::new();
    let (was, world) = (before.snapshots(), site.world());
    let now = world.snapshots();
    let mut keep: Vec<String> = Vec::new();
    for b in &base.shape {
        let held = base.source_held(&b.volume);
        let copies_before = holders(&was, b, held);
        // A completed evidence copy is never deleted.
        for c in &copies_before {
            if !now.iter().any(|s| s.id == c.id) {
                wrong.push(format!("cleanup deleted {}, a completed copy of {}", c.id, b.volume));
            }
        }
        let copies = holders(&now, b, held);
        keep.extend(copies.iter().map(|s| s.id.clone()));
        if copies.is_empty() {
            // No completed copy: the source snapshot is the evidence, and stays.
            let sources_before = sources(&was, &b.volume);
            let sources_now = sources(&now, &b.volume);
            if !sources_before.is_empty() && sources_now.is_empty() {
                wrong.push(format!("{} has no copy left: cleanup deleted its source snapshot", b.volume));
            }
            keep.extend(sources_now.iter().map(|s| s.id.clone()));
        }
    }
    // Nothing temporary left beside what holds evidence.
    wrong.extend(world.leftovers(CASE, &keep, "custody").into_iter().map(|l| format!("left: {l}")));
    // Nothing created twice: cleanup makes no snapshot, key or alias, and never more of anything than
    // the run never killed made (it may create a grant by name to learn its id, and retire it).
    let (made, had) = (created(&world, &base.volumes), created(before, &base.volumes));
    if (&made.snapshots_per_volume, made.keys, made.aliases) != (&had.snapshots_per_volume, had.keys, had.aliases)
        || made.grants > base.created.grants
    {
        wrong.push(format!("cleanup created: {made:?}, before it {had:?}"));
    }
    wrong
}

/// Goes on as the examiner would after a kill: `--resume`, or, when the run died before its plan
/// was journaled (it had done nothing in AWS), the same acquisition again.
fn go_on(site: &Site) -> Result<(), String> {
    let ran = if site.journaled() {
        site.resume(None)
    } else {
        if site.world().snapshots().iter().any(of_case) {
            return Err("killed before its plan was journaled, yet snapshots of the case exist".to_string());
        }
        site.acquire(None)
    };
    if ran.code == Some(0) {
        Ok(())
    } else {
        Err(format!("the resume failed: {}", ran.said()))
    }
}

/// What the matrix found for one example and one way to die.
struct Matrix {
    /// Journal writes of the run never killed.
    writes: u64,
    failures: Vec<String>,
}

/// How many journal writes the acquisition of `e` makes: the largest N at which a run killed right
/// after its N-th write is killed (exponential, then binary search).
fn writes(e: Example, lag: u64) -> u64 {
    let killed = |n: u64| Site::new(e, lag).acquire(Some(Kill::After(n))).aborted();
    assert!(killed(1), "{}: not even killed after its first journal write", e.file);
    let (mut lo, mut hi) = (1, 2);
    while killed(hi) {
        (lo, hi) = (hi, hi * 2);
        assert!(hi < 10_000, "{}: still killed after {lo} writes", e.file);
    }
    // killed(lo), not killed(hi).
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if killed(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Kill points run at once: each process mostly waits (the simulated cloud's quick polls).
const WORKERS: usize = 6;

/// Kills `e`'s acquisition at every write (`kill(n)` for n = 1, 2, … until a run is no longer
/// killed: it made fewer writes than n), then resumes it (`resume`) and, on a copy, cleans it up
/// (`cleanup`), kill points in parallel. The run that is not killed must end as the run never
/// killed did; every kill point before it must kill.
fn matrix(e: Example, lag: u64, kill: fn(u64) -> Kill, resume: bool, cleanup: bool) -> Matrix {
    use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
    let base = baseline(e, lag);
    let next = AtomicU64::new(1);
    // The first kill point whose run was not killed (workers take kill points in order, so every
    // one before it is run).
    let end = AtomicU64::new(u64::MAX);
    let failures = std::sync::Mutex::new(Vec::new());
    // The last kill point that killed.
    let last = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let n = next.fetch_add(1, SeqCst);
                if n >= end.load(SeqCst) {
                    break;
                }
                if n >= 10_000 {
                    failures.lock().unwrap().push(format!("{}: still killed at 10000 writes", kill(n)));
                    end.fetch_min(n, SeqCst);
                    break;
                }
                match kill_point(e, lag, kill(n), &base, resume, cleanup) {
                    Point::Killed(found) => {
                        last.fetch_max(n, SeqCst);
                        failures.lock().unwrap().extend(found);
                    }
                    Point::Finished(site, ran) => {
                        end.fetch_min(n, SeqCst);
                        let k = kill(n);
                        let mut found = Vec::new();
                        if ran.code != Some(0) {
                            found.push(format!("{k}: the run was not killed, and failed: {}", ran.said()));
                        } else if shapes(&site.evidence()) != base.shape {
                            found.push(format!("{k}: not killed, its evidence differs from the run never killed"));
                        }
                        failures.lock().unwrap().extend(found);
                    }
                }
            });
        }
    });
    let (end, last) = (end.into_inner(), last.into_inner());
    let mut failures = failures.into_inner().unwrap();
    // A kill point past the end runs only if a worker took it before the end was found: it must not
    // kill either (a run makes the same writes every time).
    if last > end {
        failures.push(format!("{}: killed, yet a run with {} was not: runs differ", kill(last), kill(end)));
    }
    failures.sort_by_key(|f| f.split(|c: char| !c.is_ascii_digit()).find_map(|d| d.parse::<u64>().ok()));
    Matrix { writes: end.saturating_sub(1), failures }
}

/// What one kill point found: the run killed, and the failures of going on from there; or the run
/// not killed (it made fewer writes than the kill point), with its site.
enum Point {
    Killed(Vec<String>),
    Finished(Site, Ran),
}

/// One kill point.
fn kill_point(e: Example, lag: u64, k: Kill, base: &Baseline, resume: bool, cleanup: bool) -> Point {
    let mut failures = Vec::new();
    let site = Site::new(e, lag);
    let ran = site.acquire(Some(k));
    if !ran.aborted() {
        return Point::Finished(site, ran);
    }
    let spare = cleanup.then(|| site.copy());
    if resume {
        match go_on(&site) {
            Ok(()) => failures.extend(resumed_wrong(&site, base).into_iter().map(|w| format!("{k}, resume: {w}"))),
            Err(why) => failures.push(format!("{k}, resume: {why}")),
        }
    }
    if let Some(spare) = spare {
        let before = spare.world();
        let ran = spare.cleanup(None);
        if spare.journaled() && ran.code != Some(0) {
            failures.push(format!("{k}, cleanup: failed: {}", ran.said()));
        }
        failures.extend(cleaned_wrong(&before, &spare, base).into_iter().map(|w| format!("{k}, cleanup: {w}")));
    }
    Point::Killed(failures)
}

/// Runs the matrix and fails with every failure, first lines first.
fn assert_matrix(e: Example, lag: u64, kill: fn(u64) -> Kill, resume: bool, cleanup: bool) {
    let m = matrix(e, lag, kill, resume, cleanup);
    eprintln!("{}: {} journal writes, {} kill points, {} failures", e.file, m.writes, m.writes, m.failures.len());
    assert!(m.writes >= 5, "{}: only {} journal writes", e.file, m.writes);
    assert!(m.failures.is_empty(), "{}: {} failure(s):\n{}", e.file, m.failures.len(), m.failures.join("\n"));
}

macro_rules! kill_matrix {
    ($($name:ident: $example:expr, lag $lag:expr, $kill:expr, resume $resume:expr, cleanup $cleanup:expr;)*) => {
        $(
            #[test]
            fn $name() {
                assert_matrix($example, $lag, $kill, $resume, $cleanup);
            }
        )*
    };
}

// Killed when asking for the N-th write: the lost answers (and every state between two calls).
kill_matrix! {
    path_1_killed_at_every_journal_write_resumes_and_cleans_up: PATH_1, lag 0, Kill::At, resume true, cleanup true;
    path_2_killed_at_every_journal_write_resumes_and_cleans_up: PATH_2, lag 0, Kill::At, resume true, cleanup true;
    path_3_killed_at_every_journal_write_resumes_and_cleans_up: PATH_3, lag 0, Kill::At, resume true, cleanup true;
    path_4_killed_at_every_journal_write_resumes_and_cleans_up: PATH_4, lag 0, Kill::At, resume true, cleanup true;
    path_5_killed_at_every_journal_write_resumes_and_cleans_up: PATH_5, lag 0, Kill::At, resume true, cleanup true;
    path_6_killed_at_every_journal_write_resumes_and_cleans_up: PATH_6, lag 0, Kill::At, resume true, cleanup true;
    path_7_killed_at_every_journal_write_resumes_and_cleans_up: PATH_7, lag 0, Kill::At, resume true, cleanup true;
    path_8_killed_at_every_journal_write_resumes_and_cleans_up: PATH_8, lag 0, Kill::At, resume true, cleanup true;
    path_9_killed_at_every_journal_write_resumes_and_cleans_up: PATH_9, lag 0, Kill::At, resume true, cleanup true;
    service_linked_killed_at_every_journal_write_resumes_and_cleans_up: SERVICE_LINKED, lag 0, Kill::At, resume true, cleanup true;
}

// Killed right after the N-th write: an intended call that never happened.
kill_matrix! {
    path_1_killed_after_every_journal_write_resumes_and_cleans_up: PATH_1, lag 0, Kill::After, resume true, cleanup true;
    path_2_killed_after_every_journal_write_resumes_and_cleans_up: PATH_2, lag 0, Kill::After, resume true, cleanup true;
    path_3_killed_after_every_journal_write_resumes_and_cleans_up: PATH_3, lag 0, Kill::After, resume true, cleanup true;
    path_4_killed_after_every_journal_write_resumes_and_cleans_up: PATH_4, lag 0, Kill::After, resume true, cleanup true;
    path_5_killed_after_every_journal_write_resumes_and_cleans_up: PATH_5, lag 0, Kill::After, resume true, cleanup true;
    path_6_killed_after_every_journal_write_resumes_and_cleans_up: PATH_6, lag 0, Kill::After, resume true, cleanup true;
    path_7_killed_after_every_journal_write_resumes_and_cleans_up: PATH_7, lag 0, Kill::After, resume true, cleanup true;
    path_8_killed_after_every_journal_write_resumes_and_cleans_up: PATH_8, lag 0, Kill::After, resume true, cleanup true;
    path_9_killed_after_every_journal_write_resumes_and_cleans_up: PATH_9, lag 0, Kill::After, resume true, cleanup true;
    service_linked_killed_after_every_journal_write_resumes_and_cleans_up: SERVICE_LINKED, lag 0, Kill::After, resume true, cleanup true;
}

/// Look-ups that lag: what a lost answer created is listed only this many calls later, so a resume
/// that looks once and creates again would make a second snapshot, copy or key.
const LAG: u64 = 12;

// Lost answers with lagging look-ups: a fast resume (and a cleanup) must look again for a bounded
// time, never create twice: the snapshots of CreateSnapshots, the copies, and the temporary key of
// path 8, whose CreateKey has no idempotency token and is found only in ListKeys.
kill_matrix! {
    path_2_with_lagging_look_ups_never_creates_twice: PATH_2, lag LAG, Kill::At, resume true, cleanup true;
    path_4_with_lagging_look_ups_never_creates_twice: PATH_4, lag LAG, Kill::At, resume true, cleanup true;
    path_5_with_lagging_look_ups_never_creates_twice: PATH_5, lag LAG, Kill::At, resume true, cleanup true;
    path_6_with_lagging_look_ups_never_creates_twice: PATH_6, lag LAG, Kill::At, resume true, cleanup true;
    path_8_with_lagging_look_ups_never_creates_twice: PATH_8, lag LAG, Kill::At, resume true, cleanup true;
}

/// Kills `e`'s acquisition at `fractions` of its writes, then cleanup at each of its own writes
/// (both ways to die), then cleanup again in a fresh process.
fn cleanup_killed_at_every_write(e: Example, lag: u64) {
    let base = baseline(e, lag);
    let writes = writes(e, lag);
    let mut failures = Vec::new();
    for n in [writes / 3, writes / 2, 2 * writes / 3, writes - 2] {
        let site = Site::new(e, lag);
        assert!(site.acquire(Some(Kill::At(n))).aborted(), "{}: at write {n}", e.file);
        let before = site.world();
        for kill in [Kill::At as fn(u64) -> Kill, Kill::After] {
            let mut m = 1;
            loop {
                let copy = site.copy();
                let ran = copy.cleanup(Some(kill(m)));
                if !ran.aborted() {
                    break;
                }
                let again = copy.cleanup(None);
                let label = format!("acquire killed at write {n}, cleanup killed {}", kill(m));
                if again.code != Some(0) {
                    failures.push(format!("{label}: the second cleanup failed: {}", again.said()));
                }
                failures.extend(cleaned_wrong(&before, &copy, &base).into_iter().map(|w| format!("{label}: {w}")));
                m += 1;
                assert!(m < 500, "{}: cleanup still killed after 500 writes", e.file);
            }
            if m == 1 {
                failures.push(format!("acquire killed at write {n}: cleanup wrote nothing to the journal"));
            }
        }
    }
    assert!(failures.is_empty(), "{}: {} failure(s):\n{}", e.file, failures.len(), failures.join("\n"));
}

#[test]
fn cleanup_of_path_5_killed_at_each_of_its_writes_then_run_again_keeps_every_volume_s_evidence() {
    cleanup_killed_at_every_write(PATH_5, 0);
}

#[test]
fn cleanup_of_path_8_killed_at_each_of_its_writes_then_run_again_keeps_every_volume_s_evidence() {
    cleanup_killed_at_every_write(PATH_8, 0);
}

#[test]
fn cleanup_of_path_4_killed_at_each_of_its_writes_then_run_again_keeps_every_volume_s_evidence() {
    cleanup_killed_at_every_write(PATH_4, LAG);
}

//! The kill matrix on moto, for the same-account paths the seeded incident takes (its root volume
//! under `aws/ebs`, its data volume under a customer key): into the same Region, paths 2 and 3; into
//! another Region, path 4 (`crates/cli/tests/acquire_moto.rs` seeds it the same way). One moto
//! server per test, a freshly seeded incident per kill point and per way to go on (moto's state
//! cannot be copied), three kill points at a time (each mostly waits for moto). moto answers in
//! seconds, not milliseconds, so each test kills at every [`STEP`]-th journal write from its own first
//! one (1, 1 + STEP, …; 2, 2 + STEP, …), killed when the write is asked for: [`STEP`] tests per Region
//! cover every write (the suite runs the first). The simulated cloud covers every write both ways to
//! die (`sim`).
//!
//! What is checked where moto allows: the same evidence as a run never killed (journal), nothing
//! tagged with the case left but the evidence (DescribeSnapshots by tag in both Regions, and nothing
//! open in the journal), and each volume with exactly one snapshot tagged for it in the evidence's
//! Region (a duplicate deleted since cannot be seen on moto: the simulated cloud counts every call).

use crate::support::{shapes, Evidence, Kill, Shape, SIGABRT};
use custody_cloud::testing::{seed_acquisition_incident, seed_forensic_role, AcquisitionIncident, Moto, MOTO_ACCOUNT};
use custody_journal::Journal;
use serde_json::Value;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;

const REGION: &str = "us-east-1";
const OTHER_REGION: &str = "us-west-2";

/// Every how many journal writes a kill point is taken.
const STEP: u64 = 4;

struct World {
    moto: Moto,
    role_arn: String,
    root: PathBuf,
    dest_region: &'static str,
}

/// `custody args…` against moto: (exit code, signal, stderr).
async fn custody(moto: &Moto, args: &[String], kill: Option<Kill>) -> (Option<i32>, Option<i32>, String) {
    let mut cmd = moto.command(env!("CARGO_BIN_EXE_custody"), REGION).unwrap();
    if let Some(Kill::At(n)) = kill {
        cmd.env("CUSTODY_TEST_ABORT_AT_JOURNAL_WRITE", n.to_string());
    }
    if let Some(Kill::After(n)) = kill {
        cmd.env("CUSTODY_TEST_ABORT_AFTER_JOURNAL_WRITES", n.to_string());
    }
    let out = tokio::process::Command::from(cmd).args(args).output().await.unwrap();
    (out.status.code(), out.status.signal(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A moto server and the forensic role; `shard` names the directory of its journals (each test its own).
async fn world(dest_region: &'static str, shard: u64) -> World {
    let moto = Moto::start().await.unwrap();
    let config = moto.sdk_config(REGION).await.unwrap();
    let regions = format!("{REGION},{OTHER_REGION}");
    let args: Vec<String> = [
        "policy",
        "role",
        "--features",
        "acquire,cleanup",
        "--kms",
        "direct",
        "--forensic-account",
        MOTO_ACCOUNT,
        "--forensic-region",
        dest_region,
        "--regions",
        &regions,
        "--source-accounts",
        MOTO_ACCOUNT,
    ]
    .map(String::from)
    .to_vec();
    let mut cmd = moto.command(env!("CARGO_BIN_EXE_custody"), REGION).unwrap();
    let out = cmd.args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let generated: Value = serde_json::from_slice(&out.stdout).unwrap();
    let role_arn = seed_forensic_role(&config, "CustodyForensic", &generated["forensic_role"]["policy"]).await.unwrap();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("crash-moto-{dest_region}-{shard}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    World { moto, role_arn, root, dest_region }
}

/// One incident and the journal of its case.
struct Run {
    case: String,
    incident: AcquisitionIncident,
    data: PathBuf,
}

impl World {
    async fn incident(&self, case: &str) -> Run {
        let config = self.moto.sdk_config(REGION).await.unwrap();
        let incident = seed_acquisition_incident(&config, self.dest_region).await.unwrap();
        Run { case: case.to_string(), incident, data: self.root.join(case) }
    }

    async fn acquire(&self, run: &Run, kill: Option<Kill>) -> (Option<i32>, Option<i32>, String) {
        let args: Vec<String> = [
            "acquire",
            &run.incident.instance_id,
            "--case",
            &run.case,
            "--to",
            &format!("{MOTO_ACCOUNT}:{}", self.dest_region),
            "--forensic-role-arn",
            &self.role_arn,
            "--forensic-key-arn",
            &run.incident.forensic_key_arn,
            "--data-dir",
            run.data.to_str().unwrap(),
            "--json",
        ]
        .map(String::from)
        .to_vec();
        custody(&self.moto, &args, kill).await
    }

    async fn resume(&self, run: &Run) -> (Option<i32>, Option<i32>, String) {
        let args = ["acquire", "--resume", &run.case, "--data-dir", run.data.to_str().unwrap(), "--json"];
        custody(&self.moto, &args.map(String::from), None).await
    }

    async fn cleanup(&self, run: &Run) -> (Option<i32>, Option<i32>, String) {
        let args = ["cleanup", "--case", &run.case, "--data-dir", run.data.to_str().unwrap(), "--json"];
        custody(&self.moto, &args.map(String::from), None).await
    }

    /// The snapshots tagged with the case in both Regions: (id, Region, state, tags).
    async fn snapshots(&self, case: &str) -> Vec<Listed> {
        let mut out = Vec::new();
        for region in [REGION, OTHER_REGION] {
            let config = self.moto.sdk_config(region).await.unwrap();
            let filter = aws_sdk_ec2::types::Filter::builder().name("tag:CustodyCase").values(case).build();
            let found =
                aws_sdk_ec2::Client::new(&config).describe_snapshots().owner_ids("self").filters(filter).send().await;
            for s in found.unwrap().snapshots() {
                let tags = s.tags().iter().map(|t| (t.key().unwrap_or("").into(), t.value().unwrap_or("").into()));
                let state = s.state().map(|x| x.as_str().to_string()).unwrap_or_default();
                out.push((s.snapshot_id().unwrap_or("").to_string(), region.to_string(), state, tags.collect()));
            }
        }
        out
    }
}

fn evidence(run: &Run) -> Vec<Evidence> {
    if !run.data.join(custody_journal::FILE_NAME).exists() {
        return Vec::new();
    }
    let journal = Journal::open(&run.data).unwrap();
    let mut out: Vec<Evidence> = journal
        .evidence(&run.case)
        .unwrap_or_default()
        .into_iter()
        .map(|e| Evidence {
            volume: e.volume_id,
            snapshot: e.snapshot_id,
            account: e.account,
            region: e.region,
            key: e.key_arn,
            path: e.path,
        })
        .collect();
    out.sort();
    out
}

/// A shape with the volume id replaced by its role (each kill point has its own incident).
fn role_of(run: &Run, shape: &[Shape]) -> Vec<Shape> {
    let mut out: Vec<Shape> = shape
        .iter()
        .map(|s| {
            let role = if s.volume == run.incident.root_volume_id { "root" } else { "data" };
            Shape { volume: role.to_string(), key: s.key.as_ref().map(|_| "key".to_string()), ..s.clone() }
        })
        .collect();
    out.sort();
    out
}

/// What is wrong after a resume or a cleanup (`after_cleanup`: the source of a volume with no copy
/// may stay).
/// A snapshot as listed: id, Region, state, tags.
type Listed = (String, String, String, Vec<(String, String)>);

async fn wrong(w: &World, run: &Run, base: &[Shape], after_cleanup: bool) -> Vec<String> {
    let mut wrong = Vec::new();
    let evidence = evidence(run);
    let snapshots = w.snapshots(&run.case).await;
    let volumes = [run.incident.root_volume_id.clone(), run.incident.data_volume_id.clone()];
    if !after_cleanup && role_of(run, &shapes(&evidence)) != base {
        wrong.push(format!("the evidence differs: {:?}", shapes(&evidence)));
    }
    let tagged_for = |v: &str| -> Vec<&Listed> {
        let tag = ("CustodyVolume".to_string(), v.to_string());
        snapshots.iter().filter(|s| s.1 == w.dest_region && s.3.contains(&tag)).collect()
    };
    for v in &volumes {
        let copies = tagged_for(v);
        if copies.len() > 1 {
            wrong.push(format!("{v} has {} snapshots tagged for it in {}", copies.len(), w.dest_region));
        }
        if !after_cleanup && !copies.iter().any(|c| c.2 == "completed") {
            wrong.push(format!("{v} has no completed copy"));
        }
    }
    let ids: Vec<&String> = evidence.iter().map(|e| &e.snapshot).collect();
    for s in &snapshots {
        let holds = ids.contains(&&s.0) || (after_cleanup && s.3.iter().any(|(k, _)| k == "CustodyVolume"));
        if !holds && !after_cleanup {
            wrong.push(format!("left: snapshot {} in {} tagged with the case", s.0, s.1));
        }
    }
    if after_cleanup {
        // Each volume that had a snapshot still has one: a copy, or its source.
        let sources: Vec<_> = snapshots.iter().filter(|s| !s.3.iter().any(|(k, _)| k == "CustodyVolume")).collect();
        for v in &volumes {
            if tagged_for(v).is_empty() && sources.is_empty() && !snapshots.is_empty() {
                wrong.push(format!("{v} has no copy left after cleanup"));
            }
        }
    } else if run.data.join(custody_journal::FILE_NAME).exists() {
        let journal = Journal::open(&run.data).unwrap();
        for t in journal.open_temporaries(Some(&run.case)).unwrap_or_default() {
            wrong.push(format!("open in the journal: {:?} {}", t.kind, t.id));
        }
    }
    wrong
}

/// Kill points run at once per test (three workers): each mostly waits for moto.
async fn moto_matrix(dest_region: &'static str, first: u64) {
    use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
    let w = world(dest_region, first).await;
    let base_run = w.incident("BASE").await;
    let (code, _, stderr) = w.acquire(&base_run, None).await;
    assert_eq!(code, Some(0), "the run never killed: {stderr}");
    let base = role_of(&base_run, &shapes(&evidence(&base_run)));
    assert_eq!(base.len(), 2, "{base:?}");
    // Kill points first, first + STEP, …, taken in order until one is not killed (the end: every one
    // before it is run).
    let next = AtomicU64::new(first);
    let end = AtomicU64::new(u64::MAX);
    let failures = std::sync::Mutex::new(Vec::new());
    let worker = || async {
        loop {
            let n = next.fetch_add(STEP, SeqCst);
            if n >= end.load(SeqCst) {
                break;
            }
            assert!(n < 1000);
            let found = match kill_point(&w, &base, n).await {
                Point::Killed(found) => found,
                Point::End(found) => {
                    end.fetch_min(n, SeqCst);
                    found
                }
            };
            failures.lock().unwrap().extend(found);
        }
    };
    tokio::join!(worker(), worker(), worker());
    let n = end.into_inner();
    assert!(n > 2 * STEP + first, "only {n} journal writes");
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} failure(s):\n{}", failures.len(), failures.join("\n"));
}

/// What one kill point found: the run killed there, and the failures of going on from it; or the run
/// not killed (it made fewer writes), and its failure if it did not succeed.
enum Point {
    Killed(Vec<String>),
    End(Vec<String>),
}

async fn kill_point(w: &World, base: &[Shape], n: u64) -> Point {
    let mut failures = Vec::new();
    let kill = Kill::At(n);
    let resumed = w.incident(&format!("R{n}")).await;
    let (code, signal, stderr) = w.acquire(&resumed, Some(kill)).await;
    if signal != Some(SIGABRT) {
        if code != Some(0) {
            failures.push(format!("{kill}: not killed, and failed: {stderr}"));
        }
        return Point::End(failures);
    }
    let (code, _, stderr) = if Journal::open(&resumed.data).unwrap().acquisitions(&resumed.case).unwrap().is_empty() {
        w.acquire(&resumed, None).await
    } else {
        w.resume(&resumed).await
    };
    if code != Some(0) {
        failures.push(format!("{kill}, resume: failed: {}", stderr.lines().last().unwrap_or_default()));
    }
    failures.extend(wrong(w, &resumed, base, false).await.into_iter().map(|x| format!("{kill}, resume: {x}")));
    let cleaned = w.incident(&format!("C{n}")).await;
    let (_, signal, _) = w.acquire(&cleaned, Some(kill)).await;
    assert_eq!(signal, Some(SIGABRT), "{kill}: the second incident was not killed at the same write");
    let (code, _, stderr) = w.cleanup(&cleaned).await;
    if code != Some(0) && code != Some(2) {
        failures.push(format!("{kill}, cleanup: failed: {}", stderr.lines().last().unwrap_or_default()));
    }
    failures.extend(wrong(w, &cleaned, base, true).await.into_iter().map(|x| format!("{kill}, cleanup: {x}")));
    Point::Killed(failures)
}

macro_rules! moto_matrix {
    ($($(#[$attr:meta])* $name:ident: $region:expr, from $first:expr;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn $name() {
                moto_matrix($region, $first).await;
            }
        )*
    };
}

// Into the same Region (paths 2 and 3) and into another (path 4). The suite kills at every fourth
// write; the other three shards cover the writes between (about 4.5 minutes each on 2 cores, too long
// for every run): `cargo test -p custody --test crash_kill moto:: -- --include-ignored`.
moto_matrix! {
    paths_2_and_3_on_moto_killed_at_writes_1_5_9_and_so_on_resume_and_clean_up: REGION, from 1;
    #[ignore = "long: the writes between the suite's kill points (run with --include-ignored)"]
    paths_2_and_3_on_moto_killed_at_writes_2_6_10_and_so_on_resume_and_clean_up: REGION, from 2;
    #[ignore = "long: the writes between the suite's kill points (run with --include-ignored)"]
    paths_2_and_3_on_moto_killed_at_writes_3_7_11_and_so_on_resume_and_clean_up: REGION, from 3;
    #[ignore = "long: the writes between the suite's kill points (run with --include-ignored)"]
    paths_2_and_3_on_moto_killed_at_writes_4_8_12_and_so_on_resume_and_clean_up: REGION, from 4;
    path_4_on_moto_killed_at_writes_1_5_9_and_so_on_resumes_and_cleans_up: OTHER_REGION, from 1;
    #[ignore = "long: the writes between the suite's kill points (run with --include-ignored)"]
    path_4_on_moto_killed_at_writes_2_6_10_and_so_on_resumes_and_cleans_up: OTHER_REGION, from 2;
    #[ignore = "long: the writes between the suite's kill points (run with --include-ignored)"]
    path_4_on_moto_killed_at_writes_3_7_11_and_so_on_resumes_and_cleans_up: OTHER_REGION, from 3;
    #[ignore = "long: the writes between the suite's kill points (run with --include-ignored)"]
    path_4_on_moto_killed_at_writes_4_8_12_and_so_on_resumes_and_cleans_up: OTHER_REGION, from 4;
}

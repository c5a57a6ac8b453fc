//! Running the real `custody` binary on a simulated cloud kept in a file (`--simulate-state`), killing
//! it at a journal write (`CUSTODY_TEST_ABORT_AFTER_JOURNAL_WRITES` / `_AT_JOURNAL_WRITE`), and the
//! questions the crash tests ask of what a run left: the journal's evidence, the world's snapshots,
//! keys, aliases, grants and shares, and every call the world answered, across processes.

use custody_journal::Journal;
use custody_plan::plan::{TAG_CASE, TAG_EVIDENCE, TAG_VOLUME};
use custody_sim::{SimCall, SimSnapshot, SimWorld};
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The case every run acquires under.
pub const CASE: &str = "CRASH-1";

/// SIGABRT: how `std::process::abort` ends a process.
pub const SIGABRT: i32 = 6;

/// One example inventory, its instance and the `--mode` that takes its path
/// (`crates/acquire/tests/sim/support/mod.rs`, `examples/inventories/README.md`).
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub file: &'static str,
    pub instance: &'static str,
    pub mode: &'static str,
}

pub const PATH_1: Example = Example { file: "1-unencrypted.json", instance: "i-01a1a1a1a1a1a1a1a", mode: "auto" };
pub const PATH_2: Example =
    Example { file: "2-aws-managed-same-account.json", instance: "i-02b2b2b2b2b2b2b2b", mode: "auto" };
pub const PATH_3: Example =
    Example { file: "3-customer-key-same-account.json", instance: "i-03c3c3c3c3c3c3c3c", mode: "auto" };
pub const PATH_4: Example =
    Example { file: "4-cross-region-fixed.json", instance: "i-04d4d4d4d4d4d4d4d", mode: "auto" };
pub const PATH_5: Example =
    Example { file: "5-cross-account-grant-only.json", instance: "i-05e5e5e5e5e5e5e5e", mode: "auto" };
pub const PATH_6: Example =
    Example { file: "6-cross-account-direct.json", instance: "i-06f6f6f6f6f6f6f6f", mode: "auto" };
pub const PATH_7: Example =
    Example { file: "7-cross-account-owner-grants.json", instance: "i-07a7a7a7a7a7a7a7a", mode: "auto" };
pub const PATH_8: Example =
    Example { file: "8-cross-account-aws-managed.json", instance: "i-08b8b8b8b8b8b8b8b", mode: "auto" };
pub const PATH_9: Example =
    Example { file: "9-direct-read.json", instance: "i-09c9c9c9c9c9c9c9c", mode: "direct-read" };
pub const SERVICE_LINKED: Example =
    Example { file: "service-linked-role.json", instance: "i-05d5d5d5d5d5d5d5d", mode: "auto" };

/// Where the process is killed: right after its N-th journal write is committed (what the write
/// announced has not happened), or when it asks for its N-th write (what it did since the previous
/// one, an AWS call whose answer write N records, has happened).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kill {
    After(u64),
    At(u64),
}

impl Kill {
    fn env(self) -> (&'static str, u64) {
        match self {
            Kill::After(n) => ("CUSTODY_TEST_ABORT_AFTER_JOURNAL_WRITES", n),
            Kill::At(n) => ("CUSTODY_TEST_ABORT_AT_JOURNAL_WRITE", n),
        }
    }
}

impl std::fmt::Display for Kill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kill::After(n) => write!(f, "after write {n}"),
            Kill::At(n) => write!(f, "at write {n}"),
        }
    }
}

/// The workspace root (the examples are read from there).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// How a process ended, and what it said.
pub struct Ran {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    fn from(out: Output) -> Ran {
        Ran {
            code: out.status.code(),
            signal: out.status.signal(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn aborted(&self) -> bool {
        self.signal == Some(SIGABRT)
    }

    /// The first lines of what it said went wrong (for failure reports): its errors on standard
    /// error, and from its JSON result the volumes' errors, what it left and what it failed to remove.
    pub fn said(&self) -> String {
        let mut lines: Vec<String> =
            self.stderr.lines().filter(|l| l.starts_with("error") || l.contains("fail")).map(str::to_string).collect();
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&self.stdout) {
            let report = json.get("report").unwrap_or(&json);
            for v in report.pointer("/instances").and_then(|i| i.as_array()).into_iter().flatten() {
                for volume in v["volumes"].as_array().into_iter().flatten() {
                    if let Some(e) = volume["error"].as_str() {
                        lines.push(format!("{}: {e}", volume["volume_id"]));
                    }
                }
            }
            for key in ["leftovers", "failed"] {
                for l in json[key].as_array().into_iter().flatten() {
                    lines.push(format!("{key}: {l}"));
                }
            }
        }
        if lines.is_empty() {
            lines = self.stderr.lines().rev().take(2).map(str::to_string).collect();
        }
        format!(
            "exit {:?} signal {:?}: {}",
            self.code,
            self.signal,
            lines.into_iter().take(4).collect::<Vec<_>>().join(" | ")
        )
    }
}

/// A temporary directory for a site: in memory (`/dev/shm`) where the machine has one. The journal
/// syncs every write to the disk (`synchronous = FULL`), a few hundred microseconds each on a disk and
/// nothing in memory; these tests kill processes, not machines, so what a sync adds is only time
/// (thousands of processes, each making up to about a hundred writes). Elsewhere, the usual place.
fn site_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    let in_memory = shm.is_dir().then(|| tempfile::Builder::new().prefix("custody-crash-").tempdir_in(shm).ok());
    in_memory.flatten().unwrap_or_else(|| tempfile::tempdir().unwrap())
}

/// One run's world: a data directory and the simulated cloud's state file, in a temporary directory.
pub struct Site {
    dir: tempfile::TempDir,
    pub example: Example,
    /// `CUSTODY_SIM_LOOKUP_LAG` for every process (calls a creation takes to be listed).
    pub lag: u64,
}

impl Site {
    pub fn new(example: Example, lag: u64) -> Site {
        Site { dir: site_dir(), example, lag }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("world.json")
    }

    /// A copy of this site, as it is now (for a second way to go on from the same kill).
    pub fn copy(&self) -> Site {
        let site = Site::new(self.example, self.lag);
        copy_dir(self.dir.path(), site.dir.path());
        site
    }

    fn inventory(&self) -> String {
        format!("examples/inventories/{}", self.example.file)
    }

    /// `custody args…` from the workspace root, offline (every `AWS_*` variable replaced by ones that
    /// point at a closed port on 127.0.0.1), killed as `kill` says.
    fn custody(&self, args: &[&str], kill: Option<Kill>) -> Ran {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_custody"));
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            if name.starts_with("AWS_") || name.starts_with("CUSTODY_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("CUSTODY_SIM_LOOKUP_LAG", self.lag.to_string());
        if let Some(k) = kill {
            let (name, n) = k.env();
            cmd.env(name, n.to_string());
        }
        Ran::from(cmd.current_dir(workspace()).args(args).output().unwrap())
    }

    /// `custody acquire INSTANCE --case CASE --simulate … --simulate-state … --data-dir …`.
    pub fn acquire(&self, kill: Option<Kill>) -> Ran {
        let (inventory, state, data) = (self.inventory(), self.state(), self.data());
        let e = self.example;
        let args = [
            "acquire",
            e.instance,
            "--case",
            CASE,
            "--mode",
            e.mode,
            "--simulate",
            &inventory,
            "--simulate-state",
            state.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--json",
        ];
        self.custody(&args, kill)
    }

    /// `custody acquire --resume CASE` on the same world and journal.
    pub fn resume(&self, kill: Option<Kill>) -> Ran {
        let (inventory, state, data) = (self.inventory(), self.state(), self.data());
        let args = [
            "acquire",
            "--resume",
            CASE,
            "--simulate",
            &inventory,
            "--simulate-state",
            state.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--json",
        ];
        self.custody(&args, kill)
    }

    /// `custody cleanup --case CASE` on the same world and journal.
    pub fn cleanup(&self, kill: Option<Kill>) -> Ran {
        let (inventory, state, data) = (self.inventory(), self.state(), self.data());
        let args = [
            "cleanup",
            "--case",
            CASE,
            "--simulate",
            &inventory,
            "--simulate-state",
            state.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--json",
        ];
        self.custody(&args, kill)
    }

    /// The world as the last process left it.
    pub fn world(&self) -> SimWorld {
        SimWorld::load(&self.state()).unwrap()
    }

    /// Whether the journal holds the case's plan (a run killed before that did nothing in AWS).
    pub fn journaled(&self) -> bool {
        if !self.data().join(custody_journal::FILE_NAME).exists() {
            return false;
        }
        let journal = Journal::open(&self.data()).unwrap();
        journal.acquisitions(CASE).map(|a| !a.is_empty()).unwrap_or(false)
    }

    /// The journal's evidence: `(volume, snapshot, account, region, key, path)`.
    pub fn evidence(&self) -> Vec<Evidence> {
        if !self.data().join(custody_journal::FILE_NAME).exists() {
            return Vec::new();
        }
        let journal = Journal::open(&self.data()).unwrap();
        let mut out: Vec<Evidence> = journal
            .evidence(CASE)
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

    /// The temporary resources the journal still has open.
    pub fn open_temporaries(&self) -> Vec<String> {
        if !self.data().join(custody_journal::FILE_NAME).exists() {
            return Vec::new();
        }
        let journal = Journal::open(&self.data()).unwrap();
        journal
            .open_temporaries(Some(CASE))
            .unwrap_or_default()
            .into_iter()
            .map(|r| format!("{:?} {}", r.kind, r.id))
            .collect()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// One evidence item, as the journal records it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Evidence {
    pub volume: String,
    pub snapshot: String,
    pub account: String,
    pub region: String,
    pub key: Option<String>,
    pub path: String,
}

/// One volume's evidence, ids aside: where it is, under which key, by which path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shape {
    pub volume: String,
    pub account: String,
    pub region: String,
    pub key: Option<String>,
    pub path: String,
}

pub fn shapes(evidence: &[Evidence]) -> Vec<Shape> {
    evidence
        .iter()
        .map(|e| Shape {
            volume: e.volume.clone(),
            account: e.account.clone(),
            region: e.region.clone(),
            key: e.key.clone(),
            path: e.path.clone(),
        })
        .collect()
}

/// What the world's creating calls brought into being, over every process: snapshots per volume
/// (a source by its CreateSnapshots, a copy by its `CustodyVolume` tag), and keys, aliases and
/// grants (a grant KMS answered again for the same name counts once).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Created {
    pub snapshots_per_volume: BTreeMap<String, usize>,
    pub keys: usize,
    pub aliases: usize,
    pub grants: usize,
}

pub fn created(world: &SimWorld, volumes: &[String]) -> Created {
    let mut out = Created::default();
    let mut grants: Vec<String> = Vec::new();
    for c in world.calls() {
        let Ok(result) = &c.result else { continue };
        let first = |r: &str| r.split_whitespace().next().unwrap_or_default().to_string();
        match c.api.as_str() {
            // One snapshot per volume of the instance, in device order.
            "ec2:CreateSnapshots" => {
                for v in volumes.iter().take(result.split(", ").count()) {
                    *out.snapshots_per_volume.entry(v.clone()).or_default() += 1;
                }
            }
            "ec2:CopySnapshot" => {
                let volume = tag_in_params(&c, TAG_VOLUME).unwrap_or_else(|| "(no volume tag)".to_string());
                *out.snapshots_per_volume.entry(volume).or_default() += 1;
            }
            "kms:CreateKey" => out.keys += 1,
            "kms:CreateAlias" => out.aliases += 1,
            "kms:CreateGrant" => {
                let id = first(result);
                if !grants.contains(&id) {
                    grants.push(id);
                }
            }
            _ => {}
        }
    }
    out.grants = grants.len();
    out
}

/// A tag's value in a call's logged parameters (`… tags K=V,K=V`).
fn tag_in_params(c: &SimCall, key: &str) -> Option<String> {
    let tags = c.params.rsplit(" tags ").next()?;
    tags.split(',').find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_string))
}

/// The instance's volumes, in device order, from the example inventory.
pub fn volumes(e: Example) -> Vec<String> {
    let text = std::fs::read_to_string(workspace().join("examples/inventories").join(e.file)).unwrap();
    let inventory = custody_plan::inventory::parse_inventory(&text).unwrap();
    inventory.instance(e.instance).unwrap().volumes.iter().map(|v| v.id.clone()).collect()
}

/// The snapshots that hold `volume`'s evidence where the baseline put it: completed copies tagged
/// for the volume and marked as evidence in the evidence's account and Region, or, when the evidence
/// is the source snapshot itself (`source_held`: paths 1 and 9), the completed source.
pub fn holders<'w>(snapshots: &'w [SimSnapshot], base: &Shape, source_held: bool) -> Vec<&'w SimSnapshot> {
    snapshots
        .iter()
        .filter(|s| s.state == "completed" && s.account == base.account && s.region == base.region)
        .filter(|s| match source_held {
            true => s.volume_id.as_deref() == Some(base.volume.as_str()),
            false => s.tags.get(TAG_VOLUME) == Some(&base.volume) && marked(s),
        })
        .collect()
}

/// `volume`'s source snapshots (CreateSnapshots products) still in the world.
pub fn sources<'w>(snapshots: &'w [SimSnapshot], volume: &str) -> Vec<&'w SimSnapshot> {
    snapshots.iter().filter(|s| s.volume_id.as_deref() == Some(volume)).collect()
}

/// Whether the snapshot carries the case's tag.
pub fn of_case(s: &SimSnapshot) -> bool {
    s.tags.get(TAG_CASE).is_some_and(|c| c == CASE)
}

/// Whether the snapshot is marked as evidence.
pub fn marked(s: &SimSnapshot) -> bool {
    s.tags.get(TAG_EVIDENCE).is_some_and(|v| v == "true")
}

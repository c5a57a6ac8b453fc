//! `custody image` and `custody verify` as a user runs them: bad input exits 2 naming the file, the
//! JSON path and the expectation, and changes nothing; an image made from moto (127.0.0.1 only)
//! verifies with exit 0, and a changed byte exits 1 with its offset.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn custody() -> Command {
    let mut cmd = Command::cargo_bin("custody").unwrap();
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("CUSTODY_DATA_DIR", "/nonexistent/custody-image-test");
    cmd
}

fn write_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    // A 1 GiB image with no data: a sparse file of zeros and an empty block checksum file.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sparse-1gib.manifest.json");
    let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    edit(&mut manifest);
    let path = dir.join("snap.manifest.json");
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
    path
}

#[test]
fn verify_refuses_bad_manifests_with_the_file_the_json_path_and_the_expectation() {
    let dir = tempfile::tempdir().unwrap();
    type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|m| m["format"] = "other".into()), "`/format`: expected `custody-image-manifest/1`"),
        (
            Box::new(|m| m["image"]["hashes"]["sha256"] = "ABC".into()),
            "`/image/hashes/sha256`: expected 64 lowercase hex digits",
        ),
        (Box::new(|m| m["image"]["block_size"] = 512.into()), "`/image/block_size`: expected 524288"),
        (
            Box::new(|m| m["image"]["file"] = "../etc/passwd".into()),
            "`/image/file`: expected a file name beside the manifest",
        ),
    ];
    for (edit, expected) in cases {
        let path = write_manifest(dir.path(), edit);
        let out = custody().arg("verify").arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&path.display().to_string()) && stderr.contains(expected), "{stderr}");
    }
    // Not JSON at all.
    let path = dir.path().join("garbage.json");
    std::fs::write(&path, "{not json").unwrap();
    let out = custody().arg("verify").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not JSON"));
    // A well-formed manifest whose block checksum file is missing: bad input, named.
    let path = write_manifest(dir.path(), |_| {});
    let out = custody().arg("verify").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("snap.blocks"));
}

/// A manifest `verify` cannot use is bad input (exit 2, naming the file, the JSON path and what was
/// expected), never "does not match" (exit 1, kept for an image that differs from a usable manifest):
/// a missing field, a hash custody does not compute, sizes that disagree, a snapshot id that is not
/// one, a block checksum file the manifest vouches for that is not one.
#[test]
fn verify_exits_2_not_1_for_manifests_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("snap.raw"), b"").unwrap();
    std::fs::File::create(dir.path().join("snap.raw")).unwrap().set_len(1 << 30).unwrap();
    std::fs::write(dir.path().join("snap.blocks"), b"").unwrap();
    type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
    let garbage_digest = {
        let blocks = dir.path().join("garbage.blocks");
        std::fs::write(&blocks, "not a block line\n").unwrap();
        let out = std::process::Command::new("sha256sum").arg(&blocks).output().unwrap();
        String::from_utf8(out.stdout).unwrap()[..64].to_string()
    };
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|m| {
                m["source"].as_object_mut().unwrap().remove("region");
            }),
            "`/source/region`: expected a string",
        ),
        (Box::new(|m| m["imaging"]["workers"] = (-1).into()), "`/imaging/workers`: expected a whole number"),
        (Box::new(|m| m["aws_calls"] = serde_json::json!([{"api": 1}])), "`/aws_calls/0/api`: expected a string"),
        (
            Box::new(|m| m["image"]["hashes"]["sha512"] = "ab".into()),
            "`/image/hashes/sha512`: a hash custody does not compute; expected only sha256, md5 and sha1",
        ),
        (Box::new(|m| m["image"]["blocks_total"] = 5.into()), "`/image/blocks_total`: expected 2048"),
        (Box::new(|m| m["image"]["size_bytes"] = 524288.into()), "`/image/size_bytes`: expected 1 GiB in bytes"),
        (
            Box::new(|m| m["image"]["volume_size_gib"] = 70000.into()),
            "`/image/volume_size_gib`: expected a size in GiB from 1 to 65536",
        ),
        (
            Box::new(|m| m["source"]["snapshot_id"] = "snap-../../x".into()),
            "`/source/snapshot_id`: `snap-../../x`: not a snapshot id",
        ),
        (
            Box::new(|m| m["image"]["sparse_ranges"] = serde_json::json!([{"offset": u64::MAX, "length": 2}])),
            "`/image/sparse_ranges/0`: expected a range inside the image",
        ),
        (
            Box::new(move |m| {
                m["image"]["block_checksums"]["file"] = "garbage.blocks".into();
                m["image"]["blocks_with_data"] = 1.into();
                m["image"]["block_checksums"]["sha256"] = garbage_digest.into();
            }),
            "garbage.blocks: line 1: expected `<index> <base64 SHA-256>`",
        ),
        (Box::new(|m| m["image"]["blocks_with_data"] = 3.into()), "snap.blocks: lists 0 blocks, the manifest says 3"),
    ];
    for (edit, expected) in cases {
        let path = write_manifest(dir.path(), edit);
        let out = custody().arg("verify").arg(&path).output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{expected}: {stdout}{stderr}");
        assert!(stderr.contains(expected) && !stdout.contains("DOES NOT MATCH"), "{expected}: {stdout}{stderr}");
    }
    // The same files with the manifest as written verify (the hole of 1 GiB of zeros): the refusals
    // above are the edits, not the fixture.
    let path = write_manifest(dir.path(), |_| {});
    let out = custody().arg("verify").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // A device is not a manifest (reading /dev/zero would never end).
    let out = custody().args(["verify", "/dev/zero"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"));
}

/// A snapshot id read from the journal names files as much as one typed on the command line: a
/// journaled evidence snapshot `../../x` is refused (exit 2, naming the case) before anything is
/// asked of AWS or written, inside `--out` or out of it.
#[test]
fn image_refuses_a_journaled_snapshot_id_that_is_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("journal");
    journal_with_evidence(&data_dir, "../../x");
    let out_dir = dir.path().join("a/b/out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let before: Vec<_> = walk(dir.path());
    let output = custody()
        .args(["image", "--case", CASE, "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1"])
        .arg("--out")
        .arg(&out_dir)
        .arg("--data-dir")
        .arg(&data_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("case `IR-42`") && stderr.contains("`../../x`: not a snapshot id"), "{stderr}");
    let after: Vec<_> = walk(dir.path()).into_iter().filter(|p| !p.starts_with(&data_dir)).collect();
    let before: Vec<_> = before.into_iter().filter(|p| !p.starts_with(&data_dir)).collect();
    assert_eq!(after, before, "nothing was written");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push(path.clone());
        if path.is_dir() {
            out.extend(walk(&path));
        }
    }
    out.sort();
    out
}

#[test]
fn image_refuses_bad_arguments_before_touching_anything() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    for (args, expected) in [
        (vec!["image", "vol-123", "--out", "."], "`vol-123`: not a snapshot id"),
        (vec!["image", "../../x", "--out", "."], "`../../x`: not a snapshot id"),
        (vec!["image", "--out", "."], "nothing to image"),
        (vec!["image", "snap-0123abcd", "--out", missing.to_str().unwrap()], "not a directory"),
        (vec!["image", "snap-0123abcd", "--out", ".", "--case", "CASE-1"], "case `CASE-1` is not in the journal"),
    ] {
        let out = custody().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(expected),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!missing.exists());
}

/// moto with its EBS direct API answers corrected (the one harness, `custody_cloud::testing::Moto`),
/// killed on drop.
struct Moto {
    _server: custody_cloud::testing::Moto,
    endpoint: String,
    python: String,
    /// The runtime the server's process belongs to (tokio reaps it), dropped after the server.
    _runtime: tokio::runtime::Runtime,
}

impl Moto {
    fn start() -> Moto {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (server, python) = runtime.block_on(async {
            let server = custody_cloud::testing::Moto::start_with_ebs_corrections().await.unwrap();
            (server, custody_cloud::testing::python().await.unwrap())
        });
        Moto { endpoint: server.endpoint().to_string(), _server: server, python, _runtime: runtime }
    }

    /// Environment for a process that talks to this server: fake credentials, no profiles.
    fn env(&self, cmd: &mut std::process::Command) {
        cmd.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true");
    }

    /// Uploads blocks 0, 1 and 9 of a 1 GiB volume with boto3 (moto's own dependency); the snapshot id.
    fn upload(&self) -> String {
        self.upload_blocks("0,1,9")
    }

    /// Uploads the blocks `indexes` (comma-separated) of a 1 GiB volume; the snapshot id.
    fn upload_blocks(&self, indexes: &str) -> String {
        let script = r#"
import base64, hashlib, sys, boto3
ebs = boto3.client("ebs", endpoint_url=sys.argv[1], region_name="us-east-1")
snap = ebs.start_snapshot(VolumeSize=1)["SnapshotId"]
indexes = [int(i) for i in sys.argv[2].split(",")]
for index in indexes:
    data = bytes([(index * 7 + i) % 251 for i in range(256)]) * 2048
    ebs.put_snapshot_block(SnapshotId=snap, BlockIndex=index, BlockData=data, DataLength=len(data),
        Checksum=base64.b64encode(hashlib.sha256(data).digest()).decode(), ChecksumAlgorithm="SHA256")
ebs.complete_snapshot(SnapshotId=snap, ChangedBlocksCount=len(indexes))
print(snap)
"#;
        let mut cmd = std::process::Command::new(&self.python);
        cmd.args(["-c", script, &self.endpoint, indexes]);
        self.env(&mut cmd);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

#[test]
fn an_image_from_moto_verifies_and_a_changed_byte_is_reported_with_its_offset() {
    let moto = Moto::start();
    let snapshot = moto.upload();
    let dir = tempfile::tempdir().unwrap();
    let mut image = std::process::Command::new(assert_cmd::cargo::cargo_bin("custody"));
    image
        .args(["image", &snapshot, "--json", "--sha1", "--workers", "4", "--endpoint-url", &moto.endpoint, "--out"])
        .arg(dir.path());
    image.env("CUSTODY_DATA_DIR", dir.path().join("no-journal"));
    moto.env(&mut image);
    let out = image.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary[0]["blocks_with_data"], 3);
    assert_eq!(summary[0]["hashes"]["sha1"].as_str().map(str::len), Some(40));
    let manifest = dir.path().join(format!("{snapshot}.manifest.json"));
    assert!(dir.path().join(format!("{snapshot}.manifest.txt")).exists());

    let mut verify = std::process::Command::new(assert_cmd::cargo::cargo_bin("custody"));
    verify.args(["verify", "--against-snapshot", "--endpoint-url", &moto.endpoint]).arg(&manifest);
    moto.env(&mut verify);
    let out = verify.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // One byte changed in block 1: exit 1, and the offset of block 1 is printed.
    let raw = dir.path().join(format!("{snapshot}.raw"));
    let file = std::fs::OpenOptions::new().write(true).open(&raw).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &[0xAA], 524_288 + 3).unwrap();
    let out = custody().arg("verify").arg(&manifest).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("at offset 524288"), "{stdout}");
}

/// Issue "evidence is never lost", kills inside `custody image`: the real binary aborted (no
/// unwinding, no cleanup) after a block is written but before its checkpoint line, and after both,
/// at the first, a middle and the last block; then `custody image` again in a fresh process. Each
/// resume reads back exactly the checkpointed blocks, downloads the others (a block written but not
/// checkpointed included), finishes an image that verifies against the snapshot, and leaves no
/// partial file or checkpoint behind.
#[test]
fn an_image_killed_at_any_block_resumes_in_a_fresh_process_to_an_image_that_verifies() {
    let moto = Moto::start();
    let snapshot = moto.upload_blocks("0,1,2,3,5,8,13,21,34,55,89,144");
    let image = |dir: &Path, kill: Option<(&str, u64)>| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("custody"));
        cmd.args(["image", &snapshot, "--json", "--workers", "2", "--endpoint-url", &moto.endpoint, "--out"])
            .arg(dir)
            .env("CUSTODY_DATA_DIR", dir.join("no-journal"));
        moto.env(&mut cmd);
        if let Some((name, n)) = kill {
            cmd.env(name, n.to_string());
        }
        cmd.output().unwrap()
    };
    for (switch, n, resumed) in [
        ("CUSTODY_TEST_ABORT_AT_IMAGE_BLOCK", 1, 0),
        ("CUSTODY_TEST_ABORT_AT_IMAGE_BLOCK", 6, 5),
        ("CUSTODY_TEST_ABORT_AT_IMAGE_BLOCK", 12, 11),
        ("CUSTODY_TEST_ABORT_AFTER_IMAGE_BLOCKS", 1, 1),
        ("CUSTODY_TEST_ABORT_AFTER_IMAGE_BLOCKS", 6, 6),
        ("CUSTODY_TEST_ABORT_AFTER_IMAGE_BLOCKS", 12, 12),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let killed = image(dir.path(), Some((switch, n)));
        assert_eq!(killed.status.code(), None, "{switch}={n}: {}", String::from_utf8_lossy(&killed.stderr));
        assert!(!dir.path().join(format!("{snapshot}.raw")).exists(), "{switch}={n}: no image yet");

        let out = image(dir.path(), None);
        assert_eq!(out.status.code(), Some(0), "{switch}={n}: {}", String::from_utf8_lossy(&out.stderr));
        let manifest = dir.path().join(format!("{snapshot}.manifest.json"));
        let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
        let imaging = &written["imaging"];
        assert_eq!(imaging["blocks_resumed"], resumed, "{switch}={n}: {imaging}");
        assert_eq!(imaging["blocks_downloaded"], 12 - resumed, "{switch}={n}: {imaging}");
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains("partial") || name.contains("checkpoint"))
            .collect();
        assert!(left.is_empty(), "{switch}={n}: {left:?}");

        let mut verify = std::process::Command::new(assert_cmd::cargo::cargo_bin("custody"));
        verify.args(["verify", "--against-snapshot", "--endpoint-url", &moto.endpoint]).arg(&manifest);
        moto.env(&mut verify);
        let verified = verify.output().unwrap();
        assert_eq!(verified.status.code(), Some(0), "{switch}={n}: {}", String::from_utf8_lossy(&verified.stdout));
    }
}

const CASE: &str = "IR-42";
const INSTANCE: &str = "i-0aaaaaaaaaaaaaaaa";
const OTHER_INSTANCE: &str = "i-0bbbbbbbbbbbbbbbb";
const KEY: &str = "arn:aws:kms:us-east-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// A journal in `dir` as an acquisition leaves it: case `IR-42`, the acquisition of two instances,
/// their journaled calls (intents with outcomes and request ids, one without an outcome), and
/// `snapshot` as the evidence of the first instance. Returns the journal's entries of that instance.
fn journal_with_evidence(dir: &Path, snapshot: &str) -> Vec<custody_journal::Entry> {
    use custody_journal::{Evidence, Intent, Journal, NewCase, Outcome};
    let journal = Journal::open(dir).unwrap();
    journal
        .create_case(&NewCase {
            case_id: CASE.into(),
            examiner: Some("J. Examiner".into()),
            destination_account: "222222222222".into(),
            destination_region: "us-east-1".into(),
            note: None,
            simulated: false,
        })
        .unwrap();
    let source_role = "arn:aws:iam::111111111111:role/custody-source";
    let destination_role = "arn:aws:iam::222222222222:role/custody-destination";
    type Call<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str, Option<Outcome>);
    let ok =
        |request_id: &str| Some(Outcome::Ok { result: serde_json::json!({}), request_id: Some(request_id.into()) });
    let calls: Vec<Call> = vec![
        (INSTANCE, "snapshot-vol", "ec2:CreateSnapshot", "111111111111", "eu-west-1", source_role, ok("req-create-1")),
        (
            INSTANCE,
            "copy-to-destination",
            "ec2:CopySnapshot",
            "222222222222",
            "us-east-1",
            destination_role,
            Some(Outcome::Failed {
                code: Some("RequestLimitExceeded".into()),
                message: "Request limit exceeded.".into(),
                request_id: Some("req-copy-1".into()),
            }),
        ),
        (
            INSTANCE,
            "copy-to-destination",
            "ec2:CopySnapshot",
            "222222222222",
            "us-east-1",
            destination_role,
            ok("req-copy-2"),
        ),
        (INSTANCE, "tag-evidence", "ec2:CreateTags", "222222222222", "us-east-1", destination_role, None),
        (
            OTHER_INSTANCE,
            "snapshot-vol",
            "ec2:CreateSnapshot",
            "111111111111",
            "eu-west-1",
            source_role,
            ok("req-other"),
        ),
    ];
    for instance in [INSTANCE, OTHER_INSTANCE] {
        journal.add_acquisition(CASE, instance, &serde_json::json!({"steps": []})).unwrap();
    }
    for (instance, step, api, account, region, signer, outcome) in calls {
        let id = journal
            .intend(&Intent {
                case_id: CASE.into(),
                instance_id: instance.into(),
                step_id: step.into(),
                api: api.into(),
                account: account.into(),
                region: region.into(),
                signer: signer.into(),
                params: serde_json::json!({}),
            })
            .unwrap();
        if let Some(outcome) = outcome {
            journal.record_outcome(id, &outcome).unwrap();
        }
    }
    journal
        .record_evidence(&Evidence {
            case_id: CASE.into(),
            instance_id: INSTANCE.into(),
            volume_id: "vol-0ccccccccccccccccc".into(),
            snapshot_id: snapshot.into(),
            account: "222222222222".into(),
            region: "us-east-1".into(),
            key_arn: Some(KEY.into()),
            path: "8 (cross-account-aws-managed-key)".into(),
            tags: Default::default(),
            recorded_at: String::new(),
        })
        .unwrap();
    journal.entries(CASE).unwrap().into_iter().filter(|e| e.intent.instance_id == INSTANCE).collect()
}

/// The manifest's source and AWS calls come from the journal: case, examiner, account, Region,
/// instance, volume, snapshot, key, and every journaled call of the instance with its request id and
/// UTC times, whether the snapshot is named by `--case` or found in the case's evidence.
#[test]
fn an_image_of_case_evidence_records_the_journal_in_its_manifest() {
    let moto = Moto::start();
    let snapshot = moto.upload();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("journal");
    let entries = journal_with_evidence(&data_dir, &snapshot);
    assert_eq!(entries.len(), 4);

    let run = |args: &[&str], out: &Path| {
        let out_dir = dir.path().join(out);
        std::fs::create_dir_all(&out_dir).unwrap();
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("custody"));
        cmd.args(["image", "--json", "--workers", "4", "--endpoint-url", &moto.endpoint]).args(args);
        cmd.arg("--out").arg(&out_dir).arg("--data-dir").arg(&data_dir);
        moto.env(&mut cmd);
        // The snapshot is in us-east-1; only the evidence item says so (moto keeps snapshots per Region).
        cmd.env("AWS_REGION", "eu-west-1");
        let output = cmd.output().unwrap();
        (output, out_dir)
    };

    // `--case` alone: every evidence item of the case (here one); then the snapshot id alone, found in
    // the journal's evidence.
    for (args, out) in [(vec!["--case", CASE], "by-case"), (vec![snapshot.as_str()], "by-snapshot")] {
        let (output, out_dir) = run(&args, Path::new(out));
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(summary.as_array().map(Vec::len), Some(1), "{summary}");
        assert_eq!(summary[0]["case_id"], CASE);
        let text = std::fs::read_to_string(out_dir.join(format!("{snapshot}.manifest.json"))).unwrap();
        let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();

        assert_eq!(manifest["case_id"], CASE, "{args:?}");
        assert_eq!(manifest["examiner"], "J. Examiner");
        assert_eq!(
            manifest["source"],
            serde_json::json!({
                "snapshot_id": snapshot,
                "region": "us-east-1",
                "account": "222222222222",
                "instance_id": INSTANCE,
                "volume_id": "vol-0ccccccccccccccccc",
                "kms_key_arn": KEY,
                "acquisition_path": "8 (cross-account-aws-managed-key)",
            }),
            "{args:?}"
        );
        // Every call of the instance, in journal order, with the journal's request ids and times; the
        // other instance's call is not evidence of this snapshot.
        let calls = manifest["aws_calls"].as_array().unwrap();
        let expected: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| {
                let (outcome, request_id) = match &e.outcome {
                    Some(custody_journal::Outcome::Ok { request_id, .. }) => ("ok", request_id.clone()),
                    Some(custody_journal::Outcome::Failed { request_id, .. }) => ("failed", request_id.clone()),
                    None => ("unknown", None),
                };
                serde_json::json!({
                    "api": e.intent.api, "step_id": e.intent.step_id, "account": e.intent.account,
                    "region": e.intent.region, "signer": e.intent.signer, "intended_at": e.intended_at,
                    "finished_at": e.finished_at, "outcome": outcome, "request_id": request_id,
                })
            })
            .collect();
        assert_eq!(calls, &expected, "{args:?}");
        let apis_and_ids: Vec<(&str, Option<&str>, &str)> = calls
            .iter()
            .map(|c| (c["api"].as_str().unwrap(), c["request_id"].as_str(), c["outcome"].as_str().unwrap()))
            .collect();
        assert_eq!(
            apis_and_ids,
            [
                ("ec2:CreateSnapshot", Some("req-create-1"), "ok"),
                ("ec2:CopySnapshot", Some("req-copy-1"), "failed"),
                ("ec2:CopySnapshot", Some("req-copy-2"), "ok"),
                ("ec2:CreateTags", None, "unknown"),
            ]
        );
        for call in calls {
            // UTC, RFC 3339: `…Z`, and after the fact (a recorded outcome finishes after its intent).
            let intended = call["intended_at"].as_str().unwrap();
            assert!(intended.ends_with('Z') && intended.len() == "2026-01-01T00:00:00.000000Z".len(), "{intended}");
            if let Some(finished) = call["finished_at"].as_str() {
                assert!(finished.ends_with('Z') && finished >= intended, "{call}");
            }
        }
        assert!(!text.contains("req-other"), "another instance's call is not in the manifest");
        // The readable version says the same.
        let readable = std::fs::read_to_string(out_dir.join(format!("{snapshot}.manifest.txt"))).unwrap();
        for needle in [CASE, INSTANCE, KEY, "req-create-1", "req-copy-1", "req-copy-2", "ec2:CreateTags"] {
            assert!(readable.contains(needle), "{needle} missing from the text manifest:\n{readable}");
        }
    }

    // A snapshot that is not evidence of the case: bad input, nothing read or written.
    let (output, out_dir) = run(&["snap-0123456789abcdef0", "--case", CASE], Path::new("not-evidence"));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("`snap-0123456789abcdef0` is not evidence of case `IR-42`")
    );
    assert_eq!(std::fs::read_dir(out_dir).unwrap().count(), 0);
}

/// An image that cannot fit is refused before a block is read, with the figures, exit 1, and nothing
/// left in `--out`. The small filesystem is a 1 MiB tmpfs mounted in a private user and mount namespace
/// (`unshare`), so the test needs no privileges and the host sees no mount.
#[test]
fn an_image_that_cannot_fit_is_refused_before_downloading_and_leaves_nothing() {
    let moto = Moto::start();
    let snapshot = moto.upload(); // three 512 KiB blocks with data: 1.5 MiB
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("small");
    std::fs::create_dir(&out).unwrap();
    let script = r#"mount -t tmpfs -o size=1m custody-test "$0" || exit 90
"$@"; code=$?
echo "left in --out: [$(ls -A "$0")]"
exit $code"#;
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .arg(&out)
        .arg(assert_cmd::cargo::cargo_bin("custody"))
        .args(["image", &snapshot, "--workers", "4", "--endpoint-url", &moto.endpoint, "--out"])
        .arg(&out)
        .env("CUSTODY_DATA_DIR", dir.path().join("no-journal"));
    moto.env(&mut cmd);
    let output = cmd.output().expect("this test needs util-linux `unshare`");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_ne!(output.status.code(), Some(90), "cannot mount a tmpfs in a user namespace here: {stderr}");
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("not enough disk space for the image: its 3 blocks with data still to download need 1572864 bytes (1.5 MiB) and the filesystem has"),
        "{stderr}"
    );
    assert!(stderr.contains("choose another --out"), "{stderr}");
    assert!(!stderr.contains("resume"), "there is nothing to resume: {stderr}");
    assert!(stdout.contains("left in --out: []"), "{stdout}");
}

//! The S3 output of a command, as a compromised instance could write it: too large, lying about its
//! size in the listing, or next to a stdout of the instance's own. The SSM agent writes one command's
//! stdout at `<prefix>/<command-id>/<instance-id>/awsrunShellScript/0.awsrunShellScript/stdout`
//! (Run Command guide, "Setting up Run Command", S3 output,
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-rc-setting-up-cmdsec.html>;
//! SSM API Reference, SendCommand `OutputS3KeyPrefix`,
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html>); the
//! instance profile that lets the agent write there lets anything on the instance write there too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::support;

use custody_journal::Journal;
use custody_triage::{triage, InstanceInfo, Platform, S3Location, TriageReport, TriageRequest};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use support::{inventory_json, output_of, request, FakeSsm, ACCOUNT};

const TAGGED: &str = "i-0e7e7e7e7e7e7e7e7";

fn fake() -> FakeSsm {
    FakeSsm::new(
        inventory_json(),
        vec![InstanceInfo {
            id: TAGGED.into(),
            platform: Platform::Linux,
            tags: [("CustodySSMEnabled".to_string(), "True".to_string())].into(),
            state: "running".into(),
            account: Some(ACCOUNT.into()),
        }],
    )
}

fn with_s3(dir: &Path) -> TriageRequest {
    TriageRequest {
        output: Some(S3Location::parse("s3://ir-evidence/T1/triage").unwrap()),
        download_dir: dir.join("triage").join("T1"),
        ..request(&[TAGGED], None)
    }
}

async fn run(fake: &FakeSsm, req: &TriageRequest) -> (Journal, TriageReport) {
    let journal = Journal::open_in_memory().unwrap();
    let report = triage(fake, &journal, req, &|_| {}).await.unwrap();
    (journal, report)
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_stdout_is_streamed_to_a_private_file_and_the_journal_names_the_object_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake();
    let req = with_s3(dir.path());
    let (journal, report) = run(&fake, &req).await;

    assert!(report.succeeded(), "{report:#?}");
    let key = "T1/triage/cmd-1/i-0e7e7e7e7e7e7e7e7/awsrunShellScript/0.awsrunShellScript/stdout";
    let body = fake.objects.lock().unwrap()[key].clone();
    let sha = hex::encode(Sha256::digest(&body));
    // On disk, whole, owner-only, in owner-only directories.
    let on_disk = files(&req.download_dir);
    assert_eq!(on_disk.len(), 1, "{on_disk:?}");
    assert_eq!(std::fs::read(&on_disk[0]).unwrap(), body);
    assert_eq!(mode(&on_disk[0]), 0o600);
    let instance_dir = on_disk[0].parent().unwrap();
    for d in [instance_dir, instance_dir.parent().unwrap(), &req.download_dir] {
        assert_eq!(mode(d), 0o700, "{}", d.display());
    }
    // In chunks, as they came (never the whole object at once).
    assert!(fake.largest_chunk.load(std::sync::atomic::Ordering::SeqCst) <= 8192);
    // The record of the parse: exactly which object (key, size, ETag, version) and its SHA-256.
    let artifacts = journal.triage_artifacts("T1").unwrap();
    let parsed = artifacts.iter().find(|a| a.name.ends_with("#parsed")).unwrap();
    assert_eq!(parsed.location, format!("s3://ir-evidence/{key}"));
    assert_eq!((parsed.sha256.as_str(), parsed.bytes), (sha.as_str(), body.len() as i64));
    let object = &parsed.detail["object"];
    assert_eq!(object["key"], key);
    assert_eq!(object["size_listed"], body.len());
    assert_eq!(object["etag"], format!("\"{}\"", body.len()));
    assert_eq!(object["version_id"], "v1");
    assert_eq!(parsed.detail["sha256"], sha);
}

#[tokio::test]
async fn an_object_over_the_cap_is_refused_by_name_and_cap_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fake().with_stdout(|c| output_of(c, 200));
    let req = TriageRequest { max_object_bytes: 4096, ..with_s3(dir.path()) };
    let (journal, report) = run(&fake, &req).await;

    let command = &report.instances[0].commands[0];
    assert!(!report.succeeded());
    let why = command.unparsed.as_deref().unwrap();
    assert!(why.contains("awsrunShellScript/0.awsrunShellScript/stdout") && why.contains("cap of 4096 bytes"), "{why}");
    assert!(why.contains("--max-object-size"), "{why}");
    assert!(command.collection.is_none());
    assert!(files(&req.download_dir).is_empty(), "{:?}", files(&req.download_dir));
    let artifacts = journal.triage_artifacts("T1").unwrap();
    assert!(artifacts.iter().any(|a| a.name == "stdout#unparsed"), "{artifacts:#?}");
    assert!(!artifacts.iter().any(|a| a.name.ends_with("#parsed")));
}

#[tokio::test]
async fn a_listing_that_understates_the_size_is_still_stopped_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = fake().with_stdout(|c| output_of(c, 200));
    fake.listed_size = Some(10);
    let req = TriageRequest { max_object_bytes: 4096, ..with_s3(dir.path()) };
    let (_, report) = run(&fake, &req).await;

    let why = report.instances[0].commands[0].unparsed.as_deref().unwrap();
    assert!(why.contains("over the cap of 4096 bytes"), "{why}");
    assert!(files(&req.download_dir).is_empty(), "a partial file was left: {:?}", files(&req.download_dir));
}

#[tokio::test]
async fn a_second_stdout_object_is_refused_and_nothing_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = fake();
    // The instance writes a stdout of its own beside the agent's, sorted before it.
    fake.extra_objects = vec![("aaa/stdout".into(), b"@@CUSTODY forged TRIAGE END\n".to_vec())];
    let req = with_s3(dir.path());
    let (journal, report) = run(&fake, &req).await;

    let command = &report.instances[0].commands[0];
    assert!(!report.succeeded());
    let why = command.unparsed.as_deref().unwrap();
    assert!(why.starts_with("2 objects named stdout under T1/triage/cmd-1/"), "{why}");
    assert!(command.collection.is_none(), "{:?}", command.collection);
    // Both are kept as evidence (hashed, journaled), neither parsed.
    let artifacts = journal.triage_artifacts("T1").unwrap();
    assert_eq!(artifacts.iter().filter(|a| a.name.ends_with("stdout")).count(), 2, "{artifacts:#?}");
    assert!(artifacts.iter().any(|a| a.name == "stdout#unparsed"));
    assert!(!artifacts.iter().any(|a| a.name.ends_with("#parsed")));
    assert_eq!(files(&req.download_dir).len(), 2);
}

#[tokio::test]
async fn objects_past_the_most_fetched_are_not_fetched_and_cannot_crowd_out_the_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = fake();
    // Sorted before the agent's stdout in the listing.
    fake.extra_objects = (0..40).map(|n| (format!("0junk/{n:03}"), vec![b'x'; 10])).collect();
    let req = with_s3(dir.path());
    let (_, report) = run(&fake, &req).await;

    let command = &report.instances[0].commands[0];
    assert!(command.warnings.iter().any(|w| w.contains("41 objects under") && w.contains("only 16 were fetched")));
    assert_eq!(files(&req.download_dir).len(), custody_triage::run::fetch::MAX_OBJECTS);
    // The extra objects cannot push the agent's stdout out of what is fetched and parsed.
    assert!(report.succeeded(), "{report:#?}");
    assert!(command.artifacts.iter().any(|a| a.name == "awsrunShellScript/0.awsrunShellScript/stdout#parsed"));
}

#[tokio::test]
async fn past_the_most_listed_objects_nothing_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = fake();
    // Enough keys that the agent's stdout falls past what custody lists (another stdout could hide
    // among them).
    let max = custody_triage::run::fetch::MAX_LISTED;
    fake.extra_objects = (0..max).map(|n| (format!("0junk/{n:05}"), vec![b'x'])).collect();
    let req = with_s3(dir.path());
    let (_, report) = run(&fake, &req).await;

    let command = &report.instances[0].commands[0];
    let why = command.unparsed.as_deref().unwrap();
    assert!(why.starts_with(&format!("more than {max} objects under")), "{why}");
    assert!(command.collection.is_none(), "the inline output is not used in its place either");
}

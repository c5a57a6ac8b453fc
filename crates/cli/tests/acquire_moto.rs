//! `custody acquire` against a moto server of the test's own on 127.0.0.1, as the README demo runs
//! it: the incident is seeded through the SDK (root volume under aws/ebs, data volume under a customer
//! key, the forensic role with exactly the policy `custody policy role` writes), then custody collects
//! the inventory live, proves every step, snapshots the instance, copies both volumes into a second
//! Region under the forensic key and deletes the intermediate snapshots. moto cannot share snapshots
//! across accounts (the cross-account paths run on the simulated cloud, crates/acquire/tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_cloud::testing::{seed_acquisition_incident, seed_forensic_role, AcquisitionIncident, Moto, MOTO_ACCOUNT};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

const REGION: &str = "us-east-1";
const FORENSIC_REGION: &str = "us-west-2";

struct Incident {
    moto: Moto,
    seeded: AcquisitionIncident,
    role_arn: String,
    data: PathBuf,
}

/// Runs `custody` with `args` against `moto`, without blocking the runtime.
async fn custody(moto: &Moto, args: &[&str]) -> Output {
    let cmd = moto.command(env!("CARGO_BIN_EXE_custody"), REGION).unwrap();
    tokio::process::Command::from(cmd).args(args).output().await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn incident(name: &str) -> Incident {
    let moto = Moto::start().await.unwrap();
    let config = moto.sdk_config(REGION).await.unwrap();
    let seeded = seed_acquisition_incident(&config, FORENSIC_REGION).await.unwrap();
    let policy = custody(
        &moto,
        &[
            "policy",
            "role",
            "--features",
            "acquire,cleanup",
            "--kms",
            "direct-use",
            "--forensic-account",
            MOTO_ACCOUNT,
            "--forensic-region",
            FORENSIC_REGION,
            "--regions",
            "us-east-1,us-west-2",
            "--source-accounts",
            MOTO_ACCOUNT,
        ],
    )
    .await;
    assert_eq!(policy.status.code(), Some(0), "{}", text(&policy.stderr));
    let generated: Value = serde_json::from_slice(&policy.stdout).unwrap();
    let role_arn = seed_forensic_role(&config, "CustodyForensic", &generated["forensic_role"]["policy"]).await.unwrap();
    let data = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("acquire-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    Incident { moto, seeded, role_arn, data }
}

impl Incident {
    async fn acquire(&self, case: &str, extra: &[&str]) -> Output {
        let to = format!("{MOTO_ACCOUNT}:{FORENSIC_REGION}");
        let mut args = vec![
            "acquire",
            &self.seeded.instance_id,
            "--case",
            case,
            "--to",
            &to,
            "--forensic-role-arn",
            &self.role_arn,
            "--forensic-key-arn",
            &self.seeded.forensic_key_arn,
            "--data-dir",
            self.data.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        custody(&self.moto, &args).await
    }
}

#[tokio::test]
async fn acquire_copies_both_volumes_into_the_forensic_region_and_leaves_no_intermediate() {
    let incident = incident("cross-region").await;
    let out = incident.acquire("MOTO-1", &["--json", "--examiner", "test"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["succeeded"], true);
    let volumes = report["instances"][0]["volumes"].as_array().unwrap();
    assert_eq!(volumes.len(), 2);
    for v in volumes {
        let e = &v["evidence"];
        // Another Region of the same account: path 4, whatever the key (EBS copy docs,
        // https://docs.aws.amazon.com/ebs/latest/userguide/ebs-copy-snapshot.html).
        assert_eq!(v["path"], "4 (cross-region)");
        assert_eq!(e["region"], FORENSIC_REGION);
        assert_eq!(e["key_arn"], incident.seeded.forensic_key_arn.as_str());
        assert_eq!(e["tags"]["CustodyCase"], "MOTO-1");
    }
    // What is left in AWS: the evidence in us-west-2, nothing tagged with the case in us-east-1.
    let config = incident.moto.sdk_config(REGION).await.unwrap();
    let left = aws_sdk_ec2::Client::new(&config)
        .describe_snapshots()
        .owner_ids("self")
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag:CustodyCase").values("MOTO-1").build())
        .send()
        .await
        .unwrap();
    assert!(left.snapshots().is_empty(), "intermediate snapshots left: {:?}", left.snapshots());
    let west = incident.moto.sdk_config(FORENSIC_REGION).await.unwrap();
    let kept = aws_sdk_ec2::Client::new(&west)
        .describe_snapshots()
        .owner_ids("self")
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag:CustodyCase").values("MOTO-1").build())
        .send()
        .await
        .unwrap();
    assert_eq!(kept.snapshots().len(), 2);

    // The journal has it all, and a second cleanup finds nothing to do.
    let show =
        custody(&incident.moto, &["show", "MOTO-1", "--data-dir", incident.data.to_str().unwrap(), "--json"]).await;
    assert_eq!(show.status.code(), Some(0), "{}", text(&show.stderr));
    let shown: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["evidence"].as_array().unwrap().len(), 2);
    let cleanup =
        custody(&incident.moto, &["cleanup", "--case", "MOTO-1", "--data-dir", incident.data.to_str().unwrap()]).await;
    assert_eq!(cleanup.status.code(), Some(0), "{}", text(&cleanup.stderr));

    // `custody audit` asks moto's CloudTrail, which does not serve LookupEvents (moto 5.2.1 answers
    // HTTP 500, "The lookup_events action has not been implemented"): the audit says the account
    // could not be read, lists every journaled call as unrecorded, and exits 1.
    let audit =
        custody(&incident.moto, &["audit", "MOTO-1", "--data-dir", incident.data.to_str().unwrap(), "--json"]).await;
    assert_eq!(audit.status.code(), Some(1), "{}", text(&audit.stderr));
    let audited: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let error = audited["sources"][0]["error"].as_str().unwrap();
    assert!(error.contains("LookupEvents") && error.contains("HTTP status 500"), "{error}");
    assert!(audited["journaled"].as_array().unwrap().iter().all(|c| c["status"] != "recorded"), "{audited}");
}

#[tokio::test]
async fn the_same_case_cannot_acquire_the_instance_twice_and_resume_finishes_it() {
    let incident = incident("twice").await;
    let first = incident.acquire("MOTO-2", &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let again = incident.acquire("MOTO-2", &[]).await;
    assert_ne!(again.status.code(), Some(0));
    assert!(text(&again.stderr).contains("MOTO-2"), "{}", text(&again.stderr));
    // Resuming a finished case redoes nothing: every step is taken from the journal.
    let resume = custody(
        &incident.moto,
        &["acquire", "--resume", "MOTO-2", "--data-dir", incident.data.to_str().unwrap(), "--json"],
    )
    .await;
    assert_eq!(resume.status.code(), Some(0), "{}", text(&resume.stderr));
    let report: Value = serde_json::from_slice(&resume.stdout).unwrap();
    assert_eq!(report["succeeded"], true);
}

#[tokio::test]
async fn an_unknown_instance_is_refused_before_anything_is_touched() {
    let incident = incident("unknown").await;
    let out = custody(
        &incident.moto,
        &[
            "acquire",
            "i-0123456789abcdef0",
            "--case",
            "MOTO-3",
            "--forensic-role-arn",
            &incident.role_arn,
            "--data-dir",
            incident.data.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("i-0123456789abcdef0"), "{}", text(&out.stderr));
}

/// The evidence snapshots of `case` in the forensic Region, as moto lists them.
async fn evidence_snapshots(incident: &Incident, case: &str) -> Vec<String> {
    let west = incident.moto.sdk_config(FORENSIC_REGION).await.unwrap();
    let listed = aws_sdk_ec2::Client::new(&west)
        .describe_snapshots()
        .owner_ids("self")
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag:CustodyCase").values(case).build())
        .send()
        .await
        .unwrap();
    let mut ids: Vec<String> = listed.snapshots().iter().filter_map(|s| s.snapshot_id().map(str::to_string)).collect();
    ids.sort();
    ids
}

/// Issue "evidence is never lost", first scenario, as a user ran it: the same case id in a second
/// data directory. Before, the second acquisition went ahead and `cleanup --case` from the second
/// directory deleted the first one's evidence ("tagged with the case, deleted"). Now the second
/// acquisition is refused before anything is created (exit 2, naming what carries the case), and no
/// cleanup from the second directory touches the first one's evidence.
#[tokio::test]
async fn a_case_id_already_used_from_another_data_directory_is_refused_and_its_evidence_survives_cleanup() {
    let incident = incident("two-dirs").await;
    let first = incident.acquire("MOTO-4", &[]).await;
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let evidence = evidence_snapshots(&incident, "MOTO-4").await;
    assert_eq!(evidence.len(), 2, "{evidence:?}");

    let other = PathBuf::from(format!("{}-other", incident.data.display()));
    let _ = std::fs::remove_dir_all(&other);
    let other_dir = other.to_str().unwrap();
    let to = format!("{MOTO_ACCOUNT}:{FORENSIC_REGION}");
    let again = custody(
        &incident.moto,
        &[
            "acquire",
            &incident.seeded.instance_id,
            "--case",
            "MOTO-4",
            "--to",
            &to,
            "--forensic-role-arn",
            &incident.role_arn,
            "--forensic-key-arn",
            &incident.seeded.forensic_key_arn,
            "--data-dir",
            other_dir,
        ],
    )
    .await;
    let said = text(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{said}");
    assert!(said.contains("MOTO-4") && evidence.iter().any(|s| said.contains(s.as_str())), "{said}");
    assert_eq!(evidence_snapshots(&incident, "MOTO-4").await, evidence, "the refused run created nothing");

    // Cleanup from the second directory: the case is not in its journal (exit 2), and the orphan
    // sweep only ever touches runs its journal knows. The first directory's evidence is all there.
    let by_case = custody(&incident.moto, &["cleanup", "--case", "MOTO-4", "--data-dir", other_dir]).await;
    assert_eq!(by_case.status.code(), Some(2), "{}", text(&by_case.stderr));
    let orphans = custody(&incident.moto, &["cleanup", "--orphans", "--data-dir", other_dir]).await;
    assert_ne!(orphans.status.code(), Some(1), "{}", text(&orphans.stderr));
    assert_eq!(evidence_snapshots(&incident, "MOTO-4").await, evidence);

    // And its own cleanup keeps it too: evidence is never temporary.
    let own =
        custody(&incident.moto, &["cleanup", "--case", "MOTO-4", "--data-dir", incident.data.to_str().unwrap()]).await;
    assert_eq!(own.status.code(), Some(0), "{}", text(&own.stderr));
    assert_eq!(evidence_snapshots(&incident, "MOTO-4").await, evidence);
}

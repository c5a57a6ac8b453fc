//! `custody audit`: a simulated acquisition, then its audit against the simulated cloud's CloudTrail
//! record (LookupEvents as the case's roles), for every acquisition path; and the differences an
//! audit must find, planted in a copy of that record read back with `--events`.
//!
//! The simulated cloud records a CloudTrail-shaped event for every call it answers, and one for each
//! KMS request EC2 makes on the caller's behalf (crates/sim, `trail`), in the record format CloudTrail
//! documents (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cli_support;

use cli_support::{custody_offline, private_dir};
use serde_json::{json, Value};
use std::path::Path;

/// Every example whose acquisition succeeds, as (case, instance, inventory).
const PATHS: &[(&str, &str, &str)] = &[
    ("IR-1", "i-01a1a1a1a1a1a1a1a", "1-unencrypted.json"),
    ("IR-2", "i-02b2b2b2b2b2b2b2b", "2-aws-managed-same-account.json"),
    ("IR-3", "i-03c3c3c3c3c3c3c3c", "3-customer-key-same-account.json"),
    ("IR-4", "i-04d4d4d4d4d4d4d4d", "4-cross-region-fixed.json"),
    ("IR-5", "i-05e5e5e5e5e5e5e5e", "5-cross-account-grant-only.json"),
    ("IR-6", "i-06f6f6f6f6f6f6f6f", "6-cross-account-direct.json"),
    ("IR-7", "i-07a7a7a7a7a7a7a7a", "7-cross-account-owner-grants.json"),
    ("IR-8", "i-08b8b8b8b8b8b8b8b", "8-cross-account-aws-managed.json"),
    ("IR-9", "i-09c9c9c9c9c9c9c9c", "9-direct-read.json"),
];

/// Acquires `instance` on the simulated cloud `inventory` describes, journaled in `data_dir`.
fn acquire(data_dir: &Path, case: &str, instance: &str, inventory: &str, no_preflight: bool) -> Option<i32> {
    let inventory = format!("examples/inventories/{inventory}");
    let mut args = vec!["acquire", instance, "--case", case, "--simulate", &inventory];
    args.extend(["--data-dir", data_dir.to_str().unwrap()]);
    if no_preflight {
        args.push("--no-preflight");
    }
    let (code, _, stderr) = custody_offline(&args);
    assert!(!stderr.contains("panicked"), "{stderr}");
    code
}

/// `custody audit CASE --json` (plus `extra`): the exit code and the audit.
fn run_audit(data_dir: &Path, case: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["audit", case, "--json", "--data-dir", data_dir.to_str().unwrap()];
    args.extend(extra);
    let (code, stdout, stderr) = custody_offline(&args);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (code, value, stderr)
}

fn statuses(audit: &Value) -> Vec<String> {
    audit["journaled"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap().to_string()).collect()
}

/// Every journaled call has its event: by request id, or (AssumeRole, whose answer custody does not
/// keep a request id of) by API, role and time.
fn all_recorded(statuses: &[String]) -> bool {
    statuses.iter().all(|s| s == "recorded" || s == "recorded-without-request-id")
}

#[test]
fn every_path_acquired_then_audited_has_every_call_recorded_and_every_service_call_predicted() {
    for (case, instance, inventory) in PATHS {
        let dir = private_dir();
        assert_eq!(acquire(dir.path(), case, instance, inventory, false), Some(0), "{inventory}");
        let (code, audit, stderr) = run_audit(dir.path(), case, &[]);
        assert_eq!(code, Some(0), "{inventory}: {}\n{stderr}", serde_json::to_string_pretty(&audit).unwrap());
        let statuses = statuses(&audit);
        assert!(!statuses.is_empty(), "{inventory}: nothing journaled");
        assert!(all_recorded(&statuses), "{inventory}: {statuses:?}");
        let alarms: Vec<&Value> =
            audit["unjournaled"].as_array().unwrap().iter().filter(|u| u.get("expected").is_none()).collect();
        assert!(alarms.is_empty(), "{inventory}: {alarms:?}");
        assert_eq!(audit["service_calls"]["unpredicted"], json!([]), "{inventory}");
        // Every source was read.
        for s in audit["sources"].as_array().unwrap() {
            assert!(s.get("error").is_none(), "{inventory}: {s}");
        }
        // An encrypted volume copied by EC2 shows KMS calls on custody's behalf, predicted and seen.
        if !["1-unencrypted.json", "9-direct-read.json"].contains(inventory) {
            let matched = audit["service_calls"]["matched"].as_array().unwrap();
            assert!(!matched.is_empty(), "{inventory}: no service call matched");
        }
    }
}

#[test]
fn the_matched_events_are_kept_in_the_journal_and_shown() {
    let dir = private_dir();
    let (case, instance, inventory) = PATHS[7];
    assert_eq!(acquire(dir.path(), case, instance, inventory, false), Some(0));
    let (code, audit, _) = run_audit(dir.path(), case, &[]);
    assert_eq!(code, Some(0));
    let first = audit["journaled"][0]["events"][0]["event_id"].as_str().unwrap().to_string();
    let (code, stdout, stderr) = custody_offline(&["show", case, "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(&format!("CloudTrail event {first}")), "{stdout}");
}

/// The simulated cloud's record of `case`, as a CloudTrail log file (`{"Records": […]}`).
fn records(data_dir: &Path, case: &str) -> Vec<Value> {
    let world = custody_sim::SimWorld::load(&data_dir.join("simulated").join(format!("{case}.json"))).unwrap();
    world.trail_records().into_iter().map(|(_, record)| record).collect()
}

fn write_records(path: &Path, records: &[Value]) {
    std::fs::write(path, serde_json::to_vec(&json!({ "Records": records })).unwrap()).unwrap();
}

#[test]
fn the_record_read_from_a_log_file_gives_the_same_audit() {
    let dir = private_dir();
    let (case, instance, inventory) = PATHS[4];
    assert_eq!(acquire(dir.path(), case, instance, inventory, false), Some(0));
    let file = dir.path().join("trail.json");
    write_records(&file, &records(dir.path(), case));
    let (code, audit, stderr) = run_audit(dir.path(), case, &["--events", file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{audit}\n{stderr}");
    assert!(all_recorded(&statuses(&audit)), "{audit}");
}

/// Each planted difference is found, and each makes the audit exit 1.
#[test]
fn an_audit_finds_each_difference_planted_in_the_record() {
    let dir = private_dir();
    let (case, instance, inventory) = PATHS[7];
    assert_eq!(acquire(dir.path(), case, instance, inventory, false), Some(0));
    let all = records(dir.path(), case);
    let file = dir.path().join("trail.json");
    let events = ["--events", file.to_str().unwrap()];

    // 1. A journaled call CloudTrail does not have.
    let copy = all.iter().position(|r| r["eventName"] == "CopySnapshot" && r.get("errorCode").is_none()).unwrap();
    let mut missing = all.clone();
    let removed = missing.remove(copy);
    write_records(&file, &missing);
    let (code, audit, _) = run_audit(dir.path(), case, &events);
    assert_eq!(code, Some(1));
    let not_recorded: Vec<&Value> =
        audit["journaled"].as_array().unwrap().iter().filter(|c| c["status"] == "not-recorded").collect();
    assert_eq!(not_recorded.len(), 1, "{not_recorded:?}");
    assert_eq!(not_recorded[0]["request_id"], removed["requestID"]);

    // 2. A call by the case's session that custody did not make: a DeleteSnapshot of the evidence.
    let mut foreign = all.clone();
    let mut delete = removed.clone();
    delete["eventName"] = json!("DeleteSnapshot");
    delete["eventID"] = json!("11111111-2222-3333-4444-555555555555");
    delete["requestID"] = json!("planted-request");
    foreign.push(delete);
    write_records(&file, &foreign);
    let (code, audit, _) = run_audit(dir.path(), case, &events);
    assert_eq!(code, Some(1));
    let alarms: Vec<&Value> =
        audit["unjournaled"].as_array().unwrap().iter().filter(|u| u.get("expected").is_none()).collect();
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(alarms[0]["event"]["action"], "ec2:DeleteSnapshot");

    // 3. A KMS call EC2 made on custody's behalf that the plan did not predict: a Decrypt of a
    //    service call already in the record, re-aimed at another operation.
    let service = all
        .iter()
        .position(|r| r["eventSource"] == "kms.amazonaws.com" && r["userIdentity"].get("invokedBy").is_some())
        .unwrap();
    let mut unpredicted = all.clone();
    let mut extra = all[service].clone();
    extra["eventName"] = json!("Sign");
    extra["eventID"] = json!("66666666-7777-8888-9999-000000000000");
    unpredicted.push(extra);
    write_records(&file, &unpredicted);
    let (code, audit, _) = run_audit(dir.path(), case, &events);
    assert_eq!(code, Some(1));
    let gaps = audit["service_calls"]["unpredicted"].as_array().unwrap();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0]["event"]["action"], "kms:Sign");
    // The engine's decision is given, and the report to send in names the request.
    assert!(gaps[0]["decision"]["outcome"].is_string(), "{}", gaps[0]);
    assert_eq!(gaps[0]["report"]["request"]["action"], "kms:Sign");
    assert!(gaps[0]["report"]["event"]["userIdentity"].get("accessKeyId").is_none());
}

/// A run the preflight refused, forced with --no-preflight: AWS's refusal is in the record, explained
/// with the preflight's words for the same request.
#[test]
fn a_refusal_in_the_record_is_explained_with_the_preflights_words() {
    let dir = private_dir();
    assert_eq!(acquire(dir.path(), "IR-4", "i-04d4d4d4d4d4d4d4d", "4-cross-region.json", true), Some(1));
    let (_, audit, stderr) = run_audit(dir.path(), "IR-4", &[]);
    let refusals = audit["refusals"].as_array().unwrap();
    assert!(!refusals.is_empty(), "{audit}\n{stderr}");
    let explained = refusals.iter().find(|r| r.get("preflight").is_some()).unwrap_or_else(|| panic!("{refusals:?}"));
    assert_eq!(explained["preflight"]["outcome"], "denied", "{explained}");
}

#[test]
fn bad_events_files_are_refused_with_the_json_path_and_exit_2() {
    let dir = private_dir();
    let (case, instance, inventory) = PATHS[0];
    assert_eq!(acquire(dir.path(), case, instance, inventory, false), Some(0));
    let file = dir.path().join("bad.json");
    std::fs::write(&file, r#"{"Records": [{"eventVersion": "1.08"}]}"#).unwrap();
    let (code, stdout, stderr) = custody_offline(&[
        "audit",
        case,
        "--events",
        file.to_str().unwrap(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("$.Records[0]"), "{stderr}");
    assert!(stdout.is_empty());
    let (code, _, stderr) = custody_offline(&["audit", "NO-SUCH", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no case `NO-SUCH`"), "{stderr}");
}

/// A record AWS published, re-aimed at the case: its identity becomes the case's forensic session
/// (as the simulated cloud recorded it), its account, Region and time the case's, its key the case's.
fn aimed(example: &Value, like: &Value, key_arn: &str, event_id: &str) -> Value {
    let mut r = example.clone();
    let mut identity = like["userIdentity"].clone();
    if let Some(service) = example["userIdentity"].get("invokedBy") {
        identity["invokedBy"] = service.clone();
    }
    r["userIdentity"] = identity;
    for field in ["eventTime", "awsRegion", "recipientAccountId"] {
        r[field] = like[field].clone();
    }
    r["eventID"] = json!(event_id);
    r["requestID"] = json!(format!("req-{event_id}"));
    r["resources"] = json!([{ "ARN": key_arn, "accountId": like["recipientAccountId"] }]);
    r["requestParameters"]["keyId"] = json!(key_arn);
    r
}

/// The differences planted from AWS's own log-entry examples (crates/audit/tests/fixtures, each
/// from its page): the KMS calls EC2 made "as the caller" for a new encrypted volume (KMS Developer
/// Guide, ct-ec2two, <https://docs.aws.amazon.com/kms/latest/developerguide/ct-ec2two.html>) are
/// service calls custody never predicts (custody creates no volume here); a CreateGrant made directly
/// by the case's session (ct-creategrant,
/// <https://docs.aws.amazon.com/kms/latest/developerguide/ct-creategrant.html>) was never journaled.
#[test]
fn differences_planted_from_aws_published_examples_are_found() {
    let dir = private_dir();
    let (case, instance, inventory) = PATHS[2];
    assert_eq!(acquire(dir.path(), case, instance, inventory, false), Some(0));
    let mut all = records(dir.path(), case);
    let like = all.iter().find(|r| r["eventName"] == "CopySnapshot").unwrap().clone();
    let key = "arn:aws:kms:eu-west-1:999999999999:key/3b3b3b3b-0000-4000-8000-000000000003";
    let fixtures = cli_support::workspace().join("crates/audit/tests/fixtures");
    let read = |name: &str| -> Vec<Value> {
        let v: Value = serde_json::from_slice(&std::fs::read(fixtures.join(name)).unwrap()).unwrap();
        v["Records"].as_array().unwrap().clone()
    };
    let ec2two = read("ec2-kms-log-file.json");
    let grant_by_ec2 = ec2two.iter().find(|r| r["eventName"] == "CreateGrant").unwrap();
    let data_key_by_ec2 = ec2two.iter().find(|r| r["eventName"] == "GenerateDataKeyWithoutPlaintext").unwrap();
    let direct_grant = &read("kms-log-file.json")[0];
    all.push(aimed(grant_by_ec2, &like, key, "aaaaaaaa-0000-4000-8000-000000000001"));
    all.push(aimed(data_key_by_ec2, &like, key, "aaaaaaaa-0000-4000-8000-000000000002"));
    let mut direct = aimed(direct_grant, &like, key, "aaaaaaaa-0000-4000-8000-000000000003");
    direct["userIdentity"].as_object_mut().unwrap().remove("invokedBy");
    all.push(direct);
    let file = dir.path().join("trail.json");
    write_records(&file, &all);
    let (code, audit, stderr) = run_audit(dir.path(), case, &["--events", file.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{audit}\n{stderr}");
    let unpredicted: Vec<&str> = audit["service_calls"]["unpredicted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["event"]["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(unpredicted, ["aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"]);
    let alarms: Vec<&str> = audit["unjournaled"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u.get("expected").is_none())
        .map(|u| u["event"]["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(alarms, ["aaaaaaaa-0000-4000-8000-000000000003"]);
}

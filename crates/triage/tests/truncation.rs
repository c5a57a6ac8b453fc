//! The inline output, cut, through a whole triage.
//!
//! Without an S3 output custody has only what GetCommandInvocation answers, and its
//! `StandardOutputContent` is "the first 24,000 characters written by the plugin to stdout" (AWS
//! Systems Manager API Reference, GetCommandInvocation:
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCommandInvocation.html>;
//! the same text in AWS's SDK reference,
//! <https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/ssm/aws.sdk.kotlin.services.ssm.model/-get-command-invocation-response/standard-output-content.html>).
//! The fake answers exactly that of a collection twice as large, cut mid-section: the run must say
//! the output was cut, mark the artifact truncated in the journal and name the sections that are
//! missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::support;

use custody_journal::Journal;
use custody_triage::run::INLINE_STDOUT_LIMIT;
use custody_triage::script::SECTIONS;
use custody_triage::{triage, InstanceInfo, Platform};
use std::sync::Mutex;
use support::{cut_output, inventory_json, request, FakeSsm, ACCOUNT};

const TAGGED: &str = "i-0e7e7e7e7e7e7e7e7";

#[tokio::test]
async fn a_cut_inline_output_is_warned_marked_truncated_and_its_missing_sections_named() {
    let fake = FakeSsm::new(
        inventory_json(),
        vec![InstanceInfo {
            id: TAGGED.into(),
            platform: Platform::Linux,
            tags: [("CustodySSMEnabled".to_string(), "True".to_string())].into(),
            state: "running".into(),
            account: Some(ACCOUNT.into()),
        }],
    )
    .with_stdout(cut_output);
    let req = request(&[TAGGED], None);
    let journal = Journal::open_in_memory().unwrap();
    let lines = Mutex::new(Vec::<String>::new());
    let report = triage(&fake, &journal, &req, &|l: &str| lines.lock().unwrap().push(l.to_string())).await.unwrap();

    // What the fake answered: 24,000 characters, the cut inside a section.
    let sent = fake.sent();
    let stdout = cut_output(&sent[0].commands);
    assert_eq!(stdout.chars().count(), INLINE_STDOUT_LIMIT);
    let began = |s: &str| stdout.contains(&format!(" SECTION {s} BEGIN\n"));
    let ended = |s: &str| stdout.contains(&format!(" SECTION {s} END ok\n"));
    let cut_in: Vec<&str> = SECTIONS.iter().copied().filter(|s| began(s) && !ended(s)).collect();
    let missing: Vec<&str> = SECTIONS.iter().copied().filter(|s| !began(s)).collect();
    assert_eq!(cut_in.len(), 1, "the cut falls inside one section");
    assert!(!missing.is_empty() && began(SECTIONS[0]));

    // The run says so.
    assert!(!report.succeeded());
    let command = &report.instances[0].commands[0];
    assert_eq!(command.status, "Success", "the command itself succeeded; its output is what was cut");
    assert!(command.truncated);
    let lines = lines.into_inner().unwrap();
    let warned = |what: &str| lines.iter().any(|l| l.starts_with(&format!("warning: {TAGGED}: ")) && l.contains(what));
    assert!(warned("the inline output was cut at 24,000 characters"), "{lines:#?}");
    assert!(warned("pass --output s3://bucket/prefix"), "{lines:#?}");
    assert!(warned(&format!("sections missing from the output: {}", missing.join(", "))), "{lines:#?}");
    assert!(warned(&format!("section {} is cut short", cut_in[0])), "{lines:#?}");
    let collection = command.collection.as_ref().unwrap();
    assert!(!collection.complete);
    assert_eq!(collection.missing, missing);

    // The journal marks the artifact truncated, with what is missing, hashed as it arrived.
    let artifacts = journal.triage_artifacts("T1").unwrap();
    let artifact = artifacts.iter().find(|a| a.name == "stdout").unwrap();
    assert_eq!(artifact.location, "inline:GetCommandInvocation");
    assert_eq!(artifact.detail["truncated"], true);
    assert_eq!(artifact.detail["complete"], false);
    assert_eq!(artifact.detail["missing"], serde_json::json!(missing));
    assert_eq!(artifact.bytes, i64::try_from(stdout.len()).unwrap());
    assert_eq!(artifact.content.as_deref(), Some(stdout.as_str()));
    let cut_section = artifact.detail["sections"].as_array().unwrap().iter().find(|s| s["name"] == cut_in[0]).unwrap();
    assert_eq!(cut_section["status"], "unterminated");
}

//! A triage killed midway and resumed never sends a command that was sent. The kill is the
//! journal's in-process fault (`Journal::crash_after_writes`: every write after the n-th fails, as if
//! the process died there, after whatever AWS call preceded it), at every write of a triage of two
//! instances with S3 output; the resumed run gets a fresh fake-free view of the journal and the same
//! SSM fake, which counts every SendCommand. (The real-binary kill, with the journal's abort switch,
//! is `crates/cli/tests/triage_moto_cli.rs`.)
//!
//! A command whose SendCommand answer was lost is found with ListCommands, which is eventually
//! consistent (SSM API Reference, ListCommands,
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommands.html>; a Pending
//! command cannot be filtered by instance, CommandFilter,
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CommandFilter.html>).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::support;

use custody_journal::{Journal, JournalError, Outcome};
use custody_triage::{triage, InstanceInfo, Platform, S3Location, TriageError, TriageReport, TriageRequest};
use std::path::Path;
use std::time::Duration;
use support::{inventory_json, request, FakeSsm, ACCOUNT};

const A: &str = "i-0e7e7e7e7e7e7e7e7";
const B: &str = "i-0aaaaaaaaaaaaaaa1";

fn fake() -> FakeSsm {
    let tagged = |id: &str| InstanceInfo {
        id: id.into(),
        platform: Platform::Linux,
        tags: [("CustodySSMEnabled".to_string(), "True".to_string())].into(),
        state: "running".into(),
        account: Some(ACCOUNT.into()),
    };
    FakeSsm::new(inventory_json(), vec![tagged(A), tagged(B)])
}

fn req(dir: &Path) -> TriageRequest {
    TriageRequest {
        output: Some(S3Location::parse("s3://ir-evidence/T1/triage").unwrap()),
        download_dir: dir.join("triage").join("T1"),
        ..request(&[A, B], None)
    }
}

fn resumed(req: &TriageRequest) -> TriageRequest {
    TriageRequest { resume: true, ..req.clone() }
}

async fn run(fake: &FakeSsm, journal: &Journal, req: &TriageRequest) -> Result<TriageReport, TriageError> {
    triage(fake, journal, req, &|_| {}).await
}

/// What a finished triage leaves in the journal: per command, its row and the record of its parse.
fn assert_finished(journal: &Journal, commands: usize, what: &str) {
    let rows = journal.triage_commands("T1").unwrap();
    assert_eq!(rows.len(), commands, "{what}: {rows:#?}");
    let artifacts = journal.triage_artifacts("T1").unwrap();
    for row in &rows {
        assert_eq!(row.status, "Success", "{what}");
        let parsed = artifacts.iter().filter(|a| a.command_id == row.command_id && a.name.ends_with("#parsed"));
        assert_eq!(parsed.count(), 1, "{what}: {}", row.command_id);
    }
    assert!(journal.unfinished("T1").unwrap().is_empty(), "{what}: an intent is left without an outcome");
}

#[tokio::test]
async fn a_triage_killed_after_any_journal_write_resumes_without_sending_anything_twice() {
    // The writes of an uninterrupted run.
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open_in_memory().unwrap();
    assert!(run(&fake(), &journal, &req(dir.path())).await.unwrap().succeeded());
    let writes = journal.writes();
    assert!(writes >= 10, "{writes}");

    for n in 0..writes {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open_in_memory().unwrap();
        let fake = fake();
        journal.crash_after_writes(n);
        let err = run(&fake, &journal, &req(dir.path())).await.unwrap_err();
        assert!(matches!(err, TriageError::Journal(JournalError::Injected)), "kill after write {n}: {err:?}");
        let sent_before = fake.sent().len();
        journal.clear_fault();

        let report = run(&fake, &journal, &resumed(&req(dir.path()))).await.unwrap();

        assert!(report.succeeded(), "kill after write {n}: {report:#?}");
        let sent: Vec<String> = fake.sent().iter().map(|r| r.instance_id.clone()).collect();
        assert_eq!(sent.len(), 2, "kill after write {n}: sent {sent:?} ({sent_before} before the kill)");
        assert!(sent.contains(&A.to_string()) && sent.contains(&B.to_string()));
        assert_finished(&journal, 2, &format!("kill after write {n}"));
    }
}

#[tokio::test]
async fn a_lost_answer_is_looked_up_again_while_ssm_does_not_list_it_yet() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open_in_memory().unwrap();
    let mut fake = fake();
    // ListCommands shows nothing for the first three calls (eventual consistency).
    fake.list_lag = 3;
    // Killed right after the first SendCommand, before its answer was journaled: the case and the
    // intent are the two writes that made it.
    journal.crash_after_writes(2);
    run(&fake, &journal, &req(dir.path())).await.unwrap_err();
    assert_eq!(journal.unfinished("T1").unwrap().len(), 1);
    journal.clear_fault();

    let report =
        run(&fake, &journal, &TriageRequest { lookup_wait: Duration::from_secs(5), ..resumed(&req(dir.path())) })
            .await
            .unwrap();

    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(fake.sent().len(), 2, "the first was found, not sent again");
    assert!(fake.list_calls.load(std::sync::atomic::Ordering::SeqCst) >= 4);
    let entry = journal.entries("T1").unwrap().into_iter().next().unwrap();
    match entry.outcome {
        Some(Outcome::Ok { result, .. }) => {
            assert_eq!(result["command_id"], "cmd-1");
            assert!(result["found_by"].as_str().unwrap().contains("ssm:ListCommands"), "{result}");
        }
        other => panic!("{other:?}"),
    }
    assert_finished(&journal, 2, "found after a lag");
}

#[tokio::test]
async fn a_lost_answer_ssm_never_lists_is_not_sent_again_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open_in_memory().unwrap();
    let mut fake = fake();
    fake.list_lag = usize::MAX;
    journal.crash_after_writes(2);
    run(&fake, &journal, &req(dir.path())).await.unwrap_err();
    journal.clear_fault();

    // Resumed: A's command cannot be confirmed, so it is reported and not sent; B is sent.
    let report = run(&fake, &journal, &resumed(&req(dir.path()))).await.unwrap();
    assert!(!report.succeeded());
    let a = report.instances.iter().find(|i| i.instance_id == A).unwrap();
    let refused = a.refused.as_ref().unwrap();
    assert!(refused.message.contains("does not send it again on its own"), "{}", refused.message);
    assert!(refused.help.as_deref().unwrap().contains("--resend-unconfirmed"));
    assert!(a.commands.is_empty());
    let sent: Vec<String> = fake.sent().iter().map(|r| r.instance_id.clone()).collect();
    assert_eq!(sent, [A, B], "A once (before the kill), B once");

    // Asked explicitly: sent anew, and the journal says why the first attempt was closed.
    let again = TriageRequest { resend_unconfirmed: true, ..resumed(&req(dir.path())) };
    let report = run(&fake, &journal, &again).await.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let sent: Vec<String> = fake.sent().iter().map(|r| r.instance_id.clone()).collect();
    assert_eq!(sent, [A, B, A]);
    let first = journal.entries("T1").unwrap().into_iter().next().unwrap();
    assert!(
        matches!(&first.outcome, Some(Outcome::Failed { code: Some(c), .. }) if c == "NotFoundAfterInterruption"),
        "{:?}",
        first.outcome
    );
}

#[tokio::test]
async fn without_resume_an_interrupted_triage_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open_in_memory().unwrap();
    let fake = fake();
    journal.crash_after_writes(4); // A sent and its row written; nothing fetched
    run(&fake, &journal, &req(dir.path())).await.unwrap_err();
    journal.clear_fault();
    let sent = fake.sent().len();

    let err = run(&fake, &journal, &req(dir.path())).await.unwrap_err();

    assert!(err.is_refusal(), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("interrupted triage") && message.contains("--resume"), "{message}");
    assert!(message.contains(A), "{message}");
    assert_eq!(fake.sent().len(), sent, "nothing was sent");
}

#[tokio::test]
async fn a_finished_triage_resumed_sends_nothing_and_reports_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open_in_memory().unwrap();
    let fake = fake();
    let first = run(&fake, &journal, &req(dir.path())).await.unwrap();
    let before = journal.triage_artifacts("T1").unwrap();

    let again = run(&fake, &journal, &resumed(&req(dir.path()))).await.unwrap();

    assert!(again.succeeded());
    assert_eq!(fake.sent().len(), 2);
    let sha = |r: &TriageReport| {
        r.instances
            .iter()
            .flat_map(|i| &i.commands)
            .flat_map(|c| &c.artifacts)
            .map(|a| a.sha256.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(sha(&first), sha(&again));
    assert_eq!(journal.triage_artifacts("T1").unwrap(), before, "nothing new recorded");
}

//! Tag scoping and AWS's refusals, on an SSM fake that authorizes SendCommand with the policy engine
//! against the example inventory of seed 004 (CustodySSMEnabled=True, the two shell documents).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::support;

use custody_journal::Journal;
use custody_plan::inventory::Tag;
use custody_triage::{triage, InstanceInfo, Platform, SendFailure, TriageError, TriageReport, TriageRequest};
use support::{inventory_json, request, FakeSsm, ACCOUNT};

const TAGGED: &str = "i-0e7e7e7e7e7e7e7e7";
const OTHER: &str = "i-0aaaaaaaaaaaaaaa1";

fn instance(id: &str, platform: Platform, tags: &[(&str, &str)]) -> InstanceInfo {
    InstanceInfo {
        id: id.into(),
        platform,
        tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        state: "running".into(),
        account: Some(ACCOUNT.into()),
    }
}

fn tag() -> Tag {
    Tag { key: "CustodySSMEnabled".into(), value: "True".into() }
}

async fn run(fake: &FakeSsm, req: &TriageRequest) -> (Journal, Result<TriageReport, TriageError>) {
    let journal = Journal::open_in_memory().unwrap();
    let result = triage(fake, &journal, req, &|_| {}).await;
    (journal, result)
}

/// What AWS refused for `id` (the test fails when nothing was).
fn refusal<'a>(report: &'a TriageReport, id: &str) -> &'a SendFailure {
    let instance = report.instances.iter().find(|i| i.instance_id == id).unwrap();
    instance.refused.as_ref().unwrap_or_else(|| panic!("{id} was not refused: {report:#?}"))
}

#[tokio::test]
async fn a_tagged_linux_instance_is_triaged_and_journaled() {
    let fake =
        FakeSsm::new(inventory_json(), vec![instance(TAGGED, Platform::Linux, &[("CustodySSMEnabled", "True")])]);
    let (journal, result) = run(&fake, &request(&[TAGGED], Some(tag()))).await;
    let report = result.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let sent = fake.sent();
    assert_eq!((sent.len(), sent[0].document.as_str()), (1, "AWS-RunShellScript"));
    let commands = journal.triage_commands("T1").unwrap();
    assert_eq!((commands[0].command_id.as_str(), commands[0].status.as_str()), ("cmd-1", "Success"));
    let artifacts = journal.triage_artifacts("T1").unwrap();
    assert_eq!(artifacts[0].location, "inline:GetCommandInvocation");
    assert_eq!(artifacts[0].sha256.len(), 64);
    let entries = journal.entries("T1").unwrap();
    assert_eq!(entries[0].intent.api, "ssm:SendCommand");
    assert!(entries[0].outcome.as_ref().unwrap().is_ok());
}

#[tokio::test]
async fn an_untagged_instance_is_refused_before_anything_is_sent() {
    let fake = FakeSsm::new(
        inventory_json(),
        vec![
            instance(TAGGED, Platform::Linux, &[("CustodySSMEnabled", "True")]),
            instance(OTHER, Platform::Linux, &[("Name", "db")]),
        ],
    );
    let (journal, result) = run(&fake, &request(&[TAGGED, OTHER], Some(tag()))).await;
    let err = result.unwrap_err();
    assert!(err.is_refusal());
    assert!(err.to_string().contains(&format!("{OTHER} has no tag CustodySSMEnabled")), "{err}");
    assert!(err.help().unwrap().contains(&format!("aws ec2 create-tags --resources {OTHER}")), "{err:?}");
    assert!(fake.sent().is_empty(), "nothing may be sent, not even to the tagged instance");
    assert!(journal.cases().unwrap().is_empty(), "nothing journaled");
}

#[tokio::test]
async fn a_tag_value_in_another_case_is_refused_by_custody_and_by_aws() {
    // Seed 004's policy tests the tag with StringLike, which is case-sensitive (IAM User Guide, "IAM
    // JSON policy elements: Condition operators", string condition operators), so AWS refuses
    // `true` for `True`; custody refuses it first.
    let fake =
        FakeSsm::new(inventory_json(), vec![instance(TAGGED, Platform::Linux, &[("CustodySSMEnabled", "true")])]);
    let (_, result) = run(&fake, &request(&[TAGGED], Some(tag()))).await;
    assert!(result.unwrap_err().to_string().contains("tag values are case-sensitive"));
    assert!(fake.sent().is_empty());
    // Without a scoping tag custody sends, and the policy engine refuses as AWS would.
    let (journal, result) = run(&fake, &request(&[TAGGED], None)).await;
    let report = result.unwrap();
    assert!(!report.succeeded());
    let SendFailure { access_denied, message, help } = refusal(&report, TAGGED);
    assert!(access_denied);
    assert!(
        message.contains("AWS refused ssm:SendCommand of AWS-RunShellScript")
            && message.contains("CustodySSMEnabled=true"),
        "{message}"
    );
    assert!(help.as_deref().unwrap().contains("custody policy role --features triage"), "{help:?}");
    // The refused call is journaled with AWS's answer.
    let entries = journal.entries("T1").unwrap();
    assert!(!entries[0].outcome.as_ref().unwrap().is_ok());
}

#[tokio::test]
async fn access_denied_on_an_untagged_instance_names_the_tag_to_add() {
    let fake = FakeSsm::new(inventory_json(), vec![instance(OTHER, Platform::Linux, &[])]);
    let (_, result) = run(&fake, &request(&[OTHER], None)).await;
    assert!(refusal(&result.unwrap(), OTHER).access_denied);
    // With the tag known (but the check skipped by a caller that still wants AWS's word), the
    // explanation names it and the command that adds it.
    let err = custody_triage::scope::explain_access_denied(
        &fake.instances[0],
        "AWS-RunShellScript",
        Some(&tag()),
        "AccessDeniedException",
    );
    assert!(err.to_string().contains("aws ec2 create-tags --resources i-0aaaaaaaaaaaaaaa1"), "{err}");
}

#[tokio::test]
async fn access_denied_on_one_instance_does_not_stop_the_others() {
    // custody's own check is off (no scoping tag), so the policy engine refuses the untagged
    // instance, as AWS would; the instance sent to before it and the one after it still run, and
    // both their commands are polled to the end and fetched.
    const LAST: &str = "i-0bbbbbbbbbbbbbbb2";
    let fake = FakeSsm::new(
        inventory_json(),
        vec![
            instance(TAGGED, Platform::Linux, &[("CustodySSMEnabled", "True")]),
            instance(OTHER, Platform::Linux, &[("Name", "db")]),
            instance(LAST, Platform::Linux, &[("CustodySSMEnabled", "True")]),
        ],
    );
    let journal = Journal::open_in_memory().unwrap();
    let lines = std::sync::Mutex::new(Vec::<String>::new());
    let progress = |l: &str| lines.lock().unwrap().push(l.to_string());
    let report = triage(&fake, &journal, &request(&[TAGGED, OTHER, LAST], None), &progress).await.unwrap();

    assert!(!report.succeeded(), "a refused instance is not a success");
    let refused = refusal(&report, OTHER);
    assert!(refused.access_denied);
    assert!(refused.message.contains(&format!("AWS refused ssm:SendCommand of AWS-RunShellScript to {OTHER}")));
    assert!(refused.message.contains("not authorized to perform: ssm:SendCommand"), "AWS's words: {refused:?}");
    assert!(refused.help.as_deref().unwrap().contains("custody policy role --features triage"));
    let other = report.instances.iter().find(|i| i.instance_id == OTHER).unwrap();
    assert!(other.commands.is_empty());
    for id in [TAGGED, LAST] {
        let i = report.instances.iter().find(|i| i.instance_id == id).unwrap();
        assert!(i.refused.is_none() && i.succeeded(), "{i:#?}");
        assert_eq!(i.commands[0].status, "Success");
    }
    assert_eq!(fake.sent().iter().map(|r| r.instance_id.as_str()).collect::<Vec<_>>(), [TAGGED, LAST]);
    // The journal: both commands polled to their end, their outputs hashed; the refused call
    // journaled with AWS's answer.
    let commands = journal.triage_commands("T1").unwrap();
    let polled: Vec<(&str, &str)> = commands.iter().map(|c| (c.instance_id.as_str(), c.status.as_str())).collect();
    assert_eq!(polled, [(TAGGED, "Success"), (LAST, "Success")]);
    let artifacts = journal.triage_artifacts("T1").unwrap();
    assert_eq!(artifacts.iter().filter(|a| a.name == "stdout").count(), 2);
    let entries = journal.entries("T1").unwrap();
    let outcomes: Vec<(&str, bool)> =
        entries.iter().map(|e| (e.intent.instance_id.as_str(), e.outcome.as_ref().unwrap().is_ok())).collect();
    assert_eq!(outcomes, [(TAGGED, true), (OTHER, false), (LAST, true)]);
    // The refusal is explained for that instance, as it happened.
    let lines = lines.into_inner().unwrap();
    assert!(lines.iter().any(|l| l.starts_with(&format!("{OTHER}: collect not sent: AWS refused"))), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with(&format!("{OTHER}: help: "))), "{lines:#?}");
}

#[tokio::test]
async fn a_document_the_policy_does_not_allow_is_refused_by_aws_and_explained() {
    // Only AWS-RunShellScript allowed: a Windows instance needs AWS-RunPowerShellScript.
    let mut inv = inventory_json();
    let statements = inv["principals"][1]["identity_policies"].as_array_mut().unwrap();
    let mut found = false;
    for policy in statements {
        for st in policy["Statement"].as_array_mut().unwrap() {
            if st["Sid"] == "RequiredForTriageAndRunCommandRun" {
                st["Resource"] = serde_json::json!(["arn:aws:ssm:*::document/AWS-RunShellScript"]);
                found = true;
            }
        }
    }
    assert!(found, "the example inventory keeps seed 004's statement");
    let fake = FakeSsm::new(inv, vec![instance(TAGGED, Platform::Windows, &[("CustodySSMEnabled", "True")])]);
    let (_, result) = run(&fake, &request(&[TAGGED], Some(tag()))).await;
    let message = refusal(&result.unwrap(), TAGGED).message.clone();
    assert!(
        message.contains("AWS-RunPowerShellScript") && message.contains("must also allow AWS-RunPowerShellScript"),
        "{message}"
    );
}

#[tokio::test]
async fn memory_without_an_s3_output_is_bad_input() {
    let fake =
        FakeSsm::new(inventory_json(), vec![instance(TAGGED, Platform::Linux, &[("CustodySSMEnabled", "True")])]);
    let mut req = request(&[TAGGED], Some(tag()));
    req.memory = vec![custody_triage::MemoryTarget::parse("sshd").unwrap()];
    let (_, result) = run(&fake, &req).await;
    assert!(result.unwrap_err().to_string().contains("--memory needs --output"));
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn instances_selected_by_tag_are_those_carrying_it() {
    let fake = FakeSsm::new(
        inventory_json(),
        vec![
            instance(TAGGED, Platform::Linux, &[("CustodySSMEnabled", "True")]),
            instance(OTHER, Platform::Linux, &[("Name", "db")]),
        ],
    );
    let mut req = request(&[], Some(tag()));
    req.by_tag = Some(tag());
    let (_, result) = run(&fake, &req).await;
    let report = result.unwrap();
    assert_eq!(report.instances.len(), 1);
    assert_eq!(report.instances[0].instance_id, TAGGED);
}

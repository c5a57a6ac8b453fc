//! `custody triage` against a moto server of the test's own on 127.0.0.1: what AWS says of the
//! instances (unknown, stopped, without the scoping tag) refuses the triage before the journal is
//! opened, so a refusal exits 2 with a clear message and leaves no journal behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_cloud::testing::Moto;
use std::process::Output;

const REGION: &str = "us-east-1";

/// Runs `custody args…` against `moto`, without blocking the runtime.
async fn custody(moto: &Moto, args: &[&str]) -> Output {
    let cmd = moto.command(env!("CARGO_BIN_EXE_custody"), REGION).unwrap();
    tokio::process::Command::from(cmd).args(args).output().await.unwrap()
}

/// One running instance tagged `Name=web` (no scoping tag), and one stopped.
async fn seed(ec2: &aws_sdk_ec2::Client) -> (String, String) {
    let images = ec2.describe_images().owners("amazon").send().await.unwrap();
    let image = images.images().iter().find_map(|i| i.image_id()).unwrap().to_string();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let spec = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
            .tags(aws_sdk_ec2::types::Tag::builder().key("Name").value("web").build())
            .build();
        let run = ec2
            .run_instances()
            .image_id(&image)
            .min_count(1)
            .max_count(1)
            .tag_specifications(spec)
            .send()
            .await
            .unwrap();
        ids.push(run.instances()[0].instance_id().unwrap().to_string());
    }
    ec2.stop_instances().instance_ids(&ids[1]).send().await.unwrap();
    (ids[0].clone(), ids[1].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_from_what_aws_says_exit_2_and_leave_no_journal() {
    let moto = Moto::start().await.unwrap();
    let config = moto.sdk_config(REGION).await.unwrap();
    let (running, stopped) = seed(&aws_sdk_ec2::Client::new(&config)).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_dir = data.to_str().unwrap();
    let missing = "i-0123456789abcdef0";
    for (args, says) in [
        (vec![missing], missing.to_string()),
        (vec![stopped.as_str()], format!("Run Command reaches only running instances: {stopped} is stopped")),
        (vec![running.as_str(), stopped.as_str()], format!("{stopped} is stopped")),
        (
            vec![running.as_str(), "--ssm-tag", "CustodySSMEnabled=True"],
            format!("{running} has no tag CustodySSMEnabled"),
        ),
    ] {
        let mut full = vec!["triage", "--case", "T1", "--data-dir", data_dir, "--region", REGION];
        full.extend_from_slice(&args);
        let out = custody(&moto, &full).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("error: ") && stderr.contains(&says), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!data.exists(), "{args:?} created the journal");
    }
}

/// Cross-account triage: the instance lives in a source account reached through a role there.
/// SendCommand is authorized in the account that owns the instance, so it is signed by a session of
/// the source role (seed 004; IAM User Guide, "Cross account resource access in IAM",
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies-cross-account-resource-access.html>):
/// the command exists in the source account only, and the journal names that session as its signer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_source_role_the_command_is_sent_in_the_source_account_as_its_session() {
    const SOURCE_ROLE: &str = "arn:aws:iam::111111111111:role/CustodySource";
    let moto = Moto::start().await.unwrap();
    let forensic = moto.sdk_config(REGION).await.unwrap();
    let source = Moto::as_role(&forensic, SOURCE_ROLE).await.unwrap();
    let source_ec2 = aws_sdk_ec2::Client::new(&source);
    let (running, _) = seed(&source_ec2).await;
    let scope = aws_sdk_ec2::types::Tag::builder().key("CustodySSMEnabled").value("True").build();
    source_ec2.create_tags().resources(&running).tags(scope).send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_dir = data.to_str().unwrap();
    let base = ["triage", running.as_str(), "--case", "X1", "--data-dir", data_dir, "--region", REGION];

    // As the forensic account itself, the instance does not exist: refused, nothing sent.
    let out = custody(&moto, &base).await;
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!data.exists());

    let mut args = base.to_vec();
    args.extend(["--source-role-arn", SOURCE_ROLE, "--ssm-tag", "CustodySSMEnabled=True", "--wait-timeout", "30s"]);
    let out = custody(&moto, &args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("assuming {SOURCE_ROLE} (the source role) as custody-X1")), "{stderr}");
    // moto answers every invocation with empty output, so the collection is incomplete (exit 1);
    // what matters here is where the command went and who signed it.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let in_source = aws_sdk_ssm::Client::new(&source).list_commands().send().await.unwrap();
    assert_eq!(in_source.commands().len(), 1, "one command, in the source account");
    // (moto lists every instance of the Region in a command sent with InstanceIds; AWS lists the
    // ones asked for, so only "contains" is checked.)
    assert!(in_source.commands()[0].instance_ids().contains(&running));
    let in_forensic = aws_sdk_ssm::Client::new(&forensic).list_commands().send().await.unwrap();
    assert!(in_forensic.commands().is_empty(), "nothing sent in the forensic account");

    let journal = custody_journal::Journal::open(&data).unwrap();
    let entries = journal.entries("X1").unwrap();
    let sent = entries.iter().find(|e| e.intent.api == "ssm:SendCommand").unwrap();
    assert_eq!(sent.intent.account, "111111111111");
    assert!(
        sent.intent.signer.starts_with("arn:aws:sts::111111111111:assumed-role/CustodySource/custody-X1"),
        "{}",
        sent.intent.signer
    );

    // A role ARN that is not one is bad input: exit 2, nothing touched.
    let mut bad = base.to_vec();
    bad.extend(["--source-role-arn", "arn:aws:iam::111111111111:user/someone"]);
    let out = custody(&moto, &bad).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--source-role-arn"));
}

/// The SendCommands SSM received for `case` (custody writes the case into the Comment).
async fn sent_for(ssm: &aws_sdk_ssm::Client, case: &str) -> usize {
    let listed = ssm.list_commands().send().await.unwrap();
    listed.commands().iter().filter(|c| c.comment().unwrap_or_default().contains(&format!(" case {case} "))).count()
}

/// The real binary killed at every journal write of a triage (`std::process::abort`, no unwinding:
/// the journal's test switches), then `--resume` in a fresh process: SSM receives exactly one
/// SendCommand for the case at every kill point, and the resumed run leaves every call answered and
/// the output fetched. Killed right after the SendCommand intent was committed, the command never
/// reached SSM: the resume looks for it (ListCommands, eventually consistent: SSM API Reference,
/// <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListCommands.html>), says it
/// cannot be found and sends nothing; only `--resend-unconfirmed` sends it. Killed when the answer
/// was to be written, the command is found in SSM by the reference in its Comment and followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_triage_killed_at_any_journal_write_is_resumed_without_a_second_send() {
    let moto = Moto::start().await.unwrap();
    let config = moto.sdk_config(REGION).await.unwrap();
    let (running, _) = seed(&aws_sdk_ec2::Client::new(&config)).await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    let dir = tempfile::tempdir().unwrap();
    let mut covered = Vec::new();
    for n in 1u64.. {
        let mut any_killed = false;
        for (var, label) in
            [("CUSTODY_TEST_ABORT_AFTER_JOURNAL_WRITES", "after"), ("CUSTODY_TEST_ABORT_AT_JOURNAL_WRITE", "at")]
        {
            let case = format!("K-{label}-{n}");
            let data = dir.path().join(&case);
            let data_dir = data.to_str().unwrap();
            let args = ["triage", running.as_str(), "--case", &case, "--data-dir", data_dir, "--region", REGION];
            let mut cmd = moto.command(env!("CARGO_BIN_EXE_custody"), REGION).unwrap();
            cmd.env(var, n.to_string()).args(args);
            let out = tokio::process::Command::from(cmd).output().await.unwrap();
            use std::os::unix::process::ExitStatusExt as _;
            if out.status.signal() != Some(6) {
                // Past the last write: the run finished; nothing to resume.
                assert!(out.status.code().is_some(), "{label} {n}: {:?}", out.status);
                continue;
            }
            any_killed = true;
            let sent_before = sent_for(&ssm, &case).await;
            assert!(sent_before <= 1, "{label} {n}");
            let answer_lost = custody_journal::Journal::open(&data).unwrap().unfinished(&case).unwrap().len() == 1;

            let mut resume = args.to_vec();
            resume.extend(["--resume", "--lookup-wait", "2"]);
            let out = custody(&moto, &resume).await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            // moto answers every invocation with empty output: the collection is incomplete (exit 1).
            assert_eq!(out.status.code(), Some(1), "{label} {n}: {stderr}");
            let journal = custody_journal::Journal::open(&data).unwrap();
            if sent_before == 0 && answer_lost {
                // The intent was committed, the call never made: not found, not sent, said so.
                assert!(stderr.contains("does not send it again on its own"), "{label} {n}: {stderr}");
                assert_eq!(sent_for(&ssm, &case).await, 0, "{label} {n}: sent on resume");
                resume.push("--resend-unconfirmed");
                let out = custody(&moto, &resume).await;
                assert_eq!(out.status.code(), Some(1), "{label} {n}: {}", String::from_utf8_lossy(&out.stderr));
                covered.push(format!("{label} {n}: intent without a call, resent on request"));
            } else {
                let state = match (sent_before, answer_lost) {
                    (1, true) => "sent, its answer lost: found in SSM",
                    (1, false) => "sent before the kill",
                    _ => "not sent yet",
                };
                covered.push(format!("{label} {n}: {state}"));
            }
            assert_eq!(sent_for(&ssm, &case).await, 1, "{label} {n}: one SendCommand, never two");
            let rows = journal.triage_commands(&case).unwrap();
            assert_eq!(rows.len(), 1, "{label} {n}: {rows:#?}");
            assert!(journal.unfinished(&case).unwrap().is_empty(), "{label} {n}");
            let artifacts = journal.triage_artifacts(&case).unwrap();
            assert!(
                artifacts.iter().any(|a| a.command_id == rows[0].command_id && a.name == "stdout"),
                "{label} {n}: the output was not fetched: {artifacts:#?}"
            );
        }
        if !any_killed {
            break;
        }
    }
    // The writes of a triage: the case, the intent, the answer, the command, its status, its output.
    assert!(covered.len() >= 10, "{covered:#?}");
    assert!(covered.iter().any(|c| c.contains("intent without a call")), "{covered:#?}");
    assert!(covered.iter().any(|c| c.contains("sent before the kill")), "{covered:#?}");
    assert!(covered.iter().any(|c| c.contains("found in SSM")), "{covered:#?}");
}

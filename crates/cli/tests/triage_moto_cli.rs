//! `custody triage` against a moto server of the test's own on 127.0.0.1: what AWS says of the
//! instances (unknown, stopped, without the scoping tag) refuses the triage before the journal is
//! opened, so a refusal exits 2 with a clear message and leaves no journal behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

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

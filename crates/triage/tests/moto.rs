//! Triage against moto through the SDK adapter: DescribeInstances for platform and tags,
//! SendCommand, GetCommandInvocation, and the S3 output listed, fetched and hashed.
//!
//! moto's SendCommand with InstanceIds also "targets" every other instance of the Region, and its
//! invocations return empty output: these tests depend on neither. custody only ever asks about the
//! invocation of the instance it sent to, and the S3 output is written here, as the SSM agent would
//! write it: `<prefix>/<command-id>/<instance-id>/awsrunShellScript/0.awsrunShellScript/stdout` (SSM
//! API Reference, SendCommand `OutputS3KeyPrefix`; CommandPlugin `OutputS3KeyPrefix`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use crate::support;

use async_trait::async_trait;
use custody_cloud::testing::Moto;
use custody_journal::Journal;
use custody_plan::inventory::Tag;
use custody_triage::aws::ObjectSink;
use custody_triage::SdkTriage;
use custody_triage::{
    triage, AwsError, FetchError, InstanceInfo, Invocation, ListedCommand, ObjectMeta, S3Location, S3Object,
    SendRequest, TriageAws, TriageRequest,
};
use sha2::{Digest, Sha256};
use std::time::Duration;

const REGION: &str = "us-east-1";
const BUCKET: &str = "ir-evidence";

/// The SDK adapter, plus what the SSM agent on the instance would do: write stdout to the bucket.
struct WithAgent {
    sdk: SdkTriage,
    s3: aws_sdk_s3::Client,
}

#[async_trait]
impl TriageAws for WithAgent {
    async fn describe_instances(
        &self,
        ids: &[String],
        tag: Option<(&str, &str)>,
    ) -> Result<Vec<InstanceInfo>, AwsError> {
        self.sdk.describe_instances(ids, tag).await
    }
    async fn send_command(&self, r: &SendRequest) -> Result<String, AwsError> {
        let id = self.sdk.send_command(r).await?;
        let out = r.output.as_ref().unwrap();
        let out = custody_triage::S3Location { bucket: out.bucket.clone(), prefix: out.prefix.clone() };
        let key = format!("{}awsrunShellScript/0.awsrunShellScript/stdout", out.command_prefix(&id, &r.instance_id));
        let body = support::full_output(&r.commands);
        self.s3.put_object().bucket(&out.bucket).key(key).body(body.into_bytes().into()).send().await.unwrap();
        Ok(id)
    }
    async fn get_invocation(&self, c: &str, i: &str) -> Result<Option<Invocation>, AwsError> {
        self.sdk.get_invocation(c, i).await
    }
    async fn list_commands(
        &self,
        document: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ListedCommand>, AwsError> {
        self.sdk.list_commands(document, since).await
    }
    async fn list_objects(&self, b: &str, p: &str, max: usize) -> Result<(Vec<S3Object>, bool), AwsError> {
        self.sdk.list_objects(b, p, max).await
    }
    async fn get_object(&self, b: &str, k: &str, to: &mut dyn ObjectSink) -> Result<ObjectMeta, FetchError> {
        self.sdk.get_object(b, k, to).await
    }
}

/// Two running instances: one tagged CustodySSMEnabled=True, one not.
async fn seed(config: &aws_config::SdkConfig) -> (String, String) {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let images = ec2.describe_images().owners("amazon").send().await.unwrap();
    let image = images.images().iter().find_map(|i| i.image_id()).unwrap().to_string();
    let mut ids = Vec::new();
    for tags in [vec![("CustodySSMEnabled", "True"), ("Name", "web")], vec![("Name", "db")]] {
        let mut spec =
            aws_sdk_ec2::types::TagSpecification::builder().resource_type(aws_sdk_ec2::types::ResourceType::Instance);
        for (k, v) in tags {
            spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
        }
        let run = ec2
            .run_instances()
            .image_id(&image)
            .min_count(1)
            .max_count(1)
            .tag_specifications(spec.build())
            .send()
            .await
            .unwrap();
        ids.push(run.instances()[0].instance_id().unwrap().to_string());
    }
    (ids[0].clone(), ids[1].clone())
}

fn request(instances: Vec<String>, download_dir: &std::path::Path) -> TriageRequest {
    TriageRequest {
        case_id: "IR-7".into(),
        examiner: Some("examiner".into()),
        instances,
        by_tag: None,
        scope_tag: Some(Tag { key: "CustodySSMEnabled".into(), value: "True".into() }),
        output: Some(S3Location::parse(&format!("s3://{BUCKET}/IR-7/triage")).unwrap()),
        memory: Vec::new(),
        memory_limit: 1 << 20,
        timeout: Duration::from_secs(60),
        poll_interval: Duration::from_millis(100),
        region: REGION.into(),
        signer: "arn:aws:sts::123456789012:assumed-role/CustodySource/custody-IR-7".into(),
        download_dir: download_dir.to_path_buf(),
        max_object_bytes: custody_triage::DEFAULT_MAX_OBJECT_BYTES,
        resume: false,
        resend_unconfirmed: false,
        lookup_wait: Duration::from_secs(2),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tagged_instance_is_triaged_with_its_output_fetched_from_s3_and_hashed() {
    let moto = Moto::start().await.unwrap();
    let config = moto.sdk_config(REGION).await.unwrap();
    let (tagged, _untagged) = seed(&config).await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let aws = WithAgent { sdk: SdkTriage::from_config(config.clone()), s3: s3.clone() };
    let journal = Journal::open_in_memory().unwrap();
    let dir = tempfile::tempdir().unwrap();

    let report = triage(&aws, &journal, &request(vec![tagged.clone()], dir.path()), &|_| {}).await.unwrap();

    assert!(report.succeeded(), "{report:#?}");
    let command = &report.instances[0].commands[0];
    assert_eq!(command.document, "AWS-RunShellScript");
    let stdout = command.artifacts.iter().find(|a| a.name.ends_with("/stdout")).unwrap();
    let key = stdout.location.strip_prefix(&format!("s3://{BUCKET}/")).unwrap();
    assert!(key.starts_with(&format!("IR-7/triage/{}/{tagged}/", command.command_id)), "{key}");
    let body = s3.get_object().bucket(BUCKET).key(key).send().await.unwrap().body.collect().await.unwrap().into_bytes();
    assert_eq!(stdout.sha256, hex::encode(Sha256::digest(&body)), "the hash is of the bytes in S3");

    let commands = journal.triage_commands("IR-7").unwrap();
    assert_eq!(commands.len(), 1);
    assert_eq!((commands[0].instance_id.as_str(), commands[0].status.as_str()), (tagged.as_str(), "Success"));
    assert_eq!(commands[0].command_id, command.command_id);
    assert!(commands[0].output_location.as_deref().unwrap().starts_with(&format!("s3://{BUCKET}/IR-7/triage/")));
    let artifacts = journal.triage_artifacts("IR-7").unwrap();
    assert!(artifacts.iter().any(|a| a.sha256 == stdout.sha256 && a.location == stdout.location));

    // SSM saw the shell document with the script custody journaled.
    let ssm = aws_sdk_ssm::Client::new(&config);
    let listed = ssm.list_commands().command_id(&command.command_id).send().await.unwrap();
    let sent = &listed.commands()[0];
    assert_eq!(sent.document_name(), Some("AWS-RunShellScript"));
    let lines = &sent.parameters().unwrap()["commands"];
    assert_eq!(hex::encode(Sha256::digest(lines.join("\n").as_bytes())), commands[0].script_sha256);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untagged_instance_is_refused_and_no_command_reaches_ssm() {
    let moto = Moto::start().await.unwrap();
    let config = moto.sdk_config(REGION).await.unwrap();
    let (tagged, untagged) = seed(&config).await;
    let aws = SdkTriage::from_config(config.clone());
    let journal = Journal::open_in_memory().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let err = triage(&aws, &journal, &request(vec![tagged, untagged.clone()], dir.path()), &|_| {}).await.unwrap_err();

    assert!(err.is_refusal(), "{err:?}");
    assert!(err.to_string().contains(&format!("{untagged} has no tag CustodySSMEnabled")), "{err}");
    let ssm = aws_sdk_ssm::Client::new(&config);
    assert!(ssm.list_commands().send().await.unwrap().commands().is_empty(), "nothing was sent");
}

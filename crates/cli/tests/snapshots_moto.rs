//! Snapshots of what the commands that need AWS print, against moto on 127.0.0.1 (the one harness,
//! `custody_cloud::testing::Moto`): `custody collect`, `custody triage` and `custody image` with
//! `verify` as a user sees them. moto's ids and the AWS request ids change from run to run and are
//! replaced here; everything else is pinned.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod snapshot_support;

use custody_cloud::testing::{seed_incident, upload_snapshot, Moto};
use snapshot_support::{snap, Sandbox};

const REGION: &str = "us-east-1";

/// What moto makes up anew on every run, and what stands in for it.
const MOTO_FILTERS: &[(&str, &str)] = &[
    (r"\bi-[0-9a-f]{8,17}\b", "i-[ID]"),
    (r"\bvol-[0-9a-f]{8,17}\b", "vol-[ID]"),
    (r"\bsnap-[0-9a-f]{8,17}\b", "snap-[ID]"),
    (r"\bami-[0-9a-f]{8,17}\b", "ami-[ID]"),
    (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "[UUID]"),
    (r"\b[0-9A-Z]{52}\b", "[REQUEST-ID]"),
    (r"\b\d+(\.\d+)? ?[KMG]i?B/s\b", "[RATE]"),
    // The script carries a fresh nonce in its prelude, so its SHA-256 differs on every run.
    (r"(script +\S+ sha256 )[0-9a-f]{64}", "${1}[SHA-256 OF THE SCRIPT AND ITS NONCE]"),
    (r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:[PORT]"),
];

fn moto_filtered(block: String) -> String {
    MOTO_FILTERS.iter().fold(block, |text, (pattern, replacement)| {
        regex::Regex::new(pattern).unwrap().replace_all(&text, *replacement).into_owned()
    })
}

/// The environment that points a run at `moto`.
fn at(moto: &Moto) -> [(&str, &str); 2] {
    [("AWS_ENDPOINT_URL", moto.endpoint()), ("AWS_REGION", REGION)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_and_triage_on_moto() {
    let moto = Moto::start().await.unwrap();
    let config = moto.sdk_config(REGION).await.unwrap();
    let incident = seed_incident(&config).await.unwrap();
    let sandbox = Sandbox::new();
    let out = sandbox.file("inventory.json");
    let args = ["collect", &incident.instance_id, "--forensic-role-arn", &incident.role_arn];
    let with_out = [&args[..], &["--out", &out]].concat();
    snap!("moto-collect", moto_filtered(sandbox.run_with(&with_out, "", &at(&moto))));

    // Triage of the same instance, scoped by its tag: moto answers every invocation with empty
    // output, so the collection is incomplete (exit 1); what is pinned is what the user reads.
    let tag = aws_sdk_ec2::types::Tag::builder().key("CustodySSMEnabled").value("True").build();
    let ec2 = aws_sdk_ec2::Client::new(&config);
    ec2.create_tags().resources(&incident.instance_id).tags(tag).send().await.unwrap();
    let triage = [
        "triage",
        &incident.instance_id,
        "--case",
        "IR-9",
        "--region",
        REGION,
        "--ssm-tag",
        "CustodySSMEnabled=True",
        "--wait-timeout",
        "30s",
    ];
    snap!("moto-triage", moto_filtered(sandbox.run_with(&triage, "", &at(&moto))));
    snap!("moto-triage-show", moto_filtered(sandbox.run_with(&["show", "IR-9"], "", &at(&moto))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_and_verify_on_moto() {
    let moto = Moto::start_with_ebs_corrections().await.unwrap();
    let config = moto.sdk_config(REGION).await.unwrap();
    // Blocks 0, 1 and 9 of a 1 GiB volume, each one byte value repeated: the hashes are fixed.
    let blocks: Vec<(i32, Vec<u8>)> = [0, 1, 9].iter().map(|&i| (i, vec![i as u8 + 1; 524_288])).collect();
    let snapshot = upload_snapshot(&config, 1, &blocks).await.unwrap();
    let sandbox = Sandbox::new();
    let out = sandbox.file("evidence");
    std::fs::create_dir_all(&out).unwrap();
    let image = ["image", &snapshot, "--workers", "4", "--endpoint-url", moto.endpoint(), "--out", &out];
    snap!("moto-image", moto_filtered(sandbox.run_with(&image, "", &at(&moto))));
    let manifest = format!("{out}/{snapshot}.manifest.json");
    let verify = ["verify", "--against-snapshot", "--endpoint-url", moto.endpoint(), &manifest];
    snap!("moto-verify-against-snapshot", moto_filtered(sandbox.run_with(&verify, "", &at(&moto))));
}

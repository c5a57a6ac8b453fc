//! `custody collect` as a user runs it, against a moto server of the test's own on 127.0.0.1 (seeded
//! through the SDK): the inventory it writes parses, bad arguments exit 2 before AWS is asked, and an
//! AWS that cannot be reached exits 1 with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_cloud::testing::{seed_incident, Incident, Moto, MOTO_ACCOUNT};
use custody_plan::inventory::{parse_inventory, Inventory, KeyManager};
use std::path::PathBuf;
use std::process::Output;

const REGION: &str = "us-east-1";

async fn moto_with_incident() -> (Moto, Incident) {
    let moto = Moto::start().await.unwrap();
    let incident = seed_incident(&moto.sdk_config(REGION).await.unwrap()).await.unwrap();
    (moto, incident)
}

/// Runs `custody` with `args` against `moto`, without blocking the runtime.
async fn custody(moto: &Moto, args: &[&str]) -> Output {
    let cmd = moto.command(env!("CARGO_BIN_EXE_custody"), REGION).unwrap();
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.args(args).output().await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn out_file(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn check_inventory(inv: &Inventory, incident: &Incident) {
    assert_eq!(inv.config.forensic_account, MOTO_ACCOUNT);
    assert_eq!(inv.config.forensic_role_arn, incident.role_arn);
    let instance = &inv.instances[0];
    assert_eq!(instance.id, incident.instance_id);
    let volume = instance.volume(&incident.data_volume_id).unwrap();
    assert_eq!(volume.kms_key_arn.as_deref(), Some(incident.key_arn.as_str()));
    let key = inv.keys.iter().find(|k| k.arn == incident.key_arn).unwrap();
    assert_eq!(key.manager, KeyManager::Customer);
    // DescribeKey's KeyState, which the preflight needs to refuse a disabled key up front.
    assert_eq!(key.state.as_deref(), Some("Enabled"));
    assert_eq!(key.policy.as_ref(), Some(&incident.key_policy));
    assert_eq!(key.aliases, vec![incident.alias.clone()]);
    assert_eq!(key.grants[0]["grant_id"], incident.grant_id.as_str());
    let role = &inv.principals[0];
    assert_eq!(role.arn, incident.role_arn);
    assert_eq!(role.identity_policies.len(), 2);
    assert_eq!(role.trust_policy.as_ref(), Some(&incident.trust_policy));
    assert_eq!(role.permissions_boundary.as_ref(), Some(&incident.boundary_policy));
}

#[tokio::test]
async fn collect_writes_an_inventory_that_parses() {
    let (moto, incident) = moto_with_incident().await;
    let out = out_file("inventory");
    let output = custody(
        &moto,
        &["collect", &incident.instance_id, "--forensic-role-arn", &incident.role_arn, "--out", out.to_str().unwrap()],
    )
    .await;
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(output.stdout.is_empty(), "with --out, nothing on standard output");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(stderr.contains("1 instance(s), 2 volume(s), 1 key(s), 1 principal(s)"), "{stderr}");
    let inv = parse_inventory(&std::fs::read_to_string(&out).unwrap()).unwrap();
    check_inventory(&inv, &incident);
    // No temporary file left beside it.
    let dir = out.parent().unwrap();
    assert!(!std::fs::read_dir(dir).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().contains(".tmp-")));
}

/// `--out FILE --json`: the inventory in the file, a JSON summary on standard output (the file, the
/// instances, the warnings and the facts that could not be read); an error is JSON too.
#[tokio::test]
async fn collect_json_summarizes_what_was_written() {
    let (moto, incident) = moto_with_incident().await;
    let out = out_file("inventory-json");
    let args =
        ["collect", &incident.instance_id, "--forensic-role-arn", &incident.role_arn, "--out", out.to_str().unwrap()];
    let output = custody(&moto, &[&args[..], &["--json"]].concat()).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["inventory"], out.to_str().unwrap());
    assert_eq!(summary["instances"], serde_json::json!([incident.instance_id]));
    assert_eq!(summary["warnings"], serde_json::json!([]));
    assert_eq!(summary["unknown"], serde_json::json!([]));
    check_inventory(&parse_inventory(&std::fs::read_to_string(&out).unwrap()).unwrap(), &incident);
    // A refusal under --json: a JSON error on standard error, nothing on standard output.
    let output = custody(&moto, &["collect", "vol-12345678", "--json"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let error: serde_json::Value = serde_json::from_slice(&output.stderr).unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("expected an instance id"), "{error}");
}

#[tokio::test]
async fn collect_prints_the_inventory_without_out_and_never_the_credentials() {
    let (moto, incident) = moto_with_incident().await;
    let output =
        custody(&moto, &["collect", &incident.instance_id, "--forensic-role-arn", &incident.role_arn, "--case", "c-1"])
            .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    check_inventory(&parse_inventory(&stdout).unwrap(), &incident);
    assert!(!stdout.contains("testing") && !text(&output.stderr).contains("testing"));
}

#[tokio::test]
async fn a_caller_that_is_not_a_role_must_name_the_forensic_role() {
    let (moto, incident) = moto_with_incident().await;
    let output = custody(&moto, &["collect", &incident.instance_id]).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("not as a role: pass --forensic-role-arn"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn a_missing_instance_exits_1_naming_it() {
    let (moto, incident) = moto_with_incident().await;
    let args = ["collect", "i-0123456789abcdef0", "--forensic-role-arn", &incident.role_arn];
    let output = custody(&moto, &args).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("error: instance i-0123456789abcdef0 in us-east-1 does not exist"), "{stderr}");
    assert!(stderr.contains("InvalidInstanceID.NotFound"), "{stderr}");
}

#[tokio::test]
async fn bad_arguments_exit_2_before_aws_is_asked() {
    let moto = Moto::start().await.unwrap(); // where the command would go if a check let it through
    let cases: &[(&[&str], &str)] = &[
        (&["collect"], "<INSTANCE_ID>"),
        (&["collect", "vol-12345678"], "expected an instance id"),
        (&["collect", "i-12345678", "--region", "Paris"], "expected a Region name"),
        (&["collect", "i-12345678", "--forensic-role-arn", "arn:aws:iam::1:user/x"], "expected a role ARN"),
        (&["collect", "i-12345678", "--forensic-key-arn", "alias/x"], "expected a key ARN"),
        (&["collect", "i-12345678", "--out", "/nonexistent-dir/inv.json"], "does not exist"),
    ];
    for (args, message) in cases {
        let output = custody(&moto, args).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty());
    }
}

#[tokio::test]
async fn unreachable_aws_exits_1_with_a_clear_message() {
    // A port of 127.0.0.1 where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    custody_cloud::testing::check_local(&endpoint).unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_custody"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    let output = cmd
        .args(["collect", "i-12345678", "--region", REGION])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: cannot reach AWS\n"), "{stderr}");
    assert!(stderr.contains("`sts:GetCallerIdentity` did not reach AWS"), "{stderr}");
    assert!(output.stdout.is_empty());
}

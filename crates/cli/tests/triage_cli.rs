//! `custody triage` refuses bad input with exit 2 before anything is read from AWS or written to
//! the journal; `custody check --triage` evaluates SendCommand with the instance's tags offline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cli_support;

use cli_support::{custody_offline, workspace};

fn triage(extra: &[&str], data: &std::path::Path) -> (Option<i32>, String, String) {
    let data = data.to_str().unwrap();
    let mut args = vec!["triage", "--data-dir", data, "--region", "eu-west-1"];
    args.extend_from_slice(extra);
    custody_offline(&args)
}

#[test]
fn bad_input_exits_2_and_creates_no_journal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (args, says) in [
        (&["i-123", "--case", "T1"][..], "expected an instance id"),
        (&["i-0123456789abcdef0", "--case", "bad case"][..], "case id `bad case`"),
        (&["i-0123456789abcdef0", "--case", "T1", "--memory", "sshd"][..], "--memory needs --output"),
        (&["i-0123456789abcdef0", "--case", "T1", "--output", "/tmp/out"][..], "expected s3://bucket/prefix"),
        (&["i-0123456789abcdef0", "--case", "T1", "--ssm-tag", "novalue"][..], "expected KEY=VALUE"),
        (
            &["i-0123456789abcdef0", "--case", "T1", "--memory", "$(id)", "--output", "s3://b-1/p"][..],
            "process id or a process name",
        ),
        (&["i-0123456789abcdef0", "--case", "T1", "--memory-limit", "12T"][..], "expected a size"),
        (&["--case", "T1"][..], "INSTANCE_ID"),
    ] {
        let (code, stdout, stderr) = triage(args, &data);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(!data.exists(), "{args:?} created the journal");
    }
}

#[test]
fn check_triage_passes_on_a_tagged_instance_and_fails_without_the_tag() {
    let inv_path = workspace().join("examples/inventories/triage.json");
    let inv = inv_path.to_str().unwrap();
    let instance = "i-0e7e7e7e7e7e7e7e7";
    let (code, stdout, stderr) = custody_offline(&["check", "--inventory", inv, instance, "--triage", "--json"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let step = report["steps"].as_array().unwrap().iter().find(|s| s["id"] == "triage").unwrap().clone();
    assert_eq!(step["outcome"], "pass");
    // The same instance without its tag: SendCommand on it is refused by seed 004's tag condition.
    let mut untagged: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&inv_path).unwrap()).unwrap();
    untagged["instances"][0]["tags"].as_object_mut().unwrap().remove("CustodySSMEnabled");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("untagged.json");
    std::fs::write(&path, untagged.to_string()).unwrap();
    let (code, stdout, _) =
        custody_offline(&["check", "--inventory", path.to_str().unwrap(), instance, "--triage", "--json"]);
    assert_eq!(code, Some(1), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let step = report["steps"].as_array().unwrap().iter().find(|s| s["id"] == "triage").unwrap().clone();
    assert_eq!(step["outcome"], "fail");
    let denied = step["requests"].as_array().unwrap().iter().find(|r| r["outcome"] == "denied").unwrap().clone();
    assert_eq!(denied["action"], "ssm:SendCommand");
    assert!(denied["resource"].as_str().unwrap().ends_with(&format!("instance/{instance}")));
}

//! Bad input: exit 2, a message that names the file (and line, for a batch) and the JSON path, and
//! nothing on standard output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cli_support;

use cli_support::run;

const GOOD: &str = r#"{"request":{"principal":"arn:aws:iam::111111111111:user/alice","action":"s3:GetObject","resource":"arn:aws:s3:::b/k"},"identity_policies":[{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}]}"#;

#[test]
fn bad_inputs_exit_2_with_the_place_and_nothing_on_stdout() {
    let bad_effect = GOOD.replace(r#""Effect":"Allow""#, r#""Effect":"Permit""#);
    let table: &[(&str, &[&str], &str, &[&str])] = &[
        ("malformed JSON", &["authz", "-"], "{\"request\": ", &["<stdin>", "valid JSON"]),
        ("not an object", &["authz", "-"], "[1,2]", &["<stdin>", "a case"]),
        ("missing request", &["authz", "-"], "{}", &["`request`", "principal"]),
        (
            "bad Effect",
            &["authz", "--json", "-"],
            &bad_effect,
            &["identity_policies[0].Statement.Effect", "`Allow` or `Deny`", "Permit"],
        ),
        ("a NUL byte", &["authz", "-"], "\u{0}", &["<stdin>"]),
    ];
    for (what, args, input, needles) in table {
        let (code, stdout, stderr) = run(args, input);
        assert_eq!(code, Some(2), "{what}: {stderr}");
        assert!(stdout.is_empty(), "{what}: stdout {stdout}");
        for n in *needles {
            assert!(stderr.contains(n), "{what}: `{n}` not in {stderr}");
        }
    }
}

#[test]
fn a_bad_batch_line_stops_the_run_before_any_answer() {
    let batch = format!("{GOOD}\n\n{}\n{GOOD}\n", GOOD.replace("s3:GetObject", "GetObject"));
    let (code, stdout, stderr) = run(&["authz", "--json", "--batch", "-"], &batch);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("<stdin>:3") && stderr.contains("request.action"), "{stderr}");
}

#[test]
fn a_missing_file_is_named() {
    let (code, stdout, stderr) = run(&["authz", "/nonexistent/case.json"], "");
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty());
    assert!(stderr.contains("/nonexistent/case.json"), "{stderr}");
}

#[test]
fn invalid_utf8_is_refused_with_its_offset() {
    let dir = std::env::temp_dir().join(format!("custody-bad-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("case.json");
    std::fs::write(&file, b"{\"request\": \"\xff\"}").unwrap();
    let (code, _, stderr) = run(&["authz", file.to_str().unwrap()], "");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, Some(2));
    assert!(stderr.contains("not UTF-8") && stderr.contains("offset 13"), "{stderr}");
}

#[test]
fn a_good_case_from_stdin_is_evaluated() {
    let (code, stdout, _) = run(&["authz", "--json", "-"], GOOD);
    assert_eq!(code, Some(0));
    assert!(stdout.contains(r#""decision":"allowed""#), "{stdout}");
}

/// `custody args…` offline (nothing can reach AWS), with `dir` as the data directory.
fn offline_with_data_dir(args: &[&str], dir: &std::path::Path) -> (Option<i32>, String, String) {
    let mut all = args.to_vec();
    all.extend(["--data-dir", dir.to_str().unwrap()]);
    cli_support::custody_offline(&all)
}

/// The instance of `examples/inventories/1-unencrypted.json`.
const INSTANCE: &str = "i-01a1a1a1a1a1a1a1a";
const INVENTORY: &str = "examples/inventories/1-unencrypted.json";

#[test]
fn every_command_refuses_a_case_id_the_planner_would_refuse_before_anything_is_created() {
    // `IR.7` was accepted by the CLI, then refused by the planner after collection and AssumeRole:
    // a KMS alias cannot hold `.` (CreateAlias API reference, `AliasName`,
    // https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html), and the role session
    // name `custody-<case>` is at most 64 characters (AssumeRole API reference, `RoleSessionName`,
    // https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
    let long = "a".repeat(57);
    for bad in ["IR.7", long.as_str(), "-x", "IR 7"] {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("data");
        let data = format!("--data-dir={}", dir.display());
        let (case, resume) = (format!("--case={bad}"), format!("--resume={bad}"));
        let commands: [&[&str]; 9] = [
            &["acquire", INSTANCE, &case, "--inventory", INVENTORY, &data],
            &["acquire", &case, "--simulate", INVENTORY, INSTANCE, &data],
            &["acquire", &resume, &data],
            &["cleanup", &case, &data],
            &["image", &case, "--out", ".", &data],
            &["triage", INSTANCE, &case, &data],
            &["show", &data, "--", bad],
            &["collect", INSTANCE, &case],
            &["plan", "--inventory", INVENTORY, INSTANCE, &case],
        ];
        for args in commands {
            let (code, stdout, stderr) = cli_support::custody_offline(args);
            assert_eq!(code, Some(2), "{args:?}: {stderr}");
            assert!(stderr.contains(&format!("case id `{bad}`: ")), "{args:?}: {stderr}");
            assert!(stdout.is_empty(), "{args:?}: {stdout}");
            assert!(!dir.exists(), "{args:?}: the data directory was created");
        }
    }
}

#[test]
fn acquire_with_a_bad_inventory_exits_2_and_creates_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let bad = parent.path().join("bad.json");
    std::fs::write(&bad, "{\"version\": ").unwrap();
    let dir = parent.path().join("data");
    let cases: [(&[&str], &str); 3] = [
        (
            &["acquire", INSTANCE, "--case", "IR-7", "--inventory", bad.to_str().unwrap()],
            "bad.json: `line 1 column 12`",
        ),
        // A good inventory without the instance: the planner's refusal, also before anything.
        (&["acquire", "i-0123456789abcdef0", "--case", "IR-7", "--inventory", INVENTORY], "i-0123456789abcdef0"),
        (&["acquire", INSTANCE, "--case", "IR-7", "--inventory", "/nonexistent/inventory.json"], "/nonexistent"),
    ];
    for (args, needle) in cases {
        let (code, stdout, stderr) = offline_with_data_dir(args, &dir);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(!dir.exists(), "{args:?}: the data directory was created");
    }
}

/// Runs `custody args…` with at most 2 GiB of address space, so that a reader without a size cap
/// fails here instead of filling the machine's memory.
fn run_bounded(args: &[&str]) -> (Option<i32>, String, String) {
    let bin = assert_cmd::cargo::cargo_bin("custody");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152; exec \"$0\" \"$@\"")
        .arg(bin)
        .args(args)
        .current_dir(cli_support::workspace())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_input_file_larger_than_16_mib_is_refused_by_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 16 * 1024 * 1024 + 1]).unwrap();
    let big = big.to_str().unwrap();
    let commands: [&[&str]; 4] = [
        &["authz", big],
        &["authz", "/dev/zero"],
        &["plan", "--inventory", "/dev/zero", INSTANCE],
        &["check", "--inventory", big, INSTANCE],
    ];
    for args in commands {
        let (code, stdout, stderr) = run_bounded(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("larger than 16 MiB, the most custody reads from one input"), "{args:?}: {stderr}");
        assert!(stdout.is_empty());
    }
}

#[test]
fn a_batch_of_more_than_10000_cases_is_refused_before_any_answer() {
    let batch = format!("{GOOD}\n").repeat(10_001);
    let (code, stdout, stderr) = run(&["authz", "--json", "--batch", "-"], &batch);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty(), "nothing is answered: {} bytes", stdout.len());
    assert!(stderr.contains("<stdin>: 10001 cases in one batch, more than the 10000"), "{stderr}");
    // A 100,000-line batch of short lines: refused by the count, before any line is parsed.
    let (code, _, stderr) = run(&["authz", "--batch", "-"], &"{}\n".repeat(100_000));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("<stdin>: 100000 cases in one batch"), "{stderr}");
    // At the limit, every case is answered.
    let (code, stdout, _) = run(&["authz", "--json", "--batch", "-"], &format!("{GOOD}\n").repeat(10_000));
    assert_eq!(code, Some(0));
    assert_eq!(stdout.lines().count(), 10_000);
}

#[test]
fn an_inventory_with_ten_thousand_volumes_on_an_instance_is_refused_by_plan_and_acquire() {
    let mut inventory: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cli_support::workspace().join(INVENTORY)).unwrap()).unwrap();
    let volumes: Vec<serde_json::Value> = (0..10_000)
        .map(|n| serde_json::json!({"id": format!("vol-{n:017x}"), "size_gib": 8, "encrypted": false}))
        .collect();
    inventory["instances"][0]["volumes"] = serde_json::Value::Array(volumes);
    let parent = tempfile::tempdir().unwrap();
    let file = parent.path().join("inventory.json");
    std::fs::write(&file, inventory.to_string()).unwrap();
    let file = file.to_str().unwrap();
    let dir = parent.path().join("data");
    let data = format!("--data-dir={}", dir.display());
    let commands: [&[&str]; 2] = [
        &["plan", "--inventory", file, INSTANCE],
        &["acquire", INSTANCE, "--case", "IR-7", "--inventory", file, &data],
    ];
    for args in commands {
        let (code, stdout, stderr) = cli_support::custody_offline(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("instances[0].volumes"), "{stderr}");
        assert!(stderr.contains("at most 128 items (no instance type can have more EBS volumes attached)"), "{stderr}");
        assert!(stdout.is_empty());
        assert!(!dir.exists());
    }
}

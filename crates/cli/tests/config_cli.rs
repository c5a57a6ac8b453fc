//! custody.toml and `custody init`: where the file is found, what it fills, that a flag wins over
//! its environment variable which wins over the file, how a bad file is refused, and that what
//! `init` writes loads back and makes its printed `custody policy role` command run.
//!
//! Every run here has a clean environment: its working directory, home and configuration directory
//! are in a temporary directory, so no developer's ~/.config/custody/custody.toml is read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod snapshot_support;

use custody_cloud::testing::{seed_incident, Moto};
use snapshot_support::{snap, Sandbox};
use std::path::PathBuf;

/// A temporary working directory, home and configuration directory.
struct Dir {
    root: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        let root = tempfile::tempdir().unwrap();
        for sub in ["work", "home", "config"] {
            std::fs::create_dir(root.path().join(sub)).unwrap();
        }
        Dir { root }
    }

    fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// Writes `text` at `name` (relative to the temporary directory), creating its directory.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `custody args…` in the working directory with only `env` besides the clean environment:
    /// (exit code, stdout, stderr).
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
        let mut cmd = assert_cmd::Command::cargo_bin("custody").unwrap();
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data-home"))
            .env("LANG", "C.UTF-8")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env.iter().copied())
            .current_dir(self.work())
            .args(args)
            .timeout(std::time::Duration::from_secs(120));
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// [`run`](Self::run), asserting exit 0: stdout.
    fn ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let (code, stdout, stderr) = self.run(args, env);
        assert_eq!(code, Some(0), "{args:?} {env:?}\n{stdout}\n{stderr}");
        stdout
    }

    /// [`run`](Self::run), asserting exit 2: stderr.
    fn refused(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let (code, stdout, stderr) = self.run(args, env);
        assert_eq!(code, Some(2), "{args:?}\n{stdout}\n{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        stderr
    }
}

const ROLE: &[&str] = &["policy", "role", "--features", "acquire,triage", "--json"];

/// The alias prefix and the triage tag `policy role` writes into the policies.
fn prefix_and_tag(policies: &str) -> (String, String) {
    let prefix = policies.split("\"alias/").nth(1).and_then(|rest| rest.split("-*").next()).unwrap_or_default();
    let tag = policies.split("\"ssm:resourceTag/").nth(1).map(|rest| {
        let (key, rest) = rest.split_once("\": \"").unwrap();
        format!("{key}={}", rest.split('"').next().unwrap())
    });
    (prefix.to_string(), tag.unwrap_or_default())
}

#[test]
fn a_flag_wins_over_its_variable_which_wins_over_the_file() {
    let dir = Dir::new();
    dir.write(
        "work/custody.toml",
        "[acquire]\nalias_prefix = \"fromfile\"\n[triage]\nssm_tag = \"File=1\"\n[journal]\ndata_dir = \"file-journal\"\n",
    );
    let env = [("CUSTODY_ALIAS_PREFIX", "fromenv"), ("CUSTODY_SSM_TAG", "Env=2")];
    let flags = [ROLE, &["--alias-prefix", "fromflag", "--ssm-tag", "Flag=3"]].concat();
    assert_eq!(prefix_and_tag(&dir.ok(ROLE, &[])), ("fromfile".into(), "File=1".into()));
    assert_eq!(prefix_and_tag(&dir.ok(ROLE, &env)), ("fromenv".into(), "Env=2".into()));
    assert_eq!(prefix_and_tag(&dir.ok(&flags, &env)), ("fromflag".into(), "Flag=3".into()));

    // The data directory, as `cases` names the journal it did not find; a relative one in the file
    // is beside the file.
    let journal = |dir: PathBuf| format!("no cases (journal {}/journal.sqlite3 does not exist)\n", dir.display());
    let (from_env, from_flag) = (dir.path("env-journal"), dir.path("flag-journal"));
    let env = [("CUSTODY_DATA_DIR", from_env.to_str().unwrap())];
    assert_eq!(dir.ok(&["cases"], &[]), journal(dir.work().join("file-journal")));
    assert_eq!(dir.ok(&["cases"], &env), journal(from_env.clone()));
    assert_eq!(dir.ok(&["cases", "--data-dir", from_flag.to_str().unwrap()], &env), journal(from_flag));
}

/// `policy role` takes the accounts, Regions, role names, alias prefix, tag and bucket from the file
/// when its flags are not given.
#[test]
fn policy_role_takes_its_values_from_the_file() {
    let dir = Dir::new();
    dir.write(
        "work/custody.toml",
        r#"
[forensic]
account = "999999999999"
region = "eu-west-1"
role_arn = "arn:aws:iam::999999999999:role/IRForensic"

[source]
accounts = ["111122223333"]
regions = ["us-east-1"]
role_name = "IRSource"

[triage]
output = "s3://ir-evidence/triage"
"#,
    );
    let policies = dir.ok(&["policy", "role", "--features", "acquire,triage", "--json"], &[]);
    for expected in [
        "arn:aws:iam::999999999999:role/IRForensic",
        "arn:aws:iam::111122223333:role/IRSource",
        "\"eu-west-1\"",
        "\"us-east-1\"",
        "arn:aws:s3:::ir-evidence",
    ] {
        assert!(policies.contains(expected), "{expected}\n{policies}");
    }
    // A flag still wins.
    let policies = dir.ok(&["policy", "role", "--features", "acquire", "--json", "--source-role", "Other"], &[]);
    assert!(policies.contains("arn:aws:iam::111122223333:role/Other") && !policies.contains("IRSource"));
}

/// ./custody.toml first, then $XDG_CONFIG_HOME/custody/custody.toml; without XDG_CONFIG_HOME,
/// ~/.config/custody/custody.toml; `--config` (or CUSTODY_CONFIG) names one.
#[test]
fn the_file_is_found_in_the_working_directory_then_the_configuration_directory() {
    let dir = Dir::new();
    let prefix = |name: &str| format!("[acquire]\nalias_prefix = \"{name}\"\n");
    let xdg = dir.write("config/custody/custody.toml", &prefix("xdg"));
    let work = dir.write("work/custody.toml", &prefix("work"));
    dir.write("home/.config/custody/custody.toml", &prefix("home"));
    let named = dir.write("named.toml", &prefix("named"));
    assert_eq!(prefix_and_tag(&dir.ok(ROLE, &[])).0, "work");
    assert_eq!(prefix_and_tag(&dir.ok(&[ROLE, &["--config", named.to_str().unwrap()]].concat(), &[])).0, "named");
    assert_eq!(prefix_and_tag(&dir.ok(ROLE, &[("CUSTODY_CONFIG", named.to_str().unwrap())])).0, "named");
    std::fs::remove_file(work).unwrap();
    assert_eq!(prefix_and_tag(&dir.ok(ROLE, &[])).0, "xdg");
    std::fs::remove_file(xdg).unwrap();
    assert_eq!(prefix_and_tag(&dir.ok(ROLE, &[])).0, "custody", "XDG_CONFIG_HOME is set: ~/.config is not read");
    let (code, stdout, stderr) = {
        let mut cmd = assert_cmd::Command::cargo_bin("custody").unwrap();
        let out = cmd.env_clear().env("HOME", dir.path("home")).current_dir(dir.work()).args(ROLE).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(prefix_and_tag(&stdout).0, "home");
}

#[test]
fn a_missing_file_named_by_config_is_refused() {
    let dir = Dir::new();
    let missing = dir.path("nowhere.toml");
    let missing = missing.to_str().unwrap();
    let stderr = dir.refused(&["cases", "--config", missing], &[]);
    assert_eq!(stderr.lines().next().unwrap(), format!("error: {missing}: no such configuration file"));
    let stderr = dir.refused(&["cases"], &[("CUSTODY_CONFIG", missing)]);
    assert!(stderr.contains("no such configuration file"), "{stderr}");
    // Under --json, the refusal is JSON too.
    let (code, _, stderr) = dir.run(&["cases", "--json", "--config", missing], &[]);
    assert_eq!(code, Some(2));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stderr).unwrap()["error"]["kind"], "user");
}

/// An unknown key, a value of the wrong type, a value its parser refuses: exit 2, naming the file,
/// the line and the dotted key.
#[test]
fn a_bad_file_is_refused_naming_the_file_the_line_and_the_key() {
    let dir = Dir::new();
    let cases = [
        ("[aws]\nregion = \"eu-west-1\"\nregoin = \"us-east-1\"\n", "line 3: aws.regoin: unknown key `regoin`"),
        (
            "[forensic]\n\naccount = 999999999999\n",
            "line 3: forensic.account: integer `999999999999`, expected a string",
        ),
        (
            "[forensic]\naccount = \"999999999999\"\nrole_arn = \"arn:aws:iam::999999999999:user/Alice\"\n",
            "line 3: forensic.role_arn: expected a role ARN, arn:aws:iam::<account>:role/<name>",
        ),
        ("[triage]\nssm_tag = \"NoValue\"\n", "line 2: triage.ssm_tag: "),
        ("[source]\naccounts = [\"111122223333\", \"12345\"]\n", "line 2: source.accounts: expected an account id"),
        ("[journals]\n", "line 1: journals: unknown key `journals`"),
    ];
    for (text, expected) in cases {
        let file = dir.write("bad.toml", text);
        let stderr = dir.refused(&["cases", "--config", file.to_str().unwrap()], &[]);
        let expected = format!("error: {}: {expected}", file.display());
        assert!(stderr.starts_with(&expected), "{text}\nexpected {expected}\ngot {stderr}");
    }
}

/// A dry run keeps its journal in memory unless --data-dir is typed: a data directory from the
/// environment or the file is for real cases. The examiner comes from the file.
#[test]
fn a_dry_run_keeps_its_journal_in_memory_unless_data_dir_is_typed() {
    let dir = Dir::new();
    let file_journal = dir.path("file-journal");
    dir.write(
        "work/custody.toml",
        &format!("[acquire]\nexaminer = \"File Examiner\"\n[journal]\ndata_dir = \"{}\"\n", file_journal.display()),
    );
    let inventory = snapshot_support::workspace().join("examples/inventories/8-cross-account-aws-managed.json");
    let acquire = ["acquire", "i-08b8b8b8b8b8b8b8b", "--case", "T1", "--simulate", inventory.to_str().unwrap()];
    let env_journal = dir.path("env-journal");
    dir.ok(&acquire, &[("CUSTODY_DATA_DIR", env_journal.to_str().unwrap())]);
    assert!(!file_journal.exists() && !env_journal.exists());
    let typed = dir.path("typed-journal");
    dir.ok(&[&acquire[..], &["--data-dir", typed.to_str().unwrap()]].concat(), &[]);
    let shown = dir.ok(&["show", "T1", "--json", "--data-dir", typed.to_str().unwrap()], &[]);
    assert!(shown.contains("\"File Examiner\""), "{shown}");
}

#[test]
fn init_writes_a_file_that_loads_back_and_whose_policy_command_runs() {
    let dir = Dir::new();
    let init = [
        "init",
        "--forensic-account",
        "999999999999",
        "--forensic-region",
        "eu-west-1",
        "--source-accounts",
        "111122223333,444455556666",
        "--source-regions",
        "eu-west-1,us-east-1",
        "--ssm-tag",
        "CustodySSMEnabled=True",
        "--examiner",
        "J. \"Doe\"",
    ];
    let stdout = dir.ok(&init, &[]);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("wrote custody.toml"));
    assert_eq!(lines.next(), Some("next, write the roles' policies and deploy them:"));
    let command = lines.next().unwrap().trim();
    assert_eq!(
        command,
        "custody policy role --features acquire,image,triage,cleanup --kms grant-only --format cfn --out policies/"
    );
    // It loads back: a command that reads it runs.
    dir.ok(&["cases"], &[]);
    let words: Vec<&str> = command.split_whitespace().skip(1).collect();
    let wrote = dir.ok(&words, &[]);
    assert!(wrote.contains("policies/forensic-account.yaml"), "{wrote}");
    let source = std::fs::read_to_string(dir.work().join("policies/source-account.yaml")).unwrap();
    assert!(source.contains("CustodySSMEnabled"), "{source}");
    let forensic = std::fs::read_to_string(dir.work().join("policies/forensic-account.yaml")).unwrap();
    assert!(forensic.contains("444455556666") && forensic.contains("us-east-1"), "{forensic}");

    // Elsewhere: the printed command names the file; --json.
    let out = dir.path("elsewhere/custody.toml");
    let json = dir.ok(&[&init[..], &["--out", out.to_str().unwrap(), "--json"]].concat(), &[]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["config"], out.to_str().unwrap());
    assert!(json["policy_command"].as_str().unwrap().ends_with(&format!("--config {}", out.display())), "{json}");
}

#[test]
fn init_refuses_to_overwrite_a_file() {
    let dir = Dir::new();
    let existing = dir.write("work/custody.toml", "# mine\n");
    let stderr = dir.refused(&["init", "--forensic-account", "999999999999", "--forensic-region", "eu-west-1"], &[]);
    assert!(
        stderr.starts_with("error: custody.toml exists already: custody init does not overwrite a file"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(existing).unwrap(), "# mine\n");
}

/// Without a terminal, nothing is asked: the missing values are named by their flags.
#[test]
fn init_without_its_required_values_and_no_terminal_names_the_flags() {
    let dir = Dir::new();
    let stderr = dir.refused(&["init"], &[]);
    assert!(stderr.starts_with("error: --forensic-account and --forensic-region are required"), "{stderr}");
    let stderr = dir.refused(&["init", "--forensic-account", "999999999999"], &[]);
    assert!(stderr.starts_with("error: --forensic-region is required"), "{stderr}");
    assert!(!dir.work().join("custody.toml").exists());
    let stderr = dir.refused(&["init", "--forensic-account", "12345", "--forensic-region", "eu-west-1"], &[]);
    assert!(stderr.contains("expected an account id"), "{stderr}");
}

/// What `custody init` prints and writes, pinned.
#[test]
fn init_output_and_file() {
    let sb = Sandbox::new();
    let out = sb.file("custody.toml");
    let args = ["init", "--forensic-account", "999999999999", "--forensic-region", "eu-west-1", "--out", &out];
    snap!("init", sb.run(&args));
    snap!("init-file", std::fs::read_to_string(&out).unwrap());
    snap!("init-exists", sb.run(&args));
}

/// Against moto: the Region and the forensic role take the flag, else the variable, else the file;
/// the file's alias prefix and triage tag reach the collected inventory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_takes_region_and_role_by_precedence_and_the_files_prefix_and_tag() {
    const REGION: &str = "us-east-1";
    let moto = Moto::start().await.unwrap();
    let incident = seed_incident(&moto.sdk_config(REGION).await.unwrap()).await.unwrap();
    let dir = Dir::new();
    let other_role = "arn:aws:iam::123456789012:role/NotThisOne";
    let file = |region: &str, role: &str| {
        format!(
            "[aws]\nregion = \"{region}\"\nendpoint_url = \"{}\"\n[forensic]\nrole_arn = \"{role}\"\n\
             [acquire]\nalias_prefix = \"ir\"\n[triage]\nssm_tag = \"Scope=Custody\"\n",
            moto.endpoint()
        )
    };
    let credentials = [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")];
    let collect = |extra: &[&str], env: &[(&str, &str)]| {
        let args = [&["collect", incident.instance_id.as_str()][..], extra].concat();
        let env = [&credentials[..], env].concat();
        let stdout = dir.ok(&args, &env);
        let inventory: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let config = &inventory["config"];
        (config["forensic_region"].clone(), config["forensic_role_arn"].clone(), inventory)
    };
    let expected = (serde_json::json!(REGION), serde_json::json!(incident.role_arn));
    // The file alone.
    dir.write("work/custody.toml", &file(REGION, &incident.role_arn));
    let (region, role, inventory) = collect(&[], &[]);
    assert_eq!((region, role), expected.clone());
    assert_eq!(inventory["config"]["alias_prefix"], "ir");
    assert_eq!(inventory["config"]["ssm_tag"], serde_json::json!({"key": "Scope", "value": "Custody"}));
    // The variables win over the file.
    dir.write("work/custody.toml", &file("eu-west-2", other_role));
    let env = [("AWS_REGION", REGION), ("CUSTODY_FORENSIC_ROLE_ARN", incident.role_arn.as_str())];
    let (region, role, _) = collect(&[], &env);
    assert_eq!((region, role), expected.clone());
    // The flags win over the variables.
    let env = [("AWS_REGION", "eu-west-3"), ("CUSTODY_FORENSIC_ROLE_ARN", other_role)];
    let (region, role, _) = collect(&["--region", REGION, "--forensic-role-arn", &incident.role_arn], &env);
    assert_eq!((region, role), expected);
}

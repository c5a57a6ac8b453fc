//! Running the built `custody` binary in the CLI tests.
#![allow(dead_code, reason = "test support: each test crate uses a part of it")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use assert_cmd::Command;

/// A `custody` command that cannot read a configuration file of the developer's: no
/// `CUSTODY_CONFIG`, and a configuration directory that does not exist (the working directory, the
/// workspace, has no custody.toml). The other `CUSTODY_*` variables of the test's environment are
/// removed too, but for `CUSTODY_DATA_DIR`.
pub fn custody() -> Command {
    let mut cmd = Command::cargo_bin("custody").unwrap();
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CUSTODY_") && name != "CUSTODY_DATA_DIR" {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd.env("XDG_CONFIG_HOME", workspace().join("target/no-custody-config"));
    cmd
}

/// Runs `custody args…` with `stdin`: (exit code, stdout, stderr).
pub fn run(args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let out = custody().args(args).write_stdin(stdin.to_string()).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The journals `custody acquire --simulate` writes: a success (path 8) and a failure (path 4, which
/// keeps its source snapshots open), as (case, instance, example inventory).
pub const SUCCESS: (&str, &str, &str) = ("IR-8", "i-08b8b8b8b8b8b8b8b", "8-cross-account-aws-managed.json");
pub const FAILURE: (&str, &str, &str) = ("IR-4", "i-04d4d4d4d4d4d4d4d", "4-cross-region.json");

/// The workspace root (the examples are read from there).
pub fn workspace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `custody args…` from the workspace root, with every `AWS_*` variable of the test's environment
/// replaced by ones that point at a closed port on 127.0.0.1 (nothing can reach a real AWS).
pub fn custody_offline(args: &[&str]) -> (Option<i32>, String, String) {
    custody_offline_with(args, &[])
}

/// [`custody_offline`] with the environment variables `env` set besides.
pub fn custody_offline_with(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = custody();
    cmd.envs(env.iter().copied());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = cmd.current_dir(workspace()).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A new temporary directory, private as custody makes the data directories it creates (an open one
/// is warned about).
pub fn private_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let private = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700);
    std::fs::set_permissions(dir.path(), private).unwrap();
    dir
}

/// A journal in a new temporary directory with the success, then the failure.
pub fn simulated_journal() -> tempfile::TempDir {
    let dir = private_dir();
    for ((case, instance, file), exit) in [(SUCCESS, 0), (FAILURE, 1)] {
        let inventory = format!("examples/inventories/{file}");
        let data_dir = dir.path().to_str().unwrap();
        let (code, _, stderr) = custody_offline(&[
            "acquire",
            instance,
            "--case",
            case,
            "--simulate",
            &inventory,
            "--data-dir",
            data_dir,
            "--no-preflight",
        ]);
        assert_eq!(code, Some(exit), "{case}\n{stderr}");
    }
    dir
}

/// `dir` as `[DIR]`, RFC 3339 times as `[TIME]`, and `YYYY-MM-DD hh:mm:ss` times as that pattern.
pub fn redacted(text: &str, dir: &std::path::Path) -> String {
    let text = text.replace(dir.to_str().unwrap(), "[DIR]");
    let bytes = text.as_bytes();
    let shape = b"dddd-dd-ddXdd:dd:dd";
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let matches = bytes.len() >= i + shape.len()
            && shape.iter().zip(&bytes[i..]).all(|(s, b)| match s {
                b'd' => b.is_ascii_digit(),
                b'X' => *b == b'T' || *b == b' ',
                _ => s == b,
            });
        if !matches {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        let mut end = i + shape.len();
        if bytes[i + 10] == b' ' {
            out.push_str("YYYY-MM-DD hh:mm:ss");
        } else {
            if bytes.get(end) == Some(&b'.') {
                end += 1;
                while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                    end += 1;
                }
            }
            if bytes.get(end) == Some(&b'Z') {
                end += 1;
            }
            out.push_str("[TIME]");
        }
        i = end;
    }
    out
}

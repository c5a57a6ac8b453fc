//! Snapshot tests of whole outputs of the `custody` binary: each run in a sandbox (a clean environment
//! whose home, XDG and data directories are in a temporary directory, and whose AWS points at a closed
//! port on 127.0.0.1), rendered as one block (the command line, the exit status, stdout and stderr),
//! and redacted of what changes from run to run by the insta filters of [`settings`].
#![allow(dead_code, reason = "test support: each test crate uses a part of it")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};

/// The workspace root: every command runs from there (the examples are named relative to it).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// A temporary directory holding the home, the XDG directories and the data directory of the runs.
pub struct Sandbox {
    root: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let root = tempfile::Builder::new().prefix("custody-snap-").tempdir().unwrap();
        for sub in ["home", "config", "data-home", "cache", "state", "data"] {
            std::fs::create_dir(root.path().join(sub)).unwrap();
        }
        // Private, as custody makes the data directories it creates (an open one is warned about).
        let private = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700);
        std::fs::set_permissions(root.path().join("data"), private).unwrap();
        Sandbox { root }
    }

    /// The sandbox's directory (shown as `[TMP]` in snapshots).
    pub fn path(&self) -> &Path {
        self.root.path()
    }

    /// `CUSTODY_DATA_DIR` of the runs.
    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data")
    }

    /// A path in the sandbox, as text.
    pub fn file(&self, name: &str) -> String {
        self.path().join(name).to_str().unwrap().to_string()
    }

    /// Writes `contents` to `name` in the sandbox and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_string()
    }

    /// Runs `custody args…` with nothing on standard input: the formatted block.
    pub fn run(&self, args: &[&str]) -> String {
        self.run_with(args, "", &[])
    }

    /// Runs `custody args…` with `stdin`: the formatted block.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> String {
        self.run_with(args, stdin, &[])
    }

    /// Runs `custody args…` with `stdin` and the environment variables `env` besides the sandbox's.
    pub fn run_with(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> String {
        let (code, stdout, stderr) = self.output(args, stdin, env);
        let mut block = format!("$ {}\n", shell_words(&[&["custody"][..], args].concat()));
        if !stdin.is_empty() {
            block.push_str(&format!("(stdin: {} bytes)\n", stdin.len()));
        }
        match code {
            Some(code) => block.push_str(&format!("exit: {code}\n")),
            None => block.push_str("exit: killed by a signal\n"),
        }
        block.push_str("--- stdout\n");
        block.push_str(&stdout);
        if !stdout.is_empty() && !stdout.ends_with('\n') {
            block.push_str("\n[no newline at the end]\n");
        }
        block.push_str("--- stderr\n");
        block.push_str(&stderr);
        if !stderr.is_empty() && !stderr.ends_with('\n') {
            block.push_str("\n[no newline at the end]\n");
        }
        self.redact_paths(&block)
    }

    /// Runs `custody args…`: (exit status, stdout, stderr), the sandbox's paths already replaced.
    pub fn output(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
        let root = self.path();
        let mut cmd = assert_cmd::Command::cargo_bin("custody").unwrap();
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", root.join("home"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_DATA_HOME", root.join("data-home"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("XDG_STATE_HOME", root.join("state"))
            .env("CUSTODY_DATA_DIR", self.data_dir())
            .env("TMPDIR", root)
            .env("LANG", "C.UTF-8")
            // Nothing can reach AWS: its endpoint is a closed port on 127.0.0.1, with credentials
            // that are not anyone's, no profile file and no instance metadata.
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(env.iter().copied())
            .current_dir(workspace())
            .args(args)
            .write_stdin(stdin.to_string())
            .timeout(std::time::Duration::from_secs(60));
        let out = cmd.output().unwrap();
        let clean = |bytes: &[u8]| self.redact_paths(&String::from_utf8_lossy(bytes));
        (out.status.code(), clean(&out.stdout), clean(&out.stderr))
    }

    /// The sandbox's path as `[TMP]`, the workspace's as `[WORKSPACE]`.
    pub fn redact_paths(&self, text: &str) -> String {
        let mut text = text.to_string();
        let root = self.path();
        let mut roots = vec![root.to_path_buf()];
        if let Ok(canonical) = root.canonicalize() {
            roots.insert(0, canonical);
        }
        for r in roots {
            text = text.replace(r.to_str().unwrap(), "[TMP]");
        }
        text.replace(workspace().to_str().unwrap(), "[WORKSPACE]")
    }
}

/// `args` as a shell would need them (quoted where needed), with the sandbox's paths left for the
/// caller's filters.
fn shell_words(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+[]".contains(c)) {
                a.to_string()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The insta settings of every snapshot: no expression in the file, and the filters that make the
/// outputs the same from run to run.
pub fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_omit_expression(true);
    s.set_prepend_module_to_snapshot(true);
    for (pattern, replacement) in FILTERS {
        s.add_filter(pattern, *replacement);
    }
    s
}

/// What changes from run to run, and what stands in for it.
const FILTERS: &[(&str, &str)] = &[
    // Run ids: `r-<unix seconds>-<random hex>`.
    (r"\br-\d{6,}-[0-9a-f]{8,}\b", "r-[RUN]"),
    // The UTC time that starts a progress line on standard error when it is not a terminal.
    (r"(?m)^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z ", "[NOW] "),
    // RFC 3339 times; `YYYY-MM-DD hh:mm:ss` times keep their width (the columns of `custody cases`).
    (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?", "[TIME]"),
    (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "YYYY-MM-DD hh:mm:ss"),
    // custody's version, wherever it is printed; `--version` adds the commit (build.rs).
    (
        r"custody \d+\.\d+\.\d+(-[0-9A-Za-z.]+)? \(([0-9a-f]{7,40} \d{4}-\d{2}-\d{2}|[0-9a-f]{7,40}|unknown commit)\)",
        "custody [VERSION]",
    ),
    (r"custody \d+\.\d+\.\d+(-[0-9A-Za-z.]+)?", "custody [VERSION]"),
    (r#""custody_version": ?"[^"]*""#, r#""custody_version": "[VERSION]""#),
    // Durations: `1.234s`, `12ms`, `3µs`.
    (r"\b\d+(\.\d+)?(ms|µs|s)\b", "[DURATION]"),
    // Process ids of lock holders.
    (r"\bpid \d+\b", "pid [PID]"),
    (r#""pid": ?\d+"#, r#""pid": [PID]"#),
];

/// Snapshots `$block` (a [`Sandbox::run`] block) as `$name`, with the filters of [`settings`].
macro_rules! snap {
    ($name:expr, $block:expr) => {{
        let block: String = $block;
        crate::snapshot_support::settings().bind(|| insta::assert_snapshot!($name, block));
    }};
}
pub(crate) use snap;

/// The example acquisitions `custody acquire --simulate` journals: a success (path 8) and a failure
/// (path 4, run with --no-preflight, which keeps its source snapshot), as (case, instance, example).
pub const SUCCESS: (&str, &str, &str) = ("IR-8", "i-08b8b8b8b8b8b8b8b", "8-cross-account-aws-managed.json");
pub const FAILURE: (&str, &str, &str) = ("IR-4", "i-04d4d4d4d4d4d4d4d", "4-cross-region.json");

impl Sandbox {
    /// The example inventory `file` of examples/inventories/ with its instance reduced to its first
    /// volume, written in the sandbox under the same name: its path. The simulated cloud runs the
    /// volumes of an instance concurrently (even with `--parallel 1`, which volume goes first varies
    /// from run to run, and with it the order of the calls and the snapshot ids the simulator hands
    /// out); with one volume, a simulated run prints the same thing every time.
    pub fn one_volume_example(&self, file: &str) -> String {
        let text = std::fs::read_to_string(workspace().join("examples/inventories").join(file)).unwrap();
        let mut inventory: serde_json::Value = serde_json::from_str(&text).unwrap();
        let volumes = inventory["instances"][0]["volumes"].as_array_mut().unwrap();
        volumes.truncate(1);
        self.write(file, serde_json::to_string_pretty(&inventory).unwrap())
    }

    /// The arguments of a simulated acquisition of `(case, instance, example)` (reduced to one volume,
    /// see [`Sandbox::one_volume_example`]) into the sandbox's data directory, the simulated cloud kept
    /// in `world-<case>.json` for a later cleanup.
    pub fn simulate_args(&self, (case, instance, file): (&str, &str, &str)) -> Vec<String> {
        [
            "acquire",
            instance,
            "--case",
            case,
            "--simulate",
            &self.one_volume_example(file),
            "--simulate-state",
            &self.file(&format!("world-{case}.json")),
            "--data-dir",
            self.data_dir().to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// Journals the success, then the failure (asserting their exit statuses).
    pub fn simulated_journal(&self) {
        for (acquisition, expected) in [(SUCCESS, 0), (FAILURE, 1)] {
            let mut args = self.simulate_args(acquisition);
            args.push("--no-preflight".into());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, stdout, stderr) = self.output(&args, "", &[]);
            assert_eq!(code, Some(expected), "{args:?}\n{stdout}\n{stderr}");
        }
    }
}

/// `args` as `&str`s.
pub fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

//! The README's runnable console blocks, run as written against the custody binary under test.
//!
//! A ```` ```console ```` block preceded by the line `<!-- test: runs -->` is runnable; every other
//! block is illustrative (it needs AWS, or takes minutes) and is not run. In a runnable block:
//!
//! - each `$ ` line, with its ` \` continuations joined, is run with `sh -c`, exactly as written, in
//!   one temporary working directory shared by all the blocks in the README's order (so `custody
//!   init` writes the `custody.toml` the next commands read), holding a copy of `examples/`;
//! - `PATH` starts with the directory of the binary under test, so `custody` is that binary: the one
//!   cargo built for this test, or, when `CUSTODY_README_BIN_DIR` names a directory, the custody in
//!   it (`.ci/run` runs the install command exactly as written, into a directory of its own through
//!   `CARGO_INSTALL_ROOT`, then this test with that directory's `bin`);
//! - the environment is the caller's `PATH` and nothing else of it: no `AWS_*` or `CUSTODY_*`
//!   variable, fake credentials, `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` set to
//!   `/dev/null`, instance metadata disabled, `HOME`, `XDG_CONFIG_HOME` and `XDG_DATA_HOME` inside the
//!   temporary directory, standard input empty (so `custody init` never prompts);
//! - the lines that follow a command, up to the next `$ ` line, are its expected standard output and
//!   standard error together (one file receives both, so they interleave as written): a line `...`
//!   stands for any number of lines, `…` inside a line for any text, and no lines means no output;
//! - the command must exit 0, or N when its line ends with `# exit N`.
//!
//! `cargo install --locked --path crates/cli` is the one command this test does not run: it builds a
//! release binary (minutes) and installs it into `~/.cargo/bin`, replacing the caller's custody.
//! `.ci/run` runs it (see above); the test checks the line is exactly that command, so the README
//! and CI cannot drift apart.
//!
//! A failure names the command's line in README.md and shows a diff (`-` expected, `+` actual).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The marker that makes the console block on the next line runnable.
const MARKER: &str = "<!-- test: runs -->";
/// The install command, checked and not run (see the module's documentation).
const INSTALL: &str = "cargo install --locked --path crates/cli";
/// A line of expected output that stands for any number of lines.
const ANY_LINES: &str = "...";
/// Inside a line of expected output: any text.
const ANY_TEXT: char = '…';
/// How long one command may run.
const TIMEOUT: Duration = Duration::from_secs(180);

/// One `$ ` command of a runnable block.
#[derive(Debug, PartialEq)]
struct Step {
    /// Its line in README.md (1-based).
    line: usize,
    /// The command as `sh -c` runs it: continuations joined.
    command: String,
    /// The exit status it must end with.
    exit: i32,
    /// The lines after it, up to the next command.
    expected: Vec<String>,
}

/// The commands of every runnable block, in order.
fn parse(readme: &str) -> Result<Vec<Step>, String> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != MARKER {
            i += 1;
            continue;
        }
        let marker_line = i + 1;
        if lines.get(i + 1).map(|l| l.trim_end()) != Some("```console") {
            return Err(format!("README.md:{marker_line}: `{MARKER}` must be followed by a ```console line"));
        }
        i += 2;
        let mut current: Option<Step> = None;
        loop {
            let Some(&text) = lines.get(i) else {
                return Err(format!("README.md:{marker_line}: the runnable block is not closed"));
            };
            if text.trim_end() == "```" {
                i += 1;
                break;
            }
            if let Some(first) = text.strip_prefix("$ ") {
                steps.extend(current.take());
                let line = i + 1;
                let mut command = first.trim_end().to_string();
                while let Some(head) = command.strip_suffix('\\') {
                    i += 1;
                    let Some(next) = lines.get(i) else {
                        return Err(format!("README.md:{line}: the command ends with `\\` and no line follows"));
                    };
                    command = format!("{} {}", head.trim_end(), next.trim());
                }
                let exit = expected_exit(&command).map_err(|e| format!("README.md:{line}: {e}"))?;
                current = Some(Step { line, command, exit, expected: Vec::new() });
            } else {
                match current.as_mut() {
                    Some(step) => step.expected.push(text.trim_end().to_string()),
                    None => return Err(format!("README.md:{}: output before any `$ ` command", i + 1)),
                }
            }
            i += 1;
        }
        match current {
            Some(step) => steps.push(step),
            None => return Err(format!("README.md:{marker_line}: the runnable block has no `$ ` command")),
        }
    }
    Ok(steps)
}

/// The exit status a command line asks for: N when it ends with the comment `# exit N`, else 0.
fn expected_exit(command: &str) -> Result<i32, String> {
    let Some((_, comment)) = command.rsplit_once('#') else { return Ok(0) };
    let comment = comment.trim();
    match comment.strip_prefix("exit") {
        Some(rest) if rest.is_empty() || rest.starts_with(' ') => {
            rest.trim().parse().map_err(|_| format!("`# {comment}`: expected `# exit N`"))
        }
        _ => Ok(0),
    }
}

/// Whether one line of actual output matches one line of expected output, `…` matching any text.
fn line_matches(pattern: &str, text: &str) -> bool {
    let pieces: Vec<&str> = pattern.split(ANY_TEXT).collect();
    if pieces.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// One line of the alignment of expected and actual output.
#[derive(Debug, PartialEq)]
enum Op {
    /// An expected line and the actual line it matches.
    Same(usize, usize),
    /// Actual lines a `...` line stands for (the expected line, the first and one past the last actual).
    Elided(usize, usize, usize),
    /// An expected line with no actual line.
    Missing(usize),
    /// An actual line no expected line matches.
    Extra(usize),
}

/// The alignment of expected and actual output with the fewest lines missing or extra: its count
/// (0 when the output matches) and the alignment.
fn align(expected: &[String], actual: &[&str]) -> (usize, Vec<Op>) {
    let (n, m) = (expected.len(), actual.len());
    // cost[i][j]: the fewest missing or extra lines aligning expected[i..] with actual[j..].
    let mut cost = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..=n).rev() {
        for j in (0..=m).rev() {
            cost[i][j] = if i == n {
                m - j
            } else if expected[i] == ANY_LINES {
                let skip = cost[i + 1][j];
                if j < m {
                    skip.min(cost[i][j + 1])
                } else {
                    skip
                }
            } else {
                let mut best = 1 + cost[i + 1][j];
                if j < m {
                    best = best.min(1 + cost[i][j + 1]);
                    if line_matches(&expected[i], actual[j]) {
                        best = best.min(cost[i + 1][j + 1]);
                    }
                }
                best
            };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i == n {
            ops.push(Op::Extra(j));
            j += 1;
        } else if expected[i] == ANY_LINES {
            let start = j;
            // Consume an actual line only when skipping the `...` here is not as good.
            while j < m && cost[i][j] != cost[i + 1][j] {
                j += 1;
            }
            ops.push(Op::Elided(i, start, j));
            i += 1;
        } else if j < m && line_matches(&expected[i], actual[j]) && cost[i][j] == cost[i + 1][j + 1] {
            ops.push(Op::Same(i, j));
            i += 1;
            j += 1;
        } else if cost[i][j] == 1 + cost[i + 1][j] {
            ops.push(Op::Missing(i));
            i += 1;
        } else {
            ops.push(Op::Extra(j));
            j += 1;
        }
    }
    (cost[0][0], ops)
}

/// Whether actual output matches expected output.
fn matches(expected: &[String], actual: &[&str]) -> bool {
    align(expected, actual).0 == 0
}

/// The difference, one line each: `  ` matched, `- ` expected and missing, `+ ` actual and not
/// expected; the lines a `...` stands for are shown as one `  ... (N lines)`.
fn diff(expected: &[String], actual: &[&str]) -> String {
    let mut out = String::new();
    for op in align(expected, actual).1 {
        let line = match op {
            Op::Same(_, j) => format!("  {}", actual[j]),
            Op::Elided(_, from, to) => format!("  {ANY_LINES} ({} lines)", to - from),
            Op::Missing(i) => format!("- {}", expected[i]),
            Op::Extra(j) => format!("+ {}", actual[j]),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The repository's root.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Copies a directory tree.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Where the commands run, and the environment they run with.
struct Sandbox {
    _root: tempfile::TempDir,
    work: PathBuf,
    outputs: PathBuf,
    env: Vec<(String, String)>,
}

impl Sandbox {
    fn new() -> Sandbox {
        let root = tempfile::tempdir().unwrap();
        let work = root.path().join("work");
        let home = root.path().join("home");
        let outputs = root.path().join("outputs");
        copy_tree(&repository().join("examples"), &work.join("examples"));
        for dir in [home.join(".config"), home.join(".local/share"), outputs.clone()] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let bin_dir = match std::env::var("CUSTODY_README_BIN_DIR") {
            Ok(dir) if !dir.is_empty() => {
                assert!(Path::new(&dir).join("custody").is_file(), "CUSTODY_README_BIN_DIR={dir} holds no custody");
                dir
            }
            _ => Path::new(env!("CARGO_BIN_EXE_custody")).parent().unwrap().display().to_string(),
        };
        let path = match std::env::var("PATH") {
            Ok(rest) if !rest.is_empty() => format!("{bin_dir}:{rest}"),
            _ => format!("{bin_dir}:/usr/local/bin:/usr/bin:/bin"),
        };
        let text = |p: &Path| p.display().to_string();
        let env = vec![
            ("PATH".to_string(), path),
            ("HOME".to_string(), text(&home)),
            ("XDG_CONFIG_HOME".to_string(), text(&home.join(".config"))),
            ("XDG_DATA_HOME".to_string(), text(&home.join(".local/share"))),
            ("AWS_ACCESS_KEY_ID".to_string(), "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), "testing".to_string()),
            ("AWS_CONFIG_FILE".to_string(), "/dev/null".to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE".to_string(), "/dev/null".to_string()),
            ("AWS_EC2_METADATA_DISABLED".to_string(), "true".to_string()),
            ("NO_COLOR".to_string(), "1".to_string()),
        ];
        Sandbox { _root: root, work, outputs, env }
    }

    /// Runs one command: its exit status (None when killed) and its output, both streams together.
    fn run(&self, step: &Step) -> (Option<i32>, String) {
        let output_path = self.outputs.join(format!("line-{}", step.line));
        let output = File::create(&output_path).unwrap();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&step.command)
            .current_dir(&self.work)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status.code();
            }
            if started.elapsed() > TIMEOUT {
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        (status, String::from_utf8_lossy(&std::fs::read(&output_path).unwrap()).into_owned())
    }
}

fn readme() -> String {
    std::fs::read_to_string(repository().join("README.md")).unwrap()
}

#[test]
fn the_readme_runs_as_written() {
    let steps = parse(&readme()).unwrap_or_else(|e| panic!("{e}"));
    // What a new user must be able to paste: setting up, writing the policies, a first (simulated)
    // acquisition. A block that loses its marker fails here, not silently.
    for (what, found) in [
        ("the install command", steps.iter().any(|s| s.command == INSTALL)),
        ("`custody init`", steps.iter().any(|s| s.command.starts_with("custody init "))),
        ("`custody policy role`", steps.iter().any(|s| s.command.starts_with("custody policy role "))),
        (
            "a simulated `custody acquire`",
            steps
                .iter()
                .any(|s| s.command.starts_with("custody acquire i-") && s.command.contains("--simulate examples/")),
        ),
    ] {
        assert!(found, "README.md has no runnable block with {what}");
    }
    let sandbox = Sandbox::new();
    let mut failures = Vec::new();
    for step in &steps {
        if step.command.starts_with("cargo install") {
            if step.command != INSTALL || !step.expected.is_empty() {
                failures.push(format!(
                    "README.md:{}: `{}`: the install line must be exactly `{INSTALL}`, without output",
                    step.line, step.command
                ));
            }
            continue;
        }
        let (status, output) = sandbox.run(step);
        let actual: Vec<&str> = output.lines().map(str::trim_end).collect();
        let mut problems = Vec::new();
        if status != Some(step.exit) {
            let got = status.map_or(format!("killed after {}s", TIMEOUT.as_secs()), |s| s.to_string());
            problems.push(format!("exit status: expected {}, got {got}", step.exit));
        }
        if !matches(&step.expected, &actual) {
            problems.push(format!("output differs (- expected, + actual):\n{}", diff(&step.expected, &actual)));
        }
        if !problems.is_empty() {
            failures.push(format!("README.md:{}: `{}`\n{}", step.line, step.command, problems.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} README commands failed:\n\n{}",
        failures.len(),
        steps.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_readme_speaks_to_users() {
    let text = readme();
    for word in ["seed 0", "option 1", "option 2", "option 3", "path 8", "has not been run", "TODO"] {
        assert!(!text.contains(word), "README.md says `{word}`: a word of the project's own notes");
    }
}

// The runner's own rules.

fn lines(text: &[&str]) -> Vec<String> {
    text.iter().map(|l| l.to_string()).collect()
}

#[test]
fn an_ellipsis_inside_a_line_matches_any_text() {
    assert!(line_matches("abc", "abc"));
    assert!(!line_matches("abc", "abcd"));
    assert!(line_matches("a…c", "abbbc"));
    assert!(line_matches("a…c", "ac"));
    assert!(line_matches("…", ""));
    assert!(line_matches("…", "anything"));
    assert!(line_matches("custody 0.1.0 (…)", "custody 0.1.0 (1a2b3c4 2026-01-01)"));
    assert!(line_matches("a…b…c", "a-x-b-y-c"));
    assert!(!line_matches("a…b…c", "a-c-b"));
    assert!(!line_matches("a…c", "ab"));
    // The prefix and the suffix may not share characters.
    assert!(!line_matches("ab…bc", "abc"));
    assert!(line_matches("ab…bc", "abbc"));
    assert!(!line_matches("a…", "ba"));
    assert!(!line_matches("…a", "ab"));
}

#[test]
fn three_dots_match_any_number_of_lines() {
    assert!(matches(&lines(&["..."]), &[]));
    assert!(matches(&lines(&["..."]), &["x", "y"]));
    assert!(matches(&lines(&["a", "...", "z"]), &["a", "z"]));
    assert!(matches(&lines(&["a", "...", "z"]), &["a", "b", "c", "z"]));
    assert!(matches(&lines(&["...", "z"]), &["a", "z"]));
    assert!(matches(&lines(&["a", "..."]), &["a", "b"]));
    assert!(matches(&lines(&["...", "m", "..."]), &["a", "m", "z"]));
    assert!(!matches(&lines(&["...", "m", "..."]), &["a", "z"]));
    assert!(!matches(&lines(&["a", "...", "z"]), &["a", "b"]));
    // A line that only contains three dots among other text is compared as text.
    assert!(!matches(&lines(&["a ..."]), &["a b"]));
    assert!(matches(&lines(&["a…", "...", "…z"]), &["ab", "c", "yz"]));
}

#[test]
fn no_expected_lines_means_no_output() {
    assert!(matches(&[], &[]));
    assert!(!matches(&[], &["something"]));
    assert!(!matches(&lines(&["something"]), &[]));
}

#[test]
fn the_diff_marks_missing_and_extra_lines() {
    let expected = lines(&["a", "...", "m", "z"]);
    assert_eq!(diff(&expected, &["a", "b", "c", "m", "y"]), "  a\n  ... (2 lines)\n  m\n- z\n+ y\n");
    assert_eq!(diff(&lines(&["x"]), &["x"]), "  x\n");
    assert_eq!(diff(&[], &["x"]), "+ x\n");
}

#[test]
fn runnable_blocks_are_parsed_with_their_lines_continuations_and_exit_statuses() {
    let readme = "# t\n\n```console\n$ not run\n```\n<!-- test: runs -->\n```console\n$ custody a \\\n    --b c\nout …\n$ custody check x  # exit 1\n...\n```\n";
    let steps = parse(readme).unwrap();
    assert_eq!(
        steps,
        vec![
            Step { line: 8, command: "custody a --b c".into(), exit: 0, expected: lines(&["out …"]) },
            Step { line: 11, command: "custody check x  # exit 1".into(), exit: 1, expected: lines(&["..."]) },
        ]
    );
}

#[test]
fn a_malformed_runnable_block_is_refused_with_its_line() {
    assert_eq!(
        parse("a\n<!-- test: runs -->\n```sh\n$ x\n```\n").unwrap_err(),
        "README.md:2: `<!-- test: runs -->` must be followed by a ```console line"
    );
    assert_eq!(
        parse("<!-- test: runs -->\n```console\nout\n$ x\n```\n").unwrap_err(),
        "README.md:3: output before any `$ ` command"
    );
    assert_eq!(
        parse("<!-- test: runs -->\n```console\n$ x\n").unwrap_err(),
        "README.md:1: the runnable block is not closed"
    );
    assert_eq!(
        parse("<!-- test: runs -->\n```console\n$ x # exit one\n```\n").unwrap_err(),
        "README.md:3: `# exit one`: expected `# exit N`"
    );
}

#[test]
fn a_comment_other_than_exit_keeps_status_zero() {
    assert_eq!(expected_exit("custody cases"), Ok(0));
    assert_eq!(expected_exit("custody cases   # the journal"), Ok(0));
    assert_eq!(expected_exit("custody check  # exit 2"), Ok(2));
    assert_eq!(expected_exit("custody check  # exiting"), Ok(0));
}

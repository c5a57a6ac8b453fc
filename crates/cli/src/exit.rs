//! The one way out of custody: a command returns an [`ExitStatus`] or a [`CliError`], and `main`
//! reports it once, as text or (when the command was given `--json`) as one JSON object on
//! standard error.
//!
//! Exit codes, as uv and cedar tell them apart: 0 done; 1 done and the answer is "no" (a preflight
//! step would fail, an image does not match) or a failure (AWS refused, a journal cannot be read);
//! 2 the user's error, refused before anything was changed; 130 interrupted; 101 a bug in custody
//! (a panic, or a state the code holds impossible), as Rust numbers a panic.
//!
//! A bug is not the user's to fix: its report says so, and says what to send with it (the command
//! line, custody's version, the case and its journal). The panic hook ([`install_panic_hook`])
//! prints that report for a panic, so a panic is never left as Rust's bare message.

use custody_plan::text::safe_indented;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Exit 0.
    Success,
    /// Exit 1: the command did its work and its answer, printed with the result, is "no" (a
    /// preflight step would fail, an image does not match its manifest, an acquisition or cleanup
    /// did not secure or remove everything).
    Failure,
    /// Exit 130: Ctrl-C stopped the work; what it did and undid is in the result printed.
    Interrupted,
}

impl ExitStatus {
    /// [`Success`](Self::Success) when `ok`, else [`Failure`](Self::Failure).
    pub fn from_ok(ok: bool) -> Self {
        if ok {
            Self::Success
        } else {
            Self::Failure
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Interrupted => ExitCode::from(INTERRUPTED),
        }
    }
}

/// The exit code of an interruption (128 + SIGINT, as a shell reports it).
pub const INTERRUPTED: u8 = 130;

/// The exit code of a bug in custody: the code Rust gives a panic.
pub const BUG: u8 = 101;

/// What a command's result is.
pub type CliResult = Result<ExitStatus, CliError>;

/// What kind of error stopped a command: it decides the exit code and who can fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input (arguments, an input file, a case another process holds): nothing was changed.
    /// Exit 2.
    User,
    /// The work failed: AWS refused or could not be reached, a journal could not be read or written.
    /// Exit 1.
    Failure,
    /// Stopped by Ctrl-C. Exit 130.
    Interrupted,
    /// A bug in custody: a panic, or a state the code holds impossible. Exit 101.
    Bug,
}

impl ErrorKind {
    /// The process's exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::User => 2,
            Self::Failure => 1,
            Self::Interrupted => INTERRUPTED,
            Self::Bug => BUG,
        }
    }

    /// The name in the JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Failure => "failure",
            Self::Interrupted => "interrupted",
            Self::Bug => "bug",
        }
    }
}

/// An error that stops a command: its kind, what happened, each cause once, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub kind: ErrorKind,
    /// What happened, in custody's words; it may quote input and AWS's answers, which the rendering
    /// escapes.
    pub message: String,
    /// Why, outermost first: the sources of the error, each shown once.
    pub causes: Vec<String>,
    /// What the user can do about it.
    pub help: Option<String>,
}

impl CliError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), causes: Vec::new(), help: None }
    }

    /// Bad input: exit 2, nothing changed.
    pub fn user(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::User, message)
    }

    /// The work failed: exit 1.
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failure, message)
    }

    /// Stopped by Ctrl-C: exit 130.
    pub fn interrupted(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Interrupted, message)
    }

    /// A bug in custody: exit 101, reported with what to send.
    pub fn bug(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Bug, message)
    }

    /// `e`'s own words as the message and each of its sources as a cause, so that none is repeated.
    pub fn from_error(kind: ErrorKind, e: &dyn std::error::Error) -> Self {
        let mut error = Self::new(kind, e.to_string());
        if let Some(source) = e.source() {
            error = error.caused_by(source);
        }
        error
    }

    /// With `e` and each of its sources as the causes that follow the message.
    pub fn caused_by(mut self, e: &dyn std::error::Error) -> Self {
        self.causes.push(e.to_string());
        let mut source = e.source();
        while let Some(cause) = source {
            self.causes.push(cause.to_string());
            source = cause.source();
        }
        self
    }

    /// With a `help:` line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The exit code.
    pub fn code(&self) -> ExitCode {
        ExitCode::from(self.kind.code())
    }

    /// The error as text: `error: …`, a `caused by:` line per cause, then `help: …`. Every value is
    /// escaped (it can quote an inventory, a manifest or AWS's answer) and continuation lines are
    /// indented, so nothing in it can drive the terminal or pass for a line of custody's own.
    pub fn to_text(&self) -> String {
        let mut out = format!("error: {}\n", safe_indented(&self.message, "  "));
        for cause in &self.causes {
            out.push_str(&format!("  caused by: {}\n", safe_indented(cause, "    ")));
        }
        let help = match self.kind {
            ErrorKind::Bug => Some(bug_help(self.help.as_deref())),
            _ => self.help.clone(),
        };
        if let Some(help) = help {
            out.push_str(&format!("help: {}\n", safe_indented(&help, "  ")));
        }
        out
    }

    /// The error as one JSON object, `{"error": {"kind", "message", "causes", "help"}}` (a bug's also
    /// carries `report`, what to send with it); `report` prints it.
    #[cfg(test)]
    fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.json_form()).unwrap_or_default()
    }

    /// The JSON form, its fields in the order a reader expects them.
    fn json_form(&self) -> JsonForm<'_> {
        let bug = self.kind == ErrorKind::Bug;
        JsonForm {
            error: JsonError {
                kind: self.kind.as_str(),
                message: &self.message,
                causes: &self.causes,
                help: if bug { Some(bug_help(self.help.as_deref())) } else { self.help.clone() },
                report: bug.then(|| bug_context().map(BugContext::to_json).unwrap_or_else(|| json!({}))),
            },
        }
    }

    /// Prints the error on standard error, as JSON or text; answers the exit code.
    pub fn report(&self, json: bool) -> ExitCode {
        let text = match json {
            // Strings, a vector of strings and a JSON value with string keys: serializing cannot fail.
            true => serde_json::to_string(&self.json_form()).unwrap_or_default() + "\n",
            false => self.to_text(),
        };
        eprint!("{text}");
        self.code()
    }
}

#[derive(serde::Serialize)]
struct JsonForm<'a> {
    error: JsonError<'a>,
}

#[derive(serde::Serialize)]
struct JsonError<'a> {
    kind: &'static str,
    message: &'a str,
    causes: &'a [String],
    help: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<serde_json::Value>,
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        for cause in &self.causes {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl From<crate::input::InputError> for CliError {
    fn from(e: crate::input::InputError) -> Self {
        Self::user(e.to_string())
    }
}

/// What a bug report needs from the command that hit the bug, set once by `main`.
#[derive(Debug, Clone, Default)]
pub struct BugContext {
    /// The command line, with anything that looks like a secret masked.
    pub command_line: Vec<String>,
    /// Whether the command was given `--json`: the panic hook answers in kind.
    pub json: bool,
    /// The case the command worked on, if any.
    pub case_id: Option<String>,
    /// The journal of that case (or the command's data directory), if any.
    pub journal: Option<PathBuf>,
}

impl BugContext {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "command_line": self.command_line,
            "version": version(),
            "case_id": self.case_id,
            "journal": self.journal,
        })
    }
}

static BUG_CONTEXT: OnceLock<BugContext> = OnceLock::new();
/// Set by the panic hook: the command's own outcome no longer stands for what happened.
static PANICKED: AtomicBool = AtomicBool::new(false);

fn bug_context() -> Option<&'static BugContext> {
    BUG_CONTEXT.get()
}

fn version() -> String {
    format!("custody {}", env!("CARGO_PKG_VERSION"))
}

/// Masks the password of a URL (`https://user:secret@host`): nothing custody takes on its command
/// line is a secret, but a user may have put one in an endpoint URL.
pub fn without_secrets(arg: &str) -> String {
    let Some(scheme_end) = arg.find("://") else { return arg.to_string() };
    let rest = &arg[scheme_end + 3..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    match authority.rfind('@') {
        Some(at) => format!("{}://***@{}", &arg[..scheme_end], &rest[at + 1..]),
        None => arg.to_string(),
    }
}

/// The help of a bug: whose fault it is, and what to send.
fn bug_help(extra: Option<&str>) -> String {
    let mut help = String::new();
    if let Some(extra) = extra {
        help.push_str(extra);
        help.push('\n');
    }
    help.push_str(
        "this is a bug in custody, not a problem with your input or with AWS; please report it, with:\n\
         - the command line",
    );
    let context = bug_context();
    match context.filter(|c| !c.command_line.is_empty()) {
        Some(c) => help.push_str(&format!(
            " (remove anything secret you typed in it): {}\n",
            c.command_line.iter().map(|a| shell_word(a)).collect::<Vec<_>>().join(" ")
        )),
        None => help.push_str(" (remove anything secret you typed in it)\n"),
    }
    help.push_str(&format!("- the output of `custody --version`: {}", version()));
    if let Some(case) = context.and_then(|c| c.case_id.as_deref()) {
        help.push_str(&format!("\n- the case, `{case}`: `custody show {case} --json`"));
        if let Some(journal) = context.and_then(|c| c.journal.as_deref()) {
            help.push_str(&format!(" (its journal: {})", journal.display()));
        }
    }
    help
}

/// An argument as a shell would need it to be typed again.
fn shell_word(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c) || c == '…' || c == '*');
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Makes every panic print the bug report (`context` says what to send, and whether as JSON), and
/// remembers it happened ([`panicked`]). Set once, before the command runs.
pub fn install_panic_hook(context: BugContext) {
    let json = context.json;
    let _ = BUG_CONTEXT.set(context);
    std::panic::set_hook(Box::new(move |info| report_panic(info, json)));
}

/// What the hook does with a panic: remember it, and print the bug report.
fn report_panic(info: &std::panic::PanicHookInfo<'_>, json: bool) {
    PANICKED.store(true, Ordering::SeqCst);
    let _ = panic_report(info.payload(), info.location()).report(json);
}

/// Whether a panic happened (on any thread), whatever the command returned after it.
pub fn panicked() -> bool {
    PANICKED.load(Ordering::SeqCst)
}

/// The error a panic is reported as.
fn panic_report(payload: &(dyn std::any::Any + Send), location: Option<&std::panic::Location<'_>>) -> CliError {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    let at = location.map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
    CliError::bug(format!("custody panicked{at}: {what}"))
}

/// Reports the end of a command once and answers the process's exit code: the status, or the error
/// on standard error (as JSON with `json`). After a panic (reported by the hook, on whatever
/// thread) the code is [`BUG`], whatever the command returned.
pub fn finish(result: std::thread::Result<CliResult>, json: bool) -> ExitCode {
    let code = match result {
        Ok(Ok(status)) => ExitCode::from(status),
        Ok(Err(error)) => error.report(json),
        // The hook has reported it.
        Err(_) => return ExitCode::from(BUG),
    };
    if panicked() {
        ExitCode::from(BUG)
    } else {
        code
    }
}

/// Writes `text` to standard output as it is. A closed pipe (`custody plan … | head`) is not an
/// error: the reader has what it wanted.
pub fn write_stdout(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_error_is_text_with_its_causes_once_and_a_help_line() {
        let e = CliError { causes: vec!["cause \u{1b}[2J".into()], ..CliError::user("bad `x`\nsecond line") }
            .with_help("do y");
        assert_eq!(e.to_text(), "error: bad `x`\n  second line\n  caused by: cause \\u{1b}[2J\nhelp: do y\n");
        assert_eq!(e.kind.code(), 2);
    }

    #[test]
    fn an_error_is_one_json_object_with_kind_message_causes_and_help() {
        let e = CliError::failure("cannot read").with_help("retry");
        assert_eq!(
            e.to_json(),
            json!({"error": {"kind": "failure", "message": "cannot read", "causes": [], "help": "retry"}})
        );
        assert_eq!(CliError::user("x").to_json()["error"]["help"], serde_json::Value::Null);
    }

    #[test]
    fn the_sources_of_an_error_become_its_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = CliError::from_error(ErrorKind::Failure, &Outer(std::io::Error::other("inner")));
        assert_eq!((e.message.as_str(), e.causes.as_slice()), ("outer", &["inner".to_string()][..]));
        assert_eq!(e.to_string(), "outer: inner");
    }

    /// The report of a panic names it a bug in custody and says what to send; in JSON, as one object.
    #[test]
    fn a_panic_is_reported_as_a_bug_with_what_to_send() {
        let location = std::panic::Location::caller();
        let payload: Box<dyn std::any::Any + Send> = Box::new("index out of bounds");
        let e = panic_report(payload.as_ref(), Some(location));
        assert_eq!(e.kind, ErrorKind::Bug);
        assert_eq!(e.kind.code(), 101);
        let text = e.to_text();
        assert!(text.starts_with("error: custody panicked at crates/cli/src/exit.rs:"), "{text}");
        assert!(text.contains(": index out of bounds\n"), "{text}");
        assert!(text.contains("help: this is a bug in custody, not a problem with your input or with AWS"), "{text}");
        assert!(text.contains("  - the command line"), "{text}");
        assert!(text.contains(&format!("  - the output of `custody --version`: custody {}", env!("CARGO_PKG_VERSION"))));
        let json = e.to_json();
        assert_eq!(json["error"]["kind"], "bug");
        assert!(json["error"]["help"].as_str().unwrap().contains("this is a bug in custody"), "{json}");
        assert!(json["error"]["message"].as_str().unwrap().ends_with(": index out of bounds"), "{json}");
    }

    /// The hook, as `main` installs it: the panic is reported, and the exit code is 101 even when the
    /// command's own result survived the panic (one on another thread).
    #[test]
    fn a_panic_ends_in_exit_101() {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|info| report_panic(info, true)));
        let caught = std::panic::catch_unwind(|| -> CliResult { panic!("an impossible state") });
        let on_another_thread = std::thread::spawn(|| panic!("elsewhere")).join();
        std::panic::set_hook(previous);
        assert!(caught.is_err() && on_another_thread.is_err());
        assert!(panicked());
        assert_eq!(finish(caught, true), ExitCode::from(BUG));
        assert_eq!(finish(Ok(Ok(ExitStatus::Success)), true), ExitCode::from(BUG));
    }

    #[test]
    fn a_bug_names_the_case_and_its_journal() {
        let _ = BUG_CONTEXT.set(BugContext {
            command_line: vec!["custody".into(), "show".into(), "IR 7".into()],
            json: false,
            case_id: Some("IR-7".into()),
            journal: Some(PathBuf::from("/data/journal.sqlite3")),
        });
        let text = CliError::bug("impossible").to_text();
        assert!(text.contains("custody show 'IR 7'"), "{text}");
        assert!(text.contains("- the case, `IR-7`: `custody show IR-7 --json` (its journal: /data/journal.sqlite3)"));
    }

    #[test]
    fn a_password_in_a_url_is_masked() {
        assert_eq!(without_secrets("https://user:pw@host:4566/x@y"), "https://***@host:4566/x@y");
        assert_eq!(without_secrets("http://127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(without_secrets("arn:aws:iam::1:role/x"), "arn:aws:iam::1:role/x");
    }

    #[test]
    fn statuses_are_their_exit_codes() {
        assert_eq!(ExitCode::from(ExitStatus::Interrupted), ExitCode::from(130));
        assert_eq!(ExitCode::from(ExitStatus::from_ok(false)), ExitCode::from(1));
        assert_eq!(ExitCode::from(ExitStatus::from_ok(true)), ExitCode::SUCCESS);
    }
}

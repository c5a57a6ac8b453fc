//! Puts the commit custody is built from into `custody --version`: `CUSTODY_COMMIT` is
//! `<short commit> <commit date>` (`git rev-parse --short=12 HEAD`, `git log -1 --format=%cs`), or
//! `unknown commit` outside a git checkout or without git. Rebuilt when HEAD moves (the HEAD file,
//! the branch's ref, packed-refs).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    let date = git(&["log", "-1", "--format=%cs"]);
    let text = match (commit, date) {
        (Some(commit), Some(date)) => format!("{commit} {date}"),
        (Some(commit), None) => commit,
        _ => "unknown commit".to_string(),
    };
    println!("cargo:rustc-env=CUSTODY_COMMIT={text}");
    // The files whose change means another commit: HEAD, the branch it points to, packed-refs.
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}

/// The trimmed output of `git args…`, when git ran and succeeded with some output.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

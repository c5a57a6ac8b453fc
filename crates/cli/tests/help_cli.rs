//! Every command's `--help` speaks the user's language: no product-document number ("seed 004",
//! "option 2"), no section of the repository's own notes ("map §5.2"), no internal tag ("SILENT"); its
//! examples fit a terminal without wrapping; and the shell completions cover every command.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

#[path = "common/help_commands.rs"]
mod help_commands;

use assert_cmd::Command;
use help_commands::listed_commands;

fn help(args: &[&str]) -> String {
    let out = Command::cargo_bin("custody").unwrap().args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn no_help_text_names_an_internal_document() {
    let top = help(&[]);
    let commands = listed_commands(&top);
    assert!(commands.len() >= 12, "{commands:?}");
    let mut pages = vec![(String::new(), top.clone())];
    for c in &commands {
        pages.push((c.to_string(), help(&[c.as_str()])));
    }
    for sub in ["role", "key"] {
        pages.push((format!("policy {sub}"), help(&["policy", sub])));
    }
    for (command, text) in pages {
        let lower = text.to_lowercase();
        for word in ["seed", "map §", "silent", "option 1", "option 2", "option 3", "§"] {
            assert!(!lower.contains(word), "`custody {command} --help` says `{word}`:\n{text}");
        }
    }
}

/// The help pages of every command and subcommand: (command words, the page at `columns` columns).
fn every_page(columns: usize) -> Vec<(String, String)> {
    let page = |args: &[&str]| {
        let out = Command::cargo_bin("custody")
            .unwrap()
            .args(args)
            .arg("--help")
            .env("COLUMNS", columns.to_string())
            .env("LINES", "50")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let top = page(&[]);
    let commands = listed_commands(&top);
    let mut pages = vec![(String::new(), top)];
    for c in commands {
        pages.push((c.clone(), page(&[&c])));
    }
    for sub in ["role", "key"] {
        pages.push((format!("policy {sub}"), page(&["policy", sub])));
    }
    pages
}

/// An example line is at most 80 columns (a longer command is continued with ` \`), so that
/// clap never wraps it at 100 columns and it can be copied as it is; and no line of any help page is
/// wider than the terminal.
#[test]
fn help_examples_never_wrap() {
    const WIDTH: usize = 100;
    let mut examples = 0;
    for (command, text) in every_page(WIDTH) {
        let mut in_examples = false;
        let mut continued = false;
        for line in text.lines() {
            let width = line.chars().count();
            assert!(width <= WIDTH, "`custody {command} --help`: {width} columns:\n{line}");
            if line.starts_with("Example") {
                in_examples = true;
                continue;
            }
            if line.is_empty() {
                in_examples = false;
                continue;
            }
            if !in_examples {
                continue;
            }
            examples += 1;
            assert!(width <= 80, "`custody {command} --help`: example of {width} columns:\n{line}");
            let body = line.trim_start();
            // Each line is a command, a comment, or the continuation of a command that ended in ` \`.
            assert!(
                body.starts_with("custody ") || body.starts_with('#') || continued,
                "`custody {command} --help`: an example was wrapped:\n{line}\n\n{text}"
            );
            continued = line.ends_with(" \\");
        }
    }
    assert!(examples >= 10, "{examples} example lines");
}

/// `custody completions SHELL` writes a script the shell recognises, naming custody's commands;
/// bash's is checked by `bash -n` when bash is installed.
#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef custody"), ("fish", "complete -c custody")] {
        let out = Command::cargo_bin("custody").unwrap().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: no `{marker}`:\n{script}");
        for command in ["acquire", "collect", "check", "triage", "completions"] {
            assert!(script.contains(command), "{shell}: no `{command}`");
        }
        if shell == "bash" {
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), &script).unwrap();
            match std::process::Command::new("bash").arg("-n").arg(file.path()).output() {
                Ok(check) => assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr)),
                Err(e) => eprintln!("bash not run ({e}): the bash script is checked for its marker only"),
            }
        }
    }
    let out = Command::cargo_bin("custody").unwrap().args(["completions", "powershell"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bash, zsh, fish"));
}

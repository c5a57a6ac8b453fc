//! Every command's `--help` speaks the user's language: no product-document number ("seed 004",
//! "option 2"), no section of the repository's own notes ("map §5.2"), no internal tag ("SILENT").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use assert_cmd::Command;

fn help(args: &[&str]) -> String {
    let out = Command::cargo_bin("custody").unwrap().args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn no_help_text_names_an_internal_document() {
    let top = help(&[]);
    let commands: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 12, "{commands:?}");
    let mut pages = vec![(String::new(), top.clone())];
    for c in &commands {
        pages.push((c.to_string(), help(&[c])));
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

//! `scripts/windows.ps1`, as custody sends it (prelude included), read by a PowerShell grammar
//! (tree-sitter-powershell). No PowerShell runs on this Linux machine, so this is the check that can
//! run here: the script parses with no error or missing token, it uses no PowerShell 7 syntax, and
//! every command it calls is one of its own functions or ships with Windows.
//!
//! AWS-RunPowerShellScript runs the commands with the instance's Windows PowerShell (5.1 on current
//! Windows Server AMIs), so nothing newer may be used ("AWS-RunPowerShellScript",
//! <https://docs.aws.amazon.com/systems-manager/latest/userguide/documents-command-ssm-plugin-reference.html#aws-runpowershellscript>;
//! the pipeline chain operators `&&` and `||` are PowerShell 7 only, "about_Pipeline_Chain_Operators",
//! <https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_pipeline_chain_operators>).
//! Running the script on Windows is not covered here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use custody_triage::script::{prepare, MemoryTarget, Platform};
use std::collections::BTreeSet;
use tree_sitter::{Node, Parser, Tree};

/// Commands the script may call besides its own functions, each shipped with Windows Server 2016 and
/// later: the modules Microsoft.PowerShell.Utility, .Management and .Diagnostics, CimCmdlets, NetTCPIP
/// and ScheduledTasks, and `rundll32.exe` (with comsvcs.dll's MiniDump, the memory dump).
const SHIPPED_WITH_WINDOWS: &[&str] = &[
    // Microsoft.PowerShell.Utility
    "Format-Table",
    "Get-Date",
    "Get-FileHash",
    "Out-Null",
    "Out-String",
    "Select-Object",
    "Select-String",
    "Sort-Object",
    "Start-Sleep",
    "Where-Object",
    "Write-Output",
    // Microsoft.PowerShell.Management
    "Get-Content",
    "Get-ChildItem",
    "Get-Item",
    "Get-ItemProperty",
    "Get-Process",
    "Get-Service",
    "Join-Path",
    "Remove-Item",
    "Test-Path",
    // Microsoft.PowerShell.Core
    "ForEach-Object",
    "Get-Command",
    // Microsoft.PowerShell.Diagnostics
    "Get-WinEvent",
    // CimCmdlets
    "Get-CimInstance",
    // NetTCPIP
    "Get-NetTCPConnection",
    "Get-NetUDPEndpoint",
    // ScheduledTasks
    "Get-ScheduledTask",
    // Windows itself (C:\Windows\System32): rundll32.exe runs comsvcs.dll's MiniDump; netstat.exe and
    // schtasks.exe are the fallbacks when the NetTCPIP and ScheduledTasks modules are missing;
    // quser.exe lists the sessions.
    "rundll32.exe",
    "netstat",
    "quser",
    "schtasks",
];

fn parse(source: &str) -> Tree {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_powershell::LANGUAGE.into()).unwrap();
    parser.parse(source, None).unwrap()
}

/// Every node of `tree`, depth first.
fn nodes(tree: &Tree) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        out.push(node);
        let mut cursor = node.walk();
        stack.extend(node.children(&mut cursor));
    }
    out
}

/// The syntax errors of `source`, as `line:column kind text`.
fn syntax_errors(source: &str) -> Vec<String> {
    let tree = parse(source);
    nodes(&tree)
        .into_iter()
        .filter(|n| n.is_error() || n.is_missing())
        .map(|n| {
            let at = n.start_position();
            let what = if n.is_missing() { format!("missing {}", n.kind()) } else { "error".to_string() };
            let text = n.utf8_text(source.as_bytes()).unwrap_or("").lines().next().unwrap_or("").to_string();
            format!("{}:{} {what} `{text}`", at.row + 1, at.column + 1)
        })
        .collect()
}

/// The texts of the nodes of `kind`.
fn texts(source: &str, kind: &str) -> BTreeSet<String> {
    let tree = parse(source);
    nodes(&tree)
        .into_iter()
        .filter(|n| n.kind() == kind)
        .map(|n| n.utf8_text(source.as_bytes()).unwrap().to_string())
        .collect()
}

/// The script as custody sends it: the prelude's lines, then the script's, joined by newlines (the
/// agent writes the `commands` into one script file that way).
fn sent(memory: Option<(&MemoryTarget, u64)>) -> String {
    prepare(Platform::Windows, "0123456789abcdef", memory).commands.join("\n")
}

#[test]
fn the_windows_script_parses_with_and_without_a_memory_target() {
    let lsass = MemoryTarget::parse("lsass").unwrap();
    for source in [sent(None), sent(Some((&lsass, 256 << 20)))] {
        assert_eq!(syntax_errors(&source), Vec::<String>::new());
    }
}

#[test]
fn the_check_finds_syntax_errors() {
    // Without these, a grammar that accepted anything would pass the test above.
    for broken in [
        "function Begin-Section($name) { Write-Output \"$name\"",
        "if ($x -eq 1 { 'one' }",
        "try { Get-Date } catch { 'x' ",
        "$a = @{ Key = 'value'",
    ] {
        assert!(!syntax_errors(broken).is_empty(), "{broken}");
    }
}

#[test]
fn the_windows_script_uses_no_powershell_7_syntax() {
    assert_eq!(texts(&sent(None), "pipeline_chain_tail"), BTreeSet::new(), "`&&` or `||` between pipelines");
    assert!(!texts("Get-Date && Get-Date", "pipeline_chain_tail").is_empty(), "the check sees `&&`");
}

#[test]
fn every_command_is_a_function_of_the_script_or_ships_with_windows() {
    let source = sent(None);
    let own = texts(&source, "function_name");
    assert!(own.contains("Begin-Section") && own.contains("Collect"), "{own:?}");
    let unknown: Vec<String> = texts(&source, "command_name")
        .into_iter()
        .filter(|c| !own.iter().any(|f| f.eq_ignore_ascii_case(c)))
        .filter(|c| !SHIPPED_WITH_WINDOWS.iter().any(|s| s.eq_ignore_ascii_case(c)))
        .collect();
    assert_eq!(unknown, Vec::<String>::new(), "commands that neither the script defines nor Windows ships");
    assert!(texts("Install-Module Foo", "command_name").contains("Install-Module"), "the check sees commands");
}

//! The triage section of `custody show`: each command sent through SSM Run Command, with its status
//! and where its output went, and under it every artifact fetched, with its SHA-256 and size.

use super::TriageRecords;
use custody_plan::text::Safe;
use std::fmt::Write as _;

/// Appends the section; nothing when the case has no triage (an acquisition-only case reads as
/// before). Every value goes through `Safe`: the instance answered some of them (the status details,
/// an output location, an artifact's name).
pub(super) fn render(out: &mut String, t: &TriageRecords) {
    if t.commands.is_empty() && t.artifacts.is_empty() {
        return;
    }
    let _ = writeln!(out, "\ntriage ({} command(s), {} artifact(s))", t.commands.len(), t.artifacts.len());
    for c in &t.commands {
        let code = c.response_code.map(|n| format!(", response code {n}")).unwrap_or_default();
        let details = c
            .status_details
            .as_deref()
            .filter(|d| *d != c.status)
            .map(|d| format!(" ({})", Safe(d)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {} {}: {}{details}{code}",
            Safe(&c.instance_id),
            Safe(&c.kind),
            Safe(&c.document),
            Safe(&c.status)
        );
        let _ = writeln!(out, "      command   {}", Safe(&c.command_id));
        let _ = writeln!(out, "      script    {} sha256 {}", Safe(&c.script_version), Safe(&c.script_sha256));
        let _ = writeln!(
            out,
            "      output    {}",
            Safe(c.output_location.as_deref().unwrap_or("inline (GetCommandInvocation)"))
        );
        let _ = writeln!(out, "      sent      {}, last status {}", Safe(&c.sent_at), Safe(&c.updated_at));
        for a in t.artifacts.iter().filter(|a| a.command_id == c.command_id && a.instance_id == c.instance_id) {
            artifact(out, a);
        }
    }
    let orphans: Vec<_> = t
        .artifacts
        .iter()
        .filter(|a| !t.commands.iter().any(|c| c.command_id == a.command_id && c.instance_id == a.instance_id))
        .collect();
    if !orphans.is_empty() {
        let _ = writeln!(out, "  artifacts of commands not recorded");
        for a in orphans {
            artifact(out, a);
        }
    }
}

fn artifact(out: &mut String, a: &custody_journal::triage::TriageArtifact) {
    let _ = writeln!(out, "      artifact  {}: {} bytes, sha256 {}", Safe(&a.name), a.bytes, Safe(&a.sha256));
    let _ = writeln!(out, "                at {}", Safe(&a.location));
    let mut notes = Vec::new();
    if a.detail.get("truncated").and_then(serde_json::Value::as_bool) == Some(true) {
        notes.push("the inline output was cut at 24,000 characters".to_string());
    }
    if let Some(missing) = a.detail.get("missing").and_then(serde_json::Value::as_array).filter(|m| !m.is_empty()) {
        let names: Vec<&str> = missing.iter().filter_map(serde_json::Value::as_str).collect();
        notes.push(format!("sections missing: {}", Safe(&names.join(", "))));
    }
    if a.detail.get("all_verified").and_then(serde_json::Value::as_bool) == Some(false) {
        notes.push("memory regions not all verified".to_string());
    }
    for n in notes {
        let _ = writeln!(out, "                ! {n}");
    }
}

//! The preflight report, in four formats: text for the terminal, JSON (the whole [`CheckReport`]),
//! Markdown for tickets and pull requests, and a self-contained HTML page (inline CSS, no scripts, no
//! external resources; every string from the inventory or the plan is escaped).
//!
//! Every format shows each step with ✓ (pass), ✗ (fail) or ? (unknown) and its title; under a step
//! that does not pass, each request that is not allowed, why in words (the statement that denies, the
//! permission that is missing, the statement that came closest, what is unknown), then its fixes.
//!
//! Every value goes through [`crate::text`] on its way into the text (one line each: a value cannot
//! start a line that passes for the report's), Markdown and HTML escape it for their syntax and
//! show its control characters as escapes too, and JSON keeps it exact.

pub(crate) mod changes;
mod html;
mod markdown;

use crate::check::fix::{ChangeAction, Fix};
use crate::check::{CheckReport, Outcome, RequestCheck, StepCheck, StepOutcome};
use crate::text::{safe_lines, Safe};
use std::fmt::Write as _;
use std::str::FromStr;

pub use changes::{fixed_requests_line, FixRefs};
pub use html::{escape as html_escape, html};
pub use markdown::markdown;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Html,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "md" | "markdown" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            _ => Err(format!("`{s}` is not a format: expected text, json, md or html")),
        }
    }
}

/// Renders `report` in `format`.
pub fn render(report: &CheckReport, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => json(report),
        Format::Markdown => markdown(report),
        Format::Html => html(report),
    }
}

/// The whole report as pretty-printed JSON.
pub fn json(report: &CheckReport) -> String {
    // Strings, numbers, vectors and maps with string keys: serializing cannot fail.
    let mut out = serde_json::to_string_pretty(report).unwrap_or_default();
    out.push('\n');
    out
}

/// ✓, ✗, ⊘ (blocked) or ?.
pub fn step_mark(outcome: StepOutcome) -> &'static str {
    match outcome {
        StepOutcome::Pass => "✓",
        StepOutcome::Fail => "✗",
        StepOutcome::Blocked => "⊘",
        StepOutcome::Unknown => "?",
    }
}

/// For a blocked step, one sentence: what it waits for.
pub fn blocked_line(step: &StepCheck) -> Option<String> {
    (step.outcome == StepOutcome::Blocked).then(|| {
        let steps = step.blocked_by.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
        format!("blocked: it rests on what step {steps} creates, and that step is refused; fix it first")
    })
}

/// For a step that rests on a grant or key an earlier step makes, one sentence: that KMS may take
/// minutes to propagate it, and what the executor does about it.
pub fn propagation_line(step: &StepCheck) -> Option<String> {
    if step.waits_for.is_empty() {
        return None;
    }
    let what: Vec<String> =
        step.waits_for.iter().map(|p| format!("{} (step `{}`)", p.awaited.describe(), p.made_by)).collect();
    let probed = step.waits_for.iter().any(|p| matches!(p.awaited, crate::plan::Awaited::Grant { .. }));
    Some(format!(
        "waits for KMS to propagate {} (usually under five minutes: {}): {}a copy that fails meanwhile is made again, \
         for up to {} minutes",
        what.join(" and "),
        crate::plan::KMS_EVENTUAL_CONSISTENCY,
        if probed { "probed with DescribeKey as the grantee first; " } else { "" },
        crate::plan::PROPAGATION_WINDOW_SECS / 60
    ))
}

/// ✓, ✗ or ?.
pub fn request_mark(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Allowed => "✓",
        Outcome::Denied => "✗",
        Outcome::Unknown => "?",
    }
}

/// The one-line result.
pub fn summary_line(report: &CheckReport) -> String {
    let s = &report.summary;
    let blocked = if s.blocked > 0 { format!(", {} blocked", s.blocked) } else { String::new() };
    format!(
        "{} passed, {} failed{blocked}, {} unknown (of {} steps); requests: {} allowed, {} denied, {} unknown; \
         {} documented by AWS, {} inferred",
        s.passed,
        s.failed,
        s.unknown,
        report.steps.len(),
        s.requests_allowed,
        s.requests_denied,
        s.requests_unknown,
        s.requests_documented,
        s.requests_inferred
    )
}

/// What a step's requests rest on that AWS does not document: one line per reason, naming the
/// requests it covers by resource (`inferred for kms:Decrypt, kms:ReEncryptFrom on arn:…: …`).
pub fn inference_lines(step: &StepCheck) -> Vec<String> {
    // reason → [(resource, [actions])], in the order the requests come.
    type ActionsOn<'a> = Vec<(&'a str, Vec<&'a str>)>;
    let mut by_reason: Vec<(&str, ActionsOn<'_>)> = Vec::new();
    for r in &step.requests {
        let Some(reason) = r.inferred.as_deref() else { continue };
        let at = match by_reason.iter().position(|(why, _)| *why == reason) {
            Some(i) => i,
            None => {
                by_reason.push((reason, Vec::new()));
                by_reason.len() - 1
            }
        };
        let resources = &mut by_reason[at].1;
        match resources.iter_mut().find(|(res, _)| *res == r.resource) {
            Some((_, actions)) if !actions.contains(&r.action.as_str()) => actions.push(&r.action),
            Some(_) => {}
            None => resources.push((&r.resource, vec![&r.action])),
        }
    }
    by_reason
        .into_iter()
        .map(|(why, resources)| {
            let what: Vec<String> =
                resources.iter().map(|(res, actions)| format!("{} on {res}", actions.join(", "))).collect();
            format!("inferred for {}: {why}", what.join("; "))
        })
        .collect()
}

/// What a request's outcome rests on, as labelled sentences: `denied by`, `refused`, `closest`,
/// `unknown`, `on what is known`, `allowed by`, `note`.
pub fn reasons(r: &RequestCheck) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(k) = &r.key_state {
        out.push(("key state", k.clone()));
    }
    let Some(x) = &r.explanation else {
        out.extend(r.unknown.iter().map(|u| ("unknown", u.clone())));
        return out;
    };
    let statement = |policy: &str, statement: Option<usize>, sid: &Option<String>| {
        let origin = r.sources.get(policy).cloned().unwrap_or_else(|| policy.to_string());
        let sid = sid.as_ref().map(|s| format!(" (Sid `{s}`)")).unwrap_or_default();
        match statement {
            Some(i) => format!("statement {i}{sid} of {origin}"),
            None => format!("{origin}{sid}"),
        }
    };
    match r.outcome {
        Outcome::Allowed => {
            for d in &r.deciding {
                let sid = d.sid.as_ref().map(|s| format!(" (Sid `{s}`)")).unwrap_or_default();
                let at = d.statement.map(|i| format!("statement {i}{sid} of ")).unwrap_or_default();
                out.push(("allowed by", format!("{at}{}", d.origin)));
            }
        }
        Outcome::Denied if x.decision == "explicitDeny" => {
            for d in &r.deciding {
                let sid = d.sid.as_ref().map(|s| format!(" (Sid `{s}`)")).unwrap_or_default();
                let at = d.statement.map(|i| format!("the Deny statement {i}{sid} of ")).unwrap_or_default();
                out.push(("denied by", format!("{at}{}", d.origin)));
            }
        }
        Outcome::Denied => {
            if let Some(g) = &x.gate {
                out.push(("refused", g.message.clone()));
            }
            for m in &x.near_misses {
                let rest = m.message.find(" would allow ").map(|i| &m.message[i..]).unwrap_or_default();
                out.push(("closest", format!("{}{rest}", statement(&m.policy, Some(m.statement), &m.sid))));
            }
            out.extend(x.notes.iter().map(|n| ("note", n.clone())));
        }
        Outcome::Unknown => {
            out.extend(r.unknown.iter().map(|u| ("unknown", u.clone())));
            out.push(("on what is known", x.summary.clone()));
        }
    }
    out
}

/// How to apply one change, in words.
pub fn change_heading(c: &crate::check::fix::Change) -> String {
    let at = c.statement.map(|i| format!("statement {i} of ")).unwrap_or_default();
    match c.action {
        ChangeAction::AddStatement => format!("add this statement to {}", c.target),
        ChangeAction::ReplaceStatement => format!("replace {at}{} with", c.target),
        ChangeAction::ReplaceGrant => format!("create {} with these fields instead", c.target),
        ChangeAction::ChangeDeny => format!("change or remove {at}{}", c.target),
        ChangeAction::RunCommand => format!("run {}", c.target),
        ChangeAction::CustodyCreatesGrant => format!("custody creates this grant: {}", c.target),
    }
}

/// The fix kind as serialized (`corrected-condition`).
pub fn fix_kind(f: &Fix) -> String {
    serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// Whether the fix was re-evaluated, and the warning of a fix too broad to offer beside another.
pub fn fix_verdict(f: &Fix) -> String {
    match (&f.risk, f.verified) {
        (Some(why), _) => format!("WARNING, nothing narrower works: {why}; re-evaluated: allowed"),
        (None, true) => "re-evaluated: allowed".into(),
        (None, false) => "not an automatic fix".into(),
    }
}

/// What a fix gives beyond the refused request, a line per addition.
pub fn addition_lines(f: &Fix) -> Vec<String> {
    if !f.verified {
        return Vec::new();
    }
    if f.adds.is_empty() {
        return vec!["nothing beyond this request".into()];
    }
    f.adds
        .iter()
        .map(|a| {
            let when = a.when.as_ref().map(|w| format!(" when {w}")).unwrap_or_default();
            let needed = if a.needed_by_plan.is_empty() {
                String::new()
            } else if a.needed_by_plan.len() == a.actions.len() {
                " (the plan needs all of it anyway)".to_string()
            } else {
                format!(" (the plan needs {} anyway)", a.needed_by_plan.join(", "))
            };
            format!("{} may also {} on {}{when}{needed}", a.principal, a.actions.join(", "), a.resources.join(", "))
        })
        .collect()
}

/// Pretty JSON with policy elements (and grant fields) in the order AWS documentation writes them,
/// other keys after them in alphabetical order; two-space indentation.
pub fn pretty_json(v: &serde_json::Value) -> String {
    crate::json_order::pretty(v)
}

/// The steps that do not pass.
pub fn troubled(report: &CheckReport) -> impl Iterator<Item = &StepCheck> {
    report.steps.iter().filter(|s| s.outcome != StepOutcome::Pass)
}

/// The readable report.
pub fn text(report: &CheckReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "custody check: instance {} (case {})", Safe(&report.instance_id), Safe(&report.case_id));
    let _ = writeln!(
        o,
        "  from account {} {} to account {} {}",
        Safe(&report.source_account),
        Safe(&report.source_region),
        Safe(&report.dest_account),
        Safe(&report.dest_region)
    );
    if !report.changes.is_empty() {
        let _ = writeln!(o, "{}:", changes::heading(report));
        for (n, c) in report.changes.iter().enumerate() {
            let f = &c.fix;
            let _ =
                writeln!(o, "  change {} [{}; {}]: {}", n + 1, fix_kind(f), Safe(&fix_verdict(f)), Safe(&f.summary));
            let _ = writeln!(o, "    fixes: {}", Safe(&fixed_requests_line(c)));
            text_fix_body(&mut o, f, "    ");
        }
    }
    if !report.volumes.is_empty() {
        let _ = writeln!(o, "volumes:");
        for v in &report.volumes {
            let _ = writeln!(o, "  {}  path {}: {}", Safe(&v.volume_id), v.path, Safe(&v.reason));
        }
    }
    let _ = writeln!(o, "steps:");
    let mut refs = FixRefs::new(report);
    for step in &report.steps {
        let _ = writeln!(o, "  {} {}  {}", step_mark(step.outcome), Safe(&step.id), Safe(&step.title));
        if let Some(line) = propagation_line(step) {
            let _ = writeln!(o, "      {}", Safe(&line));
        }
        for line in inference_lines(step) {
            let _ = writeln!(o, "      {}", Safe(&line));
        }
        if step.outcome == StepOutcome::Pass {
            continue;
        }
        if let Some(line) = blocked_line(step) {
            let _ = writeln!(o, "      {}", Safe(&line));
        }
        for r in step.requests.iter().filter(|r| r.outcome != Outcome::Allowed) {
            text_request(&mut o, r, &step.id, &mut refs);
        }
    }
    let _ = writeln!(o, "result: {}", summary_line(report));
    // Every value was escaped above; this catches one a later edit forgets.
    safe_lines(&o).into_owned()
}

fn text_request<'a>(o: &mut String, r: &'a RequestCheck, step: &str, refs: &mut FixRefs<'a>) {
    let _ = writeln!(
        o,
        "      {} {} on {}  (call {})",
        request_mark(r.outcome),
        Safe(&r.action),
        Safe(&r.resource),
        Safe(&r.call)
    );
    let _ = writeln!(o, "        as {}", Safe(&r.principal));
    for (label, line) in reasons(r) {
        let _ = writeln!(o, "        {label}: {}", Safe(&line));
    }
    for (n, f) in r.fixes.iter().enumerate() {
        let _ = writeln!(o, "        fix {} [{}; {}]: {}", n + 1, fix_kind(f), Safe(&fix_verdict(f)), Safe(&f.summary));
        match refs.refer(f, || format!("fix {} of {} in step `{step}`", n + 1, r.action)) {
            Some(shown) => {
                let _ = writeln!(o, "          the same change as {}", Safe(&shown));
            }
            None => text_fix_body(o, f, "          "),
        }
    }
    if let Some(n) = &r.no_fix {
        let _ = writeln!(o, "        {}", Safe(n));
    }
    for n in &r.not_offered {
        let _ = writeln!(o, "        not offered: {}", Safe(n));
    }
}

/// A fix's why, what it adds and its changes (JSON or command), each line indented by `pad`.
fn text_fix_body(o: &mut String, f: &Fix, pad: &str) {
    let _ = writeln!(o, "{pad}why: {}", Safe(&f.reason));
    for line in addition_lines(f) {
        let _ = writeln!(o, "{pad}adds: {}", Safe(&line));
    }
    for c in &f.changes {
        let _ = writeln!(o, "{pad}{}:", Safe(&change_heading(c)));
        for cc in &c.conditions {
            let list = |v: &[String]| v.iter().map(|x| format!("`{}`", Safe(x))).collect::<Vec<_>>().join(", ");
            let _ = writeln!(
                o,
                "{pad}  (condition `{}` on `{}`: was {}; now {})",
                Safe(&cc.operator),
                Safe(&cc.key),
                list(&cc.was),
                list(&cc.now)
            );
        }
        // A command or a policy is several lines: each line is one value (a `\r` in it is shown, not
        // obeyed).
        if let Some(cmd) = &c.command {
            for line in cmd.trim_end_matches('\n').split('\n') {
                let _ = writeln!(o, "{pad}  {}", Safe(line));
            }
        } else if let Some(j) = &c.json {
            for line in pretty_json(j).split('\n') {
                let _ = writeln!(o, "{pad}  {}", Safe(line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_written_in_the_documentation_order() {
        let v = serde_json::json!({"Resource": "*", "Action": ["kms:Decrypt"], "Sid": "S", "Effect": "Allow", "Condition": {}, "x": []});
        assert_eq!(
            pretty_json(&v),
            "{\n  \"Sid\": \"S\",\n  \"Effect\": \"Allow\",\n  \"Action\": [\n    \"kms:Decrypt\"\n  ],\n  \"Resource\": \"*\",\n  \"Condition\": {},\n  \"x\": []\n}"
        );
    }
}

//! The audit as text (the terminal), Markdown, self-contained HTML, or JSON. The three human forms
//! are written from one outline ([`outline`]), so they say the same things. Every string from AWS or
//! the journal is made safe for where it goes: control and bidi characters escaped
//! ([`custody_plan::text`]), HTML escaped, Markdown in code spans.

use crate::model::*;
use custody_plan::report::html_escape as esc;
use custody_plan::text::{is_hazard, safe};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The human forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Html,
}

/// The audit as JSON (pretty, with a trailing newline).
pub fn json(audit: &Audit) -> String {
    let mut s = serde_json::to_string_pretty(audit).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// The audit in `format`.
pub fn render(audit: &Audit, format: Format) -> String {
    let o = outline(audit);
    match format {
        Format::Text => text(&o),
        Format::Markdown => markdown(&o),
        Format::Html => html(&o),
    }
}

/// One section of the report.
struct Section {
    title: String,
    /// How many events or calls it holds (rows may group several).
    count: usize,
    /// What the section holds, in one sentence.
    about: &'static str,
    rows: Vec<Row>,
}

/// One line of a section, with the lines under it.
struct Row {
    mark: &'static str,
    /// `ok`, `alarm`, `note`: how the HTML colours it.
    class: &'static str,
    text: String,
    details: Vec<String>,
}

fn row(mark: &'static str, class: &'static str, text: String, details: Vec<String>) -> Row {
    Row { mark, class, text, details }
}

struct Outline {
    title: String,
    verdict: String,
    clean: bool,
    reasons: Vec<String>,
    notes: Vec<String>,
    sections: Vec<Section>,
}

fn event_line(e: &EventSummary) -> String {
    let mut s = format!("event {} at {} in {} {}", e.event_id, e.event_time, e.account, e.region);
    if let Some(code) = &e.error_code {
        let _ = write!(s, ", refused: {code}");
    }
    s
}

fn event_details(e: &EventSummary) -> Vec<String> {
    let mut d = Vec::new();
    if let Some(p) = &e.principal {
        d.push(format!("by {p}{}", e.invoked_by.as_deref().map(|s| format!(" through {s}")).unwrap_or_default()));
    }
    if let Some(id) = &e.request_id {
        d.push(format!("request id {id}"));
    }
    if let Some(m) = &e.error_message {
        d.push(format!("AWS said: {m}"));
    }
    d
}

fn decision_lines(label: &str, d: &Decision) -> Vec<String> {
    let mut out = vec![format!("{label}: {} — {}", d.outcome, d.explanation)];
    out.extend(d.fixes.iter().map(|f| format!("fix: {f}")));
    out
}

fn outline(a: &Audit) -> Outline {
    let mut sections = Vec::new();

    let mut rows = Vec::new();
    for s in &a.sources {
        match &s.error {
            Some(e) => rows.push(row("✗", "alarm", format!("{}: not read", s.name), vec![e.clone()])),
            None => rows.push(row("·", "note", format!("{}: {} event(s)", s.name, s.events), vec![])),
        }
    }
    sections.push(Section {
        title: "Where the events come from".into(),
        count: rows.len(),
        about: "CloudTrail's record, as read.",
        rows,
    });

    let rows: Vec<Row> = a
        .journaled
        .iter()
        .map(|c| {
            let (mark, class, what) = match c.status {
                CallStatus::Recorded => ("✓", "ok", "recorded"),
                CallStatus::RecordedWithoutRequestId => ("✓", "ok", "recorded (matched by API, role and time)"),
                CallStatus::NotRecorded => ("✗", "alarm", "NOT RECORDED"),
                CallStatus::NoRequestId => ("?", "note", "no request id journaled and no event found"),
            };
            let mut details: Vec<String> = Vec::new();
            if let Some(id) = &c.request_id {
                details.push(format!("request id {id}"));
            }
            for e in &c.events {
                details.push(event_line(e));
            }
            let text = format!(
                "#{} {} in {} {} ({}, step {}): {what}",
                c.entry_id, c.api, c.account, c.region, c.outcome, c.step_id
            );
            row(mark, class, text, details)
        })
        .collect();
    sections.push(Section {
        title: "1. Journaled and recorded".into(),
        count: rows.len(),
        about: "Each call custody journaled, matched to CloudTrail's event by request id.",
        rows,
    });

    // Alarms one by one; expected calls grouped by API and reason (a run polls DescribeSnapshots
    // dozens of times).
    let mut rows: Vec<Row> = a
        .unjournaled
        .iter()
        .filter(|u| u.expected.is_none())
        .map(|u| {
            let mut details = event_details(&u.event);
            details.insert(
                0,
                "custody did not make this call: someone else used the case's identity, or the journal missed it"
                    .into(),
            );
            row("✗", "alarm", format!("{} — {}", u.event.action, event_line(&u.event)), details)
        })
        .collect();
    let mut expected: BTreeMap<(&str, &str), Vec<&EventSummary>> = BTreeMap::new();
    for u in &a.unjournaled {
        if let Some(why) = &u.expected {
            expected.entry((u.event.action.as_str(), why.as_str())).or_default().push(&u.event);
        }
    }
    for ((action, why), events) in expected {
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        rows.push(row(
            "·",
            "note",
            format!("{action} ×{} — expected: {why}", events.len()),
            vec![format!("events {}", ids.join(", "))],
        ));
    }
    sections.push(Section {
        title: "2. Recorded, not journaled".into(),
        count: a.unjournaled.len(),
        about: "Calls by the case's sessions and roles that match no journaled call.",
        rows,
    });

    let mut rows = Vec::new();
    for m in &a.service_calls.matched {
        let p = &m.prediction;
        let mut details = vec![format!("predicted for {} ({}): {}", p.call, p.step_id, p.why)];
        if let Some(i) = &p.inferred {
            details.push(format!("custody inferred it: {i}"));
        }
        details.extend(m.events.iter().map(event_line));
        rows.push(row("✓", "ok", format!("{} on {} — predicted and seen", p.action, p.key_arn), details));
    }
    for u in &a.service_calls.unpredicted {
        let mut details = event_details(&u.event);
        if let Some(d) = &u.decision {
            details.extend(decision_lines("custody's engine would decide", d));
        } else {
            details
                .push("not decided: the journal has no inventory for this case (acquired by an older custody)".into());
        }
        details.push(format!("report to send in: {}", serde_json::to_string(&u.report).unwrap_or_default()));
        rows.push(row(
            "✗",
            "alarm",
            format!("{} — SEEN, NOT PREDICTED: {}", u.event.action, event_line(&u.event)),
            details,
        ));
    }
    for p in &a.service_calls.unseen {
        let mut details = vec![format!("predicted for {} ({}): {}", p.call, p.step_id, p.why)];
        if let Some(i) = &p.inferred {
            details.push(format!("custody inferred it: {i}"));
        }
        details.push(format!("source: {}", p.source));
        rows.push(row("·", "note", format!("{} on {} — predicted, never seen", p.action, p.key_arn), details));
    }
    sections.push(Section {
        title: "3. Service calls on custody's behalf".into(),
        count: rows.len(),
        about: "KMS calls a service made as custody's identity, held against the requests the plan predicted.",
        rows,
    });

    let rows: Vec<Row> = a
        .refusals
        .iter()
        .map(|r| {
            let mut details = event_details(&r.event);
            match (&r.request, &r.preflight) {
                (Some(q), Some(d)) => {
                    details.push(format!("the preflight's request: {q}"));
                    details.extend(decision_lines("the preflight said", d));
                }
                _ => details.push("the plan has no request for it (see the sets above)".into()),
            }
            let contradicted = r.preflight.as_ref().is_some_and(|d| d.outcome == "allowed");
            let (mark, class) = if contradicted { ("✗", "alarm") } else { ("·", "note") };
            row(mark, class, format!("{} — {}", r.event.action, event_line(&r.event)), details)
        })
        .collect();
    sections.push(Section {
        title: "Refusals".into(),
        count: rows.len(),
        about: "Requests AWS refused, with the preflight's words for the same request.",
        rows,
    });

    let verdict = if a.verdict.clean {
        "every journaled call is recorded, and nothing unexplained appears".to_string()
    } else {
        format!("{} thing(s) to look at", a.verdict.reasons.len())
    };
    let mut notes = a.verdict.notes.clone();
    notes.push(format!(
        "window {} to {}; {} event(s) outside the case not shown",
        a.window.start, a.window.end, a.unrelated_events
    ));
    Outline {
        title: format!("Audit of case {}", a.case_id),
        verdict,
        clean: a.verdict.clean,
        reasons: a.verdict.reasons.clone(),
        notes,
        sections,
    }
}

fn text(o: &Outline) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", safe(&o.title));
    let _ = writeln!(s, "{}: {}", if o.clean { "CLEAN" } else { "NOT CLEAN" }, safe(&o.verdict));
    for r in &o.reasons {
        let _ = writeln!(s, "  ✗ {}", safe(r));
    }
    for n in &o.notes {
        let _ = writeln!(s, "  · {}", safe(n));
    }
    for sec in &o.sections {
        let _ = writeln!(s, "\n{} ({})", safe(&sec.title), sec.count);
        let _ = writeln!(s, "  {}", sec.about);
        if sec.rows.is_empty() {
            let _ = writeln!(s, "  (none)");
        }
        for r in &sec.rows {
            let _ = writeln!(s, "  {} {}", r.mark, safe(&r.text));
            for d in &r.details {
                let _ = writeln!(s, "      {}", safe(d));
            }
        }
    }
    s
}

/// `text` as a Markdown code span, whatever backticks it holds.
fn code(text: &str) -> String {
    let clean: String = text.chars().map(|c| if is_hazard(c) || c == '\n' { ' ' } else { c }).collect();
    let longest = clean.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    format!("{fence} {clean} {fence}")
}

fn markdown(o: &Outline) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", code(&o.title));
    let _ = writeln!(s, "**{}**: {}\n", if o.clean { "Clean" } else { "Not clean" }, code(&o.verdict));
    for r in &o.reasons {
        let _ = writeln!(s, "- ✗ {}", code(r));
    }
    for n in &o.notes {
        let _ = writeln!(s, "- {}", code(n));
    }
    for sec in &o.sections {
        let _ = writeln!(s, "\n## {} ({})\n\n{}\n", sec.title, sec.count, sec.about);
        if sec.rows.is_empty() {
            let _ = writeln!(s, "None.");
        }
        for r in &sec.rows {
            let _ = writeln!(s, "- {} {}", r.mark, code(&r.text));
            for d in &r.details {
                let _ = writeln!(s, "  - {}", code(d));
            }
        }
    }
    s
}

const STYLE: &str = "\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}code{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace}
ul{padding-left:1.2rem}li.row{margin:.4rem 0}li.alarm>.t{color:#cf222e;font-weight:600}li.ok>.m{color:#1a7f37}
li.note>.m{color:#57606a}.d{color:#57606a;font-size:13px;word-break:break-all}
.verdict{border-radius:6px;color:#fff;font-size:1.15rem;font-weight:700;margin:1rem 0;padding:.7rem 1rem}
.verdict.pass{background:#1a7f37}.verdict.fail{background:#cf222e}
";

fn html(o: &Outline) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        esc(&o.title),
        esc(&o.title)
    );
    let _ = writeln!(s, "<div class=\"verdict {}\">{}</div>", if o.clean { "pass" } else { "fail" }, esc(&o.verdict));
    let _ = writeln!(s, "<ul>");
    for r in &o.reasons {
        let _ = writeln!(s, "<li class=\"row alarm\"><span class=\"t\">{}</span></li>", esc(r));
    }
    for n in &o.notes {
        let _ = writeln!(s, "<li class=\"row note\">{}</li>", esc(n));
    }
    let _ = writeln!(s, "</ul>");
    for sec in &o.sections {
        let _ = writeln!(s, "<h2>{} ({})</h2>\n<p>{}</p>\n<ul>", esc(&sec.title), sec.count, esc(sec.about));
        for r in &sec.rows {
            let _ = write!(
                s,
                "<li class=\"row {}\"><span class=\"m\">{}</span> <span class=\"t\">{}</span>",
                r.class,
                r.mark,
                esc(&r.text)
            );
            if !r.details.is_empty() {
                let _ = write!(s, "<ul>");
                for d in &r.details {
                    let _ = write!(s, "<li class=\"d\"><code>{}</code></li>", esc(d));
                }
                let _ = write!(s, "</ul>");
            }
            let _ = writeln!(s, "</li>");
        }
        let _ = writeln!(s, "</ul>");
    }
    let _ = writeln!(s, "</body></html>");
    s
}

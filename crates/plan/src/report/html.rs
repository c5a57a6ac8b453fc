//! The report as one self-contained HTML page: inline CSS, no scripts, no external resources (a
//! Content-Security-Policy says so to the browser too), every string from the inventory or the plan
//! escaped, its control and bidi characters shown as escapes ([`crate::text`]). The steps table carries `data-steps` and one `<tr class="step …">` per step, which
//! `scripts/check-html-report` counts in the DOM a headless browser renders.

use super::{
    addition_lines, change_heading, changes, fix_kind, fix_verdict, fixed_requests_line, pretty_json, reasons,
    request_mark, step_mark, summary_line, FixRefs,
};
use crate::check::fix::Fix;
use crate::check::{CheckReport, Outcome, RequestCheck, StepCheck, StepOutcome};
use crate::text::{is_hazard, write_escape};
use std::fmt::Write as _;

const STYLE: &str = "\
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}h3{font-size:1.05rem}
code,pre{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.6rem;overflow:auto}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
.mark{font-weight:bold;width:1.5rem;text-align:center}
.pass .mark,.allowed .mark{color:#1a7f37}.fail .mark,.denied .mark{color:#cf222e}.unknown .mark{color:#9a6700}.blocked .mark{color:#8250df}
.summary{font-weight:600}.request{border-left:4px solid #d0d7de;margin:.8rem 0;padding:.2rem .8rem}
.request.denied{border-color:#cf222e}.request.unknown{border-color:#d4a72c}
.fix{background:#f6fff8;border:1px solid #aceebb;border-radius:6px;margin:.5rem 0;padding:.3rem .8rem}
.fix.unverified{background:#fff8f6;border-color:#ffcecb}.fix.risky{background:#fff8c5;border-color:#d4a72c}.label{color:#57606a}
.verdict{border-radius:6px;color:#fff;font-size:1.15rem;font-weight:700;margin:1rem 0;padding:.7rem 1rem}
.verdict.pass{background:#1a7f37}.verdict.fail{background:#cf222e}.verdict.unknown{background:#9a6700}
.provenance{color:#57606a;font-size:13px}.same{color:#57606a;font-style:italic}
";

/// Escapes text for HTML element content and attribute values. A control or bidi character is
/// written as its escape (`\u{202e}`): a bidi override would reorder the page, and a raw ESC would
/// drive the terminal of whoever reads the file with `cat`. Line breaks and tabs stay (in `<pre>`
/// they are meant; elsewhere they are white space).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if is_hazard(c) => {
                let _ = write_escape(&mut out, c);
            }
            c => out.push(c),
        }
    }
    out
}

fn class(outcome: StepOutcome) -> &'static str {
    match outcome {
        StepOutcome::Pass => "pass",
        StepOutcome::Fail => "fail",
        StepOutcome::Blocked => "blocked",
        StepOutcome::Unknown => "unknown",
    }
}

fn request_class(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Allowed => "allowed",
        Outcome::Denied => "denied",
        Outcome::Unknown => "unknown",
    }
}

/// A stable `id` attribute for a step (ids may hold `:` and anything else).
fn anchor(s: &StepCheck) -> String {
    let mut out = String::from("step-");
    out.extend(s.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }));
    out
}

/// The report as a self-contained HTML page.
pub fn html(report: &CheckReport) -> String {
    let mut o = String::new();
    html_head(&mut o, report);
    html_verdict(&mut o, report);
    html_changes(&mut o, report);
    html_volumes(&mut o, report);
    html_steps(&mut o, report);
    html_requests(&mut o, report);
    let _ = writeln!(o, "</body>\n</html>");
    o
}

/// The document's head, the title and where the report comes from.
fn html_head(o: &mut String, report: &CheckReport) {
    let title = format!("custody check: {} (case {})", report.instance_id, report.case_id);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = writeln!(o, "<h1>custody check: <code>{}</code></h1>", escape(&report.instance_id));
    let _ = writeln!(
        o,
        "<p>Case <code>{}</code>, from account <code>{}</code> {} to account <code>{}</code> {}.</p>",
        escape(&report.case_id),
        escape(&report.source_account),
        escape(&report.source_region),
        escape(&report.dest_account),
        escape(&report.dest_region)
    );
    if let Some(p) = &report.provenance {
        let _ = writeln!(
            o,
            "<p class=\"provenance\">custody {} · generated {} UTC · inventory <code>{}</code>, SHA-256 <code>{}</code> · case <code>{}</code></p>",
            escape(&p.custody_version),
            escape(&p.generated_at),
            escape(&p.inventory),
            escape(&p.inventory_sha256),
            escape(&report.case_id)
        );
    }
}

/// The verdict banner and the summary line.
fn html_verdict(o: &mut String, report: &CheckReport) {
    let (verdict, banner) = if report.all_pass() {
        ("pass", "PASS: every step would be allowed".to_string())
    } else if report.summary.failed > 0 {
        let fixes = match report.changes.len() {
            0 => String::new(),
            1 => ": make the change below".to_string(),
            n => format!(": make the {n} changes below"),
        };
        ("fail", format!("REFUSED: {} of {} steps would fail{fixes}", report.summary.failed, report.steps.len()))
    } else {
        ("unknown", "UNDECIDED: what the inventory does not say leaves steps unknown".to_string())
    };
    let _ = writeln!(o, "<div class=\"verdict {verdict}\" id=\"verdict\">{}</div>", escape(&banner));
    let _ = writeln!(o, "<p class=\"summary {verdict}\" id=\"summary\">{}</p>", escape(&summary_line(report)));
}

/// The changes to make, each with the requests it fixes.
fn html_changes(o: &mut String, report: &CheckReport) {
    if !report.changes.is_empty() {
        let _ = writeln!(
            o,
            "<h2>Changes to make</h2>\n<p>{}.</p>\n<ol class=\"changes\">",
            escape(&changes::heading(report))
        );
        for c in &report.changes {
            let f = &c.fix;
            let _ = writeln!(
                o,
                "<li class=\"{}\"><p><strong>{}</strong> ({}; {})</p><p><span class=\"label\">fixes:</span> {}</p>",
                fix_class(f),
                prose(&f.summary),
                escape(&fix_kind(f)),
                prose(&fix_verdict(f)),
                prose(&fixed_requests_line(c))
            );
            html_fix_body(o, f);
            let _ = writeln!(o, "</li>");
        }
        let _ = writeln!(o, "</ol>");
    }
}

/// The path of each volume, and why.
fn html_volumes(o: &mut String, report: &CheckReport) {
    if !report.volumes.is_empty() {
        let _ = writeln!(o, "<h2>Volumes</h2>\n<table class=\"volumes\">\n<thead><tr><th>volume</th><th>path</th><th>why</th></tr></thead>\n<tbody>");
        for v in &report.volumes {
            let _ = writeln!(
                o,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                escape(&v.volume_id),
                escape(&v.path.to_string()),
                escape(&v.reason)
            );
        }
        let _ = writeln!(o, "</tbody>\n</table>");
    }
}

/// One row per step.
fn html_steps(o: &mut String, report: &CheckReport) {
    let _ = writeln!(
        o,
        "<h2>Steps</h2>\n<table class=\"steps\" data-steps=\"{}\">\n<thead><tr><th></th><th>step</th><th>title</th><th>requests</th></tr></thead>\n<tbody>",
        report.steps.len()
    );
    for s in &report.steps {
        let allowed = s.requests.iter().filter(|r| r.outcome == Outcome::Allowed).count();
        let _ = writeln!(
            o,
            "<tr class=\"step {}\"><td class=\"mark\">{}</td><td><a href=\"#{}\"><code>{}</code></a></td><td>{}</td><td>{allowed}/{} allowed</td></tr>",
            class(s.outcome),
            step_mark(s.outcome),
            anchor(s),
            escape(&s.id),
            escape(&s.title),
            s.requests.len()
        );
    }
    let _ = writeln!(o, "</tbody>\n</table>\n<h2>Requests</h2>");
}

/// Every request of every step, the allowed ones folded away.
fn html_requests(o: &mut String, report: &CheckReport) {
    let mut refs = FixRefs::new(report);
    for s in &report.steps {
        let _ = writeln!(
            o,
            "<section class=\"{}\" id=\"{}\">\n<h3><span class=\"mark\">{}</span> <code>{}</code> {}</h3>",
            class(s.outcome),
            anchor(s),
            step_mark(s.outcome),
            escape(&s.id),
            escape(&s.title)
        );
        if let Some(line) = crate::report::blocked_line(s) {
            let _ = writeln!(o, "<p class=\"blocked-by\">{}</p>", escape(&line));
        }
        if let Some(line) = crate::report::propagation_line(s) {
            let _ = writeln!(o, "<p class=\"waits-for\">{}</p>", escape(&line));
        }
        for line in crate::report::inference_lines(s) {
            let _ = writeln!(o, "<p class=\"inferred\">{}</p>", escape(&line));
        }
        let (troubled, fine): (Vec<&RequestCheck>, Vec<&RequestCheck>) =
            s.requests.iter().partition(|r| r.outcome != Outcome::Allowed);
        for r in troubled {
            html_request(o, r, &s.id, &mut refs);
        }
        if !fine.is_empty() {
            let _ = writeln!(o, "<details><summary>{} allowed request(s)</summary>", fine.len());
            for r in fine {
                html_request(o, r, &s.id, &mut refs);
            }
            let _ = writeln!(o, "</details>");
        }
        let _ = writeln!(o, "</section>");
    }
}

fn html_request<'a>(o: &mut String, r: &'a RequestCheck, step: &str, refs: &mut FixRefs<'a>) {
    let _ = writeln!(
        o,
        "<div class=\"request {}\"><p><span class=\"mark\">{}</span> <code>{}</code> on <code>{}</code> (call <code>{}</code>), as <code>{}</code></p>",
        request_class(r.outcome),
        request_mark(r.outcome),
        escape(&r.action),
        escape(&r.resource),
        escape(&r.call),
        escape(&r.principal)
    );
    let _ = writeln!(o, "<ul>");
    let _ = writeln!(o, "<li><span class=\"label\">why AWS evaluates it:</span> {}</li>", escape(&r.why));
    match &r.inferred {
        Some(why) => {
            let _ = writeln!(o, "<li><span class=\"label\">inferred:</span> {}</li>", escape(why));
        }
        None => {
            let _ = writeln!(o, "<li><span class=\"label\">documented:</span> {}</li>", link(&r.page));
        }
    }
    for (label, line) in reasons(r) {
        let _ = writeln!(o, "<li><span class=\"label\">{label}:</span> {}</li>", prose(&line));
    }
    if let Some(n) = &r.no_fix {
        let _ = writeln!(o, "<li>{}</li>", escape(n));
    }
    for n in &r.not_offered {
        let _ = writeln!(o, "<li><span class=\"label\">not offered:</span> {}</li>", prose(n));
    }
    let _ = writeln!(o, "</ul>");
    for (n, f) in r.fixes.iter().enumerate() {
        let _ = writeln!(
            o,
            "<div class=\"{}\"><p><strong>Fix {}</strong> ({}; {}): {}</p>",
            fix_class(f),
            n + 1,
            escape(&fix_kind(f)),
            prose(&fix_verdict(f)),
            prose(&f.summary)
        );
        match refs.refer(f, || format!("fix {} of {} in step {step}", n + 1, r.action)) {
            Some(shown) => {
                let _ = writeln!(o, "<p class=\"same\">the same change as {}</p>", prose(&shown));
            }
            None => html_fix_body(o, f),
        }
        let _ = writeln!(o, "</div>");
    }
    let _ = writeln!(o, "</div>");
}

fn fix_class(f: &Fix) -> &'static str {
    match (&f.risk, f.verified) {
        (Some(_), _) => "fix risky",
        (None, true) => "fix",
        (None, false) => "fix unverified",
    }
}

/// A fix's why, what it adds and its changes (JSON and commands as code).
fn html_fix_body(o: &mut String, f: &Fix) {
    let _ = writeln!(o, "<p><span class=\"label\">why:</span> {}</p>", prose(&f.reason));
    for line in addition_lines(f) {
        let _ = writeln!(o, "<p><span class=\"label\">adds:</span> {}</p>", prose(&line));
    }
    for c in &f.changes {
        let _ = writeln!(o, "<p>{}:</p>", escape(&change_heading(c)));
        let body = match (&c.command, &c.json) {
            (Some(cmd), _) => cmd.clone(),
            (None, Some(j)) => pretty_json(j),
            (None, None) => continue,
        };
        let _ = writeln!(o, "<pre><code>{}</code></pre>", escape(&body));
    }
}

/// Escaped prose, with the `code spans` it quotes (values, ids, condition keys) shown as code: a
/// pair of backticks becomes `<code>`; a lone backtick stays as it is.
fn prose(text: &str) -> String {
    let escaped = escape(text);
    let parts: Vec<&str> = escaped.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escaped;
    }
    let mut out = String::with_capacity(escaped.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Escaped text, a link when it is one AWS documentation page.
fn link(text: &str) -> String {
    if text.starts_with("https://docs.aws.amazon.com/") && !text.contains(char::is_whitespace) {
        format!("<a href=\"{0}\">{0}</a>", escape(text))
    } else {
        escape(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn prose_shows_backtick_pairs_as_code_and_escapes_inside_them() {
        assert_eq!(prose("let `a<b` accept `c`"), "let <code>a&lt;b</code> accept <code>c</code>");
        assert_eq!(prose("a lone ` stays"), "a lone ` stays");
    }

    #[test]
    fn escape_shows_control_and_bidi_characters() {
        assert_eq!(
            escape("a\u{1b}[2J\u{202e}b\u{9b}\r\0\u{7f}\n\tc é"),
            "a\\u{1b}[2J\\u{202e}b\\u{9b}\\r\\u{0}\\u{7f}\n\tc é"
        );
    }
}

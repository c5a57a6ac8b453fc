//! The report as GitHub-flavoured Markdown. Text from the inventory and the plan is escaped (inline
//! HTML included), and code blocks are fenced with more backticks than they contain. Control and
//! bidi characters are shown as escapes ([`crate::text`]), in code as in text, so that `cat` of the
//! file cannot drive a terminal and a rendered page cannot reorder what it shows.

use super::{
    addition_lines, change_heading, changes, fix_kind, fix_verdict, fixed_requests_line, pretty_json, reasons,
    request_mark, step_mark, summary_line, troubled, FixRefs,
};
use crate::check::fix::Fix;
use crate::check::{CheckReport, Outcome, RequestCheck};
use crate::text::{is_hazard, safe, safe_lines, write_escape};
use std::fmt::Write as _;

/// Escapes text for Markdown: the characters that start emphasis, code, links, tables or HTML.
pub fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push(' '),
            // Shown as `\u{1b}`: its backslash escaped so Markdown prints it.
            c if is_hazard(c) => {
                out.push('\\');
                let _ = write_escape(&mut out, c);
            }
            c => out.push(c),
        }
    }
    out
}

/// An inline code span that survives any backticks in `s`; `|` escaped for tables (GitHub's
/// tables take `\|` inside a code span too), control characters shown as escapes.
fn md_code(s: &str) -> String {
    let s = safe(&s.replace('\n', " ")).replace('|', "\\|");
    let fence = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A fenced code block, control characters shown as escapes.
fn md_block(o: &mut String, indent: &str, lang: &str, body: &str) {
    let body = safe_lines(body);
    let body = body.as_ref();
    let fence = "`".repeat((longest_run(body, '`') + 1).max(3));
    let _ = writeln!(o, "{indent}{fence}{lang}");
    for line in body.lines() {
        let _ = writeln!(o, "{indent}{line}");
    }
    let _ = writeln!(o, "{indent}{fence}");
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for x in s.chars() {
        run = if x == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// The report in Markdown.
pub fn markdown(report: &CheckReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# custody check: {} (case {})\n", md_code(&report.instance_id), md_code(&report.case_id));
    let _ = writeln!(
        o,
        "From account {} {} to account {} {}. **{}**\n",
        md_code(&report.source_account),
        md_code(&report.source_region),
        md_code(&report.dest_account),
        md_code(&report.dest_region),
        md_text(&summary_line(report))
    );
    if let Some(p) = &report.provenance {
        let _ = writeln!(
            o,
            "custody {} · generated {} UTC · inventory {}, SHA-256 {} · case {}\n",
            md_text(&p.custody_version),
            md_text(&p.generated_at),
            md_code(&p.inventory),
            md_code(&p.inventory_sha256),
            md_code(&report.case_id)
        );
    }
    if !report.changes.is_empty() {
        let _ = writeln!(o, "## Changes to make\n\n{}.\n", md_text(&changes::heading(report)));
        for (n, c) in report.changes.iter().enumerate() {
            let f = &c.fix;
            let _ = writeln!(
                o,
                "{}. **{}** ({}; {})",
                n + 1,
                md_text(&f.summary),
                md_text(&fix_kind(f)),
                md_text(&fix_verdict(f))
            );
            let _ = writeln!(o, "    - fixes: {}", md_text(&fixed_requests_line(c)));
            md_fix_body(&mut o, f);
        }
        o.push('\n');
    }
    if !report.volumes.is_empty() {
        let _ = writeln!(o, "## Volumes\n\n| volume | path | why |\n|---|---|---|");
        for v in &report.volumes {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                md_code(&v.volume_id),
                md_text(&v.path.to_string()),
                md_text(&v.reason)
            );
        }
        o.push('\n');
    }
    let _ = writeln!(o, "## Steps\n\n| | step | title | requests |\n|---|---|---|---|");
    for s in &report.steps {
        let allowed = s.requests.iter().filter(|r| r.outcome == Outcome::Allowed).count();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {allowed}/{} allowed |",
            step_mark(s.outcome),
            md_code(&s.id),
            md_text(&s.title),
            s.requests.len()
        );
    }
    let mut first = true;
    for s in &report.steps {
        let lines = crate::report::inference_lines(s);
        if lines.is_empty() {
            continue;
        }
        if first {
            let _ = writeln!(o, "\n## What rests on inference\n");
            first = false;
        }
        for line in lines {
            let _ = writeln!(o, "- {}: {}", md_code(&s.id), md_text(&line));
        }
    }
    let mut first = true;
    let mut refs = FixRefs::new(report);
    for s in troubled(report) {
        if first {
            let _ = writeln!(o, "\n## Steps that do not pass");
            first = false;
        }
        let _ = writeln!(o, "\n### {} {} — {}\n", step_mark(s.outcome), md_code(&s.id), md_text(&s.title));
        if let Some(line) = crate::report::blocked_line(s) {
            let _ = writeln!(o, "{}\n", md_text(&line));
        }
        for r in s.requests.iter().filter(|r| r.outcome != Outcome::Allowed) {
            md_request(&mut o, r, &s.id, &mut refs);
        }
    }
    o
}

fn md_request<'a>(o: &mut String, r: &'a RequestCheck, step: &str, refs: &mut FixRefs<'a>) {
    let _ = writeln!(
        o,
        "- **{} {}** on {} (call {}), as {}",
        request_mark(r.outcome),
        md_code(&r.action),
        md_code(&r.resource),
        md_code(&r.call),
        md_code(&r.principal)
    );
    for (label, line) in reasons(r) {
        let _ = writeln!(o, "  - {label}: {}", md_text(&line));
    }
    for (n, f) in r.fixes.iter().enumerate() {
        let _ = writeln!(
            o,
            "  - **Fix {}** ({}; {}): {}",
            n + 1,
            md_text(&fix_kind(f)),
            md_text(&fix_verdict(f)),
            md_text(&f.summary)
        );
        match refs.refer(f, || format!("fix {} of {} in step {step}", n + 1, r.action)) {
            Some(shown) => {
                let _ = writeln!(o, "    - the same change as {}", md_text(&shown));
            }
            None => md_fix_body(o, f),
        }
    }
    if let Some(n) = &r.no_fix {
        let _ = writeln!(o, "  - {}", md_text(n));
    }
    for n in &r.not_offered {
        let _ = writeln!(o, "  - not offered: {}", md_text(n));
    }
}

/// A fix's why, what it adds and its changes, as sub-items of a list item.
fn md_fix_body(o: &mut String, f: &Fix) {
    let _ = writeln!(o, "    - why: {}", md_text(&f.reason));
    for line in addition_lines(f) {
        let _ = writeln!(o, "    - adds: {}", md_text(&line));
    }
    for c in &f.changes {
        let _ = writeln!(o, "    - {}:\n", md_text(&change_heading(c)));
        if let Some(cmd) = &c.command {
            md_block(o, "      ", "sh", cmd);
        } else if let Some(j) = &c.json {
            md_block(o, "      ", "json", &pretty_json(j));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_text_and_code_cannot_break_out() {
        assert_eq!(md_text("<script>*x*|"), "&lt;script&gt;\\*x\\*\\|");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x"), "`` `x ``");
        let mut o = String::new();
        md_block(&mut o, "", "json", "```\nx");
        assert!(o.starts_with("````json\n"), "{o}");
    }

    #[test]
    fn markdown_shows_control_and_bidi_characters_as_escapes() {
        assert_eq!(md_text("a\u{1b}[2J\u{202e}b\rc\nd"), "a\\\\u{1b}\\[2J\\\\u{202e}b\\\\rc d");
        assert_eq!(md_code("x\u{9b}1m|\u{7}"), "`x\\u{9b}1m\\|\\u{7}`");
        let mut o = String::new();
        md_block(&mut o, "  ", "sh", "echo \u{1b}]8;;http://x\u{7}\r\nls");
        assert_eq!(o, "  ```sh\n  echo \\u{1b}]8;;http://x\\u{7}\\r\n  ls\n  ```\n");
    }
}

//! What `custody cleanup` prints: the summary (or, with `--dry-run`, what is open) and the exit status.

use super::{CaseCleanup, CaseDryRun, CleanupArgs};
use crate::commands::cases::{emit, print_json};
use crate::exit::{CliResult, ExitStatus};
use custody_journal::Status;
use custody_plan::plan::TAG_CASE;
use custody_plan::text::{safe_indented, Safe};
use serde_json::json;
use std::fmt::Write as _;

/// Prints the result of a cleanup; exit 0 when nothing failed, 1 otherwise.
pub(super) fn finish(args: &CleanupArgs, cases: &[CaseCleanup], skipped: &[String]) -> CliResult {
    let removed: usize = cases.iter().map(|c| c.report.removed.len()).sum();
    let failed: usize = cases.iter().map(|c| c.report.failed.len()).sum();
    let skipped_all: Vec<&String> = skipped.iter().chain(cases.iter().flat_map(|c| &c.report.skipped)).collect();
    if args.json {
        let out = json!({
            "dry_run": false,
            "clean": failed == 0,
            "removed": removed,
            "failed": failed,
            "cases": cases,
            "skipped": skipped,
        });
        print_json(&out)?;
    } else {
        emit(&render(cases, skipped, removed, failed, skipped_all.len()));
    }
    Ok(ExitStatus::from_ok(failed == 0))
}

/// The summary; every value (ids, AWS messages) through `Safe`, and `emit` escapes the whole again.
fn render(cases: &[CaseCleanup], skipped: &[String], removed: usize, failed: usize, skipped_count: usize) -> String {
    let mut out = String::new();
    if cases.is_empty() && skipped.is_empty() {
        out.push_str("no cases in the journal: nothing to clean up\n");
        return out;
    }
    for c in cases {
        let role = c.role.as_deref().map(|r| format!(" (as {})", Safe(r))).unwrap_or_default();
        let _ = writeln!(
            out,
            "case {}{role}: removed {}, failed {}",
            Safe(&c.case_id),
            c.report.removed.len(),
            c.report.failed.len()
        );
        for r in &c.report.removed {
            let _ = writeln!(out, "  removed {}", safe_indented(r, "    "));
        }
        for f in &c.report.failed {
            let _ = writeln!(out, "  FAILED {}", safe_indented(f, "    "));
        }
        for r in &c.report.recorded {
            let _ = writeln!(out, "  evidence recorded: {}", safe_indented(r, "    "));
        }
        for s in &c.report.skipped {
            let _ = writeln!(out, "  skipped: {}", safe_indented(s, "    "));
        }
    }
    for s in skipped {
        let _ = writeln!(out, "skipped: {}", safe_indented(s, "  "));
    }
    let _ = writeln!(out, "cleanup: removed {removed}, failed {failed}, skipped {skipped_count}");
    if failed > 0 {
        out.push_str(
            "what failed is still open in the journal: fix the cause above and run `custody cleanup` again \
             (`custody show CASE` lists every resource)\n",
        );
    }
    out
}

/// Prints what a dry run found; exit 0.
pub(super) fn dry_run(args: &CleanupArgs, cases: &[CaseDryRun], skipped: &[String]) -> CliResult {
    let sweep = format!(
        "not run: the search in AWS for what the journal does not know (snapshots tagged {TAG_CASE}=<case>, the \
         case's temporary aliases and keys)"
    );
    if args.json {
        let out = json!({ "dry_run": true, "cases": cases, "skipped": skipped, "aws_sweep": sweep });
        print_json(&out)?;
        return Ok(ExitStatus::Success);
    }
    let mut out = String::from("dry run: nothing is removed and AWS is not called\n");
    if cases.is_empty() && skipped.is_empty() {
        out.push_str("no cases in the journal: nothing to clean up\n");
    }
    for c in cases {
        let role = match (&c.role, &c.role_unknown) {
            (Some(r), _) => format!("would act as {}", Safe(r)),
            (None, Some(why)) => format!("cannot clean up: {}", safe_indented(why, "    ")),
            (None, None) => "role unknown".to_string(),
        };
        let _ = writeln!(
            out,
            "case {} ({}, {role}): {} temporary resource(s) open in the journal",
            Safe(&c.case_id),
            c.status,
            c.open_temporaries.len()
        );
        match c.status {
            Status::Running => {
                let _ = writeln!(
                    out,
                    "  warning: the case is being worked by another custody process: what is open may change until \
                     it ends"
                );
            }
            Status::Interrupted => {
                let _ = writeln!(
                    out,
                    "  warning: the case was interrupted: `custody acquire --resume {0}` finishes it, keeping what \
                     the run made; run it before `custody cleanup --case {0}`",
                    Safe(&c.case_id)
                );
            }
            _ => {}
        }
        for r in &c.open_temporaries {
            let _ = writeln!(
                out,
                "  would remove {} {} ({}, {}){}, created {}",
                r.kind,
                Safe(&r.id),
                Safe(&r.account),
                Safe(&r.region),
                crate::commands::cases::detail_text(&r.detail),
                Safe(&r.created_at)
            );
        }
    }
    for s in skipped {
        let _ = writeln!(out, "skipped: {}", safe_indented(s, "  "));
    }
    let _ = writeln!(out, "{sweep}; run without --dry-run for it");
    emit(&out);
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use custody_acquire::cleanup::CleanupReport;

    #[test]
    fn the_summary_shows_aws_messages_escaped_and_indents_their_further_lines() {
        let case = CaseCleanup {
            case_id: "IR-1".into(),
            role: Some("arn:aws:iam::999999999999:role/CustodyForensic".into()),
            report: CleanupReport {
                removed: vec!["snapshot snap-1".into()],
                failed: vec!["snapshot snap-2: \u{1b}[2Jdenied\nremoved snapshot snap-3\u{202e}".into()],
                ..CleanupReport::default()
            },
        };
        let text = render(&[case], &[], 1, 1, 0);
        assert!(
            text.contains("  FAILED snapshot snap-2: \\u{1b}[2Jdenied\n    removed snapshot snap-3\\u{202e}\n"),
            "{text}"
        );
        assert!(!text.lines().any(|l| l.starts_with("removed snapshot snap-3")), "{text}");
    }
}

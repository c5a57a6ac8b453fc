//! What `custody acquire` prints at the end: the result (progress is [`crate::progress`]'s).

use super::AcquireArgs;
use crate::exit::{write_stdout, CliError, CliResult, ExitStatus};
use custody_acquire::AcquireReport;
use custody_journal::Journal;
use custody_plan::text::{safe_indented, Safe};

/// Prints the result and returns the exit status: 0 all evidence secured, 130 interrupted, 1 else.
pub(crate) fn finish(args: &AcquireArgs, journal: &Journal, report: &AcquireReport) -> CliResult {
    if args.json {
        // A report of strings, numbers and vectors: serializing it cannot fail, short of a bug.
        let text = serde_json::to_string_pretty(report)
            .map_err(|e| CliError::bug("cannot serialize the result").caused_by(&e))?;
        write_stdout(&format!("{text}\n"));
    } else {
        let mut out = render(report);
        if let Some(path) = journal.path() {
            out.push_str(&format!(
                "journal: {} (`custody show {}`)\n",
                Safe(&path.display().to_string()),
                Safe(&report.case_id)
            ));
        }
        write_stdout(&out);
    }
    Ok(match (report.succeeded, report.interrupted) {
        (true, _) => ExitStatus::Success,
        (false, true) => ExitStatus::Interrupted,
        (false, false) => ExitStatus::Failure,
    })
}

/// The result in words, every value through `Safe` (one line each, control characters as escapes).
pub(crate) fn render(report: &AcquireReport) -> String {
    let mut out = String::new();
    let volumes: usize = report.instances.iter().map(|i| i.volumes.len()).sum();
    let secured = report.evidence().len();
    let verdict = if report.succeeded {
        "all evidence secured"
    } else if report.interrupted {
        "INTERRUPTED"
    } else {
        "FAILED"
    };
    out.push_str(&format!(
        "\ncase {}: {verdict} ({secured} of {volumes} volume(s), {} instance(s))\n",
        Safe(&report.case_id),
        report.instances.len()
    ));
    for i in &report.instances {
        if let Some(e) = &i.error {
            out.push_str(&format!("  {}: {}\n", Safe(&i.instance_id), safe_indented(e, "    ")));
        }
        for v in &i.volumes {
            match &v.evidence {
                Some(e) => out.push_str(&format!(
                    "  {} {}{} path {} -> {} in account {} ({}){}\n",
                    Safe(&i.instance_id),
                    Safe(&v.volume_id),
                    e.device.as_deref().map(|d| format!(" ({})", Safe(d))).unwrap_or_default(),
                    Safe(&v.path),
                    Safe(&e.snapshot_id),
                    Safe(&e.account),
                    Safe(&e.region),
                    e.key_arn.as_deref().map(|k| format!(", encrypted under {}", Safe(k))).unwrap_or_default()
                )),
                None => out.push_str(&format!(
                    "  {} {} path {}: not secured: {}\n",
                    Safe(&i.instance_id),
                    Safe(&v.volume_id),
                    Safe(&v.path),
                    safe_indented(v.error.as_deref().unwrap_or("unknown"), "      ")
                )),
            }
            for left in &v.left {
                out.push_str(&format!("    left: {}\n", safe_indented(left, "      ")));
            }
        }
        for n in &i.not_run {
            out.push_str(&format!("  not run: {}\n", Safe(n)));
        }
    }
    let removed: usize = report.instances.iter().flat_map(|i| &i.volumes).map(|v| v.removed.len()).sum();
    let left: usize = report.instances.iter().flat_map(|i| &i.volumes).map(|v| v.left.len()).sum();
    out.push_str(&format!("cleanup: {removed} step(s) done, {left} thing(s) left\n"));
    out
}

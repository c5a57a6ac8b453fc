//! What `custody acquire` prints: progress lines, and the result.

use super::AcquireArgs;
use custody_acquire::{AcquireReport, Event};
use custody_journal::Journal;
use std::process::ExitCode;

/// One progress line.
pub(crate) fn event_line(event: &Event) -> String {
    match event {
        Event::Step { instance, step, title } => format!("[{instance}] {step}: {title}"),
        Event::Reused { instance, step, how } => format!("[{instance}] {step}: already done ({how})"),
        Event::Skipped { instance, step, why } => format!("[{instance}] {step}: skipped: {why}"),
        Event::Waiting { step, snapshot, state } => format!("  {step}: waiting for {snapshot} ({state})"),
        Event::Retrying { step, api, attempt, why } => format!("  {step}: {api} retried (attempt {attempt}): {why}"),
        Event::Removed { what } => format!("  removed {what}"),
        Event::Warning { message } => format!("warning: {message}"),
    }
}

/// Prints the result and returns the exit status: 0 all evidence secured, 130 interrupted, 1 else.
pub(crate) fn finish(args: &AcquireArgs, journal: &Journal, report: &AcquireReport) -> ExitCode {
    if args.json {
        match serde_json::to_string_pretty(report) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: cannot serialize the result: {e}"),
        }
    } else {
        print!("{}", render(report));
        if let Some(path) = journal.path() {
            println!("journal: {} (`custody show {}`)", path.display(), report.case_id);
        }
    }
    match (report.succeeded, report.interrupted) {
        (true, _) => ExitCode::SUCCESS,
        (false, true) => ExitCode::from(130),
        (false, false) => ExitCode::from(1),
    }
}

/// The result in words.
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
        report.case_id,
        report.instances.len()
    ));
    for i in &report.instances {
        if let Some(e) = &i.error {
            out.push_str(&format!("  {}: {e}\n", i.instance_id));
        }
        for v in &i.volumes {
            match &v.evidence {
                Some(e) => out.push_str(&format!(
                    "  {} {}{} path {} -> {} in account {} ({}){}\n",
                    i.instance_id,
                    v.volume_id,
                    e.device.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(),
                    v.path,
                    e.snapshot_id,
                    e.account,
                    e.region,
                    e.key_arn.as_deref().map(|k| format!(", encrypted under {k}")).unwrap_or_default()
                )),
                None => out.push_str(&format!(
                    "  {} {} path {}: not secured: {}\n",
                    i.instance_id,
                    v.volume_id,
                    v.path,
                    v.error.as_deref().unwrap_or("unknown")
                )),
            }
            for left in &v.left {
                out.push_str(&format!("    left: {left}\n"));
            }
        }
        for n in &i.not_run {
            out.push_str(&format!("  not run: {n}\n"));
        }
    }
    let removed: usize = report.instances.iter().flat_map(|i| &i.volumes).map(|v| v.removed.len()).sum();
    let left: usize = report.instances.iter().flat_map(|i| &i.volumes).map(|v| v.left.len()).sum();
    out.push_str(&format!("cleanup: {removed} step(s) done, {left} thing(s) left\n"));
    out
}

//! The text of `custody cases` and `custody show`.
//!
//! What the journal holds came from the inventory, AWS answers and the examiner's arguments: every
//! value is shown through `Safe` (control and bidi characters as escapes, one line each), before the
//! table measures its width.

use super::{CaseDetail, CaseSummary};
use custody_journal::{AcquisitionRecord, Entry, Evidence, Outcome, ResourceRecord, Status};
use custody_plan::plan::Path as AcquisitionPath;
use custody_plan::text::{safe, safe_indented, Safe};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

/// The table of cases, newest first, and the journal it was read from.
pub(crate) fn cases_table(cases: &[CaseSummary], journal: Option<&Path>) -> String {
    let place = journal.map(|p| safe(&p.display().to_string()).into_owned()).unwrap_or_default();
    if cases.is_empty() {
        return format!("no cases in the journal {place}\n");
    }
    let header =
        ["CASE", "STATUS", "CREATED (UTC)", "EXAMINER", "DESTINATION", "INSTANCES", "EVIDENCE", "OPEN TEMPORARIES"];
    let rows: Vec<[String; 8]> = cases
        .iter()
        .map(|c| {
            [
                safe(&c.case_id).into_owned(),
                if c.simulated { format!("{} (simulated)", c.status) } else { c.status.to_string() },
                safe(&short_time(&c.created_at)).into_owned(),
                c.examiner.as_deref().map(|e| safe(e).into_owned()).unwrap_or_else(|| "-".to_string()),
                format!("{}:{}", Safe(&c.destination_account), Safe(&c.destination_region)),
                c.instances.to_string(),
                match c.discarded {
                    0 => c.evidence.to_string(),
                    n => format!("{} (+{n} discarded)", c.evidence),
                },
                c.open_temporaries.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            // The counts are right-aligned under their headers.
            if i >= 5 {
                out.push_str(&format!("{cell:>w$}"));
            } else {
                out.push_str(&format!("{cell:<w$}"));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = String::new();
    out.push_str(&line(&header.map(str::to_string)));
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row));
        out.push('\n');
    }
    let open: usize = cases.iter().map(|c| c.open_temporaries).sum();
    let _ = writeln!(out, "\n{} case(s) in {place}; `custody show CASE` tells one", cases.len());
    let simulated = cases.iter().filter(|c| c.simulated).count();
    if simulated > 0 {
        let _ = writeln!(
            out,
            "{simulated} case(s) simulated: dry runs against the simulated cloud (`--simulate`); nothing in AWS was touched \
             and their evidence does not exist"
        );
    }
    let interrupted = cases.iter().filter(|c| c.status == Status::Interrupted).count();
    if interrupted > 0 {
        let _ = writeln!(
            out,
            "{interrupted} case(s) interrupted: `custody acquire --resume CASE` finishes one, keeping what its run made; \
             run it before `custody cleanup --case CASE`"
        );
    }
    if open > 0 {
        let _ = writeln!(
            out,
            "{open} temporary resource(s) still open: `custody cleanup --case CASE --dry-run` lists them"
        );
    }
    out
}

/// One case, whole.
pub(crate) fn show(d: &CaseDetail) -> String {
    let c = &d.case;
    let mut out = String::new();
    let _ = writeln!(out, "case {}: {}", Safe(&c.case_id), d.status);
    if c.simulated {
        let _ = writeln!(
            out,
            "  SIMULATED: a dry run against the simulated cloud (`--simulate`); nothing in AWS was touched, and the \
             snapshots, keys and grants below never existed there"
        );
    }
    if d.status == Status::Interrupted && c.status == Status::Running {
        let _ = writeln!(
            out,
            "  the process that was working this case is gone (the journal still records it running): `custody \
             acquire --resume {0}` finishes it, keeping what the run made; run it before `custody cleanup --case {0}`",
            Safe(&c.case_id)
        );
    }
    if let Some(holder) = &d.worked_by {
        let _ = writeln!(out, "  being worked now by {}", Safe(&holder.to_string()));
    }
    let _ = writeln!(out, "  examiner     {}", Safe(c.examiner.as_deref().unwrap_or("-")));
    let _ = writeln!(out, "  destination  account {} ({})", Safe(&c.destination_account), Safe(&c.destination_region));
    if let Some(note) = &c.note {
        let _ = writeln!(out, "  note         {}", Safe(note));
    }
    let _ = writeln!(out, "  created      {}", Safe(&c.created_at));
    let _ = writeln!(out, "  updated      {}", Safe(&c.updated_at));

    let _ = writeln!(out, "\nacquisitions ({})", d.acquisitions.len());
    for a in &d.acquisitions {
        // A run that died mid-way left its acquisitions recorded running, as it left the case.
        let status = if a.status == Status::Running && d.status == Status::Interrupted { d.status } else { a.status };
        acquisition(&mut out, a, status);
    }

    match d.discarded.len() {
        0 => _ = writeln!(out, "\nevidence ({})", d.evidence.len()),
        n => _ = writeln!(out, "\nevidence ({}, {n} of them discarded)", d.evidence.len()),
    }
    if d.evidence.is_empty() {
        out.push_str("  none secured\n");
    }
    for e in &d.evidence {
        evidence(&mut out, e);
        if let Some(when) = d.discarded.get(&e.snapshot_id) {
            let _ = writeln!(out, "    DISCARDED {}: the snapshot no longer exists", Safe(when));
        }
    }

    let _ = writeln!(out, "\njournal ({} call(s), in order)", d.entries.len());
    for (n, e) in d.entries.iter().enumerate() {
        entry(&mut out, n + 1, e);
        let events: Vec<&str> =
            d.cloudtrail_events.iter().filter(|m| m.entry_id == e.id).map(|m| m.event_id.as_str()).collect();
        if !events.is_empty() {
            let _ = writeln!(out, "       CloudTrail event {}", Safe(&events.join(", ")));
        }
    }

    super::triage::render(&mut out, &d.triage);

    let open = d.resources.iter().filter(|r| is_open(r)).count();
    let _ = writeln!(out, "\nresources ({}, {open} temporary still open)", d.resources.len());
    let evidence: BTreeSet<&str> = d.evidence.iter().map(|e| e.snapshot_id.as_str()).collect();
    for r in &d.resources {
        resource(&mut out, r, evidence.contains(r.id.as_str()));
    }
    if open > 0 {
        let _ = writeln!(
            out,
            "\n{open} temporary resource(s) still open: `custody cleanup --case {0} --dry-run` lists them, `custody \
             cleanup --case {0}` removes them",
            Safe(&c.case_id)
        );
    }
    let unanswered = d.entries.iter().filter(|e| e.outcome.is_none()).count();
    if unanswered > 0 {
        let _ = writeln!(
            out,
            "{unanswered} call(s) without an outcome may or may not have taken effect: `custody acquire --resume {}` \
             looks in AWS and carries on",
            Safe(&c.case_id)
        );
    }
    out
}

fn acquisition(out: &mut String, a: &AcquisitionRecord, status: Status) {
    let _ = writeln!(
        out,
        "  {}: {} (started {}, updated {})",
        Safe(&a.instance_id),
        status,
        Safe(&a.started_at),
        Safe(&a.updated_at)
    );
    let text = |pointer: &str| safe(a.plan.pointer(pointer).and_then(Value::as_str).unwrap_or("?")).into_owned();
    if a.plan.get("source_account").is_some() {
        let _ = writeln!(
            out,
            "    from account {} ({}) to account {} ({})",
            text("/source_account"),
            text("/source_region"),
            text("/dest_account"),
            text("/dest_region")
        );
    }
    for v in a.plan.get("volumes").and_then(Value::as_array).into_iter().flatten() {
        let volume = v.get("volume_id").and_then(Value::as_str).unwrap_or("?");
        let path = v
            .get("path")
            .map(|p| match serde_json::from_value::<AcquisitionPath>(p.clone()) {
                Ok(path) => path.to_string(),
                Err(_) => p.as_str().map(str::to_string).unwrap_or_else(|| p.to_string()),
            })
            .unwrap_or_else(|| "?".to_string());
        let _ = writeln!(out, "    {}  path {}", Safe(volume), Safe(&path));
    }
    if let Some(error) = &a.error {
        // The executor joins the errors of several volumes with `; `: one per line reads better.
        for part in
            error.split("; vol-").enumerate().map(|(i, p)| if i == 0 { p.to_string() } else { format!("vol-{p}") })
        {
            let _ = writeln!(out, "    error: {}", safe_indented(&part, "           "));
        }
    }
}

fn evidence(out: &mut String, e: &Evidence) {
    let key = match &e.key_arn {
        Some(k) => format!("encrypted under {}", Safe(k)),
        None => "not encrypted".to_string(),
    };
    let _ = writeln!(
        out,
        "  {} {} -> {} in account {} ({}), path {}, {key}",
        Safe(&e.instance_id),
        Safe(&e.volume_id),
        Safe(&e.snapshot_id),
        Safe(&e.account),
        Safe(&e.region),
        Safe(&e.path)
    );
    let tags: Vec<String> = e.tags.iter().map(|(k, v)| format!("{}={}", Safe(k), Safe(v))).collect();
    let _ = writeln!(
        out,
        "    recorded {}; tags {}",
        Safe(&e.recorded_at),
        if tags.is_empty() { "none".into() } else { tags.join(", ") }
    );
}

fn entry(out: &mut String, n: usize, e: &Entry) {
    let i = &e.intent;
    let role = i.signer.rsplit('/').next().unwrap_or(&i.signer);
    let _ = writeln!(
        out,
        "  {n:>3}. {}  {}  {}  {} in {} ({}) as {}",
        Safe(&e.intended_at),
        Safe(&i.instance_id),
        Safe(&i.step_id),
        Safe(&i.api),
        Safe(&i.account),
        Safe(&i.region),
        Safe(role)
    );
    let outcome = match &e.outcome {
        None => "NO OUTCOME (interrupted while AWS answered)".to_string(),
        Some(Outcome::Ok { result, request_id }) => {
            let mut text = "ok".to_string();
            let details = ok_details(result);
            if !details.is_empty() {
                text.push_str(": ");
                text.push_str(&details.join(", "));
            }
            text + &answered(request_id.as_deref(), e.finished_at.as_deref())
        }
        Some(Outcome::Failed { code, message, request_id }) => {
            let code = code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default();
            format!("FAILED {code}{message}{}", answered(request_id.as_deref(), e.finished_at.as_deref()))
        }
    };
    // An AWS message or a result field can hold anything: escaped, its further lines indented.
    let _ = writeln!(out, "       {}", safe_indented(&outcome, "         "));
}

/// What an `ok` result tells: the ids the call created (`result.resolves`, planned -> real), then any
/// other field as `name value`.
fn ok_details(result: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(fields) = result.as_object() else {
        if !result.is_null() {
            out.push(result.to_string());
        }
        return out;
    };
    if let Some(resolves) = fields.get("resolves").and_then(Value::as_object) {
        for (planned, real) in resolves {
            out.push(format!("{planned} -> {}", real.as_str().map(str::to_string).unwrap_or_else(|| real.to_string())));
        }
    }
    for (name, value) in fields.iter().filter(|(name, _)| name.as_str() != "resolves") {
        out.push(format!("{name} {}", value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string())));
    }
    out
}

/// ` (request …, answered …)`.
fn answered(request_id: Option<&str>, at: Option<&str>) -> String {
    let request = request_id.map(|r| format!("request {r}")).unwrap_or_else(|| "no request id".to_string());
    match at {
        Some(at) => format!(" ({request}, answered {at})"),
        None => format!(" ({request})"),
    }
}

fn is_open(r: &ResourceRecord) -> bool {
    r.temporary && r.removed_at.is_none()
}

fn resource(out: &mut String, r: &ResourceRecord, is_evidence: bool) {
    let role = match (r.temporary, is_evidence) {
        (true, _) => "temporary",
        (false, true) => "evidence",
        (false, false) => "kept",
    };
    let state = match (&r.removed_at, &r.removal) {
        (Some(at), how) => format!("removed {at} ({})", how.as_deref().unwrap_or("how not recorded")),
        (None, _) if r.temporary => "STILL OPEN".to_string(),
        (None, _) => "present".to_string(),
    };
    let _ = writeln!(
        out,
        "  {} {} ({}, {}), {role}{}, created {}: {}",
        r.kind,
        Safe(&r.id),
        Safe(&r.account),
        Safe(&r.region),
        detail(&r.detail),
        Safe(&r.created_at),
        Safe(&state)
    );
}

/// A resource's detail (`volume_id vol-…`, `key_arn …`) in words, `` when empty.
pub(crate) fn detail(detail: &Value) -> String {
    let Some(fields) = detail.as_object().filter(|f| !f.is_empty()) else { return String::new() };
    let parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k} {}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
        .collect();
    format!(" [{}]", safe(&parts.join(", ")))
}

/// `2026-01-01T12:34:56.123456Z` as `2026-01-01 12:34:56` (the table says UTC in its header).
fn short_time(t: &str) -> String {
    match (t.get(..10), t.get(11..19)) {
        (Some(day), Some(time)) => format!("{day} {time}"),
        _ => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_time_drops_the_fraction_and_keeps_odd_text() {
        assert_eq!(short_time("2026-01-01T12:34:56.123456Z"), "2026-01-01 12:34:56");
        assert_eq!(short_time("soon"), "soon");
    }

    #[test]
    fn ok_details_lists_resolved_ids_then_other_fields() {
        let result = json!({"resolves": {"snap-source-1": "snap-1"}, "deletion_date": "2025-01-08T00:00:00Z"});
        assert_eq!(ok_details(&result), vec!["snap-source-1 -> snap-1", "deletion_date 2025-01-08T00:00:00Z"]);
        assert!(ok_details(&json!({})).is_empty());
    }

    #[test]
    fn detail_is_empty_for_an_empty_object() {
        assert_eq!(detail(&json!({})), "");
        assert_eq!(detail(&json!({"volume_id": "vol-1"})), " [volume_id vol-1]");
    }
}

//! Fetching the output of one command: from S3 when there is an output location, else inline;
//! every artifact hashed as it arrived and journaled, then parsed.

use super::{ArtifactReport, CommandReport, Sent, TriageRequest, INLINE_STDOUT_LIMIT};
use crate::aws::{InstanceInfo, TriageAws};
use crate::error::TriageError;
use crate::parse::{parse_collection, parse_memory, SectionStatus};
use custody_journal::triage::TriageArtifact;
use custody_journal::Journal;
use serde_json::json;
use sha2::{Digest, Sha256};

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Fetches, hashes, journals and parses the output of one command. Only a journal error stops it;
/// what AWS answers becomes a warning of this command.
pub(super) async fn fetch(
    aws_api: &dyn TriageAws,
    journal: &Journal,
    req: &TriageRequest,
    instance: &InstanceInfo,
    s: Sent,
) -> Result<CommandReport, TriageError> {
    let mut report = CommandReport {
        kind: s.kind.clone(),
        command_id: s.command_id.clone(),
        document: instance.platform.document().to_string(),
        status: s.invocation.status.clone(),
        status_details: s.invocation.status_details.clone(),
        response_code: s.invocation.response_code,
        output_location: None,
        artifacts: Vec::new(),
        truncated: false,
        collection: None,
        memory: None,
        warnings: Vec::new(),
    };
    if let Some(e) = &s.poll_error {
        report.warnings.push(format!("{} could not be followed (ssm:GetCommandInvocation: {e})", s.kind));
    } else if !s.invocation.is_final() {
        report.warnings.push(format!("{} did not finish within the timeout", s.kind));
    } else if s.invocation.status != "Success" {
        report.warnings.push(format!(
            "{} ended {} ({}), response code {}",
            s.kind,
            s.invocation.status,
            s.invocation.status_details.as_deref().unwrap_or("no details"),
            s.invocation.response_code
        ));
    }
    let record = |name: &str, location: String, bytes: &[u8], detail: serde_json::Value, content: Option<String>| {
        let a = TriageArtifact {
            case_id: req.case_id.clone(),
            command_id: s.command_id.clone(),
            instance_id: instance.id.clone(),
            name: name.to_string(),
            location: location.clone(),
            sha256: sha256(bytes),
            bytes: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            detail,
            content,
            recorded_at: String::new(),
        };
        journal.record_triage_artifact(&a)?;
        Ok::<ArtifactReport, TriageError>(ArtifactReport {
            name: a.name,
            location,
            sha256: a.sha256,
            bytes: bytes.len() as u64,
        })
    };
    // The whole stdout from S3 when there is one; else the inline one.
    let mut stdout: Option<String> = None;
    if let Some(out) = &req.output {
        let prefix = out.command_prefix(&s.command_id, &instance.id);
        report.output_location = Some(format!("s3://{}/{prefix}", out.bucket));
        // An S3 error is this command's (a warning), not the triage's: the other commands are
        // still fetched.
        let keys = match aws_api.list_objects(&out.bucket, &prefix).await {
            Ok(keys) => Some(keys),
            Err(e) => {
                report.warnings.push(format!("s3:ListBucket s3://{}/{prefix}: {e}", out.bucket));
                None
            }
        };
        for key in keys.iter().flatten() {
            let body = match aws_api.get_object(&out.bucket, key).await {
                Ok(body) => body,
                Err(e) => {
                    report.warnings.push(format!("s3:GetObject s3://{}/{key}: {e}", out.bucket));
                    continue;
                }
            };
            let name = key.strip_prefix(&prefix).unwrap_or(key).to_string();
            if name.ends_with("stdout") {
                stdout = Some(String::from_utf8_lossy(&body).into_owned());
            }
            report.artifacts.push(record(&name, format!("s3://{}/{key}", out.bucket), &body, json!({}), None)?);
        }
        if keys.is_some() && stdout.is_none() && s.invocation.is_final() {
            report.warnings.push(format!(
                "no stdout under s3://{}/{prefix}: the SSM agent writes it with the instance profile's role, which \
                 needs s3:PutObject on the bucket; the inline output (at most 24,000 characters) is used instead",
                out.bucket
            ));
        }
    }
    let inline = stdout.is_none();
    let text = stdout.unwrap_or_else(|| s.invocation.stdout.clone());
    report.truncated = inline && s.invocation.stdout.chars().count() >= INLINE_STDOUT_LIMIT;
    if report.truncated {
        report.warnings.push(
            "the inline output was cut at 24,000 characters (GetCommandInvocation returns no more): sections after \
             the cut are missing; pass --output s3://bucket/prefix for the whole collection"
                .into(),
        );
    }
    let detail = if s.memory {
        let dump = parse_memory(&text, &s.prepared.nonce);
        if !dump.all_verified() {
            report.warnings.push(format!(
                "memory: {} region(s) received, {} verified against the instance's SHA-256{}",
                dump.processes.iter().map(|p| p.regions.len()).sum::<usize>(),
                dump.processes.iter().flat_map(|p| &p.regions).filter(|r| r.verified).count(),
                if dump.complete { "" } else { "; the stream is incomplete" }
            ));
        }
        for n in &dump.notes {
            report.warnings.push(format!("memory: {n}"));
        }
        let detail = json!({ "memory": &dump, "all_verified": dump.all_verified() });
        report.memory = Some(dump);
        detail
    } else {
        let c = parse_collection(&text, &s.prepared.nonce);
        if s.invocation.is_final() && !c.missing.is_empty() {
            report.warnings.push(format!("sections missing from the output: {}", c.missing.join(", ")));
        }
        for sec in c.sections.iter().filter(|sec| sec.status == SectionStatus::Unterminated) {
            report.warnings.push(format!("section {} is cut short", sec.name));
        }
        let detail = json!({
            "complete": c.complete,
            "truncated": report.truncated,
            "missing": c.missing,
            "sections": c.sections.iter().map(|sec| json!({"name": sec.name, "status": sec.status, "notes": sec.notes})).collect::<Vec<_>>(),
        });
        report.collection = Some(c);
        detail
    };
    if inline {
        let location = "inline:GetCommandInvocation".to_string();
        report.artifacts.push(record("stdout", location.clone(), text.as_bytes(), detail, Some(text.clone()))?);
        if !s.invocation.stderr.is_empty() {
            let err = s.invocation.stderr.clone();
            report.artifacts.push(record("stderr", location, err.as_bytes(), json!({}), Some(err.clone()))?);
        }
    } else if let Some(a) = report.artifacts.iter().find(|a| a.name.ends_with("stdout")) {
        // The S3 stdout was recorded before it was parsed: record what the parse found beside it.
        let name = format!("{}#parsed", a.name);
        let location = a.location.clone();
        let check = json!({ "of": a.name, "sha256_of": a.sha256, "parse": detail });
        report.artifacts.push(record(&name, location, text.as_bytes(), check, None)?);
    }
    Ok(report)
}

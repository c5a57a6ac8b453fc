//! Fetching the output of one command: from S3 when there is an output location, else inline;
//! every artifact hashed as it arrived and journaled, then parsed.
//!
//! The S3 objects are the instance's to write (its instance profile puts them), so none is trusted
//! to be what it says: at most [`MAX_OBJECTS`] are fetched, each streamed to a file under a cap
//! ([`crate::download`]); exactly one object named `stdout` is parsed, and when the instance wrote
//! more than one, none is (otherwise it could choose what custody reads). The journal records which
//! object was parsed: its key, size, ETag, version and SHA-256 (`<name>#parsed`), or why none was
//! (`stdout#unparsed`). That record, or the inline `stdout`, is the last one written for a command:
//! a resumed triage treats a command that has it as fetched.

use super::{ArtifactReport, CommandReport, Sent, TriageRequest, INLINE_STDOUT_LIMIT};
use crate::download::{file_name, is_safe_id, Download, Downloaded};
use crate::error::TriageError;
use crate::parse::{parse_collection_from, parse_memory_from, Collection, MemoryDump, SectionStatus};
use custody_cloud::triage::{FetchError, InstanceInfo, S3Object, TriageAws};
use custody_journal::triage::TriageArtifact;
use custody_journal::Journal;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// The most objects fetched for one command: the agent writes two (`stdout`, `stderr`).
pub const MAX_OBJECTS: usize = 16;
/// The most keys listed under one command's prefix.
pub const MAX_LISTED: usize = 1000;

/// The name of the final record of a command whose output was not parsed.
pub(super) const UNPARSED: &str = "stdout#unparsed";

/// True for the last record [`fetch`] writes for a command.
pub(super) fn is_final_record(a: &TriageArtifact) -> bool {
    a.name.ends_with("#parsed") || a.name == UNPARSED || (a.name == "stdout" && a.location.starts_with("inline:"))
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The SHA-256 and size of a file, read in pieces; `None` when it cannot be read.
fn hash_file(path: &Path) -> Option<(String, u64)> {
    let mut file = std::fs::File::open(path).ok()?;
    let (mut hasher, mut buf, mut total) = (Sha256::new(), vec![0u8; 64 * 1024], 0u64);
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            return Some((hex::encode(hasher.finalize()), total));
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

/// Which listed object is parsed: the one object named `stdout`, or why there is none to parse.
pub fn choose_stdout(prefix: &str, listed: &[S3Object]) -> Result<Option<usize>, String> {
    let stdouts: Vec<usize> = listed
        .iter()
        .enumerate()
        .filter(|(_, o)| o.key.strip_prefix(prefix).unwrap_or(&o.key).rsplit('/').next() == Some("stdout"))
        .map(|(n, _)| n)
        .collect();
    match stdouts.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(format!(
            "{} objects named stdout under {prefix}; the SSM agent writes one per command, so the instance wrote the \
             others: none was parsed, so that the instance cannot choose what custody reads (all are kept as \
             artifacts)",
            many.len()
        )),
    }
}

/// One object fetched (or refused) for a command.
struct Fetched {
    name: String,
    location: String,
    file: Option<Downloaded>,
    detail: Value,
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
        unparsed: None,
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
    let recorded = journal.triage_artifacts(&req.case_id)?;
    let record = |name: &str, location: &str, sha: &str, bytes: u64, detail: Value, content: Option<String>| {
        let a = TriageArtifact {
            case_id: req.case_id.clone(),
            command_id: s.command_id.clone(),
            instance_id: instance.id.clone(),
            name: name.to_string(),
            location: location.to_string(),
            sha256: sha.to_string(),
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            detail,
            content,
            recorded_at: String::new(),
        };
        journal.record_triage_artifact(&a)?;
        Ok::<ArtifactReport, TriageError>(ArtifactReport {
            name: a.name,
            location: a.location,
            sha256: a.sha256,
            bytes,
        })
    };
    // The whole stdout from S3 when there is one (a file on disk); else the inline one.
    let mut parsed_object: Option<(Fetched, Value)> = None;
    if let Some(out) = &req.output {
        let prefix = out.command_prefix(&s.command_id, &instance.id);
        report.output_location = Some(format!("s3://{}/{prefix}", out.bucket));
        // An S3 error is this command's (a warning), not the triage's: the other commands are
        // still fetched.
        let listed = match aws_api.list_objects(&out.bucket, &prefix, MAX_LISTED).await {
            Ok((listed, more)) => {
                if more {
                    report.warnings.push(format!(
                        "more than {MAX_LISTED} objects under s3://{}/{prefix}: only the first were looked at",
                        out.bucket
                    ));
                }
                Some(listed)
            }
            Err(e) => {
                report.warnings.push(format!("s3:ListBucket s3://{}/{prefix}: {e}", out.bucket));
                None
            }
        };
        let listed = listed.unwrap_or_default();
        let stdout_at = match choose_stdout(&prefix, &listed) {
            // The stdout may be past what was listed, and another one among it.
            Ok(_) if listed.len() >= MAX_LISTED => {
                let why = format!(
                    "more than {MAX_LISTED} objects under {prefix}: the instance wrote them (the SSM agent writes two), \
                     so none was parsed"
                );
                report.unparsed = Some(why.clone());
                report.warnings.push(why);
                None
            }
            Ok(at) => at,
            Err(why) => {
                report.unparsed = Some(why.clone());
                report.warnings.push(why);
                None
            }
        };
        let s3_stdout_seen = stdout_at.is_some() || report.unparsed.is_some();
        if listed.len() > MAX_OBJECTS {
            report.warnings.push(format!(
                "{} objects under s3://{}/{prefix}, more than the SSM agent writes: only {MAX_OBJECTS} were fetched \
                 (the stdout first)",
                listed.len(),
                out.bucket
            ));
        }
        let dir = (is_safe_id(&s.command_id) && is_safe_id(&instance.id))
            .then(|| req.download_dir.join(&s.command_id).join(&instance.id));
        // The stdout first: however many objects the instance adds, they cannot push it out.
        let order = stdout_at.into_iter().chain((0..listed.len()).filter(|n| Some(*n) != stdout_at));
        for (n, object) in order.take(MAX_OBJECTS).map(|n| (n, &listed[n])) {
            let name = object.key.strip_prefix(&prefix).unwrap_or(&object.key).to_string();
            let location = format!("s3://{}/{}", out.bucket, object.key);
            let got = match &dir {
                Some(dir) => {
                    get(aws_api, &recorded, &s.command_id, &instance.id, &out.bucket, object, dir, n, &name, req).await
                }
                None => Err(format!("command `{}`: not an id custody can name a directory after", s.command_id)),
            };
            let fetched = match got {
                Ok((file, detail)) => Fetched { name, location, file: Some(file), detail },
                Err(why) => {
                    report.warnings.push(format!("{location}: {why}"));
                    if stdout_at == Some(n) {
                        let why = format!("the stdout object was not fetched: {why}");
                        report.unparsed = Some(why);
                    }
                    continue;
                }
            };
            if let Some(file) = &fetched.file {
                let detail = fetched.detail.clone();
                report.artifacts.push(record(
                    &fetched.name,
                    &fetched.location,
                    &file.sha256,
                    file.bytes,
                    detail,
                    None,
                )?);
            }
            if stdout_at == Some(n) {
                let detail = json!({
                    "key": object.key, "size_listed": object.size, "etag_listed": object.etag,
                    "etag": fetched.detail["etag"], "version_id": fetched.detail["version_id"],
                });
                parsed_object = Some((fetched, detail));
            }
        }
        if !s3_stdout_seen && s.invocation.is_final() {
            report.warnings.push(format!(
                "no stdout under s3://{}/{prefix}: the SSM agent writes it with the instance profile's role, which \
                 needs s3:PutObject on the bucket; the inline output (at most 24,000 characters) is used instead",
                out.bucket
            ));
        }
    }
    if let Some(why) = report.unparsed.clone() {
        let location = report.output_location.clone().unwrap_or_default();
        report.artifacts.push(record(UNPARSED, &location, &sha256(b""), 0, json!({ "why": why }), None)?);
        return Ok(report);
    }
    if let Some((object, about)) = parsed_object {
        let Some(file) = object.file else { return Ok(report) };
        let detail = match parse_file(&file.path, &s, &mut report) {
            Ok(detail) => detail,
            Err(why) => {
                report.unparsed = Some(why.clone());
                report.warnings.push(why.clone());
                report.artifacts.push(record(
                    UNPARSED,
                    &object.location,
                    &file.sha256,
                    file.bytes,
                    json!({"why": why}),
                    None,
                )?);
                return Ok(report);
            }
        };
        // The object parsed, exactly: what S3 said of it and the hash of the bytes read.
        let check =
            json!({ "of": object.name, "object": about, "sha256": file.sha256, "bytes": file.bytes, "parse": detail });
        let name = format!("{}#parsed", object.name);
        report.artifacts.push(record(&name, &object.location, &file.sha256, file.bytes, check, None)?);
        return Ok(report);
    }
    // Inline: GetCommandInvocation's answer, kept in the journal itself.
    let text = s.invocation.stdout.clone();
    report.truncated = text.chars().count() >= INLINE_STDOUT_LIMIT;
    if report.truncated {
        report.warnings.push(
            "the inline output was cut at 24,000 characters (GetCommandInvocation returns no more): sections after \
             the cut are missing; pass --output s3://bucket/prefix for the whole collection"
                .into(),
        );
    }
    let detail = parse_into(text.as_bytes(), &s, &mut report).unwrap_or_else(|e| json!({ "error": e.to_string() }));
    let location = "inline:GetCommandInvocation";
    if !s.invocation.stderr.is_empty() {
        let err = s.invocation.stderr.clone();
        report.artifacts.push(record(
            "stderr",
            location,
            &sha256(err.as_bytes()),
            err.len() as u64,
            json!({}),
            Some(err),
        )?);
    }
    // Last: the record that says this command was fetched.
    report.artifacts.push(record("stdout", location, &sha256(text.as_bytes()), text.len() as u64, detail, Some(text))?);
    Ok(report)
}

/// Downloads one object into `dir`, or reuses the file an interrupted fetch left when the journal
/// already has its hash and the file still matches it.
#[expect(clippy::too_many_arguments, reason = "one object's parts and where it goes, each named as journaled")]
async fn get(
    aws_api: &dyn TriageAws,
    recorded: &[TriageArtifact],
    command_id: &str,
    instance_id: &str,
    bucket: &str,
    object: &S3Object,
    dir: &Path,
    n: usize,
    name: &str,
    req: &TriageRequest,
) -> Result<(Downloaded, Value), String> {
    let file = file_name(n, name);
    let earlier =
        recorded.iter().find(|a| a.command_id == command_id && a.instance_id == instance_id && a.name == name);
    if let Some(a) = earlier {
        let path: PathBuf = dir.join(&file);
        if let Some((sha, bytes)) = hash_file(&path).filter(|(sha, _)| *sha == a.sha256) {
            return Ok((Downloaded { path, sha256: sha, bytes }, a.detail.clone()));
        }
    }
    let what = format!("s3://{bucket}/{}", object.key);
    let mut to = Download::create(dir, &file, req.max_object_bytes, &what).map_err(|e| e.to_string())?;
    // The listed size is checked first: nothing is downloaded of an object announced over the cap.
    to.announce(object.size).map_err(|e| e.to_string())?;
    let meta = aws_api.get_object(bucket, &object.key, &mut to).await.map_err(|e| match e {
        FetchError::Aws(e) => format!("s3:GetObject: {e}"),
        FetchError::Refused(why) => why,
    })?;
    let done = to.finish().map_err(|e| e.to_string())?;
    let detail = json!({ "file": done.path.display().to_string(), "etag": meta.etag, "version_id": meta.version_id });
    Ok((done, detail))
}

/// Parses the downloaded stdout from its file.
fn parse_file(path: &Path, s: &Sent, report: &mut CommandReport) -> Result<Value, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: cannot read it back: {e}", path.display()))?;
    parse_into(BufReader::new(file), s, report).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a stdout stream into the report (collection or memory), with its warnings; answers what
/// the journal records of the parse.
fn parse_into(reader: impl std::io::BufRead, s: &Sent, report: &mut CommandReport) -> std::io::Result<Value> {
    if s.memory {
        let dump = parse_memory_from(reader, &s.prepared.nonce)?;
        memory_warnings(&dump, report);
        let detail = json!({ "memory": &dump, "all_verified": dump.all_verified() });
        report.memory = Some(dump);
        return Ok(detail);
    }
    let c = parse_collection_from(reader, &s.prepared.nonce)?;
    collection_warnings(&c, s, report);
    let detail = json!({
        "complete": c.complete,
        "truncated": report.truncated,
        "missing": c.missing,
        "notes": c.notes,
        "sections": c.sections.iter().map(|sec| json!({"name": sec.name, "status": sec.status, "notes": sec.notes})).collect::<Vec<_>>(),
    });
    report.collection = Some(c);
    Ok(detail)
}

fn memory_warnings(dump: &MemoryDump, report: &mut CommandReport) {
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
}

fn collection_warnings(c: &Collection, s: &Sent, report: &mut CommandReport) {
    if s.invocation.is_final() && !c.missing.is_empty() {
        report.warnings.push(format!("sections missing from the output: {}", c.missing.join(", ")));
    }
    for sec in c.sections.iter().filter(|sec| sec.status == SectionStatus::Unterminated) {
        report.warnings.push(format!("section {} is cut short", sec.name));
    }
    for n in &c.notes {
        report.warnings.push(format!("output: {n}"));
    }
}

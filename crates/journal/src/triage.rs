//! Triage through SSM Run Command (`custody triage`): one row per command and instance, and one per
//! artifact fetched.
//!
//! The `ssm:SendCommand` call itself goes through [`Journal::intend`] like every mutating call (intent
//! before, outcome after); these tables add what only triage has: the command id AWS handed out, the
//! invocation's status as it moves, where the output went, and the SHA-256 of every artifact as it
//! arrived. Statuses are SSM's own words (`Success`, `TimedOut`, …), stored as text: SSM may add one,
//! and a journal must not refuse to record what AWS said.

use rusqlite::{params, Row};
use serde::{Deserialize, Serialize};

use crate::{now, require_case, Journal, JournalError};

const COMMAND_COLUMNS: &str = "case_id, command_id, instance_id, kind, document, script_version, script_sha256, \
     output_location, status, status_details, response_code, sent_at, updated_at";
const ARTIFACT_COLUMNS: &str =
    "case_id, command_id, instance_id, name, location, sha256, bytes, detail, content, recorded_at";

/// A command sent to one instance, and its latest status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageCommand {
    pub case_id: String,
    pub command_id: String,
    pub instance_id: String,
    /// `collect` or `memory`.
    pub kind: String,
    pub document: String,
    pub script_version: String,
    /// The SHA-256 of the commands exactly as sent.
    pub script_sha256: String,
    /// `s3://bucket/prefix/…` when the output went to S3.
    pub output_location: Option<String>,
    pub status: String,
    pub status_details: Option<String>,
    pub response_code: Option<i64>,
    /// Set by the journal (the caller's values are ignored on insert).
    pub sent_at: String,
    pub updated_at: String,
}

/// An artifact fetched: an S3 object of the output, or the inline output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageArtifact {
    pub case_id: String,
    pub command_id: String,
    pub instance_id: String,
    /// `stdout`, `stderr`, or the object key below the command's output prefix.
    pub name: String,
    /// `s3://bucket/key`, or `inline:GetCommandInvocation`.
    pub location: String,
    pub sha256: String,
    pub bytes: i64,
    /// What was checked (sections found, truncation, memory regions verified), as JSON.
    pub detail: serde_json::Value,
    /// The inline output itself (S3 objects stay in S3).
    pub content: Option<String>,
    /// Set by the journal.
    pub recorded_at: String,
}

fn command_from_row(row: &Row<'_>) -> rusqlite::Result<TriageCommand> {
    Ok(TriageCommand {
        case_id: row.get(0)?,
        command_id: row.get(1)?,
        instance_id: row.get(2)?,
        kind: row.get(3)?,
        document: row.get(4)?,
        script_version: row.get(5)?,
        script_sha256: row.get(6)?,
        output_location: row.get(7)?,
        status: row.get(8)?,
        status_details: row.get(9)?,
        response_code: row.get(10)?,
        sent_at: row.get(11)?,
        updated_at: row.get(12)?,
    })
}

impl Journal {
    /// Records a command sent to one instance. Fails on an unknown case, or if (command, instance)
    /// is recorded already (a command id is AWS's, never reused).
    pub fn record_triage_command(&self, c: &TriageCommand) -> Result<(), JournalError> {
        self.write("record the triage command", |tx| {
            require_case(tx, &c.case_id)?;
            let at = now();
            tx.prepare_cached(&format!(
                "INSERT INTO triage_commands ({COMMAND_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)"
            ))?
            .execute(params![
                c.case_id,
                c.command_id,
                c.instance_id,
                c.kind,
                c.document,
                c.script_version,
                c.script_sha256,
                c.output_location,
                c.status,
                c.status_details,
                c.response_code,
                at,
            ])?;
            Ok(())
        })
    }

    /// Records the latest status of an invocation. Fails with [`JournalError::UnknownTriageCommand`]
    /// when the command was never recorded.
    pub fn set_triage_status(
        &self,
        command_id: &str,
        instance_id: &str,
        status: &str,
        details: Option<&str>,
        response_code: Option<i64>,
    ) -> Result<(), JournalError> {
        self.write("record the triage status", |tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE triage_commands SET status = ?3, status_details = ?4, response_code = ?5, updated_at = ?6
                     WHERE command_id = ?1 AND instance_id = ?2",
                )?
                .execute(params![command_id, instance_id, status, details, response_code, now()])?;
            if changed == 0 {
                return Err(JournalError::UnknownTriageCommand {
                    command_id: command_id.to_string(),
                    instance_id: instance_id.to_string(),
                }
                .into());
            }
            Ok(())
        })
    }

    /// Records an artifact. The first record of (command, instance, name) stands: an artifact is
    /// hashed once, as it arrived.
    pub fn record_triage_artifact(&self, a: &TriageArtifact) -> Result<(), JournalError> {
        self.write("record the triage artifact", |tx| {
            require_case(tx, &a.case_id)?;
            tx.prepare_cached(&format!(
                "INSERT INTO triage_artifacts ({ARTIFACT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (command_id, instance_id, name) DO NOTHING"
            ))?
            .execute(params![
                a.case_id,
                a.command_id,
                a.instance_id,
                a.name,
                a.location,
                a.sha256,
                a.bytes,
                a.detail.to_string(),
                a.content,
                now(),
            ])?;
            Ok(())
        })
    }

    /// The triage commands of a case, in the order sent (empty for an unknown case).
    pub fn triage_commands(&self, case_id: &str) -> Result<Vec<TriageCommand>, JournalError> {
        self.read("read the triage commands", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COMMAND_COLUMNS} FROM triage_commands WHERE case_id = ?1 ORDER BY rowid"
            ))?;
            let rows = stmt.query_map([case_id], command_from_row)?;
            rows.map(|command| {
                let command = command?;
                let row = format!("command `{}` on {}", command.command_id, command.instance_id);
                Ok(TriageCommand { case_id: self.case_id("triage_commands", &row, command.case_id)?, ..command })
            })
            .collect()
        })
    }

    /// The triage artifacts of a case, in the order recorded (empty for an unknown case).
    pub fn triage_artifacts(&self, case_id: &str) -> Result<Vec<TriageArtifact>, JournalError> {
        self.read("read the triage artifacts", |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {ARTIFACT_COLUMNS} FROM triage_artifacts WHERE case_id = ?1 ORDER BY rowid"
            ))?;
            let raw = stmt
                .query_map([case_id], |row| {
                    Ok((
                        TriageArtifact {
                            case_id: row.get(0)?,
                            command_id: row.get(1)?,
                            instance_id: row.get(2)?,
                            name: row.get(3)?,
                            location: row.get(4)?,
                            sha256: row.get(5)?,
                            bytes: row.get(6)?,
                            detail: serde_json::Value::Null,
                            content: row.get(8)?,
                            recorded_at: row.get(9)?,
                        },
                        row.get::<_, String>(7)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            raw.into_iter()
                .map(|(a, detail)| {
                    let where_ = format!("artifact `{}` of command `{}` on {}", a.name, a.command_id, a.instance_id);
                    let detail = self.json("triage_artifacts", "detail", &where_, &detail)?;
                    Ok(TriageArtifact { detail, case_id: self.case_id("triage_artifacts", &where_, a.case_id)?, ..a })
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NewCase;

    fn journal() -> Journal {
        let j = Journal::open_in_memory().unwrap();
        j.create_case(&NewCase {
            case_id: "IR-1".into(),
            examiner: None,
            destination_account: "111122223333".into(),
            destination_region: "eu-west-1".into(),
            note: None,
            simulated: false,
        })
        .unwrap();
        j
    }

    fn command() -> TriageCommand {
        TriageCommand {
            case_id: "IR-1".into(),
            command_id: "c-1".into(),
            instance_id: "i-0123456789abcdef0".into(),
            kind: "collect".into(),
            document: "AWS-RunShellScript".into(),
            script_version: "linux/1".into(),
            script_sha256: "ab".repeat(32),
            output_location: None,
            status: "Pending".into(),
            status_details: None,
            response_code: None,
            sent_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn a_command_its_status_and_artifacts_round_trip() {
        let j = journal();
        j.record_triage_command(&command()).unwrap();
        j.set_triage_status("c-1", "i-0123456789abcdef0", "Success", Some("Success"), Some(0)).unwrap();
        let artifact = TriageArtifact {
            case_id: "IR-1".into(),
            command_id: "c-1".into(),
            instance_id: "i-0123456789abcdef0".into(),
            name: "stdout".into(),
            location: "inline:GetCommandInvocation".into(),
            sha256: "cd".repeat(32),
            bytes: 5,
            detail: serde_json::json!({"truncated": false}),
            content: Some("hello".into()),
            recorded_at: String::new(),
        };
        j.record_triage_artifact(&artifact).unwrap();
        // The first record stands.
        j.record_triage_artifact(&TriageArtifact { sha256: "ee".repeat(32), ..artifact.clone() }).unwrap();
        let commands = j.triage_commands("IR-1").unwrap();
        assert_eq!(commands.len(), 1);
        assert_eq!((commands[0].status.as_str(), commands[0].response_code), ("Success", Some(0)));
        assert!(!commands[0].sent_at.is_empty());
        let artifacts = j.triage_artifacts("IR-1").unwrap();
        assert_eq!(artifacts.len(), 1);
        assert_eq!(artifacts[0].sha256, "cd".repeat(32));
        assert_eq!(artifacts[0].detail, serde_json::json!({"truncated": false}));
    }

    #[test]
    fn a_command_of_an_unknown_case_is_refused() {
        let j = journal();
        let err = j.record_triage_command(&TriageCommand { case_id: "nope".into(), ..command() }).unwrap_err();
        assert!(matches!(err, JournalError::UnknownCase(c) if c == "nope"));
    }

    #[test]
    fn the_status_of_an_unrecorded_command_is_refused() {
        let j = journal();
        let err = j.set_triage_status("c-9", "i-0123456789abcdef0", "Success", None, None).unwrap_err();
        assert!(matches!(err, JournalError::UnknownTriageCommand { .. }), "{err}");
    }
}

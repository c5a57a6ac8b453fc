//! The records the journal stores and returns.
//!
//! Inputs (`NewCase`, `Intent`, `NewResource`, `Evidence`) carry what the caller knows; the records
//! returned add what the journal decides: status, timestamps (UTC, RFC 3339 with microseconds, so they
//! sort as text) and removals. Everything serializes, so the CLI prints it with `--json` as it is.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The id of a journal entry (one intended AWS call), handed out by [`crate::Journal::intend`].
pub type EntryId = i64;

/// The state of a case or of one acquisition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Started and not finished. Recorded when a run starts; a reader asks
    /// [`crate::Journal::case_status_now`], which tells a run still under way from one whose process
    /// died.
    Running,
    Succeeded,
    Failed,
    /// Stopped before the end: recorded when it stopped on purpose (a signal, the user); computed
    /// when read for a `running` case whose process is gone (no process holds its lock).
    Interrupted,
    /// Its temporary resources were removed.
    CleanedUp,
}

impl Status {
    pub const ALL: [Status; 5] =
        [Status::Running, Status::Succeeded, Status::Failed, Status::Interrupted, Status::CleanedUp];

    /// The text stored in the journal, the same as the serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
            Status::CleanedUp => "cleaned-up",
        }
    }
}

/// A kind of AWS resource custody creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    Snapshot,
    /// A snapshot's `createVolumePermission` for another account; its id is the snapshot id.
    Share,
    Key,
    Alias,
    Grant,
    Volume,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 6] = [
        ResourceKind::Snapshot,
        ResourceKind::Share,
        ResourceKind::Key,
        ResourceKind::Alias,
        ResourceKind::Grant,
        ResourceKind::Volume,
    ];

    /// The text stored in the journal, the same as the serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Snapshot => "snapshot",
            ResourceKind::Share => "share",
            ResourceKind::Key => "key",
            ResourceKind::Alias => "alias",
            ResourceKind::Grant => "grant",
            ResourceKind::Volume => "volume",
        }
    }
}

/// A text that names no variant of the enum it was parsed as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}` (expected one of: {expected})")]
pub struct UnknownVariant {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

/// Parses `text` as the variant of `all` whose `as_str` it is.
fn parse_variant<T: Copy>(
    what: &'static str,
    all: &[T],
    as_str: fn(T) -> &'static str,
    text: &str,
) -> Result<T, UnknownVariant> {
    all.iter().copied().find(|v| as_str(*v) == text).ok_or_else(|| UnknownVariant {
        what,
        value: text.to_string(),
        expected: all.iter().map(|v| as_str(*v)).collect::<Vec<_>>().join(", "),
    })
}

impl FromStr for Status {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Status, UnknownVariant> {
        parse_variant("status", &Status::ALL, Status::as_str, s)
    }
}

impl FromStr for ResourceKind {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<ResourceKind, UnknownVariant> {
        parse_variant("resource kind", &ResourceKind::ALL, ResourceKind::as_str, s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A case to open: one investigation, whose evidence goes to one destination account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCase {
    pub case_id: String,
    pub examiner: Option<String>,
    pub destination_account: String,
    pub destination_region: String,
    pub note: Option<String>,
    /// A dry run against the simulated cloud (`--simulate`): nothing real was touched.
    pub simulated: bool,
}

/// A case as the journal has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub case_id: String,
    pub examiner: Option<String>,
    pub destination_account: String,
    pub destination_region: String,
    pub note: Option<String>,
    pub status: Status,
    pub created_at: String,
    pub updated_at: String,
    /// A dry run against the simulated cloud: its snapshots and keys never existed in AWS.
    #[serde(default)]
    pub simulated: bool,
}

/// The acquisition of one instance within a case, with the plan it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcquisitionRecord {
    pub case_id: String,
    pub instance_id: String,
    pub plan: serde_json::Value,
    pub status: Status,
    pub error: Option<String>,
    pub started_at: String,
    pub updated_at: String,
}

/// What the executor is about to do: one mutating AWS call, recorded before it is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    pub case_id: String,
    pub instance_id: String,
    /// The plan's step this call belongs to.
    pub step_id: String,
    /// `service:Operation`, as in IAM (`ec2:CopySnapshot`).
    pub api: String,
    /// The account and region the call is made in.
    pub account: String,
    pub region: String,
    /// Who signs the call (a role ARN).
    pub signer: String,
    pub params: serde_json::Value,
}

/// What came of an intended call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    /// AWS answered with success; `result` holds what the executor needs later (created ids).
    Ok { result: serde_json::Value, request_id: Option<String> },
    /// AWS answered with an error, or the call never got an answer (then `code` and `request_id` are
    /// usually `None`).
    Failed { code: Option<String>, message: String, request_id: Option<String> },
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. })
    }
}

/// One intended call and, once known, its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: EntryId,
    pub intent: Intent,
    pub intended_at: String,
    /// `None`: the call was intended and nothing more is known — it may or may not have happened.
    pub outcome: Option<Outcome>,
    pub finished_at: Option<String>,
}

/// A resource custody created (or is about to account for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewResource {
    pub case_id: String,
    pub instance_id: String,
    pub kind: ResourceKind,
    /// The AWS id (`snap-…`, a key id, `alias/…`, a grant id).
    pub id: String,
    pub account: String,
    pub region: String,
    /// True for what cleanup must remove (intermediate copies, shares, grants); false for evidence.
    pub temporary: bool,
    /// What removal needs besides the id (the key ARN of a grant, the account a snapshot is shared with).
    pub detail: serde_json::Value,
}

/// A resource as the journal has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRecord {
    pub case_id: String,
    pub instance_id: String,
    pub kind: ResourceKind,
    pub id: String,
    pub account: String,
    pub region: String,
    pub temporary: bool,
    pub detail: serde_json::Value,
    pub created_at: String,
    pub removed_at: Option<String>,
    /// How it was removed (`ec2:DeleteSnapshot`, "already gone", …).
    pub removal: Option<String>,
}

/// One evidence item: the snapshot of one volume, in the destination account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub case_id: String,
    pub instance_id: String,
    pub volume_id: String,
    pub snapshot_id: String,
    pub account: String,
    pub region: String,
    pub key_arn: Option<String>,
    /// The acquisition path taken, e.g. `8 (cross-account-aws-managed-key)`.
    pub path: String,
    pub tags: BTreeMap<String, String>,
    /// Set by the journal when the item is recorded; ignored on input.
    #[serde(default)]
    pub recorded_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_text_is_the_serde_name_and_parses_back() {
        for s in Status::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
        }
        for k in ResourceKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
            assert_eq!(k.as_str().parse::<ResourceKind>().unwrap(), k);
        }
    }

    #[test]
    fn unknown_variant_names_the_value_and_the_choices() {
        let err = "done".parse::<Status>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown status `done` (expected one of: running, succeeded, failed, interrupted, cleaned-up)"
        );
    }

    #[test]
    fn outcome_serializes_with_a_status_tag() {
        let ok = Outcome::Ok { result: serde_json::json!({"SnapshotId": "snap-1"}), request_id: None };
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            serde_json::json!({"status": "ok", "result": {"SnapshotId": "snap-1"}, "request_id": null})
        );
    }
}

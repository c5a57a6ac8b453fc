//! What a step does, as data: the executor (`custody acquire`) runs a plan by its actions, so it does
//! exactly what the preflight checked and nothing else.
//!
//! Resources that do not exist yet are named by the plan's placeholders (`snap-source-…`,
//! `key/custody-temp-…`, `custody-grant-…`); the executor maps each placeholder to the real ID when
//! the call that creates it returns, and records that mapping in its journal. The parameters here are
//! the ones the authorization requests of the step were built from (tags, grant operations and
//! constraints, the key policy), so what runs is what was proven.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one step does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    /// STS AssumeRole into `role_arn` with session name `session_name` (it carries the case id).
    AssumeRole { role_arn: String, session_name: String },
    /// DescribeInstances and DescribeVolumes of the plan's instance: it must still exist, not be
    /// terminated, and have the volumes the plan was made for.
    Discover,
    /// CreateSnapshots of every EBS volume of the instance (crash-consistent), with `tags` on each
    /// snapshot; then wait for them to complete. Produces the `snap-source-…` snapshots.
    CreateSnapshots { tags: BTreeMap<String, String>, description: String },
    /// SSM Run Command triage (issue 6).
    Triage,
    /// CreateKey with the policy of the step's `creates_keys` entry and `tags`, then CreateAlias
    /// `alias` to it. Produces the key named by the placeholder `key`.
    CreateKey { key: String, alias: String, description: String, tags: BTreeMap<String, String> },
    /// CreateGrant on `key_arn` for `grantee` with exactly `operations`, the encryption-context
    /// constraint `encryption_context_subset`, and `retiring_principal`. `name` makes the call
    /// idempotent (KMS returns the existing grant for a repeated request with the same name and
    /// parameters) and lets a resumed run find the grant. Produces the grant named by `grant`.
    CreateGrant {
        key_arn: String,
        grant: String,
        name: String,
        grantee: String,
        retiring_principal: String,
        operations: Vec<String>,
        encryption_context_subset: BTreeMap<String, String>,
    },
    /// ModifySnapshotAttribute `createVolumePermission` add (`add`) or remove, UserIds form, for
    /// `account`.
    Share { snapshot: String, account: String, add: bool },
    /// CopySnapshot of `from` into the snapshot `to` of the plan's `VolumePlan::snapshots` (its
    /// account, Region and key say where and how), with `tags` and `description`; then wait for it.
    CopySnapshot { from: String, to: String, tags: BTreeMap<String, String>, description: String },
    /// CreateVolume from the evidence `snapshot` in `availability_zone`, with `tags`; then wait for it
    /// to be available. Produces the volume named by the placeholder `volume`; it is evidence too.
    CreateVolume { snapshot: String, volume: String, availability_zone: String, tags: BTreeMap<String, String> },
    /// DeleteSnapshot of an intermediate snapshot.
    DeleteSnapshot { snapshot: String },
    /// CreateTags marking `snapshot` (a source snapshot that is itself the evidence) with the evidence
    /// tag `CustodyEvidence=true`, so that the policies' Deny protects it.
    TagEvidence { snapshot: String },
    /// RetireGrant of the grant created earlier (the placeholder `grant`) on `key_arn`.
    RetireGrant { key_arn: String, grant: String },
    /// DeleteAlias `alias`, then ScheduleKeyDeletion of `key` after `pending_window_days`.
    DeleteKey { key: String, alias: String, pending_window_days: u32 },
    /// Read every block of `snapshot` with the EBS direct APIs (issue 5).
    ReadBlocks { snapshot: String },
    /// Look up CloudTrail's event history of the call's account and Region (`custody audit`,
    /// [`super::Phase::Audit`]): planned and checked, never run by the executor.
    LookupEvents,
}

impl Action {
    /// True for actions that change something in AWS (and so are journaled with intent and outcome).
    pub fn mutates(&self) -> bool {
        !matches!(self, Action::Discover | Action::ReadBlocks { .. } | Action::AssumeRole { .. } | Action::LookupEvents)
    }
}

/// A KMS grant name for `volume_id` in `case_id`: KMS allows `[a-zA-Z0-9:/_-]`, up to 256 characters
/// (CreateGrant API reference, `Name`,
/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>).
pub fn grant_name(case_id: &str, volume_id: &str) -> String {
    format!("custody-{case_id}-{volume_id}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || ":/_-".contains(c) { c } else { '-' })
        .take(256)
        .collect()
}

/// The role session name custody uses in every account for `case_id`: `custody-<case>`, in STS's
/// character set `[\w+=,.@-]` (others become `-`) and cut to its 64 characters (AssumeRole API
/// reference, `RoleSessionName`, <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>).
/// It is in every session ARN the plan's requests name, so CloudTrail ties each call to the case.
pub fn session_name(case_id: &str) -> String {
    sts_session_name(&format!("custody-{case_id}"))
}

pub use custody_ids::sts_session_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_names_keep_to_the_kms_character_set() {
        assert_eq!(grant_name("case 7/ü", "vol-1"), "custody-case-7/--vol-1");
        assert_eq!(grant_name(&"x".repeat(300), "vol-1").len(), 256);
    }

    #[test]
    fn session_names_keep_to_the_sts_character_set() {
        assert_eq!(session_name("IR-2026/001"), "custody-IR-2026-001");
        assert_eq!(session_name(&"x".repeat(100)).len(), 64);
    }
}

//! Which steps rest on a grant or key an earlier step of the plan made, and so on KMS's eventual
//! consistency: "When you create, retire, or revoke a grant, there might be a brief delay, usually
//! less than five minutes, until the grant is available throughout AWS KMS" (KMS API Reference,
//! CreateGrant, <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html>); "It might
//! take up to five minutes for alias changes to affect KMS key authorization" (KMS Developer Guide,
//! <https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html>); and a key just
//! created may not be found at once (<https://docs.aws.amazon.com/kms/latest/developerguide/programming-eventual-consistency.html>).
//!
//! EC2 takes no grant token for the KMS calls it makes while it copies a snapshot, so a copy made before
//! the grant or alias has reached all of KMS ends in `error` ("Given key ID is not accessible"). The
//! executor waits for it and retries such a copy; the preflight says which steps do.

use super::{Action, Plan, Step};
use serde::Serialize;

/// URL of KMS's page on eventual consistency, for the reports.
pub const KMS_EVENTUAL_CONSISTENCY: &str =
    "https://docs.aws.amazon.com/kms/latest/developerguide/programming-eventual-consistency.html";

/// How long the acquisition gives KMS to propagate a grant or key before a copy that failed for it
/// counts as failed: twice the "usually less than five minutes" KMS documents, since "usually" is no
/// bound.
pub const PROPAGATION_WINDOW_SECS: u64 = 600;

/// When the readiness probe of a copy from the temporary key is asked (`kms:DescribeKey` as the
/// copy's signer, the first call of the step): before the copy, again and again until KMS allows it
/// or the window ([`PROPAGATION_WINDOW_SECS`]) ends.
pub const UNTIL_THE_ALIAS_AUTHORIZES: &str =
    "before the copy, again and again until KMS allows it (a new alias may take up to five minutes to authorize)";

/// What a step waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Awaited {
    /// A grant on `key_arn` (a placeholder id until made) for `grantee`, listing `operations`.
    Grant { key_arn: String, grant: String, grantee: String, operations: Vec<String> },
    /// A key the plan creates, with its `aliases` (its policy and aliases authorize once known).
    Key { key_arn: String, aliases: Vec<String> },
}

impl Awaited {
    pub fn key_arn(&self) -> &str {
        match self {
            Awaited::Grant { key_arn, .. } | Awaited::Key { key_arn, .. } => key_arn,
        }
    }

    /// In words: "the grant on KEY", "the new key KEY and its alias A".
    pub fn describe(&self) -> String {
        match self {
            Awaited::Grant { key_arn, grantee, .. } => format!("the grant on {key_arn} for {grantee}"),
            Awaited::Key { key_arn, aliases } if aliases.is_empty() => format!("the new key {key_arn}"),
            Awaited::Key { key_arn, aliases } => {
                format!("the new key {key_arn} and its alias {}", aliases.join(", "))
            }
        }
    }
}

/// One dependency of a step on what an earlier step made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Propagation {
    /// The step that makes it.
    pub made_by: String,
    #[serde(flatten)]
    pub awaited: Awaited,
}

impl Plan {
    /// The grants and keys made by earlier steps that `step` uses (a copy or volume whose source or
    /// destination key they are): what it must wait for KMS to propagate. Empty for any other step.
    pub fn propagation(&self, step: &Step) -> Vec<Propagation> {
        let keys: Vec<&str> = match &step.action {
            Action::CopySnapshot { from, to, .. } => self.snapshot_keys(&[from, to]),
            Action::CreateVolume { snapshot, .. } => self.snapshot_keys(&[snapshot]),
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        // Another volume's grant names the same key but is constrained to that volume's encryption
        // context: only the step's own volume (and the instance's steps) can matter.
        let earlier_steps = self.steps.iter().take_while(|s| s.id != step.id);
        for earlier in earlier_steps.filter(|s| s.volume_id.is_none() || s.volume_id == step.volume_id) {
            for g in earlier.creates_grants.iter().filter(|g| keys.contains(&g.key_arn.as_str())) {
                let text = |f: &str| g.grant.get(f).and_then(|v| v.as_str()).unwrap_or_default().to_string();
                let operations = g
                    .grant
                    .get("operations")
                    .and_then(|v| v.as_array())
                    .map(|ops| ops.iter().filter_map(|o| o.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                out.push(Propagation {
                    made_by: earlier.id.clone(),
                    awaited: Awaited::Grant {
                        key_arn: g.key_arn.clone(),
                        grant: text("grant_id"),
                        grantee: text("grantee_principal"),
                        operations,
                    },
                });
            }
            for k in earlier.creates_keys.iter().filter(|k| keys.contains(&k.arn.as_str())) {
                out.push(Propagation {
                    made_by: earlier.id.clone(),
                    awaited: Awaited::Key { key_arn: k.arn.clone(), aliases: k.aliases.clone() },
                });
            }
        }
        out
    }

    /// The keys of the planned snapshots `ids`.
    fn snapshot_keys(&self, ids: &[&String]) -> Vec<&str> {
        self.volumes
            .iter()
            .flat_map(|v| &v.snapshots)
            .filter(|s| ids.contains(&&s.id))
            .filter_map(|s| s.key_arn.as_deref())
            .collect()
    }
}

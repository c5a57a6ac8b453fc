//! What an acquisition tells as it goes ([`Event`]s through [`Progress`]) and what it ends with
//! ([`AcquireReport`]).

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Something worth telling the examiner while the acquisition runs. Every value is as the plan, the
/// inventory or AWS gave it: a view escapes it before showing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// An instance's run starts: its volumes and its steps in the order they run, so that a view can
    /// show one line per volume and number the steps.
    Started { instance: String, volumes: Vec<String>, steps: Vec<StepOutline> },
    /// A step starts. `volume`: the volume the step is for (none: a step of the instance, before its
    /// volumes). The title names real ids where they are known, and "a new snapshot" (key, volume,
    /// grant) for what the step itself creates: never a plan placeholder.
    Step {
        instance: String,
        step: String,
        title: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        volume: Option<String>,
    },
    /// A step was done by an earlier run (resume), or found done in AWS.
    Reused { instance: String, step: String, how: String },
    /// A step is skipped, and why.
    Skipped { instance: String, step: String, why: String },
    /// A snapshot is not complete yet (one event per poll). `volume`: the volume it is evidence of,
    /// when known; `progress`: DescribeSnapshots' `Progress` (`42%`), when it has one.
    Waiting {
        step: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        volume: Option<String>,
        snapshot: String,
        state: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        progress: Option<String>,
    },
    /// A resource the plan names by a placeholder exists: `id` is its real id, to show from now on.
    Resolved { instance: String, placeholder: String, id: String },
    /// A throttled or not-yet-authorized call is retried.
    Retrying { step: String, api: String, attempt: u32, why: String },
    /// Something was removed.
    Removed { what: String },
    /// Something the examiner should know.
    Warning { message: String },
}

/// One step of a plan, in [`Event::Started`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepOutline {
    pub step: String,
    /// The volume the step is for; none for the instance's steps, which come before every volume's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
}

/// Where events go (the CLI prints them; tests collect them).
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(&Event) + Send + Sync>);

impl Progress {
    pub fn new(f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        Progress(Arc::new(f))
    }

    /// Events go nowhere.
    pub fn silent() -> Self {
        Progress::new(|_| {})
    }

    pub fn emit(&self, event: Event) {
        (self.0)(&event)
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// One evidence snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceItem {
    pub instance_id: String,
    pub volume_id: String,
    /// `/dev/xvda`, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    pub snapshot_id: String,
    pub account: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,
    /// The acquisition path, `8 (cross-account-aws-managed-key)`.
    pub path: String,
    pub tags: BTreeMap<String, String>,
}

/// How one volume ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeReport {
    pub volume_id: String,
    pub path: String,
    /// The evidence, when secured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceItem>,
    /// Why not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What cleanup removed, in words.
    pub removed: Vec<String>,
    /// What was left on purpose or could not be removed, in words.
    pub left: Vec<String>,
}

/// How one instance ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceReport {
    pub instance_id: String,
    pub succeeded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub volumes: Vec<VolumeReport>,
    /// Steps done by an earlier run and not redone.
    pub reused_steps: Vec<String>,
    /// Steps the plan has that this executor does not run yet, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<String>,
}

/// How an acquisition ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcquireReport {
    pub case_id: String,
    pub succeeded: bool,
    pub interrupted: bool,
    pub instances: Vec<InstanceReport>,
}

impl AcquireReport {
    /// Every evidence snapshot secured.
    pub fn evidence(&self) -> Vec<&EvidenceItem> {
        self.instances.iter().flat_map(|i| &i.volumes).filter_map(|v| v.evidence.as_ref()).collect()
    }
}

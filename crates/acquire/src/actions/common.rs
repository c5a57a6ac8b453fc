//! What the action handlers share: the events of a step reused or skipped, the planned snapshot a
//! step names. It imports none of the handlers.

use crate::error::AcquireError;
use crate::journaled::Run;
use crate::report::Event;
use custody_plan::plan::{PlannedSnapshot, Step, VolumePlan, TAG_VOLUME};
use std::collections::BTreeMap;

/// Tells that `step` was done (or found) by an earlier run, `how`.
pub(crate) fn reused(run: &Run, step: &Step, how: &str) {
    run.progress.emit(Event::Reused {
        instance: run.instance().to_string(),
        step: step.id.clone(),
        how: how.to_string(),
    });
}

/// Tells that `step` has nothing to do, and why (what it acts on was never created).
pub(crate) fn skipped(run: &Run, step: &Step, why: &str) -> Result<(), AcquireError> {
    run.progress.emit(Event::Skipped {
        instance: run.instance().to_string(),
        step: step.id.clone(),
        why: why.to_string(),
    });
    Ok(())
}

/// The volume tag (the copies carry it, the crash-consistent source snapshots do not).
pub(crate) fn is_volume_copy(tags: &BTreeMap<String, String>) -> bool {
    tags.contains_key(TAG_VOLUME)
}

/// The snapshot `id` of the volume's plan.
pub(crate) fn planned<'v>(step: &Step, volume: &'v VolumePlan, id: &str) -> Result<&'v PlannedSnapshot, AcquireError> {
    volume.snapshots.iter().find(|s| s.id == id).ok_or_else(|| AcquireError::Plan {
        step: step.id.clone(),
        why: format!("snapshot `{id}` is not among the volume's planned snapshots"),
    })
}

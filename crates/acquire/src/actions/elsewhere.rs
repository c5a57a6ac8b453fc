//! The steps another command runs: triage (`custody triage`) and reading a snapshot's blocks
//! (`custody image`). Acquire says so, and goes on.

use crate::journaled::Run;
use crate::report::Event;
use custody_plan::plan::Step;

/// Triage through SSM Run Command: `custody triage`'s. Returns why it was not run.
pub(crate) fn triage(run: &Run, step: &Step) -> String {
    let why = "triage through SSM Run Command is `custody triage` (not run by acquire)".to_string();
    run.progress.emit(Event::Skipped { instance: run.instance().to_string(), step: step.id.clone(), why: why.clone() });
    why
}

/// Reading the evidence snapshot's blocks with the EBS direct APIs: `custody image`'s.
pub(crate) fn read_blocks(run: &Run, step: &Step, snapshot: &str) {
    run.progress.emit(Event::Skipped {
        instance: run.instance().to_string(),
        step: step.id.clone(),
        why: format!(
            "the snapshot {} is the evidence; reading its blocks with the EBS direct APIs is `custody image` (not part \
             of acquire)",
            run.created(snapshot).unwrap_or_else(|| snapshot.to_string())
        ),
    });
}

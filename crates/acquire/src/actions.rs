//! The plan's actions, as the executor runs them: [`run_step`] is the one `match` from a step's
//! [`Action`] to its handler. The handlers are grouped by what they act on, one file each; what they
//! share is in `common`, which imports none of them.
//!
//! Every handler makes its step's calls journaled ([`Run::journaled`]), and on a resumed run first
//! asks the journal what an earlier run did ([`Run::prior`]): done (its ids are taken from the
//! journal), intended without an answer (looked up in AWS before it is done again), or not done.

mod common;
mod copy;
mod discover;
mod elsewhere;
mod grants;
mod keys;
mod sessions;
mod shares;
mod snapshots;
mod volumes;

pub(crate) use common::reused;

use crate::error::AcquireError;
use crate::journaled::Run;
use crate::report::Event;
use custody_plan::plan::{Action, Step, VolumePlan};
use std::collections::BTreeMap;

/// What a step belongs to: the instance (the steps before the volumes), or one of its volumes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'v> {
    Instance,
    Volume(&'v VolumePlan),
}

/// What a step that ran gives its caller.
#[derive(Debug)]
pub(crate) enum Ran {
    Done,
    /// The instance was looked at: the device name of each attached volume.
    Devices(BTreeMap<String, String>),
    /// The step is another command's, and was not run: why.
    NotRun(String),
}

/// Why acquire runs no step of [`Action::LookupEvents`] (a plan made with `--audit`).
pub(crate) const AUDIT_STEP: &str = "it looks up CloudTrail's events for `custody audit`, which runs after an \
     acquisition; acquire never runs it (plan the acquisition without --audit)";

/// Runs one step of the plan: the step's action, by its handler. An action that does not belong to
/// `scope` (a copy among the instance's steps, an AssumeRole among a volume's) is an inconsistent plan.
pub(crate) async fn run_step(run: &Run, scope: Scope<'_>, step: &Step) -> Result<Ran, AcquireError> {
    run.progress.emit(Event::Step {
        instance: run.instance().to_string(),
        step: step.id.clone(),
        title: run.title(step),
        volume: step.volume_id.clone(),
    });
    let done = |ran: Result<(), AcquireError>| ran.map(|()| Ran::Done);
    match (scope, &step.action) {
        (Scope::Instance, Action::AssumeRole { role_arn, session_name }) => {
            done(sessions::assume(run, step, role_arn, session_name).await)
        }
        (Scope::Instance, Action::Discover) => discover::discover(run, step).await.map(Ran::Devices),
        (Scope::Instance, Action::CreateSnapshots { tags, description }) => {
            done(snapshots::create_snapshots(run, step, tags, description).await)
        }
        (Scope::Instance, Action::Triage) => Ok(Ran::NotRun(elsewhere::triage(run, step))),
        (Scope::Volume(volume), Action::CopySnapshot { from, to, tags, description }) => {
            done(copy::copy(run, volume, step, from, to, tags, description).await)
        }
        (Scope::Volume(volume), Action::Share { snapshot, account, add }) => {
            done(shares::share(run, volume, step, snapshot, account, *add).await)
        }
        (Scope::Volume(volume), Action::DeleteSnapshot { snapshot }) => {
            done(snapshots::delete_snapshot(run, volume, step, snapshot).await)
        }
        (Scope::Volume(volume), Action::TagEvidence { snapshot }) => {
            done(snapshots::tag_evidence(run, volume, step, snapshot).await)
        }
        (Scope::Volume(_), Action::CreateVolume { snapshot, volume, availability_zone, tags }) => {
            done(volumes::create_volume(run, step, snapshot, volume, availability_zone, tags).await)
        }
        (Scope::Volume(_), Action::CreateKey { key, alias, description, tags }) => {
            done(keys::create_key(run, step, key, alias, description, tags).await)
        }
        (Scope::Volume(_), Action::DeleteKey { key, alias, pending_window_days }) => {
            done(keys::delete_key(run, step, key, alias, *pending_window_days).await)
        }
        (Scope::Volume(_), Action::CreateGrant { .. }) => done(grants::create_grant(run, step).await),
        (Scope::Volume(_), Action::RetireGrant { key_arn, grant }) => {
            done(grants::retire_grant(run, step, key_arn, grant).await)
        }
        (Scope::Volume(_), Action::ReadBlocks { snapshot }) => {
            elsewhere::read_blocks(run, step, snapshot);
            Ok(Ran::Done)
        }
        // `custody audit`'s look-ups: refused with the whole plan before anything ran (execute.rs).
        (_, Action::LookupEvents) => Err(AcquireError::Plan { step: step.id.clone(), why: AUDIT_STEP.to_string() }),
        (Scope::Instance, other) => Err(AcquireError::Plan {
            step: step.id.clone(),
            why: format!("a step of no volume cannot be {}", serde_json::to_string(other).unwrap_or_default()),
        }),
        (Scope::Volume(_), other) => Err(AcquireError::Plan {
            step: step.id.clone(),
            why: format!("a volume step cannot be {:?}", std::mem::discriminant(other)),
        }),
    }
}

//! # custody-acquire: running an acquisition plan
//!
//! The planner (`custody-plan`) decides what to do and the preflight proves it allowed; this crate
//! does it, against any [`custody_cloud::Cloud`]: AWS through the SDK adapter, a local emulator, or
//! the simulated cloud of a dry run.
//!
//! **The plan is the program.** Every step of a plan carries an [`Action`](custody_plan::plan::Action)
//! with the parameters its authorization requests were built from; the executor runs those actions
//! and nothing else, so what runs is what was proven. Resources that do not exist yet are named by the
//! plan's placeholders; the executor maps each to the real id when the call creating it returns
//! ([`resolve::Resolved`]).
//!
//! **Journal first.** Before every call that changes something, its intent is written to the journal
//! (SQLite, one durable transaction); after the call, its outcome (the ids it created, AWS's request
//! id). A resumed run (`custody acquire --resume CASE`) replays the journaled plan: a step whose
//! outcome is recorded is not run again (its ids are taken from the journal); a step intended without
//! an outcome — the process died while AWS was answering — is looked up before it is redone (snapshots
//! by their case tags, keys by their description when the role may list keys; an alias is asked for
//! again, its name being unique; grants by name, which KMS makes idempotent; shares, deletions and
//! retirements are idempotent), and what the lookup finds is recorded as the call's outcome. A resumed
//! run first takes every placeholder's id from the journal, and records again what an earlier run
//! created or removed but died before recording. If the journal cannot be written the run stops at
//! once: an unrecorded resource is exactly what cleanup could miss.
//!
//! **Cleanup always runs.** Each volume runs its transfer steps, then its cleanup steps, whether the
//! transfer succeeded or not, for whatever was actually created. One exception, for evidence's sake:
//! when a volume's evidence copy failed, its source snapshot is kept (it is then the only copy of the
//! evidence) and reported; `custody cleanup --case` removes it when the examiner says so. What a run
//! could not remove stays open in the journal, and `custody cleanup` finds it there, and by tag and
//! alias prefix in AWS.
//!
//! **Waiting** for snapshots polls with exponential backoff on the async runtime (never a blocking
//! sleep), reports progress, and gives up after a configurable timeout. Throttled calls are retried
//! with backoff. Volumes, and instances, run in parallel with a bounded pool. A copy that rests on a
//! grant or key an earlier step made waits for KMS to propagate it (a DescribeKey probe as the
//! grantee), and is made again if it fails for it within the propagation window (`propagation`).

mod actions;
pub mod cleanup;
pub mod collect;
mod error;
mod execute;
mod journaled;
pub mod prepare;
mod propagation;
pub mod report;
pub mod resolve;
mod run_id;
mod temp_key;
pub mod wait;

pub use error::AcquireError;
pub use execute::{Executor, Settings};
pub use report::{AcquireReport, Event, EvidenceItem, InstanceReport, Progress, StepOutline};
pub use run_id::new_run_id;

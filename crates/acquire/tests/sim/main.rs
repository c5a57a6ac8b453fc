//! The executor on the simulated cloud (`custody_sim`), which authorizes every call with the
//! policy engine against the inventory the way AWS would: every example acquisition path, the
//! refusals the preflight predicts, faults, a kill at every journal write followed by a resume, the
//! stop flag, and cleanup.
//!
//! One test binary with a module per topic: each binary links the AWS SDK (through `custody-cloud`)
//! and weighs hundreds of megabytes in a debug build, so the topics share one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod support;

mod audit_steps_sim;
mod bug_sim;
mod cleanup_sim;
mod crash_resume_sim;
mod encryption_by_default_sim;
mod key_setups_sim;
mod paths_sim;
mod propagation_sim;
mod refusals_sim;
mod stop_sim;
mod volume_sim;

//! Crash tests with real processes: the `custody` binary killed by `abort` (no unwinding, no
//! cleanup) at every journal write of a whole acquisition, then, each in a fresh process, `custody
//! acquire --resume` and (on a copy of what the kill left) `custody cleanup --case`; and cleanup
//! itself killed at each of its writes, then run again.
//!
//! The cloud is the simulated one, kept in a file between processes (`--simulate-state`): every
//! path of the plan runs on it, the cross-account ones included, which moto cannot run. The
//! same-account paths also run on moto (`moto`).
//!
//! What each kill point asserts, against a run never killed (`sim`):
//! - **same evidence**: one evidence item per volume, at the same account, Region, key and path
//!   (ids differ), each a completed snapshot marked `CustodyEvidence=true`;
//! - **nothing temporary left**: no snapshot tagged with the case but the evidence, no share, no
//!   grant, no alias, no temporary key not scheduled for deletion, nothing open in the journal;
//! - **no volume without a copy**: every volume of the instance has its evidence (or, after a
//!   cleanup, the source snapshot of a volume that has no completed copy);
//! - **nothing created twice**: the snapshots made per volume, and the keys, aliases and grants, as
//!   many as the run never killed made (counted from every call the world answered).
//!
//! After a cleanup, the same but for evidence: every completed evidence copy there before cleanup is
//! still there, and a volume without one keeps its source snapshot.
//!
//! The two ways to die: right after the N-th write (what it announced has not happened) and when the
//! N-th write is asked for (what the process did since the previous write has happened: an AWS call
//! whose answer was not recorded). N runs from 1 until a run is no longer killed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod moto;
mod sim;
mod support;

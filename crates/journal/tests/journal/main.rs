//! Integration tests of the journal, on real files in temporary directories.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

mod cases;
mod concurrency;
mod corruption;
mod durability;
mod faults;
mod kill_switch;
mod locks;
mod privacy;
mod resources;
mod roundtrip;
mod steps;
mod support;

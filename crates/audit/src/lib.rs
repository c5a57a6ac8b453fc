//! # custody-audit: every acquisition held against AWS's own record of it
//!
//! custody's preflight predicts every authorization request an acquisition causes; CloudTrail records
//! what really happened: each call custody made (with the request id custody journals) and each call
//! a service made on its behalf (KMS calls invoked by EC2 for the case's snapshots and keys), refusals
//! included. This crate reads that record and holds it against the journal and the plan:
//!
//! - [`record`]: one CloudTrail record, typed ([`TrailRecord`]), with the raw JSON kept beside it.
//! - [`formats`]: CloudTrail's own files, log files as delivered to S3 (gzip or not) and the output
//!   of `aws cloudtrail lookup-events`, and the answers of a live LookupEvents.
//!
//! Like `custody-plan`, the crate is pure: it takes bytes and values, and does no I/O, no async and
//! no AWS calls.

pub mod audit;
pub mod formats;
pub mod model;
pub mod record;
pub mod report;

pub use formats::{read_events, records_from_lookup};
pub use record::{parse_record, EventsError, TrailRecord};

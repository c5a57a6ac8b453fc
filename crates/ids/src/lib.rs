//! The typed names of what custody handles, each with one parser.
//!
//! A name typed on the command line, read back from the journal or answered by AWS is checked once,
//! where it enters, by the parser of its type here; everything after that holds the type, not a
//! string. This crate sits on the ground floor (no other custody crate, no AWS SDK, no I/O) so that
//! the planner, the AWS boundary and the journal can all share it.

pub mod account;
pub mod arn;
pub mod case_id;
pub mod ec2;
mod error;
pub mod region;
pub mod session_name;

pub use account::AccountId;
pub use arn::{Arn, ArnError, ArnPart, AssumedRole, IamName};
pub use case_id::{CaseId, CaseIdError};
pub use ec2::{InstanceId, SnapshotId, VolumeId};
pub use error::IdError;
pub use region::Region;
pub use session_name::sts_session_name;

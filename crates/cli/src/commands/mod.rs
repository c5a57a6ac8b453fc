//! One module per subcommand.

pub mod acquire;
pub mod audit;
pub mod authz;
pub mod cases;
pub mod check;
pub mod cleanup;
pub mod collect;
pub mod completions;
pub mod image;
pub mod init;
pub mod plan;
pub mod policy;
pub mod triage;

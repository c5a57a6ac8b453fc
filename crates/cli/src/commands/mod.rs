//! One module per subcommand.

pub mod authz;
pub mod check;
pub mod collect;
pub mod plan;
pub mod policy;

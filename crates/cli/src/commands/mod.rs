//! One module per subcommand.

pub mod authz;

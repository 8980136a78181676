//! One module per subcommand.

pub mod dhcp;
pub mod name;
pub mod plan;

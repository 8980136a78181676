//! One module per subcommand.

pub mod dhcp;
pub mod emulate;
pub mod firmware;
pub mod name;
pub mod plan;
pub mod rehearse;

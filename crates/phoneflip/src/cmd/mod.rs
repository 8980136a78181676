//! One module per subcommand.

pub mod name;

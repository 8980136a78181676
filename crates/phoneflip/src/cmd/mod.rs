//! One module per subcommand.

pub mod adopt;
pub mod bench;
pub mod cfgfmt;
pub mod check;
pub mod db;
pub mod dhcp;
pub mod doctor;
pub mod emulate;
pub mod firmware;
pub mod jobs;
pub mod name;
pub mod pbx;
pub mod phones;
pub mod plan;
pub mod rehearse;
pub mod render;
pub mod serve;
pub mod templates;

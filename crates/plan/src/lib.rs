//! The conversion planner: the reference's rules as data, the release
//! catalogue, and the pure function that turns "this phone runs X, I want
//! Y" into ordered hops with the exact TFTP-root contents for each.
//!
//! Owns the rules of Cisco document 5455 (each with the title of the
//! section it comes from), the boot table (which control files each load
//! generation reads, used by the emulator and the doctor), the catalogue of
//! known releases and their files, and the plan with its stable JSON form.
//! Must not touch the network, the disk or the clock: callers hand it file
//! names and get data back. Load-name syntax belongs to
//! `phoneflip-firmware`, rendering whole configuration files to
//! `phoneflip-config`.

pub mod catalogue;
pub mod planner;
pub mod rules;

pub use catalogue::{alias_8_3, first_image, release_files, Catalogue, Entry};
pub use planner::{
    plan, ControlFile, Edit, Endpoint, EndpointError, FileCopy, Hop, Plan, PlanError, Reset,
    ResetMethod, Stop, CFGFMT, LATEST_4_PLACEHOLDER, MAX_HOPS, SCHEMA,
};
pub use rules::{
    below_signed_floor, boot_consistent, boot_entry, check_hop, eight_dot_three_applies,
    generation, reads, reads_gkdefault, refuses_long_name, rule, state_error_applies,
    state_error_image, universal_loader_from, w210_applies, w210_buffer_full, Allowed, BootEntry,
    BootFile, Generation, Mechanism, Refusal, Rule, RuleId, BOOT_TABLE, LOADER_HUNT, RULES,
    SIGNED_FLOOR, VIA_SCCP_6_3, W210_LIMIT,
};

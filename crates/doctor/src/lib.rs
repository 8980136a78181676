//! `phoneflip doctor`: finds, in a TFTP root, a TFTP log and a DHCP setup
//! that phoneflip did not necessarily create, the problems the reference's
//! "Common Issues and Troubleshooting Tips" lists, before a phone runs into
//! them; explains each in the reference's terms and fixes what is safe.
//!
//! Owns the checks (pure: [`scan`] over a [`Root`], the listing of the
//! root's files; [`read_root`] is the only place that reads a directory),
//! the safe fixes and their backup ([`fix`]), the log readers ([`log`]),
//! the per-phone timelines and their patterns ([`timeline`]), and the
//! human report ([`render`]).
//!
//! Must not touch: the TFTP server, the inventory, rendering or the
//! planner's decisions; it judges files the way a phone would read them
//! (the emulator's tests hold it to that) and never serves them. Load-name
//! syntax comes from `phoneflip-firmware`, file formats from
//! `phoneflip-config`, rules and section titles from `phoneflip-plan`.

mod checks;
pub mod dhcp_conf;
pub mod finding;
pub mod fix;
pub mod log;
pub mod render;
pub mod root;
pub mod scan;
pub mod timeline;

pub use dhcp_conf::{DhcpOption, DhcpView};
pub use finding::{Check, Finding, Fix, Severity, Symptom};
pub use fix::{apply as apply_fixes, Applied, FixError};
pub use log::{parse_log, ParsedLog, Transfer, TransferOutcome};
pub use render::{render, render_applied, sort as sort_findings};
pub use root::{read_root, read_root_mapped, Content, Root, RootError, RootFile, BACKUP_DIR};
pub use scan::{check_dhcp, scan, Options, W210_LIMIT};
pub use timeline::{diagnose, render_summary, render_timeline, timelines, Pattern, Timeline};

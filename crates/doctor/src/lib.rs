//! `phoneflip doctor`: finds, in a TFTP root, a TFTP log and a DHCP setup
//! that phoneflip did not necessarily create, the problems the reference's
//! "Common Issues and Troubleshooting Tips" lists, before a phone runs into
//! them; explains each in the reference's terms and fixes what is safe.
//!
//! Owns the checks (pure: [`scan`] over a listing of the root's files), the
//! fixes and their backup, the log readers and the timeline patterns.
//! Must not touch: the TFTP server, the inventory or rendering; it judges
//! files the way a phone would read them and never serves them.

pub mod dhcp_conf;
pub mod finding;
pub mod root;
pub mod scan;

pub use dhcp_conf::{DhcpOption, DhcpView};
pub use finding::{Check, Finding, Fix, Severity, Symptom};
pub use root::{read_root, Content, Root, RootError, RootFile, BACKUP_DIR};
pub use scan::{check_dhcp, scan, Options, W210_LIMIT};
pub mod fix;
pub use fix::{apply as apply_fixes, Applied, FixError};
pub mod log;
pub mod timeline;
pub use log::{parse_log, ParsedLog, Transfer, TransferOutcome};
pub use timeline::{diagnose, render_timeline, timelines, Timeline};
pub mod render;
pub use render::{render, render_applied};

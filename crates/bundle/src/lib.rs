//! Firmware bundles: what a user brings (Cisco's zips such as
//! `cmterm-7940-7960-sccp.8-1-2SR2.zip` or the SIP zip, or a folder of
//! extracted files) and what phoneflip makes for tests and rehearsals.
//!
//! Owns: importing a bundle into a TFTP root ([`import()`]): reading it
//! safely ([`source`]: no paths, `..`, absolute names or links, size
//! limits), checking what can be checked of vendor files without decoding
//! them ([`check`]: names, each release complete by the planner's file
//! list, plausible sizes, what OS79XX.TXT and gkdefault.txt name), and
//! copying the bytes unchanged, never overwriting a file silently
//! ([`backup`], shared with the doctor's `--fix`). Also owns the synthetic
//! image format ([`image`]) and synthetic bundles ([`synth`]); the emulator
//! reads the format, this crate never depends on the emulator.
//!
//! Must not: generate or alter vendor files for real phones, or decode
//! Cisco's images (only files with phoneflip's synthetic magic are
//! decoded). Which files a release consists of is `phoneflip-plan`'s rule.

pub mod backup;
pub mod check;
pub mod image;
pub mod import;
pub mod source;
pub mod synth;

pub use backup::{Backup, BACKUP_DIR};
pub use check::{is_synthetic, Problem};
pub use import::{import, import_with, Action, ImportError, ImportReport, Options};
pub use source::{Entry, Limits, SourceError};
pub use synth::{synth, write_zip, Bundle, SizeProfile, SynthError};

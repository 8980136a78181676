//! Bulk migration jobs: selecting phones, rolling a protocol/load change out in batches,
//! inferring each phone's progress from its TFTP fetches, and resetting phones.
//!
//! Owns: the job domain, the sans-IO scheduler, job persistence in its own tables,
//! the SIP check-sync NOTIFY codec and sender, and auto-registration decisions.
//! Must not touch: the inventory's tables or migrations, the TFTP server, config rendering.

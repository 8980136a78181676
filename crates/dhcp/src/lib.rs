//! DHCP help for a conversion: how phones find their TFTP server.
//!
//! The reference's rule: SIP loads take the TFTP server from option 66,
//! SCCP loads (with CallManager) from option 150, and a SIP phone ignores
//! 150. This crate owns the server snippets that hand out both
//! ([`snippet`]), a minimal DHCP codec ([`wire`]) and a probe that asks a
//! real server and tells which phones would find their TFTP server
//! ([`probe`]). It must not know about firmware or the inventory.

pub mod probe;
pub mod snippet;
pub mod wire;

pub use probe::{probe, Finding, ProbeError, ProbeReport};
pub use snippet::{snippet, Dialect, SnippetRequest};

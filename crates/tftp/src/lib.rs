//! TFTP for booting Cisco 7940/7960 phones: server, client and their
//! sans-IO core.
//!
//! Owns the TFTP wire protocol (RFC 1350 with RFC 2347/2348/2349/7440
//! options), the transfer state machines in [`core`], the tokio server in
//! [`server`] (file resolution through [`FileSource`], safe lookup under a
//! root, transfer log in the reference's style, structured events through
//! [`EventSink`]) and the tokio client in [`client`].
//!
//! Must not touch: the inventory, configuration rendering or firmware
//! naming. Per-phone virtual files come in through [`FileSource`] and
//! transfer records leave through [`EventSink`], so those crates plug in
//! without this one knowing them. [`core`] must stay free of tokio and
//! sockets.

pub mod client;
pub mod core;
pub mod log;
pub mod server;
mod source;

pub use crate::core::options::Limits;
pub use crate::core::packet::{ErrorCode, Mode};
pub use crate::core::Outcome;
pub use log::{EventSink, TransferEvent, TransferLog, TransferProgress, PROGRESS_STEP};
pub use server::{Server, ServerConfig};
pub use source::{FileSource, NoVirtualFiles, Resolution, ResolveRequest};

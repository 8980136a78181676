//! The request pipeline between a phone's TFTP request and the bytes it
//! gets: identify the phone (MAC in the file name, or the MAC its address
//! last asked for) → look it up in the inventory → decide the load it must
//! run next (the first hop of its plan) → render the one file it asked for,
//! or let the TFTP server fall through to the files under the root.
//! Transfers are recorded back into the inventory, and the load a phone
//! runs is learnt only from what it fetched, never guessed.
//!
//! Owns the glue ([`Provisioner`] as the TFTP server's `FileSource`,
//! [`Recorder`] as its `EventSink`). Must not parse or write file formats
//! (`phoneflip-config`), decide conversion rules (`phoneflip-plan`) or
//! speak TFTP (`phoneflip-tftp`).

mod observe;
mod pipeline;
mod record;

pub use observe::{Observation, Observer};
pub use pipeline::{AutoRegister, Decision, Provisioner};
pub use record::Recorder;

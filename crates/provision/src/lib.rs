//! The request pipeline, the one place that interprets what phones do:
//! identify the phone (MAC in the file name, or the MAC its address last
//! asked for: [`AddressBook`]) → look it up in the inventory → decide the
//! load it must run next (the first hop of its plan) and render the one
//! file it asked for, or let the TFTP server fall through to the root →
//! record the outcome as a typed event (phone, file kind, outcome, time)
//! and update the load the phone runs, learnt only from what it fetched
//! ([`LoadEvidence`], also the jobs' rule).
//!
//! Owns the glue ([`Provisioner`] as the TFTP server's `FileSource`,
//! [`Recorder`] as its `EventSink`), the address→MAC memory and the
//! "this phone now runs load X" rule. Must not parse or write file formats
//! or classify names (`phoneflip-config`), decide conversion rules
//! (`phoneflip-plan`) or speak TFTP (`phoneflip-tftp`).

mod autoreg_limit;
mod identify;
mod infer;
mod pipeline;
mod record;

pub use autoreg_limit::{AutoRegisterLimiter, AutoRegisterLimits, AutoRegisterRefused, Refusal};
pub use identify::AddressBook;
pub use infer::{config_request, image_role, ImageRole, LoadEvidence};
pub use pipeline::{AutoRegister, Decision, ProvisionError, Provisioner};
pub use record::{to_event, Recorder};

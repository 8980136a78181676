//! The PBX side of a conversion: a converted phone is done when it
//! registers and calls, so the registrar must know its lines.
//!
//! Owns: turning the inventory's lines into SIP accounts and writing them
//! in each PBX's own format ([`export`]: Kamailio `subscriber` rows,
//! Asterisk `pjsip.conf`, FreeSWITCH directory XML), so the credentials
//! are typed once, into phoneflip; and asking the registrar who
//! registered ([`registrar`]: Kamailio's JSON-RPC `ul.dump`, an OPTIONS
//! probe as the fallback). Must not touch: the inventory's storage
//! (the caller hands it the phones), rendering of the phones' files
//! (`phoneflip-config`), or the Digest arithmetic (`phoneflip-sip`'s
//! [`phoneflip_sip::auth::ha1`]).

pub mod export;
pub mod registrar;

pub use export::{accounts, render, Account, ExportError, ExportOptions, Pbx, PhoneLines, Skipped};

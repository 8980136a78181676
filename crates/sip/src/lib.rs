//! The one SIP (RFC 3261) message codec of phoneflip: bytes in, typed
//! messages out, and back.
//!
//! Owns: parsing and writing SIP requests and responses ([`Request`],
//! [`Response`], [`Message`]), their headers in order with lookup by full
//! or compact name ([`Headers`]), and the pieces of header values a user
//! agent needs to match transactions and dialogs: `Via` with its `branch`
//! ([`Via`]), `From`/`To`/`Contact` with their `tag` ([`NameAddr`]), `CSeq`
//! ([`CSeq`]), parameters ([`Params`]) and SIP URIs ([`Uri`]); Digest
//! authentication challenges and credentials ([`auth`]).
//!
//! Must not touch: sockets, clocks, timers or randomness. Transactions,
//! retransmission timers and what a message means (a check-sync NOTIFY,
//! a phone's answer, a registration) belong to the crates using it
//! (`phoneflip-jobs`, `phoneflip-emulator`); they pass bytes in and get
//! bytes out, so everything here is testable without a network.
//!
//! Whatever arrives on a socket is untrusted: nothing here panics on any
//! input, and parsing round-trips — for any bytes that parse,
//! `parse(write(parse(b))) == parse(b)`, and `parse(write(m)) == m` for
//! any message [`Request::validate`] / [`Response::validate`] accepts.
//! The parser is lenient where RFC 3261 asks it to be (CRLFs before the
//! start line, LF-only line ends, folded header lines, compact header
//! names, a binary body sized by `Content-Length`); the writer is strict.

pub mod auth;
mod error;
mod headers;
mod message;
pub mod roundtrip;
mod uri;

pub use auth::{AuthKind, Challenge, Credentials};
pub use error::{SipError, MAX_HEADERS};
pub use headers::{canonical_name, CSeq, Headers, NameAddr, Params, Via};
pub use message::{Message, Request, Response};
pub use uri::Uri;

/// RFC 3261 §25.1 `token`: methods, header names, tags, branches.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// RFC 3261 §25.1 `callid`: `word ["@" word]`, a word being token
/// characters and a few more.
pub fn is_call_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            is_token_byte(b)
                || matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'{'
                        | b'}'
                        | b'@'
                )
        })
}

/// At most 80 characters of untrusted text, for error messages.
pub(crate) fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

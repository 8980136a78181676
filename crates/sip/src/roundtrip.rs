//! The codec's round-trip promise as one check, shared by the cargo-fuzz
//! target (`fuzz/fuzz_targets/sip.rs`) and the proptest run in
//! `cargo test`: nothing may panic, and whatever parses must write back to
//! bytes that parse to the same value (messages, and the Via, From, To and
//! Request-URI inside them). Panics on a broken promise, which is what
//! both callers want.

use crate::{Message, NameAddr, Request, Response, Uri, Via};

/// Checks every parser on `data`; panics when one breaks its promise.
pub fn check(data: &[u8]) {
    if let Ok(m) = Message::parse(data) {
        assert_eq!(Message::parse(&m.to_bytes()).as_ref(), Ok(&m));
        let h = m.headers();
        if let Ok(v) = h.top_via() {
            assert_eq!(Via::parse(&v.to_string()), Ok(v));
        }
        for n in [h.from_addr(), h.to_addr()].into_iter().flatten() {
            assert_eq!(NameAddr::parse(&n.to_string()), Ok(n));
        }
        let _ = h.cseq();
        let _ = h.event_package();
        let _ = h.list("Contact");
        if let Message::Request(r) = &m {
            if let Ok(u) = Uri::parse(&r.uri) {
                assert_eq!(Uri::parse(&u.to_string()), Ok(u));
            }
        }
    }
    if let Ok(r) = Request::parse(data) {
        assert_eq!(Request::parse(&r.to_bytes()).as_ref(), Ok(&r));
    }
    if let Ok(r) = Response::parse(data) {
        assert_eq!(Response::parse(&r.to_bytes()).as_ref(), Ok(&r));
    }
}

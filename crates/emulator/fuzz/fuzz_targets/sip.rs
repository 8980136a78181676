//! Datagrams on an emulated phone's SIP port come from anyone: the
//! agent must never panic, and what it parses and answers must read back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phoneflip_emulator::sip::{Agent, Request, Response};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Request::parse(data) {
        assert_eq!(Request::parse(&r.to_bytes()).as_ref(), Ok(&r));
    }
    if let Ok(r) = Response::parse(data) {
        assert_eq!(Response::parse(&r.to_bytes()).as_ref(), Ok(&r));
    }
    let mut agent = Agent::new("fuzz");
    let reply = agent.handle(data, "127.0.0.1:5060".parse().unwrap());
    if let Some(bytes) = reply.send {
        assert!(Response::parse(&bytes).is_ok());
    }
});

//! Datagrams on any SIP socket (the jobs' NOTIFY sender, an emulated
//! phone, a registrar's answers) come from anyone: the codec must never
//! panic, and whatever parses must write back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phoneflip_sip::roundtrip::check(data));

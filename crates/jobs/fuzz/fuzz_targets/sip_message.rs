//! Whatever arrives on the NOTIFY socket: parsing must never panic, and a
//! response that parses must write out to something that parses the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phoneflip_jobs::{CheckSyncNotify, SipResponse};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = SipResponse::parse(data) {
        if let Ok(again) = SipResponse::parse(&r.to_bytes()) {
            assert_eq!(again.status, r.status);
            assert_eq!(again.call_id, r.call_id);
            assert_eq!(again.cseq, r.cseq);
        }
    }
    if let Ok(n) = CheckSyncNotify::parse(data) {
        let _ = n.to_bytes();
    }
});

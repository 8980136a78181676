//! `--at` values from users: never panic; what parses formats back to the
//! same instant (to the second).
#![no_main]

use libfuzzer_sys::fuzz_target;
use phoneflip_jobs::{format_rfc3339, parse_rfc3339};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(ms) = parse_rfc3339(s) {
            // An offset can push year 0000 or 9999 out of the four-digit
            // range, which RFC 3339 cannot write; every other instant must
            // come back.
            if let Ok(back) = parse_rfc3339(&format_rfc3339(ms)) {
                assert_eq!(back, ms.div_euclid(1000) * 1000);
            } else {
                assert!(!(-62_167_219_200_000..253_402_300_800_000).contains(&ms));
            }
        }
    }
});

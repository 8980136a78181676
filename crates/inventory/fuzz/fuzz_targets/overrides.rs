//! The `overrides` cell (`key=value;key=value` with escapes) round-trips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phoneflip_inventory::bulk::{parse_overrides, write_overrides};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(o) = parse_overrides(s) {
            assert_eq!(parse_overrides(&write_overrides(&o)).as_ref(), Ok(&o));
        }
    }
});

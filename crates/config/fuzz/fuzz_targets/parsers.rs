//! Feeds arbitrary bytes to every parser of phoneflip-config: none may
//! panic, and whatever parses must write back to something that parses to
//! the same value (byte for byte for the lossless formats).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phoneflip_config::roundtrip::check_all(data));

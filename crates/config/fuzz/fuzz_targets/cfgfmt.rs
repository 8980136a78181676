//! Feeds arbitrary bytes to the cfgfmt tag-table parser, the binary
//! profile decoder and the text compiler: none may panic, a decoded profile
//! writes back byte for byte and reads back through its text to the same
//! values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| phoneflip_config::cfgfmt::fuzz_check(data));

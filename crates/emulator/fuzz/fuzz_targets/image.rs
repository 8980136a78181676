//! Synthetic images and .loads indexes arrive from a TFTP server: decoding
//! any bytes must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phoneflip_bundle::image::{Image, LoadsIndex};

fuzz_target!(|data: &[u8]| {
    if let Ok(img) = Image::parse(data) {
        let _ = LoadsIndex::from_payload(&img.payload);
        assert_eq!(Image::parse(&img.to_bytes()).as_ref(), Ok(&img));
    }
    let _ = LoadsIndex::from_payload(data);
});

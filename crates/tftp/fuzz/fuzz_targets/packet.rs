//! Any datagram: parsing must not panic, and whatever parses must
//! round-trip through the writer.
#![no_main]
use libfuzzer_sys::fuzz_target;
use phoneflip_tftp::core::packet::Packet;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        let again = Packet::parse(&p.to_vec()).expect("written packet parses");
        // ERROR messages are decoded lossily; everything else is exact.
        if !matches!(p, Packet::Error { .. }) {
            assert_eq!(again, p);
        }
    }
    let _ = phoneflip_tftp::core::sanitize_name(&String::from_utf8_lossy(data));
});

//! DHCP server configurations are user files.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let view = phoneflip_doctor::DhcpView::parse_config("fuzz.conf", &text);
    let _ = view.tftp_addresses();
});

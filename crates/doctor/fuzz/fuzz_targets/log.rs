//! TFTP logs are user files: any bytes must parse, group and diagnose
//! without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let log = phoneflip_doctor::parse_log(&text);
    let tl = phoneflip_doctor::timelines(&log);
    let _ = phoneflip_doctor::diagnose("fuzz.log", &tl, None);
});

//! A Bulk Administration CSV is a user file: parsing must report errors,
//! never panic, and whatever it accepts must export and parse back equal.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use phoneflip_firmware::Protocol;
use phoneflip_inventory::{parse_csv, write_csv};

fuzz_target!(|data: &[u8]| {
    let templates = BTreeMap::from([
        ("t-sip".to_string(), Protocol::Sip),
        ("t-sccp".to_string(), Protocol::Sccp),
    ]);
    if let Ok(phones) = parse_csv(data, &templates) {
        let mut out = Vec::new();
        write_csv(&phones, &mut out).expect("writing to memory");
        let back = parse_csv(&out[..], &templates).expect("our own export parses");
        assert_eq!(back.len(), phones.len());
        for (a, b) in phones.iter().zip(&back) {
            assert!(a.same_admin_fields(b), "{a:?} != {b:?}");
        }
    }
});

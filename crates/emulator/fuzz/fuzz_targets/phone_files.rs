//! A phone booting against a server that answers every request with the
//! same arbitrary bytes (or an arbitrary error) must end in a state, never
//! panic or loop forever.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phoneflip_device::{Mac, Model};
use phoneflip_emulator::run::{run_with, FetchError};
use phoneflip_emulator::{Flash, Phone, PhoneConfig, TftpSetting};
use phoneflip_firmware::{Protocol, Version};

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (head, body) = data.split_at(3);
    let protocol = [Protocol::Sccp, Protocol::Sip, Protocol::Mgcp][head[0] as usize % 3];
    let version = Version::new(1 + head[1] % 9, head[2] % 13);
    let phone = Phone::new(
        PhoneConfig {
            mac: Mac::new([0, 0x20, 0x94, 0xD2, 0x45, 0xCB]),
            model: Model::Cp7960,
            tftp: TftpSetting::Manual("127.0.0.1:69".parse().unwrap()),
        },
        Flash::with_load(protocol, version),
    );
    let mut n = 0u32;
    let _ = run_with(phone, |_| {
        n += 1;
        if body.first().is_some_and(|b| b % 7 == (n % 7) as u8) {
            Err(FetchError { code: (n % 9) as u16, message: "fuzz".into() })
        } else {
            Ok(body.to_vec())
        }
    });
});

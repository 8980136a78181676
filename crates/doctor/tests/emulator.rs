//! The emulator judges the doctor: a hand-broken root stops an emulated
//! phone, `--fix` repairs it, and the same phone then converts.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

use phoneflip_device::{Mac, Model};
use phoneflip_doctor::{apply_fixes, read_root, scan, Check, Options, BACKUP_DIR, W210_LIMIT};
use phoneflip_emulator::phone::BUFFER_FULL_LIMIT;
use phoneflip_emulator::run::{run_in_memory, Report};
use phoneflip_emulator::synth::{self, SizeProfile};
use phoneflip_emulator::{Flash, Outcome, Phone, PhoneConfig, TftpSetting};
use phoneflip_firmware::{Protocol, Release};

const MAC: &str = "002094D245CB";

fn phone(load: &str) -> Phone {
    let r: Release = load.parse().unwrap();
    Phone::new(
        PhoneConfig {
            mac: MAC.parse::<Mac>().unwrap(),
            model: Model::Cp7960,
            tftp: TftpSetting::Manual("127.0.0.1:69".parse().unwrap()),
        },
        Flash::with_load(r.protocol, r.version),
    )
}

/// The root as a TFTP server would serve it (top level, no backup).
fn served(dir: &Path) -> HashMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file() && e.file_name() != BACKUP_DIR)
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn transcript(r: &Report) -> String {
    r.transcript.iter().map(|e| format!("{e}\n")).collect()
}

#[test]
fn doctor_and_emulator_agree_on_the_w210_threshold() {
    assert_eq!(W210_LIMIT as usize, BUFFER_FULL_LIMIT);
}

#[test]
fn a_root_fixed_by_doctor_converts_an_sccp_3_phone_to_sip_2_3() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // The SIP 2.3 release, copied in by hand with the usual mistakes.
    for (name, bytes) in synth::synth(Protocol::Sip, "2.3".parse().unwrap(), SizeProfile::Small)
        .unwrap()
        .files
    {
        let name = if name == "POS30203.bin" {
            "pos30203.BIN".to_string()
        } else {
            name
        };
        if name != "OS79XX.TXT" {
            fs::write(p.join(name), bytes).unwrap();
        }
    }
    fs::write(p.join("OS79XX.TXT"), b"POS30203.bin \r\n").unwrap();
    let mut big = String::from("image_version: POS30203\nproxy1_address: 10.0.0.1\n");
    while big.len() <= BUFFER_FULL_LIMIT {
        big.push_str("# site settings the phones will read once on a newer release\n");
    }
    fs::write(p.join("SIPDefault.cnf"), &big).unwrap();
    fs::write(
        p.join("sip002094d245cb.cnf"),
        b"line1_name: 100\nline1_authname: 100\n",
    )
    .unwrap();

    let before = run_in_memory(phone("sccp:3.3"), &served(p));
    assert!(!before.outcome.is_stable(), "{}", transcript(&before));

    let opts = Options {
        from: vec!["sccp:3.3".parse().unwrap()],
        ..Options::default()
    };
    let findings = scan(&read_root(p).unwrap(), &opts);
    for check in [
        Check::Os79xxExtension,
        Check::Os79xxWhitespace,
        Check::LoadFileCase,
        Check::ConfigFileCase,
        Check::W210,
    ] {
        assert!(
            findings.iter().any(|f| f.check == check),
            "{check:?} not found: {findings:#?}"
        );
    }
    let applied = apply_fixes(p, &findings, SystemTime::now()).unwrap();
    assert!(applied.skipped.is_empty(), "{:?}", applied.skipped);
    let after = scan(&read_root(p).unwrap(), &opts);
    assert!(
        after
            .iter()
            .all(|f| f.severity != phoneflip_doctor::Severity::Error),
        "{after:#?}"
    );

    let r = run_in_memory(phone("sccp:3.3"), &served(p));
    match &r.outcome {
        Outcome::Stable(s) => {
            assert_eq!((s.protocol, s.load.as_str()), (Protocol::Sip, "POS30203"))
        }
        other => panic!("not converted: {other:?}\n{}", transcript(&r)),
    }
    assert!(
        r.requests().contains(&"SIP002094D245CB.cnf"),
        "{}",
        transcript(&r)
    );
}

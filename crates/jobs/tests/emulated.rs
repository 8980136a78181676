//! Progress inference against the emulator's model of the phones: every
//! conversion the emulated phone completes is seen as converted, and a
//! phone that refuses its image is seen as failed, from the transfers alone.

use std::collections::HashMap;
use std::net::IpAddr;

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_device::{Mac, Model};
use phoneflip_emulator::run::run_in_memory;
use phoneflip_emulator::{Entry, Flash, Outcome, Phone, PhoneConfig, Report, TftpSetting};
use phoneflip_firmware::{Protocol, Release};
use phoneflip_jobs::{infer, Stage, Target, TransferEvent, TransferOutcome};

const MAC: &str = "002094D245CB";

fn mac() -> Mac {
    MAC.parse().unwrap()
}

fn phone(load: &str) -> Phone {
    let r: Release = load.parse().unwrap();
    Phone::new(
        PhoneConfig {
            mac: mac(),
            model: Model::Cp7960,
            tftp: TftpSetting::Manual("127.0.0.1:69".parse().unwrap()),
        },
        Flash::with_load(r.protocol, r.version),
    )
}

fn root(bundles: &[&str]) -> HashMap<String, Vec<u8>> {
    let mut files = HashMap::new();
    for b in bundles {
        let r: Release = b.parse().unwrap();
        for (name, bytes) in synth::synth(r.protocol, r.version, SizeProfile::Small)
            .unwrap()
            .files
        {
            files.insert(name, bytes);
        }
    }
    files
}

fn put(files: &mut HashMap<String, Vec<u8>>, name: &str, text: &str) {
    files.insert(name.to_string(), text.as_bytes().to_vec());
}

/// What a TFTP server would have recorded of the emulated phone's boot.
fn transfers(r: &Report) -> Vec<TransferEvent> {
    let ip: IpAddr = "10.1.1.5".parse().unwrap();
    let ev = |at: u64, file: &str, outcome| {
        TransferEvent::new(
            at as i64,
            phoneflip_config::filename::mac_in(file),
            Some(ip),
            file.trim_start_matches("./"),
            0,
            outcome,
        )
    };
    r.transcript
        .iter()
        .filter_map(|e| match e {
            Entry::Received { at_ms, file, .. } => Some(ev(*at_ms, file, TransferOutcome::Sent)),
            Entry::Error {
                at_ms,
                file,
                code: 1,
                ..
            } => Some(ev(*at_ms, file, TransferOutcome::NotFound)),
            Entry::Error {
                at_ms,
                file,
                message,
                ..
            } => Some(ev(*at_ms, file, TransferOutcome::Failed(message.clone()))),
            _ => None,
        })
        .collect()
}

fn stable(r: &Report, protocol: Protocol) {
    match &r.outcome {
        Outcome::Stable(s) => assert_eq!(s.protocol, protocol),
        o => panic!("emulator: {o:?}"),
    }
}

fn converted_at(r: &Report, target: &str) -> String {
    let t: Target = target.parse().unwrap();
    match infer(mac(), &t, &transfers(r)).stage {
        Stage::Converted { file, .. } => file,
        s => panic!("{s:?} for {:?}", r.requests()),
    }
}

fn sip_8_12_site() -> HashMap<String, Vec<u8>> {
    let mut files = root(&["sip:8.12"]);
    put(
        &mut files,
        "SIPDefault.cnf",
        "image_version: P0S3-8-12-00\n",
    );
    put(
        &mut files,
        &format!("SIP{MAC}.cnf"),
        "image_version: P0S3-8-12-00\nline1_name: 100\n",
    );
    files
}

#[test]
fn sccp_8_1_2_to_sip_8_12() {
    let r = run_in_memory(phone("sccp:8.1(2)SR2"), &sip_8_12_site());
    stable(&r, Protocol::Sip);
    // The loader's hunt asks for SIP<MAC>.cnf three times before the SIP
    // application runs; only the application's SIPDefault.cnf counts.
    assert!(
        r.requests()
            .iter()
            .filter(|f| f.starts_with("SIP0"))
            .count()
            >= 3
    );
    assert_eq!(converted_at(&r, "sip:8.12"), "SIPDefault.cnf");
}

#[test]
fn sccp_5_to_sip_8_12_through_os79xx_and_the_loader() {
    let mut files = sip_8_12_site();
    put(&mut files, "OS79XX.TXT", "P003-8-12-00");
    let r = run_in_memory(phone("sccp:5.0(1.1)"), &files);
    stable(&r, Protocol::Sip);
    assert_eq!(converted_at(&r, "sip:8.12"), "SIPDefault.cnf");
}

#[test]
fn sip_8_12_to_sccp_8_1_2_through_sep_cnf_xml() {
    let mut files = root(&["sccp:8.1(2)SR2"]);
    put(
        &mut files,
        &format!("SEP{MAC}.cnf.xml"),
        r#"<device><deviceProtocol>SCCP</deviceProtocol><loadInformation model="IP Phone 7960">P0030801SR02</loadInformation></device>"#,
    );
    let r = run_in_memory(phone("sip:8.12"), &files);
    stable(&r, Protocol::Sccp);
    assert_eq!(
        converted_at(&r, "sccp:8.1(2)SR2"),
        format!("SEP{MAC}.cnf.xml")
    );
}

#[test]
fn sip_8_12_to_sccp_5_with_a_combined_image() {
    let mut files = root(&["sccp:5.0(1.1)"]);
    put(
        &mut files,
        "SIPDefault.cnf",
        "image_version: P00305000101\n",
    );
    put(&mut files, &format!("SIP{MAC}.cnf"), "line1_name: 100\n");
    let r = run_in_memory(phone("sip:8.12"), &files);
    stable(&r, Protocol::Sccp);
    assert!(converted_at(&r, "sccp:5.0(1.1)").starts_with("SEP"));
}

#[test]
fn a_sip_phone_already_on_the_target_is_seen_on_it() {
    // Its record was stale: the loader reads the index, boots the 8.12
    // application, which asks for SIPDefault.cnf without fetching an image.
    let r = run_in_memory(phone("sip:8.12"), &sip_8_12_site());
    stable(&r, Protocol::Sip);
    assert!(!r.requests().iter().any(|f| f.ends_with(".sb2")));
    assert_eq!(
        converted_at(&r, "sip:8.12"),
        "SIPDefault.cnf (already on the target load)"
    );
}

#[test]
fn an_sccp_phone_already_on_the_target_is_not_taken_for_converted() {
    // The loader's hunt asks for SEP<MAC>.cnf.xml on any load, so without
    // an image fetch it proves nothing.
    let mut files = root(&["sccp:8.1(2)SR2"]);
    put(
        &mut files,
        &format!("SEP{MAC}.cnf.xml"),
        r#"<device><deviceProtocol>SCCP</deviceProtocol><loadInformation model="IP Phone 7960">P0030801SR02</loadInformation></device>"#,
    );
    let r = run_in_memory(phone("sccp:8.1(2)SR2"), &files);
    stable(&r, Protocol::Sccp);
    let t: Target = "sccp:8.1(2)SR2".parse().unwrap();
    assert!(!infer(mac(), &t, &transfers(&r)).stage.is_terminal());
}

#[test]
fn old_sccp_to_sip_3_is_seen_failing() {
    let mut files = root(&["sip:3.0"]);
    put(
        &mut files,
        "SIPDefault.cnf",
        "image_version: POS3-03-0-00\n",
    );
    let r = run_in_memory(phone("sccp:3.3"), &files);
    assert!(matches!(r.outcome, Outcome::Failed(_)), "{:?}", r.outcome);
    let t: Target = "sip:3.0".parse().unwrap();
    match infer(mac(), &t, &transfers(&r)).stage {
        Stage::Failed { cause } => {
            assert!(cause.contains("POS3-03-0-00.bin"), "{cause}");
            assert!(cause.contains("State Error"), "{cause}");
        }
        s => panic!("{s:?} for {:?}", r.requests()),
    }
}

//! Issue 12's misses: each a broken root built by the test, the doctor's
//! finding, and the emulator showing what the phone does with that root.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_device::{Mac, Model};
use phoneflip_doctor::{read_root, scan, Check, Finding, Options, Severity, BACKUP_DIR};
use phoneflip_emulator::run::{run_in_memory, Report};
use phoneflip_emulator::{Flash, Outcome, Phone, PhoneConfig, TftpSetting};
use phoneflip_firmware::Release;

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

fn bundle(release: &str) -> HashMap<String, Vec<u8>> {
    let r: Release = release.parse().unwrap();
    synth::synth(r.protocol, r.version, SizeProfile::Small)
        .unwrap()
        .files
        .into_iter()
        .collect()
}

/// A SIP 8.12 site as the zip leaves it, with its SIP files.
fn sip_8_12_site() -> HashMap<String, Vec<u8>> {
    let mut f = bundle("sip:8.12");
    f.insert(
        "SIPDefault.cnf".into(),
        b"image_version: P0S3-8-12-00\nproxy1_address: 10.0.0.1\nproxy_register: 1\n".to_vec(),
    );
    f.insert(
        format!("SIP{MAC}.cnf"),
        b"image_version: P0S3-8-12-00\nline1_name: 100\nline1_authname: 100\nline1_password: x\n"
            .to_vec(),
    );
    f
}

fn write_root(files: &HashMap<String, Vec<u8>>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (n, b) in files {
        fs::write(dir.path().join(n), b).unwrap();
    }
    dir
}

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

fn doctor(dir: &Path, from: &[&str]) -> Vec<Finding> {
    let opts = Options {
        from: from.iter().map(|r| r.parse().unwrap()).collect(),
        ..Options::default()
    };
    scan(&read_root(dir).unwrap(), &opts)
}

fn transcript(r: &Report) -> String {
    r.transcript.iter().map(|e| format!("{e}\n")).collect()
}

fn errors(f: &[Finding], check: Check) -> Vec<&Finding> {
    f.iter()
        .filter(|f| f.check == check && f.severity == Severity::Error)
        .collect()
}

#[test]
fn a_leftover_sep_file_naming_sccp_pulls_a_sip_8_12_phone_back() {
    let mut files = sip_8_12_site();
    files.extend(bundle("sccp:8.1(2)SR2"));
    files.insert(
        format!("SEP{MAC}.cnf.xml"),
        br#"<device><deviceProtocol>SCCP</deviceProtocol><loadInformation model="IP Phone 7960">P0030801SR02</loadInformation></device>"#.to_vec(),
    );
    let dir = write_root(&files);
    // The emulator: the loader's hunt reads SEP<MAC>.cnf.xml first.
    let r = run_in_memory(phone("sip:8.12"), &served(dir.path()));
    assert!(
        !matches!(&r.outcome, Outcome::Stable(s) if s.load == "P0S3-8-12-00"),
        "{:?}\n{}",
        r.outcome,
        transcript(&r)
    );
    assert!(
        r.requests().contains(&"P0030801SR02.loads"),
        "{}",
        transcript(&r)
    );
    let f = doctor(dir.path(), &["sip:8.12"]);
    let e = errors(&f, Check::LeftoverSep);
    assert_eq!(e.len(), 1, "{f:#?}");
    assert_eq!(e[0].file.as_deref(), Some(&*format!("SEP{MAC}.cnf.xml")));
    assert!(e[0].problem.contains("P0030801SR02"), "{}", e[0].problem);

    // The fix: delete it; the phone then stays on SIP 8.12.
    fs::remove_file(dir.path().join(format!("SEP{MAC}.cnf.xml"))).unwrap();
    let r = run_in_memory(phone("sip:8.12"), &served(dir.path()));
    assert!(
        matches!(&r.outcome, Outcome::Stable(s) if s.load == "P0S3-8-12-00"),
        "{:?}\n{}",
        r.outcome,
        transcript(&r)
    );
    assert!(errors(&doctor(dir.path(), &["sip:8.12"]), Check::LeftoverSep).is_empty());
}

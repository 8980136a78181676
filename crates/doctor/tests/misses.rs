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

/// The SIP files name the image but leave out what registering needs: the
/// phone converts (the emulator reaches SIP 8.12) and then never
/// registers, which only the doctor can say.
#[test]
fn a_sip_target_without_proxy_register_or_credentials_never_registers() {
    for (default, own, missing) in [
        (
            "image_version: P0S3-8-12-00\nproxy_register: 1\n",
            "line1_name: 100\nline1_password: x\n",
            "proxy1_address",
        ),
        (
            "image_version: P0S3-8-12-00\nproxy1_address: 10.0.0.1\n",
            "line1_name: 100\nline1_password: x\n",
            "proxy_register: 1",
        ),
        (
            "image_version: P0S3-8-12-00\nproxy1_address: 10.0.0.1\nproxy_register: 1\n",
            "line1_name: 100\n",
            "line1_password",
        ),
    ] {
        let mut files = sip_8_12_site();
        files.insert("SIPDefault.cnf".into(), default.as_bytes().to_vec());
        // The loader's hunt reads image_version from SIP<MAC>.cnf itself.
        let own = format!("image_version: P0S3-8-12-00\n{own}");
        files.insert(format!("SIP{MAC}.cnf"), own.into_bytes());
        let dir = write_root(&files);
        let r = run_in_memory(phone("sccp:8.1(2)SR2"), &served(dir.path()));
        assert!(
            matches!(&r.outcome, Outcome::Stable(s) if s.load == "P0S3-8-12-00"),
            "{:?}\n{}",
            r.outcome,
            transcript(&r)
        );
        let f = doctor(dir.path(), &["sccp:8.1(2)SR2"]);
        let e = errors(&f, Check::NoRegistration);
        assert_eq!(e.len(), 1, "{missing}: {f:#?}");
        assert!(e[0].problem.contains(missing), "{}", e[0].problem);
        assert!(e[0].problem.contains("never registers"), "{}", e[0].problem);
    }
    // The whole site: no such error.
    let dir = write_root(&sip_8_12_site());
    assert!(errors(
        &doctor(dir.path(), &["sccp:8.1(2)SR2"]),
        Check::NoRegistration
    )
    .is_empty());
}

#[test]
fn broken_side_files_are_found() {
    let mut files = sip_8_12_site();
    // dbaldree's syncinfo.xml: the second VERSION quote is never closed.
    files.insert(
        "syncinfo.xml".into(),
        b"<SYNCINFO>\n   <IMAGE VERSION=\"*\" SYNC=\"1\"/>\n   <IMAGE VERSION=\"P0S3-8-12-00 SYNC=\"1\"/>\n</SYNCINFO>\n".to_vec(),
    );
    files.insert(
        "RINGLIST.DAT".into(),
        b"Old Style\tringer1.pcm\r\nSynth Low\tringer2.pcm\r\n".to_vec(),
    );
    files.insert("ringer1.pcm".into(), vec![0; 16]);
    files.insert("ringer2.pcm".into(), vec![0; 16]);
    files.insert(format!("CTLSEP{MAC}.tlv"), vec![0x0a]);
    files.insert(
        "XMLDefault.cnf.xml".into(),
        br#"<Default><loadInformation7 model="IP Phone 7960">P0S3-8-12-00</loadInformation7><sshUserId>cisco</sshUserId>
<sshPassword>cisco</sshPassword></Default>"#
            .to_vec(),
    );
    let mut sip_default = files["SIPDefault.cnf"].clone();
    sip_default.extend_from_slice(b"dial_template: dialplan\n");
    files.insert("SIPDefault.cnf".into(), sip_default);
    let dir = write_root(&files);
    let f = doctor(dir.path(), &["sccp:8.1(2)SR2"]);
    let one = |check: Check| -> Finding {
        let v: Vec<&Finding> = f.iter().filter(|x| x.check == check).collect();
        assert_eq!(v.len(), 1, "{check:?}: {f:#?}");
        v[0].clone()
    };
    assert_eq!(
        one(Check::SyncInfoUnreadable).file.as_deref(),
        Some("syncinfo.xml")
    );
    assert_eq!(one(Check::CtlJunk).severity, Severity::Error);
    assert_eq!(
        one(Check::DefaultSshCredentials).file.as_deref(),
        Some("XMLDefault.cnf.xml")
    );
    assert!(one(Check::DialPlanMissing).problem.contains("dialplan.xml"));
    // --fix rewrites RINGLIST.DAT exactly as render writes it: LF only.
    let crlf = one(Check::RingListLineEnding);
    let applied =
        phoneflip_doctor::apply_fixes(dir.path(), &[crlf], std::time::SystemTime::now()).unwrap();
    assert_eq!(applied.changes.len(), 1);
    assert_eq!(
        fs::read(dir.path().join("RINGLIST.DAT")).unwrap(),
        b"Old Style\tringer1.pcm\nSynth Low\tringer2.pcm\n"
    );
    assert!(doctor(dir.path(), &["sccp:8.1(2)SR2"])
        .iter()
        .all(|x| x.check != Check::RingListLineEnding));
}

#[test]
fn only_the_loader_named_is_protocol_application_invalid() {
    let mut files = sip_8_12_site();
    for f in ["SIPDefault.cnf".to_string(), format!("SIP{MAC}.cnf")] {
        let text = String::from_utf8(files[&f].clone())
            .unwrap()
            .replace("P0S3-8-12-00", "P003-8-12-00");
        files.insert(f, text.into_bytes());
    }
    let dir = write_root(&files);
    let r = run_in_memory(phone("sccp:8.1(2)SR2"), &served(dir.path()));
    // The emulator: the loader asks for P003-8-12-00.loads, which no
    // release has.
    let Outcome::Failed(failure) = &r.outcome else {
        panic!("{:?}\n{}", r.outcome, transcript(&r));
    };
    let f = doctor(dir.path(), &["sccp:8.1(2)SR2"]);
    let e = errors(&f, Check::LoaderAsImage);
    assert_eq!(e.len(), 2, "{f:#?}");
    for x in e {
        assert!(x.fix.contains("P0S3-8-12-00"), "{x:#?}");
        // The same words as the phone's screen.
        assert_eq!(x.symptom.unwrap().text(), failure.display());
    }
}

/// SIP 4.x straight to SCCP 8.x, and SIP 3.x straight to SCCP 5.x: the
/// planner's rule graph refuses both hops, and the doctor says so for an
/// OS79XX.TXT that tries them.
#[test]
fn direct_reverts_the_rules_refuse() {
    for (from, os79, bundle_of, rule_words) in [
        ("sip:4.4", "P0030801SR02", "sccp:8.1(2)SR2", "6.3 image"),
        (
            "sip:3.0",
            "P00305000101",
            "sccp:5.0(1.1)",
            "latest SCCP 4.x",
        ),
    ] {
        let mut files = bundle(bundle_of);
        files.insert("OS79XX.TXT".into(), os79.as_bytes().to_vec());
        let dir = write_root(&files);
        let f = doctor(dir.path(), &[from]);
        let e = errors(&f, Check::RefusedHop);
        assert_eq!(e.len(), 1, "{from}: {f:#?}");
        assert!(e[0].problem.contains(rule_words), "{}", e[0].problem);
        assert!(e[0].fix.contains("phoneflip plan"), "{}", e[0].fix);
        // Through the intermediate load there is no such error.
        let ok = doctor(dir.path(), &["sip:5.0"]);
        assert!(errors(&ok, Check::RefusedHop).is_empty(), "{ok:#?}");
    }
}

/// A file only its owner may read: the doctor may run as root and open
/// it, the TFTP daemon (user tftp, nobody) cannot.
#[cfg(unix)]
#[test]
fn a_file_the_tftp_daemon_cannot_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = write_root(&sip_8_12_site());
    let path = dir.path().join(format!("SIP{MAC}.cnf"));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let f = doctor(dir.path(), &["sccp:8.1(2)SR2"]);
    let e = errors(&f, Check::Unreadable);
    assert_eq!(e.len(), 1, "{f:#?}");
    assert!(e[0].problem.contains("0600"), "{}", e[0].problem);
    assert!(e[0].fix.contains("chmod a+r"), "{}", e[0].fix);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(errors(&doctor(dir.path(), &["sccp:8.1(2)SR2"]), Check::Unreadable).is_empty());
}

/// The doctor's "phone shows" is the emulator's screen, word for word:
/// both come from `phoneflip_plan::rules::screen`.
#[test]
fn doctor_and_emulator_show_the_same_words() {
    // No downgrade below 5.0: a SIP 5.0 phone offered SIP 2.3.
    let mut files = bundle("sip:2.3");
    files.insert(
        "SIPDefault.cnf".into(),
        b"image_version: POS30203\n".to_vec(),
    );
    files.insert(
        format!("SIP{MAC}.cnf"),
        b"image_version: POS30203\nproxy1_address: 10.0.0.1\nproxy_register: 1\nline1_name: 1\nline1_password: x\n".to_vec(),
    );
    let dir = write_root(&files);
    let r = run_in_memory(phone("sip:5.0"), &served(dir.path()));
    let Outcome::Failed(failure) = &r.outcome else {
        panic!("{:?}\n{}", r.outcome, transcript(&r));
    };
    let f = doctor(dir.path(), &["sip:5.0"]);
    let e = errors(&f, Check::DowngradeBelow5);
    assert!(!e.is_empty(), "{f:#?}");
    for x in e {
        assert_eq!(x.symptom.unwrap().text(), failure.display(), "{x:#?}");
    }
}

/// A SIP 3.0+ name in the 2.x form (POS30704 for 7.4) in OS79XX.TXT, and
/// in image_version: the doctor's words are the emulator's screen.
#[test]
fn a_wrong_name_form_shows_the_emulators_words() {
    let mut files = bundle("sip:7.4");
    files.insert("OS79XX.TXT".into(), b"POS30704".to_vec());
    let dir = write_root(&files);
    let r = run_in_memory(phone("sccp:3.3"), &served(dir.path()));
    let Outcome::Failed(failure) = &r.outcome else {
        panic!("{:?}\n{}", r.outcome, transcript(&r));
    };
    let f = doctor(dir.path(), &["sccp:3.3"]);
    let e = errors(&f, Check::Os79xxWrongForm);
    assert_eq!(e.len(), 1, "{f:#?}");
    assert_eq!(
        e[0].symptom.unwrap().text(),
        failure.display(),
        "{}",
        transcript(&r)
    );
}

/// An image that is there and not empty but is not what it was (one
/// byte changed, as a text-mode copy does): the doctor names it in the
/// emulator's words, and a whole copy converts the phone.
#[test]
fn a_corrupted_image_that_is_not_empty() {
    let mut files = sip_8_12_site();
    let good = files["P0S3-8-12-00.sb2"].clone();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x20;
    files.insert("P0S3-8-12-00.sb2".into(), bad);
    let dir = write_root(&files);
    let r = run_in_memory(phone("sccp:8.1(2)SR2"), &served(dir.path()));
    let Outcome::Failed(failure) = &r.outcome else {
        panic!("{:?}\n{}", r.outcome, transcript(&r));
    };
    let f = doctor(dir.path(), &["sccp:8.1(2)SR2"]);
    let e = errors(&f, Check::DamagedImage);
    assert_eq!(e.len(), 1, "{f:#?}");
    assert_eq!(e[0].file.as_deref(), Some("P0S3-8-12-00.sb2"));
    assert!(e[0].problem.contains("checksum"), "{}", e[0].problem);
    assert_eq!(e[0].symptom.unwrap().text(), failure.display());
    assert_eq!(failure.display(), "Image Authentication Failed");
    // A vendor image cut short (not a synthetic one: judged by its size).
    fs::write(dir.path().join("P0S3-8-12-00.sb2"), vec![0x55; 4096]).unwrap();
    let f = doctor(dir.path(), &["sccp:8.1(2)SR2"]);
    let e = errors(&f, Check::DamagedImage);
    assert_eq!(e.len(), 1, "{f:#?}");
    assert!(e[0].problem.contains("4096 bytes"), "{}", e[0].problem);
    // The whole copy: no finding, and the phone converts.
    fs::write(dir.path().join("P0S3-8-12-00.sb2"), &good).unwrap();
    assert!(errors(
        &doctor(dir.path(), &["sccp:8.1(2)SR2"]),
        Check::DamagedImage
    )
    .is_empty());
    let r = run_in_memory(phone("sccp:8.1(2)SR2"), &served(dir.path()));
    assert!(
        matches!(&r.outcome, Outcome::Stable(s) if s.load == "P0S3-8-12-00"),
        "{:?}\n{}",
        r.outcome,
        transcript(&r)
    );
}

/// One line a phone cannot read (an unclosed quote) spoils only that
/// line: the doctor still reads image_version and the rest, as the phone
/// does, so there is no false "No Load Specified" and the bad line is a
/// warning of its own.
#[test]
fn one_bad_line_does_not_void_a_sip_file() {
    let mut files = sip_8_12_site();
    files.insert(
        "SIPDefault.cnf".into(),
        b"image_version: P0S3-8-12-00\nphone_label: \"Front desk\nproxy1_address: 10.0.0.1\nproxy_register: 1\n"
            .to_vec(),
    );
    let dir = write_root(&files);
    let r = run_in_memory(phone("sccp:8.1(2)SR2"), &served(dir.path()));
    assert!(
        matches!(&r.outcome, Outcome::Stable(s) if s.load == "P0S3-8-12-00"),
        "{:?}\n{}",
        r.outcome,
        transcript(&r)
    );
    let f = doctor(dir.path(), &["sccp:8.1(2)SR2"]);
    assert!(f.iter().all(|x| x.severity != Severity::Error), "{f:#?}");
    let bad: Vec<_> = f
        .iter()
        .filter(|x| x.check == Check::SipLineUnreadable)
        .collect();
    assert_eq!(bad.len(), 1, "{f:#?}");
    assert_eq!(bad[0].line, Some(2));
    assert_eq!(bad[0].severity, Severity::Warning);
    assert_eq!(bad[0].file.as_deref(), Some("SIPDefault.cnf"));
}

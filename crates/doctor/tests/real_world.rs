//! The doctor on the real roots of `shared/corpus/real-world` (see its
//! README): the false alarms of issue 12 fixed so far stay fixed, and the
//! problems the README lists stay found. The corpus holds no firmware, so
//! missing-image findings are expected and not checked here.

use std::path::PathBuf;

use phoneflip_doctor::{read_root, scan, Check, Finding, Fix, Options, Severity};

fn corpus() -> Option<PathBuf> {
    let found = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/corpus/real-world"))
        .find(|p| p.is_dir());
    if found.is_none() {
        eprintln!("!!! SKIPPED: shared/corpus/real-world not found above the crate; the real-root tests did not run");
    }
    found
}

fn doctor(root: &str, from: &[&str]) -> Option<Vec<Finding>> {
    let dir = corpus()?.join(root);
    let opts = Options {
        from: from.iter().map(|r| r.parse().unwrap()).collect(),
        ..Options::default()
    };
    Some(scan(&read_root(&dir).unwrap(), &opts))
}

fn has(fs: &[Finding], check: Check, file: &str) -> Vec<Finding> {
    fs.iter()
        .filter(|f| f.check == check && f.file.as_deref() == Some(file))
        .cloned()
        .collect()
}

#[test]
fn sip_6_3_fleet_on_a_sip_8_12_root_is_not_told_it_targets_sccp() {
    // XMLDefault.cnf.xml carries P0S3-8-12-00, as conversion roots do.
    let Some(fs) = doctor("dbaldree", &["sip:6.3"]) else {
        return;
    };
    assert!(
        fs.iter().all(|f| f.check != Check::GkdefaultMissing),
        "{fs:#?}"
    );
    // The README's problems are still found: the stray </line>.
    assert_eq!(
        has(&fs, Check::ConfigUnreadable, "SEP0014638ADF5E.cnf.xml").len(),
        1
    );
}

#[test]
fn os79xx_faults_are_no_errors_for_a_fleet_that_never_reads_it() {
    let Some(fs) = doctor("meow-sccp", &["sccp:8.1(2)SR2"]) else {
        return;
    };
    let os79: Vec<_> = fs
        .iter()
        .filter(|f| f.file.as_deref() == Some("OS79XX.TXT"))
        .collect();
    assert!(!os79.is_empty());
    assert!(
        os79.iter().all(|f| f.severity != Severity::Error),
        "{os79:#?}"
    );
    // A fleet that does read it still gets errors (CR + space, README).
    let Some(fs) = doctor("dbaldree", &["sccp:5.0(1.1)"]) else {
        return;
    };
    let ws = has(&fs, Check::Os79xxWhitespace, "OS79XX.TXT");
    assert!(!ws.is_empty() && ws.iter().all(|f| f.severity == Severity::Error));
}

#[test]
fn os79xx_naming_the_application_is_fixed_to_the_loader() {
    // README: "P0S3-8-12-00\r\n", the application instead of the loader.
    let Some(fs) = doctor("julianhead", &[]) else {
        return;
    };
    let app = has(&fs, Check::Os79xxNamesApplication, "OS79XX.TXT");
    assert_eq!(app.len(), 1, "{fs:#?}");
    assert!(
        app[0].fix.contains("write only P003-8-12-00"),
        "{:#?}",
        app[0]
    );
    // --fix writes what render writes: the name, no line terminator.
    let render = phoneflip_config::Os79xx::for_load("P003-8-12-00".parse().unwrap()).to_bytes();
    for f in [&app[0], &has(&fs, Check::Os79xxWhitespace, "OS79XX.TXT")[0]] {
        assert_eq!(
            f.auto_fix,
            Some(Fix::Rewrite {
                file: "OS79XX.TXT".into(),
                contents: String::from_utf8(render.clone()).unwrap()
            })
        );
    }
    // What the phone must then find is the loader.
    let missing = has(&fs, Check::LoadMissing, "OS79XX.TXT");
    assert!(
        missing[0].problem.contains("P003-8-12-00.bin"),
        "{:#?}",
        missing[0]
    );
}

#[test]
fn loads_of_other_models_are_not_protocol_application_invalid() {
    let Some(fs) = doctor("pripyat", &[]) else {
        return;
    };
    assert!(
        has(&fs, Check::ConfigUnreadable, "SEP6886A7C56885.cnf.xml").is_empty(),
        "{fs:#?}"
    );
    // README: XMLDefault.cnf.xml's mismatched end tags are real.
    assert_eq!(
        has(&fs, Check::ConfigUnreadable, "XMLDefault.cnf.xml").len(),
        1
    );
    let Some(fs) = doctor("ktt-ol", &[]) else {
        return;
    };
    let f = &has(&fs, Check::Os79xxNotALoad, "OS79XX.txt")[0];
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.problem.contains("7906/7911"), "{}", f.problem);
}

#[test]
fn no_8_3_alias_for_the_universal_loader() {
    // OS79XX.TXT holds P003-8-12-00 (with a trailing space and CRLF).
    let Some(fs) = doctor("staskobzar/sip", &["sip:2.1"]) else {
        return;
    };
    assert!(fs.iter().all(|f| f.check != Check::SccpName83), "{fs:#?}");
}

type Row = (Check, Severity, Option<&'static str>, Option<usize>);

/// Issue 12, "done when": the doctor on each real root, as a new user runs
/// it (no --from), gives exactly these findings. Each has the reason it is
/// right. The repositories hold no firmware, so the images a root names
/// are really missing from it as given.
#[test]
fn every_real_root_gives_exactly_its_table() {
    use Check::*;
    use Severity::{Error as E, Info as I, Warning as W};
    let sccp_root_no_os79xx: Row = (
        // An SCCP root: SCCP phones read XMLDefault.cnf.xml, only SIP
        // phones going back to SCCP would need OS79XX.TXT: a note.
        Os79xxMissing,
        I,
        Some("OS79XX.TXT"),
        None,
    );
    let table: Vec<(&str, Vec<Row>)> = vec![
        (
            "chan-sccp",
            vec![
                // loadInformation names P0030801SR02; its .loads is not there.
                (LoadMissing, E, Some("XMLDefault.cnf.xml"), None),
                sccp_root_no_os79xx,
            ],
        ),
        (
            "dbaldree",
            vec![
                // README: both SEP files have a stray </line>. A warning:
                // the phone still finds its loadInformation (the emulator
                // boots SIP 8.12 from this root, see below), as the
                // "working configuration" says.
                (ConfigUnreadable, W, Some("SEP0014638ADF5E.cnf.xml"), None),
                (ConfigUnreadable, W, Some("SEP0014A3712E61.cnf.xml"), None),
                // README: "P0S3-8-12-00 \r\n": CR, space, and the application.
                (Os79xxWhitespace, E, Some("OS79XX.TXT"), Some(1)),
                (Os79xxWhitespace, E, Some("OS79XX.TXT"), Some(1)),
                (Os79xxNamesApplication, E, Some("OS79XX.TXT"), Some(1)),
                // The loader it should name, and the image_version's .loads.
                (LoadMissing, E, Some("OS79XX.TXT"), Some(1)),
                (LoadMissing, E, Some("SIPDefault.cnf"), Some(3)),
                // Four ring files RINGLIST.DAT lists, none in the repository.
                (RingList, W, Some("RINGLIST.DAT"), None),
                (RingList, W, Some("RINGLIST.DAT"), None),
                (RingList, W, Some("RINGLIST.DAT"), None),
                (RingList, W, Some("RINGLIST.DAT"), None),
                // README: the second IMAGE line's VERSION quote is unclosed.
                (SyncInfoUnreadable, W, Some("syncinfo.xml"), None),
                // Both SEP files keep the vendor's cisco/cisco SSH login.
                (
                    DefaultSshCredentials,
                    W,
                    Some("SEP0014638ADF5E.cnf.xml"),
                    None,
                ),
                (
                    DefaultSshCredentials,
                    W,
                    Some("SEP0014A3712E61.cnf.xml"),
                    None,
                ),
            ],
        ),
        (
            "dkgroot",
            vec![
                (LoadMissing, E, Some("XMLDefault.cnf.xml"), None),
                sccp_root_no_os79xx,
                // sshUserId/sshPassword cisco/cisco.
                (DefaultSshCredentials, W, Some("XMLDefault.cnf.xml"), None),
            ],
        ),
        (
            "julianhead",
            vec![
                // README: "P0S3-8-12-00\r\n".
                (Os79xxWhitespace, E, Some("OS79XX.TXT"), Some(1)),
                (Os79xxNamesApplication, E, Some("OS79XX.TXT"), Some(1)),
                (LoadMissing, E, Some("OS79XX.TXT"), Some(1)),
                (LoadMissing, E, Some("SIPDefault.cnf"), Some(1)),
            ],
        ),
        (
            "klobes5",
            vec![
                // README: "P0S3-07-5-00\r\n".
                (Os79xxWhitespace, E, Some("OS79XX.TXT"), Some(1)),
                (Os79xxNamesApplication, E, Some("OS79XX.TXT"), Some(1)),
                (LoadMissing, E, Some("OS79XX.TXT"), Some(1)),
                (LoadMissing, E, Some("SIPDefault.cnf"), Some(1)),
                // 16348 is below the 16384..32766 range (a typo of 16384).
                (SipParameter, W, Some("SIPDefault.cnf"), Some(27)),
                // "rdda_ptft_nyd" is dyn_tftp_addr spelt backwards: no phone
                // knows it.
                (SipParameter, W, Some("SIPDefault.cnf"), Some(33)),
                // preferred_codec "none" (line 38) is a documented value
                // (Cisco's SIP administration guide): no finding.
                // dial_template "dialplan", and the repository has no
                // dialplan.xml in tftpboot/.
                (DialPlanMissing, W, Some("SIP001563BC753D.cnf"), None),
            ],
        ),
        (
            "ktt-ol",
            vec![
                // README: lower-case .txt, holding a 7911 load: to a 7940/7960
                // the file is missing (a warning, as a missing one is) and its
                // load is another model's.
                (Os79xxFileCase, W, Some("OS79XX.txt"), None),
                (Os79xxNotALoad, W, Some("OS79XX.txt"), Some(1)),
            ],
        ),
        (
            "lrcamargo",
            vec![
                // README: loadInformation8 (the 7940's code) for a 7962 load:
                // the file parses; a 7940 would ask for a 7962 load and keep
                // its own. A warning, not No Load Specified: the root is a
                // 7962 root and names an image.
                (LoadForOtherModel, W, Some("XMLDefault.cnf.xml"), None),
                sccp_root_no_os79xx,
            ],
        ),
        (
            "meow-sccp",
            vec![
                // OS79XX.TXT names P0030801SR02; its .bin is not there.
                (LoadMissing, E, Some("OS79XX.TXT"), Some(1)),
                // P0030801SR02 is SCCP 8.1: a phone on SIP 4.x or older
                // reading OS79XX.TXT may not go there directly (via 6.3).
                (RefusedHop, W, Some("OS79XX.TXT"), Some(1)),
            ],
        ),
        (
            "meow-sip",
            vec![
                // README: the application, not the loader.
                (Os79xxNamesApplication, E, Some("OS79XX.TXT"), Some(1)),
                (LoadMissing, E, Some("OS79XX.TXT"), Some(1)),
            ],
        ),
        (
            "nikscave",
            vec![
                (LoadMissing, E, Some("SIPDefault.cnf"), Some(2)),
                // A SIP 8.12 root without OS79XX.TXT: phones on pre-loader
                // loads would not convert; unknown without --from.
                (Os79xxMissing, W, Some("OS79XX.TXT"), None),
                (RingList, W, Some("RINGLIST.DAT"), None),
                (SipParameter, W, Some("SIPDefault.cnf"), Some(27)),
                // RINGLIST.DAT ends its line in CR LF.
                (RingListLineEnding, W, Some("RINGLIST.DAT"), Some(1)),
            ],
        ),
        (
            "pripyat",
            vec![
                // README: mismatched end tags.
                (ConfigUnreadable, E, Some("XMLDefault.cnf.xml"), None),
                sccp_root_no_os79xx,
            ],
        ),
        (
            "staskobzar/sccp",
            vec![
                (LoadMissing, E, Some("XMLDefault.cnf.xml"), None),
                sccp_root_no_os79xx,
                (DefaultSshCredentials, W, Some("XMLDefault.cnf.xml"), None),
            ],
        ),
        (
            "staskobzar/sip",
            vec![
                // README: "P003-8-12-00 \r\n": the loader, with space and CR.
                (Os79xxWhitespace, E, Some("OS79XX.TXT"), Some(1)),
                (Os79xxWhitespace, E, Some("OS79XX.TXT"), Some(1)),
                (LoadMissing, E, Some("OS79XX.TXT"), Some(1)),
                (LoadMissing, E, Some("XMLDefault.cnf.xml"), None),
                (DefaultSshCredentials, W, Some("XMLDefault.cnf.xml"), None),
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (root, want) in table {
        let Some(fs) = doctor(root, &[]) else {
            return;
        };
        let mut got: Vec<(Check, Severity, Option<String>, Option<usize>)> = fs
            .iter()
            .map(|f| (f.check, f.severity, f.file.clone(), f.line))
            .collect();
        let mut want: Vec<(Check, Severity, Option<String>, Option<usize>)> = want
            .into_iter()
            .map(|(c, s, f, l)| (c, s, f.map(str::to_string), l))
            .collect();
        got.sort();
        want.sort();
        if got != want {
            let detail: Vec<String> = fs
                .iter()
                .map(|f| {
                    format!(
                        "  {:?} {:?} {:?} {:?}: {}",
                        f.check, f.severity, f.file, f.line, f.problem
                    )
                })
                .collect();
            failures.push(format!("{root}:\n{}", detail.join("\n")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// dkgroot's tree as its tftpd-hpa serves it (`--map-file rewrite.rules`):
/// XMLDefault.cnf.xml in settings/, the 7940/7960 load in firmware/7940/.
/// Read through the map, the doctor sees what the phones get: the load
/// XMLDefault.cnf.xml names is all there, and a damaged image in
/// firmware/7940/ is found under the name the phone asks for.
#[test]
fn a_root_in_sub_folders_is_read_through_its_map_file() {
    use phoneflip_doctor::read_root_mapped;
    let Some(dir) = corpus() else { return };
    let rules = std::fs::read_to_string(dir.join("dkgroot/rewrite.rules")).unwrap();
    let map = phoneflip_config::MapFile::parse("rewrite.rules", &rules).unwrap();
    let tree = tempfile::tempdir().unwrap();
    let t = tree.path();
    std::fs::create_dir_all(t.join("settings")).unwrap();
    std::fs::create_dir_all(t.join("firmware/7940")).unwrap();
    std::fs::copy(
        dir.join("dkgroot/XMLDefault.cnf.xml"),
        t.join("settings/XMLDefault.cnf.xml"),
    )
    .unwrap();
    let sccp = phoneflip_bundle::synth(
        phoneflip_firmware::Protocol::Sccp,
        "8.1(2)SR2".parse().unwrap(),
        phoneflip_bundle::SizeProfile::Small,
    )
    .unwrap();
    for (name, bytes) in &sccp.files {
        if name.starts_with("P0030801SR02") {
            std::fs::write(t.join("firmware/7940").join(name), bytes).unwrap();
        }
    }
    let opts = Options {
        from: vec!["sccp:8.1(2)SR2".parse().unwrap()],
        ..Options::default()
    };
    // The top level of the tree holds nothing a phone asks for.
    assert!(read_root(t).unwrap().files().is_empty());
    let root = read_root_mapped(t, &map).unwrap();
    let names: Vec<&str> = root.files().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "P0030801SR02.bin",
            "P0030801SR02.loads",
            "P0030801SR02.sb2",
            "P0030801SR02.sbn",
            "XMLDefault.cnf.xml"
        ]
    );
    let fs = scan(&root, &opts);
    assert!(
        fs.iter().all(|f| !matches!(
            f.check,
            Check::LoadMissing | Check::BundleIncomplete | Check::NoLoadSpecified
        )),
        "{fs:#?}"
    );
    let sb2 = t.join("firmware/7940/P0030801SR02.sb2");
    let mut bytes = std::fs::read(&sb2).unwrap();
    bytes.truncate(bytes.len() - 10);
    std::fs::write(&sb2, bytes).unwrap();
    let fs = scan(&read_root_mapped(t, &map).unwrap(), &opts);
    let damaged = has(&fs, Check::DamagedImage, "P0030801SR02.sb2");
    assert_eq!(damaged.len(), 1, "{fs:#?}");
    assert_eq!(damaged[0].severity, Severity::Error);
}

/// dbaldree's SEP files are not well-formed (a stray </line>), yet the
/// root is a "working configuration": an emulated SIP 8.12 7960 reads
/// its loadInformation from the file and stays on SIP 8.12, so the doctor
/// calls it a warning, not an error that stops the phone.
#[test]
fn a_sep_file_with_a_stray_end_tag_still_boots_the_phone() {
    use phoneflip_emulator::run::run_in_memory;
    use phoneflip_emulator::{Flash, Outcome, Phone, PhoneConfig, TftpSetting};
    let Some(dir) = corpus() else { return };
    let r: phoneflip_firmware::Release = "sip:8.12".parse().unwrap();
    let mut files: std::collections::HashMap<String, Vec<u8>> =
        phoneflip_bundle::synth(r.protocol, r.version, phoneflip_bundle::SizeProfile::Small)
            .unwrap()
            .files
            .into_iter()
            .collect();
    for name in [
        "SEP0014638ADF5E.cnf.xml",
        "SIPDefault.cnf",
        "SIP0014638ADF5E.cnf",
    ] {
        files.insert(
            name.to_string(),
            std::fs::read(dir.join("dbaldree").join(name)).unwrap(),
        );
    }
    let phone = Phone::new(
        PhoneConfig {
            mac: "0014638ADF5E".parse().unwrap(),
            model: phoneflip_device::Model::Cp7960,
            tftp: TftpSetting::Manual("127.0.0.1:69".parse().unwrap()),
        },
        Flash::with_load(r.protocol, r.version),
    );
    let report = run_in_memory(phone, &files);
    assert!(
        matches!(&report.outcome, Outcome::Stable(s) if s.load == "P0S3-8-12-00"),
        "{:?}",
        report.outcome
    );
    let root = phoneflip_doctor::Root::from_contents(files);
    let fs = scan(&root, &Options::default());
    let sep = has(&fs, Check::ConfigUnreadable, "SEP0014638ADF5E.cnf.xml");
    assert_eq!(sep.len(), 1, "{fs:#?}");
    assert_eq!(sep[0].severity, Severity::Warning);
}

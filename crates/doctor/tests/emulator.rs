//! The emulator judges the doctor: a hand-broken root stops an emulated
//! phone, `--fix` repairs it, and the same phone then converts.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_device::{Mac, Model};
use phoneflip_doctor::{apply_fixes, read_root, scan, Check, Options, BACKUP_DIR, W210_LIMIT};
use phoneflip_emulator::phone::BUFFER_FULL_LIMIT;
use phoneflip_emulator::run::{run_in_memory, Report};
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

/// Issue 10: the loader-generation rule (OS79XX.TXT first for SCCP 5.x
/// and older and SIP 6.x and older, the universal loader for SCCP 6.x+ and
/// SIP 7.x+) is the planner's, and the emulator and the doctor agree with
/// it: an emulated phone asks for OS79XX.TXT first exactly when the plan
/// says original boot, and exactly then the doctor calls a missing
/// OS79XX.TXT an error for phones on that load.
#[test]
fn plan_emulator_and_doctor_agree_on_the_loader_rule() {
    let empty = tempfile::tempdir().unwrap();
    let root = read_root(empty.path()).unwrap();
    for rel in [
        "sccp:3.3",
        "sccp:5.0(1.1)",
        "sccp:6.0(3)",
        "sccp:8.1(2)SR2",
        "sip:1.0",
        "sip:2.3",
        "sip:4.4",
        "sip:6.4",
        "sip:7.4",
        "sip:8.12",
    ] {
        let r: Release = rel.parse().unwrap();
        let plan = phoneflip_plan::generation(r.protocol, r.version)
            == phoneflip_plan::Generation::OriginalBoot;
        let report = run_in_memory(phone(rel), &HashMap::new());
        let emulator = report.requests().first() == Some(&"OS79XX.TXT");
        let opts = Options {
            from: vec![r],
            ..Options::default()
        };
        let doctor = scan(&root, &opts).iter().any(|f| {
            f.check == Check::Os79xxMissing && f.severity == phoneflip_doctor::Severity::Error
        });
        assert_eq!((plan, emulator, doctor), (plan, plan, plan), "{rel}");
    }
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
    let mut big =
        String::from("image_version: POS30203\nproxy1_address: 10.0.0.1\nproxy_register: 1\n");
    while big.len() <= BUFFER_FULL_LIMIT {
        big.push_str("# site settings the phones will read once on a newer release\n");
    }
    fs::write(p.join("SIPDefault.cnf"), &big).unwrap();
    fs::write(
        p.join("sip002094d245cb.cnf"),
        // The phone's own file carries what registration needs, since the
        // W210 workaround leaves SIPDefault.cnf holding only image_version.
        b"proxy1_address: 10.0.0.1\nproxy_register: 1\nline1_name: 100\nline1_authname: 100\nline1_password: x\n",
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

/// A site for `target` as the vendor zip would leave it, plus the SIP
/// files naming the load.
fn site(target: &str) -> HashMap<String, Vec<u8>> {
    let r: Release = target.parse().unwrap();
    let mut files: HashMap<String, Vec<u8>> =
        synth::synth(r.protocol, r.version, SizeProfile::Small)
            .unwrap()
            .files
            .into_iter()
            .collect();
    let load = phoneflip_firmware::LoadName::canonical(r.protocol, r.version);
    // A whole site: the phone converts and registers (proxy, register,
    // line credentials), so only the case's own breakage is an error.
    files.insert(
        "SIPDefault.cnf".into(),
        format!("image_version: {load}\nproxy1_address: 10.0.0.1\nproxy_register: 1\n")
            .into_bytes(),
    );
    files.insert(
        format!("SIP{MAC}.cnf"),
        format!("image_version: {load}\nline1_name: 100\nline1_password: x\n").into_bytes(),
    );
    files
}

fn write_root(files: &HashMap<String, Vec<u8>>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (n, b) in files {
        fs::write(dir.path().join(n), b).unwrap();
    }
    dir
}

fn rename(files: &mut HashMap<String, Vec<u8>>, from: &str, to: &str) {
    let b = files
        .remove(from)
        .unwrap_or_else(|| panic!("{from} not in the site"));
    files.insert(to.to_string(), b);
}

fn bundle(release: &str) -> HashMap<String, Vec<u8>> {
    let r: Release = release.parse().unwrap();
    synth::synth(r.protocol, r.version, SizeProfile::Small)
        .unwrap()
        .files
        .into_iter()
        .collect()
}

/// Doctor and emulator judge the same roots: where the emulated phone
/// does not reach its target, the doctor reports an error; where the
/// doctor can fix everything, the fixed root converts the phone.
#[test]
fn doctor_errors_match_the_emulators_failures() {
    type Site = fn() -> HashMap<String, Vec<u8>>;
    let cases: Vec<(&str, &str, Site, bool)> = vec![
        ("sccp:5.0(1.1)", "P0S3-8-12-00", || site("sip:8.12"), true),
        ("sccp:8.1(2)SR2", "P0S3-8-12-00", || site("sip:8.12"), true),
        ("sccp:3.3", "POS30203", || site("sip:2.3"), true),
        (
            "sccp:3.3",
            "POS30203",
            || {
                let mut f = site("sip:2.3");
                f.insert("OS79XX.TXT".into(), b"POS30203.bin\n".to_vec());
                f
            },
            true,
        ),
        (
            "sccp:5.0(1.1)",
            "P0S3-8-12-00",
            || {
                let mut f = site("sip:8.12");
                f.insert("OS79XX.TXT".into(), b"P003-8-12-00\r\n".to_vec());
                f
            },
            true,
        ),
        (
            "sccp:8.1(2)SR2",
            "P0S3-8-12-00",
            || {
                let mut f = site("sip:8.12");
                rename(
                    &mut f,
                    &format!("SIP{MAC}.cnf"),
                    &format!("SIP{}.cnf", MAC.to_ascii_lowercase()),
                );
                f
            },
            true,
        ),
        (
            "sccp:8.1(2)SR2",
            "P0S3-8-12-00",
            || {
                let mut f = site("sip:8.12");
                rename(&mut f, "P0S3-8-12-00.sb2", "p0s3-8-12-00.SB2");
                f
            },
            true,
        ),
        (
            "sccp:8.1(2)SR2",
            "P0S3-8-12-00",
            || {
                let mut f = site("sip:8.12");
                f.remove("P0S3-8-12-00.sb2");
                f
            },
            false,
        ),
        (
            "sccp:3.3",
            "POS30203",
            || {
                let mut f = site("sip:2.3");
                let mut s = String::from("image_version: POS30203\n");
                while s.len() <= BUFFER_FULL_LIMIT {
                    s.push_str("# settings the phones read once converted\n");
                }
                f.insert("SIPDefault.cnf".into(), s.into_bytes());
                f
            },
            true,
        ),
        // No downgrade below 5.0.
        ("sip:5.0", "POS30203", || site("sip:2.3"), false),
        // No image named where a universal-loader phone looks.
        (
            "sccp:8.1(2)SR2",
            "P0S3-8-12-00",
            || {
                let mut f = site("sip:8.12");
                f.insert(
                    "SIPDefault.cnf".into(),
                    b"proxy1_address: 10.0.0.1\n".to_vec(),
                );
                f.insert(format!("SIP{MAC}.cnf"), b"line1_name: 100\n".to_vec());
                f
            },
            false,
        ),
        // SIP 3.x from particularly old SCCP: State Error.
        ("sccp:3.3", "POS3-03-0-00", || site("sip:3.0"), false),
        // SIP 2.1 and an SCCP name longer than 8.3 ...
        (
            "sip:2.1",
            "P00305000101",
            || {
                let mut f = bundle("sccp:5.0(1.1)");
                f.insert("OS79XX.TXT".into(), b"P00305000101\n".to_vec());
                f
            },
            false,
        ),
        // ... and the same load renamed to 8.3, as the reference suggests.
        (
            "sip:2.1",
            "P00305000101",
            || {
                let mut f = HashMap::new();
                let b = bundle("sccp:5.0(1.1)");
                f.insert("P0305011.bin".to_string(), b["P00305000101.bin"].clone());
                f.insert("OS79XX.TXT".into(), b"P0305011\n".to_vec());
                f
            },
            true,
        ),
        // SIP 6.x to SCCP through gkdefault.cfg, with and without it.
        ("sip:6.4", "P00308000400", sip6_to_sccp, true),
        (
            "sip:6.4",
            "P00308000400",
            || {
                let mut f = sip6_to_sccp();
                f.remove("gkdefault.cfg");
                f
            },
            false,
        ),
        // gkdefault.cfg left pointing at the SIP image (step 5 skipped).
        ("sip:6.4", "P00308000400", gk_still_sip, false),
    ];
    for (i, (from, load, build, fixable)) in cases.into_iter().enumerate() {
        let files = build();
        let dir = write_root(&files);
        let opts = Options {
            from: vec![from.parse().unwrap()],
            ..Options::default()
        };
        let findings = scan(&read_root(dir.path()).unwrap(), &opts);
        let errors: Vec<_> = findings
            .iter()
            .filter(|f| f.severity == phoneflip_doctor::Severity::Error)
            .collect();
        let r = run_in_memory(phone(from), &served(dir.path()));
        let converted = matches!(&r.outcome, Outcome::Stable(s) if s.load == load);
        assert_eq!(
            converted,
            errors.is_empty(),
            "case {i} ({from} -> {load}): emulator {:?}, doctor {errors:#?}\n{}",
            r.outcome,
            transcript(&r)
        );
        if !converted && fixable {
            apply_fixes(dir.path(), &findings, SystemTime::now()).unwrap();
            let r = run_in_memory(phone(from), &served(dir.path()));
            assert!(
                matches!(&r.outcome, Outcome::Stable(s) if s.load == load),
                "case {i}: not converted after --fix: {:?}\n{}",
                r.outcome,
                transcript(&r)
            );
        }
    }
}

fn sip6_to_sccp() -> HashMap<String, Vec<u8>> {
    let mut f = bundle("sccp:8.0(4)");
    let sbin = synth::gk_image(Protocol::Sccp, "8.0(4)".parse().unwrap()).to_string();
    f.insert(
        "gkdefault.cfg".into(),
        format!("#txt\nupgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x080004a,{sbin}\n")
            .into_bytes(),
    );
    f.insert(
        format!("SEP{MAC}.cnf.xml"),
        br#"<device><loadInformation model="IP Phone 7960">P00308000400</loadInformation></device>"#.to_vec(),
    );
    f
}

fn gk_still_sip() -> HashMap<String, Vec<u8>> {
    let mut f = sip6_to_sccp();
    let sip = synth::gk_image(Protocol::Sip, "6.4".parse().unwrap()).to_string();
    f.insert(
        "gkdefault.cfg".into(),
        format!("#txt\nupgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x060400a,{sip}\n")
            .into_bytes(),
    );
    f
}

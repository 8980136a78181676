//! The boot state machine against an in-memory TFTP root: every conversion
//! path of the reference and every documented failure, each from its cause.

use std::collections::HashMap;

use phoneflip_bundle::image::Image;
use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_device::{Mac, Model};
use phoneflip_emulator::phone::{Failure, BUFFER_FULL_LIMIT};
use phoneflip_emulator::run::{memory_fetch, run_in_memory, run_with, FetchError, Report};
use phoneflip_emulator::{Flash, Outcome, Phone, PhoneConfig, TftpSetting};
use phoneflip_firmware::{Protocol, Release};

const MAC: &str = "002094D245CB";

fn release(s: &str) -> Release {
    s.parse().unwrap()
}

fn phone(load: &str) -> Phone {
    let r = release(load);
    Phone::new(
        PhoneConfig {
            mac: MAC.parse::<Mac>().unwrap(),
            model: Model::Cp7960,
            tftp: TftpSetting::Manual("127.0.0.1:69".parse().unwrap()),
        },
        Flash::with_load(r.protocol, r.version),
    )
}

/// A TFTP root holding the given synthetic bundles, unzipped.
fn root(bundles: &[&str]) -> HashMap<String, Vec<u8>> {
    let mut files = HashMap::new();
    for b in bundles {
        let r = release(b);
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

fn sip_mac() -> String {
    format!("SIP{MAC}.cnf")
}

fn stable_on(r: &Report, protocol: Protocol, load: &str) {
    match &r.outcome {
        Outcome::Stable(s) => {
            assert_eq!(
                (s.protocol, s.load.as_str()),
                (protocol, load),
                "{:#?}",
                r.transcript
            )
        }
        other => panic!(
            "expected stable on {load}, got {other:?}\n{}",
            transcript(r)
        ),
    }
}

fn failed(r: &Report) -> Failure {
    match &r.outcome {
        Outcome::Failed(f) => {
            assert_eq!(r.displays().last().copied(), Some(f.display()));
            f.clone()
        }
        other => panic!("expected a failure, got {other:?}\n{}", transcript(r)),
    }
}

fn transcript(r: &Report) -> String {
    r.transcript.iter().map(|e| format!("{e}\n")).collect()
}

// ---------- conversion paths ----------

#[test]
fn sccp_3_to_sip_2_3_through_os79xx() {
    let mut files = root(&["sip:2.3"]);
    put(&mut files, "SIPDefault.cnf", "image_version: POS30203\n");
    put(&mut files, &sip_mac(), "line1_name: 100\n");
    let r = run_in_memory(phone("sccp:3.3"), &files);
    stable_on(&r, Protocol::Sip, "POS30203");
    assert_eq!(
        r.requests(),
        [
            "OS79XX.TXT",
            "POS30203.bin",
            "OS79XX.TXT",
            "SIPDefault.cnf",
            &sip_mac(),
            "RINGLIST.DAT"
        ]
    );
    assert_eq!(r.reboots, 1);
    assert!(!r.flash.signed(), "SIP 2.3 is unsigned");
}

#[test]
fn sccp_5_to_sip_6_through_os79xx() {
    let mut files = root(&["sip:6.4"]);
    files.remove("gkdefault.txt");
    put(
        &mut files,
        "SIPDefault.cnf",
        "image_version: POS3-06-4-00\n",
    );
    put(&mut files, &sip_mac(), "line1_name: 100\n");
    let r = run_in_memory(phone("sccp:5.0(1.1)"), &files);
    stable_on(&r, Protocol::Sip, "POS3-06-4-00");
    assert_eq!(
        r.requests(),
        [
            "OS79XX.TXT",
            "POS3-06-4-00.bin",
            "OS79XX.TXT",
            "gkdefault.cfg",
            "SIPDefault.cnf",
            &sip_mac(),
            "RINGLIST.DAT"
        ]
    );
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
        &sip_mac(),
        "image_version: P0S3-8-12-00\nline1_name: 100\n",
    );
    files
}

#[test]
fn sccp_5_to_sip_8_12_through_the_universal_loader() {
    let r = run_in_memory(phone("sccp:5.0(1.1)"), &sip_8_12_site());
    stable_on(&r, Protocol::Sip, "P0S3-8-12-00");
    let hunt = [
        format!("CTLSEP{MAC}.tlv"),
        format!("SEP{MAC}.cnf.xml"),
        sip_mac(),
    ];
    let mut want: Vec<String> = vec!["OS79XX.TXT".into(), "P003-8-12-00.sbn".into()];
    want.extend(hunt.iter().cloned());
    want.extend(["P0S3-8-12-00.loads".into(), "P0S3-8-12-00.sb2".into()]);
    want.extend(hunt.iter().cloned());
    want.push("P0S3-8-12-00.loads".into());
    want.extend([
        "SIPDefault.cnf".into(),
        format!("./{}", sip_mac()),
        "RINGLIST.DAT".into(),
        "dialplan.xml".into(),
    ]);
    assert_eq!(r.requests(), want, "\n{}", transcript(&r));
    assert_eq!(r.reboots, 2, "loader, then application");
    assert!(r.emulated_ms >= 20_000, "the application starts in ~20 s");
    assert_eq!(r.flash.loader.as_ref().unwrap().name, "P003-8-12-00");
}

#[test]
fn sccp_3_takes_the_unsigned_loader() {
    let r = run_in_memory(phone("sccp:3.3"), &sip_8_12_site());
    stable_on(&r, Protocol::Sip, "P0S3-8-12-00");
    assert_eq!(r.requests()[1], "P003-8-12-00.bin");
}

#[test]
fn sccp_8_to_sip_8_12_matches_the_real_log() {
    let files = sip_8_12_site();
    let r = run_in_memory(phone("sccp:8.1(2)SR2"), &files);
    stable_on(&r, Protocol::Sip, "P0S3-8-12-00");
    let hunt = [
        format!("CTLSEP{MAC}.tlv"),
        format!("SEP{MAC}.cnf.xml"),
        sip_mac(),
    ];
    let mut want: Vec<String> = hunt.to_vec();
    want.extend(["P0S3-8-12-00.loads".into(), "P003-8-12-00.sbn".into()]);
    want.extend(hunt.iter().cloned());
    want.extend(["P0S3-8-12-00.loads".into(), "P0S3-8-12-00.sb2".into()]);
    want.extend(hunt.iter().cloned());
    want.push("P0S3-8-12-00.loads".into());
    want.extend([
        "SIPDefault.cnf".into(),
        format!("./{}", sip_mac()),
        "RINGLIST.DAT".into(),
        "dialplan.xml".into(),
    ]);
    assert_eq!(r.requests(), want, "\n{}", transcript(&r));

    // Booting again changes nothing and fetches no image.
    let again = Phone::new(phone("sip:8.12").config().clone(), r.flash.clone());
    let r2 = run_in_memory(again, &files);
    stable_on(&r2, Protocol::Sip, "P0S3-8-12-00");
    assert_eq!(r2.reboots, 0);
    assert!(!r2
        .requests()
        .iter()
        .any(|f| f.ends_with(".sb2") || f.ends_with(".sbn")));
}

#[test]
fn sip_8_to_sccp_8_through_sep_cnf_xml() {
    let mut files = root(&["sccp:8.1(2)SR2"]);
    put(
        &mut files,
        &format!("SEP{MAC}.cnf.xml"),
        r#"<device><deviceProtocol>SCCP</deviceProtocol><loadInformation model="IP Phone 7960">P0030801SR02</loadInformation></device>"#,
    );
    let r = run_in_memory(phone("sip:8.12"), &files);
    stable_on(&r, Protocol::Sccp, "P0030801SR02");
    assert_eq!(r.reboots, 2);
    assert!(r.requests().contains(&"P0030801SR02.sbn"));
    assert!(r.requests().contains(&"P0030801SR02.sb2"));
}

#[test]
fn sip_8_to_sccp_8_through_image_version() {
    let mut files = root(&["sccp:8.0(5)", "sip:8.12"]);
    put(
        &mut files,
        "SIPDefault.cnf",
        "image_version: P00308000500\n",
    );
    put(&mut files, &sip_mac(), "line1_name: 100\n");
    let r = run_in_memory(phone("sip:8.12"), &files);
    stable_on(&r, Protocol::Sccp, "P00308000500");
}

#[test]
fn sip_8_to_sccp_5_with_a_combined_image() {
    let mut files = root(&["sccp:5.0(1.1)"]);
    put(
        &mut files,
        "SIPDefault.cnf",
        "image_version: P00305000101\n",
    );
    put(&mut files, &sip_mac(), "line1_name: 100\n");
    let r = run_in_memory(phone("sip:8.12"), &files);
    stable_on(&r, Protocol::Sccp, "P00305000101");
    assert!(r.flash.loader.is_none());
    assert!(r.requests().contains(&"P00305000101.bin"));
}

#[test]
fn sip_4_to_sccp_5_through_os79xx() {
    let mut files = root(&["sccp:5.0(1.1)"]);
    put(&mut files, "OS79XX.TXT", "P00305000101");
    let r = run_in_memory(phone("sip:4.4"), &files);
    stable_on(&r, Protocol::Sccp, "P00305000101");
    assert_eq!(
        r.requests(),
        [
            "OS79XX.TXT",
            "P00305000101.bin",
            "OS79XX.TXT",
            &format!("SEP{MAC}.cnf.xml"),
            "XMLDefault.cnf.xml"
        ]
    );
}

#[test]
fn sip_4_to_sccp_6_via_6_3_then_the_zip() {
    // Step 1: OS79XX.TXT and loadInformation name the 6.3 image... which
    // is a universal load, so OS79XX.TXT names its loader.
    let mut files = root(&["sccp:6.3"]);
    put(&mut files, "OS79XX.TXT", "P00306030000");
    put(
        &mut files,
        "XMLDefault.cnf.xml",
        r#"<Default><loadInformation7 model="IP Phone 7960">P00306030000</loadInformation7></Default>"#,
    );
    let r = run_in_memory(phone("sip:4.4"), &files);
    stable_on(&r, Protocol::Sccp, "P00306030000");
    assert!(
        r.requests().contains(&"P00306030000.bin"),
        "unsigned phone takes the .bin loader"
    );
    // Step 2: unzip 8.1(2)SR2 and name it.
    let mut files2 = root(&["sccp:6.3", "sccp:8.1(2)SR2"]);
    put(
        &mut files2,
        "XMLDefault.cnf.xml",
        r#"<Default><loadInformation7 model="IP Phone 7960">P0030801SR02</loadInformation7></Default>"#,
    );
    let r2 = run_in_memory(
        Phone::new(phone("sccp:6.3").config().clone(), r.flash),
        &files2,
    );
    stable_on(&r2, Protocol::Sccp, "P0030801SR02");
}

#[test]
fn sip_6_to_sccp_through_gkdefault() {
    let mut files = root(&["sccp:8.0(4)"]);
    let sbin = synth::gk_image(Protocol::Sccp, "8.0(4)".parse().unwrap()).to_string();
    put(
        &mut files,
        "gkdefault.cfg",
        &format!("#txt\nupgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x080004a,{sbin}\n"),
    );
    put(
        &mut files,
        &format!("SEP{MAC}.cnf.xml"),
        r#"<device><loadInformation model="IP Phone 7960">P00308000400</loadInformation></device>"#,
    );
    let r = run_in_memory(phone("sip:6.4"), &files);
    stable_on(&r, Protocol::Sccp, "P00308000400");
    assert_eq!(
        &r.requests()[..3],
        ["OS79XX.TXT", "gkdefault.cfg", sbin.as_str()]
    );
}

#[test]
fn sip_2_1_takes_an_sccp_load_renamed_to_8_3() {
    let mut files = HashMap::new();
    let b = synth::synth(
        Protocol::Sccp,
        "5.0(1.1)".parse().unwrap(),
        SizeProfile::Small,
    )
    .unwrap();
    files.insert(
        "P0305011.bin".to_string(),
        b.file("P00305000101.bin").unwrap().to_vec(),
    );
    put(&mut files, "OS79XX.TXT", "P0305011");
    let r = run_in_memory(phone("sip:2.1"), &files);
    // The phone runs the image's own load, fetched by its alias.
    stable_on(&r, Protocol::Sccp, "P00305000101");
    assert_eq!(r.flash.app.as_ref().unwrap().name, "P0305011");
    // Booting again with OS79XX.TXT still naming the alias changes nothing.
    let again = run_in_memory(
        Phone::new(phone("sccp:5.0(1.1)").config().clone(), r.flash.clone()),
        &files,
    );
    stable_on(&again, Protocol::Sccp, "P00305000101");
    assert_eq!(again.reboots, 0);
}

#[test]
fn check_sync_reboots_only_when_sync_differs() {
    use phoneflip_emulator::run::{Run, Step};
    use std::time::Duration;
    let mut files = sip_8_12_site();
    put(
        &mut files,
        "syncinfo.xml",
        r#"<SYNCINFO><IMAGE VERSION="P0S3-8-12-00" SYNC="2"/></SYNCINFO>"#,
    );
    let mut run = Run::new(phone("sip:8.12"));
    let drive = |run: &mut Run, mut step: Step| loop {
        step = match step {
            Step::Fetch(f) => {
                let r = memory_fetch(&files, &f);
                run.fetched(&f, r, Duration::ZERO)
            }
            Step::Sleep(_) => run.slept(),
            Step::Done => return run.report(),
        }
    };
    let s = run.start();
    let r = drive(&mut run, s);
    assert!(r.outcome.is_stable());
    let s = run.notify_check_sync();
    let r = drive(&mut run, s);
    assert_eq!(r.reboots, 1, "sync 2 differs from the default 1");
    assert!(r.outcome.is_stable());
}

// ---------- documented failures, each from its cause ----------

#[test]
fn bin_left_in_os79xx_leaves_the_phone_unprovisioned() {
    let mut files = root(&["sip:2.3"]);
    put(&mut files, "OS79XX.TXT", "POS30203.bin");
    let f = failed(&run_in_memory(phone("sccp:3.3"), &files));
    assert!(
        matches!(&f, Failure::Unprovisioned { why } if why.contains(".bin")),
        "{f}"
    );
}

#[test]
fn carriage_return_in_os79xx_leaves_the_phone_unprovisioned() {
    let mut files = root(&["sip:2.3"]);
    put(&mut files, "OS79XX.TXT", "POS30203\r\n");
    let f = failed(&run_in_memory(phone("sccp:3.3"), &files));
    assert!(
        matches!(&f, Failure::Unprovisioned { why } if why.contains("carriage return")),
        "{f}"
    );
}

#[test]
fn lower_case_mac_file_is_never_found() {
    let mut files = sip_8_12_site();
    let cnf = files.remove(&sip_mac()).unwrap();
    files.insert(format!("SIP{}.cnf", MAC.to_lowercase()), cnf);
    let r = run_in_memory(phone("sip:8.12"), &files);
    let f = failed(&r);
    assert!(
        matches!(&f, Failure::Unprovisioned { why } if why.contains(MAC)),
        "{f}"
    );
    let asks = r
        .requests()
        .iter()
        .filter(|f| **f == format!("./{}", sip_mac()))
        .count();
    assert_eq!(asks, 3);
    assert!(r.emulated_ms >= 20_000 + 60_000, "re-requested every 30 s");
    assert!(!r.requests().contains(&"RINGLIST.DAT"));
}

#[test]
fn wrong_case_of_a_load_name_is_not_found() {
    let mut files = sip_8_12_site();
    put(&mut files, &sip_mac(), "image_version: P0s3-8-12-00\n");
    let r = run_in_memory(phone("sccp:8.1(2)SR2"), &files);
    assert!(r.requests().contains(&"P0s3-8-12-00.loads"));
    let f = failed(&r);
    assert!(
        matches!(&f, Failure::ProtocolApplicationInvalid { why } if why.contains("P0s3-8-12-00.loads")),
        "{f}"
    );
}

#[test]
fn bundle_copied_without_its_loads_file() {
    let mut files = sip_8_12_site();
    files.remove("P0S3-8-12-00.loads");
    let f = failed(&run_in_memory(phone("sccp:8.1(2)SR2"), &files));
    assert!(
        matches!(&f, Failure::ProtocolApplicationInvalid { why } if why.contains(".loads")),
        "{f}"
    );
}

#[test]
fn loads_without_its_application_image() {
    let mut files = sip_8_12_site();
    files.remove("P0S3-8-12-00.sb2");
    let r = run_in_memory(phone("sccp:8.1(2)SR2"), &files);
    let f = failed(&r);
    assert!(
        matches!(&f, Failure::ProtocolApplicationInvalid { why } if why.contains("P0S3-8-12-00.sb2")),
        "{f}"
    );
    assert_eq!(
        r.reboots, 1,
        "the loader was installed before the application was found missing"
    );
}

/// A root with a SIPDefault.cnf over the W210 limit naming `load`, which
/// a phone on `rel` must fail on with "W210 TFTP Error : buffer full".
fn buffer_full_on(rel: &str, load: &str) -> (HashMap<String, Vec<u8>>, String) {
    let mut files = root(&[rel]);
    let big = format!(
        "image_version: {load}\n{}",
        "# comment line of the generic file\n".repeat(80)
    );
    assert!(big.len() > BUFFER_FULL_LIMIT);
    put(&mut files, "SIPDefault.cnf", &big);
    let f = failed(&run_in_memory(phone(rel), &files));
    assert!(
        matches!(f, Failure::BufferFull { size } if size == big.len()),
        "{rel}: {f}"
    );
    (files, big)
}

#[test]
fn sip_1_with_a_large_sipdefault_shows_buffer_full_too() {
    // Issue 10: W210 is "2.x or earlier" everywhere, from phoneflip-plan.
    buffer_full_on("sip:1.0", "POS30100");
    assert!(phoneflip_plan::w210_applies(&release("sip:1.0")));
}

#[test]
fn sip_2_with_a_large_sipdefault_shows_buffer_full() {
    let (mut files, big) = buffer_full_on("sip:2.3", "POS30203");
    // The reference's fix: only image_version in it.
    put(&mut files, "SIPDefault.cnf", "image_version: POS30203\n");
    put(&mut files, &sip_mac(), "line1_name: 100\n");
    stable_on(
        &run_in_memory(phone("sip:2.3"), &files),
        Protocol::Sip,
        "POS30203",
    );
    // A later SIP reads the large file.
    let mut files = root(&["sip:4.4"]);
    put(
        &mut files,
        "SIPDefault.cnf",
        &big.replace("POS30203", "POS3-04-4-00"),
    );
    put(&mut files, &sip_mac(), "line1_name: 100\n");
    stable_on(
        &run_in_memory(phone("sip:4.4"), &files),
        Protocol::Sip,
        "POS3-04-4-00",
    );
}

#[test]
fn sip_2_1_refuses_a_long_sccp_name() {
    let mut files = root(&["sccp:5.0(1.1)"]);
    put(&mut files, "OS79XX.TXT", "P00305000101");
    let r = run_in_memory(phone("sip:2.1"), &files);
    let f = failed(&r);
    assert!(
        matches!(&f, Failure::NameNot83 { name, .. } if name == "P00305000101"),
        "{f}"
    );
    assert!(!r.requests().contains(&"P00305000101.bin"));
    // SIP 2.3 takes it.
    stable_on(
        &run_in_memory(phone("sip:2.3"), &files),
        Protocol::Sccp,
        "P00305000101",
    );
}

#[test]
fn no_downgrade_below_5_0() {
    let mut files = root(&["sip:2.3"]);
    put(&mut files, "SIPDefault.cnf", "image_version: POS30203\n");
    let r = run_in_memory(phone("sccp:5.0(1.1)"), &files);
    let f = failed(&r);
    assert!(
        matches!(&f, Failure::DowngradeRefused { file, .. } if file == "POS30203.bin"),
        "{f}"
    );
    assert_eq!(
        r.flash.app.as_ref().unwrap().name,
        "P00305000101",
        "flash untouched"
    );
    // Same from a universal SIP load asked for SIP 4.4 by image_version.
    let mut files = root(&["sip:4.4"]);
    put(
        &mut files,
        "SIPDefault.cnf",
        "image_version: POS3-04-4-00\n",
    );
    put(&mut files, &sip_mac(), "line1_name: 100\n");
    let f = failed(&run_in_memory(phone("sip:8.12"), &files));
    assert!(matches!(f, Failure::DowngradeRefused { .. }), "{f}");
}

#[test]
fn corrupted_image_fails_authentication() {
    let mut files = sip_8_12_site();
    let sb2 = files.get_mut("P0S3-8-12-00.sb2").unwrap();
    let mid = sb2.len() / 2;
    sb2[mid] ^= 0xFF;
    let r = run_in_memory(phone("sccp:8.1(2)SR2"), &files);
    let f = failed(&r);
    assert!(
        matches!(&f, Failure::ImageAuthenticationFailed { file, .. } if file == "P0S3-8-12-00.sb2"),
        "{f}"
    );
    assert!(
        r.flash.app.as_ref().unwrap().name == "P0030801SR02",
        "the bad image is not programmed"
    );
    // A truncated pre-loader image too.
    let mut files = root(&["sip:2.3"]);
    files.get_mut("POS30203.bin").unwrap().truncate(100);
    let f = failed(&run_in_memory(phone("sccp:3.3"), &files));
    assert!(matches!(f, Failure::ImageAuthenticationFailed { .. }));
}

#[test]
fn no_image_specified_anywhere() {
    // The loader is installed from OS79XX.TXT, but no file names a load.
    let files = root(&["sip:8.12"]);
    let r = run_in_memory(phone("sccp:5.0(1.1)"), &files);
    assert_eq!(failed(&r), Failure::NoLoadSpecified);
    // An empty flash and an empty server.
    let empty = Phone::new(phone("sip:8.12").config().clone(), Flash::default());
    assert_eq!(
        failed(&run_in_memory(empty, &HashMap::new())),
        Failure::NoLoadSpecified
    );
}

#[test]
fn old_sccp_to_sip_3_fails_with_state_error() {
    let mut files = root(&["sip:3.0"]);
    put(
        &mut files,
        "SIPDefault.cnf",
        "image_version: POS3-03-0-00\n",
    );
    let r = run_in_memory(phone("sccp:3.3"), &files);
    let f = failed(&r);
    assert!(matches!(f, Failure::StateError { tries: 3, .. }), "{f}");
    assert_eq!(
        r.requests()
            .iter()
            .filter(|f| **f == "POS3-03-0-00.bin")
            .count(),
        3
    );
    // The reference's advice: SIP 2.3 first, then 3.x.
    let mut files = root(&["sip:2.3", "sip:3.0"]);
    put(&mut files, "OS79XX.TXT", "POS30203");
    put(&mut files, &sip_mac(), "line1_name: 100\n");
    let r = run_in_memory(phone("sccp:3.3"), &files);
    stable_on(&r, Protocol::Sip, "POS30203");
    put(&mut files, "OS79XX.TXT", "POS3-03-0-00");
    let r2 = run_in_memory(
        Phone::new(phone("sip:2.3").config().clone(), r.flash),
        &files,
    );
    stable_on(&r2, Protocol::Sip, "POS3-03-0-00");
}

#[test]
fn any_error_but_not_found_stops_the_hunt() {
    let files = sip_8_12_site();
    let sep = format!("SEP{MAC}.cnf.xml");
    let r = run_with(phone("sccp:8.1(2)SR2"), |name| {
        if name == sep {
            Err(FetchError {
                code: 2,
                message: "Access violation".into(),
            })
        } else {
            memory_fetch(&files, name)
        }
    });
    // The phone never reaches SIP<MAC>.cnf and stays on SCCP.
    stable_on(&r, Protocol::Sccp, "P0030801SR02");
    assert!(!r.requests().contains(&sip_mac().as_str()));
    // With no application to fall back on, it has no load.
    let loader_only = Flash {
        loader: Flash::with_load(Protocol::Sip, "8.12".parse().unwrap()).loader,
        app: None,
    };
    let r = run_with(
        Phone::new(phone("sip:8.12").config().clone(), loader_only),
        |name| {
            if name == sep {
                Err(FetchError {
                    code: 2,
                    message: "Access violation".into(),
                })
            } else {
                memory_fetch(&files, name)
            }
        },
    );
    assert!(matches!(failed(&r), Failure::HuntStopped { code: 2, .. }));
}

#[test]
fn malformed_sep_file_loops_then_protocol_application_invalid() {
    let mut files = sip_8_12_site();
    put(&mut files, &format!("SEP{MAC}.cnf.xml"), "");
    let r = run_in_memory(phone("sccp:8.1(2)SR2"), &files);
    assert!(matches!(failed(&r), Failure::BootLoop { .. }));
    assert_eq!(
        r.displays().last().copied(),
        Some("Protocol Application Invalid")
    );
}

#[test]
fn leftover_sep_file_pulls_a_sip_phone_back() {
    // The reference: remove protocol files not used by the new protocol.
    let mut files = sip_8_12_site();
    for (n, b) in root(&["sccp:8.1(2)SR2"]) {
        files.insert(n, b);
    }
    put(
        &mut files,
        &format!("SEP{MAC}.cnf.xml"),
        r#"<device><loadInformation model="IP Phone 7960">P0030801SR02</loadInformation></device>"#,
    );
    let r = run_in_memory(phone("sip:8.12"), &files);
    stable_on(&r, Protocol::Sccp, "P0030801SR02");
}

#[test]
fn images_name_themselves() {
    let files = root(&["sip:8.12"]);
    let img = Image::parse(&files["P0S3-8-12-00.sb2"]).unwrap();
    assert_eq!(img.header.load, "P0S3-8-12-00");
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Whatever a server answers, the phone ends stable, failed or cut
        /// short, without panicking.
        #[test]
        fn any_answers_end_in_a_state(
            proto in 0usize..3, major in 1u8..10, minor in 0u8..13,
            body in proptest::collection::vec(any::<u8>(), 0..300),
            error_every in 0u32..6,
        ) {
            let protocol = [Protocol::Sccp, Protocol::Sip, Protocol::Mgcp][proto];
            let version = phoneflip_firmware::Version::new(major, minor);
            let p = Phone::new(phone("sip:8.12").config().clone(), Flash::with_load(protocol, version));
            let mut n = 0;
            let r = run_with(p, |_| {
                n += 1;
                if error_every > 0 && n % error_every == 0 {
                    Err(FetchError { code: (n % 8) as u16, message: "x".into() })
                } else {
                    Ok(body.clone())
                }
            });
            prop_assert!(r.transcript.len() < 5_000);
        }
    }
}

#[test]
fn sip_8_12_normal_boot_matches_the_real_log() {
    // domain facts: CTLSEP (not found) -> SEP<MAC>.cnf.xml -> .loads ->
    // ~20 s -> SIPDefault.cnf -> ./SIP<MAC>.cnf -> RINGLIST.DAT, dialplan.xml
    let mut files = sip_8_12_site();
    put(
        &mut files,
        &format!("SEP{MAC}.cnf.xml"),
        r#"<device><deviceProtocol>SIP</deviceProtocol><loadInformation model="IP Phone 7960">P0S3-8-12-00</loadInformation></device>"#,
    );
    let r = run_in_memory(phone("sip:8.12"), &files);
    stable_on(&r, Protocol::Sip, "P0S3-8-12-00");
    assert_eq!(
        r.requests(),
        [
            format!("CTLSEP{MAC}.tlv").as_str(),
            &format!("SEP{MAC}.cnf.xml"),
            "P0S3-8-12-00.loads",
            "SIPDefault.cnf",
            &format!("./{}", sip_mac()),
            "RINGLIST.DAT",
            "dialplan.xml"
        ]
    );
    assert_eq!(r.emulated_ms, 20_000);
    assert_eq!(r.reboots, 0);
}

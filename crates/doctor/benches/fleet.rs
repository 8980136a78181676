//! Doctor on a TFTP root holding 10,000 phones' files:
//! `cargo bench -p phoneflip-doctor --bench fleet` (prints the times).
//!
//! The root is a SIP 8.12 conversion: the vendor bundle, OS79XX.TXT,
//! SIPDefault.cnf, and one SIP<MAC>.cnf and one SEP<MAC>.cnf.xml per phone,
//! plus a few broken files so the checks have something to report.

use std::fs;
use std::time::Instant;

use phoneflip_doctor::{read_root, scan, Options, Severity};

const PHONES: u32 = 10_000;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path();
    let w = |name: &str, bytes: &[u8]| fs::write(p.join(name), bytes).expect("write");
    w("OS79XX.TXT", b"P003-8-12-00\n");
    // Intact images: the doctor checks them (a damaged one is "Image
    // Authentication Failed"), and the only errors wanted are the names.
    let bundle = phoneflip_bundle::synth::synth(
        phoneflip_firmware::Protocol::Sip,
        phoneflip_firmware::Version::new(8, 12),
        phoneflip_bundle::synth::SizeProfile::Small,
    )
    .expect("synthetic SIP 8.12 bundle");
    for (name, bytes) in &bundle.files {
        if name.ends_with(".bin")
            || name.ends_with(".sbn")
            || name.contains(".loads")
            || name.ends_with(".sb2")
        {
            w(name, bytes);
        }
    }
    w(
        "SIPDefault.cnf",
        b"image_version: P0S3-8-12-00\nproxy1_address: 10.0.0.1\nproxy_register: 1\n",
    );
    for i in 0..PHONES {
        let mac = format!("0019AA{i:06X}");
        let sip = format!(
            "image_version: P0S3-8-12-00\nline1_name: {i}\nline1_authname: {i}\nline1_password: secret\nline1_displayname: \"Phone {i}\"\n"
        );
        // One phone in a hundred has a lower-case MAC, one in a thousand a typo.
        let name = if i % 100 == 7 {
            format!("SIP{}.cnf", mac.to_ascii_lowercase())
        } else {
            format!("SIP{mac}.cnf")
        };
        let mut body = sip.into_bytes();
        if i % 1000 == 3 {
            body.extend_from_slice(b"proxy1_adress: 10.0.0.1\n");
        }
        w(&name, &body);
        w(
            &format!("SEP{mac}.cnf.xml"),
            b"<device><deviceProtocol>SIP</deviceProtocol><loadInformation model=\"IP Phone 7960\">P0S3-8-12-00</loadInformation></device>\n",
        );
    }
    let opts = Options {
        from: vec!["sccp:8.1(2)SR2".parse().expect("release")],
        ..Options::default()
    };
    for round in 1..=3 {
        let t0 = Instant::now();
        let root = read_root(p).expect("read root");
        let t1 = Instant::now();
        let findings = scan(&root, &opts);
        let t2 = Instant::now();
        let errors = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        println!(
            "round {round}: {} files, read {:.3} s, scan {:.3} s, total {:.3} s; {} findings ({errors} errors)",
            root.files().len(),
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t2 - t0).as_secs_f64(),
            findings.len()
        );
        assert_eq!(
            errors,
            (PHONES / 100) as usize,
            "one error per misnamed file"
        );
    }
}

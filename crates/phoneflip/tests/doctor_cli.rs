//! `phoneflip doctor` end to end: a hand-made broken root, its log and a
//! DHCP configuration, examined, fixed and examined again.

use std::fs;
use std::process::Command;

fn doctor(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .arg("doctor")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn broken_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(p.join("OS79XX.TXT"), b"POS30203.bin\r\n").unwrap();
    // An intact image (the doctor verifies them): SIP 2.3 as phoneflip's
    // synthetic stand-in for the vendor zip holds it.
    let sip23 = phoneflip_bundle::synth(
        phoneflip_firmware::Protocol::Sip,
        "2.3".parse().unwrap(),
        phoneflip_bundle::SizeProfile::Small,
    )
    .unwrap();
    fs::write(p.join("POS30203.bin"), sip23.file("POS30203.bin").unwrap()).unwrap();
    fs::write(
        p.join("SIPDefault.cnf"),
        b"image_version: POS30203\nproxy1_address: 10.0.0.1\nproxy_register: 1\n",
    )
    .unwrap();
    fs::write(
        p.join("SIP002094d245cb.cnf"),
        b"line1_name: 100\nline1_password: x\n",
    )
    .unwrap();
    dir
}

#[test]
fn finds_groups_and_fixes() {
    let dir = broken_root();
    let root = dir.path().to_str().unwrap();
    let (code, out, err) = doctor(&[root]);
    assert_eq!(code, 2, "errors found must fail the command: {out}{err}");
    assert!(out.contains("Phone 002094D245CB"), "{out}");
    assert!(out.contains("TFTP root and network"), "{out}");
    assert!(out.contains("IP Phones go to Unprovisioned State"), "{out}");
    assert!(out.contains("[--fix does this]"), "{out}");
    // Grouped: the phone's block comes before the root-wide one.
    assert!(out.find("Phone 002094D245CB").unwrap() < out.find("TFTP root and network").unwrap());

    let (code, out, err) = doctor(&[root, "--fix"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("originals copied to"), "{out}");
    assert!(
        out.contains("rename SIP002094d245cb.cnf to SIP002094D245CB.cnf"),
        "{out}"
    );
    // Exactly what render writes: the name, no line terminator.
    assert_eq!(
        fs::read(dir.path().join("OS79XX.TXT")).unwrap(),
        b"POS30203"
    );
    assert!(dir.path().join("SIP002094D245CB.cnf").is_file());
    let backup = fs::read_dir(dir.path().join(".phoneflip-backup"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(
        fs::read(backup.join("OS79XX.TXT")).unwrap(),
        b"POS30203.bin\r\n"
    );

    let (code, out, _) = doctor(&[root]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 errors"), "{out}");
}

#[test]
fn json_output() {
    let dir = broken_root();
    let (_, out, err) = doctor(&[dir.path().to_str().unwrap(), "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let findings = v["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["check"] == "os79xx_extension"
        && f["symptom"] == "Unprovisioned"
        && f["auto_fix"]["action"] == "rewrite"
        && f["auto_fix"]["contents"] == "POS30203"));
    assert!(findings
        .iter()
        .any(|f| f["check"] == "config_file_case" && f["phone"] == "002094D245CB"));
}

#[test]
fn log_and_dhcp() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tftp.log");
    fs::write(
        &log,
        "Wed Nov 06 11:58:51 2002: Sending 'OS79XX.TXT' file to 10.1.1.1\nin binary mode\n\
Wed Nov 06 11:58:51 2002: Successful.\n\
Wed Nov 06 11:58:51 2002: Sending 'POS30300.bin' file to 10.1.1.1\nin binary mode\n\
Wed Nov 06 11:58:52 2002: Failed ( State Error ).\n\
Wed Nov 06 11:59:00 2002: Sending 'POS30300.bin' file to 10.1.1.1\nin binary mode\n\
Wed Nov 06 11:59:02 2002: Failed ( State Error ).\n",
    )
    .unwrap();
    let dhcp = dir.path().join("dnsmasq.conf");
    fs::write(&dhcp, "dhcp-option=150,10.0.0.2\n").unwrap();
    let (code, out, err) = doctor(&[
        "--log",
        log.to_str().unwrap(),
        "--timeline",
        "--dhcp-config",
        dhcp.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("go through") || out.contains("SIP image 2.3 first"),
        "{out}"
    );
    assert!(out.contains("option 150 but not option 66"), "{out}");
    assert!(
        out.contains("POS30300.bin") && out.contains("Failed ( State Error )"),
        "{out}"
    );

    // The JSON `phoneflip dhcp probe --json` prints.
    let probe = dir.path().join("probe.json");
    fs::write(
        &probe,
        r#"{"server":"10.0.0.1","offered_address":"10.0.0.50","option_66":null,"option_150":["10.0.0.2"],"sip_phones_find_tftp":false,"sccp_phones_find_tftp":true,"findings":[]}"#,
    )
    .unwrap();
    let (code, out, err) = doctor(&["--dhcp-probe", probe.to_str().unwrap(), "--json"]);
    assert_eq!(code, 2, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"][0]["check"], "dhcp_no66", "{out}");

    let (code, _, err) = doctor(&[]);
    assert_ne!(code, 0);
    assert!(err.contains("nothing to examine"), "{err}");
}

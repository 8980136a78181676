//! Every check: the broken root is built in a temp dir, read the way
//! `phoneflip doctor ROOT` reads it, and the finding (and, where the fix is
//! safe, the fix) is checked.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use phoneflip_doctor::{
    apply_fixes, read_root, scan, Check, DhcpView, Finding, Fix, Options, Severity, Symptom,
};

fn build(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        fs::write(dir.path().join(name), bytes).unwrap();
    }
    dir
}

fn run(dir: &Path, opts: &Options) -> Vec<Finding> {
    scan(&read_root(dir).unwrap(), opts)
}

fn from(rs: &[&str]) -> Options {
    Options {
        from: rs.iter().map(|r| r.parse().unwrap()).collect(),
        ..Options::default()
    }
}

fn only(findings: &[Finding], check: Check) -> Vec<&Finding> {
    findings.iter().filter(|f| f.check == check).collect()
}

fn one(findings: &[Finding], check: Check) -> Finding {
    let v = only(findings, check);
    assert_eq!(v.len(), 1, "expected one {check:?} in {findings:#?}");
    v[0].clone()
}

/// Applies the fixes, rescans, and checks the check is gone and the
/// originals are in the backup.
fn fix_and_rescan(dir: &Path, findings: &[Finding], opts: &Options, gone: Check) -> Vec<Finding> {
    let applied = apply_fixes(dir, findings, SystemTime::now()).unwrap();
    assert!(!applied.changes.is_empty(), "no fix applied for {gone:?}");
    let backup = applied.backup.clone().unwrap();
    assert!(backup.starts_with(dir.join(".phoneflip-backup")));
    assert!(fs::read_dir(&backup).unwrap().count() >= 1);
    let after = run(dir, opts);
    assert!(
        only(&after, gone).is_empty(),
        "{gone:?} still there: {after:#?}"
    );
    after
}

/// A whole image of `release` named `name`, as phoneflip's synthetic
/// stand-in for the vendor zip holds it (the doctor verifies images, so a
/// healthy root needs intact ones).
fn image(release: &str, name: &str) -> Vec<u8> {
    let r: phoneflip_firmware::Release = release.parse().unwrap();
    phoneflip_bundle::synth(r.protocol, r.version, phoneflip_bundle::SizeProfile::Small)
        .unwrap()
        .file(name)
        .unwrap_or_else(|| panic!("{release} has no {name}"))
        .to_vec()
}

fn pos30203() -> (&'static str, &'static [u8]) {
    static BIN: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    (
        "POS30203.bin",
        BIN.get_or_init(|| image("sip:2.3", "POS30203.bin")),
    )
}

#[test]
fn os79xx_missing_is_an_error_for_original_boot_phones() {
    let dir = build(&[pos30203(), ("SIPDefault.cnf", b"image_version: POS30203\n")]);
    let f = one(&run(dir.path(), &from(&["sccp:3.0"])), Check::Os79xxMissing);
    assert_eq!(f.severity, Severity::Error);
    assert!(f.fix.contains("POS30203"), "{}", f.fix);
    let f = one(&run(dir.path(), &Options::default()), Check::Os79xxMissing);
    assert_eq!(f.severity, Severity::Warning);
    assert!(only(&run(dir.path(), &from(&["sip:8.12"])), Check::Os79xxMissing).is_empty());
}

#[test]
fn os79xx_bin_extension_is_stripped() {
    let dir = build(&[pos30203(), ("OS79XX.TXT", b"POS30203.bin\n")]);
    let opts = Options::default();
    let findings = run(dir.path(), &opts);
    let f = one(&findings, Check::Os79xxExtension);
    assert_eq!(f.symptom, Some(Symptom::Unprovisioned));
    assert_eq!(f.section, "IP Phones go to Unprovisioned State");
    assert_eq!(
        f.auto_fix,
        Some(Fix::Rewrite {
            file: "OS79XX.TXT".into(),
            contents: "POS30203".into()
        })
    );
    fix_and_rescan(dir.path(), &findings, &opts, Check::Os79xxExtension);
    // Exactly what render writes: the name, no line terminator.
    assert_eq!(
        fs::read(dir.path().join("OS79XX.TXT")).unwrap(),
        b"POS30203"
    );
    let backups: Vec<_> = fs::read_dir(dir.path().join(".phoneflip-backup"))
        .unwrap()
        .collect();
    let b = backups[0].as_ref().unwrap().path().join("OS79XX.TXT");
    assert_eq!(fs::read(b).unwrap(), b"POS30203.bin\n");
}

#[test]
fn os79xx_whitespace_and_cr_are_stripped() {
    for bytes in [
        &b"POS30203\r\n"[..],
        b"POS30203 \n",
        b" POS30203",
        b"POS30203\n\n\n",
    ] {
        let dir = build(&[pos30203(), ("OS79XX.TXT", bytes)]);
        let opts = Options::default();
        let findings = run(dir.path(), &opts);
        let f = findings
            .iter()
            .find(|f| matches!(f.check, Check::Os79xxWhitespace | Check::Os79xxLines))
            .unwrap_or_else(|| panic!("{bytes:?}: {findings:#?}"));
        assert!(f.auto_fix.is_some(), "{bytes:?}");
        let after = fix_and_rescan(dir.path(), &findings, &opts, f.check);
        assert!(
            after.iter().all(|f| f.severity != Severity::Error),
            "{after:#?}"
        );
    }
}

#[test]
fn os79xx_with_two_names_needs_a_decision() {
    let dir = build(&[pos30203(), ("OS79XX.TXT", b"POS30203\nPOS30300\n")]);
    let f = one(&run(dir.path(), &Options::default()), Check::Os79xxLines);
    assert_eq!(f.auto_fix, None);
    assert_eq!(f.severity, Severity::Error);
}

#[test]
fn os79xx_name_in_the_wrong_form_for_its_version() {
    let dir = build(&[pos30203(), ("OS79XX.TXT", b"POS3-02-3-00\n")]);
    let f = one(
        &run(dir.path(), &Options::default()),
        Check::Os79xxWrongForm,
    );
    assert!(f.fix.contains("POS30203"), "{}", f.fix);
    let dir = build(&[("OS79XX.TXT", b"POS30701\n")]);
    let f = one(
        &run(dir.path(), &Options::default()),
        Check::Os79xxWrongForm,
    );
    assert!(f.fix.contains("POS3-07-1-00"), "{}", f.fix);
    let dir = build(&[("OS79XX.TXT", b"hello\n")]);
    let f = one(&run(dir.path(), &Options::default()), Check::Os79xxNotALoad);
    assert_eq!(f.symptom, Some(Symptom::Unprovisioned));
}

#[test]
fn os79xx_name_in_lower_case_is_upper_cased() {
    let dir = build(&[pos30203(), ("OS79XX.TXT", b"pos30203\n")]);
    let opts = Options::default();
    let findings = run(dir.path(), &opts);
    one(&findings, Check::Os79xxNameCase);
    fix_and_rescan(dir.path(), &findings, &opts, Check::Os79xxNameCase);
    assert_eq!(
        fs::read(dir.path().join("OS79XX.TXT")).unwrap(),
        b"POS30203"
    );
}

#[test]
fn os79xx_file_in_the_wrong_case_is_renamed() {
    let dir = build(&[pos30203(), ("os79xx.txt", b"POS30203\n")]);
    let opts = Options::default();
    let findings = run(dir.path(), &opts);
    let f = one(&findings, Check::Os79xxFileCase);
    assert_eq!(f.file.as_deref(), Some("os79xx.txt"));
    fix_and_rescan(dir.path(), &findings, &opts, Check::Os79xxFileCase);
    assert!(dir.path().join("OS79XX.TXT").is_file());
}

#[test]
fn load_named_in_os79xx_is_not_in_the_root() {
    let dir = build(&[("OS79XX.TXT", b"POS30203\n")]);
    let f = one(&run(dir.path(), &Options::default()), Check::LoadMissing);
    assert_eq!(f.symptom, Some(Symptom::ProtocolApplicationInvalid));
    assert!(f.problem.contains("POS30203.bin"), "{}", f.problem);
    // The letter O / digit zero trap.
    let dir = build(&[
        ("OS79XX.TXT", b"POS3-07-4-00\n"),
        ("P0S3-07-4-00.bin", b"x"),
    ]);
    let f = one(&run(dir.path(), &Options::default()), Check::LoadMissing);
    assert!(f.fix.contains("P0S3-07-4-00"), "{}", f.fix);
    // A universal application named where the loader belongs.
    let dir = build(&[
        ("OS79XX.TXT", b"P0S3-8-12-00\n"),
        ("P003-8-12-00.bin", b"x"),
        ("P003-8-12-00.sbn", b"x"),
        ("P0S3-8-12-00.loads", b"x"),
        ("P0S3-8-12-00.sb2", b"x"),
    ]);
    // The loader is there: only the name is wrong, and --fix writes it.
    let findings = run(dir.path(), &Options::default());
    assert!(
        only(&findings, Check::LoadMissing).is_empty(),
        "{findings:#?}"
    );
    let f = one(&findings, Check::Os79xxNamesApplication);
    assert_eq!(
        f.auto_fix,
        Some(Fix::Rewrite {
            file: "OS79XX.TXT".into(),
            contents: "P003-8-12-00".into()
        })
    );
    fix_and_rescan(
        dir.path(),
        &findings,
        &Options::default(),
        Check::Os79xxNamesApplication,
    );
    assert_eq!(
        fs::read(dir.path().join("OS79XX.TXT")).unwrap(),
        b"P003-8-12-00"
    );
}

#[test]
fn load_file_in_another_case_is_renamed() {
    let dir = build(&[("OS79XX.TXT", b"POS30203\n"), ("pos30203.BIN", b"x")]);
    let opts = Options::default();
    let findings = run(dir.path(), &opts);
    let f = one(&findings, Check::LoadFileCase);
    assert_eq!(
        f.auto_fix,
        Some(Fix::Rename {
            from: "pos30203.BIN".into(),
            to: "POS30203.bin".into()
        })
    );
    fix_and_rescan(dir.path(), &findings, &opts, Check::LoadFileCase);
    assert!(dir.path().join("POS30203.bin").is_file());
}

#[test]
fn sip_mac_cnf_with_lower_case_mac_or_upper_case_extension() {
    for bad in [
        "SIP002094d245cb.cnf",
        "SIP002094D245CB.CNF",
        "sip002094d245cb.cnf",
    ] {
        let dir = build(&[
            ("OS79XX.TXT", b"POS30203\n"),
            pos30203(),
            (bad, b"image_version: POS30203\nline1_name: 100\n"),
        ]);
        let opts = Options::default();
        let findings = run(dir.path(), &opts);
        let f = one(&findings, Check::ConfigFileCase);
        assert_eq!(f.phone.unwrap().to_string(), "002094D245CB");
        assert_eq!(f.symptom, Some(Symptom::ConfigNotFound));
        fix_and_rescan(dir.path(), &findings, &opts, Check::ConfigFileCase);
        assert!(dir.path().join("SIP002094D245CB.cnf").is_file(), "{bad}");
    }
    // Both spellings present: merging needs a person.
    let dir = build(&[
        ("SIP002094d245cb.cnf", b"line1_name: 100\n"),
        ("SIP002094D245CB.cnf", b"line1_name: 100\n"),
    ]);
    let f = one(&run(dir.path(), &Options::default()), Check::ConfigFileCase);
    assert_eq!(f.auto_fix, None);
}

#[test]
fn image_version_disagrees_between_default_and_phone() {
    let dir = build(&[
        ("SIPDefault.cnf", b"image_version: P0S3-8-12-00\n"),
        (
            "SIP002094D245CB.cnf",
            b"# phone\nimage_version: POS3-07-4-00\n",
        ),
        ("P0S3-8-12-00.loads", b"x"),
        ("P0S3-8-12-00.sb2", b"x"),
        ("P003-8-12-00.bin", b"x"),
        ("P003-8-12-00.sbn", b"x"),
    ]);
    let findings = run(dir.path(), &from(&["sip:8.12"]));
    let f = one(&findings, Check::ImageVersionMismatch);
    assert_eq!(f.line, Some(2));
    assert_eq!(f.symptom, Some(Symptom::ProtocolApplicationInvalid));
    // POS3-07-4-00 itself is missing from the root.
    assert!(
        !only(&findings, Check::LoadMissing).is_empty(),
        "{findings:#?}"
    );
}

#[test]
fn image_version_with_bin_is_fixed_in_place() {
    let dir = build(&[
        (
            "SIPDefault.cnf",
            b"# keep me\nimage_version: POS30203.bin ; old\nproxy1_address: 10.0.0.1\n",
        ),
        ("OS79XX.TXT", b"POS30203"),
        pos30203(),
    ]);
    let opts = Options::default();
    let findings = run(dir.path(), &opts);
    one(&findings, Check::ImageVersionInvalid);
    fix_and_rescan(dir.path(), &findings, &opts, Check::ImageVersionInvalid);
    assert_eq!(
        fs::read_to_string(dir.path().join("SIPDefault.cnf")).unwrap(),
        "# keep me\nimage_version: POS30203 ; old\nproxy1_address: 10.0.0.1\n"
    );
}

#[test]
fn no_load_specified_anywhere() {
    let dir = build(&[
        ("SIPDefault.cnf", b"proxy1_address: 10.0.0.1\n"),
        ("SIP002094D245CB.cnf", b"line1_name: 100\n"),
    ]);
    let f = one(
        &run(dir.path(), &Options::default()),
        Check::NoLoadSpecified,
    );
    assert_eq!(f.symptom, Some(Symptom::NoLoadSpecified));
    assert_eq!(f.section, "\"No Load Specified\" Error");
    // Phones with an image in flash keep it.
    let f = one(
        &run(dir.path(), &from(&["sip:8.12"])),
        Check::NoLoadSpecified,
    );
    assert_eq!(f.symptom, Some(Symptom::KeepsCurrentLoad));
    // OS79XX.TXT names an image only for pre-loader phones.
    fs::write(dir.path().join("OS79XX.TXT"), b"P003-8-12-00\n").unwrap();
    one(
        &run(dir.path(), &from(&["sccp:8.1(2)SR2"])),
        Check::NoLoadSpecified,
    );
    assert!(only(
        &run(dir.path(), &from(&["sccp:5.0(1.1)"])),
        Check::NoLoadSpecified
    )
    .is_empty());
}

#[test]
fn parameters_unknown_to_the_target_load() {
    let dir = build(&[
        ("OS79XX.TXT", b"POS3-04-4-00\n"),
        ("POS3-04-4-00.bin", b"x"),
        (
            "SIPDefault.cnf",
            b"image_version: POS3-04-4-00\nproxy1_adress: 10.0.0.1\ncall_stats: 1\n",
        ),
    ]);
    let findings = run(dir.path(), &Options::default());
    let params = only(&findings, Check::SipParameter);
    assert_eq!(params.len(), 2, "{findings:#?}");
    assert!(
        params[0].problem.contains("proxy1_adress") && params[0].fix.contains("proxy1_address")
    );
    assert_eq!(params[0].line, Some(2));
    assert!(params[1].problem.contains("call_stats") && params[1].problem.contains("6.0"));
}

#[test]
fn bundle_copied_by_hand() {
    let dir = build(&[
        ("SIPDefault.cnf", b"image_version: P0S3-8-12-00\n"),
        ("P0S3-8-12-00.loads", b"x"),
        ("P003-8-12-00.bin", b"x"),
    ]);
    let f = one(
        &run(dir.path(), &from(&["sip:8.12"])),
        Check::BundleIncomplete,
    );
    assert_eq!(f.symptom, Some(Symptom::ProtocolApplicationInvalid));
    assert!(f.problem.contains("P0S3-8-12-00.sb2") && f.problem.contains("P003-8-12-00.sbn"));
    // The reverse: the application image without its .loads.
    let dir = build(&[("P0030801SR02.sb2", b"x"), ("P0030801SR02.bin", b"x")]);
    let f = one(
        &run(dir.path(), &Options::default()),
        Check::BundleIncomplete,
    );
    assert!(f.problem.contains("P0030801SR02.loads"), "{}", f.problem);
    // An empty image.
    let dir = build(&[("OS79XX.TXT", b"POS30203\n"), ("POS30203.bin", b"")]);
    one(&run(dir.path(), &Options::default()), Check::EmptyImage);
}

#[test]
fn unreadable_files_are_findings() {
    let dir = build(&[("OS79XX.TXT", b"POS30203\n")]);
    #[cfg(unix)]
    std::os::unix::fs::symlink("/nonexistent/POS30203.bin", dir.path().join("POS30203.bin"))
        .unwrap();
    let findings = run(dir.path(), &Options::default());
    let f = one(&findings, Check::Unreadable);
    assert_eq!(f.file.as_deref(), Some("POS30203.bin"));
    assert_eq!(f.symptom, Some(Symptom::ProtocolApplicationInvalid));
}

#[test]
fn w210_sipdefault_too_large_for_sip_2() {
    let mut big = b"image_version: POS30203\n".to_vec();
    while big.len() <= phoneflip_doctor::W210_LIMIT as usize {
        big.extend_from_slice(b"# a comment the phone must still download\n");
    }
    let dir = build(&[
        ("OS79XX.TXT", b"POS30203\n"),
        pos30203(),
        ("SIPDefault.cnf", &big),
    ]);
    let opts = Options::default();
    let findings = run(dir.path(), &opts);
    let f = one(&findings, Check::W210);
    assert_eq!(f.symptom, Some(Symptom::W210BufferFull));
    fix_and_rescan(dir.path(), &findings, &opts, Check::W210);
    assert_eq!(
        fs::read_to_string(dir.path().join("SIPDefault.cnf")).unwrap(),
        "image_version: POS30203\n"
    );
    let mut big8 = b"image_version: P0S3-8-12-00\n".to_vec();
    big8.extend_from_slice(&big[24..]);
    // Phones on 8.12 read a large file fine.
    let dir = build(&[("SIPDefault.cnf", &big8)]);
    assert!(only(&run(dir.path(), &from(&["sip:8.12"])), Check::W210).is_empty());
    // Phones on SIP 2.2 converting to 8.12 through the loader do not.
    let f = one(&run(dir.path(), &from(&["sip:2.2"])), Check::W210);
    assert_eq!(
        f.auto_fix,
        Some(Fix::Rewrite {
            file: "SIPDefault.cnf".into(),
            contents: "image_version: P0S3-8-12-00\n".into()
        })
    );
}

#[test]
fn w210_also_for_sip_1_x() {
    // Issue 10: W210 is "2.x or earlier", the planner's rule, here too.
    let mut big = b"image_version: POS30100\n".to_vec();
    while big.len() <= phoneflip_doctor::W210_LIMIT as usize {
        big.extend_from_slice(b"# a comment the phone must still download\n");
    }
    let dir = build(&[("POS30100.bin", b"image"), ("SIPDefault.cnf", &big)]);
    let f = one(&run(dir.path(), &from(&["sip:1.0"])), Check::W210);
    assert_eq!(f.symptom, Some(Symptom::W210BufferFull));
    // Named only by SIPDefault.cnf, with no --from: still SIP 1.0.
    one(&run(dir.path(), &Options::default()), Check::W210);
}

#[test]
fn sccp_name_over_8_3_for_sip_2_1() {
    let dir = build(&[
        ("OS79XX.TXT", b"P00305000101\n"),
        ("P00305000101.bin", b"x"),
    ]);
    let f = one(&run(dir.path(), &from(&["sip:2.1"])), Check::SccpName83);
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.section, "SIP Phone not Accepting SCCP Load");
    assert!(only(&run(dir.path(), &from(&["sip:2.2"])), Check::SccpName83).is_empty());
}

#[test]
fn downgrade_below_5() {
    let dir = build(&[("OS79XX.TXT", b"POS30203\n"), pos30203()]);
    let f = one(
        &run(dir.path(), &from(&["sip:5.0"])),
        Check::DowngradeBelow5,
    );
    assert_eq!(f.severity, Severity::Error);
    assert!(only(
        &run(dir.path(), &from(&["sccp:3.0"])),
        Check::DowngradeBelow5
    )
    .is_empty());
}

#[test]
fn sip_5_6_to_sccp_needs_gkdefault() {
    let files: &[(&str, &[u8])] = &[
        ("OS79XX.TXT", b"P00305000101\n"),
        ("P00305000101.bin", b"x"),
    ];
    let dir = build(files);
    let f = one(
        &run(dir.path(), &from(&["sip:6.0"])),
        Check::GkdefaultMissing,
    );
    assert_eq!(f.severity, Severity::Error);
    assert!(f.fix.contains("cfgfmt"), "{}", f.fix);
    fs::write(dir.path().join("gkdefault.cfg"), b"binary").unwrap();
    assert!(only(
        &run(dir.path(), &from(&["sip:6.0"])),
        Check::GkdefaultMissing
    )
    .is_empty());
}

#[test]
fn state_error_risk_from_old_sccp() {
    let dir = build(&[
        ("OS79XX.TXT", b"POS3-03-0-00\n"),
        ("POS3-03-0-00.bin", b"x"),
    ]);
    let f = one(
        &run(dir.path(), &from(&["sccp:3.0"])),
        Check::StateErrorRisk,
    );
    assert!(f.fix.contains("POS30203"));
}

#[test]
fn dhcp_option_150_without_66() {
    let dir = build(&[
        ("OS79XX.TXT", b"POS30203\n"),
        pos30203(),
        ("SIPDefault.cnf", b"image_version: POS30203\n"),
    ]);
    let opts = Options {
        dhcp: Some(DhcpView::parse_config(
            "dnsmasq.conf",
            "dhcp-range=10.0.0.10,10.0.0.99\ndhcp-option=150,10.0.0.2\n",
        )),
        ..Options::default()
    };
    let f = one(&run(dir.path(), &opts), Check::DhcpNo66);
    assert_eq!((f.file.as_deref(), f.line), (Some("dnsmasq.conf"), Some(2)));
    assert_eq!(f.severity, Severity::Error);
}

#[test]
fn tftp_server_every_phone_gets_used_for_a_partial_conversion() {
    let dir = build(&[
        ("OS79XX.TXT", b"POS30203\n"),
        pos30203(),
        ("SIP002094D245CB.cnf", b"image_version: POS30203\n"),
    ]);
    let dhcp = DhcpView::parse_config("dhcpd.conf", "option tftp-server-name \"10.0.0.5\";\n");
    let opts = Options {
        dhcp: Some(dhcp.clone()),
        tftp_address: Some("10.0.0.5".parse().unwrap()),
        ..Options::default()
    };
    let f = one(&run(dir.path(), &opts), Check::SharedTftpServer);
    assert_eq!(f.symptom, Some(Symptom::WholeFleetConverts));
    assert_eq!(f.section, "TFTP Accessibility and Impact on Network");
    let elsewhere = Options {
        tftp_address: Some("10.0.0.9".parse().unwrap()),
        ..opts
    };
    assert!(only(&run(dir.path(), &elsewhere), Check::SharedTftpServer).is_empty());
}

#[test]
fn a_healthy_sip_8_12_root_has_no_findings() {
    let dir = build(&[
        ("OS79XX.TXT", b"P003-8-12-00\n"),
        ("P003-8-12-00.bin", &image("sip:8.12", "P003-8-12-00.bin")),
        ("P003-8-12-00.sbn", &image("sip:8.12", "P003-8-12-00.sbn")),
        (
            "P0S3-8-12-00.loads",
            &image("sip:8.12", "P0S3-8-12-00.loads"),
        ),
        ("P0S3-8-12-00.sb2", &image("sip:8.12", "P0S3-8-12-00.sb2")),
        (
            "SIPDefault.cnf",
            b"image_version: P0S3-8-12-00\nproxy1_address: 10.0.0.1\nproxy_register: 1\n",
        ),
        (
            "SIP002094D245CB.cnf",
            b"image_version: P0S3-8-12-00\nline1_name: 100\nline1_password: x\n",
        ),
    ]);
    let findings = run(dir.path(), &from(&["sccp:8.1(2)SR2", "sip:6.0"]));
    assert!(findings.is_empty(), "{findings:#?}");
    let applied = apply_fixes(dir.path(), &findings, SystemTime::now()).unwrap();
    assert_eq!(applied.backup, None);
}

#[test]
fn image_version_in_the_wrong_form() {
    let dir = build(&[
        ("SIPDefault.cnf", b"image_version: POS30300\n"),
        ("POS30300.bin", b"x"),
    ]);
    let f = one(&run(dir.path(), &Options::default()), Check::LoadWrongForm);
    assert!(f.fix.contains("POS3-03-0-00"), "{}", f.fix);
    assert_eq!(f.line, Some(1));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Hand-edited files of any content: the scan reports, never panics,
    /// and every fix it proposes names a plain file of the root.
    #[test]
    fn any_control_file_content_is_scanned(
        os79 in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        default in "[ -~\n\r]{0,200}",
        phone in "[ -~\n]{0,200}",
        xml in "[ -~\n]{0,120}",
    ) {
        let root = phoneflip_doctor::Root::from_contents([
            ("OS79XX.TXT", os79),
            ("SIPDefault.cnf", default.into_bytes()),
            ("SIP002094d245cb.cnf", phone.into_bytes()),
            ("SEP002094D245CB.cnf.xml", xml.into_bytes()),
            ("POS30203.bin", b"x".to_vec()),
        ]);
        let opts = from(&["sip:2.1", "sip:6.0", "sccp:3.0"]);
        for f in scan(&root, &opts) {
            if let Some(Fix::Rename { from, to }) = &f.auto_fix {
                proptest::prop_assert!(!from.contains('/') && !to.contains('/'));
            }
        }
    }
}

#[test]
fn misnamed_and_malformed_os79xx_is_renamed_then_rewritten() {
    let dir = build(&[pos30203(), ("Os79xx.txt", b"pos30203.BIN \r\n")]);
    let opts = Options::default();
    let findings = run(dir.path(), &opts);
    one(&findings, Check::Os79xxFileCase);
    let after = fix_and_rescan(dir.path(), &findings, &opts, Check::Os79xxFileCase);
    assert!(
        after.iter().all(|f| f.severity != Severity::Error),
        "{after:#?}"
    );
    assert_eq!(
        fs::read(dir.path().join("OS79XX.TXT")).unwrap(),
        b"POS30203"
    );
    assert!(!dir.path().join("Os79xx.txt").exists());
}

#[test]
fn ringlist_files_must_be_in_the_root() {
    let dir = build(&[
        (
            "RINGLIST.DAT",
            b"Chirp\tchirp1.raw\r\nClassic\tringer1.pcm\r\n",
        ),
        ("Ringer1.PCM", b"audio"),
    ]);
    let opts = Options::default();
    let findings = run(dir.path(), &opts);
    let rings = only(&findings, Check::RingList);
    assert_eq!(rings.len(), 2, "{findings:#?}");
    assert!(rings
        .iter()
        .any(|f| f.problem.contains("chirp1.raw") && f.auto_fix.is_none()));
    assert!(rings.iter().any(|f| f.auto_fix
        == Some(Fix::Rename {
            from: "Ringer1.PCM".into(),
            to: "ringer1.pcm".into()
        })));
    apply_fixes(dir.path(), &findings, SystemTime::now()).unwrap();
    assert_eq!(only(&run(dir.path(), &opts), Check::RingList).len(), 1);
}

/// The reference, Enable SIP Functionality step 4: "It is recommended
/// that you not use the TFTP server on the Cisco CallManager". A
/// conversion root whose XMLDefault.cnf.xml names the CallManager DHCP
/// hands out as the TFTP server is served by that CallManager.
#[test]
fn a_conversion_served_by_the_callmanagers_tftp_server() {
    let xml = |load: &str| {
        format!(
            r#"<Default><callManagerGroup><members><member priority="0"><callManager><ports><ethernetPhonePort>2000</ethernetPhonePort></ports><processNodeName>10.0.0.2</processNodeName></callManager></member></members></callManagerGroup><loadInformation7 model="IP Phone 7960">{load}</loadInformation7></Default>"#
        )
    };
    let dhcp = |server: &str| Options {
        dhcp: Some(DhcpView::parse_config(
            "dnsmasq.conf",
            &format!("dhcp-range=10.0.0.10,10.0.0.99\ndhcp-option=66,\"{server}\"\n"),
        )),
        ..Options::default()
    };
    let sip = xml("P0S3-8-12-00");
    let dir = build(&[
        ("XMLDefault.cnf.xml", sip.as_bytes()),
        (
            "SIPDefault.cnf",
            b"image_version: P0S3-8-12-00\nproxy1_address: 10.0.0.1\nproxy_register: 1\n",
        ),
    ]);
    let f = one(&run(dir.path(), &dhcp("10.0.0.2")), Check::CallManagerTftp);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.file.as_deref(), Some("dnsmasq.conf"));
    assert!(
        f.problem.contains("XMLDefault.cnf.xml names 10.0.0.2"),
        "{}",
        f.problem
    );
    assert!(f.fix.contains("Alternate TFTP Server"), "{}", f.fix);
    // The same, told by --tftp-address instead of DHCP.
    let by_address = Options {
        tftp_address: Some("10.0.0.2".parse().unwrap()),
        ..Options::default()
    };
    one(&run(dir.path(), &by_address), Check::CallManagerTftp);
    // A separate TFTP server: nothing to say.
    assert!(only(&run(dir.path(), &dhcp("10.0.0.5")), Check::CallManagerTftp).is_empty());
    // Back to SCCP from the CallManager's TFTP server is the normal revert.
    let sccp = xml("P0030801SR02");
    let dir = build(&[("XMLDefault.cnf.xml", sccp.as_bytes())]);
    assert!(only(&run(dir.path(), &dhcp("10.0.0.2")), Check::CallManagerTftp).is_empty());
}

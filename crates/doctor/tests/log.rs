//! Log patterns: each log is written the way its server writes it, read,
//! grouped per phone and diagnosed.

use phoneflip_doctor::{diagnose, parse_log, timelines, Check, Finding, Root, Symptom};

fn diag(text: &str, root: Option<&Root>) -> Vec<Finding> {
    let log = parse_log(text);
    diagnose("tftp.log", &timelines(&log), root)
}

fn checks(f: &[Finding]) -> Vec<Check> {
    f.iter().map(|f| f.check).collect()
}

/// Reference format lines for one request and its result.
fn reference(t: i64, file: &str, ip: &str, result: &str) -> String {
    let time = phoneflip_doctor::log::format_time(t);
    format!("{time}: Sending '{file}' file to {ip} in binary mode\n{time}: {result}\n")
}

const T0: i64 = 1_036_583_931; // Wed Nov 06 11:58:51 2002

#[test]
fn the_references_state_error_log_means_go_through_sip_2_3() {
    let text = "Wed Nov 06 11:58:51 2002: Sending 'OS79XX.TXT' file to 10.1.1.1\nin binary mode\n\
Wed Nov 06 11:58:51 2002: Successful.\n\
Wed Nov 06 11:58:51 2002: Sending 'POS30300.bin' file to 10.1.1.1\nin binary mode\n\
Wed Nov 06 11:58:52 2002: Failed ( State Error ).\n\
Wed Nov 06 11:59:00 2002: Sending 'POS30300.bin' file to 10.1.1.1\nin binary mode\n\
Wed Nov 06 11:59:02 2002: Failed ( State Error ).\n\
Wed Nov 06 11:59:10 2002: Sending 'POS30300.bin' file to 10.1.1.1\nin binary mode\n\
Wed Nov 06 11:59:13 2002: Failed ( State Error ).\n";
    let f = diag(text, None);
    assert_eq!(checks(&f), vec![Check::LogStateError], "{f:#?}");
    assert_eq!(f[0].symptom, Some(Symptom::StateError));
    assert!(f[0].fix.contains("2.3"), "{}", f[0].fix);
    assert_eq!(f[0].line, Some(4));
}

#[test]
fn sip_mac_cnf_every_30_seconds_means_its_file_is_missing() {
    let mut text = String::new();
    text += &reference(T0, "SIPDefault.cnf", "10.1.1.7", "Successful.");
    for i in 0..4 {
        text += &reference(
            T0 + 1 + 30 * i,
            "./SIP002094D245CB.cnf",
            "10.1.1.7",
            "Failed ( File not found ).",
        );
    }
    let root = Root::from_contents([("SIP002094d245cb.cnf", b"line1_name: 1\n".to_vec())]);
    let f = diag(&text, Some(&root));
    assert_eq!(checks(&f), vec![Check::LogConfigMissing], "{f:#?}");
    assert_eq!(f[0].phone.unwrap().to_string(), "002094D245CB");
    assert!(f[0].problem.contains("30 s"), "{}", f[0].problem);
    assert!(
        f[0].problem.contains("SIP002094d245cb.cnf"),
        "{}",
        f[0].problem
    );

    // tftpd-hpa at verbosity 1 logs no NAK: the 30 s rhythm alone tells.
    let mut text = String::new();
    for i in 0..3 {
        text += &format!(
            "Nov  6 12:0{i}:00 tftp in.tftpd[9{i}]: RRQ from ::ffff:10.1.1.7 filename SIP002094D245CB.cnf\n"
        );
        text += &format!(
            "Nov  6 12:0{i}:30 tftp in.tftpd[8{i}]: RRQ from ::ffff:10.1.1.7 filename SIP002094D245CB.cnf\n"
        );
    }
    let f = diag(&text, None);
    assert_eq!(checks(&f), vec![Check::LogConfigMissing], "{f:#?}");
}

#[test]
fn looping_on_os79xx_and_the_image() {
    let mut text = String::new();
    for i in 0..3 {
        text += &reference(T0 + 60 * i, "OS79XX.TXT", "10.1.1.9", "Successful.");
        text += &reference(
            T0 + 60 * i + 1,
            "POS3-07-4-00.bin",
            "10.1.1.9",
            "Successful.",
        );
    }
    let f = diag(&text, None);
    assert_eq!(checks(&f), vec![Check::LogBootLoop], "{f:#?}");
    assert_eq!(f[0].symptom, Some(Symptom::ProtocolApplicationInvalid));
}

#[test]
fn an_image_the_server_does_not_have() {
    let text = "Nov  6 11:58:51 tftp in.tftpd[812]: RRQ from ::ffff:10.1.1.1 filename OS79XX.TXT\n\
Nov  6 11:58:52 tftp in.tftpd[813]: RRQ from ::ffff:10.1.1.1 filename POS30203.bin\n\
Nov  6 11:58:52 tftp in.tftpd[813]: sending NAK (1, File not found) to ::ffff:10.1.1.1\n";
    let root = Root::from_contents([("pos30203.bin", b"x".to_vec())]);
    let f = diag(text, Some(&root));
    assert_eq!(checks(&f), vec![Check::LogImageMissing], "{f:#?}");
    assert!(f[0].problem.contains("pos30203.bin"), "{}", f[0].problem);

    let text = reference(
        T0,
        "POS30203 .bin",
        "10.1.1.1",
        "Failed ( File not found ).",
    );
    assert_eq!(checks(&diag(&text, None)), vec![Check::LogNameWhitespace]);
}

#[test]
fn a_healthy_8_12_boot_has_no_findings() {
    // The domain facts' normal boot of a phone already on P0S3-8-12-00.
    let mut text = String::new();
    let ip = "10.1.1.20";
    text += &reference(
        T0,
        "CTLSEP002094D245CB.tlv",
        ip,
        "Failed ( File not found ).",
    );
    text += &reference(
        T0 + 1,
        "SEP002094D245CB.cnf.xml",
        ip,
        "Failed ( File not found ).",
    );
    text += &reference(T0 + 2, "P0S3-8-12-00.loads", ip, "Successful.");
    text += &reference(T0 + 22, "SIPDefault.cnf", ip, "Successful.");
    text += &reference(T0 + 23, "./SIP002094D245CB.cnf", ip, "Successful.");
    text += &reference(T0 + 24, "RINGLIST.DAT", ip, "Successful.");
    text += &reference(T0 + 24, "dialplan.xml", ip, "Successful.");
    let log = parse_log(&text);
    let tl = timelines(&log);
    assert_eq!(tl.len(), 1);
    assert_eq!(tl[0].mac.unwrap().to_string(), "002094D245CB");
    let f = diagnose("tftp.log", &tl, None);
    assert!(f.is_empty(), "{f:#?}");
    let shown = phoneflip_doctor::render_timeline(&tl[0]);
    assert!(
        shown.contains("P0S3-8-12-00.loads") && shown.contains("Successful"),
        "{shown}"
    );
}

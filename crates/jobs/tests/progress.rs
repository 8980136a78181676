//! Progress inferred from realistic TFTP transfer sequences.

mod common;
use common::*;

use phoneflip_jobs::{infer, Stage, Target, IMAGE_FAILURE_LIMIT};

fn sip812() -> Target {
    "sip:8.12".parse().unwrap()
}

#[test]
fn sccp_8_1_2_to_sip_8_12_two_stage_boot_converts_at_sipdefault() {
    let events = sccp_to_sip_boot(1, 0);
    let mut stages = Vec::new();
    let mut p = phoneflip_jobs::Progress::default();
    for e in &events {
        p.apply(mac(1), &sip812(), e);
        stages.push((e.file.clone(), p.stage.name()));
    }
    let at = |f: &str, nth: usize| {
        stages
            .iter()
            .filter(|(x, _)| x == f)
            .nth(nth)
            .unwrap_or_else(|| panic!("{f} #{nth} in {stages:?}"))
            .1
    };
    let m = mac(1).to_string();
    // The first hunt asks for SIP<MAC>.cnf while still on SCCP: not converted.
    assert_eq!(at(&format!("SIP{m}.cnf"), 0), "idle");
    assert_eq!(at("P0S3-8-12-00.loads", 0), "image_requested");
    assert_eq!(at("P003-8-12-00.sbn", 0), "loader_fetched");
    // After the loader's reboot the same hunt happens again: still not converted.
    assert_eq!(at(&format!("SIP{m}.cnf"), 1), "loader_fetched");
    assert_eq!(at("P0S3-8-12-00.sb2", 0), "image_fetched");
    assert_eq!(at("SIPDefault.cnf", 0), "converted");
    match infer(mac(1), &sip812(), &events).stage {
        Stage::Converted { file, at_ms } => {
            assert_eq!(file, "SIPDefault.cnf");
            assert_eq!(at_ms, events[events.len() - 2].time_ms);
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn a_sip_file_from_the_hunt_after_the_image_is_not_conversion() {
    // The hunt's SIP<MAC>.cnf right after a missing SEP<MAC>.cnf.xml is the
    // loader talking, even once the application was fetched.
    let events = vec![
        ev(1, 0, "P0S3-8-12-00.loads", Sent),
        ev(1, 1, "P0S3-8-12-00.sb2", Sent),
        ev(1, 2, "SEP<MAC>.cnf.xml", NotFound),
        ev(1, 3, "SIP<MAC>.cnf", NotFound),
    ];
    assert_eq!(infer(mac(1), &sip812(), &events).stage, Stage::ImageFetched);
    let mut more = events.clone();
    more.push(ev(1, 30, "./SIP<MAC>.cnf", Sent));
    assert!(matches!(
        infer(mac(1), &sip812(), &more).stage,
        Stage::Converted { .. }
    ));
}

#[test]
fn state_error_loop_fails_with_the_cause() {
    // The reference's log: OS79XX.TXT, then the image failing with State Error.
    let target: Target = "sip:3.0".parse().unwrap();
    let image = format!("{}.bin", target.load);
    let events: Vec<_> = [
        ev(1, 0, "OS79XX.TXT", Sent),
        ev(1, 1, &image, failed("State Error")),
        ev(1, 9, &image, failed("State Error")),
        ev(1, 19, &image, failed("State Error")),
    ]
    .into_iter()
    .collect();
    let p = infer(mac(1), &target, &events[..3]);
    assert_eq!(
        p.stage,
        Stage::ImageRequested,
        "two failures are not yet a loop"
    );
    let p = infer(mac(1), &target, &events);
    match p.stage {
        Stage::Failed { cause } => {
            assert!(cause.contains("State Error"), "{cause}");
            assert!(cause.contains(&image), "{cause}");
            assert!(cause.contains(&IMAGE_FAILURE_LIMIT.to_string()), "{cause}");
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn a_success_between_failures_resets_the_count() {
    let events = vec![
        ev(1, 0, "P0S3-8-12-00.loads", failed("Timeout")),
        ev(1, 1, "P0S3-8-12-00.loads", failed("Timeout")),
        ev(1, 2, "P0S3-8-12-00.loads", Sent),
        ev(1, 3, "P003-8-12-00.sbn", failed("Timeout")),
        ev(1, 4, "P003-8-12-00.sbn", failed("Timeout")),
    ];
    let p = infer(mac(1), &sip812(), &events);
    assert_eq!(p.stage, Stage::ImageRequested);
    assert_eq!(p.image_failures, 2);
}

#[test]
fn missing_image_files_fail_naming_the_fix() {
    let events: Vec<_> = (0..3)
        .map(|i| ev(1, i, "P0S3-8-12-00.loads", NotFound))
        .collect();
    match infer(mac(1), &sip812(), &events).stage {
        Stage::Failed { cause } => assert!(cause.contains("TFTP root"), "{cause}"),
        s => panic!("{s:?}"),
    }
}

#[test]
fn sip_to_sccp_converts_when_the_sccp_application_asks_for_sep() {
    let target: Target = "sccp:8.1(2)SR2".parse().unwrap();
    let events = vec![
        ev(1, 0, "SIPDefault.cnf", Sent),
        ev(1, 1, "SIP<MAC>.cnf", Sent),
        ev(1, 2, "P0030801SR02.loads", Sent),
        ev(1, 3, "P0030801SR02.sbn", Sent),
        // Loader reboot: it asks for SEP<MAC>.cnf.xml, which is not yet proof.
        ev(1, 20, "CTLSEP<MAC>.tlv", NotFound),
        ev(1, 21, "SEP<MAC>.cnf.xml", Sent),
        ev(1, 22, "P0030801SR02.loads", Sent),
        ev(1, 23, "P0030801SR02.sb2", Sent),
        ev(1, 60, "CTLSEP<MAC>.tlv", NotFound),
        ev(1, 61, "SEP<MAC>.cnf.xml", Sent),
    ];
    let p = infer(mac(1), &target, &events[..6]);
    assert_eq!(p.stage, Stage::LoaderFetched);
    match infer(mac(1), &target, &events).stage {
        Stage::Converted { file, .. } => assert_eq!(file, format!("SEP{}.cnf.xml", mac(1))),
        s => panic!("{s:?}"),
    }
}

#[test]
fn other_loads_and_files_change_nothing() {
    let events = vec![
        ev(1, 0, "P0030801SR02.loads", Sent),
        ev(1, 1, "P0030801SR02.sb2", Sent),
        ev(1, 2, "SIPDefault.cnf", Sent),
        ev(1, 3, "RINGLIST.DAT", Sent),
    ];
    assert_eq!(infer(mac(1), &sip812(), &events).stage, Stage::Idle);
}

#[test]
fn sipdefault_after_a_failed_loader_is_the_old_application() {
    // The index was read, the loader transfer failed, and the old SIP
    // application came back: not converted.
    let events = vec![
        ev(1, 0, "P0S3-8-12-00.loads", Sent),
        ev(1, 1, "P003-8-12-00.sbn", failed("Timeout")),
        ev(1, 2, "SIPDefault.cnf", Sent),
    ];
    assert_eq!(
        infer(mac(1), &sip812(), &events).stage,
        Stage::ImageRequested
    );
    // Whereas index then straight to SIPDefault.cnf is the target running.
    let events = vec![
        ev(1, 0, "SEP<MAC>.cnf.xml", Sent),
        ev(1, 1, "P0S3-8-12-00.loads", Sent),
        ev(1, 2, "SIPDefault.cnf", Sent),
    ];
    assert!(matches!(
        infer(mac(1), &sip812(), &events).stage,
        Stage::Converted { .. }
    ));
}

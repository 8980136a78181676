//! The `phoneflip plan` binary: its JSON is a stable interface, its errors
//! name the rule and the nearest target, and `--root` reads a real directory.

use std::process::{Command, Output};

use serde_json::json;

fn phoneflip(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the phoneflip binary runs")
}

#[test]
fn json_for_the_issue_example_is_exactly_the_documented_schema() {
    let out = phoneflip(&[
        "plan", "--from", "sccp:3.3", "--to", "sip:8.12", "--model", "7960", "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let sccp = json!({
        "release": "sccp:3.3", "protocol": "sccp", "version": "3.3",
        "load": "P00303030000", "in_catalogue": false
    });
    let sip = json!({
        "release": "sip:8.12", "protocol": "sip", "version": "8.12",
        "load": "P0S3-8-12-00", "in_catalogue": true
    });
    let want = json!({
        "schema": 1,
        "from": sccp,
        "to": sip,
        "model": "7960",
        "hops": [{
            "step": 1,
            "from": sccp,
            "to": sip,
            "mechanism": "config_image",
            "forced_by": null,
            "files": [
                "P0S3-8-12-00.loads", "P0S3-8-12-00.sb2",
                "P003-8-12-00.bin", "P003-8-12-00.sbn"
            ],
            "copies": [],
            "missing_files": null,
            "control_files": [
                {"file": "OS79XX.TXT", "edit": "whole_file", "content": "P003-8-12-00", "rule": "os79xx_name_only"},
                {"file": "SIPDefault.cnf", "edit": "set_line", "content": "image_version: P0S3-8-12-00", "rule": "sip_image_version"},
                {"file": "SIP<MAC>.cnf", "edit": "set_line", "content": "image_version: P0S3-8-12-00", "rule": "sip_image_version"},
                {"file": "SEP<MAC>.cnf.xml", "edit": "remove", "content": "", "rule": "sip_image_version"}
            ],
            "commands": [],
            "reset": {
                "method": "call_manager_or_power_cycle",
                "how": "Reset the phone: reset it from Cisco CallManager, or unplug the power (the Ethernet cable with inline power). The universal application loader then works in two stages (loader, reboot, application, reboot): wait for both reboots."
            },
            "section": "SCCP Image 3.x/Earlier and 5.x to SIP Image 7.x",
            "documented": true,
            "rules": ["sip_image_version", "os79xx_name_only", "no_downgrade_below_5_0"],
            "warnings": [
                "remove the SCCP configuration files the phone no longer uses (the reference's step 3); XMLDefault.cnf.xml serves every SCCP phone, so keep it if others still run SCCP",
                "after this hop the phone runs sip:8.12 and can never return below 5.0, in any protocol"
            ]
        }]
    });
    assert_eq!(got, want);
}

#[test]
fn human_output_numbers_the_hops() {
    let out = phoneflip(&["plan", "--from", "sip:4.4", "--to", "P0030801SR02"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1. sip:4.4 (POS3-04-4-00) -> sccp:6.0(3) (P00306000300)"));
    assert!(text.contains("2. sccp:6.0(3) (P00306000300) -> sccp:8.1(2)SR2 (P0030801SR02)"));
}

#[test]
fn an_impossible_request_names_the_rule_and_the_nearest_target() {
    let out = phoneflip(&["plan", "--from", "sip:5.0", "--to", "sip:4.4"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SIP 5.0 is SIP 4.4 plus signed images"),
        "{err}"
    );
    assert!(err.contains("Enable SIP Functionality"), "{err}");
    assert!(err.contains("closest reachable target is sip:5.0"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_arguments_are_explained() {
    let out = phoneflip(&["plan", "--from", "sccp3.3", "--to", "sip:8.12"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--from"), "{err}");
    assert!(
        err.contains("POS3-07-4-00"),
        "shows the accepted forms: {err}"
    );
}

#[test]
fn root_builds_the_catalogue_from_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["P00304020100.bin", "P00304010200.bin", "OS79XX.TXT"] {
        std::fs::write(dir.path().join(f), b"x").unwrap();
    }
    let root = dir.path().to_str().unwrap();
    let out = phoneflip(&[
        "plan",
        "--from",
        "sip:3.0",
        "--to",
        "sccp:5.0(1.1)",
        "--root",
        root,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hops = got["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 2);
    assert_eq!(hops[0]["to"]["load"], "P00304020100");
    assert_eq!(hops[0]["forced_by"], "latest_sccp_4_before_5");
    assert_eq!(hops[0]["missing_files"], json!([]));
    assert_eq!(hops[1]["missing_files"], json!(["P00305000101.bin"]));

    let out = phoneflip(&[
        "plan",
        "--from",
        "sip:3.0",
        "--to",
        "sccp:5.0(1.1)",
        "--root",
        "/nonexistent/phoneflip-root",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/phoneflip-root"));
}

//! Issue 3's promise end to end, through the real binary: a freshly
//! imported CSV fleet renders a static TFTP root (`render --all`) whose
//! control files are exactly what `phoneflip plan --json` demands for each
//! phone's next hop, for a SIP target and for an SCCP target.

use std::path::Path;
use std::process::Command;

use phoneflip_inventory::{Inventory, SqliteInventory};
use serde_json::Value;

fn phoneflip(dir: &Path, args: &[&str]) -> Vec<u8> {
    let o = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(args)
        .current_dir(dir)
        .env_remove("PHONEFLIP_DB")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run phoneflip");
    assert!(
        o.status.success(),
        "phoneflip {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Imports `csv`, records each phone's observed load (what the TFTP
/// evidence would have taught the inventory), renders the root and checks
/// every phone's first hop against the plan.
fn check_fleet(template: &[&str], csv: &str, observed: &[(&str, &str)], firmware: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut args = vec!["templates", "add"];
    args.extend_from_slice(template);
    phoneflip(d, &args);
    std::fs::write(d.join("fleet.csv"), csv).unwrap();
    phoneflip(d, &["phones", "import", "fleet.csv"]);
    {
        let inv = SqliteInventory::open(d.join("phoneflip.db")).unwrap();
        for (mac, load) in observed {
            inv.set_observed_load(mac.parse().unwrap(), &load.parse().unwrap())
                .unwrap();
        }
    }
    let fw = d.join("fw");
    std::fs::create_dir(&fw).unwrap();
    for f in firmware {
        std::fs::write(fw.join(f), b"synthetic").unwrap();
    }
    phoneflip(d, &["render", "--all", "--out", "root", "--root", "fw"]);
    let root = d.join("root");

    let listed: Value =
        serde_json::from_slice(&phoneflip(d, &["phones", "list", "--json"])).unwrap();
    let phones = listed.as_array().unwrap();
    assert_eq!(phones.len(), observed.len());
    for p in phones {
        let mac = p["mac"].as_str().unwrap();
        let from = p["observed_load"].as_str().unwrap();
        let to = p["desired_load"].as_str().unwrap();
        let model = p["model"].as_str().unwrap();
        let plan: Value = serde_json::from_slice(&phoneflip(
            d,
            &[
                "plan", "--from", from, "--to", to, "--model", model, "--json", "--root", "fw",
            ],
        ))
        .unwrap();
        let hop = &plan["hops"][0];
        assert!(hop.is_object(), "{mac}: no hop from {from} to {to}: {plan}");
        assert_eq!(hop["missing_files"], serde_json::json!([]), "{mac}: {hop}");
        let controls = hop["control_files"].as_array().unwrap();
        assert!(
            !controls.is_empty(),
            "{mac}: the plan names no control file: {hop}"
        );
        for c in controls {
            let name = c["file"].as_str().unwrap().replace("<MAC>", mac);
            let content = c["content"].as_str().unwrap();
            let path = root.join(&name);
            match c["edit"].as_str().unwrap() {
                "whole_file" => assert_eq!(
                    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{mac}: {name}: {e}")),
                    content,
                    "{mac}: {name} must be exactly what the plan says"
                ),
                "set_line" => {
                    let body = std::fs::read_to_string(&path)
                        .unwrap_or_else(|e| panic!("{mac}: {name}: {e}"));
                    assert!(
                        body.lines().any(|l| l.trim() == content),
                        "{mac}: {name} lacks the plan's line {content:?}:\n{body}"
                    );
                }
                "remove" => assert!(!path.exists(), "{mac}: the plan removes {name}"),
                other => panic!("unknown edit {other}"),
            }
        }
    }
}

#[test]
fn sccp_fleet_to_sip_8_12() {
    check_fleet(
        &["hq-sip", "--protocol", "sip", "proxy1_address=192.0.2.5"],
        "mac,model,template,desired_load,line1_name,line1_password\n\
         0019AA000001,7960,hq-sip,P0S3-8-12-00,2001,pw1\n\
         0019AA000002,7940,hq-sip,P0S3-8-12-00,2002,pw2\n\
         0019AA000003,7960,hq-sip,P0S3-8-12-00,2003,pw3\n",
        &[
            ("0019AA000001", "P0030801SR02"),
            ("0019AA000002", "P0030801SR02"),
            ("0019AA000003", "P0030801SR02"),
        ],
        &[
            "P0S3-8-12-00.loads",
            "P0S3-8-12-00.sb2",
            "P003-8-12-00.bin",
            "P003-8-12-00.sbn",
        ],
    );
}

#[test]
fn sip_fleet_back_to_sccp_8_1() {
    check_fleet(
        &["hq-sccp", "--protocol", "sccp", "callmanager1=192.0.2.9"],
        "mac,model,template,desired_load\n\
         0019AA000011,7960,hq-sccp,P0030801SR02\n\
         0019AA000012,7940,hq-sccp,P0030801SR02\n",
        &[
            ("0019AA000011", "P0S3-8-12-00"),
            ("0019AA000012", "P0S3-8-12-00"),
        ],
        &[
            "P0030801SR02.loads",
            "P0030801SR02.sb2",
            "P0030801SR02.bin",
            "P0030801SR02.sbn",
        ],
    );
}

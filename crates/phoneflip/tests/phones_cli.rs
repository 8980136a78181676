//! The real `phoneflip` binary on a temporary directory: templates, CSV
//! import (good, bad, dry run), list --json, export round trip.

use std::path::Path;
use std::process::{Command, Output};

fn phoneflip(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(args)
        .current_dir(dir)
        .env_remove("PHONEFLIP_DB")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run phoneflip")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = phoneflip(dir, args);
    assert!(
        o.status.success(),
        "phoneflip {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

const FLEET: &str = "\
mac,model,description,site,tags,template,desired_load,line1_name,line1_authname,line1_password,line2_name
00:20:94:d2:45:cb,7960,\"Reception, desk 2\",hq,lobby,hq-sip,P0S3-8-12-00,1001,u1001,secret1,1002
0019.aabb.0001,7940,Store room,branch,,,P0030801SR02,2001,,,
";

#[test]
fn import_list_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("fleet.csv"), FLEET).unwrap();

    // Without the template the import fails, names the line and column,
    // exits non-zero and creates nothing.
    let o = phoneflip(d, &["phones", "import", "fleet.csv"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("fleet.csv"), "{err}");
    assert!(
        err.contains("line 2, column template: unknown template \"hq-sip\""),
        "{err}"
    );

    let out = ok(
        d,
        &[
            "templates",
            "add",
            "hq-sip",
            "--protocol",
            "sip",
            "proxy1_address=10.0.0.5",
            "time_zone=CET",
        ],
    );
    assert!(out.contains("created template hq-sip"), "{out}");
    assert!(d.join("phoneflip.db").exists());

    // A dry run lists what would happen and changes nothing.
    let out = ok(d, &["phones", "import", "fleet.csv", "--dry-run"]);
    assert!(out.contains("added     002094D245CB"), "{out}");
    assert!(out.contains("added     0019AABB0001"), "{out}");
    assert!(
        out.contains("2 added, 0 updated, 0 unchanged (dry run"),
        "{out}"
    );
    let list: serde_json::Value =
        serde_json::from_str(&ok(d, &["phones", "list", "--json"])).unwrap();
    assert_eq!(list, serde_json::json!([]));

    let out = ok(d, &["phones", "import", "fleet.csv"]);
    assert!(out.contains("2 added, 0 updated, 0 unchanged"), "{out}");

    let list: serde_json::Value =
        serde_json::from_str(&ok(d, &["phones", "list", "--json"])).unwrap();
    let phones = list.as_array().unwrap();
    assert_eq!(phones.len(), 2);
    let a = &phones[1];
    assert_eq!(a["mac"], "002094D245CB");
    assert_eq!(a["model"], "7960");
    assert_eq!(a["description"], "Reception, desk 2");
    assert_eq!(a["site"], "hq");
    assert_eq!(a["tags"], serde_json::json!(["lobby"]));
    assert_eq!(a["template"], "hq-sip");
    assert_eq!(a["desired_load"], "P0S3-8-12-00");
    assert_eq!(a["lines"][0]["name"], "1001");
    assert_eq!(a["lines"][0]["authname"], "u1001");
    assert_eq!(a["lines"][0]["password"], "********");
    assert_eq!(a["lines"][1]["number"], 2);
    assert_eq!(a["auto_registered"], false);
    assert_eq!(phones[0]["mac"], "0019AABB0001");
    assert_eq!(phones[0]["model"], "7940");

    let secret: serde_json::Value = serde_json::from_str(&ok(
        d,
        &["phones", "list", "--json", "--show-secrets", "--site", "hq"],
    ))
    .unwrap();
    assert_eq!(secret.as_array().unwrap().len(), 1);
    assert_eq!(secret[0]["lines"][0]["password"], "secret1");

    let text = ok(d, &["phones", "list", "--model", "7940"]);
    assert!(text.contains("0019AABB0001"), "{text}");
    assert!(!text.contains("002094D245CB"), "{text}");
    assert!(text.contains("1 phone(s)"), "{text}");

    // Export, then import the export: nothing changes.
    ok(d, &["phones", "export", "out.csv"]);
    let out = ok(d, &["phones", "import", "out.csv"]);
    assert!(out.contains("0 added, 0 updated, 2 unchanged"), "{out}");
    let stdout_export = ok(d, &["phones", "export"]);
    assert_eq!(
        stdout_export,
        std::fs::read_to_string(d.join("out.csv")).unwrap()
    );

    let templates: serde_json::Value =
        serde_json::from_str(&ok(d, &["templates", "list", "--json"])).unwrap();
    assert_eq!(templates[0]["name"], "hq-sip");
    assert_eq!(templates[0]["protocol"], "sip");
    assert_eq!(templates[0]["settings"]["proxy1_address"], "10.0.0.5");
}

#[test]
fn a_bad_file_reports_every_row_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("inv.db");
    let db = db.to_str().unwrap();
    std::fs::write(d.join("good.csv"), "mac,model,site\n001122334455,7960,hq\n").unwrap();
    ok(d, &["phones", "import", "good.csv", "--db", db]);
    std::fs::write(
        d.join("bad.csv"),
        "mac,model,site,desired_load,line3_name\n\
         001122334455,7960,moved,,\n\
         0011223344,7960,,,\n\
         AABBCCDDEEFF,7940,,P0S3-8-12-00.bin,x\n",
    )
    .unwrap();
    let o = phoneflip(d, &["phones", "import", "bad.csv", "--db", db]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("3 error(s) on 2 line(s)"), "{err}");
    assert!(err.contains("line 3, column mac:"), "{err}");
    assert!(err.contains("line 4, column desired_load:"), "{err}");
    assert!(err.contains("line 4, column line3_name:"), "{err}");

    // The good first row was not applied either.
    let list: serde_json::Value =
        serde_json::from_str(&ok(d, &["phones", "list", "--json", "--db", db])).unwrap();
    assert_eq!(list[0]["site"], "hq");

    // PHONEFLIP_DB is honoured too.
    let o = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(["phones", "list", "--json"])
        .current_dir(d)
        .env("PHONEFLIP_DB", db)
        .output()
        .unwrap();
    assert!(o.status.success());
    let via_env: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(via_env, list);
}

#[test]
fn reading_commands_do_not_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = phoneflip(d, &["phones", "list"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("there is no inventory at phoneflip.db"),
        "{err}"
    );
    assert!(!d.join("phoneflip.db").exists());

    // A dry run against a missing database checks the file without creating one.
    std::fs::write(d.join("f.csv"), "mac,model\n001122334455,7960\n").unwrap();
    let out = ok(d, &["phones", "import", "f.csv", "--dry-run"]);
    assert!(out.contains("1 added"), "{out}");
    assert!(!d.join("phoneflip.db").exists());

    let o = phoneflip(d, &["phones", "import", "missing.csv"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read missing.csv"));
}

/// Secret settings are masked in the CLI's listings too: a template's
/// phone_password in `templates list` (text and JSON) and a phone's
/// override in `phones list --json`, each shown with --show-secrets.
#[test]
fn secret_settings_are_masked_in_listings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "templates",
            "add",
            "hq-sip",
            "--protocol",
            "sip",
            "proxy1_address=10.0.0.1",
            "phone_password=4711-secret",
        ],
    );
    std::fs::write(
        d.join("p.csv"),
        "mac,model,template,overrides\n001122334455,7960,hq-sip,phone_password=9999-secret\n",
    )
    .unwrap();
    ok(d, &["phones", "import", "p.csv"]);
    for args in [
        &["templates", "list"][..],
        &["templates", "list", "--json"],
        &["phones", "list", "--json"],
    ] {
        let out = ok(d, args);
        assert!(
            !out.contains("4711") && !out.contains("9999"),
            "{args:?}: {out}"
        );
        assert!(out.contains("********"), "{args:?}: {out}");
    }
    assert!(ok(d, &["templates", "list", "--show-secrets"]).contains("phone_password=4711-secret"));
    assert!(ok(d, &["phones", "list", "--json", "--show-secrets"]).contains("9999-secret"));
}

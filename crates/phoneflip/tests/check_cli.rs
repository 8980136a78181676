//! `phoneflip check` on real files of the corpus: what each is, whether it
//! parses, whether it writes back byte for byte, in text and JSON.

use std::path::PathBuf;
use std::process::{Command, Output};

fn phoneflip(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the phoneflip binary runs")
}

fn corpus() -> Option<PathBuf> {
    let found = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/corpus/real-world"))
        .find(|p| p.is_dir());
    if found.is_none() {
        eprintln!("!!! SKIPPED: shared/corpus/real-world not found above the crate; the check CLI tests did not run");
    }
    found
}

#[test]
fn json_says_what_each_file_is_and_whether_it_round_trips() {
    let Some(dir) = corpus() else { return };
    let good = dir.join("dbaldree/SIPDefault.cnf");
    let broken = dir.join("pripyat/XMLDefault.cnf.xml");
    let other = dir.join("pripyat/SEP6886A7C56885.cnf.xml");
    let out = phoneflip(&[
        "check",
        "--json",
        good.to_str().unwrap(),
        broken.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    // A file phones ask for does not parse: exit status 1, JSON still out.
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(a[0]["kind"], "sip_default");
    assert_eq!(a[0]["format"], "sip_cnf");
    assert_eq!(a[0]["parses"], true);
    assert_eq!(a[0]["byte_exact"], true);
    assert!(a[0]["phone"].as_str().unwrap().contains("P0S3-8-12-00"));
    assert_eq!(a[1]["kind"], "xml_default");
    assert_eq!(a[1]["parses"], false);
    let err = a[1]["errors"][0].as_str().unwrap();
    assert!(
        err.contains("line 27") && err.contains("loadInformation1"),
        "{err}"
    );
    assert_eq!(a[2]["parses"], true);
    assert_eq!(a[2]["other_model"], "7945/7965");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 3 files"));
}

#[test]
fn a_whole_root_in_text() {
    let Some(dir) = corpus() else { return };
    let root = dir.join("nikscave");
    let out = phoneflip(&["check", root.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "RINGLIST.DAT",
        "SIP00124330BFB3.cnf",
        "SIPDefault.cnf",
        "dialplan.xml",
    ] {
        assert!(
            text.lines()
                .any(|l| l.contains(f) && l.ends_with("parses, writes back byte for byte")),
            "{f}: {text}"
        );
    }
    assert!(text.contains("ringlist.xml"), "{text}");
    let out = phoneflip(&["check", "/nonexistent/SIPDefault.cnf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/SIPDefault.cnf"));
}

#[test]
fn adopt_a_real_root_dry_run_then_for_real() {
    let Some(dir) = corpus() else { return };
    let root = dir.join("nikscave");
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("inv.db");
    let db = db.to_str().unwrap();
    let out = phoneflip(&[
        "adopt",
        root.to_str().unwrap(),
        "--db",
        db,
        "--dry-run",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["phones"].as_array().unwrap().len(), 2);
    assert_eq!(v["templates"][0]["name"], "nikscave-sip");
    assert!(
        !std::path::Path::new(db).exists(),
        "a dry run creates nothing"
    );
    let out = phoneflip(&["adopt", root.to_str().unwrap(), "--db", db]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("adopted 1 template(s) and 2 phone(s)"),
        "{text}"
    );
    let out = phoneflip(&["phones", "list", "--db", db]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("00124330BFB3") && text.contains("0012D9122138"),
        "{text}"
    );
}

#[test]
fn templates_add_refuses_an_unknown_name_unless_told_to_keep_it() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("inv.db");
    let db = db.to_str().unwrap();
    let args = [
        "templates",
        "add",
        "t",
        "--protocol",
        "sip",
        "proxy1_adress=10.0.0.1",
        "--db",
        db,
    ];
    let out = phoneflip(&args);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did you mean proxy1_address")
            && err.contains("--keep-unknown")
            && err.contains("lost silently"),
        "{err}"
    );
    let mut keep = args.to_vec();
    keep.push("--keep-unknown");
    let out = phoneflip(&keep);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An out-of-range value is refused even so.
    let out = phoneflip(&[
        "templates",
        "add",
        "u",
        "--protocol",
        "sip",
        "tos_media=9",
        "--keep-unknown",
        "--db",
        db,
    ]);
    assert_eq!(out.status.code(), Some(1));
}

/// dkgroot's tree served through its tftpd-hpa map file: adopt and doctor
/// read the XMLDefault.cnf.xml the phones get (settings/), not a stale
/// copy elsewhere in the tree; a broken map file is refused by line.
#[test]
fn adopt_and_doctor_through_a_tftpd_hpa_map_file() {
    let Some(dir) = corpus() else { return };
    let tree = tempfile::tempdir().unwrap();
    let t = tree.path();
    std::fs::create_dir_all(t.join("settings")).unwrap();
    std::fs::create_dir_all(t.join("old")).unwrap();
    std::fs::copy(
        dir.join("dkgroot/XMLDefault.cnf.xml"),
        t.join("settings/XMLDefault.cnf.xml"),
    )
    .unwrap();
    let stale = std::fs::read_to_string(dir.join("dkgroot/XMLDefault.cnf.xml"))
        .unwrap()
        .replace("192.168.1.1", "10.9.9.9");
    std::fs::write(t.join("old/XMLDefault.cnf.xml"), stale).unwrap();
    let rules = dir.join("dkgroot/rewrite.rules");
    let root = t.to_str().unwrap();
    let adopt = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["adopt", root, "--dry-run", "--json"];
        args.extend_from_slice(extra);
        let out = phoneflip(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let cm = |v: &serde_json::Value| v["templates"][0]["settings"]["callmanager1"].clone();
    let mapped = adopt(&["--map-file", rules.to_str().unwrap()]);
    assert_eq!(cm(&mapped), "192.168.1.1", "{mapped:#}");
    // Without the map, the tree's first XMLDefault.cnf.xml is taken.
    assert_eq!(cm(&adopt(&[])), "10.9.9.9");

    let out = phoneflip(&[
        "doctor",
        root,
        "--map-file",
        rules.to_str().unwrap(),
        "--json",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    // The doctor reads XMLDefault.cnf.xml through the map and finds the
    // P0030801SR02 load it names missing from the tree.
    assert!(text.contains("P0030801SR02"), "{text}");
    assert!(text.contains("XMLDefault.cnf.xml"), "{text}");

    let bad = t.join("bad.rules");
    std::fs::write(&bad, "r ^x y\nq ^(a b\n").unwrap();
    let out = phoneflip(&[
        "adopt",
        root,
        "--dry-run",
        "--map-file",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");
    let out = phoneflip(&["doctor", root, "--fix", "--map-file", bad.to_str().unwrap()]);
    assert!(!out.status.success());
}

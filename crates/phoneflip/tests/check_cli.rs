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

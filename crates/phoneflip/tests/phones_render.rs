//! `phoneflip render` on the real binary: one file as a phone receives it
//! (compared with the TFTP server's own pipeline), and a static root.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use phoneflip_inventory::SqliteInventory;
use phoneflip_plan::Catalogue;
use phoneflip_provision::{Decision, Provisioner};

fn phoneflip(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(args)
        .current_dir(dir)
        .env_remove("PHONEFLIP_DB")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run phoneflip")
}

fn ok(dir: &Path, args: &[&str]) -> Vec<u8> {
    let o = phoneflip(dir, args);
    assert!(
        o.status.success(),
        "phoneflip {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

fn setup(d: &Path) {
    ok(
        d,
        &[
            "templates",
            "add",
            "hq-sip",
            "--protocol",
            "sip",
            "proxy1_address=10.0.0.5",
        ],
    );
    ok(
        d,
        &[
            "templates",
            "add",
            "hq-sccp",
            "--protocol",
            "sccp",
            "callmanager1=10.0.0.9",
        ],
    );
    std::fs::write(
        d.join("fleet.csv"),
        "mac,model,template,desired_load,line1_name,line1_password\n\
         002094D245CB,7960,hq-sip,P0S3-8-12-00,1001,pw1\n\
         0019AABB0001,7940,hq-sccp,P0030801SR02,,\n\
         0019AABB0002,7940,,,,\n\
         0019AABB0003,7960,hq-sccp,P0030801SR02,,\n",
    )
    .unwrap();
    ok(d, &["phones", "import", "fleet.csv"]);
}

#[test]
fn render_one_file_prints_what_the_tftp_server_serves() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);

    let sip = ok(
        d,
        &[
            "render",
            "--mac",
            "00:20:94:d2:45:cb",
            "SIP002094D245CB.cnf",
        ],
    );
    let text = String::from_utf8(sip.clone()).unwrap();
    assert!(text.contains("image_version: P0S3-8-12-00"), "{text}");
    assert!(text.contains("line1_name: 1001"), "{text}");
    assert!(text.contains("line1_password: pw1"), "{text}");

    let default = String::from_utf8(ok(
        d,
        &["render", "--mac", "002094D245CB", "SIPDefault.cnf"],
    ))
    .unwrap();
    assert!(default.contains("proxy1_address: 10.0.0.5"), "{default}");

    let sep = String::from_utf8(ok(
        d,
        &["render", "--mac", "0019AABB0001", "SEP0019AABB0001.cnf.xml"],
    ))
    .unwrap();
    assert!(
        sep.contains("<loadInformation model=\"IP Phone 7940\">P0030801SR02</loadInformation>"),
        "{sep}"
    );
    assert!(
        sep.contains("<processNodeName>10.0.0.9</processNodeName>"),
        "{sep}"
    );

    // Byte for byte what the TFTP server's pipeline hands out.
    let store = Arc::new(SqliteInventory::open(d.join("phoneflip.db")).unwrap());
    let p = Provisioner::new(store, Catalogue::builtin(), None);
    let (decision, bytes) = p.decide("SIP002094D245CB.cnf", None);
    assert!(
        matches!(decision, Decision::Rendered { .. }),
        "{decision:?}"
    );
    assert_eq!(bytes.unwrap().to_vec(), sip);

    // A file the phone's protocol does not use, another phone's file, a
    // phone with nothing to do: clear errors and a non-zero exit.
    let o = phoneflip(
        d,
        &["render", "--mac", "0019AABB0001", "SIP0019AABB0001.cnf"],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("File not found"));
    let o = phoneflip(
        d,
        &["render", "--mac", "0019AABB0001", "SIP002094D245CB.cnf"],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("is the file of phone 002094D245CB"));
    let o = phoneflip(d, &["render", "--mac", "0019AABB0002", "SIPDefault.cnf"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no desired protocol or load"));
}

#[test]
fn render_all_writes_a_static_root() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let fw = d.join("fw");
    std::fs::create_dir(&fw).unwrap();
    std::fs::write(fw.join("RINGLIST.DAT"), "ring1.pcm Ring 1\n").unwrap();

    let out =
        String::from_utf8(ok(d, &["render", "--all", "--out", "root", "--root", "fw"])).unwrap();
    assert!(out.contains("for 3 phone(s)"), "{out}");
    assert!(out.contains("plus 1 file(s) copied from the root"), "{out}");
    assert!(out.contains("0019AABB0002"), "{out}");

    let root = d.join("root");
    for f in [
        "SIP002094D245CB.cnf",
        "SIPDefault.cnf",
        "SEP0019AABB0001.cnf.xml",
        "XMLDefault.cnf.xml",
        "RINGLIST.DAT",
    ] {
        assert!(root.join(f).is_file(), "{f} missing");
    }
    assert!(!root.join("SIP0019AABB0001.cnf").exists());
    assert!(!root.join("SIP0019AABB0002.cnf").exists());
    assert_eq!(
        std::fs::read(root.join("SIP002094D245CB.cnf")).unwrap(),
        ok(
            d,
            &["render", "--mac", "002094D245CB", "SIP002094D245CB.cnf"]
        )
    );
    assert_eq!(
        std::fs::read(root.join("SEP0019AABB0001.cnf.xml")).unwrap(),
        ok(
            d,
            &["render", "--mac", "0019AABB0001", "SEP0019AABB0001.cnf.xml"]
        )
    );
    // The 7940 and the 7960 share one XMLDefault.cnf.xml holding both
    // models' loads.
    let xml = std::fs::read_to_string(root.join("XMLDefault.cnf.xml")).unwrap();
    assert!(
        xml.contains("<loadInformation8 model=\"IP Phone 7940\">P0030801SR02</loadInformation8>"),
        "{xml}"
    );
    assert!(
        xml.contains("<loadInformation7 model=\"IP Phone 7960\">P0030801SR02</loadInformation7>"),
        "{xml}"
    );
    // Files phoneflip does not render come from --root.
    assert_eq!(
        ok(
            d,
            &[
                "render",
                "--mac",
                "002094D245CB",
                "RINGLIST.DAT",
                "--root",
                "fw"
            ]
        ),
        b"ring1.pcm Ring 1\n"
    );
}

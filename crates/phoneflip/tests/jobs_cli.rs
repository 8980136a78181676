//! `phoneflip jobs` on the real binary (issue 13): a target no load name
//! can spell is an error, not a panic; a job to firmware that is not in
//! the TFTP root is refused with the import command; cancel puts the
//! records back.

use std::path::Path;
use std::process::{Command, Output};

fn bin(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_phoneflip"));
    c.current_dir(dir)
        .env_remove("PHONEFLIP_DB")
        .env_remove("PHONEFLIP_ROOT")
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LOG", "warn");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin(dir).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// An inventory with one SCCP phone and a SIP template, and a root with
/// the SIP 8.12 bundle imported through `phoneflip firmware import`.
fn setup(dir: &Path) {
    std::fs::write(
        dir.join("fleet.csv"),
        "mac,model,desired_load,current_load\n0019AA000001,7960,P0030801SR02,P0030801SR02\n",
    )
    .unwrap();
    let o = run(dir, &["phones", "import", "fleet.csv", "--db", "inv.db"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(
        dir,
        &[
            "templates",
            "add",
            "sip-hq",
            "--protocol",
            "sip",
            "--db",
            "inv.db",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    std::fs::create_dir(dir.join("root")).unwrap();
    let o = run(
        dir,
        &[
            "firmware",
            "synth",
            "--protocol",
            "sip",
            "--version",
            "8.12",
            "--out",
            ".",
            "--small",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run(
        dir,
        &["firmware", "import", "P0S3-8-12-00.zip", "--root", "root"],
    );
    assert!(o.status.success(), "{}", text(&o));
}

fn create(dir: &Path, to: &str) -> Output {
    run(
        dir,
        &[
            "jobs",
            "create",
            "--description",
            "hq to SIP",
            "--template",
            "sip-hq",
            "--to",
            to,
            "--root",
            "root",
            "--db",
            "inv.db",
        ],
    )
}

#[test]
fn an_unnameable_target_is_refused_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let o = create(dir.path(), "sip:8.100");
    let t = text(&o);
    assert!(!t.contains("panicked"), "{t}");
    assert_ne!(o.status.code(), Some(101), "{t}");
    assert!(!o.status.success());
    assert!(t.contains("sip:8.100") && t.contains("below 100"), "{t}");
}

#[test]
fn firmware_missing_from_the_root_is_refused_then_cancel_restores() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let o = create(dir.path(), "sip:9.99");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("P0S3-9-99-00") && t.contains("phoneflip firmware import"),
        "{t}"
    );
    // The phone has no line and its template no proxy: it could not
    // register, so the job is refused until told to go ahead.
    let o = create(dir.path(), "sip:8.12");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("could not register")
            && t.contains("no proxy1_address")
            && t.contains("--allow-unregistered"),
        "{t}"
    );
    let o = run(
        dir.path(),
        &[
            "jobs",
            "create",
            "--description",
            "hq to SIP",
            "--template",
            "sip-hq",
            "--to",
            "sip:8.12",
            "--root",
            "root",
            "--db",
            "inv.db",
            "--allow-unregistered",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    // The second job on the same phone is refused.
    let o = create(dir.path(), "sip:8.12");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("0019AA000001 (job 1)"), "{t}");
    let o = run(dir.path(), &["jobs", "cancel", "1", "--db", "inv.db"]);
    assert!(o.status.success(), "{}", text(&o));
}

//! The real binary's own output: a closed pipe ends it quietly, user
//! errors are one message without a backtrace even with RUST_BACKTRACE=1,
//! and failed commands leave no database file behind.

use std::io::Read;
use std::process::{Command, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_phoneflip"));
    c.env_remove("PHONEFLIP_DB").env("RUST_LOG", "warn");
    c
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let mut child = bin()
        .args(["plan", "--from", "sccp:3.3", "--to", "sip:8.12"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end at once, like `| head -0`.
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(status.code(), Some(101), "{status:?} {err}");
}

#[test]
fn user_errors_are_one_message_without_a_backtrace() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.csv"), "mac,model\nzz,7960\n").unwrap();
    let o = bin()
        .current_dir(dir.path())
        .env("RUST_BACKTRACE", "1")
        .args(["phones", "import", "bad.csv", "--db", "inv.db"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("phoneflip: bad.csv: 1 error(s)"), "{err}");
    assert!(
        !err.contains("Stack backtrace") && !err.contains("backtrace"),
        "{err}"
    );
    // The refused import created no database.
    assert!(!dir.path().join("inv.db").exists());

    let o = bin()
        .current_dir(dir.path())
        .env("RUST_BACKTRACE", "1")
        .args([
            "templates",
            "add",
            "t",
            "--protocol",
            "sip",
            "proxy1_adress=10.0.0.1",
            "--db",
            "inv.db",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("did you mean proxy1_address"), "{err}");
    assert!(!err.contains("backtrace"), "{err}");
    assert!(!dir.path().join("inv.db").exists());
}

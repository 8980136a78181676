//! `phoneflip firmware synth` and `import` through the real binary.

use std::process::Command;

fn phoneflip() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phoneflip"))
}

#[test]
fn synth_then_import_gives_a_complete_root() {
    let dir = tempfile::tempdir().unwrap();
    let out = phoneflip()
        .args([
            "firmware",
            "synth",
            "--protocol",
            "sccp",
            "--version",
            "8.1(2)SR2",
            "--small",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let zip = dir.path().join("cmterm-7940-7960-sccp.8-1-2SR2.zip");
    assert!(zip.is_file());
    let root = dir.path().join("root");
    let out = phoneflip()
        .args(["firmware", "import"])
        .arg(&zip)
        .arg("--root")
        .arg(&root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("complete"), "{stdout}");
    for f in [
        "P0030801SR02.loads",
        "P0030801SR02.sb2",
        "P0030801SR02.bin",
        "P0030801SR02.sbn",
    ] {
        assert!(root.join(f).is_file(), "{f}");
    }
}

#[test]
fn import_of_something_that_is_not_a_zip_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("P0S3-8-12-00.zip");
    std::fs::write(&bogus, b"not a zip").unwrap();
    let out = phoneflip()
        .args(["firmware", "import"])
        .arg(&bogus)
        .arg("--root")
        .arg(dir.path().join("root"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("P0S3-8-12-00.zip") && err.contains("not a readable zip"),
        "{err}"
    );
}

#[test]
fn synth_refuses_an_impossible_release() {
    let dir = tempfile::tempdir().unwrap();
    let out = phoneflip()
        .args([
            "firmware",
            "synth",
            "--protocol",
            "sip",
            "--version",
            "2.3(1)",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SIP 2.x"));
}

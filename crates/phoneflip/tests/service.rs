//! phoneflip as a service: logs a journal or a pipe can read, a transfer
//! log that logrotate can move away, and the Debian package with its
//! systemd unit.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{fetch_when_up, free_udp_port, Kill};

/// Waits until `path` holds `needle` (the log is line-buffered, written
/// from the transfer task after the last ACK).
fn wait_for_text(path: &Path, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) || start.elapsed() > Duration::from_secs(10) {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} failed");
}

fn stop(mut child: Kill) -> String {
    signal(&child.0, "TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut err = String::new();
    use std::io::Read;
    if let Some(mut e) = child.0.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    err
}

fn serve(root: &Path, db: &Path, addr: SocketAddr, extra: &[&str]) -> Kill {
    let child = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(["serve", "--demo", "--no-http", "--root"])
        .arg(root)
        .args(["--tftp", &addr.to_string(), "--db"])
        .arg(db)
        .args(extra)
        .env_remove("RUST_LOG")
        .env_remove("JOURNAL_STREAM")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Kill(child)
}

/// logrotate renames the log, then `systemctl reload` sends SIGHUP: lines
/// before the signal are in the old file, lines after in a new one under
/// the old name, none lost. Diagnostics on a pipe carry no colour codes.
#[tokio::test]
async fn sighup_reopens_the_transfer_log_and_pipes_get_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tftp");
    let db = dir.path().join("phoneflip.db");
    let log = dir.path().join("tftp.log");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let child = serve(&root, &db, addr, &["--log", log.to_str().unwrap()]);

    fetch_when_up(addr, "OS79XX.TXT").await;
    let before = wait_for_text(&log, "Sending 'OS79XX.TXT'");
    assert!(before.contains("Sending 'OS79XX.TXT'"), "{before}");
    let rotated = dir.path().join("tftp.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    signal(&child.0, "HUP");
    // The reopen happens on the server's runtime: fetch until the new
    // file shows a transfer (a fetch racing the signal lands in the old
    // file, which is still open: not lost either).
    let start = Instant::now();
    let after = loop {
        fetch_when_up(addr, "SEP0019AA000000.cnf.xml").await;
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        if t.contains("Sending 'SEP0019AA000000.cnf.xml'")
            || start.elapsed() > Duration::from_secs(10)
        {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        after.contains("Sending 'SEP0019AA000000.cnf.xml'"),
        "no line in the reopened log: {after:?}"
    );
    assert!(!after.contains("OS79XX.TXT"), "{after}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("Sending 'OS79XX.TXT'"), "{old}");
    assert!(old.contains("Successful."), "{old}");

    let stderr = stop(child);
    assert!(
        stderr.contains("reopened the transfer log"),
        "SIGHUP is not acknowledged in the diagnostics: {stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes on a pipe: {stderr:?}"
    );
}

/// `--log-format json`: every diagnostic line is one JSON object.
#[tokio::test]
async fn json_diagnostics_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tftp");
    let db = dir.path().join("phoneflip.db");
    let log = dir.path().join("tftp.log");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let child = serve(
        &root,
        &db,
        addr,
        &["--log", log.to_str().unwrap(), "--log-format", "json"],
    );
    fetch_when_up(addr, "OS79XX.TXT").await;
    let stderr = stop(child);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no diagnostics at all");
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}\nall: {stderr}"));
        assert!(v.get("level").is_some(), "no level in {l}");
        assert!(v.get("fields").is_some(), "no fields in {l}");
    }
    assert!(
        lines.iter().any(|l| l.contains("TFTP on 127.0.0.1")),
        "{stderr}"
    );
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The shipped unit is one systemd accepts, with what the issue of
/// running as a service needs: its own user, port 69 without root, state
/// and log directories, the token from an environment file, hardening.
#[test]
fn the_systemd_unit_is_valid_and_hardened() {
    let unit_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/phoneflip.service");
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    for must in [
        "User=phoneflip",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "StateDirectory=phoneflip",
        "LogsDirectory=phoneflip",
        "EnvironmentFile=-/etc/default/phoneflip",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ExecStart=/usr/bin/phoneflip serve --config /etc/phoneflip/phoneflip.toml",
    ] {
        assert!(unit.contains(must), "the unit lacks {must}");
    }
    assert!(
        !unit.contains("api-token"),
        "the token must not be in the unit"
    );
    // The default config it points at is one serve accepts.
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/phoneflip.toml");
    let dir = tempfile::tempdir().unwrap();
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    // Same keys, test paths: a wrong key or type fails before the root is read.
    text = text.replace("/srv/tftp", dir.path().join("missing").to_str().unwrap());
    let local = dir.path().join("phoneflip.toml");
    std::fs::write(&local, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(["serve", "--config"])
        .arg(&local)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("is not a directory"),
        "the default config does not parse: {err}"
    );

    if !have("systemd-analyze") {
        eprintln!("SKIPPED: systemd-analyze verify (systemd-analyze not installed)");
        return;
    }
    // verify wants ExecStart's program to exist: check a copy of the
    // unit whose ExecStart names this build's binary.
    let copy = dir.path().join("phoneflip.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/bin/phoneflip", env!("CARGO_BIN_EXE_phoneflip")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    let relevant: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("phoneflip.service"))
        .collect();
    assert!(
        out.status.success() && relevant.is_empty(),
        "systemd-analyze verify: {text}"
    );
}

/// The Debian package, built from this build's binary with cargo-deb:
/// it holds the binary, the unit, the config, the token file (mode 0600)
/// and the logrotate rule. With `PHONEFLIP_TEST_DPKG=1` (as `.ci/run`
/// sets on its throw-away machine) it is installed with dpkg for real:
/// the installed binary runs, the installed unit verifies, the service
/// user exists; then it is purged. Elsewhere a test must not install
/// packages on a developer's machine, so the package is unpacked instead.
#[test]
fn the_debian_package_installs_the_binary_and_the_unit() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let has_deb = Command::new(&cargo)
        .args(["deb", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_deb {
        eprintln!("SKIPPED: the .deb test: cargo-deb is not installed (cargo install cargo-deb --locked, as .ci/run does)");
        return;
    }
    // target/debug/phoneflip -> target
    let bin = Path::new(env!("CARGO_BIN_EXE_phoneflip"));
    let target = bin.parent().and_then(Path::parent).unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out_dir = tempfile::tempdir().unwrap();
    // --profile dev: package the binary this test run built instead of a
    // release build (minutes on CI); cargo-deb strips it.
    let out = Command::new(&cargo)
        .args([
            "deb",
            "-p",
            "phoneflip",
            "--no-build",
            "--profile",
            "dev",
            "--fast",
            "-o",
        ])
        .arg(out_dir.path())
        .current_dir(&workspace)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo deb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deb = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("cargo deb wrote no .deb");
    let listing = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout).to_string();
    for path in [
        "./usr/bin/phoneflip",
        "./usr/lib/systemd/system/phoneflip.service",
        "./etc/phoneflip/phoneflip.toml",
        "./etc/logrotate.d/phoneflip",
    ] {
        assert!(
            listing.contains(path),
            "the package lacks {path}:\n{listing}"
        );
    }
    let token_file = listing
        .lines()
        .find(|l| l.ends_with("./etc/default/phoneflip"))
        .unwrap_or_else(|| panic!("no /etc/default/phoneflip:\n{listing}"));
    assert!(token_file.starts_with("-rw-------"), "{token_file}");
    let conffiles = Command::new("dpkg-deb")
        .args(["-I"])
        .arg(&deb)
        .arg("conffiles")
        .output()
        .unwrap();
    let conffiles = String::from_utf8_lossy(&conffiles.stdout).to_string();
    assert!(
        conffiles.contains("/etc/phoneflip/phoneflip.toml")
            && conffiles.contains("/etc/default/phoneflip"),
        "an upgrade would overwrite the operator's settings: conffiles = {conffiles}"
    );

    if std::env::var("PHONEFLIP_TEST_DPKG").as_deref() != Ok("1") {
        let root = tempfile::tempdir().unwrap();
        let ok = Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(root.path())
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let version = Command::new(root.path().join("usr/bin/phoneflip"))
            .arg("--version")
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&version.stdout).starts_with("phoneflip "));
        eprintln!("NOTE: dpkg -i not run (set PHONEFLIP_TEST_DPKG=1 on a throw-away machine, as .ci/run does); the package was unpacked and its binary run instead");
        return;
    }
    let install = Command::new("dpkg").arg("-i").arg(&deb).output().unwrap();
    assert!(
        install.status.success(),
        "dpkg -i: {}{}",
        String::from_utf8_lossy(&install.stdout),
        String::from_utf8_lossy(&install.stderr)
    );
    let version = Command::new("/usr/bin/phoneflip")
        .arg("--version")
        .output()
        .unwrap();
    let version = String::from_utf8_lossy(&version.stdout).to_string();
    let user = Command::new("getent")
        .args(["passwd", "phoneflip"])
        .output()
        .unwrap();
    let verify = have("systemd-analyze").then(|| {
        Command::new("systemd-analyze")
            .args([
                "verify",
                "--man=no",
                "/usr/lib/systemd/system/phoneflip.service",
            ])
            .output()
            .unwrap()
    });
    let purge = Command::new("dpkg")
        .args(["--purge", "phoneflip"])
        .output()
        .unwrap();
    assert!(version.starts_with("phoneflip "), "{version}");
    assert!(user.status.success(), "postinst created no phoneflip user");
    if let Some(v) = verify {
        let text = String::from_utf8_lossy(&v.stderr).to_string();
        assert!(
            v.status.success() && !text.lines().any(|l| l.contains("phoneflip.service")),
            "systemd-analyze verify: {text}"
        );
    }
    assert!(
        purge.status.success(),
        "dpkg --purge: {}",
        String::from_utf8_lossy(&purge.stderr)
    );
}

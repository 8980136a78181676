//! `phoneflip emulate` and `phoneflip rehearse` through the real binary,
//! against phoneflip's TFTP server started by the test on 127.0.0.1.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_firmware::Protocol;
use phoneflip_tftp::{NoVirtualFiles, Server, ServerConfig, TransferLog};

fn phoneflip() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phoneflip"))
}

/// A TFTP server on its own runtime thread, serving `root`.
struct Running {
    addr: std::net::SocketAddr,
    _rt: tokio::runtime::Runtime,
}

fn serve(root: &Path) -> Running {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(async {
        Server::bind(
            ServerConfig::new("127.0.0.1:0".parse().unwrap(), root),
            Arc::new(NoVirtualFiles),
            Arc::new(()),
            TransferLog::none(),
        )
        .await
        .unwrap()
    });
    let addr = server.local_addr().unwrap();
    rt.spawn(server.run(std::future::pending::<()>()));
    Running { addr, _rt: rt }
}

fn sip_8_12_root(dir: &Path, macs: &[&str]) -> std::path::PathBuf {
    let bundle = synth::synth(Protocol::Sip, "8.12".parse().unwrap(), SizeProfile::Small).unwrap();
    let zip = synth::write_zip(&bundle, dir).unwrap();
    let root = dir.join("root");
    assert!(phoneflip_bundle::import(&zip, &root)
        .unwrap()
        .problems
        .is_empty());
    for mac in macs {
        std::fs::write(
            root.join(format!("SIP{mac}.cnf")),
            "image_version: P0S3-8-12-00\nline1_name: 100\n",
        )
        .unwrap();
    }
    std::fs::write(root.join("SIPDefault.cnf"), "image_version: P0S3-8-12-00\n").unwrap();
    root
}

#[test]
fn emulate_converts_one_phone_and_fails_another_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let root = sip_8_12_root(dir.path(), &["002094D245CB"]);
    let s = serve(&root);
    let out = phoneflip()
        .args([
            "emulate",
            "--tftp",
            &s.addr.to_string(),
            "--mac",
            "0020.94d2.45cb",
        ])
        .args(["--model", "7960", "--load", "sccp:5.0(1.1)"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("RRQ  P003-8-12-00.sbn"), "{stdout}");
    assert!(
        stdout.contains("final: stable sip P0S3-8-12-00; 2 reboot(s)"),
        "{stdout}"
    );

    // A phone with no file naming a load: the loader has nothing to run.
    let out = phoneflip()
        .args([
            "emulate",
            "--tftp",
            &s.addr.to_string(),
            "--mac",
            "00AA00000042",
        ])
        .args(["--load", "sccp:5.0(1.1)"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No Load Specified"));
}

#[test]
fn rehearse_boots_a_fleet_and_groups_it_by_final_state() {
    let dir = tempfile::tempdir().unwrap();
    let macs = ["00AA00000000", "00AA00000001", "00AA00000002"];
    let root = sip_8_12_root(dir.path(), &macs);
    let s = serve(&root);
    let out = phoneflip()
        .args(["rehearse", "--tftp", &s.addr.to_string(), "--phones", "3"])
        .args(["--from", "sccp:5.0", "--first-mac", "00AA00000000"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("stable sip P0S3-8-12-00: 3 phone(s), 2.0 reboots each"),
        "{stdout}"
    );

    // Five phones, two without their SIP<MAC>.cnf: failures by cause.
    let out = phoneflip()
        .args([
            "rehearse",
            "--tftp",
            &s.addr.to_string(),
            "--phones",
            "5",
            "--json",
        ])
        .args(["--from", "sccp:5.0", "--first-mac", "00AA00000000"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["phones"], 5);
    assert_eq!(v["groups"]["stable sip P0S3-8-12-00"]["phones"], 3);
    assert_eq!(v["failures"][0]["cause"], "no_load_specified");
    assert_eq!(v["failures"][0]["phones"], 2);
}

/// Reads a child's stdout lines on a thread, so every wait is bounded.
fn lines_of(out: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_line(rx: &std::sync::mpsc::Receiver<String>, want: &str, seen: &mut String) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => {
                seen.push_str(&l);
                seen.push('\n');
                if l.contains(want) {
                    return l;
                }
            }
            Err(_) => panic!("no line with {want:?} within 15 s; output so far:\n{seen}"),
        }
    }
}

/// A `--stay` child must not outlive a failed test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn emulate_stay_listens_for_sip_and_reboots_on_check_sync() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let root = sip_8_12_root(dir.path(), &["002094D245CC"]);
    std::fs::write(
        root.join("syncinfo.xml"),
        "<IMAGE VERSION=\"*\" SYNC=\"2\"/>\n",
    )
    .unwrap();
    let s = serve(&root);
    // A port outside the ephemeral range, free on the phone's address.
    let bind: std::net::IpAddr = "127.100.9.1".parse().unwrap();
    let port = (20_000 + (std::process::id() % 9_000) as u16..30_000)
        .find(|p| std::net::UdpSocket::bind((bind, *p)).is_ok())
        .unwrap();
    let mut child = KillOnDrop(
        phoneflip()
            .args(["emulate", "--tftp", &s.addr.to_string()])
            .args(["--mac", "002094D245CC", "--load", "sip:8.12"])
            .args(["--bind", &bind.to_string(), "--stay"])
            .args(["--sip-port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(child.0.stdout.take().unwrap());
    let mut seen = String::new();
    let first = wait_line(&rx, "listening for SIP on", &mut seen);
    assert!(first.contains(&format!("{bind}:{port}")), "{first}");
    assert!(first.contains("stable sip P0S3-8-12-00"), "{first}");

    // The job side's NOTIFY, over real UDP.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let timers = phoneflip_jobs::Timers {
        t1_ms: 100,
        t2_ms: 400,
        timeout_ms: 3_200,
    };
    let outcome = rt
        .block_on(phoneflip_jobs::send_check_sync(
            "100",
            std::net::SocketAddr::new(bind, port),
            None,
            timers,
            7,
        ))
        .unwrap();
    assert!(
        matches!(
            outcome,
            phoneflip_jobs::NotifyOutcome::Accepted { status: 200, .. }
        ),
        "{outcome:?}"
    );
    // SYNC 2 differs from the phone's default 1: it reboots and is back.
    let again = wait_line(&rx, "1 check-sync(s), 1 reboot(s)", &mut seen);
    assert!(again.contains("listening for SIP"), "{again}");

    // Ctrl-C: the phone stops and prints its whole story.
    let status = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_line(&rx, "final: stable sip P0S3-8-12-00", &mut seen);
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "{seen}");
    assert!(seen.contains("CheckSync"), "{seen}");
    assert!(seen.contains("-> RRQ  syncinfo.xml"), "{seen}");
    assert!(seen.contains("reboot"), "{seen}");
}

#[test]
fn rehearse_stay_keeps_sip_phones_listening_for_check_sync() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let macs = ["00AA00000000", "00AA00000001"];
    let root = sip_8_12_root(dir.path(), &macs);
    std::fs::write(
        root.join("syncinfo.xml"),
        "<IMAGE VERSION=\"*\" SYNC=\"2\"/>\n",
    )
    .unwrap();
    let s = serve(&root);
    let addrs: Vec<std::net::IpAddr> = (0..2)
        .map(phoneflip_emulator::driver::loopback_addr)
        .collect();
    let port = (20_000 + (std::process::id() % 9_000) as u16 + 100..30_000)
        .find(|p| {
            addrs
                .iter()
                .all(|a| std::net::UdpSocket::bind((*a, *p)).is_ok())
        })
        .unwrap();
    let mut child = KillOnDrop(
        phoneflip()
            .args(["rehearse", "--tftp", &s.addr.to_string()])
            .args(["--phones", "2", "--from", "sip:8.12", "--stay"])
            .args(["--sip-port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let rx = lines_of(child.0.stdout.take().unwrap());
    let mut seen = String::new();
    wait_line(&rx, "phones stay up", &mut seen);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let timers = phoneflip_jobs::Timers {
        t1_ms: 100,
        t2_ms: 400,
        timeout_ms: 3_200,
    };
    for (i, a) in addrs.iter().enumerate() {
        let o = rt
            .block_on(phoneflip_jobs::send_check_sync(
                "100",
                std::net::SocketAddr::new(*a, port),
                None,
                timers,
                i as u64,
            ))
            .unwrap();
        assert!(
            matches!(
                o,
                phoneflip_jobs::NotifyOutcome::Accepted { status: 200, .. }
            ),
            "{a}: {o:?}\n{seen}"
        );
    }
    let status = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_line(&rx, "2 check-sync NOTIFY(s) taken", &mut seen);
    assert!(child.0.wait().unwrap().success(), "{seen}");
}

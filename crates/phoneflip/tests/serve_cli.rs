//! `phoneflip serve` as a process: demo root, real fetches, the transfer
//! log in the reference's style, and a clean stop on SIGTERM.

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use phoneflip_tftp::client::{fetch, FetchOptions};

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn fetch_when_up(addr: SocketAddr, name: &str) -> Vec<u8> {
    let opts = FetchOptions {
        timeout: Duration::from_millis(200),
        max_retries: 2,
        ..FetchOptions::default()
    };
    let start = Instant::now();
    loop {
        match fetch(addr, "127.0.0.1:0".parse().unwrap(), name, &opts).await {
            Ok(d) => return d,
            Err(e) if start.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("phoneflip serve did not answer within 20 s: {e}"),
        }
    }
}

#[tokio::test]
async fn serve_demo_root_logs_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tftp");
    let log = dir.path().join("tftp.log");
    let port = free_udp_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(["serve", "--root"])
        .arg(&root)
        .args(["--tftp", &addr.to_string(), "--demo", "--log"])
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Kill(child);

    assert_eq!(fetch_when_up(addr, "OS79XX.TXT").await, b"P003-8-12-00");
    let loads = fetch_when_up(addr, "P0S3-8-12-00.loads").await;
    assert_eq!(loads.len(), 64 * 1024);
    assert!(loads.starts_with(b"PHONEFLIP DEMO FILE - NOT A FIRMWARE IMAGE"));
    let cnf = fetch_when_up(addr, "./SIP002094D245CB.cnf").await;
    assert!(String::from_utf8(cnf)
        .unwrap()
        .contains("image_version: P0S3-8-12-00"));
    let err = fetch(
        addr,
        "127.0.0.1:0".parse().unwrap(),
        "CTLSEP002094D245CB.tlv",
        &FetchOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // SIGTERM: finish and exit 0.
    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "phoneflip serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit}");

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(": Sending 'OS79XX.TXT' file to 127.0.0.1 in binary mode\n"),
        "{text}"
    );
    assert!(
        text.contains(": Sending './SIP002094D245CB.cnf' file to 127.0.0.1 in binary mode\n"),
        "{text}"
    );
    assert!(text.contains(": Successful.\n"), "{text}");
    assert!(text.contains(": Failed ( File not found ).\n"), "{text}");
}

#[test]
fn missing_root_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(["serve", "--tftp", "127.0.0.1:0", "--root"])
        .arg(dir.path().join("nope"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not a directory") && err.contains("--demo"),
        "{err}"
    );
}

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

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 GET (no client library needed for a JSON API).
fn http_get(addr: SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

/// What a person sees: the dashboard rendered by headless Chromium after
/// its scripts ran.
fn dashboard_dom(http: SocketAddr, profile: &std::path::Path) -> Option<String> {
    let Some(bin) = chromium() else {
        eprintln!(
            "SKIPPED: the dashboard check needs Debian's chromium (apt-get install chromium)"
        );
        return None;
    };
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=3000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("http://{http}/"))
        .stderr(Stdio::null())
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout).to_string())
}

/// The README's main job: `serve --demo` creates a root and a fleet,
/// `rehearse --inventory` converts the fleet, and the API and the
/// dashboard show it; SIGTERM stops the server cleanly.
#[tokio::test]
async fn demo_fleet_converts_and_the_dashboard_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tftp");
    let log = dir.path().join("tftp.log");
    let db = dir.path().join("phoneflip.db");
    let port = free_udp_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let http: SocketAddr = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(["serve", "--demo", "--root"])
        .arg(&root)
        .args([
            "--tftp",
            &addr.to_string(),
            "--http",
            &http.to_string(),
            "--db",
        ])
        .arg(&db)
        .arg("--log")
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Kill(child);

    // The root holds the SIP bundle's OS79XX.TXT; per-phone files are rendered.
    let os = String::from_utf8(fetch_when_up(addr, "OS79XX.TXT").await).unwrap();
    assert_eq!(os.trim_end_matches('\n'), "P003-8-12-00");
    let sep = String::from_utf8(fetch_when_up(addr, "SEP0019AA000000.cnf.xml").await).unwrap();
    assert!(sep.contains("P0S3-8-12-00"), "{sep}");
    let err = fetch(
        addr,
        "127.0.0.1:0".parse().unwrap(),
        "CTLSEP0019AA000000.tlv",
        &FetchOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let fleet = http_get(http, "/api/fleet");
    assert!(fleet.contains("\"phones\":20"), "{fleet}");
    assert!(
        !fleet.contains("\"converted\""),
        "nothing converted yet: {fleet}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args([
            "rehearse",
            "--tftp",
            &addr.to_string(),
            "--inventory",
            "--db",
        ])
        .arg(&db)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("stable sip P0S3-8-12-00: 20 phone(s)"),
        "{text}"
    );

    // The recorder flushes in the background: the fleet turns converted.
    let start = Instant::now();
    let fleet = loop {
        let f = http_get(http, "/api/fleet");
        if f.contains("\"converted\":20") || start.elapsed() > Duration::from_secs(10) {
            break f;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(fleet.contains("\"converted\":20"), "{fleet}");
    let start = Instant::now();
    let timeline = loop {
        let t = http_get(http, "/api/phones/0019AA000001/timeline");
        if t.contains("P0S3-8-12-00.sb2") || start.elapsed() > Duration::from_secs(10) {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(timeline.contains("P0S3-8-12-00.sb2"), "{timeline}");

    if let Some(dom) = dashboard_dom(http, &dir.path().join("chromium")) {
        assert!(
            dom.contains("<b>20</b>converted"),
            "the dashboard does not show 20 converted phones:\n{dom}"
        );
        assert!(
            dom.contains("<td>0019AA000013</td>"),
            "the dashboard lacks the last demo phone:\n{dom}"
        );
        assert!(
            dom.contains("class=\"st-converted\">converted</td>"),
            "{dom}"
        );
    }

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
        text.contains(": Sending 'P0S3-8-12-00.sb2' file to 127.100.0.1 in binary mode\n"),
        "{text}"
    );
    assert!(text.contains(": Successful.\n"), "{text}");
    assert!(text.contains(": Failed ( File not found ).\n"), "{text}");
}

#[test]
fn config_file_and_help() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("serve.toml");
    std::fs::write(&cfg, "root = \"/nonexistent-phoneflip-root\"\ntftp = \"127.0.0.1:0\"\nno_http = true\nbogus = 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("serve.toml") && err.contains("bogus"), "{err}");
    std::fs::write(
        &cfg,
        "root = \"/nonexistent-phoneflip-root\"\ntftp = \"127.0.0.1:0\"\nno_http = true\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("nonexistent-phoneflip-root")
            && err.contains("is not a directory"),
        "{err}"
    );
    let help = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--config",
        "--root",
        "--tftp",
        "--http",
        "--db",
        "--api-token",
        "--auto-register",
        "--demo",
        "PHONEFLIP_DB",
    ] {
        assert!(help.contains(flag), "serve --help lacks {flag}:\n{help}");
    }
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

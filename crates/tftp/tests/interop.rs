//! Interop against real Debian TFTP clients run as processes: curl,
//! tftp-hpa and atftp. A missing client prints "SKIPPED" and the test
//! returns (packages: curl tftp-hpa atftp, see .ci/run).

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;
use tokio::process::Command;

fn have(bin: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false);
    if !found {
        eprintln!(
            "SKIPPED: {bin} not installed (Debian package: {})",
            package(bin)
        );
    }
    found
}

fn package(bin: &str) -> &'static str {
    match bin {
        "curl" => "curl",
        "tftp" => "tftp-hpa",
        "atftp" => "atftp",
        _ => "?",
    }
}

async fn run(bin: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(args).kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{bin} {args:?} did not finish within 60 s"))
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"))
}

fn image() -> Vec<u8> {
    pattern(705_536, 11) // the size of a real .sb2
}

const TEXT: &[u8] = b"image_version: P0S3-8-12-00\nproxy1_address: 10.0.0.1\nline1_name: 100\n";

async fn server() -> Running {
    start(|r| {
        write(r, "P0S3-8-12-00.sb2", &image());
        write(r, "SIPDefault.cnf", TEXT);
        write(r, "OS79XX.TXT", b"P003-8-12-00");
    })
    .await
}

fn secret_next_to(root: &Path) {
    std::fs::write(root.parent().unwrap().join("secret"), b"do not serve").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl() {
    if !have("curl") {
        return;
    }
    let srv = server().await;
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let url = |f: &str| format!("tftp://127.0.0.1:{}/{f}", srv.addr.port());
    for extra in [&["--tftp-no-options"][..], &[], &["--tftp-blksize", "1428"]] {
        let u = url("P0S3-8-12-00.sb2");
        let mut args = vec!["-sS", "-o", out_s];
        args.extend_from_slice(extra);
        args.push(&u);
        let o = run("curl", &args).await;
        assert!(
            o.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            std::fs::read(&out).unwrap() == image(),
            "curl {args:?}: content differs"
        );
    }
    // Missing file: curl's "TFTP: File Not Found" is exit code 68.
    let u = url("SIP000000000000.cnf");
    let o = run("curl", &["-sS", "-o", out_s, &u]).await;
    assert_eq!(
        o.status.code(),
        Some(68),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Escapes: "TFTP: Access Violation" is 69.
    secret_next_to(&srv.root);
    let u = url("../secret");
    let o = run("curl", &["-sS", "--path-as-is", "-o", out_s, &u]).await;
    assert_eq!(
        o.status.code(),
        Some(69),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_fifty_at_once() {
    if !have("curl") {
        return;
    }
    let srv = server().await;
    let out_dir = tempfile::tempdir().unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let out = out_dir.path().join(format!("out{i}"));
        let name = if i % 2 == 0 {
            "P0S3-8-12-00.sb2"
        } else {
            "SIPDefault.cnf"
        };
        let u = format!("tftp://127.0.0.1:{}/{name}", srv.addr.port());
        tasks.push(tokio::spawn(async move {
            let out_s = out.to_str().unwrap();
            let args: Vec<&str> = if i % 3 == 0 {
                vec!["-sS", "--tftp-no-options", "-o", out_s, &u]
            } else {
                vec!["-sS", "--tftp-blksize", "1428", "-o", out_s, &u]
            };
            let o = run("curl", &args).await;
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let want = if i % 2 == 0 { image() } else { TEXT.to_vec() };
            assert!(std::fs::read(&out).unwrap() == want, "download {i} differs");
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tftp_hpa() {
    if !have("tftp") {
        return;
    }
    let srv = server().await;
    let port = srv.addr.port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let o = run(
        "tftp",
        &[
            "-m",
            "binary",
            "127.0.0.1",
            &port,
            "-c",
            "get",
            "P0S3-8-12-00.sb2",
            out_s,
        ],
    )
    .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        std::fs::read(&out).unwrap() == image(),
        "binary get differs"
    );
    // netascii: the text arrives with the same local line endings.
    let o = run(
        "tftp",
        &[
            "-m",
            "ascii",
            "127.0.0.1",
            &port,
            "-c",
            "get",
            "SIPDefault.cnf",
            out_s,
        ],
    )
    .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), TEXT);
    // Missing file and escapes: tftp-hpa prints the server's error.
    let o = run(
        "tftp",
        &[
            "-m",
            "binary",
            "127.0.0.1",
            &port,
            "-c",
            "get",
            "XMLDefault.cnf.xml",
            out_s,
        ],
    )
    .await;
    let err = String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
    assert!(err.contains("Error code 1: File not found"), "{err}");
    secret_next_to(&srv.root);
    let o = run(
        "tftp",
        &[
            "-m",
            "binary",
            "127.0.0.1",
            &port,
            "-c",
            "get",
            "../secret",
            out_s,
        ],
    )
    .await;
    let err = String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout);
    assert!(err.contains("Error code 2"), "{err}");
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atftp() {
    if !have("atftp") {
        return;
    }
    let srv = server().await;
    let port = srv.addr.port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let option_sets: [&[&str]; 3] = [
        &[],
        &["--option", "blksize 1428", "--option", "tsize 0"],
        &["--option", "blksize 1024", "--option", "windowsize 8"],
    ];
    for opts in option_sets {
        let _ = std::fs::remove_file(&out);
        let mut args = vec!["--get", "-r", "P0S3-8-12-00.sb2", "-l", out_s];
        args.extend_from_slice(opts);
        args.extend_from_slice(&["127.0.0.1", &port]);
        let o = run("atftp", &args).await;
        assert!(
            o.status.success(),
            "atftp {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            std::fs::read(&out).unwrap() == image(),
            "atftp {opts:?}: content differs"
        );
    }
    let o = run(
        "atftp",
        &[
            "--get",
            "-r",
            "nothere.cnf",
            "-l",
            out_s,
            "127.0.0.1",
            &port,
        ],
    )
    .await;
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.to_lowercase().contains("not found"), "{err}");
    srv.shutdown().await;
}

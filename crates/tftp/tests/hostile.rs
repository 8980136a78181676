//! The real server under hostile conditions on 127.0.0.1: files swapped
//! for symlinks while phones fetch them, names the file system cannot use,
//! and names built to forge transfer-log lines.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use phoneflip_tftp::client::{fetch, FetchOptions};
use phoneflip_tftp::ErrorCode;

fn fast() -> FetchOptions {
    FetchOptions {
        timeout: Duration::from_millis(300),
        max_retries: 3,
        ..FetchOptions::default()
    }
}

const SECRET: &[u8] = b"SECRET: must never leave the host";

/// Replaces `path` atomically (rename over it) by a symlink to `target`.
fn swap_in_link(path: &Path, target: &Path) {
    let tmp = path.with_extension("swap-link");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Replaces `path` atomically by a regular file with `data`.
fn swap_in_file(path: &Path, data: &[u8]) {
    let tmp = path.with_extension("swap-file");
    std::fs::write(&tmp, data).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Replaces `path` by a real folder holding `x` (a folder cannot be renamed
/// over a symlink, so this one is remove-then-rename).
fn swap_in_dir(path: &Path, x: &[u8]) {
    let tmp = path.with_extension("swap-dir");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).unwrap();
    std::fs::write(tmp.join("x"), x).unwrap();
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_dir_all(path);
    let _ = std::fs::rename(&tmp, path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlink_swap_race_leaks_nothing() {
    let srv = start(|r| {
        write(r, "f", b"inside f");
        write(r, "g", b"inside g");
        write(r, "d/x", b"inside d/x");
    })
    .await;
    let outside = srv.root.parent().unwrap().to_path_buf();
    std::fs::write(outside.join("secret"), SECRET).unwrap();
    std::fs::create_dir_all(outside.join("odir")).unwrap();
    std::fs::write(outside.join("odir/x"), SECRET).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (root, stop, swaps) = (srv.root.clone(), stop.clone(), swaps.clone());
        std::thread::spawn(move || {
            let secret = root.parent().unwrap().join("secret");
            while !stop.load(Ordering::Relaxed) {
                // Absolute link out, relative link out (`..`), a folder
                // swapped for a link to a folder outside.
                swap_in_link(&root.join("f"), &secret);
                swap_in_link(&root.join("g"), Path::new("../secret"));
                swap_in_dir(&root.join("d"), b"inside d/x");
                swap_in_file(&root.join("f"), b"inside f");
                swap_in_file(&root.join("g"), b"inside g");
                let _ = std::fs::remove_dir_all(root.join("d"));
                let _ = std::os::unix::fs::symlink("../odir", root.join("d"));
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let run_for = Duration::from_secs(4);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let addr = srv.addr;
        tasks.push(tokio::spawn(async move {
            let names = ["f", "g", "d/x"];
            let (mut served, mut refused, mut leaks) = (0u64, 0u64, 0u64);
            let mut n = i;
            while started.elapsed() < run_for {
                let name = names[n % names.len()];
                n += 1;
                match fetch(addr, any_port(), name, &fast()).await {
                    Ok(data) if data.starts_with(b"SECRET") => leaks += 1,
                    Ok(data) => {
                        assert!(data.starts_with(b"inside"), "{name}: {data:?}");
                        served += 1;
                    }
                    Err(_) => refused += 1,
                }
            }
            (served, refused, leaks)
        }));
    }
    let (mut served, mut refused, mut leaks) = (0, 0, 0);
    for t in tasks {
        let (s, r, l) = t.await.unwrap();
        served += s;
        refused += r;
        leaks += l;
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    let swaps = swaps.load(Ordering::Relaxed);
    eprintln!(
        "symlink swap race: {} fetches in {run_for:?} ({served} served from inside, {refused} refused), {swaps} swap rounds, {leaks} leaks",
        served + refused + leaks
    );
    assert_eq!(leaks, 0, "files outside the root were served");
    // The race really ran both ways.
    assert!(
        served > 50 && refused > 50,
        "served {served}, refused {refused}"
    );
    assert!(swaps > 50, "only {swaps} swap rounds");
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_names_answer_file_not_found() {
    let srv = start(|r| {
        write(r, "SIPDefault.cnf", b"x");
        write(r, "sub/real.cnf", b"y");
    })
    .await;
    std::os::unix::fs::symlink("loop2", srv.root.join("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", srv.root.join("loop2")).unwrap();
    let long = "A".repeat(256);
    let long_dir = format!("{}/x.cnf", "B".repeat(300));
    for name in [
        long.as_str(),
        long_dir.as_str(),
        "SIPDefault.cnf/x",
        "loop1",
        "sub",
        "sub/missing/deeper.cnf",
    ] {
        let err = fetch(srv.addr, any_port(), name, &fast())
            .await
            .expect_err(name);
        assert_eq!(
            err.server_code(),
            Some(ErrorCode::FileNotFound.code()),
            "{}: {err}",
            &name[..name.len().min(40)]
        );
    }
    // A symlink that stays inside the root is followed.
    std::os::unix::fs::symlink("sub/real.cnf", srv.root.join("alias.cnf")).unwrap();
    std::os::unix::fs::symlink(srv.root.join("sub"), srv.root.join("abs")).unwrap();
    assert_eq!(
        fetch(srv.addr, any_port(), "alias.cnf", &fast())
            .await
            .unwrap(),
        b"y"
    );
    assert_eq!(
        fetch(srv.addr, any_port(), "abs/real.cnf", &fast())
            .await
            .unwrap(),
        b"y"
    );
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_in_names_cannot_forge_log_lines() {
    let srv = start(|r| write(r, "SIPDefault.cnf", b"x")).await;
    let forged = "x.cnf\nWed Nov 06 11:58:51 2002: Sending 'SIP0019AA000001.cnf' file to 10.9.9.9 in binary mode\nWed Nov 06 11:58:51 2002: Successful.\n\x1b[2K\x1b[1A";
    let err = fetch(srv.addr, any_port(), forged, &fast())
        .await
        .unwrap_err();
    assert_eq!(err.server_code(), Some(ErrorCode::AccessViolation.code()));
    // Wait for the result line.
    let t0 = Instant::now();
    while !srv.log.text().contains("Failed") && t0.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = srv.log.text();
    for line in log.lines() {
        assert!(
            line.len() > 26 && line.as_bytes()[3] == b' ' && line[24..].starts_with(": "),
            "a line not written by the server: {line:?}\n{log}"
        );
        assert!(!line.contains('\x1b'), "raw escape in {line:?}");
    }
    assert!(!log.contains("10.9.9.9 in binary mode\n"), "{log}");
    assert!(log.contains("x.cnf\\nWed Nov 06"), "{log}");
    assert!(log.contains("\\x1b[2K"), "{log}");
    srv.shutdown().await;
}

//! Memory per transfer stays bounded whatever the mode: 50 netascii read
//! requests for an 8 MB file, none of them acknowledged, must not make the
//! server hold a converted copy each (for a 40 MB file that took a server
//! from 15 MB to 2 GB).
//! Alone in its test binary so the process's RSS is this test's.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use phoneflip_tftp::core::packet::{Mode, Packet, Request};
use phoneflip_tftp::NoVirtualFiles;
use tokio::net::UdpSocket;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_netascii_requests_keep_rss_bounded() {
    const SIZE: usize = 8 << 20;
    const REQUESTS: usize = 50;
    let srv = start_with(
        |cfg, _| {
            // Streamed from the file, not cached: the cache is bounded on
            // its own, this is about per-transfer memory.
            cfg.cache_file_max = 1 << 20;
            cfg.limits.default_timeout = Duration::from_secs(5);
        },
        Arc::new(NoVirtualFiles),
        |r| {
            // Text with many line ends, written in pieces so the test
            // itself never holds the file.
            let mut f = std::io::BufWriter::new(std::fs::File::create(r.join("big.txt")).unwrap());
            let line = b"proxy1_address: 10.0.0.1\n";
            let mut n = 0;
            while n < SIZE {
                f.write_all(line).unwrap();
                n += line.len();
            }
            f.flush().unwrap();
        },
    )
    .await;
    let before = rss_kib();
    let rrq = Packet::Rrq(Request {
        filename: "big.txt".into(),
        mode: Mode::Netascii,
        options: vec![],
    })
    .to_vec();
    let mut socks = Vec::new();
    for _ in 0..REQUESTS {
        let s = UdpSocket::bind(any_port()).await.unwrap();
        s.send_to(&rrq, srv.addr).await.unwrap();
        socks.push(s);
    }
    // Every transfer has started (its DATA 1 is here) and waits for an
    // ACK that never comes.
    let mut peak = before;
    for s in &socks {
        let mut buf = [0u8; 600];
        let (n, _) = tokio::time::timeout(Duration::from_secs(60), s.recv_from(&mut buf))
            .await
            .expect("DATA 1 within 60 s")
            .unwrap();
        let Packet::Data { block: 1, data } = Packet::parse(&buf[..n]).unwrap() else {
            panic!("expected DATA 1")
        };
        assert!(data.starts_with(b"proxy1_address: 10.0.0.1\r\n"));
        peak = peak.max(rss_kib());
    }
    let grown = peak.saturating_sub(before);
    eprintln!(
        "{REQUESTS} unacknowledged netascii requests for a {} MB file: RSS {before} KiB -> {peak} KiB (+{grown} KiB)",
        SIZE >> 20
    );
    // 32 KiB per transfer is the budget; allow the runtime its own slack.
    let budget = (REQUESTS as u64 * 32) + 16 * 1024;
    assert!(
        grown < budget,
        "RSS grew by {grown} KiB for {REQUESTS} transfers (budget {budget} KiB)"
    );
    drop(socks);
    srv.task.abort();
}

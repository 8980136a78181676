//! The real server over a lossy network: this test's socket layer drops
//! and duplicates datagrams in both directions, and every transfer must
//! still complete byte-exact.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use phoneflip_tftp::client::FetchOptions;
use phoneflip_tftp::core::receive::{ReceiveLimits, Receiver};
use phoneflip_tftp::{NoVirtualFiles, Outcome};
use tokio::net::UdpSocket;

/// Deterministic per-transfer randomness.
struct Rng(u64);
impl Rng {
    fn chance(&mut self, percent: u64) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % 100 < percent
    }
}

/// A client read through a socket layer that loses `loss`% and
/// duplicates `dup`% of datagrams each way.
async fn lossy_fetch(
    server: std::net::SocketAddr,
    name: &str,
    opts: &FetchOptions,
    seed: u64,
    loss: u64,
    dup: u64,
) -> Vec<u8> {
    let sock = UdpSocket::bind(any_port()).await.unwrap();
    let limits = ReceiveLimits {
        timeout: Duration::from_millis(60),
        max_retries: 40,
        max_size: 1 << 30,
    };
    let mut rx = Receiver::client(server, &opts.request(name), limits, Instant::now());
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = Vec::new();
    let mut inbuf = vec![0u8; 70_000];
    loop {
        while let Some(to) = rx.poll_transmit(&mut out) {
            if rng.chance(loss) {
                continue;
            }
            sock.send_to(&out, to).await.unwrap();
            if rng.chance(dup) {
                sock.send_to(&out, to).await.unwrap();
            }
        }
        if let Some(o) = rx.outcome() {
            assert_eq!(o, &Outcome::Success, "{name} seed {seed}");
            return rx.take_data();
        }
        let deadline = rx.deadline().unwrap();
        tokio::select! {
            r = sock.recv_from(&mut inbuf) => {
                let (n, from) = r.unwrap();
                if rng.chance(loss) {
                    continue;
                }
                rx.handle_packet(from, &inbuf[..n], Instant::now());
                if rng.chance(dup) {
                    rx.handle_packet(from, &inbuf[..n], Instant::now());
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => rx.handle_timeout(Instant::now()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transfer_completes_byte_exact_despite_loss_and_duplication() {
    let files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| (format!("file{i}.bin"), pattern(20_000 + i * 7_777, i as u8)))
        .collect();
    let f2 = files.clone();
    let srv = start_with(
        |cfg, _| {
            cfg.limits.default_timeout = Duration::from_millis(40);
            cfg.max_retries = 40;
        },
        Arc::new(NoVirtualFiles),
        move |r| {
            for (n, d) in &f2 {
                write(r, n, d);
            }
        },
    )
    .await;
    let option_sets = [
        FetchOptions::default(),
        FetchOptions {
            blksize: Some(1428),
            tsize: true,
            ..FetchOptions::default()
        },
        FetchOptions {
            blksize: Some(1024),
            windowsize: Some(8),
            ..FetchOptions::default()
        },
        FetchOptions {
            windowsize: Some(4),
            ..FetchOptions::default()
        },
    ];
    let mut tasks = Vec::new();
    for (i, (name, data)) in files.iter().enumerate() {
        for (j, opts) in option_sets.iter().enumerate() {
            let (addr, name, data, opts) = (srv.addr, name.clone(), data.clone(), opts.clone());
            let seed = (i * 10 + j) as u64 + 1;
            tasks.push(tokio::spawn(async move {
                let got = lossy_fetch(addr, &name, &opts, seed, 12, 10).await;
                assert!(
                    got == data,
                    "{name} with {opts:?}: {} bytes, expected {}",
                    got.len(),
                    data.len()
                );
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    srv.shutdown().await;
}

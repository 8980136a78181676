//! Shared by the tests that run `phoneflip serve` as a process: free
//! loopback ports, a child that is killed when the test ends (even on a
//! failed assertion), and a fetch that waits for the server to be up.
#![allow(dead_code)] // each test binary uses its own part

use std::net::{SocketAddr, UdpSocket};
use std::process::Child;
use std::time::{Duration, Instant};

use phoneflip_tftp::client::{fetch, FetchOptions};

pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the child on drop, so a failing test leaves no server behind.
pub struct Kill(pub Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Fetches `name`, retrying while the server starts (up to 20 s).
pub async fn fetch_when_up(addr: SocketAddr, name: &str) -> Vec<u8> {
    let opts = FetchOptions {
        timeout: Duration::from_millis(200),
        max_retries: 2,
        ..FetchOptions::default()
    };
    let start = Instant::now();
    loop {
        match fetch(addr, "127.0.0.1:0".parse().unwrap(), name, &opts).await {
            Ok(d) => return d,
            Err(_) if start.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("phoneflip serve did not answer within 20 s: {e}"),
        }
    }
}

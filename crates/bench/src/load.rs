//! The load generator: N client tasks, each fetching its file in a loop
//! with phoneflip's tokio client (the sans-IO receiver behind one socket
//! per fetch, from a new ephemeral port each time, as a phone does).
//!
//! With [`Sources::Many`] client `c` sends from its own loopback address
//! (127.0.x.y), so the server sees N phones rather than one, as in a boot
//! storm; with [`Sources::One`] every client sends from 127.0.0.1, as
//! phones behind one NAT or a load generator on one host do. Both shapes
//! matter: per-source bookkeeping and per-source limits behave
//! differently. Every request goes to the server under test on loopback.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use phoneflip_tftp::client::{fetch_counting, FetchOptions};

use crate::fleet::{self, RootContents};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The 1 MiB image, plain RFC 1350 (512-byte blocks, no options): what
    /// a 7940/7960 sends.
    Image512,
    /// The same image at blksize 1428.
    Image1428,
    /// 2 KiB per-phone configuration files, static in the root.
    StaticConfig,
    /// Each client's own SIP<MAC>.cnf / SEP<MAC>.cnf.xml: rendered per
    /// request by phoneflip, the same bytes from the root for the peers.
    RenderedConfig,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Scenario::Image512,
        Scenario::Image1428,
        Scenario::StaticConfig,
        Scenario::RenderedConfig,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Scenario::Image512 => "1 MiB image, 512-byte blocks, no options",
            Scenario::Image1428 => "1 MiB image, blksize 1428",
            Scenario::StaticConfig => "2 KiB config, static per phone",
            Scenario::RenderedConfig => "config rendered per phone (peers: same bytes, static)",
        }
    }

    /// Short name for `--only`.
    pub fn key(self) -> &'static str {
        match self {
            Scenario::Image512 => "image512",
            Scenario::Image1428 => "image1428",
            Scenario::StaticConfig => "static",
            Scenario::RenderedConfig => "rendered",
        }
    }

    fn options(self) -> FetchOptions {
        FetchOptions {
            blksize: (self == Scenario::Image1428).then_some(1428),
            timeout: Duration::from_secs(1),
            max_retries: 5,
            ..FetchOptions::default()
        }
    }

    fn file(self, client: usize) -> String {
        match self {
            Scenario::Image512 | Scenario::Image1428 => fleet::IMAGE.into(),
            Scenario::StaticConfig => fleet::static_name(client),
            Scenario::RenderedConfig => fleet::rendered_name(client),
        }
    }
}

/// Where the clients' requests come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sources {
    /// One loopback address per client (127.0.x.y): a boot storm of phones.
    Many,
    /// Every client from 127.0.0.1.
    One,
}

impl Sources {
    pub fn label(self) -> &'static str {
        match self {
            Sources::Many => "one address per client",
            Sources::One => "all from 127.0.0.1",
        }
    }

    /// Short name for `--sources`.
    pub fn key(self) -> &'static str {
        match self {
            Sources::Many => "many",
            Sources::One => "one",
        }
    }

    pub fn ip(self, client: usize) -> IpAddr {
        match self {
            Sources::Many => client_ip(client),
            Sources::One => IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }
}

/// Client `c`'s own loopback source address.
pub fn client_ip(c: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        1 + (c / 250) as u8,
        1 + (c % 250) as u8,
    ))
}

/// How long and how much each cell runs: each client stops starting new
/// fetches after `duration` or after `max_fetches`, whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub duration: Duration,
    pub max_fetches: u64,
}

#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub files: u64,
    pub bytes: u64,
    pub failed: u64,
    /// Fetches (successful or not) whose client timer (1 s) expired at
    /// least once: on loopback, a request or a block the server dropped or
    /// answered late. The user sees it as a phone stalled for a second.
    pub stalls: u64,
    pub elapsed: Duration,
    /// The first failure, for the report's notes.
    pub first_error: Option<String>,
}

/// Runs `clients` clients against `server` and counts byte-exact fetches.
pub async fn run(
    server: SocketAddr,
    scenario: Scenario,
    sources: Sources,
    clients: usize,
    bounds: Bounds,
    expect: &RootContents,
) -> LoadResult {
    let files = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stalls = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let start = Instant::now();
    let end = start + bounds.duration;
    let mut tasks = Vec::with_capacity(clients);
    for c in 0..clients {
        let want: Arc<Vec<u8>> = match scenario {
            Scenario::Image512 | Scenario::Image1428 => expect.image.clone(),
            Scenario::StaticConfig => Arc::new(expect.static_files[c].clone()),
            Scenario::RenderedConfig => Arc::new(expect.rendered_files[c].clone()),
        };
        let (files, bytes, failed, stalls, first_error) = (
            files.clone(),
            bytes.clone(),
            failed.clone(),
            stalls.clone(),
            first_error.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let name = scenario.file(c);
            let opts = scenario.options();
            let bind = SocketAddr::new(sources.ip(c), 0);
            let mut n = 0;
            while n < bounds.max_fetches && Instant::now() < end {
                n += 1;
                let mut timeouts = 0;
                let got = fetch_counting(server, bind, &name, &opts, &mut timeouts).await;
                if timeouts > 0 {
                    stalls.fetch_add(1, Ordering::Relaxed);
                }
                let err = match got {
                    Ok(d) if d == *want => {
                        files.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(d.len() as u64, Ordering::Relaxed);
                        continue;
                    }
                    Ok(d) => format!(
                        "{name}: {} bytes that differ from the {} expected",
                        d.len(),
                        want.len()
                    ),
                    Err(e) => e.to_string(),
                };
                failed.fetch_add(1, Ordering::Relaxed);
                let mut first = first_error.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert(err);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let first_error = first_error.lock().unwrap_or_else(|p| p.into_inner()).take();
    LoadResult {
        files: files.load(Ordering::Relaxed),
        bytes: bytes.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        stalls: stalls.load(Ordering::Relaxed),
        elapsed: start.elapsed(),
        first_error,
    }
}

/// Request/response pairs per second through a trivial UDP echo server on
/// loopback that answers each 4-byte request with a 516-byte packet (a
/// TFTP DATA packet's size at 512-byte blocks), driven like [`run`]'s
/// clients: the most lock-step exchanges this machine's loopback, kernel
/// and client can do, i.e. the ceiling any TFTP server here works under.
pub async fn udp_ceiling(clients: usize, duration: Duration) -> std::io::Result<(u64, Duration)> {
    let server = std::net::UdpSocket::bind("127.0.0.1:0")?;
    server.set_read_timeout(Some(Duration::from_millis(100)))?;
    let addr = server.local_addr()?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s2 = stop.clone();
    // A plain blocking thread: the simplest possible server.
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let reply = [0x5au8; 516];
        while !s2.load(Ordering::Relaxed) {
            if let Ok((_, from)) = server.recv_from(&mut buf) {
                let _ = server.send_to(&reply, from);
            }
        }
    });
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + duration;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let count = count.clone();
        tasks.push(tokio::spawn(async move {
            let s = tokio::net::UdpSocket::bind(SocketAddr::new(client_ip(c), 0)).await?;
            s.connect(addr).await?;
            let mut buf = [0u8; 2048];
            while Instant::now() < end {
                s.send(&[0, 4, 0, 1]).await?;
                if let Ok(Ok(516)) =
                    tokio::time::timeout(Duration::from_millis(200), s.recv(&mut buf)).await
                {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok::<(), std::io::Error>(())
        }));
    }
    let mut result = Ok(());
    for t in tasks {
        if let Ok(Err(e)) = t.await {
            result = Err(e);
        }
    }
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = echo.join();
    result.map(|_| (count.load(Ordering::Relaxed), elapsed))
}

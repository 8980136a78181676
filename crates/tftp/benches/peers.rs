//! phoneflip's TFTP server against tftpd-hpa and dnsmasq, same run, same
//! client, loopback.
//!
//! `cargo bench -p phoneflip-tftp --bench peers` (as root: dnsmasq only
//! serves TFTP on port 69, and both peers drop privileges to `nobody`).
//! Environment: BENCH_SECS (per cell, default 2), BENCH_RUNS (default 3),
//! BENCH_CONC (default "1,64,512"). Prints a Markdown report.
//!
//! Each cell runs N client tasks that fetch in a loop for BENCH_SECS;
//! files/s and MiB/s count completed, byte-checked fetches. Server CPU is
//! utime+stime from /proc per completed file; memory is
//! the server process's peak RSS (VmHWM; tftpd-hpa's per-transfer children are
//! not included, nor is their CPU, which the kernel reaps unaccounted). The UDP ceiling is a trivial echo server measured by the
//! same harness: the most request/response pairs this machine's loopback
//! and client can do.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use phoneflip_device::Mac;
use phoneflip_tftp::client::{fetch, FetchOptions};
use phoneflip_tftp::{Resolution, ResolveRequest, Server, ServerConfig, TransferLog};

const BIG: &str = "P0S3-8-12-00.sb2";
const BIG_LEN: usize = 1 << 20;
const SMALL_LEN: usize = 2048;
const PHONES: usize = 512;

fn small_name(i: usize) -> String {
    format!("SIP{:012X}.cnf", 0x0019_AA00_0000u64 + i as u64)
}

fn render(mac: Mac) -> Bytes {
    let mut s = format!(
        "# rendered for {mac}\nimage_version: P0S3-8-12-00\nline1_name: {}\n",
        mac
    );
    while s.len() < SMALL_LEN {
        s.push_str("# padding to a typical SIP<MAC>.cnf size\n");
    }
    s.truncate(SMALL_LEN);
    Bytes::from(s)
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn have(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(bin))
            .find(|p| p.is_file())
    })
}

struct Proc {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<u64> = after
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        // Fields 14..17 of stat are at 11..14 after the ") " split.
        let ticks: u64 = f.get(11..15).map(|s| s.iter().sum()).unwrap_or(0);
        ticks as f64 / 100.0
    }

    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn make_root(dir: &Path) -> Vec<u8> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let big: Vec<u8> = (0..BIG_LEN).map(|i| (i * 31 + i / 977) as u8).collect();
    std::fs::write(dir.join(BIG), &big).unwrap();
    for i in 0..PHONES {
        let mac: Mac = small_name(i)[3..15].parse().unwrap();
        std::fs::write(dir.join(small_name(i)), render(mac)).unwrap();
    }
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    big
}

/// The phoneflip server, in a child process so its CPU and memory are
/// measured like the peers'. SIP<MAC>.cnf under "virtual/" is rendered
/// per request, as the inventory-backed source will.
fn serve_child(root: &str, addr: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut cfg = ServerConfig::new(addr.parse().unwrap(), root);
        cfg.max_transfers = 4096;
        cfg.max_image_transfers = 4096;
        let source =
            Arc::new(
                |req: &ResolveRequest<'_>| match req.filename.strip_prefix("virtual/") {
                    Some(name) => match Mac::from_file_name(name) {
                        Some(mac) => Resolution::Virtual(render(mac)),
                        None => Resolution::NotHere,
                    },
                    None => Resolution::NotHere,
                },
            );
        let server = Server::bind(cfg, source, Arc::new(()), TransferLog::none())
            .await
            .unwrap();
        println!("READY");
        server.run(std::future::pending()).await.unwrap();
    });
}

async fn wait_ready(addr: SocketAddr, name: &str) -> bool {
    let opts = FetchOptions {
        timeout: Duration::from_millis(200),
        max_retries: 1,
        ..FetchOptions::default()
    };
    for _ in 0..50 {
        if fetch(addr, "127.0.0.1:0".parse().unwrap(), name, &opts)
            .await
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn start_servers(root: &Path) -> Vec<Proc> {
    let mut out = Vec::new();
    let probe = small_name(0);
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve-child", root.to_str().unwrap(), &addr.to_string()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc {
        name: "phoneflip",
        child,
        addr,
    };
    assert!(
        wait_ready(addr, &probe).await,
        "phoneflip server did not start"
    );
    out.push(p);

    if let Some(bin) = have("in.tftpd") {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(bin)
            .args([
                "-L",
                "-s",
                root.to_str().unwrap(),
                "-a",
                &addr.to_string(),
                "-u",
                "nobody",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let p = Proc {
            name: "tftpd-hpa",
            child,
            addr,
        };
        if wait_ready(addr, &probe).await {
            out.push(p);
        } else {
            eprintln!("SKIPPED: tftpd-hpa did not answer (needs root for -s and -u nobody)");
        }
    } else {
        eprintln!("SKIPPED: in.tftpd not installed (Debian package tftpd-hpa)");
    }

    if let Some(bin) = have("dnsmasq") {
        // dnsmasq's TFTP is always on port 69.
        let addr: SocketAddr = "127.0.0.1:69".parse().unwrap();
        let child = Command::new(bin)
            .args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--port=0",
                "--enable-tftp",
                &format!("--tftp-root={}", root.display()),
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--tftp-max=4096",
                "--quiet-tftp",
                "--pid-file=",
                "--user=nobody",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let p = Proc {
            name: "dnsmasq",
            child,
            addr,
        };
        if wait_ready(addr, &probe).await {
            out.push(p);
        } else {
            eprintln!(
                "SKIPPED: dnsmasq did not answer on 127.0.0.1:69 (needs root and a free port 69)"
            );
        }
    } else {
        eprintln!("SKIPPED: dnsmasq not installed (Debian package dnsmasq-base)");
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Work {
    Big512,
    Big1428,
    Small,
    SmallRendered,
}

impl Work {
    fn label(self) -> &'static str {
        match self {
            Work::Big512 => "1 MiB image, 512-byte blocks, no options",
            Work::Big1428 => "1 MiB image, blksize 1428",
            Work::Small => "2 KiB config files (static)",
            Work::SmallRendered => "2 KiB config files (rendered per phone)",
        }
    }
}

struct Cell {
    files_s: f64,
    mib_s: f64,
    cpu: f64,
    failures: u64,
}

async fn run_cell(
    addr: SocketAddr,
    work: Work,
    conc: usize,
    secs: u64,
    big: Arc<Vec<u8>>,
) -> (u64, u64, u64, f64) {
    let files = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let fails = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..conc {
        let (files, bytes, fails, big) = (files.clone(), bytes.clone(), fails.clone(), big.clone());
        tasks.push(tokio::spawn(async move {
            let opts = FetchOptions {
                blksize: (work == Work::Big1428).then_some(1428),
                timeout: Duration::from_secs(1),
                max_retries: 5,
                ..FetchOptions::default()
            };
            let mut i = c;
            while Instant::now() < end {
                let name = match work {
                    Work::Big512 | Work::Big1428 => BIG.to_string(),
                    Work::Small => small_name(i % PHONES),
                    Work::SmallRendered => format!("virtual/{}", small_name(i % PHONES)),
                };
                i += conc;
                match fetch(addr, "127.0.0.1:0".parse().unwrap(), &name, &opts).await {
                    Ok(d) => {
                        let ok = match work {
                            Work::Big512 | Work::Big1428 => d == *big,
                            _ => d.len() == SMALL_LEN,
                        };
                        if ok {
                            files.fetch_add(1, Ordering::Relaxed);
                            bytes.fetch_add(d.len() as u64, Ordering::Relaxed);
                        } else {
                            fails.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        fails.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    (
        files.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed),
        fails.load(Ordering::Relaxed),
        elapsed,
    )
}

/// Request/response pairs per second through a trivial UDP echo server.
async fn udp_ceiling(conc: usize, secs: u64) -> f64 {
    let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    let echo = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        loop {
            if let Ok((n, from)) = server.recv_from(&mut buf).await {
                let _ = server.send_to(&buf[..n], from).await;
            }
        }
    });
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let count = count.clone();
        tasks.push(tokio::spawn(async move {
            let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            s.connect(addr).await.unwrap();
            let mut buf = [0u8; 64];
            while Instant::now() < end {
                s.send(b"\x00\x04\x00\x01").await.unwrap();
                if tokio::time::timeout(Duration::from_millis(200), s.recv(&mut buf))
                    .await
                    .is_ok()
                {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    echo.abort();
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve-child") {
        serve_child(&args[2], &args[3]);
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        // `cargo test --all-targets` builds and runs benches without
        // --bench: the benchmark only runs under `cargo bench`.
        eprintln!("peers benchmark: run it with `cargo bench -p phoneflip-tftp --bench peers`");
        return;
    }
    let secs = env_num("BENCH_SECS", 2);
    let runs = env_num("BENCH_RUNS", 3) as usize;
    let concs: Vec<usize> = std::env::var("BENCH_CONC")
        .unwrap_or_else(|_| "1,64,512".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tftproot");
        let big = Arc::new(make_root(&root));
        let servers = start_servers(&root).await;
        let mut report = String::new();
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
            .unwrap_or_default();
        report.push_str(&format!(
            "Machine: {} CPUs ({cpu_model}), loopback; {runs} runs of {secs} s per cell, medians. Client: phoneflip's tokio client in one process for all servers.\n\n",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        ));
        report.push_str("| workload | clients | server | files/s | MiB/s | server CPU ms/file | fetch failures | phoneflip/peer (files/s) |\n|---|---:|---|---:|---:|---:|---:|---:|\n");
        for work in [Work::Big512, Work::Big1428, Work::Small, Work::SmallRendered] {
            for &conc in &concs {
                let mut pf_files = None;
                for s in &servers {
                    if work == Work::SmallRendered && s.name != "phoneflip" {
                        continue;
                    }
                    let mut cells = Vec::new();
                    for _ in 0..runs {
                        let cpu0 = s.cpu_secs();
                        let (files, bytes, fails, elapsed) = run_cell(s.addr, work, conc, secs, big.clone()).await;
                        let cpu = s.cpu_secs() - cpu0;
                        cells.push(Cell {
                            files_s: files as f64 / elapsed,
                            mib_s: bytes as f64 / elapsed / (1 << 20) as f64,
                            cpu: cpu * 1000.0 / files.max(1) as f64,
                            failures: fails,
                        });
                        // Let retransmission timers of abandoned transfers expire.
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    let files_s = median(cells.iter().map(|c| c.files_s).collect());
                    let mib_s = median(cells.iter().map(|c| c.mib_s).collect());
                    let cpu = median(cells.iter().map(|c| c.cpu).collect());
                    let failures: u64 = cells.iter().map(|c| c.failures).sum();
                    if s.name == "phoneflip" {
                        pf_files = Some(files_s);
                    }
                    let ratio = match pf_files {
                        Some(p) if s.name != "phoneflip" && files_s > 0.0 => format!("{:.2}x", p / files_s),
                        _ => "-".into(),
                    };
                    // tftpd-hpa forks a child per transfer and lets the kernel
                    // reap it, so its children's CPU is accounted nowhere.
                    let cpu = if s.name == "tftpd-hpa" {
                        "n/a".to_string()
                    } else {
                        format!("{cpu:.3}")
                    };
                    let line = format!(
                        "| {} | {conc} | {} | {files_s:.1} | {mib_s:.2} | {cpu} | {failures} | {ratio} |\n",
                        work.label(),
                        s.name
                    );
                    eprint!("{line}");
                    report.push_str(&line);
                }
            }
        }
        report.push_str("\n| server | peak RSS (MiB) |\n|---|---:|\n");
        for s in &servers {
            report.push_str(&format!("| {} | {:.1} |\n", s.name, s.peak_rss_kib() as f64 / 1024.0));
        }
        report.push_str("\nLoopback UDP request/response ceiling (trivial echo server, same harness):\n\n| clients | pairs/s |\n|---:|---:|\n");
        for &conc in &concs {
            let r = udp_ceiling(conc, secs).await;
            report.push_str(&format!("| {conc} | {r:.0} |\n"));
        }
        println!("{report}");
    });
}

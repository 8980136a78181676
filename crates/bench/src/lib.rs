//! TFTP benchmark harness: phoneflip's server against tftpd-hpa and
//! dnsmasq, same run, same client, loopback only.
//!
//! Owns the load generator, the server launchers, the /proc measurements
//! and the Markdown report behind `phoneflip bench tftp`. Must not touch
//! the TFTP server itself (`phoneflip-tftp`) or the provisioning pipeline
//! (`phoneflip-provision`): it drives them exactly as `phoneflip serve`
//! would, so what it measures is what ships.
//!
//! One run starts every server on loopback (phoneflip in its own process
//! through [`PhoneflipLaunch::Exec`], tftpd-hpa and dnsmasq when
//! installed), fills one root they all serve, and measures each cell
//! (scenario × source shape × clients × server, each server with its
//! transfer log on, off or both) `runs` times, interleaving servers within
//! a repetition so drift hits all of them alike. It reports medians; it
//! asserts nothing about speed.

pub mod fleet;
pub mod load;
pub mod procstat;
pub mod servers;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

pub use load::{Bounds, Scenario, Sources};
pub use servers::{server_child_main, PhoneflipLaunch};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("benchmark setup failed at {what}: {reason}")]
    Setup { what: String, reason: String },
}

fn setup(what: &str) -> impl FnOnce(std::io::Error) -> BenchError + '_ {
    move |e| BenchError::Setup {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub clients: Vec<usize>,
    pub scenarios: Vec<Scenario>,
    /// Source shapes: one address per client, all from one address.
    pub sources: Vec<Sources>,
    /// Transfer log settings to run every server with (`true` = logging
    /// to a file, as a production server does).
    pub logging: Vec<bool>,
    pub bounds: Bounds,
    /// Repetitions of each cell; the report shows medians.
    pub runs: usize,
    pub phoneflip: PhoneflipLaunch,
    /// Start tftpd-hpa and dnsmasq too (skipped with a note when missing).
    pub peers: bool,
    /// Measure the loopback UDP request/response ceiling.
    pub ceiling: bool,
}

impl Config {
    /// The full benchmark of issue 7.
    pub fn full(phoneflip: PhoneflipLaunch) -> Config {
        Config {
            clients: vec![1, 64, 512],
            scenarios: Scenario::ALL.to_vec(),
            sources: vec![Sources::Many, Sources::One],
            logging: vec![true],
            bounds: Bounds {
                duration: Duration::from_secs(3),
                max_fetches: 100_000,
            },
            runs: 5,
            phoneflip,
            peers: true,
            ceiling: true,
        }
    }

    /// The same matrix, shorter cells and 3 repetitions.
    pub fn quick(phoneflip: PhoneflipLaunch) -> Config {
        Config {
            bounds: Bounds {
                duration: Duration::from_secs(1),
                max_fetches: 100_000,
            },
            runs: 3,
            ..Config::full(phoneflip)
        }
    }
}

/// One measurement of one cell.
#[derive(Debug, Clone)]
pub struct Sample {
    pub files: u64,
    pub bytes: u64,
    pub failed: u64,
    /// Fetches that needed a retransmission ([`load::STALL`] or longer).
    pub stalls: u64,
    pub secs: f64,
    /// None when the server runs inside the harness.
    pub cpu_secs: Option<f64>,
    pub peak_rss_kib: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Cell {
    pub scenario: Scenario,
    pub sources: Sources,
    pub clients: usize,
    pub server: &'static str,
    pub logging: bool,
    pub samples: Vec<Sample>,
    pub first_error: Option<String>,
    /// Resident memory of the server (process tree) when idle after a
    /// warm-up that filled its file cache: the base the per-transfer
    /// memory is counted from.
    pub idle_rss_kib: Option<u64>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

impl Cell {
    pub fn files_per_sec(&self) -> f64 {
        median(
            self.samples
                .iter()
                .map(|s| s.files as f64 / s.secs)
                .collect(),
        )
        .unwrap_or(0.0)
    }
    pub fn mib_per_sec(&self) -> f64 {
        median(
            self.samples
                .iter()
                .map(|s| s.bytes as f64 / s.secs / 1048576.0)
                .collect(),
        )
        .unwrap_or(0.0)
    }
    pub fn cpu_secs(&self) -> Option<f64> {
        median(self.samples.iter().filter_map(|s| s.cpu_secs).collect())
    }
    /// Server CPU milliseconds per completed file.
    pub fn cpu_ms_per_file(&self) -> Option<f64> {
        median(
            self.samples
                .iter()
                .filter(|s| s.files > 0)
                .filter_map(|s| s.cpu_secs.map(|c| c * 1000.0 / s.files as f64))
                .collect(),
        )
    }
    pub fn peak_rss_mib(&self) -> Option<f64> {
        median(
            self.samples
                .iter()
                .filter_map(|s| s.peak_rss_kib.map(|k| k as f64 / 1024.0))
                .collect(),
        )
    }
    /// Peak resident memory above the warm idle server, per concurrent
    /// transfer (one per client): what each transfer costs besides the
    /// shared file cache. An upper bound: memory the allocator kept from
    /// earlier cells counts too.
    pub fn kib_per_transfer(&self) -> Option<f64> {
        let idle = self.idle_rss_kib? as f64;
        median(
            self.samples
                .iter()
                .filter_map(|s| s.peak_rss_kib)
                .map(|p| (p as f64 - idle).max(0.0) / self.clients.max(1) as f64)
                .collect(),
        )
    }
    pub fn failed(&self) -> u64 {
        self.samples.iter().map(|s| s.failed).sum()
    }
    pub fn stalls(&self) -> u64 {
        self.samples.iter().map(|s| s.stalls).sum()
    }
    pub fn files(&self) -> u64 {
        self.samples.iter().map(|s| s.files).sum()
    }
}

#[derive(Debug, Clone)]
pub struct Ceiling {
    pub clients: usize,
    /// Median request/response pairs per second.
    pub pairs_per_sec: f64,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub machine: String,
    pub config: Config,
    pub servers: Vec<(&'static str, String)>,
    pub cells: Vec<Cell>,
    pub ceiling: Vec<Ceiling>,
    /// Skipped peers and other things the reader must know.
    pub notes: Vec<String>,
    /// Mean size of the rendered per-phone files.
    pub rendered_size: Option<usize>,
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!("{cores} cores ({model}), Linux {kernel}")
}

/// Runs the benchmark; blocks until done. Errors only when phoneflip's own
/// server cannot be set up; missing peers become notes.
pub fn run(config: &Config, progress: &mut dyn FnMut(&str)) -> Result<Report, BenchError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(setup("tokio runtime"))?;
    rt.block_on(run_async(config, progress))
}

async fn run_async(config: &Config, progress: &mut dyn FnMut(&str)) -> Result<Report, BenchError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().map_err(setup("temporary directory"))?;
    // tftpd-hpa and dnsmasq run as nobody and must reach the root.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(setup("temporary directory permissions"))?;
    let root: PathBuf = dir.path().join("tftproot");
    let files = config.clients.iter().copied().max().unwrap_or(1).max(1);
    let contents = fleet::populate(&root, files)?;
    let mut notes = Vec::new();
    let probe = fleet::static_name(0);

    let meter = servers::Meter::new(dir.path());
    if !meter.uses_perf() {
        let n = "perf is not usable here: CPU comes from /proc, which misses tftpd-hpa's forked transfer processes (install linux-perf and run as root)".to_string();
        progress(&n);
        notes.push(n);
    }
    let mut running = Vec::new();
    let logs: Vec<bool> = if config.logging.is_empty() {
        vec![true]
    } else {
        config.logging.clone()
    };
    for &logging in &logs {
        let log = logging.then(|| dir.path().join(format!("phoneflip-{}.log", running.len())));
        let mut pf =
            servers::start_phoneflip(&config.phoneflip, &root, files, &meter, log.as_deref())?;
        servers::wait_ready(&mut pf, &probe, &contents.static_files[0]).await?;
        running.push(pf);
    }
    if config.peers {
        type Starter = fn(
            &std::path::Path,
            &std::path::Path,
            &servers::Meter,
            Option<&std::path::Path>,
        ) -> Result<servers::Running, BenchError>;
        let peers: [(&str, &str, &str, Starter); 2] = [
            (
                "tftpd-hpa",
                "in.tftpd",
                "tftpd-hpa",
                servers::start_tftpd_hpa,
            ),
            ("dnsmasq", "dnsmasq", "dnsmasq-base", servers::start_dnsmasq),
        ];
        for (name, bin, package, start) in peers {
            let Some(path) = servers::find_binary(bin) else {
                let n =
                    format!("SKIPPED {name}: `{bin}` is not installed (Debian package {package})");
                progress(&n);
                notes.push(n);
                continue;
            };
            for &logging in &logs {
                let log = logging.then(|| dir.path().join(format!("{name}-{}.log", running.len())));
                let started = match start(&path, &root, &meter, log.as_deref()) {
                    Ok(mut s) => servers::wait_ready(&mut s, &probe, &contents.static_files[0])
                        .await
                        .map(|_| s),
                    Err(e) => Err(e),
                };
                match started {
                    Ok(s) => running.push(s),
                    Err(e) => {
                        let n = format!("SKIPPED {name}: {e}");
                        progress(&n);
                        notes.push(n);
                    }
                }
            }
        }
        if logs.contains(&true) && running.iter().any(|s| s.name == "tftpd-hpa") {
            notes.push("tftpd-hpa can log only to syslog: with the log on it runs --verbose, and its lines go to /dev/log (dropped when no syslog daemon listens), while phoneflip and dnsmasq write theirs to a file".into());
        }
    }
    // Warm every server the same way (the image and every static file
    // once), then take its idle memory.
    let mut idle = Vec::new();
    for s in &running {
        let opts = phoneflip_tftp::client::FetchOptions::default();
        let local: std::net::SocketAddr = "127.0.0.1:0".parse().expect("address");
        let _ = phoneflip_tftp::client::fetch(s.addr, local, fleet::IMAGE, &opts).await;
        for i in 0..files {
            let _ =
                phoneflip_tftp::client::fetch(s.addr, local, &fleet::static_name(i), &opts).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        idle.push(s.pid.map(procstat::tree_rss_kib));
    }
    let server_list = running
        .iter()
        .map(|s| {
            (
                s.name,
                format!(
                    "{} (log {}, CPU: {})",
                    s.addr,
                    if s.logging { "on" } else { "off" },
                    s.cpu_method()
                ),
            )
        })
        .collect();

    let mut cells = Vec::new();
    let shapes = if config.sources.is_empty() {
        vec![Sources::Many]
    } else {
        config.sources.clone()
    };
    for &scenario in &config.scenarios {
        for &sources in &shapes {
            for &clients in &config.clients {
                let mut row: Vec<Cell> = running
                    .iter()
                    .zip(&idle)
                    .map(|(s, idle)| Cell {
                        scenario,
                        sources,
                        clients,
                        server: s.name,
                        logging: s.logging,
                        samples: Vec::new(),
                        first_error: None,
                        idle_rss_kib: *idle,
                    })
                    .collect();
                for _ in 0..config.runs {
                    for (s, cell) in running.iter().zip(row.iter_mut()) {
                        let sampler = s.pid.map(|pid| {
                            procstat::reset_peak(pid);
                            procstat::RssSampler::start(pid, Duration::from_millis(50))
                        });
                        let cpu0 = s.cpu_secs();
                        let r =
                            load::run(s.addr, scenario, sources, clients, config.bounds, &contents)
                                .await;
                        // perf prints every 100 ms: let the last interval land.
                        if s.pid.is_some() {
                            tokio::time::sleep(Duration::from_millis(250)).await;
                        }
                        let cpu1 = s.cpu_secs();
                        let tree = sampler.map(|x| x.finish());
                        let hwm = s.pid.and_then(procstat::peak_rss_kib);
                        let peak = match (tree, hwm) {
                            (Some(t), Some(h)) => Some(t.max(h)),
                            (t, h) => t.or(h),
                        };
                        cell.samples.push(Sample {
                            files: r.files,
                            bytes: r.bytes,
                            failed: r.failed,
                            stalls: r.stalls,
                            secs: r.elapsed.as_secs_f64(),
                            cpu_secs: cpu0.zip(cpu1).map(|(a, b)| b - a),
                            peak_rss_kib: peak,
                        });
                        if cell.first_error.is_none() {
                            cell.first_error = r.first_error;
                        }
                        // Let stragglers (retransmissions to failed clients) settle.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                for cell in &row {
                    progress(&format!(
                    "{} | {} | {} clients | {} (log {}): {:.1} files/s, {} failed, {} stalled ({} files in {:.1} s over all runs)",
                    scenario.label(),
                    sources.label(),
                    clients,
                    cell.server,
                    if cell.logging { "on" } else { "off" },
                    cell.files_per_sec(),
                    cell.failed(),
                    cell.stalls(),
                    cell.files(),
                    cell.samples.iter().map(|x| x.secs).sum::<f64>()
                ));
                }
                cells.extend(row);
            }
        }
    }
    drop(running);

    let mut ceiling = Vec::new();
    if config.ceiling {
        for &clients in &config.clients {
            let mut rates = Vec::new();
            for _ in 0..config.runs {
                let (pairs, elapsed) = load::udp_ceiling(clients, config.bounds.duration)
                    .await
                    .map_err(setup("UDP echo ceiling"))?;
                rates.push(pairs as f64 / elapsed.as_secs_f64());
            }
            let c = Ceiling {
                clients,
                pairs_per_sec: median(rates).unwrap_or(0.0),
            };
            progress(&format!(
                "UDP ceiling | {clients} clients: {:.0} pairs/s",
                c.pairs_per_sec
            ));
            ceiling.push(c);
        }
    }
    Ok(Report {
        machine: machine(),
        config: config.clone(),
        servers: server_list,
        cells,
        ceiling,
        notes,
        rendered_size: (!contents.rendered_files.is_empty()).then(|| {
            contents.rendered_files.iter().map(Vec::len).sum::<usize>()
                / contents.rendered_files.len()
        }),
    })
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map(|x| format!("{x:.prec$}"))
        .unwrap_or_else(|| "n/a".into())
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 && a.is_finite() => format!("{:.2}", a / b),
        _ => "n/a".into(),
    }
}

impl Report {
    /// The report as Markdown (tables and notes, no top-level heading).
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let c = &self.config;
        let _ = writeln!(s, "Machine: {}.", self.machine);
        let _ = writeln!(
            s,
            "Each cell: {} repetitions of {:.1} s (or {} fetches per client), medians; servers interleaved within each repetition. Servers: {}.",
            c.runs,
            c.bounds.duration.as_secs_f64(),
            c.bounds.max_fetches,
            self.servers
                .iter()
                .map(|(n, a)| format!("{n} on {a}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(size) = self.rendered_size {
            let _ = writeln!(
                s,
                "Files: 1 MiB image; static per-phone configs of {} bytes; rendered SIP<MAC>.cnf / SEP<MAC>.cnf.xml of {size} bytes on average (phoneflip renders each request from an in-memory SQLite inventory of {} phones; the peers serve the same bytes from the root).",
                fleet::STATIC_LEN,
                self.config.clients.iter().max().copied().unwrap_or(1)
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "\n**{n}**");
        }
        let _ = writeln!(
            s,
            "\nStalled = fetches that needed a retransmission (took 0.9 s or more with the clients' 1-s timeout). KiB/transfer = (peak resident memory of the server's process tree in the cell - its resident memory when idle after a warm-up that fetched the image and every static file once) / clients, an upper bound of what each concurrent transfer costs besides the shared file cache. The ratio columns compare phoneflip with the peer of the same row, same log setting.\n"
        );
        let _ = writeln!(
            s,
            "| scenario | sources | clients | server | log | files/s | MiB/s | server CPU s | CPU ms/file | peak RSS MiB | KiB/transfer | failed | stalled | phoneflip/peer files/s | phoneflip/peer CPU per file |"
        );
        let _ = writeln!(
            s,
            "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for cell in &self.cells {
            let pf = self.cells.iter().find(|x| {
                x.scenario == cell.scenario
                    && x.sources == cell.sources
                    && x.clients == cell.clients
                    && x.logging == cell.logging
                    && x.server == "phoneflip"
            });
            let (r_files, r_cpu) = match pf {
                Some(pf) if cell.server != "phoneflip" => (
                    ratio(Some(pf.files_per_sec()), Some(cell.files_per_sec())),
                    ratio(pf.cpu_ms_per_file(), cell.cpu_ms_per_file()),
                ),
                _ => ("-".into(), "-".into()),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {:.1} | {:.2} | {} | {} | {} | {} | {} | {} | {} | {} |",
                cell.scenario.label(),
                cell.sources.key(),
                cell.clients,
                cell.server,
                if cell.logging { "on" } else { "off" },
                cell.files_per_sec(),
                cell.mib_per_sec(),
                opt(cell.cpu_secs(), 2),
                opt(cell.cpu_ms_per_file(), 3),
                opt(cell.peak_rss_mib(), 1),
                opt(cell.kib_per_transfer(), 1),
                cell.failed(),
                cell.stalls(),
                r_files,
                r_cpu
            );
        }
        let errors: Vec<_> = self
            .cells
            .iter()
            .filter_map(|c| {
                c.first_error.as_ref().map(|e| {
                    format!(
                        "- {} / {} / {} clients / {} (log {}): {e}",
                        c.scenario.label(),
                        c.sources.key(),
                        c.clients,
                        c.server,
                        if c.logging { "on" } else { "off" }
                    )
                })
            })
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(s, "\nFirst failure per cell:\n");
            for e in errors {
                let _ = writeln!(s, "{e}");
            }
        }
        if !self.ceiling.is_empty() {
            let _ = writeln!(
                s,
                "\nLoopback UDP request/response ceiling (same client harness; a blocking echo thread answers each 4-byte request with 516 bytes):\n"
            );
            let _ = writeln!(
                s,
                "| clients | pairs/s | as MiB/s of 512-byte blocks | as 1 MiB files/s at 512-byte blocks |"
            );
            let _ = writeln!(s, "|---:|---:|---:|---:|");
            for c in &self.ceiling {
                let _ = writeln!(
                    s,
                    "| {} | {:.0} | {:.1} | {:.2} |",
                    c.clients,
                    c.pairs_per_sec,
                    c.pairs_per_sec * 512.0 / 1048576.0,
                    c.pairs_per_sec / 2049.0
                );
            }
        }
        s
    }
}

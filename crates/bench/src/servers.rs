//! Starting the servers under test on loopback, each in its own process
//! where possible so CPU and memory are measured the same way for all.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use phoneflip_tftp::client::{fetch, FetchOptions};
use phoneflip_tftp::{Server, ServerConfig, TransferLog};

use crate::{fleet, BenchError};

/// Concurrent transfers allowed by every server, so none of them queues
/// a boot storm of 512 clients behind its default cap (dnsmasq's is 50,
/// phoneflip's image cap is 250).
pub const TRANSFER_CAP: usize = 4096;

/// How the harness runs phoneflip's server.
#[derive(Debug, Clone)]
pub enum PhoneflipLaunch {
    /// Run `program args... --root ROOT --phones N` (it must call
    /// [`server_child_main`]): measured like the peers.
    Exec { program: PathBuf, args: Vec<String> },
    /// A thread of the harness process: no separate CPU/memory figures.
    /// For the harness's own test.
    InProcess,
}

pub struct Running {
    pub name: &'static str,
    /// Whether this instance writes a transfer log (to a file for
    /// phoneflip and dnsmasq; syslog for tftpd-hpa, which has no file
    /// option).
    pub logging: bool,
    pub addr: SocketAddr,
    /// The server process (not perf); None for an in-process server.
    pub pid: Option<u32>,
    /// `perf stat -I` output counting the server and every process it
    /// forks; None when measured from /proc.
    perf_log: Option<PathBuf>,
    child: Option<Child>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// CPU seconds used so far by the server and its children. Through
    /// perf when available: tftpd-hpa forks a child per transfer and lets
    /// the kernel reap it (SIGCHLD ignored), so /proc's cutime never sees
    /// their time.
    pub fn cpu_secs(&self) -> Option<f64> {
        match &self.perf_log {
            Some(log) => Some(crate::procstat::perf_task_clock_secs(log)),
            None => self.pid.and_then(crate::procstat::cpu_secs),
        }
    }

    /// How the CPU column is measured.
    pub fn cpu_method(&self) -> &'static str {
        match (&self.perf_log, self.pid) {
            (Some(_), _) => "perf stat task-clock (process and forked children)",
            (None, Some(_)) => "/proc utime+stime+cutime+cstime",
            (None, None) => "not measured (in-process)",
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.perf_log.is_some() {
            // perf exits once its workload has: stop the server first.
            if let Some(pid) = self.pid {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
            if let Some(c) = self.child.as_mut() {
                for _ in 0..50 {
                    if matches!(c.try_wait(), Ok(Some(_))) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Wraps `program args` in `perf stat` when perf works here, so CPU is
/// counted for the server and all it forks, the same way for every server.
pub struct Meter {
    perf: Option<PathBuf>,
    dir: PathBuf,
}

impl Meter {
    /// Probes perf once (it may be installed but not allowed).
    pub fn new(dir: &Path) -> Meter {
        let perf = find_binary("perf").filter(|perf| {
            Command::new(perf)
                .args(["stat", "-e", "task-clock", "-x", ",", "--", "true"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        });
        Meter {
            perf,
            dir: dir.to_path_buf(),
        }
    }

    pub fn uses_perf(&self) -> bool {
        self.perf.is_some()
    }

    fn command(&self, name: &str, program: &Path, args: &[String]) -> (Command, Option<PathBuf>) {
        match &self.perf {
            Some(perf) => {
                let log = self.dir.join(format!("{name}.perf"));
                let mut c = Command::new(perf);
                c.args(["stat", "-e", "task-clock", "-I", "100", "-x", ",", "-o"])
                    .arg(&log)
                    .arg("--")
                    .arg(program)
                    .args(args);
                (c, Some(log))
            }
            None => {
                let mut c = Command::new(program);
                c.args(args);
                (c, None)
            }
        }
    }
}

/// The server's pid: perf's child when wrapped, else the child itself.
fn server_pid(child: &Child, wrapped: bool) -> Option<u32> {
    if !wrapped {
        return Some(child.id());
    }
    for _ in 0..100 {
        let path = format!("/proc/{0}/task/{0}/children", child.id());
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse().ok()))
        {
            return Some(pid);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn server_config(root: &Path, bind: SocketAddr) -> ServerConfig {
    let mut cfg = ServerConfig::new(bind, root);
    cfg.max_transfers = TRANSFER_CAP;
    cfg.max_image_transfers = TRANSFER_CAP;
    cfg
}

async fn bind_phoneflip(
    root: &Path,
    phones: usize,
    log: Option<&Path>,
) -> Result<Server, BenchError> {
    let prov = Arc::new(fleet::provisioner(root, phones)?);
    let log = match log {
        Some(p) => TransferLog::file(p).map_err(|e| BenchError::Setup {
            what: format!("phoneflip transfer log {}", p.display()),
            reason: e.to_string(),
        })?,
        None => TransferLog::none(),
    };
    Server::bind(
        server_config(root, "127.0.0.1:0".parse().expect("address")),
        prov,
        Arc::new(()),
        log,
    )
    .await
    .map_err(|e| BenchError::Setup {
        what: "phoneflip TFTP server on 127.0.0.1".into(),
        reason: e.to_string(),
    })
}

/// Body of the phoneflip server process: phoneflip's TFTP server with the
/// provisioning pipeline over an in-memory inventory of `phones` phones,
/// on an ephemeral loopback port printed as `READY <addr>` on standard
/// output, appending its transfer log to `log` when given (as `serve
/// --log` does); it stops when standard input closes (the harness exited).
pub fn server_child_main(root: &Path, phones: usize, log: Option<&Path>) -> Result<(), BenchError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| BenchError::Setup {
            what: "tokio runtime".into(),
            reason: e.to_string(),
        })?;
    rt.block_on(async {
        let server = bind_phoneflip(root, phones, log).await?;
        let addr = server.local_addr().map_err(|e| BenchError::Setup {
            what: "phoneflip server address".into(),
            reason: e.to_string(),
        })?;
        println!("READY {addr}");
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        });
        server
            .run(async {
                let _ = stdin_closed.await;
            })
            .await
            .map_err(|e| BenchError::Setup {
                what: "phoneflip server".into(),
                reason: e.to_string(),
            })
    })
}

/// phoneflip's server; with `log`, its transfer log goes to that file.
pub fn start_phoneflip(
    launch: &PhoneflipLaunch,
    root: &Path,
    phones: usize,
    meter: &Meter,
    log: Option<&Path>,
) -> Result<Running, BenchError> {
    let logging = log.is_some();
    match launch {
        PhoneflipLaunch::Exec { program, args } => {
            let mut args = args.clone();
            args.extend([
                "--root".into(),
                root.display().to_string(),
                "--phones".into(),
                phones.to_string(),
            ]);
            if let Some(log) = log {
                args.extend(["--log".into(), log.display().to_string()]);
            }
            let perf_name = if logging {
                "phoneflip-log"
            } else {
                "phoneflip"
            };
            let (mut cmd, perf_log) = meter.command(perf_name, program, &args);
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| BenchError::Setup {
                    what: format!("starting {}", program.display()),
                    reason: e.to_string(),
                })?;
            let mut line = String::new();
            let stdout = child.stdout.take().expect("piped stdout");
            let _ = BufReader::new(stdout).read_line(&mut line);
            let addr = line
                .strip_prefix("READY ")
                .and_then(|a| a.trim().parse().ok())
                .ok_or_else(|| BenchError::Setup {
                    what: format!("phoneflip server process {}", program.display()),
                    reason: format!("expected `READY <addr>` on its output, got {line:?}"),
                })?;
            Ok(Running {
                name: "phoneflip",
                logging,
                addr,
                pid: server_pid(&child, perf_log.is_some()),
                perf_log,
                child: Some(child),
                stop: None,
                thread: None,
            })
        }
        PhoneflipLaunch::InProcess => {
            let (addr_tx, addr_rx) = std::sync::mpsc::channel();
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let root = root.to_path_buf();
            let log = log.map(Path::to_path_buf);
            let thread = std::thread::spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = addr_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                rt.block_on(async move {
                    match bind_phoneflip(&root, phones, log.as_deref()).await {
                        Ok(server) => {
                            let _ = addr_tx.send(server.local_addr().map_err(|e| e.to_string()));
                            let _ = server
                                .run(async {
                                    let _ = stop_rx.await;
                                })
                                .await;
                        }
                        Err(e) => {
                            let _ = addr_tx.send(Err(e.to_string()));
                        }
                    }
                });
            });
            let addr = addr_rx
                .recv()
                .map_err(|e| e.to_string())
                .and_then(|r| r)
                .map_err(|reason| BenchError::Setup {
                    what: "in-process phoneflip server".into(),
                    reason,
                })?;
            Ok(Running {
                name: "phoneflip",
                logging,
                addr,
                pid: None,
                perf_log: None,
                child: None,
                stop: Some(stop_tx),
                thread: Some(thread),
            })
        }
    }
}

/// A binary on PATH or in /usr/sbin (not always on a user's PATH).
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/sbin".into());
    dirs.push("/sbin".into());
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn free_port(ip: &str) -> Result<u16, BenchError> {
    UdpSocket::bind((ip, 0))
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .map_err(|e| BenchError::Setup {
            what: format!("a free UDP port on {ip}"),
            reason: e.to_string(),
        })
}

fn spawn_quiet(
    meter: &Meter,
    name: &str,
    program: &Path,
    args: &[String],
) -> Result<(Child, Option<PathBuf>), BenchError> {
    let (mut cmd, log) = meter.command(name, program, args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BenchError::Setup {
            what: format!("starting {}", program.display()),
            reason: e.to_string(),
        })
        .map(|c| (c, log))
}

/// tftpd-hpa in the foreground on an ephemeral loopback port, chrooted to
/// the root (`--secure`), as `nobody`. With `log` it runs `--verbose`: it
/// can only log to syslog, so the file itself is not used.
pub fn start_tftpd_hpa(
    bin: &Path,
    root: &Path,
    meter: &Meter,
    log: Option<&Path>,
) -> Result<Running, BenchError> {
    let port = free_port("127.0.0.1")?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    let mut args: Vec<String> = vec![
        "--foreground".into(),
        "--address".into(),
        addr.to_string(),
        "--user".into(),
        "nobody".into(),
        "--secure".into(),
    ];
    if log.is_some() {
        args.push("--verbose".into());
    }
    args.push(root.display().to_string());
    let perf_name = if log.is_some() {
        "tftpd-hpa-log"
    } else {
        "tftpd-hpa"
    };
    let (child, perf_log) = spawn_quiet(meter, perf_name, bin, &args)?;
    Ok(Running {
        name: "tftpd-hpa",
        logging: log.is_some(),
        addr,
        pid: server_pid(&child, perf_log.is_some()),
        perf_log,
        child: Some(child),
        stop: None,
        thread: None,
    })
}

/// dnsmasq 2.90 serves TFTP on port 69 only (no option moves it), so it
/// gets a loopback address of its own when 127.0.0.1:69 is taken. With
/// `log` it logs every transfer to that file (`--log-facility`), like
/// phoneflip's `--log`; without, `--quiet-tftp`.
pub fn start_dnsmasq(
    bin: &Path,
    root: &Path,
    meter: &Meter,
    log: Option<&Path>,
) -> Result<Running, BenchError> {
    let ip = (1..=40)
        .map(|i| format!("127.0.0.{i}"))
        .find(|ip| UdpSocket::bind((ip.as_str(), 69)).is_ok())
        .ok_or_else(|| BenchError::Setup {
            what: "dnsmasq".into(),
            reason: "UDP port 69 is taken on 127.0.0.1..127.0.0.40 (or we may not bind below 1024: run as root)".into(),
        })?;
    let mut args: Vec<String> = vec![
        "--keep-in-foreground".into(),
        "--conf-file=/dev/null".into(),
        "--port=0".into(),
        "--enable-tftp".into(),
        format!("--tftp-root={}", root.display()),
        format!("--listen-address={ip}"),
        "--bind-interfaces".into(),
        format!("--tftp-max={TRANSFER_CAP}"),
        "--pid-file=".into(),
        "--user=nobody".into(),
    ];
    match log {
        Some(log) => args.push(format!("--log-facility={}", log.display())),
        None => args.push("--quiet-tftp".into()),
    }
    let perf_name = if log.is_some() {
        "dnsmasq-log"
    } else {
        "dnsmasq"
    };
    let (child, perf_log) = spawn_quiet(meter, perf_name, bin, &args)?;
    Ok(Running {
        name: "dnsmasq",
        logging: log.is_some(),
        addr: format!("{ip}:69").parse().expect("address"),
        pid: server_pid(&child, perf_log.is_some()),
        perf_log,
        child: Some(child),
        stop: None,
        thread: None,
    })
}

/// Waits until `server` serves `probe` correctly (up to 5 s).
pub async fn wait_ready(server: &mut Running, probe: &str, want: &[u8]) -> Result<(), BenchError> {
    let opts = FetchOptions {
        timeout: Duration::from_millis(200),
        max_retries: 1,
        ..FetchOptions::default()
    };
    let mut last = String::from("no answer");
    for _ in 0..25 {
        if let Some(c) = server.child.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = c.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                return Err(BenchError::Setup {
                    what: server.name.into(),
                    reason: format!("exited with {status}: {}", err.trim()),
                });
            }
        }
        match fetch(
            server.addr,
            "127.0.0.1:0".parse().expect("address"),
            probe,
            &opts,
        )
        .await
        {
            Ok(d) if d == want => return Ok(()),
            Ok(d) => {
                last = format!(
                    "{probe} came back with {} bytes, not {}",
                    d.len(),
                    want.len()
                )
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(BenchError::Setup {
        what: format!("{} on {}", server.name, server.addr),
        reason: last,
    })
}

//! `phoneflip bench tftp`: phoneflip's TFTP server against tftpd-hpa and
//! dnsmasq on loopback, same run, same client (`phoneflip-bench`).
//!
//! phoneflip's server runs as a child process of this same binary (the
//! hidden `bench tftp-server`), so its CPU and memory are read from /proc
//! exactly like the peers'.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use phoneflip_bench::{Config, PhoneflipLaunch, Scenario, Sources};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand)]
pub enum What {
    /// Files/s, MiB/s, server CPU and memory for 1, 64 and 512 concurrent
    /// clients fetching a 1 MiB image (512-byte blocks; blksize 1428) and
    /// per-phone config files (static; rendered), plus the loopback UDP
    /// ceiling. Prints a Markdown report. Run as root for the peers
    /// (dnsmasq serves TFTP on port 69 only).
    Tftp(TftpArgs),
    /// The phoneflip server process the benchmark measures (internal).
    #[command(hide = true)]
    TftpServer {
        #[arg(long)]
        root: PathBuf,
        #[arg(long)]
        phones: usize,
        #[arg(long)]
        log: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
pub struct TftpArgs {
    /// 1-second cells and 3 repetitions instead of 3 s and 5.
    #[arg(long)]
    pub quick: bool,
    /// Also write the report to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Concurrent clients, comma-separated.
    #[arg(long, value_name = "N,N,...", value_delimiter = ',')]
    pub clients: Option<Vec<usize>>,
    /// Seconds per cell (overrides --quick's and the default).
    #[arg(long, value_name = "SECS")]
    pub secs: Option<f64>,
    /// Repetitions per cell; the report shows medians.
    #[arg(long, value_name = "N")]
    pub runs: Option<usize>,
    /// Most fetches per client per cell.
    #[arg(long, value_name = "N")]
    pub max_fetches: Option<u64>,
    /// Only these scenarios: image512, image1428, static, rendered.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub only: Option<Vec<String>>,
    /// phoneflip only: do not start tftpd-hpa and dnsmasq.
    #[arg(long)]
    pub no_peers: bool,
    /// Client source shapes: `many` (one loopback address per client, a
    /// boot storm), `one` (all from 127.0.0.1) [default: many,one].
    #[arg(long, value_name = "many|one,...", value_delimiter = ',')]
    pub sources: Option<Vec<String>>,
    /// Transfer log: `on` (to a file, as in production), `off`, or `both`
    /// (every server twice) [default: on].
    #[arg(long, value_name = "on|off|both")]
    pub log: Option<String>,
}

pub fn run(args: Args) -> Result<()> {
    match args.what {
        What::TftpServer { root, phones, log } => {
            phoneflip_bench::server_child_main(&root, phones, log.as_deref())?;
            Ok(())
        }
        What::Tftp(a) => tftp(a),
    }
}

fn tftp(a: TftpArgs) -> Result<()> {
    let launch = PhoneflipLaunch::Exec {
        program: std::env::current_exe().context("locating the phoneflip binary")?,
        args: vec!["bench".into(), "tftp-server".into()],
    };
    let mut config = if a.quick {
        Config::quick(launch)
    } else {
        Config::full(launch)
    };
    if let Some(c) = a.clients {
        if c.is_empty() || c.iter().any(|&n| n == 0 || n > 2000) {
            bail!("--clients takes counts from 1 to 2000, e.g. --clients 1,64,512");
        }
        config.clients = c;
    }
    if let Some(s) = a.secs {
        if !(0.1..=600.0).contains(&s) {
            bail!("--secs must be between 0.1 and 600 (got {s})");
        }
        config.bounds.duration = Duration::from_secs_f64(s);
    }
    if let Some(r) = a.runs {
        config.runs = r.clamp(1, 100);
    }
    if let Some(m) = a.max_fetches {
        config.bounds.max_fetches = m.max(1);
    }
    config.peers = !a.no_peers;
    if let Some(shapes) = a.sources {
        let mut picked = Vec::new();
        for name in &shapes {
            match [Sources::Many, Sources::One]
                .into_iter()
                .find(|s| s.key() == name.as_str())
            {
                Some(s) => picked.push(s),
                None => bail!("--sources: unknown shape {name:?}; use many, one or many,one"),
            }
        }
        config.sources = picked;
    }
    if let Some(log) = a.log {
        config.logging = match log.as_str() {
            "on" => vec![true],
            "off" => vec![false],
            "both" => vec![false, true],
            other => bail!("--log: {other:?} is not on, off or both"),
        };
    }
    if let Some(only) = a.only {
        let mut picked = Vec::new();
        for name in &only {
            match Scenario::ALL.iter().find(|s| s.key() == name.as_str()) {
                Some(s) => picked.push(*s),
                None => bail!(
                    "--only: unknown scenario {name:?}; use image512, image1428, static or rendered"
                ),
            }
        }
        config.scenarios = picked;
    }
    if cfg!(debug_assertions) {
        eprintln!("phoneflip bench: WARNING: this is a debug build; build with --release for meaningful numbers");
    }
    let report = phoneflip_bench::run(&config, &mut |line| eprintln!("phoneflip bench: {line}"))?;
    let md = report.markdown();
    print!("{md}");
    if let Some(out) = a.out {
        std::fs::write(&out, &md).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

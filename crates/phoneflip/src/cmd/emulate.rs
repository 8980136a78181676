//! `phoneflip emulate`: boot one emulated 7940/7960 against a TFTP server
//! and show what it asked for, what it showed and where it ended up; with
//! `--stay`, keep it up afterwards answering SIP on its own address, so a
//! server's check-sync NOTIFY can reset it like a real phone.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use phoneflip_device::{Mac, Model};
use phoneflip_emulator::driver::{self, DriveOptions, LiveStatus, SipOptions, TftpFetcher};
use phoneflip_emulator::{Flash, Outcome, Phone, PhoneConfig, Report, TftpSetting};
use phoneflip_firmware::Release;

#[derive(clap::Args)]
pub struct Args {
    /// The TFTP server, HOST:PORT (the phone's alternate TFTP server).
    #[arg(long)]
    pub tftp: String,
    #[arg(long)]
    pub mac: Mac,
    /// 7940 or 7960.
    #[arg(long, default_value = "7960")]
    pub model: Model,
    /// The load the phone runs before it boots, e.g. sccp:3.3, sip:8.12.
    #[arg(long)]
    pub load: Release,
    /// The phone's own address.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Really wait the phone's pauses (20 s application start, 30 s
    /// config retries) instead of only counting them.
    #[arg(long)]
    pub real_time: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// After booting, stay up until Ctrl-C: a phone on a SIP load listens
    /// for SIP on its own address (--bind) and takes check-sync NOTIFYs
    /// (fetches syncinfo.xml, reboots when the SYNC differs).
    #[arg(long)]
    pub stay: bool,
    /// The UDP port the phone's SIP stack listens on with --stay (its
    /// voip_control_port).
    #[arg(long, default_value_t = 5060, requires = "stay")]
    pub sip_port: u16,
}

pub fn resolve(tftp: &str) -> Result<SocketAddr> {
    tftp.to_socket_addrs()
        .with_context(|| format!("--tftp {tftp:?}: write HOST:PORT, e.g. 127.0.0.1:69"))?
        .next()
        .ok_or_else(|| anyhow!("--tftp {tftp:?} resolves to no address"))
}

pub fn run(args: Args) -> Result<()> {
    let server = resolve(&args.tftp)?;
    let phone = Phone::new(
        PhoneConfig {
            mac: args.mac,
            model: args.model,
            tftp: TftpSetting::Manual(server),
        },
        Flash::with_load(args.load.protocol, args.load.version),
    );
    let opts = DriveOptions {
        local: args.bind,
        time_scale: if args.real_time { 1.0 } else { 0.0 },
        ..DriveOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let started = Instant::now();
    let report = if args.stay {
        let live = rt.block_on(stay(phone, &opts, args.sip_port))?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&live)?);
        } else {
            for e in &live.sip {
                let answer = e.answered.map(|s| s.to_string()).unwrap_or("-".into());
                println!(
                    "sip from {} at {} ms: {:?} -> {answer}",
                    e.from, e.at_ms, e.heard
                );
            }
        }
        live.boot
    } else {
        rt.block_on(driver::boot(phone, &TftpFetcher::default(), &opts))
    };
    let wall = started.elapsed();
    if args.json && !args.stay {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if !args.json {
        print_report(&args, server, &report, wall);
    }
    match report.outcome {
        Outcome::Stable(_) => Ok(()),
        Outcome::Failed(f) => bail!("the phone ended on \"{}\": {f}", f.display()),
        Outcome::Unfinished => bail!("the phone did not settle"),
    }
}

fn print_report(args: &Args, server: SocketAddr, report: &Report, wall: std::time::Duration) {
    println!(
        "phone {} ({}) from {} on {} via TFTP {}",
        args.mac, args.model, args.bind, args.load.protocol, server
    );
    for e in &report.transcript {
        println!("{e}");
    }
    println!(
        "final: {}; {} reboot(s), {} bytes, {:.1} s emulated, {:.2} s wall",
        report.outcome.key(),
        report.reboots,
        report.bytes,
        report.emulated_ms as f64 / 1000.0,
        wall.as_secs_f64()
    );
    if let Some(app) = &report.flash.app {
        println!("flash: {} ({} {})", app.name, app.protocol, app.version);
    }
}

/// Keeps the phone up until Ctrl-C, saying each time it is (again)
/// listening for SIP.
async fn stay(phone: Phone, opts: &DriveOptions, sip_port: u16) -> Result<driver::LiveReport> {
    let (tx, mut rx) = tokio::sync::watch::channel(LiveStatus::default());
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let sip = SipOptions { port: sip_port };
    let fetcher = TftpFetcher::default();
    let live = driver::live(phone, &fetcher, opts, &sip, stop, &tx);
    let announce = async {
        let mut said = None;
        while rx.changed().await.is_ok() {
            let s = rx.borrow_and_update().clone();
            let now = s.listening.map(|a| (a, s.check_syncs, s.reboots));
            if now.is_some() && now != said {
                let on = s.outcome.as_ref().map(Outcome::key).unwrap_or_default();
                println!(
                    "listening for SIP on {} ({on}; {} check-sync(s), {} reboot(s)); Ctrl-C to stop",
                    s.listening.unwrap_or(SocketAddr::new(opts.local, sip_port)),
                    s.check_syncs,
                    s.reboots
                );
                said = now;
            }
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        r = live => Ok(r?),
        _ = announce => Err(anyhow!("the emulated phone's status channel closed")),
    }
}

//! `phoneflip serve`: the TFTP server the phones boot from.
//!
//! Standalone for now (files under `--root`); the inventory-backed
//! per-phone files plug in through `phoneflip_tftp::FileSource` and the
//! transfer records leave through `phoneflip_tftp::EventSink`, both passed
//! to `Server::bind` below.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use phoneflip_tftp::{NoVirtualFiles, Server, ServerConfig, TransferLog};

#[derive(clap::Args)]
pub struct Args {
    /// TFTP root: firmware images and configuration files the phones fetch.
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// Address and UDP port for TFTP (port 69 needs root or
    /// CAP_NET_BIND_SERVICE).
    #[arg(long, value_name = "ADDR:PORT", default_value = "0.0.0.0:69")]
    pub tftp: SocketAddr,
    /// Append the transfer log here instead of standard error.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Concurrent transfers; requests beyond are dropped and the phones
    /// retry. Keep it above the number of phones that boot at once.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_transfers: usize,
    /// Concurrent firmware image downloads (.bin .sbn .loads .sb2 .sbin .zip).
    #[arg(long, value_name = "N", default_value_t = 250)]
    pub max_image_transfers: usize,
    /// Per-client rate limit in bytes per second (default: unlimited).
    #[arg(long, value_name = "BYTES_PER_S")]
    pub client_rate: Option<u64>,
    /// Accept uploads (WRQ) into this folder; read-only without it.
    #[arg(long, value_name = "DIR")]
    pub upload_dir: Option<PathBuf>,
    /// Retransmission timeout in milliseconds when the client sets none.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub timeout_ms: u64,
    /// Create a demo root in DIR when it is empty or missing (synthetic
    /// files with real names; the image is NOT firmware).
    #[arg(long)]
    pub demo: bool,
}

pub fn run(args: Args) -> Result<()> {
    if args.demo {
        create_demo_root(&args.root)?;
    }
    if !args.root.is_dir() {
        bail!(
            "TFTP root {} is not a directory: create it and put the phones' files in it, or pass --demo for a demo root",
            args.root.display()
        );
    }
    let log = match &args.log {
        Some(p) => TransferLog::file(p)?,
        None => TransferLog::stderr(),
    };
    let mut cfg = ServerConfig::new(args.tftp, &args.root);
    cfg.max_transfers = args.max_transfers.max(1);
    cfg.max_image_transfers = args.max_image_transfers.max(1);
    cfg.client_rate = args.client_rate;
    cfg.upload_dir = args.upload_dir.clone();
    cfg.limits.default_timeout = Duration::from_millis(args.timeout_ms.clamp(10, 255_000));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    rt.block_on(async move {
        let server = Server::bind(cfg, Arc::new(NoVirtualFiles), Arc::new(()), log)
            .await
            .with_context(|| {
                if args.tftp.port() < 1024 {
                    format!(
                        "ports below 1024 need root or CAP_NET_BIND_SERVICE; try --tftp {}:6969",
                        args.tftp.ip()
                    )
                } else {
                    format!("is another TFTP server already using {}?", args.tftp)
                }
            })?;
        let addr = server.local_addr()?;
        eprintln!(
            "phoneflip: serving TFTP from {} on {addr} (up to {} transfers{}); Ctrl-C stops after transfers in flight",
            server.root().display(),
            args.max_transfers,
            if args.upload_dir.is_some() { ", uploads enabled" } else { ", read-only" },
        );
        server.run(shutdown_signal()).await?;
        eprintln!("phoneflip: TFTP server stopped");
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Files with the names a SIP 8.12 conversion uses, so the server can be
/// tried on a fresh machine. The image is a marked placeholder: real
/// phones must get Cisco's files unchanged (domain-facts.md).
fn create_demo_root(root: &Path) -> Result<()> {
    if root.is_dir()
        && std::fs::read_dir(root)
            .with_context(|| format!("reading {}", root.display()))?
            .next()
            .is_some()
    {
        eprintln!(
            "phoneflip: {} is not empty; --demo leaves it as it is",
            root.display()
        );
        return Ok(());
    }
    std::fs::create_dir_all(root)
        .with_context(|| format!("creating demo root {}", root.display()))?;
    let mut image =
        b"PHONEFLIP DEMO FILE - NOT A FIRMWARE IMAGE - DO NOT SERVE TO REAL PHONES\n".to_vec();
    image.resize(64 * 1024, 0);
    let files: [(&str, &[u8]); 5] = [
        ("OS79XX.TXT", b"P003-8-12-00"),
        (
            "SIPDefault.cnf",
            b"# phoneflip demo\nimage_version: P0S3-8-12-00\nproxy1_address: 192.0.2.10\nproxy1_port: 5060\n",
        ),
        (
            "SIP002094D245CB.cnf",
            b"# phoneflip demo\nimage_version: P0S3-8-12-00\nline1_name: 1001\nline1_displayname: \"Demo phone\"\n",
        ),
        (
            "SEP002094D245CB.cnf.xml",
            b"<device><deviceProtocol>SIP</deviceProtocol><loadInformation model=\"IP Phone 7960\">P0S3-8-12-00</loadInformation></device>\n",
        ),
        ("P0S3-8-12-00.loads", &image),
    ];
    for (name, data) in files {
        let p = root.join(name);
        std::fs::write(&p, data).with_context(|| format!("writing {}", p.display()))?;
    }
    eprintln!(
        "phoneflip: created a demo TFTP root in {} (P0S3-8-12-00.loads is a 64 KiB placeholder, not firmware)",
        root.display()
    );
    Ok(())
}

//! `phoneflip serve`: the main job. TFTP with per-phone files rendered
//! from the inventory, the HTTP API and live dashboard, and the bulk
//! migration job runner, in one process on an embedded SQLite inventory.
//!
//! Settings come from flags, then environment variables (`PHONEFLIP_*`),
//! then a TOML file (`--config`), then defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use phoneflip_device::Model;
use phoneflip_firmware::Protocol;
use phoneflip_provision::{AutoRegister, AutoRegisterLimits};
use phoneflip_tftp::{ServerConfig, TransferLog};
use serde::Deserialize;

use crate::app::{self, AppConfig};

#[derive(clap::Args, Default)]
pub struct Args {
    /// TOML file with any of the settings below (keys as the long flags,
    /// with '_' for '-'); flags and environment variables win over it.
    #[arg(long, value_name = "FILE", env = "PHONEFLIP_CONFIG")]
    pub config: Option<PathBuf>,
    /// TFTP root: firmware images and static files the phones fetch.
    #[arg(long, value_name = "DIR", env = "PHONEFLIP_ROOT")]
    pub root: Option<PathBuf>,
    /// Address and UDP port for TFTP [default: 0.0.0.0:69; port 69 needs
    /// root or CAP_NET_BIND_SERVICE].
    #[arg(long, value_name = "ADDR:PORT", env = "PHONEFLIP_TFTP")]
    pub tftp: Option<SocketAddr>,
    /// Address and TCP port of the HTTP API and dashboard [default:
    /// 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR:PORT", env = "PHONEFLIP_HTTP")]
    pub http: Option<SocketAddr>,
    /// Run TFTP only, without the HTTP API and dashboard.
    #[arg(long)]
    pub no_http: bool,
    /// Inventory and job database [default: phoneflip.db]: a SQLite file,
    /// or postgres://USER@HOST[:PORT]/DB, which several serve nodes share
    /// (each job then runs on one node at a time).
    #[arg(long, value_name = "PATH|URL", env = "PHONEFLIP_DB")]
    pub db: Option<crate::db::Db>,
    /// With a PostgreSQL --db: seconds a node holds a job without
    /// renewing it; a node that dies has its jobs taken over after this
    /// long [default: 45].
    #[arg(long, value_name = "SECONDS")]
    pub job_lease: Option<u64>,
    /// File holding the bearer token that API writes must carry (first
    /// line); without a token the API is read-only. PHONEFLIP_API_TOKEN
    /// gives the token itself.
    #[arg(long, value_name = "FILE", env = "PHONEFLIP_API_TOKEN_FILE")]
    pub api_token_file: Option<PathBuf>,
    /// Deprecated: the token on the command line is visible to every user
    /// in `ps`; use --api-token-file or PHONEFLIP_API_TOKEN.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "PHONEFLIP_API_TOKEN",
        hide_env_values = true,
        hide = true
    )]
    pub api_token: Option<String>,
    /// Auto-registration: an unknown phone that asks for its own file is
    /// added to the inventory and gets this protocol (sip or sccp), like
    /// CallManager's Auto Registration Phone Protocol. Off by default.
    #[arg(long, value_name = "PROTOCOL", env = "PHONEFLIP_AUTO_REGISTER")]
    pub auto_register: Option<Protocol>,
    /// Template given to auto-registered phones.
    #[arg(long, value_name = "NAME")]
    pub auto_register_template: Option<String>,
    /// Model assumed for auto-registered phones [default: 7960].
    #[arg(long, value_name = "MODEL")]
    pub auto_register_model: Option<Model>,
    /// New phones one source address may auto-register per hour; a TFTP
    /// request is an unauthenticated datagram, so this bounds spoofed
    /// MACs; 0: no limit [default: 2].
    #[arg(long, value_name = "N")]
    pub auto_register_per_source: Option<u32>,
    /// New phones all sources together may auto-register per hour; 0: no
    /// limit [default: 500].
    #[arg(long, value_name = "N")]
    pub auto_register_total: Option<u32>,
    /// Append the transfer log (the reference's format) here instead of
    /// standard error.
    #[arg(long, value_name = "FILE", env = "PHONEFLIP_LOG")]
    pub log: Option<PathBuf>,
    /// Concurrent transfers; requests beyond are dropped and the phones
    /// retry. Keep it above the number of phones that boot at once
    /// [default: 1000].
    #[arg(long, value_name = "N")]
    pub max_transfers: Option<usize>,
    /// Concurrent firmware image downloads (.bin .sbn .loads .sb2 .sbin
    /// .zip) [default: 250].
    #[arg(long, value_name = "N")]
    pub max_image_transfers: Option<usize>,
    /// Per-client rate limit in bytes per second [default: unlimited].
    #[arg(long, value_name = "BYTES_PER_S")]
    pub client_rate: Option<u64>,
    /// Accept uploads (WRQ) into this folder; read-only without it.
    #[arg(long, value_name = "DIR")]
    pub upload_dir: Option<PathBuf>,
    /// Retransmission timeout in milliseconds when the client sets none
    /// [default: 1000].
    #[arg(long, value_name = "MS")]
    pub timeout_ms: Option<u64>,
    /// Retransmissions of one packet before a transfer is abandoned; the
    /// timer doubles each time up to 32 s, so 6 waits 63 s as tftpd-hpa
    /// does [default: 6].
    #[arg(long, value_name = "N")]
    pub tftp_retries: Option<u32>,
    /// Longest a single transfer may take, in seconds, however it
    /// progresses [default: 1800].
    #[arg(long, value_name = "S")]
    pub transfer_deadline: Option<u64>,
    /// Delete TFTP events older than this many days (checked every
    /// minute); 0 keeps them for ever [default: 30].
    #[arg(long, value_name = "DAYS")]
    pub events_max_age_days: Option<u64>,
    /// Keep at most this many TFTP events, deleting the oldest (checked
    /// every minute; each read request adds one, about 150 bytes); 0: no
    /// limit [default: 500000].
    #[arg(long, value_name = "N")]
    pub events_max_count: Option<u64>,
    /// Seconds between two ticks of the bulk migration jobs [default: 1].
    #[arg(long, value_name = "S")]
    pub jobs_every: Option<u64>,
    /// UDP port the phones listen on for SIP (their voip_control_port),
    /// where jobs send check-sync NOTIFYs [default: 5060].
    #[arg(long, value_name = "PORT")]
    pub phone_sip_port: Option<u16>,
    /// The load phones run when the inventory does not say (the fleet's
    /// starting point, e.g. P0030801SR02 or sccp:8.1(2)SR2). Used only
    /// while a phone's requests fit it; without it, a phone of unknown load
    /// gets a file only when every load its requests fit plans the same.
    #[arg(long, value_name = "LOAD", env = "PHONEFLIP_ASSUME_CURRENT")]
    pub assume_current: Option<String>,
    /// Where jobs ask whether converted phones registered:
    /// `kamailio-rpc=ADDR:PORT` (Kamailio's jsonrpcs over xhttp, `ul.dump`).
    /// Without it, jobs send an OPTIONS to each line of the phone.
    #[arg(long, value_name = "KIND=ADDR:PORT", value_parser = parse_registrar, env = "PHONEFLIP_REGISTRAR")]
    pub registrar: Option<SocketAddr>,
    /// Create a demo: synthetic firmware in an empty root and a 20-phone
    /// fleet in an empty inventory (the images are NOT firmware).
    #[arg(long)]
    pub demo: bool,
}

/// TFTP events kept by default: about 75 MB of database, weeks of a
/// 5,000-phone fleet's ordinary boots, and a bound on a request flood.
const DEFAULT_EVENTS_MAX_COUNT: u64 = 500_000;

/// The TOML file: the same settings as the flags.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    root: Option<PathBuf>,
    tftp: Option<SocketAddr>,
    http: Option<SocketAddr>,
    no_http: Option<bool>,
    db: Option<String>,
    job_lease: Option<u64>,
    api_token: Option<String>,
    api_token_file: Option<PathBuf>,
    tftp_retries: Option<u32>,
    transfer_deadline: Option<u64>,
    events_max_age_days: Option<u64>,
    events_max_count: Option<u64>,
    auto_register: Option<Protocol>,
    auto_register_template: Option<String>,
    auto_register_model: Option<Model>,
    auto_register_per_source: Option<u32>,
    auto_register_total: Option<u32>,
    log: Option<PathBuf>,
    max_transfers: Option<usize>,
    max_image_transfers: Option<usize>,
    client_rate: Option<u64>,
    upload_dir: Option<PathBuf>,
    timeout_ms: Option<u64>,
    jobs_every: Option<u64>,
    phone_sip_port: Option<u16>,
    assume_current: Option<String>,
    registrar: Option<String>,
    demo: Option<bool>,
}

/// `kamailio-rpc=ADDR:PORT`, the one registrar adapter there is.
fn parse_registrar(s: &str) -> std::result::Result<SocketAddr, String> {
    let addr = s.strip_prefix("kamailio-rpc=").ok_or_else(|| {
        format!("registrar {s:?}: write kamailio-rpc=ADDR:PORT (Kamailio's JSON-RPC over HTTP)")
    })?;
    addr.parse().map_err(|e| {
        format!(
            "registrar {s:?}: {addr:?} is not ADDR:PORT ({e}); e.g. kamailio-rpc=127.0.0.1:5071"
        )
    })
}

fn read_config(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{}: not a valid phoneflip serve config (keys are the long flags of `phoneflip serve --help`, with '_' for '-')", path.display()))
}

pub fn run(args: Args) -> Result<()> {
    let file = match &args.config {
        Some(p) => read_config(p)?,
        None => FileConfig::default(),
    };
    let api_token = api_token(args.api_token, args.api_token_file, &file)?;
    let Some(root) = args.root.or(file.root) else {
        bail!("no TFTP root: pass --root DIR (or root = \"DIR\" in the config file); add --demo to create a demo root there");
    };
    let db = match (args.db, file.db) {
        (Some(d), _) => d,
        (None, Some(s)) => s
            .parse()
            .map_err(|e| anyhow::anyhow!("db = {s:?} in the config file: {e}"))?,
        (None, None) => crate::db::Db::Sqlite(PathBuf::from("phoneflip.db")),
    };
    let job_lease = Duration::from_secs(
        args.job_lease
            .or(file.job_lease)
            .unwrap_or(phoneflip_jobs::DEFAULT_LEASE.as_secs())
            .max(1),
    );
    // Only a SQLite file can be "created by this run" (and so removed
    // when the start-up fails).
    let created_db = !db.exists() && db.sqlite_path().is_some();
    if args.demo || file.demo.unwrap_or(false) {
        app::create_demo(&root, &db)?;
    }
    if !root.is_dir() {
        bail!(
            "TFTP root {} is not a directory: create it and put the phones' files in it, or pass --demo for a demo root",
            root.display()
        );
    }
    let log_path = args.log.or(file.log);
    let log = match &log_path {
        Some(p) => TransferLog::file(p)
            .with_context(|| format!("opening the transfer log {}", p.display()))?,
        None => TransferLog::stderr(),
    };
    let tftp = args
        .tftp
        .or(file.tftp)
        .unwrap_or_else(|| "0.0.0.0:69".parse().expect("valid address"));
    let mut cfg = ServerConfig::new(tftp, &root);
    if let Some(n) = args.max_transfers.or(file.max_transfers) {
        cfg.max_transfers = n.max(1);
    }
    if let Some(n) = args.max_image_transfers.or(file.max_image_transfers) {
        cfg.max_image_transfers = n.max(1);
    }
    cfg.client_rate = args.client_rate.or(file.client_rate);
    cfg.upload_dir = args.upload_dir.or(file.upload_dir);
    if let Some(n) = args.tftp_retries.or(file.tftp_retries) {
        cfg.max_retries = n;
    }
    if let Some(s) = args.transfer_deadline.or(file.transfer_deadline) {
        cfg.transfer_deadline = Duration::from_secs(s.max(1));
    }
    let timeout_ms = args.timeout_ms.or(file.timeout_ms).unwrap_or(1000);
    cfg.limits.default_timeout = Duration::from_millis(timeout_ms.clamp(10, 255_000));
    let no_http = args.no_http || file.no_http.unwrap_or(false);
    let http = if no_http {
        None
    } else {
        Some(
            args.http
                .or(file.http)
                .unwrap_or_else(|| "127.0.0.1:8080".parse().expect("valid address")),
        )
    };
    let auto_register = args
        .auto_register
        .or(file.auto_register)
        .map(|protocol| AutoRegister {
            protocol,
            template: args
                .auto_register_template
                .clone()
                .or(file.auto_register_template.clone()),
            model: args
                .auto_register_model
                .or(file.auto_register_model)
                .unwrap_or(Model::Cp7960),
        });
    let defaults = AutoRegisterLimits::default();
    let auto_register_limits = AutoRegisterLimits {
        per_source: args
            .auto_register_per_source
            .or(file.auto_register_per_source)
            .unwrap_or(defaults.per_source),
        total: args
            .auto_register_total
            .or(file.auto_register_total)
            .unwrap_or(defaults.total),
        window: defaults.window,
    };
    let assume_current = match args.assume_current.or(file.assume_current) {
        None => None,
        Some(s) => Some(
            phoneflip_inventory::bulk::parse_desired_load(s.trim())
                .map_err(|e| anyhow::anyhow!("--assume-current {s:?}: {e}"))?,
        ),
    };
    let app_cfg = AppConfig {
        tftp: cfg,
        log,
        db,
        created_db,
        job_lease,
        http,
        api_token,
        auto_register,
        auto_register_limits,
        jobs_every: Duration::from_secs(args.jobs_every.or(file.jobs_every).unwrap_or(1).max(1)),
        phone_sip_port: args.phone_sip_port.or(file.phone_sip_port).unwrap_or(5060),
        assume_current,
        events_max_age: match args
            .events_max_age_days
            .or(file.events_max_age_days)
            .unwrap_or(30)
        {
            0 => None,
            d => Some(Duration::from_secs(d * 86_400)),
        },
        events_max_count: match args
            .events_max_count
            .or(file.events_max_count)
            .unwrap_or(DEFAULT_EVENTS_MAX_COUNT)
        {
            0 => None,
            n => Some(n),
        },
        prune_every: Duration::from_secs(60),
        registrar: match (args.registrar, &file.registrar) {
            (Some(a), _) => Some(a),
            (None, Some(s)) => Some(
                parse_registrar(s)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| {
                        format!(
                            "registrar in {}",
                            args.config
                                .as_deref()
                                .unwrap_or(Path::new("the config"))
                                .display()
                        )
                    })?,
            ),
            (None, None) => None,
        },
    };
    // One socket per transfer: make room for the transfer cap.
    let wanted = 2 * app_cfg.tftp.max_transfers as u64 + 256;
    match phoneflip_tftp::server::raise_fd_limit(wanted) {
        Ok(got) if got < wanted => eprintln!(
            "phoneflip: warning: open-file limit is {got}, below the {wanted} that --max-transfers {} needs; raise it (ulimit -n) or lower --max-transfers",
            app_cfg.tftp.max_transfers
        ),
        Ok(_) => {}
        Err(e) => eprintln!("phoneflip: warning: cannot read the open-file limit: {e}"),
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let reopen = app_cfg.log.clone();
    rt.block_on(async move {
        tokio::spawn(reopen_on_sighup(reopen));
        app::run(app_cfg, shutdown_signal()).await
    })
}

/// SIGHUP reopens the transfer log by name, so logrotate can move it away
/// (`postrotate systemctl reload phoneflip`, the unit's `ExecReload`)
/// without restarting the server or losing a line.
async fn reopen_on_sighup(log: TransferLog) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            match log.reopen() {
                Ok(()) => {
                    if let Some(p) = log.path() {
                        tracing::info!("SIGHUP: reopened the transfer log {}", p.display());
                    }
                }
                Err(e) => tracing::warn!(
                    "SIGHUP: cannot reopen the transfer log: {e}; still writing to the old file"
                ),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = log;
}

/// The API token: from a file, the environment, or (deprecated, with a
/// warning) the command line, where any user sees it in `ps`.
fn api_token(
    from_args: Option<String>,
    file_arg: Option<PathBuf>,
    file: &FileConfig,
) -> Result<Option<String>> {
    if let Some(path) = file_arg.or(file.api_token_file.clone()) {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the API token file {}", path.display()))?;
        let token = text.lines().next().unwrap_or("").trim().to_string();
        if token.is_empty() {
            bail!(
                "the API token file {} is empty: put the token on its first line",
                path.display()
            );
        }
        return Ok(Some(token));
    }
    if let Some(t) = from_args {
        // clap fills the flag from PHONEFLIP_API_TOKEN too: only a token
        // that differs from the environment came from argv.
        if std::env::var("PHONEFLIP_API_TOKEN").ok().as_deref() != Some(t.as_str()) {
            eprintln!("phoneflip: warning: --api-token is visible to every user of this host (ps, /proc); use --api-token-file FILE or PHONEFLIP_API_TOKEN instead");
        }
        return Ok(Some(t));
    }
    Ok(file.api_token.clone())
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

//! The `phoneflip` binary: one clap subcommand per domain concept.
//!
//! Owns argument parsing, human/JSON output and error context; the work
//! itself lives in the library crates. Each subcommand has its own module
//! under `cmd/`.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod app;
mod cmd;
mod db;

#[derive(Parser)]
#[command(
    name = "phoneflip",
    version,
    about = "Convert Cisco 7940/7960 phones between SCCP and SIP firmware, for a whole fleet"
)]
struct Cli {
    /// How diagnostics on stderr are written: `text` (colour only on a
    /// terminal) or `json` (one object per line, for journald, syslog
    /// forwarders and log shippers). Also `PHONEFLIP_LOG_FORMAT`.
    #[arg(long, global = true, value_enum, env = "PHONEFLIP_LOG_FORMAT", default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a load, image, gkdefault or bundle name.
    Name(cmd::name::Args),
    /// The documented path from one load to another, hop by hop.
    Plan(cmd::plan::Args),
    /// DHCP option 66/150 configuration and probe.
    Dhcp(cmd::dhcp::Args),
    /// Find the reference's common conversion issues in a TFTP root, its log and DHCP; --fix the safe ones.
    Doctor(cmd::doctor::Args),
    /// Serve the phones' files over TFTP.
    Serve(Box<cmd::serve::Args>),
    /// Synthetic firmware bundles, and importing a bundle into the TFTP root.
    Firmware(cmd::firmware::Args),
    /// Boot one emulated 7940/7960 against a TFTP server.
    Emulate(cmd::emulate::Args),
    /// Boot a fleet of emulated phones at once against a TFTP server.
    Rehearse(cmd::rehearse::Args),
    /// Bulk migration jobs: create (query, template, target, batches), list, show, cancel.
    Jobs(cmd::jobs::Args),
    /// The phone inventory: import, export and list phones (Bulk Administration CSV).
    Phones(cmd::phones::Args),
    /// Named per-protocol settings that phones follow.
    Templates(cmd::templates::Args),
    /// Print one file exactly as a phone would receive it, or write a whole static TFTP root.
    Render(cmd::render::Args),
    /// Benchmarks on loopback: `bench tftp` compares phoneflip's TFTP server with tftpd-hpa and dnsmasq.
    Bench(cmd::bench::Args),
    /// Compile gkdefault.txt to the binary gkdefault.cfg, as Cisco's `cfgfmt -tsip_ptag.dat IN OUT`.
    Cfgfmt(cmd::cfgfmt::Args),
    /// Per file: what it is, whether it parses, what a phone does with it, whether it writes back byte for byte.
    Check(cmd::check::Args),
    /// Turn a hand-made TFTP root into inventory: templates from SIPDefault.cnf/XMLDefault.cnf.xml, phones from SIP<MAC>.cnf/SEP<MAC>.cnf.xml.
    Adopt(cmd::adopt::Args),
    /// The database: `db migrate --from sqlite:PATH --to postgres://...` moves a site to PostgreSQL.
    Db(cmd::db::Args),
    /// The PBX side: `pbx export --for kamailio|asterisk|freeswitch` writes the lines' SIP accounts.
    Pbx(cmd::pbx::Args),
}

/// Runs the command; a user error is printed as one message (its context
/// chain on one line) and exit status 1, never with a backtrace, whatever
/// `RUST_BACKTRACE` says: a backtrace helps the developer of a panic, not
/// the operator of a typo.
fn main() {
    // Like every Unix filter, end quietly on a closed pipe (`plan | head`)
    // instead of letting println! panic: restore the default SIGPIPE
    // action that Rust's runtime sets to "ignore".
    #[cfg(unix)]
    // SAFETY: called first thing, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if let Err(e) = run() {
        eprintln!("phoneflip: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::Name(args) => cmd::name::run(args),
        Command::Plan(args) => cmd::plan::run(args),
        Command::Dhcp(args) => cmd::dhcp::run(args),
        Command::Doctor(args) => cmd::doctor::run(args),
        Command::Serve(args) => cmd::serve::run(*args),
        Command::Firmware(args) => cmd::firmware::run(args),
        Command::Emulate(args) => cmd::emulate::run(args),
        Command::Rehearse(args) => cmd::rehearse::run(args),
        Command::Jobs(args) => cmd::jobs::run(args),
        Command::Phones(args) => cmd::phones::run(args),
        Command::Pbx(args) => cmd::pbx::run(args),
        Command::Templates(args) => cmd::templates::run(args),
        Command::Render(args) => cmd::render::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Cfgfmt(args) => cmd::cfgfmt::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Adopt(args) => cmd::adopt::run(args),
        Command::Db(args) => cmd::db::run(args),
    }
}

/// Diagnostics go to stderr. Colour codes only when stderr is a terminal:
/// under systemd, in a pipe or in a file they are noise that journald and
/// grep show as `\x1b[2m`. Under systemd (`JOURNAL_STREAM` set) the
/// timestamp is left out as well, since journald stamps every line itself.
fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    match format {
        LogFormat::Json => builder.json().with_current_span(false).init(),
        LogFormat::Text if under_journald => builder.with_ansi(false).without_time().init(),
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

//! `phoneflip dhcp`: option 66/150 configuration and a live probe.

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context, Result};
use phoneflip_device::{Mac, Model};
use phoneflip_dhcp::{probe, snippet, Dialect, SnippetRequest};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(clap::Subcommand)]
pub enum Sub {
    /// Print the DHCP server configuration that hands out option 66 (SIP
    /// loads) and option 150 (SCCP loads).
    Config {
        /// DHCP server dialect: isc, kea, dnsmasq or ios.
        #[arg(long = "for", value_name = "SERVER")]
        dialect: Dialect,
        /// Address of the TFTP server the phones must use.
        #[arg(long)]
        tftp: Ipv4Addr,
        /// Only these phones (repeatable). Converting a few phones through
        /// the TFTP server every phone gets would convert them all.
        #[arg(long = "mac")]
        macs: Vec<Mac>,
    },
    /// Send a DHCPDISCOVER as a 7960 would and report whether SIP and SCCP
    /// phones would find their TFTP server (needs root).
    Probe {
        /// Network interface to probe on.
        #[arg(long)]
        interface: String,
        /// MAC to send as (a phone's, or any).
        #[arg(long, default_value = "0019AA000001")]
        mac: Mac,
        #[arg(long, default_value = "7960")]
        model: Model,
        /// Seconds to wait for an offer.
        #[arg(long, default_value_t = 6)]
        wait: u64,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Sub::Config {
            dialect,
            tftp,
            macs,
        } => {
            print!("{}", snippet(dialect, &SnippetRequest { tftp, macs }));
            Ok(())
        }
        Sub::Probe {
            interface,
            mac,
            model,
            wait,
            json,
        } => {
            let report = probe(&interface, mac, model, Duration::from_secs(wait))
                .with_context(|| format!("probing DHCP on {interface}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "offer from {} : address {}",
                    report
                        .server
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "?".into()),
                    report.offered_address
                );
                for f in &report.findings {
                    println!("  [{:?}] {}", f.severity, f.message);
                }
            }
            if report.sip_phones_find_tftp && report.sccp_phones_find_tftp {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
    }
}

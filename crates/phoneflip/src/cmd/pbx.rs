//! `phoneflip pbx export --for kamailio|kamailio-sql|asterisk|freeswitch`:
//! the registrar's accounts for the inventory's lines, so that the line
//! credentials are typed once. The formats are `phoneflip_pbx::export`'s;
//! this module only reads the inventory and writes the file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use phoneflip_inventory::PhoneFilter;
use phoneflip_pbx::export::{KAMAILIO_SUBSCRIBER_HEADER, KAMAILIO_SUBSCRIBER_VERSION};
use phoneflip_pbx::{accounts, render, ExportOptions, Pbx, PhoneLines};

use super::phones::DbArg;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: PbxCommand,
}

#[derive(Subcommand)]
pub enum PbxCommand {
    /// Write the SIP accounts of the fleet's lines for a PBX.
    ///
    /// Kamailio: the db_text `subscriber` table (with `--out DIR`, DIR/subscriber
    /// and a DIR/version naming its table version); kamailio-sql: INSERT rows;
    /// asterisk: pjsip.conf endpoint/auth/aor sections; freeswitch: directory
    /// XML users. Lines without a password are left out with a warning.
    Export {
        /// kamailio, kamailio-sql, asterisk or freeswitch.
        #[arg(long = "for", value_name = "PBX")]
        pbx: Pbx,
        /// The accounts' domain (realm). Default: each phone's proxy1_address
        /// (its override, else its template's).
        #[arg(long)]
        domain: Option<String>,
        /// Only phones of this site.
        #[arg(long)]
        site: Option<String>,
        /// Asterisk: the dialplan context of the endpoints.
        #[arg(long, default_value = "phones")]
        context: String,
        /// Write here instead of standard output (a directory for kamailio).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        #[command(flatten)]
        db: DbArg,
    },
    /// Which of the inventory's lines are registered: asked of Kamailio
    /// (JSON-RPC `ul.dump`) with --kamailio-rpc, else by a SIP OPTIONS to
    /// each line at the address its phone last fetched files from.
    Registered {
        /// Kamailio's JSON-RPC over HTTP (xhttp + jsonrpcs), HOST:PORT.
        #[arg(long, value_name = "ADDR")]
        kamailio_rpc: Option<std::net::SocketAddr>,
        /// The phones' SIP port for the OPTIONS probe.
        #[arg(long, default_value_t = 5060)]
        sip_port: u16,
        /// Only phones of this site.
        #[arg(long)]
        site: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArg,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        PbxCommand::Export {
            pbx,
            domain,
            site,
            context,
            out,
            db,
        } => export(pbx, domain, site, context, out.as_deref(), &db),
        PbxCommand::Registered {
            kamailio_rpc,
            sip_port,
            site,
            json,
            db,
        } => registered(kamailio_rpc, sip_port, site, json, &db),
    }
}

/// One line's answer, for `pbx registered`.
#[derive(serde::Serialize)]
struct LineRow {
    mac: String,
    line: u8,
    name: String,
    /// `kamailio` or `options`.
    checked_by: &'static str,
    /// What the registrar says; `None` when no registrar was asked.
    registered: Option<bool>,
    /// What the OPTIONS probe found: the phone answers for the line. It
    /// proves the phone is up, not that the registrar has it.
    reachable: Option<bool>,
    detail: String,
}

fn registered(
    rpc: Option<std::net::SocketAddr>,
    sip_port: u16,
    site: Option<String>,
    json: bool,
    db: &DbArg,
) -> Result<()> {
    use phoneflip_pbx::registrar::{
        verdicts, KamailioJsonRpc, LineVerdict, OptionsProbe, Registrar,
    };
    let inv = db.open_existing()?;
    let filter = PhoneFilter {
        site,
        ..PhoneFilter::default()
    };
    let phones = inv.list_phones(&filter).context("reading the inventory")?;
    let lines: Vec<((String, u8), String)> = phones
        .iter()
        .flat_map(|p| {
            p.lines
                .iter()
                .filter(|l| !l.name.trim().is_empty())
                .map(move |l| ((p.mac.to_string(), l.number), l.name.clone()))
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let mut rows = Vec::new();
    match rpc {
        Some(addr) => {
            let k = KamailioJsonRpc::new(addr);
            let bindings = rt.block_on(k.bindings())?;
            let v = verdicts(&lines, &bindings, &k.describe());
            for ((mac, line), name) in &lines {
                let (registered, detail) = match &v[&(mac.clone(), *line)] {
                    LineVerdict::Registered { contact } => (true, contact.clone()),
                    LineVerdict::NotRegistered { why } => (false, why.clone()),
                };
                rows.push(LineRow {
                    mac: mac.clone(),
                    line: *line,
                    name: name.clone(),
                    checked_by: "kamailio",
                    registered: Some(registered),
                    reachable: None,
                    detail,
                });
            }
        }
        None => {
            // Where each phone was last seen: its latest TFTP transfer.
            let probe = OptionsProbe {
                local: "0.0.0.0:0".parse().expect("literal address"),
                timeout: std::time::Duration::from_secs(2),
            };
            for ((mac, line), name) in &lines {
                let m = mac.parse().expect("a MAC read from the inventory");
                let seen = inv.timeline(m, 1).context("reading the TFTP events")?;
                let (reachable, detail) = match seen.first() {
                    None => (
                        false,
                        "never seen over TFTP: no address to probe".to_string(),
                    ),
                    Some(e) => {
                        let to = std::net::SocketAddr::new(e.event.client_ip, sip_port);
                        match rt.block_on(probe.probe(name, to)) {
                            Ok(status) => (
                                (200..300).contains(&status),
                                format!("OPTIONS to {to} answered {status} (the phone is up; no registrar was asked)"),
                            ),
                            Err(e) => (false, e),
                        }
                    }
                };
                rows.push(LineRow {
                    mac: mac.clone(),
                    line: *line,
                    name: name.clone(),
                    checked_by: "options",
                    registered: None,
                    reachable: Some(reachable),
                    detail,
                });
            }
        }
    }
    let ok = rows
        .iter()
        .filter(|r| r.registered.or(r.reachable) == Some(true))
        .count();
    let what = if rpc.is_some() {
        "registered"
    } else {
        "reachable"
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "lines": rows.len(),
                what: ok,
                "per_line": rows,
            }))?
        );
    } else {
        for r in &rows {
            let mark = match (r.registered, r.reachable) {
                (Some(true), _) => "registered",
                (Some(false), _) => "NOT registered",
                (None, Some(true)) => "reachable",
                _ => "NOT reachable",
            };
            println!(
                "{} line {} ({}): {mark}: {}",
                r.mac, r.line, r.name, r.detail
            );
        }
        println!("{ok} of {} line(s) {what}", rows.len());
    }
    Ok(())
}

fn export(
    pbx: Pbx,
    domain: Option<String>,
    site: Option<String>,
    context: String,
    out: Option<&Path>,
    db: &DbArg,
) -> Result<()> {
    let inv = db.open_existing()?;
    let filter = PhoneFilter {
        site,
        ..PhoneFilter::default()
    };
    let phones = inv.list_phones(&filter).context("reading the inventory")?;
    let mut lines = Vec::with_capacity(phones.len());
    for p in &phones {
        let domain = match &domain {
            Some(d) => Some(d.clone()),
            None => match p.overrides.get("proxy1_address") {
                Some(a) => Some(a.clone()),
                None => match &p.template {
                    Some(t) => inv
                        .get_template(t)
                        .with_context(|| format!("reading template {t} of phone {}", p.mac))?
                        .and_then(|t| t.settings.get("proxy1_address").cloned()),
                    None => None,
                },
            },
        };
        lines.push(PhoneLines {
            mac: p.mac,
            domain: domain.map(|d| d.trim_matches('"').to_string()),
            lines: p.lines.clone(),
        });
    }
    let (accounts, skipped) = accounts(&lines)?;
    for s in &skipped {
        eprintln!("warning: {s}");
    }
    let text = render(pbx, &accounts, &ExportOptions { context })?;
    match out {
        None => print!("{text}"),
        Some(dir) if pbx == Pbx::Kamailio => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the db_text directory {}", dir.display()))?;
            write(&dir.join("subscriber"), &text)?;
            let version = dir.join("version");
            // db_text's `version` table, as Debian ships it
            // (/usr/share/kamailio/dbtext/kamailio/version): auth_db
            // refuses a subscriber table without its version row.
            let table = format!(":subscriber:{KAMAILIO_SUBSCRIBER_VERSION}");
            let current = std::fs::read_to_string(&version).unwrap_or_default();
            if !current.lines().any(|l| l.trim().ends_with(&table)) {
                let mut v = if current.trim().is_empty() {
                    "id(int,auto) table_name(string) table_version(int) \n".to_string()
                } else {
                    current
                };
                if !v.ends_with('\n') {
                    v.push('\n');
                }
                let id = v.lines().count();
                v.push_str(&format!("{id}{table}\n"));
                write(&version, &v)?;
            }
            debug_assert!(text.starts_with(KAMAILIO_SUBSCRIBER_HEADER));
        }
        Some(file) => write(file, &text)?,
    }
    eprintln!(
        "{} accounts for {} phones ({} lines left out)",
        accounts.len(),
        phones.len(),
        skipped.len()
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

//! `phoneflip pbx export --for kamailio|kamailio-sql|asterisk|freeswitch`:
//! the registrar's accounts for the inventory's lines, so that the line
//! credentials are typed once. The formats are `phoneflip_pbx::export`'s;
//! this module only reads the inventory and writes the file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use phoneflip_inventory::{Inventory, PhoneFilter};
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
    }
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

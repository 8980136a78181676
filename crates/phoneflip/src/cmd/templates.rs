//! `phoneflip templates add|list|remove`: named per-protocol defaults that
//! phones follow (proxy, registrar, CallManager addresses, time zone, ...),
//! like Bulk Administration phone templates.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use phoneflip_config::sip_params::{check_param, SipProblem};
use phoneflip_config::Template;
use phoneflip_firmware::{Protocol, Version};

use super::phones::DbArg;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: TemplatesCommand,
}

#[derive(Subcommand)]
pub enum TemplatesCommand {
    /// Create or replace a template.
    Add {
        /// Letters, digits, '_', '.' or '-'.
        name: String,
        /// sip or sccp (or mgcp).
        #[arg(long)]
        protocol: Protocol,
        /// Settings as KEY=VALUE, using the protocol's own parameter names
        /// (proxy1_address=10.0.0.5, time_zone=CET; callmanager1=... for SCCP).
        settings: Vec<String>,
        /// Store a SIP setting whose name no SIP release 1.x-8.12 knows
        /// (render leaves it out of the files and reports it).
        #[arg(long)]
        keep_unknown: bool,
        #[command(flatten)]
        db: DbArg,
    },
    /// List templates.
    List {
        #[arg(long)]
        json: bool,
        /// Show secret settings (phone_password, lineN_password, ...) as
        /// they are, not as ********.
        #[arg(long)]
        show_secrets: bool,
        #[command(flatten)]
        db: DbArg,
    },
    /// Delete a template no phone uses.
    Remove {
        name: String,
        #[command(flatten)]
        db: DbArg,
    },
}

/// Parses `KEY=VALUE` arguments; a key given twice is a mistake, not an
/// override, so it is refused.
pub fn parse_settings(items: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for item in items {
        let Some((k, v)) = item.split_once('=') else {
            bail!("setting {item:?} has no '='; write KEY=VALUE, e.g. proxy1_address=10.0.0.5");
        };
        let k = k.trim();
        if out.insert(k.to_string(), v.to_string()).is_some() {
            bail!("setting {k:?} is given twice; keep one");
        }
    }
    Ok(out)
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        TemplatesCommand::Add {
            name,
            protocol,
            settings,
            keep_unknown,
            db,
        } => {
            let template = Template {
                name: name.clone(),
                protocol,
                settings: parse_settings(&settings)?,
            };
            // Checked before the database is opened: a refused template
            // must not leave a new, empty inventory behind.
            phoneflip_inventory::validate_template(&template)?;
            let unknown = protocol == Protocol::Sip
                && template.settings.iter().any(|(k, v)| {
                    !phoneflip_config::sccp::is_original_key(k)
                        && matches!(
                            check_param(k, v, Version::new(8, 12), None),
                            Err(SipProblem::Unknown { .. })
                        )
                });
            let checked =
                phoneflip_inventory::check_template_settings_keeping(&template, keep_unknown);
            if unknown && !keep_unknown {
                checked.context("a phone ignores a parameter its load does not know, so a misspelt one would be lost silently; fix the name, or pass --keep-unknown to store it as it is")?;
            } else {
                checked?;
            }
            let store = db.open_or_create()?;
            let existed = store.get_template(&name)?.is_some();
            store
                .put_template(&template)
                .with_context(|| format!("saving template {name:?} in {}", db.db))?;
            println!(
                "{} template {name} ({protocol}, {} setting(s))",
                if existed { "replaced" } else { "created" },
                template.settings.len()
            );
            Ok(())
        }
        TemplatesCommand::List {
            json,
            show_secrets,
            db,
        } => {
            let store = db.open_existing()?;
            let mut templates = store
                .list_templates()
                .with_context(|| format!("listing templates in {}", db.db))?;
            if !show_secrets {
                for t in &mut templates {
                    phoneflip_config::redact_settings(&mut t.settings);
                }
            }
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &templates)?;
                writeln!(out)?;
            } else {
                for t in &templates {
                    writeln!(out, "{} ({})", t.name, t.protocol)?;
                    for (k, v) in &t.settings {
                        if phoneflip_config::sccp::is_original_key(k) {
                            // A whole file: its size, not its text (--json has it).
                            writeln!(out, "    {k}=({} bytes of XML)", v.len())?;
                        } else {
                            writeln!(out, "    {k}={v}")?;
                        }
                    }
                }
                writeln!(out, "{} template(s)", templates.len())?;
            }
            Ok(())
        }
        TemplatesCommand::Remove { name, db } => {
            let store = db.open_existing()?;
            if store
                .delete_template(&name)
                .with_context(|| format!("removing template {name:?} from {}", db.db))?
            {
                println!("removed template {name}");
                Ok(())
            } else {
                bail!(
                    "there is no template {name:?} in {}; see phoneflip templates list",
                    db.db
                )
            }
        }
    }
}

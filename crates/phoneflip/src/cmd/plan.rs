//! `phoneflip plan --from X --to Y`: the documented path between two loads.
//!
//! The only I/O here is listing `--root` and printing; the plan itself is
//! `phoneflip_plan::plan`, a pure function.

use std::path::PathBuf;

use anyhow::{Context, Result};
use phoneflip_device::Model;
use phoneflip_plan::{plan, Catalogue, Endpoint};

#[derive(clap::Args)]
pub struct Args {
    /// The load the phone runs: protocol:version (sccp:3.3, sip:8.12,
    /// sccp:8.1(2)SR2) or a load name (POS30203, P00307020300).
    #[arg(long)]
    pub from: String,
    /// The load wanted, in the same forms as --from.
    #[arg(long)]
    pub to: String,
    /// Phone model (7940 or 7960): selects the loadInformation line.
    #[arg(long)]
    pub model: Option<String>,
    /// Print the plan as JSON (schema documented in README.md).
    #[arg(long)]
    pub json: bool,
    /// Plan with the firmware files really in this TFTP root instead of the
    /// built-in catalogue; files still missing are flagged.
    #[arg(long)]
    pub root: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let from: Endpoint = args
        .from
        .parse()
        .with_context(|| format!("--from {:?}", args.from))?;
    let to: Endpoint = args
        .to
        .parse()
        .with_context(|| format!("--to {:?}", args.to))?;
    let model: Option<Model> = args
        .model
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("--model")?;
    let catalogue = match &args.root {
        Some(dir) => {
            let mut names = Vec::new();
            for entry in std::fs::read_dir(dir)
                .with_context(|| format!("cannot list the TFTP root {}", dir.display()))?
            {
                let entry = entry
                    .with_context(|| format!("cannot list the TFTP root {}", dir.display()))?;
                if let Some(name) = entry.file_name().to_str() {
                    names.push(name.to_string());
                }
            }
            Catalogue::from_file_names(names)
        }
        None => Catalogue::builtin(),
    };
    let p = plan(from, to, model, &catalogue)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&p)?);
    } else {
        print!("{}", p.render_text());
    }
    Ok(())
}

//! `phoneflip adopt ROOT [--db PATH] [--dry-run] [--json]`: a hand-made
//! TFTP root into the inventory (templates from SIPDefault.cnf and
//! XMLDefault.cnf.xml, phones from SIP<MAC>.cnf and SEP<MAC>.cnf.xml).
//!
//! Owns reading the root and storing the result; the mapping is
//! `phoneflip_inventory::adopt`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use phoneflip_config::{FileKind, FileName};
use phoneflip_inventory::adopt::adopt;

use super::phones::DbArg;

#[derive(clap::Args)]
pub struct Args {
    /// The TFTP root to adopt (sub-folders included).
    pub root: PathBuf,
    #[command(flatten)]
    pub db: DbArg,
    /// Show what would be adopted; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON (templates, phones, firmware, notes) instead of text.
    #[arg(long)]
    pub json: bool,
    /// tftpd-hpa's --map-file for a ROOT kept in sub-folders: adopt each
    /// file the phones are served, under the name they ask for it by.
    #[arg(long, value_name = "FILE")]
    pub map_file: Option<PathBuf>,
}

/// The files adoption reads: the configuration files by content, every
/// other file (firmware included) by name only.
fn read_root(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the directory {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading the directory {}", dir.display()))?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            read_root(base, &p, out)?;
            continue;
        }
        let rel = p
            .strip_prefix(base)
            .unwrap_or(&p)
            .to_string_lossy()
            .into_owned();
        let wanted = matches!(
            FileName::classify(&rel).kind,
            FileKind::SipDefault | FileKind::SipMac(_) | FileKind::SepMac(_) | FileKind::XmlDefault
        );
        let bytes = if wanted {
            std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?
        } else {
            Vec::new()
        };
        out.push((rel, bytes));
    }
    Ok(())
}

/// The files a phone is served through `map`, under the names it asks
/// for them by.
fn served(
    root: &Path,
    files: Vec<(String, Vec<u8>)>,
    map: &phoneflip_config::MapFile,
) -> Result<Vec<(String, Vec<u8>)>> {
    let tree: Vec<String> = files.into_iter().map(|(n, _)| n).collect();
    let mut out = Vec::new();
    for (asked, path) in phoneflip_config::phone_view(Some(map), &tree) {
        let wanted = matches!(
            FileName::classify(&asked).kind,
            FileKind::SipDefault | FileKind::SipMac(_) | FileKind::SepMac(_) | FileKind::XmlDefault
        );
        let bytes = if wanted {
            std::fs::read(root.join(path)).with_context(|| format!("reading {path}"))?
        } else {
            Vec::new()
        };
        out.push((asked, bytes));
    }
    Ok(out)
}

pub fn run(args: Args) -> Result<()> {
    let mut files = Vec::new();
    read_root(&args.root, &args.root, &mut files)?;
    if let Some(p) = &args.map_file {
        files = served(&args.root, files, &super::read_map_file(p)?)?;
    }
    let name = args
        .root
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "adopted".into());
    let a = adopt(&name, &files);
    if !args.dry_run {
        let inv = args.db.open_or_create()?;
        for t in &a.templates {
            inv.put_template(t)
                .with_context(|| format!("storing the template {}", t.name))?;
        }
        for p in &a.phones {
            inv.put_phone(p)
                .with_context(|| format!("storing the phone {}", p.mac))?;
        }
    }
    if args.json {
        let mut v = serde_json::to_value(&a)?;
        v["dry_run"] = serde_json::Value::Bool(args.dry_run);
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let verb = if args.dry_run {
        "would adopt"
    } else {
        "adopted"
    };
    println!(
        "{verb} {} template(s) and {} phone(s) from {}",
        a.templates.len(),
        a.phones.len(),
        args.root.display()
    );
    for t in &a.templates {
        println!(
            "  template {} ({}): {} settings",
            t.name,
            t.protocol,
            t.settings.len()
        );
    }
    for p in &a.phones {
        println!(
            "  phone {} ({}): {} line(s), {} override(s), load {}, template {}",
            p.mac,
            p.model,
            p.lines.len(),
            p.overrides.len(),
            p.desired_load.as_ref().map_or("-", |l| l.as_str()),
            p.template.as_deref().unwrap_or("-")
        );
    }
    if !a.firmware.is_empty() {
        println!("  firmware present: {}", a.firmware.join(", "));
    }
    for n in &a.notes {
        println!("  note: {n}");
    }
    Ok(())
}

//! `phoneflip check FILE|DIR...`: per file, what it is, whether it parses,
//! what a phone does with it and whether writing it back is byte-exact.
//!
//! Owns only reading the files and printing; the verdict is
//! `phoneflip_config::check`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use phoneflip_config::check::{check_file, FileCheck};

#[derive(clap::Args)]
pub struct Args {
    /// Files to examine; a directory stands for every file under it.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print JSON (an array, one object per file) instead of text.
    #[arg(long)]
    pub json: bool,
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading the directory {}", path.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("reading the directory {}", path.display()))?;
        entries.sort();
        for e in entries {
            collect(&e, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn print_text(c: &FileCheck) {
    let verdict = match (c.parses, c.byte_exact) {
        (true, Some(true)) => "parses, writes back byte for byte",
        (true, Some(false)) => "parses, but writing it back changes it",
        (true, None) => "parses",
        (false, Some(true)) => "parses in part, writes back byte for byte",
        (false, _) if c.errors.is_empty() => "not read",
        (false, _) => "refused",
    };
    println!("{}: {} ({:?}): {verdict}", c.file, c.kind.tag(), c.format);
    for e in &c.errors {
        println!("  error: {e}");
    }
    for w in &c.warnings {
        println!("  warning: {w}");
    }
    if let Some(m) = c.other_model {
        println!("  other model: {m}");
    }
    println!("  phone: {}", c.phone);
}

pub fn run(args: Args) -> Result<()> {
    let mut paths = Vec::new();
    for p in &args.files {
        collect(p, &mut paths)?;
    }
    let mut checks = Vec::new();
    for p in &paths {
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        checks.push(check_file(&p.display().to_string(), &bytes));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        for c in &checks {
            print_text(c);
        }
    }
    let bad = checks
        .iter()
        .filter(|c| c.requested_by_phones && !c.parses && !c.errors.is_empty())
        .count();
    if bad > 0 {
        bail!(
            "{bad} of {} files that phones ask for do not parse (see above)",
            checks.len()
        );
    }
    Ok(())
}

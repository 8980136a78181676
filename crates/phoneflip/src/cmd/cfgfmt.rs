//! `phoneflip cfgfmt -tTABLE INPUT OUTPUT`: Cisco's `cfgfmt`, natively,
//! with its argument order (`-t` glued to the table or separate).

use std::path::PathBuf;

use anyhow::{Context, Result};
use phoneflip_config::cfgfmt::{compile_file, TagTable};

#[derive(clap::Args)]
pub struct Args {
    /// The tag table that ships with the phone's SIP firmware (sip_ptag.dat).
    #[arg(short = 't', value_name = "TABLE")]
    pub table: PathBuf,
    /// The text source (gkdefault.txt).
    pub input: PathBuf,
    /// The binary profile to write (gkdefault.cfg or gk<MAC>).
    pub output: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let name = |p: &PathBuf| p.display().to_string();
    let table_bytes =
        std::fs::read(&args.table).with_context(|| format!("reading {}", name(&args.table)))?;
    let table = TagTable::parse(&name(&args.table), &table_bytes)?;
    let text =
        std::fs::read(&args.input).with_context(|| format!("reading {}", name(&args.input)))?;
    let bytes = compile_file(&name(&args.input), &text, &table)?;
    std::fs::write(&args.output, &bytes)
        .with_context(|| format!("writing {}", name(&args.output)))?;
    eprintln!(
        "{}: {} bytes; note: the 8 header bytes after #ata are those of Cisco's one known output, \
their meaning is not established (see phoneflip_config::cfgfmt)",
        name(&args.output),
        bytes.len()
    );
    Ok(())
}

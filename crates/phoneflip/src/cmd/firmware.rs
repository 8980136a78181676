//! `phoneflip firmware synth|import`: synthetic vendor bundles for tests
//! and rehearsals, and importing a bundle into the TFTP root.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use phoneflip_emulator::synth::{self, SizeProfile};
use phoneflip_firmware::{Protocol, Version};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(clap::Subcommand)]
pub enum Sub {
    /// Write a synthetic bundle (zip) with the vendor's file names and
    /// layout. Its images are phoneflip's own format, never Cisco's: they
    /// boot the emulator, not a phone.
    Synth {
        /// sccp, sip or mgcp.
        #[arg(long)]
        protocol: Protocol,
        /// The release, e.g. 8.12, 7.4, 2.3, 8.1(2)SR2, 5.0(1.1).
        #[arg(long)]
        version: Version,
        /// Directory to write the zip into.
        #[arg(long)]
        out: PathBuf,
        /// Images of a few kB instead of the real sizes (~130 kB loader,
        /// ~700 kB application).
        #[arg(long)]
        small: bool,
    },
    /// Unzip a bundle into the TFTP root and check that every piece the
    /// loader needs is there and intact.
    Import {
        bundle: PathBuf,
        /// The TFTP root directory.
        #[arg(long)]
        root: PathBuf,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Sub::Synth {
            protocol,
            version,
            out,
            small,
        } => {
            let size = if small {
                SizeProfile::Small
            } else {
                SizeProfile::Real
            };
            let bundle = synth::synth(protocol, version, size)?;
            let path = synth::write_zip(&bundle, &out)?;
            println!("{}", path.display());
            for (name, bytes) in &bundle.files {
                println!("  {name:<32} {:>9} bytes", bytes.len());
            }
            Ok(())
        }
        Sub::Import { bundle, root } => {
            let report = synth::import(&bundle, &root).with_context(|| {
                format!("importing {} into {}", bundle.display(), root.display())
            })?;
            for f in &report.written {
                println!("wrote {}", root.join(f).display());
            }
            if report.problems.is_empty() {
                println!(
                    "{}: complete, every piece the loader needs is present",
                    bundle.display()
                );
                return Ok(());
            }
            for p in &report.problems {
                eprintln!("problem: {p}");
            }
            bail!(
                "{} is incomplete in {}: {} problem(s) above; phones booting from it will fail",
                bundle.display(),
                root.display(),
                report.problems.len()
            )
        }
    }
}

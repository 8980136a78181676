//! `phoneflip firmware synth|import`: synthetic vendor bundles for tests
//! and rehearsals, and importing a vendor (or synthetic) bundle into the
//! TFTP root, both through `phoneflip-bundle`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_bundle::Action;
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
    /// Copy a vendor bundle (Cisco's zip, or a folder of extracted files)
    /// or a synthetic one into the TFTP root, byte for byte. Refused, with
    /// nothing written, when a release in it is incomplete or a file is
    /// misnamed, empty or implausibly sized; existing files that differ are
    /// backed up to ROOT/.phoneflip-backup/<timestamp>/ first.
    Import {
        bundle: PathBuf,
        /// The TFTP root directory.
        #[arg(long)]
        root: PathBuf,
        /// Check and say what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
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
        Sub::Import {
            bundle,
            root,
            dry_run,
        } => {
            let opts = phoneflip_bundle::Options {
                dry_run,
                ..Default::default()
            };
            let report =
                phoneflip_bundle::import_with(&bundle, &root, &opts).with_context(|| {
                    format!("importing {} into {}", bundle.display(), root.display())
                })?;
            if report.refused() {
                for p in &report.problems {
                    eprintln!("problem: {p}");
                }
                bail!(
                    "{} was not imported into {}: {} problem(s) above; nothing was written",
                    bundle.display(),
                    root.display(),
                    report.problems.len()
                )
            }
            let verb = |a: &Action| match (a, dry_run) {
                (Action::Added, false) => "added",
                (Action::Added, true) => "would add",
                (Action::Unchanged, _) => "unchanged",
                (Action::Replaced { .. }, false) => "replaced",
                (Action::Replaced { .. }, true) => "would replace",
            };
            for (name, bytes, action) in &report.files {
                print!("{:<13} {name:<32} {bytes:>9} bytes", verb(action));
                match action {
                    Action::Replaced { backup } => println!("  (old copy: {})", backup.display()),
                    _ => println!(),
                }
            }
            println!(
                "{}: complete, every file each release needs is present{}",
                bundle.display(),
                if dry_run {
                    " (dry run: nothing written)"
                } else {
                    ""
                }
            );
            Ok(())
        }
    }
}

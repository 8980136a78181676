//! `phoneflip phones import|export|list`: the fleet inventory from the
//! command line, in the Bulk Administration CSV format of
//! `phoneflip_inventory::bulk` (its module doc lists the columns).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::db::Db;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use phoneflip_device::Model;
use phoneflip_inventory::{
    bulk, Change, Encoding, Format, ImportError, Inventory, ParseOptions, Phone, PhoneFilter,
    SqliteInventory,
};

/// Where the inventory lives; shared by every command that reads or writes it.
#[derive(clap::Args, Debug, Clone)]
pub struct DbArg {
    /// The inventory database: a SQLite file (created on first import) or
    /// postgres://USER@HOST[:PORT]/DB.
    #[arg(
        long,
        env = "PHONEFLIP_DB",
        default_value = "phoneflip.db",
        value_name = "PATH|URL"
    )]
    pub db: Db,
}

impl DbArg {
    /// Opens the inventory, creating it if needed.
    pub fn open_or_create(&self) -> Result<Arc<dyn Inventory>> {
        self.db.inventory().with_context(|| {
            format!(
                "cannot open the inventory {}; pass --db PATH (or set PHONEFLIP_DB) to a writable file or a postgres:// URL",
                self.db
            )
        })
    }

    /// Opens an inventory that must already exist: reading commands never
    /// leave an empty database behind in the current directory.
    pub fn open_existing(&self) -> Result<Arc<dyn Inventory>> {
        if !self.db.exists() {
            bail!(
                "there is no inventory at {}; import phones first (phoneflip phones import FILE.csv --db {}) \
                 or point --db (or PHONEFLIP_DB) at an existing one",
                self.db, self.db
            );
        }
        self.open_or_create()
    }
}

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: PhonesCommand,
}

#[derive(Subcommand)]
pub enum PhonesCommand {
    /// Add or update phones from a Bulk Administration style CSV file
    /// (header row, one phone per line; columns: mac, model, description,
    /// site, tags, label, template, desired_protocol, desired_load,
    /// overrides, line1_name .. line6_shortname). All or nothing.
    ///
    /// A call manager Bulk Administration phone export (header with DEVICE
    /// NAME, DEVICE TYPE, DEVICE POOL, DIRECTORY NUMBER 1, ...) is
    /// recognised by its header and imported as it is; columns phoneflip does
    /// not use are skipped with a warning.
    Import {
        /// The CSV file, or - for standard input.
        file: PathBuf,
        /// The file's encoding when it is not UTF-8 (or UTF-16 with a
        /// byte-order mark, which is read as it is).
        #[arg(long, value_enum, default_value = "auto")]
        encoding: EncodingArg,
        /// Show what would be added, updated or left unchanged, and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArg,
    },
    /// Write every phone in the import format (to FILE, or standard output).
    Export {
        file: Option<PathBuf>,
        /// phoneflip's own columns, or the call manager's Bulk
        /// Administration phone export (bat).
        #[arg(long, value_enum, default_value = "phoneflip")]
        format: FormatArg,
        #[command(flatten)]
        db: DbArg,
    },
    /// Set the load a phone runs today, which serve plans its next hop
    /// from (as the CSV's current_load or the call manager's LOAD
    /// INFORMATION would; what serve later sees the phone boot replaces it).
    Set {
        mac: phoneflip_device::Mac,
        /// A load name (P0030801SR02) or protocol:version (sccp:8.1(2)SR2).
        #[arg(long, value_name = "LOAD")]
        current_load: String,
        #[command(flatten)]
        db: DbArg,
    },
    /// One phone's record: model, loads (current and desired), template.
    Show {
        mac: phoneflip_device::Mac,
        #[command(flatten)]
        db: DbArg,
    },
    /// List phones.
    List {
        /// Print JSON (passwords hidden unless --show-secrets).
        #[arg(long)]
        json: bool,
        #[arg(long)]
        site: Option<String>,
        /// 7940 or 7960.
        #[arg(long)]
        model: Option<Model>,
        #[arg(long)]
        tag: Option<String>,
        #[arg(long)]
        template: Option<String>,
        /// Include line passwords in JSON output.
        #[arg(long)]
        show_secrets: bool,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum EncodingArg {
    /// UTF-8, or UTF-16 with its byte-order mark; anything else is refused.
    Auto,
    /// ISO-8859-1 (Latin-1).
    Latin1,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FormatArg {
    Phoneflip,
    Bat,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        PhonesCommand::Import {
            file,
            encoding,
            dry_run,
            json,
            db,
        } => {
            let opts = ParseOptions {
                encoding: match encoding {
                    EncodingArg::Auto => Encoding::Auto,
                    EncodingArg::Latin1 => Encoding::Latin1,
                },
            };
            import(&file, &opts, dry_run, json, &db)
        }
        PhonesCommand::Export { file, format, db } => {
            let format = match format {
                FormatArg::Phoneflip => Format::Phoneflip,
                FormatArg::Bat => Format::CallManager,
            };
            export(file.as_deref(), format, &db)
        }
        PhonesCommand::Set {
            mac,
            current_load,
            db,
        } => {
            let load = bulk::parse_desired_load(current_load.trim())
                .map_err(|e| anyhow::anyhow!("--current-load {current_load:?}: {e}"))?;
            if load.is_universal_loader() {
                bail!("--current-load {load}: that is the universal application loader, which no phone runs; name the application load it runs");
            }
            let store = db.open_existing()?;
            if store.get_phone(mac)?.is_none() {
                bail!("phone {mac} is not in the inventory {}; import it first (phoneflip phones import FILE.csv)", db.db);
            }
            store
                .set_observed_load(mac, &load)
                .with_context(|| format!("setting the current load of {mac}"))?;
            println!("{mac} runs {load}; serve plans its next hop from it");
            Ok(())
        }
        PhonesCommand::Show { mac, db } => {
            let store = db.open_existing()?;
            let Some(p) = store.get_phone(mac)? else {
                bail!("phone {mac} is not in the inventory {}", db.db);
            };
            let dash = |s: Option<String>| s.unwrap_or_else(|| "-".into());
            println!("mac:            {}", p.mac);
            println!("model:          {}", p.model);
            println!("site:           {}", dash(p.site.clone()));
            println!(
                "current load:   {}",
                p.observed_load.as_ref().map_or_else(
                    || "unknown (serve learns it from the phone's requests, or set it: phones set --current-load, serve --assume-current)".to_string(),
                    |l| l.to_string()
                )
            );
            println!(
                "desired:        {}",
                dash(
                    p.desired_load
                        .as_ref()
                        .map(|l| l.to_string())
                        .or(p.desired_protocol.map(|x| x.to_string()))
                )
            );
            println!("template:       {}", dash(p.template.clone()));
            Ok(())
        }
        PhonesCommand::List {
            json,
            site,
            model,
            tag,
            template,
            show_secrets,
            db,
        } => {
            let filter = PhoneFilter {
                site,
                model,
                tag,
                template,
                auto_registered: None,
            };
            list(&filter, json, show_secrets, &db)
        }
    }
}

fn read_input(file: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading the CSV from standard input")?;
    } else {
        buf = std::fs::read(file).with_context(|| {
            format!(
                "cannot read {}; check the path (phones import takes a CSV file, or - for standard input)",
                file.display()
            )
        })?;
    }
    Ok(buf)
}

/// Removes a database file this command created and its WAL companions,
/// so that a failed command leaves nothing behind.
pub fn remove_created_db(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn import(file: &Path, opts: &ParseOptions, dry_run: bool, json: bool, db: &DbArg) -> Result<()> {
    let input = read_input(file)?;
    let created = !db.db.exists();
    let report = |e: ImportError| -> anyhow::Error {
        match e {
            ImportError::Rows(errors) => anyhow::anyhow!("{}: {errors}", file.display()),
            ImportError::Store(e) => anyhow::Error::new(e).context(format!(
                "importing {} into {}",
                file.display(),
                db.db
            )),
        }
    };
    let imported = if created {
        // Check the file against an empty inventory first: a refused file
        // must not leave a new, empty database behind.
        let scratch = SqliteInventory::open_in_memory().context("creating a scratch inventory")?;
        let checked = bulk::import_bytes(&scratch, &input, true, opts).map_err(report)?;
        if dry_run {
            checked
        } else {
            let done = db
                .open_or_create()
                .and_then(|store| bulk::import_bytes(&*store, &input, false, opts).map_err(report));
            if let (Err(_), Some(path)) = (&done, db.db.sqlite_path()) {
                remove_created_db(path);
            }
            done?
        }
    } else {
        let store = db.open_or_create()?;
        bulk::import_bytes(&*store, &input, dry_run, opts).map_err(report)?
    };
    for w in &imported.warnings {
        eprintln!("phoneflip: warning: {}: {w}", file.display());
    }
    let summary = &imported.summary;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &imported)?;
        writeln!(out)?;
    } else {
        for (mac, change) in &summary.changes {
            writeln!(out, "{change:<9} {mac}")?;
        }
        writeln!(
            out,
            "{}: {} added, {} updated, {} unchanged{}{}",
            file.display(),
            summary.count(Change::Added),
            summary.count(Change::Updated),
            summary.count(Change::Unchanged),
            match imported.format {
                Format::CallManager => " (call manager Bulk Administration export)",
                Format::Phoneflip => "",
            },
            if dry_run {
                " (dry run: nothing was changed)"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}

fn export(file: Option<&Path>, format: Format, db: &DbArg) -> Result<()> {
    let store = db.open_existing()?;
    match file {
        Some(path) => {
            let f = std::fs::File::create(path).with_context(|| {
                format!(
                    "cannot create {}; check that its directory exists and is writable",
                    path.display()
                )
            })?;
            let mut w = std::io::BufWriter::new(f);
            bulk::export_as(&*store, &mut w, format)
                .with_context(|| format!("writing {}", path.display()))?;
            w.flush()
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            bulk::export_as(&*store, stdout.lock(), format)
                .context("writing the CSV to standard output")?;
        }
    }
    Ok(())
}

fn redact(mut p: Phone) -> Phone {
    for l in &mut p.lines {
        if l.password.is_some() {
            l.password = Some(phoneflip_config::REDACTED.into());
        }
    }
    phoneflip_config::redact_settings(&mut p.overrides);
    p
}

fn list(filter: &PhoneFilter, json: bool, show_secrets: bool, db: &DbArg) -> Result<()> {
    let store = db.open_existing()?;
    let phones = store
        .list_phones(filter)
        .with_context(|| format!("listing phones in {}", db.db))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        let phones: Vec<Phone> = if show_secrets {
            phones
        } else {
            phones.into_iter().map(redact).collect()
        };
        serde_json::to_writer_pretty(&mut out, &phones)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<12} {:<5} {:<10} {:<12} {:<6} {:<14} {:<14} {:<5} DESCRIPTION",
        "MAC", "MODEL", "SITE", "TEMPLATE", "PROTO", "DESIRED LOAD", "OBSERVED LOAD", "LINES"
    )?;
    let dash = |s: Option<&str>| s.unwrap_or("-").to_string();
    for p in &phones {
        writeln!(
            out,
            "{:<12} {:<5} {:<10} {:<12} {:<6} {:<14} {:<14} {:<5} {}",
            p.mac,
            p.model,
            dash(p.site.as_deref()),
            dash(p.template.as_deref()),
            p.target_protocol()
                .map_or("-".to_string(), |x| x.to_string()),
            dash(p.desired_load.as_ref().map(|l| l.as_str())),
            dash(p.observed_load.as_ref().map(|l| l.as_str())),
            p.lines.len(),
            p.description.replace('\n', " ")
        )?;
    }
    writeln!(out, "{} phone(s)", phones.len())?;
    Ok(())
}

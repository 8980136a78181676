//! `phoneflip db migrate --from sqlite:PATH --to postgres://...`: moves a
//! site's inventory, TFTP events and jobs into another database, such as
//! the PostgreSQL that several `serve` nodes share.

use anyhow::Result;
use clap::Subcommand;

use crate::db::{migrate, Db};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Subcommand)]
pub enum DbCommand {
    /// Copy templates, phones, TFTP events and jobs into a new, empty
    /// database (the source is only read). Stop `serve` first.
    Migrate {
        /// The database to copy from: a SQLite file (PATH or sqlite:PATH)
        /// or postgres://USER@HOST/DB.
        #[arg(long, value_name = "DB")]
        from: Db,
        /// The empty database to copy into (its tables are created).
        #[arg(long, value_name = "DB")]
        to: Db,
        /// Print what was copied as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        DbCommand::Migrate { from, to, json } => {
            if from == to {
                anyhow::bail!("--from and --to are the same database ({from})");
            }
            let c = migrate(&from, &to)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                println!(
                    "copied {from} to {to}: {} templates, {} phones, {} TFTP events, {} jobs",
                    c.templates, c.phones, c.events, c.jobs
                );
            }
            Ok(())
        }
    }
}

//! Where the inventory and the jobs live, from `--db`: a path (or
//! `sqlite:PATH`) is one SQLite file, the default; `postgres://USER@HOST[:PORT]/DB`
//! is a PostgreSQL database that several `serve` nodes share (the
//! tables are created on first use; the database itself must exist).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{Context, Result};
use phoneflip_inventory::{Inventory, SqliteInventory};
use phoneflip_jobs::{JobStore, SqliteJobStore};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Db {
    Sqlite(PathBuf),
    /// The URL as given (with any password); shown redacted.
    Postgres(String),
}

impl FromStr for Db {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Db::Postgres(s.to_string()));
        }
        let path = s.strip_prefix("sqlite:").unwrap_or(s);
        if path.is_empty() {
            return Err(
                "no database: give a file (phoneflip.db, sqlite:PATH) or postgres://USER@HOST/DB"
                    .into(),
            );
        }
        Ok(Db::Sqlite(PathBuf::from(path)))
    }
}

impl fmt::Display for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Db::Sqlite(p) => write!(f, "{}", p.display()),
            Db::Postgres(url) => f.write_str(&phoneflip_inventory::redact_url(url)),
        }
    }
}

impl Db {
    /// Whether there is a database to read: the SQLite file exists; a
    /// PostgreSQL database is always there (its server says otherwise).
    pub fn exists(&self) -> bool {
        match self {
            Db::Sqlite(p) => p.exists(),
            Db::Postgres(_) => true,
        }
    }

    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Db::Sqlite(p) => Some(p),
            Db::Postgres(_) => None,
        }
    }

    /// Opens the inventory (creating its tables if needed).
    pub fn inventory(&self) -> Result<Arc<dyn Inventory>> {
        match self {
            Db::Sqlite(p) => {
                Ok(Arc::new(SqliteInventory::open(p).with_context(|| {
                    format!("cannot open the inventory {}", p.display())
                })?))
            }
            Db::Postgres(url) => postgres_inventory(url),
        }
    }

    /// Opens the job store (creating its tables if needed).
    pub fn jobs(&self) -> Result<Arc<dyn JobStore>> {
        match self {
            Db::Sqlite(p) => {
                Ok(Arc::new(SqliteJobStore::open(p).with_context(|| {
                    format!("cannot open the jobs in {}", p.display())
                })?))
            }
            Db::Postgres(url) => postgres_jobs(url, None),
        }
    }

    /// [`Db::jobs`] with the lease a PostgreSQL node holds a job for
    /// (`serve --job-lease`); SQLite has one node and no leases.
    pub fn jobs_with_lease(&self, lease: std::time::Duration) -> Result<Arc<dyn JobStore>> {
        match self {
            Db::Postgres(url) => postgres_jobs(url, Some(lease)),
            Db::Sqlite(_) => self.jobs(),
        }
    }
}

#[cfg(feature = "postgres")]
fn postgres_inventory(url: &str) -> Result<Arc<dyn Inventory>> {
    Ok(Arc::new(phoneflip_inventory::PgInventory::open(url)?))
}

#[cfg(feature = "postgres")]
fn postgres_jobs(url: &str, lease: Option<std::time::Duration>) -> Result<Arc<dyn JobStore>> {
    let mut s = phoneflip_jobs::PgJobStore::open(url)?;
    if let Some(l) = lease {
        s = s.with_lease(l);
    }
    Ok(Arc::new(s))
}

#[cfg(not(feature = "postgres"))]
fn postgres_inventory(url: &str) -> Result<Arc<dyn Inventory>> {
    anyhow::bail!(
        "{}: this phoneflip was built without PostgreSQL (cargo feature `postgres`)",
        phoneflip_inventory::redact_url(url)
    )
}

#[cfg(not(feature = "postgres"))]
fn postgres_jobs(url: &str, _: Option<std::time::Duration>) -> Result<Arc<dyn JobStore>> {
    anyhow::bail!(
        "{}: this phoneflip was built without PostgreSQL (cargo feature `postgres`)",
        phoneflip_inventory::redact_url(url)
    )
}

/// What `phoneflip db migrate` copied.
#[derive(Debug, Default, serde::Serialize)]
pub struct Copied {
    pub templates: usize,
    pub phones: usize,
    pub events: usize,
    pub jobs: usize,
}

/// Copies everything from `from` into the empty `to`: templates, phones
/// (in one import; their created/updated times become the copy's),
/// events in their order, and jobs, whose event cursors are moved to the
/// copied events' new ids.
pub fn migrate(from: &Db, to: &Db) -> Result<Copied> {
    if !from.exists() {
        anyhow::bail!("there is no database at {from} to migrate from");
    }
    let src = from.inventory()?;
    let src_jobs = from.jobs()?;
    let dst = to.inventory()?;
    let dst_jobs = to.jobs()?;
    let everything = phoneflip_inventory::PhoneFilter::default();
    let (_, phones_there) = dst.list_phones_page(&everything, 0, 1)?;
    if phones_there > 0
        || !dst.list_templates()?.is_empty()
        || !dst_jobs.list()?.is_empty()
        || !dst.events_after(0, 1)?.is_empty()
    {
        anyhow::bail!("{to} is not empty: migrate into a new, empty database");
    }
    let mut copied = Copied::default();
    for t in src.list_templates()? {
        dst.put_template(&t)
            .with_context(|| format!("copying template {:?}", t.name))?;
        copied.templates += 1;
    }
    let phones = src.list_phones(&everything)?;
    dst.import_phones(&phones, false)
        .context("copying the phones")?;
    // An import stores phones as an administrator's; the ones the server
    // registered itself stay marked so.
    for p in phones.iter().filter(|p| p.auto_registered) {
        dst.update_phone(p.mac, &mut |cur| {
            let mut cur = cur.ok_or(phoneflip_inventory::InventoryError::NoSuchPhone(p.mac))?;
            cur.auto_registered = true;
            Ok(cur)
        })?;
    }
    copied.phones = phones.len();
    // Events in id order, in pages; `ids` maps each old id to its new one
    // (the new database numbers them from 1 in this order).
    let mut ids: Vec<i64> = Vec::new();
    let mut after = 0;
    loop {
        let page = src.events_after(after, 5000)?;
        if page.is_empty() {
            break;
        }
        after = page.last().map_or(after, |e| e.id);
        ids.extend(page.iter().map(|e| e.id));
        let evs: Vec<_> = page.into_iter().map(|e| e.event).collect();
        dst.append_events(&evs).context("copying the TFTP events")?;
    }
    copied.events = ids.len();
    let first_new = dst.events_after(0, 1)?.first().map_or(1, |e| e.id);
    for mut st in src_jobs.list()? {
        // The job has read every event up to its cursor: the new cursor is
        // the new id of the last of those.
        let read = ids.partition_point(|&id| id <= st.cursor) as i64;
        st.cursor = if read == 0 { 0 } else { first_new + read - 1 };
        dst_jobs.create(st).context("copying a job")?;
        copied.jobs += 1;
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::Db;
    use std::path::PathBuf;

    #[test]
    fn db_arguments_name_their_backend() {
        assert_eq!(
            "inv.db".parse::<Db>().unwrap(),
            Db::Sqlite(PathBuf::from("inv.db"))
        );
        assert_eq!(
            "sqlite:/var/lib/p.db".parse::<Db>().unwrap(),
            Db::Sqlite(PathBuf::from("/var/lib/p.db"))
        );
        let pg: Db = "postgres://pf:secret@db1:5432/phoneflip".parse().unwrap();
        assert!(matches!(pg, Db::Postgres(_)));
        assert_eq!(pg.to_string(), "postgres://pf:***@db1:5432/phoneflip");
        assert!("sqlite:".parse::<Db>().is_err());
    }
}

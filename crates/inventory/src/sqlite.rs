//! The embedded default store: one SQLite file in WAL mode, migrated at
//! open. All SQL of the SQLite backend lives here.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use phoneflip_config::{Line, Template};
use phoneflip_device::Mac;
use phoneflip_firmware::{LoadName, Protocol};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use crate::record::{
    now_millis, Change, Event, FilterArg, ImportScope, ImportSummary, Millis, Phone, PhoneFilter,
    StoredEvent,
};
use crate::store::{validate_template, Inventory, InventoryError, Result};

/// One schema step. Versions are applied in order, each exactly once, all
/// pending ones in a single transaction at open. To change the schema,
/// append a step; never edit a released one.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "phones, tags, templates, events",
        sql: r#"
CREATE TABLE templates (
    name        TEXT PRIMARY KEY,
    protocol    TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL
);
CREATE TABLE phones (
    mac              TEXT PRIMARY KEY CHECK (length(mac) = 12),
    model            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    site             TEXT,
    label            TEXT,
    lines            TEXT NOT NULL DEFAULT '[]',
    observed_load    TEXT,
    desired_protocol TEXT,
    desired_load     TEXT,
    template         TEXT REFERENCES templates(name) ON UPDATE CASCADE ON DELETE RESTRICT,
    overrides        TEXT NOT NULL DEFAULT '{}',
    auto_registered  INTEGER NOT NULL DEFAULT 0,
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL
);
CREATE INDEX phones_site ON phones(site);
CREATE INDEX phones_model ON phones(model);
CREATE INDEX phones_template ON phones(template);
CREATE TABLE phone_tags (
    mac  TEXT NOT NULL REFERENCES phones(mac) ON DELETE CASCADE,
    tag  TEXT NOT NULL,
    PRIMARY KEY (mac, tag)
) WITHOUT ROWID;
CREATE INDEX phone_tags_tag ON phone_tags(tag);
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    time_ms     INTEGER NOT NULL,
    mac         TEXT,
    client_ip   TEXT NOT NULL,
    client_port INTEGER NOT NULL,
    file        TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX events_mac_time ON events(mac, time_ms);
CREATE INDEX events_client_time ON events(client_ip, time_ms);
CREATE INDEX events_time ON events(time_ms);
"#,
    },
    Migration {
        version: 2,
        name:
            "events: the file's kind and the image's load, as the request pipeline classified them",
        sql: r#"
ALTER TABLE events ADD COLUMN kind TEXT;
ALTER TABLE events ADD COLUMN load TEXT;
CREATE INDEX events_mac_kind ON events(mac, kind);
"#,
    },
    Migration {
        version: 3,
        name: "events: MAC-less rows of earlier versions attributed to the phone at their address",
        // Earlier versions left a phone's requests before its first
        // MAC-named one (and, before that, every shared file) without a
        // MAC and matched them by address when reading, so an address
        // handed to another phone carried the first one's history along.
        // The request pipeline's rule, applied once to the old rows: a
        // request belongs to the phone that last asked a MAC-named file
        // from that address, else to the next one that does within the
        // 10 minutes of a boot (provision's `BOOT_WINDOW`).
        sql: r#"
UPDATE events SET mac = (
    SELECT e2.mac FROM events e2
    WHERE e2.client_ip = events.client_ip AND e2.mac IS NOT NULL
      AND e2.time_ms <= events.time_ms
    ORDER BY e2.time_ms DESC, e2.id DESC LIMIT 1)
WHERE mac IS NULL;
UPDATE events SET mac = (
    SELECT e2.mac FROM events e2
    WHERE e2.client_ip = events.client_ip AND e2.mac IS NOT NULL
      AND e2.time_ms BETWEEN events.time_ms AND events.time_ms + 600000
    ORDER BY e2.time_ms, e2.id LIMIT 1)
WHERE mac IS NULL;
"#,
    },
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// From this many phones on, an import reads the stored phones in one scan.
const BULK_LOOKUP: usize = 256;

type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// The SQLite inventory. One connection behind a mutex: SQLite serialises
/// writers anyway, and WAL lets other processes (a second `phoneflip`
/// command while `serve` runs) read meanwhile.
pub struct SqliteInventory {
    conn: Mutex<Connection>,
    clock: Clock,
}

fn db_err(e: rusqlite::Error) -> InventoryError {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        // The transaction was rolled back whole: nothing changed.
        Some(C::DiskFull | C::ReadOnly) => InventoryError::Unwritable(e.to_string()),
        _ => InventoryError::Backend(e.to_string()),
    }
}

fn json_err(e: serde_json::Error) -> InventoryError {
    InventoryError::Corrupt(e.to_string())
}

impl From<rusqlite::Error> for InventoryError {
    fn from(e: rusqlite::Error) -> Self {
        db_err(e)
    }
}

const PHONE_COLUMNS: &str = "mac, model, description, site, label, lines, observed_load, \
desired_protocol, desired_load, template, overrides, auto_registered, created_ms, updated_ms, \
(SELECT json_group_array(tag) FROM (SELECT tag FROM phone_tags t WHERE t.mac = phones.mac ORDER BY tag))";

fn corrupt(what: &str, value: &str, e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("{what} {value:?}: {e}").into(),
    )
}

fn parse_col<T: std::str::FromStr>(what: &str, s: &str) -> rusqlite::Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| corrupt(what, s, e))
}

fn parse_opt<T: std::str::FromStr>(what: &str, s: Option<String>) -> rusqlite::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    s.map(|s| parse_col(what, &s)).transpose()
}

fn json_col<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> rusqlite::Result<T> {
    serde_json::from_str(s).map_err(|e| corrupt(what, s, e))
}

fn phone_from_row(r: &Row) -> rusqlite::Result<Phone> {
    let lines: Vec<Line> = json_col("lines", &r.get::<_, String>(5)?)?;
    let overrides: BTreeMap<String, String> = json_col("overrides", &r.get::<_, String>(10)?)?;
    let tags: BTreeSet<String> = json_col("tags", &r.get::<_, String>(14)?)?;
    Ok(Phone {
        mac: parse_col("mac", &r.get::<_, String>(0)?)?,
        model: parse_col("model", &r.get::<_, String>(1)?)?,
        description: r.get(2)?,
        site: r.get(3)?,
        label: r.get(4)?,
        lines,
        observed_load: parse_opt("observed_load", r.get(6)?)?,
        desired_protocol: parse_opt("desired_protocol", r.get(7)?)?,
        desired_load: parse_opt("desired_load", r.get(8)?)?,
        template: r.get(9)?,
        overrides,
        auto_registered: r.get(11)?,
        created_ms: r.get(12)?,
        updated_ms: r.get(13)?,
        tags,
    })
}

const EVENT_COLUMNS: &str =
    "id, time_ms, mac, client_ip, client_port, file, bytes, outcome, detail";

/// The stored `kind` and `load` columns serve queries; the typed kind is
/// the one classifier's reading of the stored name (also for rows written
/// before the columns existed).
fn event_from_row(r: &Row) -> rusqlite::Result<StoredEvent> {
    let mac: Option<String> = r.get(2)?;
    let ip: String = r.get(3)?;
    let outcome: String = r.get(7)?;
    let ip = parse_col::<IpAddr>("client_ip", &ip)?;
    let file: String = r.get(5)?;
    Ok(StoredEvent {
        id: r.get(0)?,
        event: Event::new(
            r.get(1)?,
            parse_opt("event mac", mac)?,
            std::net::SocketAddr::new(ip, r.get(4)?),
            &file,
            r.get::<_, i64>(6)? as u64,
            parse_col("outcome", &outcome)?,
            r.get(8)?,
        ),
    })
}

fn get_phone_tx(tx: &Connection, mac: Mac) -> Result<Option<Phone>> {
    let mut st = tx.prepare_cached(&format!(
        "SELECT {PHONE_COLUMNS} FROM phones WHERE mac = ?1"
    ))?;
    Ok(st.query_row([mac.to_string()], phone_from_row).optional()?)
}

fn template_exists(tx: &Connection, name: &str) -> Result<bool> {
    let mut st = tx.prepare_cached("SELECT 1 FROM templates WHERE name = ?1")?;
    Ok(st.exists([name])?)
}

/// Writes every column of `p` (insert or full replace) and its tags.
/// `is_new` skips clearing tags that cannot exist yet.
fn write_phone_tx(tx: &Connection, p: &Phone, is_new: bool) -> Result<()> {
    if let Some(t) = &p.template {
        if !template_exists(tx, t)? {
            return Err(InventoryError::NoSuchTemplate(t.clone()));
        }
    }
    write_phone_unchecked_tx(tx, p, is_new)
}

/// [`write_phone_tx`] for callers that checked the template already.
fn write_phone_unchecked_tx(tx: &Connection, p: &Phone, is_new: bool) -> Result<()> {
    let mac = p.mac.to_string();
    let mut st = tx.prepare_cached(
        "INSERT INTO phones (mac, model, description, site, label, lines, observed_load, \
         desired_protocol, desired_load, template, overrides, auto_registered, created_ms, updated_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
         ON CONFLICT(mac) DO UPDATE SET model = excluded.model, description = excluded.description, \
         site = excluded.site, label = excluded.label, lines = excluded.lines, \
         observed_load = excluded.observed_load, desired_protocol = excluded.desired_protocol, \
         desired_load = excluded.desired_load, template = excluded.template, \
         overrides = excluded.overrides, auto_registered = excluded.auto_registered, \
         created_ms = excluded.created_ms, updated_ms = excluded.updated_ms",
    )?;
    st.execute(params![
        mac,
        p.model.number(),
        p.description,
        p.site,
        p.label,
        serde_json::to_string(&p.lines).map_err(json_err)?,
        p.observed_load.as_ref().map(LoadName::as_str),
        p.desired_protocol.map(|x| x.to_string()),
        p.desired_load.as_ref().map(LoadName::as_str),
        p.template,
        serde_json::to_string(&p.overrides).map_err(json_err)?,
        p.auto_registered,
        p.created_ms,
        p.updated_ms,
    ])?;
    if !is_new {
        tx.prepare_cached("DELETE FROM phone_tags WHERE mac = ?1")?
            .execute([&mac])?;
    }
    let mut ins = tx.prepare_cached("INSERT INTO phone_tags (mac, tag) VALUES (?1, ?2)")?;
    for t in &p.tags {
        ins.execute([&mac, t])?;
    }
    Ok(())
}

fn template_from_row(r: &Row) -> rusqlite::Result<Template> {
    let protocol: String = r.get(1)?;
    Ok(Template {
        name: r.get(0)?,
        protocol: parse_col::<Protocol>("protocol", &protocol)?,
        settings: json_col("settings", &r.get::<_, String>(2)?)?,
    })
}

impl SqliteInventory {
    /// Opens (creating if needed) the database file and brings its schema
    /// up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteInventory> {
        let conn = Connection::open(path.as_ref()).map_err(|e| {
            InventoryError::Backend(format!("cannot open {}: {e}", path.as_ref().display()))
        })?;
        Self::from_connection(conn, true)
    }

    /// A private database that lives as long as the value: for tests and
    /// for dry runs without a file.
    pub fn open_in_memory() -> Result<SqliteInventory> {
        Self::from_connection(Connection::open_in_memory()?, false)
    }

    fn from_connection(mut conn: Connection, wal: bool) -> Result<SqliteInventory> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        if wal {
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(InventoryError::Backend(format!(
                    "the database refused WAL mode (got {mode}); put it on a local file system"
                )));
            }
        }
        // NORMAL is durable across application crashes in WAL mode and keeps
        // event appends cheap; only a power cut may lose the last commits.
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
        migrate(&mut conn)?;
        Ok(SqliteInventory {
            conn: Mutex::new(conn),
            clock: Arc::new(now_millis),
        })
    }

    /// Replaces the clock that stamps created/updated times.
    pub fn with_clock(mut self, clock: impl Fn() -> Millis + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Caps the database at `pages` pages (SQLite's `max_page_count`, for
    /// this connection): a write that would grow it beyond fails with
    /// SQLITE_FULL, as on a full disk. Returns the cap SQLite set (never
    /// below the pages in use). How the full-disk handling is tested
    /// without a mount, and an emergency brake on a file's growth.
    pub fn limit_pages(&self, pages: u64) -> Result<u64> {
        let c = self.lock();
        let set: i64 = c.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
            r.get(0)
        })?;
        Ok(set as u64)
    }

    /// Pages the database uses now.
    pub fn page_count(&self) -> Result<u64> {
        let c = self.lock();
        let n: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64> {
        let c = self.lock();
        current_version(&c)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a half-done
        // transaction behind (rusqlite rolls back on drop), so the
        // connection is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction) -> Result<T>) -> Result<T> {
        let mut c = self.lock();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let v = f(&tx)?;
        tx.commit()?;
        Ok(v)
    }
}

fn current_version(c: &Connection) -> Result<i64> {
    Ok(c.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    INTEGER PRIMARY KEY,
             name       TEXT NOT NULL,
             applied_ms INTEGER NOT NULL
         )",
    )?;
    let found = current_version(&tx)?;
    if found > latest_version() {
        return Err(InventoryError::SchemaTooNew {
            found,
            known: latest_version(),
        });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        tx.execute_batch(m.sql).map_err(|e| {
            InventoryError::Backend(format!("migration {} ({}) failed: {e}", m.version, m.name))
        })?;
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_ms) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, now_millis()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The `AND ...` conditions of a filter and their arguments.
fn filter_sql(filter: &PhoneFilter) -> (String, Vec<Box<dyn rusqlite::ToSql>>) {
    let mut sql = String::new();
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    for (cond, arg) in filter.conditions() {
        args.push(match arg {
            FilterArg::Text(t) => Box::new(t),
            FilterArg::Bool(b) => Box::new(b),
        });
        sql += " AND ";
        sql += &cond.replace("{}", &format!("?{}", args.len()));
    }
    (sql, args)
}

impl Inventory for SqliteInventory {
    fn put_phone(&self, phone: &Phone) -> Result<()> {
        let mut p = phone.clone();
        p.normalize();
        p.validate()?;
        let now = (self.clock)();
        self.write(|tx| {
            let old = get_phone_tx(tx, p.mac)?;
            p.stamp(old.as_ref(), now);
            write_phone_tx(tx, &p, old.is_none())
        })
    }

    fn update_phone(
        &self,
        mac: Mac,
        change: &mut dyn FnMut(Option<Phone>) -> Result<Phone>,
    ) -> Result<Phone> {
        let now = (self.clock)();
        self.write(|tx| {
            let old = get_phone_tx(tx, mac)?;
            let mut p = change(old.clone())?;
            if p.mac != mac {
                return Err(InventoryError::Rejected(format!(
                    "the new record names phone {} instead of {mac}",
                    p.mac
                )));
            }
            p.normalize();
            p.validate()?;
            p.stamp(old.as_ref(), now);
            write_phone_tx(tx, &p, old.is_none())?;
            Ok(p)
        })
    }

    fn list_phones_page(
        &self,
        filter: &PhoneFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Phone>, usize)> {
        let (clause, args) = filter_sql(filter);
        let mut c = self.lock();
        // One read transaction: the count and the page see the same data.
        let tx = c.transaction()?;
        let total: i64 = tx.query_row(
            &format!("SELECT count(*) FROM phones WHERE 1 = 1{clause}"),
            rusqlite::params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        let sql = format!(
            "SELECT {PHONE_COLUMNS} FROM phones WHERE 1 = 1{clause} ORDER BY mac LIMIT {} OFFSET {}",
            i64::try_from(limit).unwrap_or(i64::MAX),
            i64::try_from(offset).unwrap_or(i64::MAX)
        );
        let phones = {
            let mut st = tx.prepare(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(args.iter()), phone_from_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.commit()?;
        Ok((phones, usize::try_from(total).unwrap_or(0)))
    }

    fn insert_phone_if_absent(&self, phone: &Phone) -> Result<bool> {
        let mut p = phone.clone();
        p.normalize();
        p.validate()?;
        let now = (self.clock)();
        self.write(|tx| {
            if get_phone_tx(tx, p.mac)?.is_some() {
                return Ok(false);
            }
            p.created_ms = now;
            p.updated_ms = now;
            write_phone_tx(tx, &p, true)?;
            Ok(true)
        })
    }

    fn get_phone(&self, mac: Mac) -> Result<Option<Phone>> {
        get_phone_tx(&self.lock(), mac)
    }

    fn delete_phone(&self, mac: Mac) -> Result<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM phones WHERE mac = ?1", [mac.to_string()])? > 0))
    }

    fn list_phones(&self, filter: &PhoneFilter) -> Result<Vec<Phone>> {
        let (clause, args) = filter_sql(filter);
        let sql = format!("SELECT {PHONE_COLUMNS} FROM phones WHERE 1 = 1{clause} ORDER BY mac");
        let c = self.lock();
        let mut st = c.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args.iter()), phone_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn list_phone_states(&self) -> Result<Vec<Phone>> {
        let c = self.lock();
        let mut st = c.prepare_cached(
            "SELECT mac, model, observed_load, desired_protocol, desired_load, template
             FROM phones ORDER BY mac",
        )?;
        let rows = st.query_map([], |r| {
            let mut p = Phone::new(
                parse_col("mac", &r.get::<_, String>(0)?)?,
                parse_col("model", &r.get::<_, String>(1)?)?,
            );
            p.observed_load = parse_opt("observed_load", r.get(2)?)?;
            p.desired_protocol = parse_opt("desired_protocol", r.get(3)?)?;
            p.desired_load = parse_opt("desired_load", r.get(4)?)?;
            p.template = r.get(5)?;
            Ok(p)
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn set_observed_load(&self, mac: Mac, load: &LoadName) -> Result<()> {
        self.write(|tx| {
            let n = tx
                .prepare_cached("UPDATE phones SET observed_load = ?2 WHERE mac = ?1")?
                .execute(params![mac.to_string(), load.as_str()])?;
            if n == 0 {
                return Err(InventoryError::NoSuchPhone(mac));
            }
            Ok(())
        })
    }

    fn import_phones_scoped(
        &self,
        phones: &[Phone],
        scope: ImportScope,
        dry_run: bool,
    ) -> Result<ImportSummary> {
        let now = (self.clock)();
        let mut c = self.lock();
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut summary = ImportSummary {
            dry_run,
            changes: Vec::with_capacity(phones.len()),
        };
        // One query each for the templates and, for big files, the phones
        // already stored: ten thousand point lookups cost more than a scan.
        let templates: HashSet<String> = tx
            .prepare("SELECT name FROM templates")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut existing: Option<HashMap<Mac, Phone>> = if phones.len() >= BULK_LOOKUP {
            let mut st = tx.prepare(&format!("SELECT {PHONE_COLUMNS} FROM phones"))?;
            let all = st
                .query_map([], phone_from_row)?
                .map(|r| r.map(|p| (p.mac, p)))
                .collect::<rusqlite::Result<_>>()?;
            Some(all)
        } else {
            None
        };
        for given in phones {
            let mut new = given.clone();
            new.normalize();
            new.validate()?;
            if let Some(t) = &new.template {
                if !templates.contains(t) {
                    return Err(InventoryError::NoSuchTemplate(t.clone()));
                }
            }
            let old = match &mut existing {
                Some(map) => map.remove(&new.mac),
                None => get_phone_tx(&tx, new.mac)?,
            };
            let (change, stored) = match old {
                None => {
                    new.auto_registered = false;
                    new.created_ms = now;
                    new.updated_ms = now;
                    write_phone_unchecked_tx(&tx, &new, true)?;
                    (Change::Added, new)
                }
                Some(old) => {
                    let mut merged = old.imported(&new, scope);
                    merged.normalize();
                    merged.validate()?;
                    if old.same_admin_fields(&merged) && old.observed_load == merged.observed_load {
                        (Change::Unchanged, old)
                    } else {
                        merged.updated_ms = now;
                        write_phone_unchecked_tx(&tx, &merged, false)?;
                        (Change::Updated, merged)
                    }
                }
            };
            let mac = stored.mac;
            if let Some(map) = &mut existing {
                // A MAC given twice is then seen as stored, as with lookups.
                map.insert(mac, stored);
            }
            summary.changes.push((mac, change));
        }
        if dry_run {
            tx.rollback()?;
        } else {
            tx.commit()?;
        }
        Ok(summary)
    }

    fn put_template(&self, template: &Template) -> Result<()> {
        validate_template(template)?;
        let now = (self.clock)();
        let settings = serde_json::to_string(&template.settings).map_err(json_err)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO templates (name, protocol, settings, created_ms, updated_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(name) DO UPDATE SET \
                 protocol = excluded.protocol, settings = excluded.settings, updated_ms = excluded.updated_ms",
                params![template.name, template.protocol.to_string(), settings, now],
            )?;
            Ok(())
        })
    }

    fn get_template(&self, name: &str) -> Result<Option<Template>> {
        let c = self.lock();
        let mut st =
            c.prepare_cached("SELECT name, protocol, settings FROM templates WHERE name = ?1")?;
        Ok(st.query_row([name], template_from_row).optional()?)
    }

    fn list_templates(&self) -> Result<Vec<Template>> {
        let c = self.lock();
        let mut st =
            c.prepare_cached("SELECT name, protocol, settings FROM templates ORDER BY name")?;
        let rows = st.query_map([], template_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn delete_template(&self, name: &str) -> Result<bool> {
        self.write(|tx| {
            let users: u64 = tx.query_row(
                "SELECT count(*) FROM phones WHERE template = ?1",
                [name],
                |r| r.get(0),
            )?;
            if users > 0 {
                return Err(InventoryError::TemplateInUse {
                    name: name.to_string(),
                    phones: users,
                });
            }
            Ok(tx.execute("DELETE FROM templates WHERE name = ?1", [name])? > 0)
        })
    }

    fn append_events(&self, events: &[Event]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            let mut st = tx.prepare_cached(
                "INSERT INTO events (time_ms, mac, client_ip, client_port, file, bytes, outcome, detail, kind, load) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for e in events {
                st.execute(params![
                    e.time_ms,
                    e.mac.map(|m| m.to_string()),
                    e.client_ip.to_string(),
                    e.client_port,
                    e.file,
                    i64::try_from(e.bytes).unwrap_or(i64::MAX),
                    e.outcome.as_str(),
                    e.detail,
                    e.kind.tag(),
                    e.load().map(|l| l.as_str()),
                ])?;
            }
            Ok(())
        })
    }

    fn timeline(&self, mac: Mac, limit: usize) -> Result<Vec<StoredEvent>> {
        let c = self.lock();
        let mut st = c.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE mac = ?1 \
             ORDER BY time_ms DESC, id DESC LIMIT ?2"
        ))?;
        let rows = st.query_map(
            params![mac.to_string(), i64::try_from(limit).unwrap_or(i64::MAX)],
            event_from_row,
        )?;
        let mut v = rows.collect::<rusqlite::Result<Vec<_>>>()?;
        v.reverse();
        Ok(v)
    }

    fn attribute_events(
        &self,
        client_ip: std::net::IpAddr,
        mac: Mac,
        since: Millis,
        until: Millis,
    ) -> Result<u64> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE events SET mac = ?1 \
                 WHERE mac IS NULL AND client_ip = ?2 AND time_ms BETWEEN ?3 AND ?4",
                params![mac.to_string(), client_ip.to_string(), since, until],
            )? as u64)
        })
    }

    fn events_after(&self, after_id: i64, limit: usize) -> Result<Vec<StoredEvent>> {
        let c = self.lock();
        let mut st = c.prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))?;
        let rows = st.query_map(
            params![after_id, i64::try_from(limit).unwrap_or(i64::MAX)],
            event_from_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn prune_events(&self, before: Millis) -> Result<u64> {
        self.write(|tx| Ok(tx.execute("DELETE FROM events WHERE time_ms < ?1", [before])? as u64))
    }

    fn prune_events_beyond(&self, keep: u64) -> Result<u64> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        self.write(|tx| {
            // The newest `keep` rows stay: everything at or below the id
            // of the first row past them goes (ids only grow).
            Ok(tx.execute(
                "DELETE FROM events WHERE id <= \
                 (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?1)",
                [keep],
            )? as u64)
        })
    }

    fn count_events(&self) -> Result<u64> {
        let c = self.lock();
        let n: i64 = c.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
        Ok(n as u64)
    }
}

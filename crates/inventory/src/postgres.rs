//! The PostgreSQL store, for sites where several `serve` nodes share one
//! inventory (issue 17). All SQL of the PostgreSQL backend lives here; the
//! semantics are [`crate::SqliteInventory`]'s, checked by the same test
//! suite run against both.
//!
//! A small connection pool (r2d2) serves the callers' threads; versioned
//! migrations live in their own table and run under an advisory lock, so
//! nodes starting together migrate once. Imports write through `COPY`
//! into a temporary table and one `INSERT ... ON CONFLICT`, so 100,000
//! phones take seconds, not minutes of round trips. Event appends take a
//! transaction-level advisory lock, so event ids become visible in the
//! order they were given: a reader following the log by id
//! ([`Inventory::events_after`], the job engine's cursor) never steps past
//! an id that another node commits later.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use phoneflip_config::{Line, Template};
use phoneflip_device::Mac;
use phoneflip_firmware::{LoadName, Protocol};
use r2d2_postgres::postgres::{self, types::ToSql, GenericClient, NoTls, Row};
use r2d2_postgres::PostgresConnectionManager;

use crate::record::{
    now_millis, Change, Event, FilterArg, ImportScope, ImportSummary, Millis, Phone, PhoneFilter,
    StoredEvent,
};
use crate::sqlite::Migration;
use crate::store::{validate_template, Inventory, InventoryError, Result};

/// The PostgreSQL schema steps; like SQLite's, append only. Version 1 is
/// SQLite's schema at its version 3 (the MAC-less rows it attributes
/// cannot exist here: every PostgreSQL row was written by the pipeline
/// that attributes them).
pub const PG_MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "phones, tags, templates, events (with kind and load)",
    sql: r#"
CREATE TABLE templates (
    name        TEXT PRIMARY KEY,
    protocol    TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_ms  BIGINT NOT NULL,
    updated_ms  BIGINT NOT NULL
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
    auto_registered  BOOLEAN NOT NULL DEFAULT false,
    created_ms       BIGINT NOT NULL,
    updated_ms       BIGINT NOT NULL
);
CREATE INDEX phones_site ON phones(site);
CREATE INDEX phones_model ON phones(model);
CREATE INDEX phones_template ON phones(template);
CREATE TABLE phone_tags (
    mac  TEXT NOT NULL REFERENCES phones(mac) ON DELETE CASCADE,
    tag  TEXT NOT NULL,
    PRIMARY KEY (mac, tag)
);
CREATE INDEX phone_tags_tag ON phone_tags(tag);
CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    time_ms     BIGINT NOT NULL,
    mac         TEXT,
    client_ip   TEXT NOT NULL,
    client_port INTEGER NOT NULL,
    file        TEXT NOT NULL,
    bytes       BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT,
    kind        TEXT,
    load        TEXT
);
CREATE INDEX events_mac_time ON events(mac, time_ms);
CREATE INDEX events_client_time ON events(client_ip, time_ms);
CREATE INDEX events_time ON events(time_ms);
CREATE INDEX events_mac_kind ON events(mac, kind);
"#,
}];

/// The newest PostgreSQL schema version this build knows.
pub fn pg_latest_version() -> i64 {
    PG_MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Keys of the advisory locks (any constant; these spell "pf" + purpose).
const MIGRATE_LOCK: i64 = 0x7066_0001;
const EVENTS_LOCK: i64 = 0x7066_0002;

/// Connections per process: the TFTP recorder, the API's blocking tasks
/// and the job engine rarely need more than a few at once.
const POOL_SIZE: u32 = 8;

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// The PostgreSQL inventory.
pub struct PgInventory {
    /// Dropped off the runtime's thread (see the `Drop` impl).
    pool: std::mem::ManuallyDrop<Pool>,
    clock: Clock,
    /// The URL without its password, for messages.
    shown: String,
}

/// `url` with any password replaced, for error messages and logs.
pub fn redact_url(url: &str) -> String {
    // postgres://user:password@host/db
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((cred, host)) = rest.split_once('@') {
            if let Some((user, _)) = cred.split_once(':') {
                return format!("{scheme}://{user}:***@{host}");
            }
        }
    }
    url.to_string()
}

fn pg_err(e: postgres::Error) -> InventoryError {
    // The server's message (with its detail) says more than Display's
    // "db error".
    match e.as_db_error() {
        Some(db) => InventoryError::Backend(match db.detail() {
            Some(d) => format!("{}: {d}", db.message()),
            None => db.message().to_string(),
        }),
        None => InventoryError::Backend(e.to_string()),
    }
}

fn json_err(e: serde_json::Error) -> InventoryError {
    InventoryError::Corrupt(e.to_string())
}

fn corrupt(what: &str, value: &str, e: impl std::fmt::Display) -> InventoryError {
    InventoryError::Corrupt(format!("{what} {value:?}: {e}"))
}

fn parse_col<T: std::str::FromStr>(what: &str, s: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| corrupt(what, s, e))
}

fn parse_opt<T: std::str::FromStr>(what: &str, s: Option<String>) -> Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    s.map(|s| parse_col(what, &s)).transpose()
}

fn json_col<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| corrupt(what, s, e))
}

const PHONE_COLUMNS: &str = "mac, model, description, site, label, lines, observed_load, \
desired_protocol, desired_load, template, overrides, auto_registered, created_ms, updated_ms, \
coalesce((SELECT json_agg(tag ORDER BY tag) FROM phone_tags t WHERE t.mac = phones.mac)::text, '[]')";

fn phone_from_row(r: &Row) -> Result<Phone> {
    let lines: Vec<Line> = json_col("lines", r.get::<_, &str>(5))?;
    let overrides: BTreeMap<String, String> = json_col("overrides", r.get::<_, &str>(10))?;
    let tags: BTreeSet<String> = json_col("tags", r.get::<_, &str>(14))?;
    Ok(Phone {
        mac: parse_col("mac", r.get::<_, &str>(0))?,
        model: parse_col("model", r.get::<_, &str>(1))?,
        description: r.get(2),
        site: r.get(3),
        label: r.get(4),
        lines,
        observed_load: parse_opt("observed_load", r.get(6))?,
        desired_protocol: parse_opt("desired_protocol", r.get(7))?,
        desired_load: parse_opt("desired_load", r.get(8))?,
        template: r.get(9),
        overrides,
        auto_registered: r.get(11),
        created_ms: r.get(12),
        updated_ms: r.get(13),
        tags,
    })
}

const EVENT_COLUMNS: &str =
    "id, time_ms, mac, client_ip, client_port, file, bytes, outcome, detail";

fn event_from_row(r: &Row) -> Result<StoredEvent> {
    let ip = parse_col::<IpAddr>("client_ip", r.get::<_, &str>(3))?;
    let port: i32 = r.get(4);
    let port = u16::try_from(port).map_err(|e| corrupt("client_port", &port.to_string(), e))?;
    Ok(StoredEvent {
        id: r.get(0),
        event: Event::new(
            r.get(1),
            parse_opt("event mac", r.get(2))?,
            std::net::SocketAddr::new(ip, port),
            r.get::<_, &str>(5),
            r.get::<_, i64>(6) as u64,
            parse_col("outcome", r.get::<_, &str>(7))?,
            r.get(8),
        ),
    })
}

fn template_from_row(r: &Row) -> Result<Template> {
    Ok(Template {
        name: r.get(0),
        protocol: parse_col::<Protocol>("protocol", r.get::<_, &str>(1))?,
        settings: json_col("settings", r.get::<_, &str>(2))?,
    })
}

fn get_phone_tx(c: &mut impl GenericClient, mac: Mac, lock: bool) -> Result<Option<Phone>> {
    let sql = format!(
        "SELECT {PHONE_COLUMNS} FROM phones WHERE mac = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    c.query_opt(&sql, &[&mac.to_string()])
        .map_err(pg_err)?
        .map(|r| phone_from_row(&r))
        .transpose()
}

/// Writes every column of `p` (insert or full replace) and its tags.
fn write_phone_tx(c: &mut impl GenericClient, p: &Phone, is_new: bool) -> Result<()> {
    if let Some(t) = &p.template {
        if c.query_opt("SELECT 1 FROM templates WHERE name = $1", &[t])
            .map_err(pg_err)?
            .is_none()
        {
            return Err(InventoryError::NoSuchTemplate(t.clone()));
        }
    }
    let mac = p.mac.to_string();
    let lines = serde_json::to_string(&p.lines).map_err(json_err)?;
    let overrides = serde_json::to_string(&p.overrides).map_err(json_err)?;
    let protocol = p.desired_protocol.map(|x| x.to_string());
    c.execute(
        "INSERT INTO phones (mac, model, description, site, label, lines, observed_load, \
         desired_protocol, desired_load, template, overrides, auto_registered, created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (mac) DO UPDATE SET model = excluded.model, description = excluded.description, \
         site = excluded.site, label = excluded.label, lines = excluded.lines, \
         observed_load = excluded.observed_load, desired_protocol = excluded.desired_protocol, \
         desired_load = excluded.desired_load, template = excluded.template, \
         overrides = excluded.overrides, auto_registered = excluded.auto_registered, \
         created_ms = excluded.created_ms, updated_ms = excluded.updated_ms",
        &[
            &mac,
            &p.model.number(),
            &p.description,
            &p.site,
            &p.label,
            &lines,
            &p.observed_load.as_ref().map(LoadName::as_str),
            &protocol,
            &p.desired_load.as_ref().map(LoadName::as_str),
            &p.template,
            &overrides,
            &p.auto_registered,
            &p.created_ms,
            &p.updated_ms,
        ],
    )
    .map_err(pg_err)?;
    if !is_new {
        c.execute("DELETE FROM phone_tags WHERE mac = $1", &[&mac])
            .map_err(pg_err)?;
    }
    if !p.tags.is_empty() {
        let tags: Vec<&str> = p.tags.iter().map(String::as_str).collect();
        c.execute(
            "INSERT INTO phone_tags (mac, tag) SELECT $1, unnest($2::text[])",
            &[&mac, &tags],
        )
        .map_err(pg_err)?;
    }
    Ok(())
}

/// The `AND ...` conditions of a filter and their arguments.
fn filter_sql(filter: &PhoneFilter) -> (String, Vec<Box<dyn ToSql + Sync>>) {
    let mut sql = String::new();
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    for (cond, arg) in filter.conditions() {
        args.push(match arg {
            FilterArg::Text(t) => Box::new(t),
            FilterArg::Bool(b) => Box::new(b),
        });
        sql += " AND ";
        sql += &cond.replace("{}", &format!("${}", args.len()));
    }
    (sql, args)
}

fn arg_refs(args: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a.as_ref()).collect()
}

/// One field of PostgreSQL's text `COPY` format: `\N` for NULL, and the
/// four characters that would end a field or row escaped.
fn copy_field(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => out.extend_from_slice(b"\\N"),
        Some(s) => {
            for b in s.bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
    }
}

fn copy_row(out: &mut Vec<u8>, fields: &[Option<&str>]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        copy_field(out, *f);
    }
    out.push(b'\n');
}

impl PgInventory {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/db`) and
    /// brings the schema up to date.
    pub fn open(url: &str) -> Result<PgInventory> {
        off_runtime(|| Self::do_open(url))
    }

    fn do_open(url: &str) -> Result<PgInventory> {
        let shown = redact_url(url);
        let pool = connect_pool(url, POOL_SIZE).map_err(|e| {
            InventoryError::Backend(format!("cannot connect to the inventory {shown}: {e}"))
        })?;
        let s = PgInventory {
            pool: std::mem::ManuallyDrop::new(pool),
            clock: Arc::new(now_millis),
            shown,
        };
        s.migrate()?;
        Ok(s)
    }

    /// Replaces the clock that stamps created/updated times.
    pub fn with_clock(mut self, clock: impl Fn() -> Millis + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The database, password hidden.
    pub fn url(&self) -> &str {
        &self.shown
    }

    pub fn schema_version(&self) -> Result<i64> {
        let mut c = self.conn()?;
        let r = c
            .query_one(
                "SELECT coalesce(max(version), 0)::bigint FROM schema_version",
                &[],
            )
            .map_err(pg_err)?;
        Ok(r.get(0))
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>> {
        self.pool.get().map_err(|e| {
            InventoryError::Backend(format!(
                "no connection to the inventory {}: {e}",
                self.shown
            ))
        })
    }

    fn write<T>(&self, f: impl FnOnce(&mut postgres::Transaction) -> Result<T>) -> Result<T> {
        let mut c = self.conn()?;
        let mut tx = c.transaction().map_err(pg_err)?;
        let v = f(&mut tx)?;
        tx.commit().map_err(pg_err)?;
        Ok(v)
    }

    fn migrate(&self) -> Result<()> {
        self.write(|tx| {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
                .map_err(pg_err)?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_version (
                     version    BIGINT PRIMARY KEY,
                     name       TEXT NOT NULL,
                     applied_ms BIGINT NOT NULL
                 )",
            )
            .map_err(pg_err)?;
            let found: i64 = tx
                .query_one(
                    "SELECT coalesce(max(version), 0)::bigint FROM schema_version",
                    &[],
                )
                .map_err(pg_err)?
                .get(0);
            if found > pg_latest_version() {
                return Err(InventoryError::SchemaTooNew {
                    found,
                    known: pg_latest_version(),
                });
            }
            for m in PG_MIGRATIONS.iter().filter(|m| m.version > found) {
                tx.batch_execute(m.sql).map_err(|e| {
                    InventoryError::Backend(format!(
                        "migration {} ({}) failed: {}",
                        m.version,
                        m.name,
                        pg_err(e)
                    ))
                })?;
                tx.execute(
                    "INSERT INTO schema_version (version, name, applied_ms) VALUES ($1, $2, $3)",
                    &[&m.version, &m.name, &now_millis()],
                )
                .map_err(pg_err)?;
            }
            Ok(())
        })
    }
}

/// Runs `f` where the synchronous PostgreSQL client may block: on this
/// thread, or on a thread of its own when this one drives a tokio runtime
/// (the client runs its own runtime inside, which tokio refuses to nest).
/// The job engine calls its store from async code.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// [`off_runtime`] for work that cannot move to another thread (a
/// caller's closure): on a multi-threaded runtime the worker gives its
/// tasks away and blocks (`block_in_place`); a single-threaded runtime
/// cannot do that, and gets an error instead of a panic.
fn off_runtime_here<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Err(_) => f(),
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        Ok(_) => Err(InventoryError::Backend(
            "a PostgreSQL inventory update was called on a single-threaded async runtime; call it from spawn_blocking".into(),
        )),
    }
}

/// A pool of `size` connections to `url`; shared with the job store.
pub fn connect_pool(url: &str, size: u32) -> std::result::Result<Pool, String> {
    let config: postgres::Config = url
        .parse()
        .map_err(|e| format!("not a PostgreSQL URL ({e}); write postgres://USER@HOST:PORT/DB"))?;
    // One direct connection first: a wrong host, port, user or database
    // fails at once with the server's own reason, instead of after the
    // pool's connection timeout with a generic one.
    config.connect(NoTls).map_err(|e| match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    })?;
    let manager = PostgresConnectionManager::new(config, NoTls);
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .map_err(|e| e.to_string())
}

impl PgInventory {
    fn do_put_phone(&self, phone: &Phone) -> Result<()> {
        let mut p = phone.clone();
        p.normalize();
        p.validate()?;
        let now = (self.clock)();
        self.write(|tx| {
            let old = get_phone_tx(tx, p.mac, true)?;
            p.stamp(old.as_ref(), now);
            write_phone_tx(tx, &p, old.is_none())
        })
    }

    fn do_insert_phone_if_absent(&self, phone: &Phone) -> Result<bool> {
        let mut p = phone.clone();
        p.normalize();
        p.validate()?;
        let now = (self.clock)();
        self.write(|tx| {
            if get_phone_tx(tx, p.mac, true)?.is_some() {
                return Ok(false);
            }
            p.created_ms = now;
            p.updated_ms = now;
            // Two nodes auto-registering the same phone at once: the
            // second insert finds the row and changes nothing.
            if let Some(t) = &p.template {
                if tx
                    .query_opt("SELECT 1 FROM templates WHERE name = $1", &[t])
                    .map_err(pg_err)?
                    .is_none()
                {
                    return Err(InventoryError::NoSuchTemplate(t.clone()));
                }
            }
            let n = tx
                .execute(
                    "INSERT INTO phones (mac, model, created_ms, updated_ms) VALUES ($1, $2, $3, $3) \
                     ON CONFLICT (mac) DO NOTHING",
                    &[&p.mac.to_string(), &p.model.number(), &now],
                )
                .map_err(pg_err)?;
            if n == 0 {
                return Ok(false);
            }
            write_phone_tx(tx, &p, true)?;
            Ok(true)
        })
    }

    fn do_get_phone(&self, mac: Mac) -> Result<Option<Phone>> {
        get_phone_tx(&mut *self.conn()?, mac, false)
    }

    fn do_delete_phone(&self, mac: Mac) -> Result<bool> {
        self.write(|tx| {
            Ok(tx
                .execute("DELETE FROM phones WHERE mac = $1", &[&mac.to_string()])
                .map_err(pg_err)?
                > 0)
        })
    }

    fn do_list_phones(&self, filter: &PhoneFilter) -> Result<Vec<Phone>> {
        let (clause, args) = filter_sql(filter);
        let sql = format!("SELECT {PHONE_COLUMNS} FROM phones WHERE true{clause} ORDER BY mac");
        let rows = self.conn()?.query(&sql, &arg_refs(&args)).map_err(pg_err)?;
        rows.iter().map(phone_from_row).collect()
    }

    fn do_list_phones_page(
        &self,
        filter: &PhoneFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Phone>, usize)> {
        let (clause, args) = filter_sql(filter);
        let mut c = self.conn()?;
        // One snapshot: the count and the page see the same data.
        let mut tx = c
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg_err)?;
        let total: i64 = tx
            .query_one(
                &format!("SELECT count(*) FROM phones WHERE true{clause}"),
                &arg_refs(&args),
            )
            .map_err(pg_err)?
            .get(0);
        let sql = format!(
            "SELECT {PHONE_COLUMNS} FROM phones WHERE true{clause} ORDER BY mac LIMIT {} OFFSET {}",
            i64::try_from(limit).unwrap_or(i64::MAX),
            i64::try_from(offset).unwrap_or(i64::MAX)
        );
        let rows = tx.query(&sql, &arg_refs(&args)).map_err(pg_err)?;
        let phones = rows
            .iter()
            .map(phone_from_row)
            .collect::<Result<Vec<_>>>()?;
        tx.commit().map_err(pg_err)?;
        Ok((phones, usize::try_from(total).unwrap_or(0)))
    }

    fn do_update_phone(
        &self,
        mac: Mac,
        change: &mut dyn FnMut(Option<Phone>) -> Result<Phone>,
    ) -> Result<Phone> {
        let now = (self.clock)();
        self.write(|tx| {
            let old = get_phone_tx(tx, mac, true)?;
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

    fn do_set_observed_load(&self, mac: Mac, load: &LoadName) -> Result<()> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE phones SET observed_load = $2 WHERE mac = $1",
                    &[&mac.to_string(), &load.as_str()],
                )
                .map_err(pg_err)?;
            if n == 0 {
                return Err(InventoryError::NoSuchPhone(mac));
            }
            Ok(())
        })
    }

    fn do_import_phones_scoped(
        &self,
        phones: &[Phone],
        scope: ImportScope,
        dry_run: bool,
    ) -> Result<ImportSummary> {
        let now = (self.clock)();
        let mut c = self.conn()?;
        let mut tx = c.transaction().map_err(pg_err)?;
        // Readers go on; other writers wait for this import, as SQLite's
        // immediate transaction makes them.
        tx.batch_execute("LOCK TABLE phones IN EXCLUSIVE MODE")
            .map_err(pg_err)?;
        let templates: HashSet<String> = tx
            .query("SELECT name FROM templates", &[])
            .map_err(pg_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let macs: Vec<String> = phones.iter().map(|p| p.mac.to_string()).collect();
        let mut stored: HashMap<Mac, Phone> = HashMap::new();
        for r in tx
            .query(
                &format!("SELECT {PHONE_COLUMNS} FROM phones WHERE mac = ANY($1)"),
                &[&macs],
            )
            .map_err(pg_err)?
        {
            let p = phone_from_row(&r)?;
            stored.insert(p.mac, p);
        }
        let mut summary = ImportSummary {
            dry_run,
            changes: Vec::with_capacity(phones.len()),
        };
        // What to write, one row per MAC (a MAC given twice is written
        // once, as it finally is).
        let mut writes: BTreeMap<Mac, Phone> = BTreeMap::new();
        for given in phones {
            let mut new = given.clone();
            new.normalize();
            new.validate()?;
            if let Some(t) = &new.template {
                if !templates.contains(t) {
                    return Err(InventoryError::NoSuchTemplate(t.clone()));
                }
            }
            let (change, row) = match stored.get(&new.mac) {
                None => {
                    new.auto_registered = false;
                    new.created_ms = now;
                    new.updated_ms = now;
                    (Change::Added, new)
                }
                Some(old) => {
                    let mut merged = old.imported(&new, scope);
                    merged.normalize();
                    merged.validate()?;
                    if old.same_admin_fields(&merged) && old.observed_load == merged.observed_load {
                        (Change::Unchanged, old.clone())
                    } else {
                        merged.updated_ms = now;
                        (Change::Updated, merged)
                    }
                }
            };
            let mac = row.mac;
            if change != Change::Unchanged {
                writes.insert(mac, row.clone());
            }
            stored.insert(mac, row);
            summary.changes.push((mac, change));
        }
        if !writes.is_empty() {
            copy_phones(&mut tx, writes.values())?;
        }
        if dry_run {
            tx.rollback().map_err(pg_err)?;
        } else {
            tx.commit().map_err(pg_err)?;
        }
        Ok(summary)
    }

    fn do_put_template(&self, template: &Template) -> Result<()> {
        validate_template(template)?;
        let now = (self.clock)();
        let settings = serde_json::to_string(&template.settings).map_err(json_err)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO templates (name, protocol, settings, created_ms, updated_ms) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name) DO UPDATE SET \
                 protocol = excluded.protocol, settings = excluded.settings, updated_ms = excluded.updated_ms",
                &[&template.name, &template.protocol.to_string(), &settings, &now],
            )
            .map_err(pg_err)?;
            Ok(())
        })
    }

    fn do_get_template(&self, name: &str) -> Result<Option<Template>> {
        self.conn()?
            .query_opt(
                "SELECT name, protocol, settings FROM templates WHERE name = $1",
                &[&name],
            )
            .map_err(pg_err)?
            .map(|r| template_from_row(&r))
            .transpose()
    }

    fn do_list_templates(&self) -> Result<Vec<Template>> {
        self.conn()?
            .query(
                "SELECT name, protocol, settings FROM templates ORDER BY name",
                &[],
            )
            .map_err(pg_err)?
            .iter()
            .map(template_from_row)
            .collect()
    }

    fn do_delete_template(&self, name: &str) -> Result<bool> {
        self.write(|tx| {
            // Locks the template row: a phone cannot take it meanwhile
            // (its foreign key check waits for this transaction).
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM templates WHERE name = $1 FOR UPDATE",
                    &[&name],
                )
                .map_err(pg_err)?
                .is_some();
            let users: i64 = tx
                .query_one("SELECT count(*) FROM phones WHERE template = $1", &[&name])
                .map_err(pg_err)?
                .get(0);
            if users > 0 {
                return Err(InventoryError::TemplateInUse {
                    name: name.to_string(),
                    phones: users as u64,
                });
            }
            if !exists {
                return Ok(false);
            }
            Ok(tx
                .execute("DELETE FROM templates WHERE name = $1", &[&name])
                .map_err(pg_err)?
                > 0)
        })
    }

    fn do_append_events(&self, events: &[Event]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut time = Vec::with_capacity(events.len());
        let mut mac = Vec::with_capacity(events.len());
        let mut ip = Vec::with_capacity(events.len());
        let mut port = Vec::with_capacity(events.len());
        let mut file = Vec::with_capacity(events.len());
        let mut bytes = Vec::with_capacity(events.len());
        let mut outcome = Vec::with_capacity(events.len());
        let mut detail = Vec::with_capacity(events.len());
        let mut kind = Vec::with_capacity(events.len());
        let mut load = Vec::with_capacity(events.len());
        for e in events {
            time.push(e.time_ms);
            mac.push(e.mac.map(|m| m.to_string()));
            ip.push(e.client_ip.to_string());
            port.push(i32::from(e.client_port));
            file.push(e.file.as_str());
            bytes.push(i64::try_from(e.bytes).unwrap_or(i64::MAX));
            outcome.push(e.outcome.as_str());
            detail.push(e.detail.as_deref());
            kind.push(e.kind.tag());
            load.push(e.load().map(|l| l.as_str()));
        }
        self.write(|tx| {
            // Ids are taken and committed in one order across nodes (see
            // the module doc).
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&EVENTS_LOCK])
                .map_err(pg_err)?;
            tx.execute(
                "INSERT INTO events (time_ms, mac, client_ip, client_port, file, bytes, outcome, detail, kind, load) \
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[], \
                 $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[])",
                &[&time, &mac, &ip, &port, &file, &bytes, &outcome, &detail, &kind, &load],
            )
            .map_err(pg_err)?;
            Ok(())
        })
    }

    fn do_timeline(&self, mac: Mac, limit: usize) -> Result<Vec<StoredEvent>> {
        let rows = self
            .conn()?
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE mac = $1 \
                     ORDER BY time_ms DESC, id DESC LIMIT $2"
                ),
                &[&mac.to_string(), &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .map_err(pg_err)?;
        let mut v = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>>>()?;
        v.reverse();
        Ok(v)
    }

    fn do_attribute_events(
        &self,
        client_ip: IpAddr,
        mac: Mac,
        since: Millis,
        until: Millis,
    ) -> Result<u64> {
        self.write(|tx| {
            tx.execute(
                "UPDATE events SET mac = $1 \
                 WHERE mac IS NULL AND client_ip = $2 AND time_ms BETWEEN $3 AND $4",
                &[&mac.to_string(), &client_ip.to_string(), &since, &until],
            )
            .map_err(pg_err)
        })
    }

    fn do_events_after(&self, after_id: i64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.conn()?
            .query(
                &format!("SELECT {EVENT_COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2"),
                &[&after_id, &i64::try_from(limit).unwrap_or(i64::MAX)],
            )
            .map_err(pg_err)?
            .iter()
            .map(event_from_row)
            .collect()
    }

    fn do_prune_events(&self, before: Millis) -> Result<u64> {
        self.write(|tx| {
            tx.execute("DELETE FROM events WHERE time_ms < $1", &[&before])
                .map_err(pg_err)
        })
    }

    fn do_prune_events_beyond(&self, keep: u64) -> Result<u64> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        self.write(|tx| {
            // The newest `keep` rows stay (ids are committed in order).
            tx.execute(
                "DELETE FROM events WHERE id <= \
                 (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET $1)",
                &[&keep],
            )
            .map_err(pg_err)
        })
    }

    fn do_count_events(&self) -> Result<u64> {
        let n: i64 = self
            .conn()?
            .query_one("SELECT count(*) FROM events", &[])
            .map_err(pg_err)?
            .get(0);
        Ok(n as u64)
    }
}

/// Every call runs where the synchronous client may block
/// ([`off_runtime`]): the TFTP server and the job engine call from async code.
impl Inventory for PgInventory {
    fn put_phone(&self, phone: &Phone) -> Result<()> {
        off_runtime(|| self.do_put_phone(phone))
    }

    fn insert_phone_if_absent(&self, phone: &Phone) -> Result<bool> {
        off_runtime(|| self.do_insert_phone_if_absent(phone))
    }

    fn get_phone(&self, mac: Mac) -> Result<Option<Phone>> {
        off_runtime(|| self.do_get_phone(mac))
    }

    fn delete_phone(&self, mac: Mac) -> Result<bool> {
        off_runtime(|| self.do_delete_phone(mac))
    }

    fn list_phones(&self, filter: &PhoneFilter) -> Result<Vec<Phone>> {
        off_runtime(|| self.do_list_phones(filter))
    }

    fn list_phones_page(
        &self,
        filter: &PhoneFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Phone>, usize)> {
        off_runtime(|| self.do_list_phones_page(filter, offset, limit))
    }

    fn update_phone(
        &self,
        mac: Mac,
        change: &mut dyn FnMut(Option<Phone>) -> Result<Phone>,
    ) -> Result<Phone> {
        off_runtime_here(|| self.do_update_phone(mac, change))
    }

    fn set_observed_load(&self, mac: Mac, load: &LoadName) -> Result<()> {
        off_runtime(|| self.do_set_observed_load(mac, load))
    }

    fn import_phones_scoped(
        &self,
        phones: &[Phone],
        scope: ImportScope,
        dry_run: bool,
    ) -> Result<ImportSummary> {
        off_runtime(|| self.do_import_phones_scoped(phones, scope, dry_run))
    }

    fn put_template(&self, template: &Template) -> Result<()> {
        off_runtime(|| self.do_put_template(template))
    }

    fn get_template(&self, name: &str) -> Result<Option<Template>> {
        off_runtime(|| self.do_get_template(name))
    }

    fn list_templates(&self) -> Result<Vec<Template>> {
        off_runtime(|| self.do_list_templates())
    }

    fn delete_template(&self, name: &str) -> Result<bool> {
        off_runtime(|| self.do_delete_template(name))
    }

    fn append_events(&self, events: &[Event]) -> Result<()> {
        off_runtime(|| self.do_append_events(events))
    }

    fn timeline(&self, mac: Mac, limit: usize) -> Result<Vec<StoredEvent>> {
        off_runtime(|| self.do_timeline(mac, limit))
    }

    fn attribute_events(
        &self,
        client_ip: IpAddr,
        mac: Mac,
        since: Millis,
        until: Millis,
    ) -> Result<u64> {
        off_runtime(|| self.do_attribute_events(client_ip, mac, since, until))
    }

    fn events_after(&self, after_id: i64, limit: usize) -> Result<Vec<StoredEvent>> {
        off_runtime(|| self.do_events_after(after_id, limit))
    }

    fn prune_events(&self, before: Millis) -> Result<u64> {
        off_runtime(|| self.do_prune_events(before))
    }

    fn prune_events_beyond(&self, keep: u64) -> Result<u64> {
        off_runtime(|| self.do_prune_events_beyond(keep))
    }

    fn count_events(&self) -> Result<u64> {
        off_runtime(|| self.do_count_events())
    }
}

/// Writes `rows` (new or changed phones, each MAC once) with their tags:
/// `COPY` into temporary tables, then one upsert and one tag replacement.
fn copy_phones<'a>(
    tx: &mut postgres::Transaction,
    rows: impl Iterator<Item = &'a Phone>,
) -> Result<()> {
    tx.batch_execute(
        "CREATE TEMP TABLE import_phones (LIKE phones INCLUDING DEFAULTS) ON COMMIT DROP;
         CREATE TEMP TABLE import_tags (mac TEXT NOT NULL, tag TEXT NOT NULL) ON COMMIT DROP;",
    )
    .map_err(pg_err)?;
    let mut phones_buf = Vec::new();
    let mut tags_buf = Vec::new();
    for p in rows {
        let mac = p.mac.to_string();
        let lines = serde_json::to_string(&p.lines).map_err(json_err)?;
        let overrides = serde_json::to_string(&p.overrides).map_err(json_err)?;
        let protocol = p.desired_protocol.map(|x| x.to_string());
        let created = p.created_ms.to_string();
        let updated = p.updated_ms.to_string();
        copy_row(
            &mut phones_buf,
            &[
                Some(&mac),
                Some(p.model.number()),
                Some(&p.description),
                p.site.as_deref(),
                p.label.as_deref(),
                Some(&lines),
                p.observed_load.as_ref().map(LoadName::as_str),
                protocol.as_deref(),
                p.desired_load.as_ref().map(LoadName::as_str),
                p.template.as_deref(),
                Some(&overrides),
                Some(if p.auto_registered { "t" } else { "f" }),
                Some(&created),
                Some(&updated),
            ],
        );
        for t in &p.tags {
            copy_row(&mut tags_buf, &[Some(&mac), Some(t)]);
        }
    }
    let mut w = tx
        .copy_in(
            "COPY import_phones (mac, model, description, site, label, lines, observed_load, \
             desired_protocol, desired_load, template, overrides, auto_registered, created_ms, updated_ms) \
             FROM STDIN",
        )
        .map_err(pg_err)?;
    w.write_all(&phones_buf)
        .map_err(|e| InventoryError::Backend(format!("COPY of the imported phones: {e}")))?;
    w.finish().map_err(pg_err)?;
    let mut w = tx
        .copy_in("COPY import_tags (mac, tag) FROM STDIN")
        .map_err(pg_err)?;
    w.write_all(&tags_buf)
        .map_err(|e| InventoryError::Backend(format!("COPY of the imported tags: {e}")))?;
    w.finish().map_err(pg_err)?;
    tx.batch_execute(
        "INSERT INTO phones SELECT * FROM import_phones \
         ON CONFLICT (mac) DO UPDATE SET model = excluded.model, description = excluded.description, \
         site = excluded.site, label = excluded.label, lines = excluded.lines, \
         observed_load = excluded.observed_load, desired_protocol = excluded.desired_protocol, \
         desired_load = excluded.desired_load, template = excluded.template, \
         overrides = excluded.overrides, auto_registered = excluded.auto_registered, \
         created_ms = excluded.created_ms, updated_ms = excluded.updated_ms;
         DELETE FROM phone_tags t USING import_phones i WHERE t.mac = i.mac;
         INSERT INTO phone_tags (mac, tag) SELECT mac, tag FROM import_tags;",
    )
    .map_err(pg_err)?;
    Ok(())
}

/// The pool's connections close by blocking, which a tokio worker must
/// not do (a store held by a task is dropped there when the task ends).
impl Drop for PgInventory {
    fn drop(&mut self) {
        // SAFETY: the field is taken once, here, and never used again.
        let pool = unsafe { std::mem::ManuallyDrop::take(&mut self.pool) };
        off_runtime(move || drop(pool));
    }
}

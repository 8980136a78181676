//! Job persistence, so jobs survive a restart of the server.
//!
//! The SQLite backend keeps its own tables (`jobs`, `job_phones`) and its
//! own migration table (`jobs_schema_version`), so it can live in the
//! inventory's database file without touching the inventory's schema or
//! migrations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use phoneflip_device::Mac;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::job::{Job, JobId, JobStatus};
use crate::progress::Progress;
use crate::scheduler::{JobState, PhoneEntry, ResetMethod};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job {0} does not exist; `phoneflip jobs list` shows the jobs there are")]
    NotFound(JobId),
    /// Another unfinished job got these phones first (two `jobs create`
    /// at once, on one node or on two).
    #[error("{} already belong to an unfinished job: {}; cancel that job or leave those phones out", .0.len(), .0.iter().map(|(m, j)| format!("{m} (job {j})")).collect::<Vec<_>>().join(", "))]
    Owned(Vec<(Mac, JobId)>),
    #[error("job database {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("job database {path}: job {id} has an unreadable {what}: {detail}; the file was written by another program or version")]
    Corrupt {
        path: String,
        id: JobId,
        what: &'static str,
        detail: String,
    },
    #[error("job database {path} has job schema version {found}, newer than this phoneflip's {known}; upgrade phoneflip")]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Which unfinished job owns each phone: a phone belongs to an unfinished
/// job until its own entry there is finished (converted and registered, or
/// failed). The one definition of ownership: job creation checks it first
/// for a readable error, and each store checks it again atomically with
/// the insert.
pub fn owners<'a>(states: impl IntoIterator<Item = &'a JobState>) -> BTreeMap<Mac, JobId> {
    let mut out = BTreeMap::new();
    for st in states.into_iter().filter(|s| !s.status.is_terminal()) {
        for p in st.phones.iter().filter(|p| !p.is_terminal()) {
            out.entry(p.mac).or_insert(st.job.id);
        }
    }
    out
}

/// The phones of `state` that `owned` gives to another job.
fn taken(state: &JobState, owned: &BTreeMap<Mac, JobId>) -> Vec<(Mac, JobId)> {
    state
        .phones
        .iter()
        .filter(|p| !p.is_terminal())
        .filter_map(|p| owned.get(&p.mac).map(|j| (p.mac, *j)))
        .collect()
}

/// Where jobs are kept. `save` writes the whole state in one transaction,
/// so a crash leaves either the old or the new state.
pub trait JobStore: Send + Sync {
    /// Stores a new job and returns it with its assigned id; refuses with
    /// [`StoreError::Owned`] when one of its phones belongs to another
    /// unfinished job ([`owners`]), checked in the same transaction as the
    /// insert so that two creations at once cannot both take a phone.
    fn create(&self, state: JobState) -> Result<JobState>;
    fn save(&self, state: &JobState) -> Result<()>;
    fn load(&self, id: JobId) -> Result<Option<JobState>>;
    /// All jobs, oldest first.
    fn list(&self) -> Result<Vec<JobState>>;
    /// Ids of jobs that still need the scheduler (not finished).
    fn active(&self) -> Result<Vec<JobId>> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|s| !s.status.is_terminal())
            .map(|s| s.job.id)
            .collect())
    }
}

/// Keeps jobs in memory: for tests and for `serve` without a database.
#[derive(Default)]
pub struct MemoryJobStore {
    inner: Mutex<(JobId, BTreeMap<JobId, JobState>)>,
}

impl MemoryJobStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl JobStore for MemoryJobStore {
    fn create(&self, mut state: JobState) -> Result<JobState> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let taken = taken(&state, &owners(g.1.values()));
        if !taken.is_empty() {
            return Err(StoreError::Owned(taken));
        }
        g.0 += 1;
        state.job.id = g.0;
        g.1.insert(state.job.id, state.clone());
        Ok(state)
    }
    fn save(&self, state: &JobState) -> Result<()> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match g.1.get_mut(&state.job.id) {
            Some(s) => {
                *s = state.clone();
                Ok(())
            }
            None => Err(StoreError::NotFound(state.job.id)),
        }
    }
    fn load(&self, id: JobId) -> Result<Option<JobState>> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Ok(g.1.get(&id).cloned())
    }
    fn list(&self) -> Result<Vec<JobState>> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Ok(g.1.values().cloned().collect())
    }
}

/// The job schema's migrations, applied in order; each runs once.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        description TEXT NOT NULL,
        status TEXT NOT NULL,
        spec TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        started_ms INTEGER,
        finished_ms INTEGER,
        reason TEXT,
        cursor INTEGER NOT NULL DEFAULT 0,
        batches_started INTEGER NOT NULL DEFAULT 0,
        ip_map TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE job_phones (
        job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        mac TEXT NOT NULL,
        reset TEXT NOT NULL,
        batch INTEGER,
        started_ms INTEGER,
        ip TEXT,
        stage TEXT NOT NULL,
        progress TEXT NOT NULL,
        reset_done INTEGER NOT NULL DEFAULT 0,
        note TEXT,
        PRIMARY KEY (job_id, mac)
    );
    CREATE INDEX job_phones_mac ON job_phones(mac);",
    ),
    (
        2,
        "ALTER TABLE job_phones ADD COLUMN needs_power_cycle INTEGER NOT NULL DEFAULT 0;",
    ),
    (
        3,
        "ALTER TABLE job_phones ADD COLUMN prior TEXT;
         ALTER TABLE job_phones ADD COLUMN via TEXT;",
    ),
    (4, "ALTER TABLE job_phones ADD COLUMN registration TEXT;"),
];

/// SQLite job store; may share the inventory's database file.
pub struct SqliteJobStore {
    conn: Mutex<Connection>,
    path: String,
}

impl SqliteJobStore {
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let p: PathBuf = path.as_ref().to_path_buf();
        let name = p.display().to_string();
        let conn = Connection::open(&p).map_err(|source| StoreError::Sqlite {
            path: name.clone(),
            source,
        })?;
        Self::init(conn, name)
    }

    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Sqlite {
            path: ":memory:".into(),
            source,
        })?;
        Self::init(conn, ":memory:".into())
    }

    fn init(mut conn: Connection, path: String) -> Result<Self> {
        let err = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        if path != ":memory:" {
            // WAL lets the inventory and the job engine write the same file
            // from two connections without blocking readers.
            let _: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(err)?;
        }
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .map_err(err)?;
        let tx = conn.transaction().map_err(err)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS jobs_schema_version (
                version INTEGER PRIMARY KEY,
                applied_ms INTEGER NOT NULL
            )",
        )
        .map_err(err)?;
        let current: i64 = tx
            .query_row(
                "SELECT coalesce(max(version), 0) FROM jobs_schema_version",
                [],
                |r| r.get(0),
            )
            .map_err(err)?;
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > known {
            return Err(StoreError::TooNew {
                path,
                found: current,
                known,
            });
        }
        for (v, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            tx.execute_batch(sql).map_err(err)?;
            tx.execute(
                "INSERT INTO jobs_schema_version (version, applied_ms) VALUES (?1, ?2)",
                params![v, phoneflip_inventory::now_millis()],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(SqliteJobStore {
            conn: Mutex::new(conn),
            path,
        })
    }

    pub fn schema_version(&self) -> Result<i64> {
        let conn = self.lock();
        conn.query_row(
            "SELECT coalesce(max(version), 0) FROM jobs_schema_version",
            [],
            |r| r.get(0),
        )
        .map_err(|e| self.sql(e))
    }

    /// Ids of the jobs whose status is not terminal, by the status's own
    /// rule (a status added later is covered without editing SQL).
    fn active_ids(&self, conn: &Connection) -> Result<Vec<JobId>> {
        let rows: Vec<(JobId, String)> = conn
            .prepare_cached("SELECT id, status FROM jobs ORDER BY id")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<std::result::Result<Vec<_>, _>>()
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for (id, status) in rows {
            let status: JobStatus = status.parse().map_err(|e| self.corrupt(id, "status", e))?;
            if !status.is_terminal() {
                out.push(id);
            }
        }
        Ok(out)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// A nullable JSON column of a job's phone row (NULL in rows written
    /// before the column existed): absent, or decoded, or a corrupt-row
    /// error naming the column.
    fn json_column<T: serde::de::DeserializeOwned>(
        &self,
        id: JobId,
        what: &'static str,
        column: Option<String>,
    ) -> Result<Option<T>> {
        column
            .map(|s| serde_json::from_str(&s).map_err(|e| self.corrupt(id, what, e)))
            .transpose()
    }

    fn corrupt(&self, id: JobId, what: &'static str, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            id,
            what,
            detail: detail.to_string(),
        }
    }

    fn write(&self, conn: &mut Connection, st: &JobState, insert: bool) -> Result<JobId> {
        let spec =
            serde_json::to_string(&st.job).map_err(|e| self.corrupt(st.job.id, "spec", e))?;
        // The ip_map column is no longer used: the request pipeline keeps
        // the only address→MAC memory. Kept (empty) for older builds.
        let ip_map = "{}";
        // A creation takes the write lock before it reads who owns what,
        // so a second creation (another connection, another process)
        // waits and then sees this job's phones.
        let behavior = if insert {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        let tx = conn
            .transaction_with_behavior(behavior)
            .map_err(|e| self.sql(e))?;
        if insert {
            let mut active = Vec::new();
            for id in self.active_ids(&tx)? {
                if let Some(s) = self.read(&tx, id)? {
                    active.push(s);
                }
            }
            let taken = taken(st, &owners(&active));
            if !taken.is_empty() {
                return Err(StoreError::Owned(taken));
            }
        }
        let id = if insert {
            tx.execute(
                "INSERT INTO jobs (description, status, spec, created_ms, started_ms, finished_ms,
                    reason, cursor, batches_started, ip_map)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    st.job.description,
                    st.status.as_str(),
                    spec,
                    st.job.created_ms,
                    st.started_ms,
                    st.finished_ms,
                    st.reason,
                    st.cursor,
                    st.batches_started,
                    ip_map
                ],
            )
            .map_err(|e| self.sql(e))?;
            tx.last_insert_rowid()
        } else {
            let n = tx
                .execute(
                    "UPDATE jobs SET description = ?2, status = ?3, spec = ?4, started_ms = ?5,
                        finished_ms = ?6, reason = ?7, cursor = ?8, batches_started = ?9,
                        ip_map = ?10
                     WHERE id = ?1",
                    params![
                        st.job.id,
                        st.job.description,
                        st.status.as_str(),
                        spec,
                        st.started_ms,
                        st.finished_ms,
                        st.reason,
                        st.cursor,
                        st.batches_started,
                        ip_map
                    ],
                )
                .map_err(|e| self.sql(e))?;
            if n == 0 {
                return Err(StoreError::NotFound(st.job.id));
            }
            st.job.id
        };
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO job_phones (job_id, position, mac, reset, batch, started_ms, ip,
                        stage, progress, reset_done, note, needs_power_cycle, prior, via,
                        registration)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                     ON CONFLICT (job_id, mac) DO UPDATE SET position = ?2, reset = ?4,
                        batch = ?5, started_ms = ?6, ip = ?7, stage = ?8, progress = ?9,
                        reset_done = ?10, note = ?11, needs_power_cycle = ?12, prior = ?13,
                        via = ?14, registration = ?15",
                )
                .map_err(|e| self.sql(e))?;
            for (i, p) in st.phones.iter().enumerate() {
                let progress = serde_json::to_string(&p.progress)
                    .map_err(|e| self.corrupt(id, "phone progress", e))?;
                let prior = match &p.prior {
                    Some(r) => Some(
                        serde_json::to_string(r)
                            .map_err(|e| self.corrupt(id, "phone prior record", e))?,
                    ),
                    None => None,
                };
                let via = serde_json::to_string(&p.via)
                    .map_err(|e| self.corrupt(id, "phone route", e))?;
                let registration = match &p.registration {
                    Some(r) => Some(
                        serde_json::to_string(r)
                            .map_err(|e| self.corrupt(id, "phone registration", e))?,
                    ),
                    None => None,
                };
                stmt.execute(params![
                    id,
                    i as i64,
                    p.mac.to_string(),
                    reset_name(p.reset),
                    p.batch,
                    p.started_ms,
                    p.ip.map(|ip| ip.to_string()),
                    p.progress.stage.name(),
                    progress,
                    p.reset_done,
                    p.note,
                    p.needs_power_cycle,
                    prior,
                    via,
                    registration
                ])
                .map_err(|e| self.sql(e))?;
            }
        }
        tx.commit().map_err(|e| self.sql(e))?;
        Ok(id)
    }

    fn read(&self, conn: &Connection, id: JobId) -> Result<Option<JobState>> {
        type Row = (
            String,
            String,
            Option<i64>,
            Option<i64>,
            Option<String>,
            i64,
            u32,
        );
        let row: Option<Row> = conn
            .query_row(
                "SELECT status, spec, started_ms, finished_ms, reason, cursor, batches_started
                    FROM jobs WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        let Some((status, spec, started_ms, finished_ms, reason, cursor, batches)) = row else {
            return Ok(None);
        };
        let mut job: Job = serde_json::from_str(&spec).map_err(|e| self.corrupt(id, "spec", e))?;
        job.id = id;
        let status: JobStatus = status.parse().map_err(|e| self.corrupt(id, "status", e))?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT mac, reset, batch, started_ms, ip, progress, reset_done, note,
                    needs_power_cycle, prior, via, registration
                 FROM job_phones WHERE job_id = ?1 ORDER BY position",
            )
            .map_err(|e| self.sql(e))?;
        type PhoneRow = (
            String,
            String,
            Option<u32>,
            Option<i64>,
            Option<String>,
            String,
            bool,
            Option<String>,
            bool,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows = stmt
            .query_map([id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                    r.get(11)?,
                ))
            })
            .map_err(|e| self.sql(e))?
            .collect::<std::result::Result<Vec<PhoneRow>, _>>()
            .map_err(|e| self.sql(e))?;
        let mut phones = Vec::with_capacity(rows.len());
        for (
            mac,
            reset,
            batch,
            started_ms,
            ip,
            progress,
            reset_done,
            note,
            needs_power_cycle,
            prior,
            via,
            registration,
        ) in rows
        {
            let mac: Mac = mac.parse().map_err(|e| self.corrupt(id, "phone MAC", e))?;
            let reset =
                parse_reset(&reset).ok_or_else(|| self.corrupt(id, "reset method", &reset))?;
            let ip = match ip {
                Some(s) => Some(
                    s.parse()
                        .map_err(|e| self.corrupt(id, "phone address", e))?,
                ),
                None => None,
            };
            let progress: Progress = serde_json::from_str(&progress)
                .map_err(|e| self.corrupt(id, "phone progress", e))?;
            let prior = self.json_column(id, "phone prior record", prior)?;
            let via = self
                .json_column(id, "phone route", via)?
                .unwrap_or_default();
            let registration = self.json_column(id, "phone registration", registration)?;
            phones.push(PhoneEntry {
                mac,
                reset,
                batch,
                started_ms,
                ip,
                progress,
                reset_done,
                note,
                needs_power_cycle,
                prior,
                via,
                registration,
            });
        }
        Ok(Some(JobState {
            job,
            status,
            phones,
            batches_started: batches,
            started_ms,
            finished_ms,
            reason,
            cursor,
        }))
    }
}

fn reset_name(r: ResetMethod) -> &'static str {
    match r {
        ResetMethod::CheckSync => "check_sync",
        ResetMethod::PowerCycle => "power_cycle",
    }
}

fn parse_reset(s: &str) -> Option<ResetMethod> {
    match s {
        "check_sync" => Some(ResetMethod::CheckSync),
        "power_cycle" => Some(ResetMethod::PowerCycle),
        _ => None,
    }
}

impl JobStore for SqliteJobStore {
    fn create(&self, state: JobState) -> Result<JobState> {
        let mut conn = self.lock();
        let id = self.write(&mut conn, &state, true)?;
        let mut state = state;
        state.job.id = id;
        // The spec column holds the job with id 0; ids live in the row.
        Ok(state)
    }

    fn save(&self, state: &JobState) -> Result<()> {
        let mut conn = self.lock();
        self.write(&mut conn, state, false).map(|_| ())
    }

    fn load(&self, id: JobId) -> Result<Option<JobState>> {
        let conn = self.lock();
        self.read(&conn, id)
    }

    fn list(&self) -> Result<Vec<JobState>> {
        let conn = self.lock();
        let ids: Vec<JobId> = conn
            .prepare("SELECT id FROM jobs ORDER BY id")
            .and_then(|mut s| {
                s.query_map([], |r| r.get(0))?
                    .collect::<std::result::Result<Vec<_>, _>>()
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(s) = self.read(&conn, id)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    fn active(&self) -> Result<Vec<JobId>> {
        let conn = self.lock();
        self.active_ids(&conn)
    }
}

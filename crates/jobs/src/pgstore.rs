//! Jobs in PostgreSQL, for several `serve` nodes on one database (issue
//! 17). The tables are the SQLite store's (`jobs`, `job_phones`, their own
//! `jobs_schema_version`), plus a lease on each job: [`JobStore::claim`]
//! takes the unfinished jobs nobody holds (or whose holder stopped
//! renewing) with `SELECT ... FOR UPDATE SKIP LOCKED`, so two nodes never
//! tick one job at once, and a job whose node died is taken over when its
//! lease lapses. The engine's saves are fenced by the lease
//! ([`StoreError::LeaseLost`]), and no save makes a finished job
//! unfinished ([`StoreError::AlreadyFinished`]), so a cancel through any
//! node's API sticks.
//!
//! Lease times are the database's clock, never a node's: nodes whose
//! clocks disagree still agree on who holds a job.

use std::time::Duration;

use r2d2_postgres::postgres::{self, NoTls};
use r2d2_postgres::PostgresConnectionManager;

use phoneflip_inventory::off_runtime;

use crate::job::{Job, JobId, JobStatus};
use crate::scheduler::JobState;
use crate::store::{finished_or_missing, owners, taken, JobStore, PhoneRow, Result, StoreError};

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

const MIGRATE_LOCK: i64 = 0x7066_0003;
/// Serializes job creations across nodes (a transaction-level advisory
/// lock), so the ownership check and the insert are one step.
const CREATE_LOCK: i64 = 0x7066_0004;

/// The database's clock in milliseconds.
const NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

const MIGRATIONS: &[(i64, &str)] = &[(
    1,
    "CREATE TABLE jobs (
        id BIGSERIAL PRIMARY KEY,
        description TEXT NOT NULL,
        status TEXT NOT NULL,
        spec TEXT NOT NULL,
        created_ms BIGINT NOT NULL,
        started_ms BIGINT,
        finished_ms BIGINT,
        reason TEXT,
        cursor BIGINT NOT NULL DEFAULT 0,
        batches_started BIGINT NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until BIGINT
    );
    CREATE INDEX jobs_status ON jobs(status);
    CREATE TABLE job_phones (
        job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        position BIGINT NOT NULL,
        mac TEXT NOT NULL,
        reset TEXT NOT NULL,
        batch BIGINT,
        started_ms BIGINT,
        ip TEXT,
        stage TEXT NOT NULL,
        progress TEXT NOT NULL,
        reset_done BOOLEAN NOT NULL DEFAULT false,
        note TEXT,
        needs_power_cycle BOOLEAN NOT NULL DEFAULT false,
        prior TEXT,
        via TEXT,
        registration TEXT,
        PRIMARY KEY (job_id, mac)
    );
    CREATE INDEX job_phones_mac ON job_phones(mac);",
)];

/// How long a node holds a job without renewing it: the engine renews at
/// every tick and every save, so only a dead (or cut off) node lets it
/// lapse. Longer than SIP Timer F (32 s), which a step may wait out for
/// phones that do not answer.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(45);

/// The PostgreSQL job store of one node.
pub struct PgJobStore {
    /// Dropped off the runtime's thread (see the `Drop` impl).
    pool: std::mem::ManuallyDrop<Pool>,
    shown: String,
    node: String,
    lease: Duration,
}

const TERMINAL: &str = "('completed', 'failed', 'cancelled')";

impl PgJobStore {
    /// Connects to `url` and brings the job schema up to date. The node's
    /// name (in the lease column) is the host name and process id.
    pub fn open(url: &str) -> Result<Self> {
        off_runtime(|| Self::do_open(url))
    }

    fn do_open(url: &str) -> Result<Self> {
        let shown = phoneflip_inventory::redact_url(url);
        let pool =
            phoneflip_inventory::connect_pool(url, 4).map_err(|detail| StoreError::Postgres {
                path: shown.clone(),
                detail: format!("cannot connect: {detail}"),
            })?;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "node".into());
        let s = PgJobStore {
            pool: std::mem::ManuallyDrop::new(pool),
            node: format!("{host}:{}", std::process::id()),
            shown,
            lease: DEFAULT_LEASE,
        };
        s.migrate()?;
        Ok(s)
    }

    /// Names this node (two stores in one process are two nodes).
    pub fn with_node(mut self, node: impl Into<String>) -> Self {
        self.node = node.into();
        self
    }

    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Who holds job `id` now, if anyone's lease is current.
    pub fn holder(&self, id: JobId) -> Result<Option<String>> {
        off_runtime(|| self.do_holder(id))
    }

    fn do_holder(&self, id: JobId) -> Result<Option<String>> {
        let mut c = self.conn()?;
        let r = c
            .query_opt(
                &format!("SELECT lease_owner FROM jobs WHERE id = $1 AND lease_until >= {NOW_MS}"),
                &[&id],
            )
            .map_err(|e| self.pg(e))?;
        Ok(r.and_then(|r| r.get(0)))
    }

    pub fn schema_version(&self) -> Result<i64> {
        let mut c = self.conn()?;
        c.query_one(
            "SELECT coalesce(max(version), 0)::bigint FROM jobs_schema_version",
            &[],
        )
        .map(|r| r.get(0))
        .map_err(|e| self.pg(e))
    }

    fn pg(&self, e: postgres::Error) -> StoreError {
        let detail = match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => e.to_string(),
        };
        StoreError::Postgres {
            path: self.shown.clone(),
            detail,
        }
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>> {
        self.pool.get().map_err(|e| StoreError::Postgres {
            path: self.shown.clone(),
            detail: format!("no connection: {e}"),
        })
    }

    fn corrupt(&self, id: JobId, what: &'static str, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.shown.clone(),
            id,
            what,
            detail: detail.to_string(),
        }
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX / 2)
    }

    fn migrate(&self) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.transaction().map_err(|e| self.pg(e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
            .map_err(|e| self.pg(e))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS jobs_schema_version (
                version BIGINT PRIMARY KEY,
                applied_ms BIGINT NOT NULL
            )",
        )
        .map_err(|e| self.pg(e))?;
        let current: i64 = tx
            .query_one(
                "SELECT coalesce(max(version), 0)::bigint FROM jobs_schema_version",
                &[],
            )
            .map_err(|e| self.pg(e))?
            .get(0);
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > known {
            return Err(StoreError::TooNew {
                path: self.shown.clone(),
                found: current,
                known,
            });
        }
        for (v, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            tx.batch_execute(sql).map_err(|e| self.pg(e))?;
            tx.execute(
                "INSERT INTO jobs_schema_version (version, applied_ms) VALUES ($1, $2)",
                &[v, &phoneflip_inventory::now_millis()],
            )
            .map_err(|e| self.pg(e))?;
        }
        tx.commit().map_err(|e| self.pg(e))
    }

    /// Writes the state; with `fence`, only while this node holds the job
    /// (and renews its lease).
    fn write(&self, st: &JobState, insert: bool, fence: bool) -> Result<JobId> {
        let spec =
            serde_json::to_string(&st.job).map_err(|e| self.corrupt(st.job.id, "spec", e))?;
        let mut c = self.conn()?;
        let mut tx = c.transaction().map_err(|e| self.pg(e))?;
        let batches = i64::from(st.batches_started);
        let status = st.status.as_str();
        if insert {
            // Who owns what, read after every earlier creation committed:
            // two nodes creating jobs for one phone at once cannot both
            // take it.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CREATE_LOCK])
                .map_err(|e| self.pg(e))?;
            let ids: Vec<JobId> = tx
                .query(
                    &format!("SELECT id FROM jobs WHERE status NOT IN {TERMINAL} ORDER BY id"),
                    &[],
                )
                .map_err(|e| self.pg(e))?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut active = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(s) = self.read(&mut tx, id)? {
                    active.push(s);
                }
            }
            let taken = taken(st, &owners(&active));
            if !taken.is_empty() {
                return Err(StoreError::Owned(taken));
            }
        }
        let id: JobId = if insert {
            tx.query_one(
                "INSERT INTO jobs (description, status, spec, created_ms, started_ms, finished_ms,
                    reason, cursor, batches_started)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                &[
                    &st.job.description,
                    &st.status.as_str(),
                    &spec,
                    &st.job.created_ms,
                    &st.started_ms,
                    &st.finished_ms,
                    &st.reason,
                    &st.cursor,
                    &batches,
                ],
            )
            .map_err(|e| self.pg(e))?
            .get(0)
        } else {
            let fence_sql = if fence {
                format!(", lease_until = {NOW_MS} + $11 WHERE id = $1 AND lease_owner = $10 AND")
            } else {
                " WHERE id = $1 AND".to_string()
            };
            let sql = format!(
                "UPDATE jobs SET description = $2, status = $3, spec = $4, started_ms = $5,
                    finished_ms = $6, reason = $7, cursor = $8, batches_started = $9{fence_sql}
                    NOT (status IN {TERMINAL} AND $3 NOT IN {TERMINAL})"
            );
            let lease = self.lease_ms();
            let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![
                &st.job.id,
                &st.job.description,
                &status,
                &spec,
                &st.started_ms,
                &st.finished_ms,
                &st.reason,
                &st.cursor,
                &batches,
            ];
            if fence {
                params.push(&self.node);
                params.push(&lease);
            }
            let n = tx.execute(&sql, &params).map_err(|e| self.pg(e))?;
            if n == 0 {
                let row = tx
                    .query_opt(
                        "SELECT status, lease_owner FROM jobs WHERE id = $1",
                        &[&st.job.id],
                    )
                    .map_err(|e| self.pg(e))?;
                return Err(match row {
                    Some(r) => {
                        let status: String = r.get(0);
                        let owner: Option<String> = r.get(1);
                        let finished = status
                            .parse::<JobStatus>()
                            .map(|s| s.is_terminal())
                            .unwrap_or(false);
                        if fence && !finished && owner.as_deref() != Some(&self.node) {
                            StoreError::LeaseLost(st.job.id)
                        } else {
                            finished_or_missing(st.job.id, Some(status))
                        }
                    }
                    None => StoreError::NotFound(st.job.id),
                });
            }
            st.job.id
        };
        // Every phone in one statement: a fleet-sized job is one round
        // trip, not thousands.
        let n = st.phones.len();
        let mut cols = PhoneColumns::with_capacity(n);
        for (i, p) in st.phones.iter().enumerate() {
            let r = PhoneRow::encode(p).map_err(|(what, e)| self.corrupt(id, what, e))?;
            cols.push(i as i64, r);
        }
        if n > 0 {
            tx.execute(
                "INSERT INTO job_phones (job_id, position, mac, reset, batch, started_ms, ip,
                    stage, progress, reset_done, note, needs_power_cycle, prior, via, registration)
                 SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[],
                    $6::bigint[], $7::text[], $8::text[], $9::text[], $10::bool[], $11::text[],
                    $12::bool[], $13::text[], $14::text[], $15::text[])
                 ON CONFLICT (job_id, mac) DO UPDATE SET position = excluded.position,
                    reset = excluded.reset, batch = excluded.batch,
                    started_ms = excluded.started_ms, ip = excluded.ip, stage = excluded.stage,
                    progress = excluded.progress, reset_done = excluded.reset_done,
                    note = excluded.note, needs_power_cycle = excluded.needs_power_cycle,
                    prior = excluded.prior, via = excluded.via,
                    registration = excluded.registration",
                &[
                    &id,
                    &cols.position,
                    &cols.mac,
                    &cols.reset,
                    &cols.batch,
                    &cols.started_ms,
                    &cols.ip,
                    &cols.stage,
                    &cols.progress,
                    &cols.reset_done,
                    &cols.note,
                    &cols.needs_power_cycle,
                    &cols.prior,
                    &cols.via,
                    &cols.registration,
                ],
            )
            .map_err(|e| self.pg(e))?;
        }
        tx.commit().map_err(|e| self.pg(e))?;
        Ok(id)
    }

    fn read(&self, c: &mut impl postgres::GenericClient, id: JobId) -> Result<Option<JobState>> {
        let Some(r) = c
            .query_opt(
                "SELECT status, spec, started_ms, finished_ms, reason, cursor, batches_started
                 FROM jobs WHERE id = $1",
                &[&id],
            )
            .map_err(|e| self.pg(e))?
        else {
            return Ok(None);
        };
        let mut job: Job =
            serde_json::from_str(r.get(1)).map_err(|e| self.corrupt(id, "spec", e))?;
        job.id = id;
        let status: JobStatus = r
            .get::<_, &str>(0)
            .parse()
            .map_err(|e| self.corrupt(id, "status", e))?;
        let batches: i64 = r.get(6);
        let rows = c
            .query(
                "SELECT mac, reset, batch, started_ms, ip, progress, reset_done, note,
                    needs_power_cycle, prior, via, registration
                 FROM job_phones WHERE job_id = $1 ORDER BY position",
                &[&id],
            )
            .map_err(|e| self.pg(e))?;
        let phones = rows
            .iter()
            .map(|p| {
                PhoneRow {
                    mac: p.get(0),
                    reset: p.get(1),
                    batch: p.get(2),
                    started_ms: p.get(3),
                    ip: p.get(4),
                    stage: "",
                    progress: p.get(5),
                    reset_done: p.get(6),
                    note: p.get(7),
                    needs_power_cycle: p.get(8),
                    prior: p.get(9),
                    via: p.get(10),
                    registration: p.get(11),
                }
                .decode()
                .map_err(|(what, e)| self.corrupt(id, what, e))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(JobState {
            job,
            status,
            phones,
            batches_started: u32::try_from(batches)
                .map_err(|e| self.corrupt(id, "batches_started", e))?,
            started_ms: r.get(2),
            finished_ms: r.get(3),
            reason: r.get(4),
            cursor: r.get(5),
        }))
    }
}

/// The phone rows of one save, column by column, for `unnest`.
struct PhoneColumns {
    position: Vec<i64>,
    mac: Vec<String>,
    reset: Vec<String>,
    batch: Vec<Option<i64>>,
    started_ms: Vec<Option<i64>>,
    ip: Vec<Option<String>>,
    stage: Vec<&'static str>,
    progress: Vec<String>,
    reset_done: Vec<bool>,
    note: Vec<Option<String>>,
    needs_power_cycle: Vec<bool>,
    prior: Vec<Option<String>>,
    via: Vec<Option<String>>,
    registration: Vec<Option<String>>,
}

impl PhoneColumns {
    fn with_capacity(n: usize) -> Self {
        PhoneColumns {
            position: Vec::with_capacity(n),
            mac: Vec::with_capacity(n),
            reset: Vec::with_capacity(n),
            batch: Vec::with_capacity(n),
            started_ms: Vec::with_capacity(n),
            ip: Vec::with_capacity(n),
            stage: Vec::with_capacity(n),
            progress: Vec::with_capacity(n),
            reset_done: Vec::with_capacity(n),
            note: Vec::with_capacity(n),
            needs_power_cycle: Vec::with_capacity(n),
            prior: Vec::with_capacity(n),
            via: Vec::with_capacity(n),
            registration: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, position: i64, r: PhoneRow) {
        self.position.push(position);
        self.mac.push(r.mac);
        self.reset.push(r.reset);
        self.batch.push(r.batch);
        self.started_ms.push(r.started_ms);
        self.ip.push(r.ip);
        self.stage.push(r.stage);
        self.progress.push(r.progress);
        self.reset_done.push(r.reset_done);
        self.note.push(r.note);
        self.needs_power_cycle.push(r.needs_power_cycle);
        self.prior.push(r.prior);
        self.via.push(r.via);
        self.registration.push(r.registration);
    }
}

impl PgJobStore {
    fn do_create(&self, state: JobState) -> Result<JobState> {
        let id = self.write(&state, true, false)?;
        let mut state = state;
        state.job.id = id;
        Ok(state)
    }

    fn do_save(&self, state: &JobState) -> Result<()> {
        self.write(state, false, false).map(|_| ())
    }

    fn do_save_claimed(&self, state: &JobState) -> Result<()> {
        self.write(state, false, true).map(|_| ())
    }

    fn do_load(&self, id: JobId) -> Result<Option<JobState>> {
        let mut c = self.conn()?;
        self.read(&mut *c, id)
    }

    fn do_list(&self) -> Result<Vec<JobState>> {
        let mut c = self.conn()?;
        // One snapshot for the whole list.
        let mut tx = c
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| self.pg(e))?;
        let ids: Vec<JobId> = tx
            .query("SELECT id FROM jobs ORDER BY id", &[])
            .map_err(|e| self.pg(e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(s) = self.read(&mut tx, id)? {
                out.push(s);
            }
        }
        tx.commit().map_err(|e| self.pg(e))?;
        Ok(out)
    }

    fn do_active(&self) -> Result<Vec<JobId>> {
        let mut c = self.conn()?;
        Ok(c.query(
            &format!("SELECT id FROM jobs WHERE status NOT IN {TERMINAL} ORDER BY id"),
            &[],
        )
        .map_err(|e| self.pg(e))?
        .iter()
        .map(|r| r.get(0))
        .collect())
    }

    fn do_claim(&self) -> Result<Vec<JobId>> {
        let mut c = self.conn()?;
        // Rows another node is writing right now are skipped, not waited
        // for: that node holds them.
        let mut ids: Vec<JobId> = c
            .query(
                &format!(
                    "WITH free AS (
                        SELECT id FROM jobs
                        WHERE status NOT IN {TERMINAL}
                          AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until < {NOW_MS})
                        ORDER BY id FOR UPDATE SKIP LOCKED)
                     UPDATE jobs SET lease_owner = $1, lease_until = {NOW_MS} + $2
                     FROM free WHERE jobs.id = free.id RETURNING jobs.id"
                ),
                &[&self.node, &self.lease_ms()],
            )
            .map_err(|e| self.pg(e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }
}

/// Every call runs where the synchronous client may block
/// ([`phoneflip_inventory::off_runtime`]): the engine calls from async code.
impl JobStore for PgJobStore {
    fn create(&self, state: JobState) -> Result<JobState> {
        off_runtime(|| self.do_create(state))
    }
    fn save(&self, state: &JobState) -> Result<()> {
        off_runtime(|| self.do_save(state))
    }
    fn save_claimed(&self, state: &JobState) -> Result<()> {
        off_runtime(|| self.do_save_claimed(state))
    }
    fn load(&self, id: JobId) -> Result<Option<JobState>> {
        off_runtime(|| self.do_load(id))
    }
    fn list(&self) -> Result<Vec<JobState>> {
        off_runtime(|| self.do_list())
    }
    fn active(&self) -> Result<Vec<JobId>> {
        off_runtime(|| self.do_active())
    }
    fn claim(&self) -> Result<Vec<JobId>> {
        off_runtime(|| self.do_claim())
    }
}

/// The pool's connections close by blocking, which a tokio worker must
/// not do (a store held by a task is dropped there when the task ends).
impl Drop for PgJobStore {
    fn drop(&mut self) {
        // SAFETY: the field is taken once, here, and never used again.
        let pool = unsafe { std::mem::ManuallyDrop::take(&mut self.pool) };
        off_runtime(move || drop(pool));
    }
}

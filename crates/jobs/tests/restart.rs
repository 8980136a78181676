//! A job created, scheduled, run, "restarted" mid-way (every handle
//! dropped, the SQLite file reopened) and finished, with the inventory in
//! the same database file and a real UDP phone answering the NOTIFY.

mod common;
use common::*;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use phoneflip_config::Line;
use phoneflip_device::{Mac, Model};
use phoneflip_inventory::{Event, Inventory, Outcome, Phone, SqliteInventory};
use phoneflip_jobs::{
    step, Action, InventoryEffects, InventoryEvents, JobState, JobStatus, JobStore, Query,
    Schedule, SqliteJobStore, Stage, SyncBumper, Timers, TransferEvent, TransferOutcome,
};
use tokio::net::UdpSocket;

const MIN: i64 = 60_000;
const T0: i64 = 1_764_000_000_000;

#[derive(Clone, Default)]
struct Bumps(Arc<Mutex<Vec<Mac>>>);

impl SyncBumper for Bumps {
    fn bump_sync(&self, mac: Mac) -> Result<String, String> {
        let mut v = self.0.lock().unwrap();
        v.push(mac);
        Ok(format!("{}", v.len() + 1))
    }
}

fn to_inventory(e: &TransferEvent) -> Event {
    Event::new(
        e.time_ms,
        e.mac,
        std::net::SocketAddr::new(e.client_ip.unwrap(), 50_000),
        &e.file,
        e.bytes,
        match &e.outcome {
            TransferOutcome::Sent => Outcome::Sent,
            TransferOutcome::NotFound => Outcome::NotFound,
            TransferOutcome::Failed(_) => Outcome::Aborted,
            TransferOutcome::Busy(_) => Outcome::Busy,
        },
        match &e.outcome {
            TransferOutcome::Failed(w) | TransferOutcome::Busy(w) => Some(w.clone()),
            _ => None,
        },
    )
}

fn log(inv: &SqliteInventory, evs: &[TransferEvent]) {
    inv.append_events(&evs.iter().map(to_inventory).collect::<Vec<_>>())
        .unwrap();
}

/// A SIP phone on 127.0.0.1 that answers every NOTIFY with 200 OK and
/// reports the request line and Event header it got.
async fn sip_phone() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let req = phoneflip_jobs::CheckSyncNotify::parse(&buf[..n]).unwrap();
            seen2.lock().unwrap().push(req.request_uri());
            let resp = req.response(200, "OK", "phone1");
            sock.send_to(&resp.to_bytes(), from).await.unwrap();
        }
    });
    (addr, seen)
}

fn phone(mac: Mac, load: &str, site: &str) -> Phone {
    let mut p = Phone::new(mac, Model::Cp7960);
    p.site = Some(site.into());
    p.observed_load = Some(load.parse().unwrap());
    p.lines = vec![Line {
        number: 1,
        name: format!("10{}", mac.bytes()[5]),
        authname: None,
        password: None,
        displayname: None,
        shortname: None,
    }];
    p
}

/// The SIP 7.4 -> 8.12 upgrade of a SIP phone after its check-sync.
fn sip_upgrade(n: u32, t0: i64, ip: std::net::IpAddr) -> Vec<TransferEvent> {
    [
        ("SIPDefault.cnf", Sent),
        ("SIP<MAC>.cnf", Sent),
        ("P0S3-8-12-00.loads", Sent),
        ("P003-8-12-00.sbn", Sent),
        ("SEP<MAC>.cnf.xml", Sent),
        ("P0S3-8-12-00.loads", Sent),
        ("P0S3-8-12-00.sb2", Sent),
        ("SEP<MAC>.cnf.xml", Sent),
        ("P0S3-8-12-00.loads", Sent),
        ("SIPDefault.cnf", Sent),
        ("SIP<MAC>.cnf", Sent),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (f, o))| {
        let mut e = ev(n, t0 + i as i64 * 1000, f, o);
        e.client_ip = Some(ip);
        e
    })
    .collect()
}

#[tokio::test]
async fn a_job_survives_a_restart_and_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("phoneflip.db");
    let (phone_addr, notifies) = sip_phone().await;
    let bumps = Bumps::default();

    // The fleet: one SIP 7.4 phone (the canary) on 127.0.0.1, two SCCP phones,
    // and one at another site the query must not pick.
    let inv = Arc::new(SqliteInventory::open(&db).unwrap());
    inv.put_template(&phoneflip_config::Template {
        name: "sip-default".into(),
        protocol: phoneflip_firmware::Protocol::Sip,
        settings: [("proxy1_address".to_string(), "10.0.0.10".to_string())].into(),
    })
    .unwrap();
    inv.put_phone(&phone(mac(1), "POS3-07-4-00", "hq")).unwrap();
    inv.put_phone(&phone(mac(2), "P0030801SR02", "hq")).unwrap();
    inv.put_phone(&phone(mac(3), "P0030801SR02", "hq")).unwrap();
    inv.put_phone(&phone(mac(4), "P0030801SR02", "branch"))
        .unwrap();
    // The SIP phone's last normal boot tells us where it lives.
    let mut boot = vec![ev(1, T0 - MIN, "SIP<MAC>.cnf", Sent)];
    boot[0].client_ip = Some(phone_addr.ip());
    log(&inv, &boot);

    let query = Query {
        site: Some("hq".into()),
        ..Query::default()
    };
    let selected = query.select(inv.as_ref()).unwrap();
    assert_eq!(
        selected.iter().map(|s| s.mac).collect::<Vec<_>>(),
        vec![mac(1), mac(2), mac(3)]
    );
    let mut spec = job(
        "sip:8.12",
        Schedule::At(T0 + 10 * MIN),
        rollout(2, 1, Some(2)),
    );
    spec.query = query;
    spec.created_ms = T0;

    let effects = |inv: Arc<SqliteInventory>| {
        let mut e = InventoryEffects::new(inv, bumps.clone());
        e.sip_port = phone_addr.port();
        e.timers = Timers {
            t1_ms: 50,
            t2_ms: 400,
            timeout_ms: 2_000,
        };
        e
    };

    let id;
    {
        let store = SqliteJobStore::open(&db).unwrap();
        assert_eq!(store.schema_version().unwrap(), 4);
        let st = store
            .create(JobState::new(spec, selected, T0).unwrap())
            .unwrap();
        id = st.job.id;
        let src = InventoryEvents(inv.clone());
        let fx = effects(inv.clone());

        // Before its time the job is only scheduled.
        let a = step(T0, &store, &src, &fx).await.unwrap();
        assert!(a.is_empty(), "{a:?}");
        assert_eq!(
            store.load(id).unwrap().unwrap().status,
            JobStatus::Scheduled
        );

        // At its time the canary starts and gets its check-sync.
        let a = step(T0 + 10 * MIN, &store, &src, &fx).await.unwrap();
        assert!(
            matches!(&a[0].1, Action::StartBatch { canary: true, macs, .. } if macs == &vec![mac(1)])
        );
        let st = store.load(id).unwrap().unwrap();
        assert_eq!(st.status, JobStatus::Running);
        let note = st.phones[0].note.clone().unwrap();
        assert!(note.contains("200 OK"), "{note}");
        assert_eq!(
            notifies.lock().unwrap().clone(),
            vec![format!("sip:101@127.0.0.1:{}", phone_addr.port())]
        );
        assert_eq!(bumps.0.lock().unwrap().clone(), vec![mac(1)]);
        // Its record now points at the job's template and target.
        let p = inv.get_phone(mac(1)).unwrap().unwrap();
        assert_eq!(p.template.as_deref(), Some("sip-default"));
        assert_eq!(p.desired_load.unwrap().as_str(), "P0S3-8-12-00");

        // The canary upgrades; the next batch (the SCCP phones) starts and
        // is listed for a power cycle.
        log(&inv, &sip_upgrade(1, T0 + 11 * MIN, phone_addr.ip()));
        let a = step(T0 + 12 * MIN, &store, &src, &fx).await.unwrap();
        let kinds: Vec<_> = a.iter().map(|(_, a)| a.clone()).collect();
        assert!(kinds.contains(&Action::MarkConverted {
            mac: mac(1),
            file: "SIPDefault.cnf".into()
        }));
        assert!(
            matches!(&kinds[1], Action::StartBatch { batch: 1, canary: false, macs } if macs == &vec![mac(2), mac(3)])
        );
        let st = store.load(id).unwrap().unwrap();
        for p in &st.phones[1..] {
            assert!(p.note.as_ref().unwrap().contains("POWER CYCLE NEEDED"));
            assert!(p.reset_done);
        }
        assert_eq!(st.power_cycle_list(), vec![mac(2), mac(3)]);
        assert!(!st.phones[0].needs_power_cycle);

        // Phone 2 converts, phone 3 is half-way (loader fetched) when the
        // server goes down.
        log(&inv, &sccp_to_sip_boot(2, T0 + 13 * MIN));
        log(&inv, &sccp_to_sip_boot(3, T0 + 13 * MIN)[..8]);
        step(T0 + 14 * MIN, &store, &src, &fx).await.unwrap();
    }
    drop(inv);

    // Restart: everything reopened from the file.
    let inv = Arc::new(SqliteInventory::open(&db).unwrap());
    assert!(inv.schema_version().unwrap() >= 1);
    let store = SqliteJobStore::open(&db).unwrap();
    let st = store.load(id).unwrap().unwrap();
    assert_eq!(st.status, JobStatus::Running);
    assert!(matches!(
        st.phones[0].progress.stage,
        Stage::Converted { .. }
    ));
    assert!(matches!(
        st.phones[1].progress.stage,
        Stage::Converted { .. }
    ));
    assert_eq!(st.phones[2].progress.stage, Stage::LoaderFetched);
    assert_eq!(
        st.power_cycle_list(),
        vec![mac(3)],
        "kept across the restart"
    );
    assert!(st.cursor > 0);
    assert_eq!(store.active().unwrap(), vec![id]);

    let src = InventoryEvents(inv.clone());
    let fx = effects(inv.clone());
    log(&inv, &sccp_to_sip_boot(3, T0 + 13 * MIN)[8..]);
    let a = step(T0 + 20 * MIN, &store, &src, &fx).await.unwrap();
    let kinds: Vec<_> = a.into_iter().map(|(_, a)| a).collect();
    assert!(
        !kinds.iter().any(|a| matches!(a, Action::ResetPhone { .. })),
        "no reset is repeated after a restart: {kinds:?}"
    );
    assert_eq!(
        kinds.last(),
        Some(&Action::Complete {
            converted: 3,
            failed: 0
        })
    );
    let st = store.load(id).unwrap().unwrap();
    assert_eq!(st.status, JobStatus::Completed);
    assert_eq!(st.finished_ms, Some(T0 + 20 * MIN));
    assert!(store.active().unwrap().is_empty());
    assert!(st.power_cycle_list().is_empty());
    // The branch phone was never touched.
    assert_eq!(inv.get_phone(mac(4)).unwrap().unwrap().template, None);
    assert_eq!(notifies.lock().unwrap().len(), 1);
}

#[test]
fn a_pending_job_whose_time_has_come_runs_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    let id = {
        let store = SqliteJobStore::open(&db).unwrap();
        let st = JobState::new(
            job("sip:8.12", Schedule::At(T0), rollout(5, 0, None)),
            sccp_phones(2),
            T0 - MIN,
        )
        .unwrap();
        store.create(st).unwrap().job.id
    };
    let store = SqliteJobStore::open(&db).unwrap();
    let mut st = store.load(id).unwrap().unwrap();
    assert_eq!(st.status, JobStatus::Pending);
    let a = phoneflip_jobs::tick(T0 + MIN, &mut st, &[]);
    assert_eq!(st.status, JobStatus::Running);
    assert!(matches!(&a[0], Action::StartBatch { macs, .. } if macs.len() == 2));
    store.save(&st).unwrap();
    let back = SqliteJobStore::open(&db)
        .unwrap()
        .load(id)
        .unwrap()
        .unwrap();
    assert_eq!(back, st);
}

#[test]
fn memory_and_sqlite_stores_agree() {
    let mem = phoneflip_jobs::MemoryJobStore::new();
    let sql = SqliteJobStore::open_in_memory().unwrap();
    for store in [&mem as &dyn JobStore, &sql as &dyn JobStore] {
        let mut st = store
            .create(
                JobState::new(
                    job("sip:8.12", Schedule::Now, rollout(1, 0, None)),
                    sccp_phones(3),
                    0,
                )
                .unwrap(),
            )
            .unwrap();
        assert_eq!(st.job.id, 1);
        phoneflip_jobs::tick(0, &mut st, &sccp_to_sip_boot(1, 0));
        store.save(&st).unwrap();
        assert_eq!(store.load(1).unwrap().unwrap(), st);
        assert_eq!(store.list().unwrap(), vec![st.clone()]);
        assert!(store.load(9).unwrap().is_none());
        let mut ghost = st.clone();
        ghost.job.id = 9;
        assert!(store.save(&ghost).is_err());
        phoneflip_jobs::cancel(store, 1, 5, "operator").unwrap();
        assert!(store.active().unwrap().is_empty());
        assert!(phoneflip_jobs::cancel(store, 1, 6, "again").is_err());
    }
}

#[test]
fn a_version_1_job_database_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    {
        // The first release's schema, as it was written.
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            "CREATE TABLE jobs_schema_version (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL);
             INSERT INTO jobs_schema_version VALUES (1, 0);
             CREATE TABLE jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, description TEXT NOT NULL,
                status TEXT NOT NULL, spec TEXT NOT NULL, created_ms INTEGER NOT NULL,
                started_ms INTEGER, finished_ms INTEGER, reason TEXT,
                cursor INTEGER NOT NULL DEFAULT 0, batches_started INTEGER NOT NULL DEFAULT 0,
                ip_map TEXT NOT NULL DEFAULT '{}');
             CREATE TABLE job_phones (job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
                position INTEGER NOT NULL, mac TEXT NOT NULL, reset TEXT NOT NULL, batch INTEGER,
                started_ms INTEGER, ip TEXT, stage TEXT NOT NULL, progress TEXT NOT NULL,
                reset_done INTEGER NOT NULL DEFAULT 0, note TEXT, PRIMARY KEY (job_id, mac));
             CREATE INDEX job_phones_mac ON job_phones(mac);",
        )
        .unwrap();
    }
    let store = SqliteJobStore::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), 4);
    let st = store
        .create(
            JobState::new(
                job("sip:8.12", Schedule::Now, rollout(1, 0, None)),
                sccp_phones(1),
                0,
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(store.load(st.job.id).unwrap().unwrap(), st);
    // And a database from a newer phoneflip is refused, not misread.
    drop(store);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("INSERT INTO jobs_schema_version VALUES (99, 0)", [])
        .unwrap();
    let e = SqliteJobStore::open(&db).err().unwrap().to_string();
    assert!(e.contains("upgrade phoneflip"), "{e}");
}

#[tokio::test]
async fn the_run_loop_starts_a_due_job_on_the_wall_clock() {
    use phoneflip_jobs::{Effects, EventSource, ResetMethod, ResetReport};
    struct NoEvents;
    impl EventSource for NoEvents {
        fn events_after(&self, _: i64, _: usize) -> Result<Vec<(i64, TransferEvent)>, String> {
            Ok(Vec::new())
        }
    }
    struct ListOnly;
    impl Effects for ListOnly {
        async fn reset(
            &self,
            _: &phoneflip_jobs::Job,
            mac: Mac,
            method: ResetMethod,
            _: Option<std::net::IpAddr>,
        ) -> ResetReport {
            assert_eq!(method, ResetMethod::PowerCycle);
            ResetReport::power_cycle(format!("{mac}: power cycle"))
        }

        async fn check_registration(
            &self,
            _: &phoneflip_jobs::Job,
            mac: Mac,
            _: Option<std::net::IpAddr>,
        ) -> phoneflip_jobs::RegistrationReport {
            phoneflip_jobs::RegistrationReport::problem(
                "test",
                format!("{mac}: this test does not check registration"),
            )
        }
    }
    let store = Arc::new(phoneflip_jobs::MemoryJobStore::new());
    let id = store
        .create(
            JobState::new(
                job("sip:8.12", Schedule::At(0), rollout(5, 0, None)),
                sccp_phones(2),
                0,
            )
            .unwrap(),
        )
        .unwrap()
        .job
        .id;
    let task = tokio::spawn(phoneflip_jobs::run(
        store.clone(),
        Arc::new(NoEvents),
        Arc::new(ListOnly),
        std::time::Duration::from_millis(10),
    ));
    let mut st = store.load(id).unwrap().unwrap();
    for _ in 0..500 {
        if st.power_cycle_list().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        st = store.load(id).unwrap().unwrap();
    }
    task.abort();
    assert_eq!(st.status, JobStatus::Running);
    assert_eq!(st.power_cycle_list(), vec![mac(1), mac(2)]);
}

/// `list` keeps what it read until the database changes: a save through
/// the same store, a save by another process (another connection to the
/// file) and a write by the inventory sharing the file are all seen.
#[test]
fn the_listed_jobs_follow_every_writer_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    let serve = SqliteJobStore::open(&db).unwrap();
    let mut st = serve
        .create(
            JobState::new(
                job("sip:8.12", Schedule::Now, rollout(1, 0, None)),
                sccp_phones(3),
                0,
            )
            .unwrap(),
        )
        .unwrap();
    assert_eq!(serve.list().unwrap(), vec![st.clone()]);
    // The same store moves the job: list and load see it.
    phoneflip_jobs::tick(0, &mut st, &sccp_to_sip_boot(1, 0));
    serve.save(&st).unwrap();
    assert_eq!(serve.list().unwrap(), vec![st.clone()]);
    assert_eq!(serve.load(st.job.id).unwrap().unwrap(), st);
    // Another process (`phoneflip jobs cancel --db`) cancels it.
    let cli = SqliteJobStore::open(&db).unwrap();
    phoneflip_jobs::cancel(&cli, st.job.id, 5, "operator").unwrap();
    let listed = serve.list().unwrap();
    assert_eq!(listed[0].status, JobStatus::Cancelled, "{listed:?}");
    assert_eq!(
        serve.load(st.job.id).unwrap().unwrap().status,
        JobStatus::Cancelled
    );
    // Another creates one.
    cli.create(
        JobState::new(
            job("sip:8.12", Schedule::Now, rollout(1, 0, None)),
            sccp_phones(2),
            0,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(serve.list().unwrap().len(), 2);
    // The inventory appending events to the same file changes no job:
    // the jobs read again are the same.
    let inv = SqliteInventory::open(&db).unwrap();
    log(&inv, &sccp_to_sip_boot(2, 10));
    assert_eq!(serve.list().unwrap(), cli.list().unwrap());
}

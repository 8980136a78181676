//! The PostgreSQL job store on a real PostgreSQL (started by
//! `phoneflip-pgtest`; skipped loudly without it): the SQLite store's
//! contract, and the leases that make a job run on one node at a time.

mod common;
use common::*;

use std::time::Duration;

use phoneflip_jobs::{
    cancel, tick, JobState, JobStatus, JobStore, PgJobStore, Schedule, SqliteJobStore, StoreError,
};

fn running_job(store: &dyn JobStore) -> JobState {
    running_job_of(store, sccp_phones(3))
}

/// A running job of these phones (a phone belongs to one unfinished job,
/// so jobs running side by side take different phones).
fn running_job_of(store: &dyn JobStore, phones: Vec<phoneflip_jobs::Selected>) -> JobState {
    let mut st = store
        .create(
            JobState::new(
                job("sip:8.12", Schedule::Now, rollout(1, 0, None)),
                phones,
                0,
            )
            .unwrap(),
        )
        .unwrap();
    tick(0, &mut st, &sccp_to_sip_boot(1, 0));
    assert_eq!(st.status, JobStatus::Running);
    store.save(&st).unwrap();
    st
}

/// What `restart.rs` checks of the memory and SQLite stores, on both SQL
/// stores; and on both, a save never makes a finished job unfinished.
#[test]
fn postgres_and_sqlite_stores_agree() {
    let Some(db) = phoneflip_pgtest::database("jobs store contract") else {
        return;
    };
    let pg = PgJobStore::open(&db.url).unwrap();
    let sql = SqliteJobStore::open_in_memory().unwrap();
    for store in [&pg as &dyn JobStore, &sql as &dyn JobStore] {
        let st = running_job(store);
        assert_eq!(st.job.id, 1);
        let back = store.load(1).unwrap().unwrap();
        assert_eq!(back, st);
        assert!(back.phones.iter().any(|p| p.batch == Some(0)), "{back:?}");
        assert_eq!(store.list().unwrap(), vec![st.clone()]);
        assert_eq!(store.active().unwrap(), vec![1]);
        assert_eq!(store.claim().unwrap(), vec![1]);
        assert!(store.load(9).unwrap().is_none());
        let mut ghost = st.clone();
        ghost.job.id = 9;
        assert!(matches!(store.save(&ghost), Err(StoreError::NotFound(9))));
        // Cancelled elsewhere while the engine held the running state:
        // the engine's save must not bring the job back.
        cancel(store, 1, 5, "operator").unwrap();
        let e = store.save_claimed(&st).unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::AlreadyFinished {
                    id: 1,
                    status: JobStatus::Cancelled
                }
            ),
            "{e}"
        );
        assert!(phoneflip_jobs::not_ours(&e));
        assert_eq!(store.load(1).unwrap().unwrap().status, JobStatus::Cancelled);
        assert!(store.active().unwrap().is_empty());
        assert!(store.claim().unwrap().is_empty());
    }
}

/// One node holds a job; the other gets nothing until the holder stops
/// renewing, then takes it over, and the old holder's saves are refused.
#[test]
fn a_lease_keeps_a_job_on_one_node_until_it_lapses() {
    let Some(db) = phoneflip_pgtest::database("jobs leases") else {
        return;
    };
    let lease = Duration::from_millis(600);
    let a = PgJobStore::open(&db.url)
        .unwrap()
        .with_node("a")
        .with_lease(lease);
    let b = PgJobStore::open(&db.url)
        .unwrap()
        .with_node("b")
        .with_lease(lease);
    let st = running_job(&a);
    assert_eq!(a.claim().unwrap(), vec![st.job.id]);
    assert!(b.claim().unwrap().is_empty());
    assert_eq!(a.holder(st.job.id).unwrap().as_deref(), Some("a"));
    a.save_claimed(&st).unwrap();
    let e = b.save_claimed(&st).unwrap_err();
    assert!(
        matches!(e, StoreError::LeaseLost(id) if id == st.job.id),
        "{e}"
    );
    // a keeps renewing: b still gets nothing after more than a lease.
    for _ in 0..4 {
        std::thread::sleep(lease / 3);
        assert_eq!(a.claim().unwrap(), vec![st.job.id]);
        assert!(b.claim().unwrap().is_empty());
    }
    // a dies (stops renewing): b takes the job over.
    std::thread::sleep(lease + Duration::from_millis(200));
    assert_eq!(b.claim().unwrap(), vec![st.job.id]);
    assert_eq!(b.holder(st.job.id).unwrap().as_deref(), Some("b"));
    let e = a.save_claimed(&st).unwrap_err();
    assert!(matches!(e, StoreError::LeaseLost(_)), "{e}");
    assert!(a.claim().unwrap().is_empty());
    b.save_claimed(&st).unwrap();
    // A plain save (a command, the API) is not fenced.
    a.save(&st).unwrap();
}

/// Eight jobs, three nodes claiming at once from threads, over and over:
/// every job is held by exactly one node each round.
#[test]
fn concurrent_claims_hand_each_job_to_one_node() {
    let Some(db) = phoneflip_pgtest::database("jobs concurrent claims") else {
        return;
    };
    let nodes: Vec<PgJobStore> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            PgJobStore::open(&db.url)
                .unwrap()
                .with_node(*n)
                .with_lease(Duration::from_secs(30))
        })
        .collect();
    let ids: Vec<i64> = (0..8u32)
        .map(|j| {
            let mut phones = sccp_phones(3 * (j + 1));
            phones.drain(..3 * j as usize);
            running_job_of(&nodes[0], phones).job.id
        })
        .collect();
    let mut first: Option<Vec<Vec<i64>>> = None;
    for _ in 0..5 {
        let got: Vec<Vec<i64>> = std::thread::scope(|s| {
            let hs: Vec<_> = nodes
                .iter()
                .map(|n| s.spawn(|| n.claim().unwrap()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut all: Vec<i64> = got.iter().flatten().copied().collect();
        all.sort_unstable();
        // Rows being claimed by one node are skipped by the others, so a
        // round may leave a job to the next; never to two nodes.
        let mut dedup = all.clone();
        dedup.dedup();
        assert_eq!(all, dedup, "a job claimed twice: {got:?}");
        if let Some(f) = &first {
            for (n, (now, before)) in got.iter().zip(f).enumerate() {
                assert!(
                    before.iter().all(|id| now.contains(id)),
                    "node {n} lost {before:?}: {now:?}"
                );
            }
        }
        first = Some(got);
    }
    let mut held: Vec<i64> = first.unwrap().into_iter().flatten().collect();
    held.sort_unstable();
    assert_eq!(held, ids);
}

/// Job creation's ownership check is atomic on PostgreSQL too: four nodes
/// (four stores on one database) creating a job for the same phones at
/// once end with one job owning them, the others refused with it named.
#[test]
fn two_nodes_cannot_both_create_a_job_for_one_phone() {
    let Some(db) = phoneflip_pgtest::database("jobs store ownership") else {
        return;
    };
    let state = JobState::new(
        job("sip:8.12", Schedule::Now, rollout(1, 0, None)),
        sccp_phones(3),
        0,
    )
    .unwrap();
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (url, state) = (&db.url, state.clone());
                s.spawn(move || PgJobStore::open(url).unwrap().create(state))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    let id = won[0].job.id;
    for r in &results {
        match r {
            Ok(_) => {}
            Err(StoreError::Owned(t)) => {
                assert_eq!(t.len(), 3);
                assert!(t.iter().all(|(_, j)| *j == id), "{t:?}");
            }
            Err(e) => panic!("{e}"),
        }
    }
    let pg = PgJobStore::open(&db.url).unwrap();
    assert_eq!(pg.list().unwrap().len(), 1);
    // Once that job is finished its phones are free.
    cancel(&pg, id, 1, "operator").unwrap();
    assert!(pg.create(state).is_ok());
}

struct NoEvents;
impl phoneflip_jobs::EventSource for NoEvents {
    fn events_after(
        &self,
        _: i64,
        _: usize,
    ) -> Result<Vec<(i64, phoneflip_jobs::TransferEvent)>, String> {
        Ok(Vec::new())
    }
}

/// Records which node reset which phone.
struct Recorder {
    node: &'static str,
    done: std::sync::Arc<std::sync::Mutex<Vec<(&'static str, phoneflip_device::Mac)>>>,
}

impl phoneflip_jobs::Effects for Recorder {
    async fn reset(
        &self,
        _: &phoneflip_jobs::Job,
        mac: phoneflip_device::Mac,
        _: phoneflip_jobs::ResetMethod,
        _: Option<std::net::IpAddr>,
    ) -> phoneflip_jobs::ResetReport {
        self.done.lock().unwrap().push((self.node, mac));
        phoneflip_jobs::ResetReport::power_cycle(format!("{mac}: power cycle"))
    }

    async fn check_registration(
        &self,
        _: &phoneflip_jobs::Job,
        mac: phoneflip_device::Mac,
        _: Option<std::net::IpAddr>,
    ) -> phoneflip_jobs::RegistrationReport {
        phoneflip_jobs::RegistrationReport::problem("test", format!("{mac}: not checked here"))
    }
}

/// Two engines on one database step the same job at once, round after
/// round: every phone is reset once, all by the node holding the job;
/// when that node stops, the other takes the job over and resets nothing
/// again.
#[tokio::test]
async fn two_engines_on_one_database_reset_each_phone_once() {
    // pgtest's own client blocks too: not on the runtime's thread.
    let Some(db) =
        phoneflip_inventory::off_runtime(|| phoneflip_pgtest::database("jobs two engines"))
    else {
        return;
    };
    let lease = Duration::from_millis(800);
    let a = PgJobStore::open(&db.url)
        .unwrap()
        .with_node("a")
        .with_lease(lease);
    let b = PgJobStore::open(&db.url)
        .unwrap()
        .with_node("b")
        .with_lease(lease);
    let id = a
        .create(
            JobState::new(
                job("sip:8.12", Schedule::At(0), rollout(6, 0, None)),
                sccp_phones(6),
                0,
            )
            .unwrap(),
        )
        .unwrap()
        .job
        .id;
    let done = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let ea = Recorder {
        node: "a",
        done: done.clone(),
    };
    let eb = Recorder {
        node: "b",
        done: done.clone(),
    };
    for round in 0..10 {
        let now = 1_000 + round * 1_000;
        let (ra, rb) = tokio::join!(
            phoneflip_jobs::step(now, &a, &NoEvents, &ea),
            phoneflip_jobs::step(now, &b, &NoEvents, &eb)
        );
        ra.unwrap();
        rb.unwrap();
    }
    let resets = done.lock().unwrap().clone();
    assert_eq!(resets.len(), 6, "{resets:?}");
    let holder = resets[0].0;
    assert!(resets.iter().all(|(n, _)| *n == holder), "{resets:?}");
    let mut macs: Vec<_> = resets.iter().map(|(_, m)| *m).collect();
    macs.sort();
    macs.dedup();
    assert_eq!(macs.len(), 6);
    let st = a.load(id).unwrap().unwrap();
    assert_eq!(st.power_cycle_list().len(), 6);

    // The holder dies; the other node takes over after the lease.
    let (other, other_fx) = if holder == "a" { (&b, &eb) } else { (&a, &ea) };
    tokio::time::sleep(lease + Duration::from_millis(300)).await;
    phoneflip_jobs::step(20_000, other, &NoEvents, other_fx)
        .await
        .unwrap();
    assert_eq!(other.holder(id).unwrap().as_deref(), Some(other.node()));
    assert_eq!(done.lock().unwrap().len(), 6, "a phone was reset twice");
    assert_eq!(other.load(id).unwrap().unwrap().status, JobStatus::Running);
    // The synchronous client closes its connections by blocking: not on
    // the runtime's thread.
    tokio::task::spawn_blocking(move || drop((a, b)))
        .await
        .unwrap();
}

//! Check-sync NOTIFYs go out together: phones that never answer (each
//! waiting out the full 32-s Timer F) neither hold up the phones that do
//! nor the shutdown. Loopback only: reachable phones are UDP responders on
//! 127.0.1.N, unreachable ones are 127.0.2.N with nothing listening.

mod common;
use common::*;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use phoneflip_config::Line;
use phoneflip_device::{Mac, Model};
use phoneflip_inventory::{Event, Inventory, Outcome, Phone, SqliteInventory};
use phoneflip_jobs::{
    engine::MAX_RESETS_IN_FLIGHT, run_until, step, step_until, CheckSyncNotify, Effects,
    EventSource, InventoryEffects, InventoryEvents, JobState, JobStore, MemoryJobStore,
    ResetMethod, ResetReport, Schedule, SyncBumper, TransferEvent,
};
use tokio::net::UdpSocket;

const T0: i64 = 1_764_000_000_000;

struct Bumps;

impl SyncBumper for Bumps {
    fn bump_sync(&self, _: Mac) -> Result<String, String> {
        Ok("2".into())
    }
}

fn reachable(n: u32) -> IpAddr {
    IpAddr::from([127, 0, 1, n as u8])
}

fn unreachable(n: u32) -> IpAddr {
    IpAddr::from([127, 0, 2, n as u8])
}

/// A SIP phone at `addr` answering every NOTIFY with 200 OK.
async fn answering_phone(addr: SocketAddr) {
    let sock = UdpSocket::bind(addr).await.unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            if let Ok(req) = CheckSyncNotify::parse(&buf[..n]) {
                let ok = req.response(200, "OK", "p").to_bytes();
                let _ = sock.send_to(&ok, from).await;
            }
        }
    });
}

/// An inventory of SIP 7.4 phones whose last boots came from `ips`, and a
/// job over all of them in one batch without a canary.
fn fleet(ips: &[IpAddr]) -> (Arc<SqliteInventory>, MemoryJobStore, i64) {
    let inv = Arc::new(SqliteInventory::open_in_memory().unwrap());
    inv.put_template(&phoneflip_config::Template {
        name: "sip-default".into(),
        protocol: phoneflip_firmware::Protocol::Sip,
        settings: Default::default(),
    })
    .unwrap();
    let mut boots = Vec::new();
    for (i, ip) in ips.iter().enumerate() {
        let n = i as u32 + 1;
        let mut p = Phone::new(mac(n), Model::Cp7960);
        p.observed_load = Some("POS3-07-4-00".parse().unwrap());
        p.lines = vec![Line {
            number: 1,
            name: format!("{}", 100 + n),
            authname: None,
            password: None,
            displayname: None,
            shortname: None,
        }];
        inv.put_phone(&p).unwrap();
        let e = ev(n, T0 - 60_000, "SIP<MAC>.cnf", Sent);
        boots.push(Event::new(
            e.time_ms,
            e.mac,
            std::net::SocketAddr::new(*ip, 50_000),
            &e.file,
            0,
            Outcome::Sent,
            None,
        ));
    }
    inv.append_events(&boots).unwrap();
    let selected = phoneflip_jobs::Query::default()
        .select(inv.as_ref())
        .unwrap();
    let store = MemoryJobStore::new();
    let n = ips.len() as u32;
    let id = store
        .create(
            JobState::new(
                job("sip:8.12", Schedule::Now, rollout(n, 0, None)),
                selected,
                T0,
            )
            .unwrap(),
        )
        .unwrap()
        .job
        .id;
    (inv, store, id)
}

fn done_macs(store: &MemoryJobStore, id: i64) -> Vec<Mac> {
    let st = store.load(id).unwrap().unwrap();
    st.phones
        .iter()
        .filter(|p| p.reset_done)
        .map(|p| p.mac)
        .collect()
}

#[tokio::test]
async fn ten_unreachable_phones_do_not_hold_up_ten_reachable_ones_or_the_shutdown() {
    // One SIP port for the fleet, as `voip_control_port` is.
    let probe = std::net::UdpSocket::bind((reachable(1), 0)).unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let mut ips = Vec::new();
    for n in 1..=10 {
        answering_phone(SocketAddr::new(reachable(n), port)).await;
        ips.push(reachable(n));
        ips.push(unreachable(n));
    }
    let (inv, store, id) = fleet(&ips);
    let events = InventoryEvents(inv.clone());
    // RFC 3261's own timers: an unreachable phone is given up on after
    // 32 s, far longer than this test waits.
    let mut fx = InventoryEffects::new(inv.clone(), Bumps);
    fx.sip_port = port;
    let reachable_macs: Vec<Mac> = (1..=20).step_by(2).map(mac).collect();

    let started = Instant::now();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = step_until(T0, &store, &events, &fx, async {
        let _ = stopped.await;
    });
    let mut run = std::pin::pin!(run);
    loop {
        tokio::select! {
            r = &mut run => panic!("the step ended before the unreachable phones timed out: {r:?}"),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        let mut done = done_macs(&store, id);
        done.sort();
        if done == reachable_macs {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "after 5 s only {done:?} of the reachable phones are reset"
        );
    }
    let reached = started.elapsed();
    assert!(reached < Duration::from_secs(5), "{reached:?}");

    // Shutdown cancels the ten outstanding transactions at once.
    stop.send(()).unwrap();
    let t = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(2), &mut run)
        .await
        .expect("shutdown waited for unreachable phones")
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!(
        out.iter()
            .filter(|(_, a)| matches!(a, phoneflip_jobs::Action::ResetPhone { .. }))
            .count(),
        20
    );
    let st = store.load(id).unwrap().unwrap();
    for p in &st.phones {
        let is_reachable = reachable_macs.contains(&p.mac);
        assert_eq!(p.reset_done, is_reachable, "{}: {:?}", p.mac, p.note);
        if is_reachable {
            let note = p.note.as_deref().unwrap_or("");
            assert!(note.contains("200 OK"), "{note}");
            assert!(!p.needs_power_cycle);
        }
    }
}

#[tokio::test]
async fn the_run_loop_stops_at_once_while_a_notify_is_unanswered() {
    // A phone that hears the NOTIFY and never answers.
    let sock = UdpSocket::bind((unreachable(200), 0)).await.unwrap();
    let addr = sock.local_addr().unwrap();
    let heard = Arc::new(AtomicUsize::new(0));
    let heard2 = heard.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while sock.recv_from(&mut buf).await.is_ok() {
            heard2.fetch_add(1, Ordering::SeqCst);
        }
    });
    let (inv, store, id) = fleet(&[addr.ip()]);
    let store = Arc::new(store);
    let mut fx = InventoryEffects::new(inv.clone(), Bumps);
    fx.sip_port = addr.port();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(run_until(
        store.clone(),
        Arc::new(InventoryEvents(inv.clone())),
        Arc::new(fx),
        Duration::from_millis(10),
        rx,
    ));
    for _ in 0..200 {
        if heard.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(heard.load(Ordering::SeqCst) > 0, "no NOTIFY sent");
    tx.send(true).unwrap();
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("run_until waited for the unanswered NOTIFY")
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));
    // Not acknowledged: the next run sends it again.
    assert!(done_macs(&store, id).is_empty());
}

/// Counts how many resets run at once.
#[derive(Default)]
struct Slow {
    now: AtomicUsize,
    peak: AtomicUsize,
    seen: Mutex<Vec<Mac>>,
}

impl Effects for Slow {
    async fn reset(
        &self,
        _: &phoneflip_jobs::Job,
        mac: Mac,
        _: ResetMethod,
        _: Option<IpAddr>,
    ) -> ResetReport {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push(mac);
        ResetReport::power_cycle(format!("{mac}: power cycle"))
    }

    async fn check_registration(
        &self,
        _: &phoneflip_jobs::Job,
        mac: Mac,
        _: Option<IpAddr>,
    ) -> phoneflip_jobs::RegistrationReport {
        phoneflip_jobs::RegistrationReport::problem(
            "test",
            format!("{mac}: this test does not check registration"),
        )
    }
}

struct NoEvents;

impl EventSource for NoEvents {
    fn events_after(&self, _: i64, _: usize) -> Result<Vec<(i64, TransferEvent)>, String> {
        Ok(Vec::new())
    }
}

#[tokio::test]
async fn resets_run_together_but_no_more_than_the_bound() {
    let store = MemoryJobStore::new();
    let n = 2 * MAX_RESETS_IN_FLIGHT as u32 + 3;
    let id = store
        .create(
            JobState::new(
                job("sip:8.12", Schedule::Now, rollout(n, 0, None)),
                sccp_phones(n),
                0,
            )
            .unwrap(),
        )
        .unwrap()
        .job
        .id;
    let fx = Slow::default();
    let t = Instant::now();
    step(0, &store, &NoEvents, &fx).await.unwrap();
    // Three rounds of 100 ms, not n of them.
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(fx.peak.load(Ordering::SeqCst), MAX_RESETS_IN_FLIGHT);
    assert_eq!(fx.seen.lock().unwrap().len(), n as usize);
    assert_eq!(done_macs(&store, id).len(), n as usize);
}

//! Issue 5's remote reset with nothing bridged: a job created with
//! `phoneflip_jobs::create_job` and driven by `phoneflip_jobs::step` sends
//! real check-sync NOTIFYs over UDP to emulated SIP phones listening on
//! their own 127.100.x.y addresses; they answer 200 OK, fetch
//! `syncinfo.xml` from phoneflip's TFTP server (per-phone rendering from a
//! SQLite inventory, transfers recorded back into it), reboot, fetch their
//! new files and end on the job's load, and the job sees every phone
//! converted from what they fetched.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_config::{Line, Template};
use phoneflip_device::{Mac, Model};
use phoneflip_emulator::driver::{
    self, DriveOptions, Fetcher, LivePhone, LiveReport, LiveStatus, SipOptions, TftpFetcher,
};
use phoneflip_emulator::run::{memory_fetch, Entry, FetchError};
use phoneflip_emulator::sip::{Heard, Response};
use phoneflip_emulator::{Flash, Outcome, Phone as EmuPhone, PhoneConfig, TftpSetting};
use phoneflip_firmware::{Protocol, Release};
use phoneflip_inventory::{now_millis, Inventory, Phone, SqliteInventory};
use phoneflip_jobs::{
    send_check_sync, step, InventoryEffects, InventoryEvents, InventorySyncBumper, Job, JobStatus,
    JobStore, NotifyOutcome, Query, Rollout, Schedule, SqliteJobStore, Stage, Target, Timers,
};
use phoneflip_provision::Provisioner;
use phoneflip_tftp::client::FetchOptions;
use phoneflip_tftp::{Server, ServerConfig, TransferLog};
use tokio::sync::oneshot;

/// Every wait in this file is bounded by this; the whole test stays well
/// under 30 s.
const LIMIT: Duration = Duration::from_secs(20);

const TARGET: &str = "P0S3-8-12-00";

/// Phones of this file live at loopback_addr(BASE + i), apart from the
/// other emulator tests.
const BASE: u32 = 600;

/// A UDP port outside the kernel's ephemeral range (so no TFTP client of a
/// phone can be handed it while the phone reboots) that every phone
/// address can bind.
fn sip_port(addrs: &[IpAddr]) -> u16 {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    let start = 20_000 + (std::process::id() % 9_000) as u16;
    for port in (start..30_000).chain(10_000..start) {
        if (range.0..=range.1).contains(&port) {
            continue;
        }
        let free = addrs
            .iter()
            .all(|a| std::net::UdpSocket::bind(SocketAddr::new(*a, port)).is_ok());
        if free {
            return port;
        }
    }
    panic!("no free UDP port for the emulated phones' SIP");
}

struct Tftp {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

async fn start_tftp(root: &Path, inv: Arc<dyn Inventory>) -> Tftp {
    let catalogue = Provisioner::catalogue_of(root).unwrap();
    let source = Arc::new(Provisioner::new(inv, catalogue, None));
    let recorder = Arc::new(source.recorder());
    let cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap(), root);
    let server = Server::bind(cfg, source, recorder, TransferLog::none())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    Tftp {
        addr,
        stop: Some(tx),
        task,
    }
}

fn dump(r: &LiveReport) -> String {
    let mut s: String = r.boot.transcript.iter().map(|e| format!("{e}\n")).collect();
    for e in &r.sip {
        s.push_str(&format!("{e:?}\n"));
    }
    s
}

fn requests_after(r: &LiveReport, from: usize) -> Vec<String> {
    r.boot.transcript[from..]
        .iter()
        .filter_map(|e| match e {
            Entry::Request { file, .. } => Some(file.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_resets_listening_sip_phones_with_check_sync_and_they_convert() {
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    for b in ["sip:7.4", "sip:8.9", "sip:8.12"] {
        let r: Release = b.parse().unwrap();
        let bundle = synth::synth(r.protocol, r.version, SizeProfile::Small).unwrap();
        let zip = synth::write_zip(&bundle, dir.path()).unwrap();
        let report = phoneflip_bundle::import(&zip, &root).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    // The fleet: two 7960s on SIP 7.4 and a 7940 on SIP 8.9, each managed
    // on the load it runs, with a line the NOTIFY is addressed to.
    let inv = Arc::new(SqliteInventory::open(dir.path().join("phoneflip.db")).unwrap());
    inv.put_template(&Template {
        name: "sip-812".into(),
        protocol: Protocol::Sip,
        settings: Default::default(),
    })
    .unwrap();
    let fleet: Vec<(Mac, Model, &str)> = vec![
        ("0019AA000701".parse().unwrap(), Model::Cp7960, "sip:7.4"),
        ("0019AA000702".parse().unwrap(), Model::Cp7960, "sip:7.4"),
        ("0019AA000703".parse().unwrap(), Model::Cp7940, "sip:8.9"),
    ];
    for (i, (mac, model, load)) in fleet.iter().enumerate() {
        let r: Release = load.parse().unwrap();
        let name = phoneflip_firmware::LoadName::canonical(r.protocol, r.version);
        let mut p = Phone::new(*mac, *model);
        p.observed_load = Some(name.clone());
        p.desired_protocol = Some(Protocol::Sip);
        p.desired_load = Some(name);
        p.lines = vec![Line {
            number: 1,
            name: format!("70{i}"),
            authname: None,
            password: None,
            displayname: None,
            shortname: None,
        }];
        inv.put_phone(&p).unwrap();
    }
    let inv_dyn: Arc<dyn Inventory> = inv.clone();
    let tftp = start_tftp(&root, inv_dyn.clone()).await;

    // The phones boot once, then idle with their SIP stack up.
    let addrs: Vec<IpAddr> = (0..fleet.len() as u32)
        .map(|i| driver::loopback_addr(BASE + i))
        .collect();
    let port = sip_port(&addrs);
    let fetcher = Arc::new(TftpFetcher {
        options: FetchOptions {
            timeout: Duration::from_secs(1),
            max_retries: 3,
            ..FetchOptions::default()
        },
    });
    let mut phones: Vec<LivePhone> = fleet
        .iter()
        .zip(&addrs)
        .map(|((mac, model, load), local)| {
            let r: Release = load.parse().unwrap();
            LivePhone::spawn(
                EmuPhone::new(
                    PhoneConfig {
                        mac: *mac,
                        model: *model,
                        tftp: TftpSetting::Manual(tftp.addr),
                    },
                    Flash::with_load(r.protocol, r.version),
                ),
                fetcher.clone(),
                DriveOptions {
                    local: *local,
                    time_scale: 0.0,
                    fetch_rounds: 3,
                },
                SipOptions { port },
            )
        })
        .collect();
    let mut booted = Vec::new();
    for (p, local) in phones.iter_mut().zip(&addrs) {
        let s = p
            .wait_for(|s| s.listening.is_some(), LIMIT)
            .await
            .unwrap_or_else(|s| panic!("a phone never came up listening: {s:?}"));
        assert_eq!(s.listening, Some(SocketAddr::new(*local, port)));
        booted.push(s);
    }
    for (s, (_, _, load)) in booted.iter().zip(&fleet) {
        let r: Release = load.parse().unwrap();
        match &s.outcome {
            Some(Outcome::Stable(st)) => assert_eq!(st.version, r.version),
            o => panic!("{o:?}"),
        }
    }
    // The job learns where each phone is from the recorded transfers.
    let deadline = Instant::now() + LIMIT;
    for (mac, ..) in &fleet {
        while !inv
            .timeline(*mac, 10)
            .unwrap()
            .iter()
            .any(|e| e.event.client_ip.is_loopback())
        {
            assert!(Instant::now() < deadline, "no transfer of {mac} recorded");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // The job: canary of one, then the rest.
    let store = SqliteJobStore::open(dir.path().join("jobs.db")).unwrap();
    let created = now_millis();
    let job = Job {
        id: 0,
        description: "fleet to SIP 8.12".into(),
        query: Query::default(),
        template: "sip-812".into(),
        target: "sip:8.12".parse::<Target>().unwrap(),
        schedule: Schedule::Now,
        rollout: Rollout {
            batch_size: 5,
            canary_size: 1,
            max_failures: Some(1),
            phone_timeout_ms: 60_000,
            // Conversion is the last stage here; registration has its own tests.
            register_grace_ms: None,
        },
        created_ms: created,
    };
    let catalogue = Provisioner::catalogue_of(&root).unwrap();
    // No registrar here: this test is about check-sync, and creation is
    // told so (registration has its own tests).
    let allow = phoneflip_jobs::CreateOptions {
        allow_unregistered: true,
    };
    let id = phoneflip_jobs::create_job_with(
        inv.as_ref(),
        &store,
        job,
        None,
        &catalogue,
        created,
        allow,
    )
    .unwrap()
    .job
    .id;
    let events = InventoryEvents(inv_dyn.clone());
    let mut fx = InventoryEffects::new(inv_dyn.clone(), InventorySyncBumper(inv_dyn.clone()));
    fx.sip_port = port;
    fx.timers = Timers {
        t1_ms: 100,
        t2_ms: 400,
        timeout_ms: 3_200,
    };
    let deadline = Instant::now() + LIMIT;
    let st = loop {
        step(now_millis(), &store, &events, &fx).await.unwrap();
        let st = store.load(id).unwrap().unwrap();
        if st.status.is_terminal() {
            break st;
        }
        if Instant::now() > deadline {
            let mut why = format!("job still {:?}: {:#?}\n", st.status, st.phones);
            for p in phones {
                why.push_str(&format!("{:?}\n", p.status()));
                if let Ok(r) = p.stop().await {
                    why.push_str(&dump(&r));
                }
            }
            panic!("{why}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(st.status, JobStatus::Completed, "{:#?}", st);
    assert_eq!(st.counts().converted, fleet.len(), "{:#?}", st.phones);
    for e in &st.phones {
        assert!(matches!(e.progress.stage, Stage::Converted { .. }), "{e:?}");
        let note = e.note.clone().unwrap_or_default();
        assert!(note.contains("200 OK"), "{note}");
    }

    // Each phone: heard one NOTIFY, answered 200, fetched syncinfo.xml,
    // rebooted, fetched the new load and its files, and is back listening
    // on SIP 8.12.
    for (p, (mac, ..)) in phones.iter_mut().zip(&fleet) {
        p.wait_for(
            |s: &LiveStatus| {
                s.listening.is_some()
                    && matches!(&s.outcome, Some(Outcome::Stable(st)) if st.load == TARGET)
            },
            LIMIT,
        )
        .await
        .unwrap_or_else(|s| panic!("{mac} did not come back on {TARGET}: {s:?}"));
    }
    for (p, (mac, ..)) in phones.into_iter().zip(&fleet) {
        let r = p.stop().await.unwrap();
        let d = dump(&r);
        let notifies: Vec<_> = r
            .sip
            .iter()
            .filter(|e| matches!(e.heard, Heard::CheckSync { .. }))
            .collect();
        assert_eq!(notifies.len(), 1, "{mac}\n{d}");
        assert_eq!(notifies[0].answered, Some(200), "{mac}\n{d}");
        let first_sync = r
            .boot
            .transcript
            .iter()
            .position(|e| matches!(e, Entry::Request { file, .. } if file == "syncinfo.xml"))
            .unwrap_or_else(|| panic!("{mac} never asked for syncinfo.xml\n{d}"));
        // The SIP load waits until idle, then asks for syncinfo.xml.
        assert!(
            matches!(
                r.boot.transcript[first_sync - 1],
                Entry::Wait { ms: 20_000, .. }
            ),
            "{mac}\n{d}"
        );
        let after = requests_after(&r, first_sync);
        assert_eq!(after[0], "syncinfo.xml");
        assert!(
            matches!(r.boot.transcript[first_sync + 1], Entry::Received { ref file, .. } if file == "syncinfo.xml"),
            "{mac}\n{d}"
        );
        assert!(
            matches!(r.boot.transcript[first_sync + 2], Entry::Reboot { .. }),
            "{mac}: SYNC differed, so the phone reboots\n{d}"
        );
        for f in [
            "P0S3-8-12-00.loads",
            "P003-8-12-00.sbn",
            "P0S3-8-12-00.sb2",
            "SIPDefault.cnf",
        ] {
            assert!(after.iter().any(|a| a == f), "{mac} never fetched {f}\n{d}");
        }
        assert!(after.contains(&format!("./SIP{mac}.cnf")), "{mac}\n{d}");
        assert_eq!(r.boot.flash.app.as_ref().unwrap().name, TARGET);
        assert!(
            matches!(&r.boot.outcome, Outcome::Stable(s) if s.load == TARGET),
            "{d}"
        );
        assert_eq!(r.boot.reboots, 3, "check-sync, loader, application\n{d}");
    }
    // The job pointed the records at the target, and the inventory learnt
    // from the fetches that the phones run it.
    let deadline = Instant::now() + LIMIT;
    for (mac, ..) in &fleet {
        loop {
            let p = inv.get_phone(*mac).unwrap().unwrap();
            assert_eq!(p.desired_load.as_ref().unwrap().as_str(), TARGET);
            if p.observed_load.as_ref().map(|l| l.as_str()) == Some(TARGET) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{mac}: observed {:?}",
                p.observed_load
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let _ = tftp.stop.map(|s| s.send(()));
    let _ = tftp.task.await;
    assert!(t0.elapsed() < Duration::from_secs(30), "{:?}", t0.elapsed());
}

/// A TFTP root in memory the test can change while the phone lives.
struct MemRoot(std::sync::Mutex<HashMap<String, Vec<u8>>>);

impl Fetcher for MemRoot {
    async fn fetch(&self, _: SocketAddr, _: IpAddr, file: &str) -> Result<Vec<u8>, FetchError> {
        let files = self.0.lock().unwrap();
        memory_fetch(&files, file)
    }
}

/// A datagram to the phone and its answer, if one comes within `wait`
/// (the phone answers on loopback in well under a millisecond).
async fn exchange_within(to: SocketAddr, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let s = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    s.send_to(bytes, to).await.unwrap();
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(wait, s.recv_from(&mut buf)).await {
        Ok(Ok((n, _))) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

async fn exchange(to: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    exchange_within(to, bytes, Duration::from_secs(2)).await
}

fn request(method: &str, to: SocketAddr, extra: &str) -> Vec<u8> {
    format!(
        "{method} sip:800@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{method}{n};rport\r\n\
         From: <sip:tester@127.0.0.1>;tag=t1\r\n\
         To: <sip:800@{to}>\r\n\
         Call-ID: {method}-{n}@test\r\n\
         CSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n",
        n = extra.len()
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listening_phone_reloads_its_dial_plan_when_sync_is_unchanged_and_answers_the_rest() {
    let mac = "0019AA000801";
    let mut files: HashMap<String, Vec<u8>> =
        synth::synth(Protocol::Sip, "8.12".parse().unwrap(), SizeProfile::Small)
            .unwrap()
            .files
            .into_iter()
            .collect();
    let mut put = |n: &str, t: &str| files.insert(n.to_string(), t.as_bytes().to_vec());
    put("SIPDefault.cnf", "image_version: P0S3-8-12-00\n");
    put(
        &format!("SIP{mac}.cnf"),
        "image_version: P0S3-8-12-00\nline1_name: 800\nsync: 5\n",
    );
    put(
        "syncinfo.xml",
        "<IMAGE VERSION=\"P0S3-8-12-00\" SYNC=\"5\"/>\n",
    );
    put("dialplan.xml", "<DIALTEMPLATE></DIALTEMPLATE>\n");
    let root = Arc::new(MemRoot(std::sync::Mutex::new(files)));
    let local = driver::loopback_addr(BASE + 50);
    let port = sip_port(&[local]);
    let mut p = LivePhone::spawn(
        EmuPhone::new(
            PhoneConfig {
                mac: mac.parse().unwrap(),
                model: Model::Cp7960,
                tftp: TftpSetting::Manual("127.0.0.1:69".parse().unwrap()),
            },
            Flash::with_load(Protocol::Sip, "8.12".parse().unwrap()),
        ),
        root.clone(),
        DriveOptions {
            local,
            ..DriveOptions::default()
        },
        SipOptions { port },
    );
    let up = |s: &LiveStatus| s.listening.is_some();
    let s = p.wait_for(up, LIMIT).await.unwrap();
    let to = s.listening.unwrap();
    assert_eq!(to, SocketAddr::new(local, port));

    // Garbage gets nothing back, and the phone keeps listening.
    for g in [
        &b"\x00\x01garbage"[..],
        b"NOTIFY\r\n\r\n",
        b"SIP/2.0 200 OK\r\n\r\n",
    ] {
        assert_eq!(
            exchange_within(to, g, Duration::from_millis(300)).await,
            None
        );
    }
    // Methods it does not take, and an event it does not know.
    let answer = |b: Option<Vec<u8>>| Response::parse(&b.expect("an answer")).unwrap();
    let r = answer(exchange(to, &request("INVITE", to, "")).await);
    assert_eq!(r.status, 405);
    assert!(r.header("Allow").unwrap().contains("NOTIFY"));
    assert_eq!(r.header("Call-ID"), Some("INVITE-0@test"));
    assert_eq!(r.header("CSeq"), Some("1 INVITE"));
    assert_eq!(
        answer(exchange(to, &request("BYE", to, "")).await).status,
        481
    );
    assert_eq!(
        answer(exchange(to, &request("OPTIONS", to, "")).await).status,
        200
    );
    let r = answer(exchange(to, &request("NOTIFY", to, "Event: presence\r\n")).await);
    assert_eq!(r.status, 489);
    assert_eq!(p.status().check_syncs, 0);

    // The job side's own NOTIFY: accepted; SYNC 5 is the phone's own, so it
    // only reloads its dial plan.
    let timers = Timers {
        t1_ms: 100,
        t2_ms: 400,
        timeout_ms: 3_200,
    };
    let o = send_check_sync("800", to, None, timers, 1).await.unwrap();
    assert_eq!(
        o,
        NotifyOutcome::Accepted {
            status: 200,
            reason: "OK".into()
        }
    );
    p.wait_for(|s| s.check_syncs == 1 && s.listening.is_some(), LIMIT)
        .await
        .unwrap();
    assert_eq!(p.status().reboots, 0);

    // The same NOTIFY resent (its 200 was lost): answered again, not acted on.
    let notify = request("NOTIFY", to, "Event: check-sync\r\n");
    let first = exchange(to, &notify).await.unwrap();
    assert_eq!(exchange(to, &notify).await.unwrap(), first);
    assert_eq!(answer(Some(first)).status, 200);
    p.wait_for(|s| s.check_syncs == 2 && s.listening.is_some(), LIMIT)
        .await
        .unwrap();

    // A new SYNC: the next check-sync reboots the phone, and it comes back
    // listening.
    root.0.lock().unwrap().insert(
        "syncinfo.xml".into(),
        b"<IMAGE VERSION=\"*\" SYNC=\"6\"/>\n".to_vec(),
    );
    let o = send_check_sync("800", to, None, timers, 2).await.unwrap();
    assert!(matches!(o, NotifyOutcome::Accepted { status: 200, .. }));
    p.wait_for(
        |s| s.check_syncs == 3 && s.reboots == 1 && s.listening.is_some(),
        LIMIT,
    )
    .await
    .unwrap();

    let r = p.stop().await.unwrap();
    let d = dump(&r);
    let sync_fetches: Vec<usize> = r
        .boot
        .transcript
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Entry::Request { file, .. } if file == "syncinfo.xml"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(sync_fetches.len(), 3, "{d}");
    for &i in &sync_fetches[..2] {
        assert_eq!(
            requests_after(&r, i)[..2],
            ["syncinfo.xml".to_string(), "dialplan.xml".to_string()],
            "{d}"
        );
    }
    assert!(
        matches!(r.boot.transcript[sync_fetches[2] + 2], Entry::Reboot { .. }),
        "{d}"
    );
    let heard: Vec<&Heard> = r.sip.iter().map(|e| &e.heard).collect();
    assert_eq!(
        heard
            .iter()
            .filter(|h| matches!(h, Heard::Dropped { .. } | Heard::Silent { .. }))
            .count(),
        3,
        "{d}"
    );
    assert!(heard
        .iter()
        .any(|h| matches!(h, Heard::Retransmission { status: 200, .. })));
    assert!(matches!(&r.boot.outcome, Outcome::Stable(s) if s.load == TARGET));
}

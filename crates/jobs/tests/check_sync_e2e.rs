//! The whole loop with an emulated SIP phone: the job engine bumps the
//! phone's sync, sends a real check-sync NOTIFY over UDP on 127.0.0.1, the
//! emulated phone (phoneflip-emulator) fetches syncinfo.xml, reboots, takes
//! the new load, and the engine sees it converted from its TFTP fetches.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_config::{Line, Template};
use phoneflip_device::{Mac, Model};
use phoneflip_emulator::run::{memory_fetch, Run, Step};
use phoneflip_emulator::{Entry, Flash, Outcome, Phone as EmuPhone, PhoneConfig, TftpSetting};
use phoneflip_firmware::{Protocol, Release};
use phoneflip_inventory::{Event, Inventory, Outcome as TftpOutcome, Phone, SqliteInventory};
use phoneflip_jobs::{
    create_job_with, step, Action, CheckSyncNotify, CreateOptions, InventoryEffects,
    InventoryEvents, InventorySyncBumper, Job, JobStatus, JobStore, MemoryJobStore, Query, Rollout,
    Schedule, Target, Timers,
};
use phoneflip_provision::AddressBook;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

const MAC: &str = "002094D245CB";
const T0: i64 = 1_795_631_400_000;

fn bundles() -> HashMap<String, Vec<u8>> {
    let mut files = HashMap::new();
    for b in ["sip:7.4", "sip:8.12"] {
        let r: Release = b.parse().unwrap();
        files.extend(
            synth::synth(r.protocol, r.version, SizeProfile::Small)
                .unwrap()
                .files,
        );
    }
    files
}

/// What the TFTP root holds for the phone, from its inventory record (a
/// stand-in for rendering: image_version from the desired load, `sync`
/// from the override in both SIP<MAC>.cnf and syncinfo.xml).
fn render(inv: &SqliteInventory, base: &HashMap<String, Vec<u8>>) -> HashMap<String, Vec<u8>> {
    let p = inv.get_phone(MAC.parse().unwrap()).unwrap().unwrap();
    let load = p
        .desired_load
        .map(|l| l.to_string())
        .unwrap_or_else(|| "POS3-07-4-00".into());
    let sync = p
        .overrides
        .get("sync")
        .cloned()
        .unwrap_or_else(|| "1".into());
    let mut files = base.clone();
    let mut put = |n: &str, t: String| files.insert(n.to_string(), t.into_bytes());
    put("SIPDefault.cnf", format!("image_version: {load}\n"));
    put(
        &format!("SIP{MAC}.cnf"),
        format!("image_version: {load}\nline1_name: 100\nsync: {sync}\n"),
    );
    put(
        "syncinfo.xml",
        format!("<IMAGE VERSION=\"*\" SYNC=\"{sync}\"/>\n"),
    );
    files
}

/// Drives the emulated phone until it settles.
fn drive(run: &mut Run, mut step: Step, files: &HashMap<String, Vec<u8>>) {
    loop {
        step = match step {
            Step::Fetch(f) => {
                let r = memory_fetch(files, &f);
                run.fetched(&f, r, Duration::from_millis(50))
            }
            Step::Sleep(_) => run.slept(),
            Step::Done => return,
        }
    }
}

/// The request pipeline's records of transcript lines `from..`, at `base` + the
/// phone's clock since line `from`.
fn log(inv: &SqliteInventory, phones: &AddressBook, run: &Run, from: usize, base: i64) {
    let t = run.report().transcript;
    let t0 = t.get(from).map_or(0, entry_ms);
    let events: Vec<Event> = t[from..]
        .iter()
        .filter_map(|e| {
            let (file, outcome) = match e {
                Entry::Received { file, .. } => (file, TftpOutcome::Sent),
                Entry::Error { file, code: 1, .. } => (file, TftpOutcome::NotFound),
                Entry::Error { file, .. } => (file, TftpOutcome::Aborted),
                _ => return None,
            };
            // Identified as the request pipeline does.
            let client: std::net::SocketAddr = "127.0.0.1:50000".parse().unwrap();
            let file = file.trim_start_matches("./");
            let mac = phones.identify(client.ip(), &phoneflip_config::FileName::classify(file));
            Some(Event::new(
                base + (entry_ms(e) - t0),
                mac,
                client,
                file,
                0,
                outcome,
                None,
            ))
        })
        .collect();
    inv.append_events(&events).unwrap();
}

fn entry_ms(e: &Entry) -> i64 {
    (match e {
        Entry::Request { at_ms, .. }
        | Entry::Received { at_ms, .. }
        | Entry::Error { at_ms, .. }
        | Entry::Display { at_ms, .. }
        | Entry::Flash { at_ms, .. }
        | Entry::Reboot { at_ms }
        | Entry::Wait { at_ms, .. }
        | Entry::Retry { at_ms, .. } => *at_ms,
    }) as i64
}

#[tokio::test]
async fn an_emulated_sip_phone_reboots_on_check_sync_and_converts() {
    let base = bundles();
    let inv = Arc::new(SqliteInventory::open_in_memory().unwrap());
    inv.put_template(&Template {
        name: "sip-812".into(),
        protocol: Protocol::Sip,
        settings: Default::default(),
    })
    .unwrap();
    let mac: Mac = MAC.parse().unwrap();
    let mut rec = Phone::new(mac, Model::Cp7960);
    rec.observed_load = Some("POS3-07-4-00".parse().unwrap());
    rec.lines = vec![Line {
        number: 1,
        name: "100".into(),
        authname: None,
        password: None,
        displayname: None,
        shortname: None,
    }];
    inv.put_phone(&rec).unwrap();

    // The phone boots on SIP 7.4 and settles.
    let mut run = Run::new(EmuPhone::new(
        PhoneConfig {
            mac,
            model: Model::Cp7960,
            tftp: TftpSetting::Manual("127.0.0.1:69".parse().unwrap()),
        },
        Flash::with_load(Protocol::Sip, "7.4".parse().unwrap()),
    ));
    let first = run.start();
    drive(&mut run, first, &render(&inv, &base));
    assert!(matches!(&run.report().outcome, Outcome::Stable(s) if s.load == "POS3-07-4-00"));
    let phones = AddressBook::new();
    log(&inv, &phones, &run, 0, T0 - 600_000);

    // Its SIP stack: answers NOTIFY with 200 OK and tells the test.
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sip_port = sock.local_addr().unwrap().port();
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            if let Ok(req) = CheckSyncNotify::parse(&buf[..n]) {
                let _ = sock
                    .send_to(&req.response(200, "OK", "emu").to_bytes(), from)
                    .await;
                let _ = tx.send(req.user.clone());
            }
        }
    });

    let store = MemoryJobStore::new();
    let job = Job {
        id: 0,
        description: "HQ to SIP 8.12".into(),
        query: Query::default(),
        template: "sip-812".into(),
        target: "sip:8.12".parse::<Target>().unwrap(),
        schedule: Schedule::Now,
        rollout: Rollout {
            batch_size: 5,
            canary_size: 1,
            max_failures: Some(1),
            phone_timeout_ms: 30 * 60_000,
            // Conversion is the last stage here; registration has its own tests.
            register_grace_ms: None,
        },
        created_ms: T0,
    };
    let catalogue = phoneflip_plan::Catalogue::from_file_names(base.keys());
    // The phone has no registrar here: this test is about check-sync, and
    // creation is told so (registration has its own tests).
    let allow = CreateOptions {
        allow_unregistered: true,
    };
    let st = create_job_with(inv.as_ref(), &store, job, None, &catalogue, T0, allow).unwrap();
    let events = InventoryEvents(inv.clone());
    let mut fx = InventoryEffects::new(inv.clone(), InventorySyncBumper(inv.clone()));
    fx.sip_port = sip_port;
    fx.timers = Timers {
        t1_ms: 50,
        t2_ms: 400,
        timeout_ms: 3_200,
    };

    let a = step(T0 + 1_000, &store, &events, &fx).await.unwrap();
    assert!(a
        .iter()
        .any(|(_, a)| matches!(a, Action::StartBatch { canary: true, .. })));
    let note = store.load(st.job.id).unwrap().unwrap().phones[0]
        .note
        .clone()
        .unwrap();
    assert!(note.contains("sync 2") && note.contains("200 OK"), "{note}");
    assert_eq!(
        rx.try_recv().unwrap(),
        "100",
        "the NOTIFY reached the phone"
    );

    // The phone acts on the NOTIFY with the files as they are now.
    let files = render(&inv, &base);
    assert!(String::from_utf8_lossy(&files[&format!("SIP{MAC}.cnf")]).contains("P0S3-8-12-00"));
    let from = run.report().transcript.len();
    let next = run.notify_check_sync();
    drive(&mut run, next, &files);
    let report = run.report();
    assert!(
        matches!(&report.outcome, Outcome::Stable(s) if s.load == "P0S3-8-12-00"),
        "{:?}",
        report.outcome
    );
    assert_eq!(
        report.transcript[from..].iter().find_map(|e| match e {
            Entry::Request { file, .. } => Some(file.as_str()),
            _ => None,
        }),
        Some("syncinfo.xml")
    );
    log(&inv, &phones, &run, from, T0 + 2_000);

    let a = step(T0 + 10 * 60_000, &store, &events, &fx).await.unwrap();
    let actions: Vec<_> = a.into_iter().map(|(_, a)| a).collect();
    assert!(
        actions.contains(&Action::MarkConverted {
            mac,
            file: "SIPDefault.cnf".into()
        }),
        "{actions:?}"
    );
    assert_eq!(
        actions.last(),
        Some(&Action::Complete {
            converted: 1,
            failed: 0
        })
    );
    assert_eq!(
        store.load(st.job.id).unwrap().unwrap().status,
        JobStatus::Completed
    );
}

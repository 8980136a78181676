//! A job checks before it acts (issue 13): its target's firmware and that
//! of every intermediate hop must be in the TFTP root, no phone belongs to
//! two active jobs, it names the phones whose plan needs an intermediate
//! load, and a cancel puts back the records it changed.
//!
//! The roots are catalogues of the file names the vendor bundles hold
//! (phoneflip-bundle's synthetic bundles use the real names).

use std::sync::Arc;

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_config::Template;
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{Protocol, Release};
use phoneflip_inventory::{Inventory, Phone, SqliteInventory};
use phoneflip_jobs::{
    cancel_and_restore, create_job, intermediate_hops, CreateError, Effects, InventoryEffects,
    InventorySyncBumper, Job, JobStore, MemoryJobStore, Query, ResetMethod, Rollout, Schedule,
    Target,
};
use phoneflip_plan::Catalogue;

fn mac(n: u32) -> Mac {
    format!("0019AA{n:06X}").parse().unwrap()
}

/// The file names of the bundles of these releases.
fn root(releases: &[&str]) -> Catalogue {
    let mut names = Vec::new();
    for r in releases {
        let r: Release = r.parse().unwrap();
        let b = synth::synth(r.protocol, r.version, SizeProfile::Small).unwrap();
        names.extend(b.files.into_iter().map(|(n, _)| n));
    }
    Catalogue::from_file_names(names)
}

/// A line the registrar can take: a name and a password.
fn line(n: u32) -> phoneflip_config::Line {
    phoneflip_config::Line {
        number: 1,
        name: format!("{}", 1000 + n),
        authname: None,
        password: Some(format!("pw{n}")),
        displayname: None,
        shortname: None,
    }
}

fn inventory(phones: &[(u32, Option<&str>)]) -> Arc<SqliteInventory> {
    let inv = Arc::new(SqliteInventory::open_in_memory().unwrap());
    for (name, protocol) in [("sip-812", Protocol::Sip), ("sccp-81", Protocol::Sccp)] {
        let mut settings = std::collections::BTreeMap::new();
        if protocol == Protocol::Sip {
            settings.insert("proxy1_address".into(), "10.0.0.5".into());
            settings.insert("proxy_register".into(), "1".into());
        }
        inv.put_template(&Template {
            name: name.into(),
            protocol,
            settings,
        })
        .unwrap();
    }
    for (n, load) in phones {
        let mut p = Phone::new(mac(*n), Model::Cp7960);
        p.observed_load = load.map(|l| l.parse().unwrap());
        p.desired_load = Some("P0030801SR02".parse().unwrap());
        p.template = Some("sccp-81".into());
        p.lines = vec![line(*n)];
        inv.put_phone(&p).unwrap();
    }
    inv
}

fn job(to: &str, template: &str) -> Job {
    Job {
        id: 0,
        description: "to the target".into(),
        query: Query::default(),
        template: template.into(),
        target: to.parse::<Target>().unwrap(),
        schedule: Schedule::Now,
        rollout: Rollout::default(),
        created_ms: 0,
    }
}

#[test]
fn a_target_missing_from_the_root_is_refused_with_the_import_command() {
    let inv = inventory(&[(1, Some("P0030801SR02"))]);
    let store = MemoryJobStore::new();
    let e = create_job(
        inv.as_ref(),
        &store,
        job("sip:8.12", "sip-812"),
        None,
        &root(&["sccp:8.1(2)SR2"]),
        0,
    )
    .unwrap_err();
    match &e {
        CreateError::FirmwareMissing { load, files, .. } => {
            assert_eq!(load, "P0S3-8-12-00");
            assert!(files.contains(&"P0S3-8-12-00.sb2".to_string()), "{files:?}");
        }
        other => panic!("{other}"),
    }
    let text = e.to_string();
    assert!(text.contains("phoneflip firmware import"), "{text}");
    assert!(store.list().unwrap().is_empty(), "nothing stored");
    // A release no bundle has, the issue's `--to sip:9.99`.
    let e = create_job(
        inv.as_ref(),
        &store,
        job("sip:9.99", "sip-812"),
        None,
        &root(&["sip:8.12"]),
        0,
    )
    .unwrap_err();
    assert!(matches!(e, CreateError::FirmwareMissing { .. }), "{e}");
    // With the bundle imported the same job is accepted.
    let st = create_job(
        inv.as_ref(),
        &store,
        job("sip:8.12", "sip-812"),
        None,
        &root(&["sip:8.12"]),
        0,
    )
    .unwrap();
    assert_eq!(st.phones.len(), 1);
}

#[test]
fn no_phone_belongs_to_two_active_jobs() {
    let inv = inventory(&[(1, Some("P0030801SR02")), (2, Some("P0030801SR02"))]);
    let store = MemoryJobStore::new();
    let fw = root(&["sip:8.12"]);
    let first = create_job(
        inv.as_ref(),
        &store,
        job("sip:8.12", "sip-812"),
        Some(&[mac(2)]),
        &fw,
        0,
    )
    .unwrap();
    let e = create_job(
        inv.as_ref(),
        &store,
        job("sip:8.12", "sip-812"),
        None,
        &fw,
        1,
    )
    .unwrap_err();
    match &e {
        CreateError::Owned(taken) => assert_eq!(taken, &vec![(mac(2), first.job.id)]),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("phoneflip jobs cancel"), "{e}");
    // The other phone alone is free.
    create_job(
        inv.as_ref(),
        &store,
        job("sip:8.12", "sip-812"),
        Some(&[mac(1)]),
        &fw,
        2,
    )
    .unwrap();
    // Once the first job is cancelled its phone is free again.
    cancel_and_restore(&store, inv.as_ref(), first.job.id, 3, "test").unwrap();
    create_job(
        inv.as_ref(),
        &store,
        job("sip:8.12", "sip-812"),
        Some(&[mac(2)]),
        &fw,
        4,
    )
    .unwrap();
}

#[test]
fn a_job_names_the_phones_that_go_through_an_intermediate_load() {
    // SIP 3.0 to SCCP 8.1(2)SR2: the latest SCCP 4.x first is not in the
    // root; with SCCP 5.0(1.1), SIP 3.0 still needs a 4.x: refused, named.
    let inv = Arc::new(SqliteInventory::open_in_memory().unwrap());
    inv.put_template(&Template {
        name: "sccp-81".into(),
        protocol: Protocol::Sccp,
        settings: Default::default(),
    })
    .unwrap();
    for (n, load) in [(1, "POS3-03-0-00"), (2, "P00306000300")] {
        let mut p = Phone::new(mac(n), Model::Cp7960);
        p.observed_load = Some(load.parse().unwrap());
        p.lines = vec![line(n)];
        inv.put_phone(&p).unwrap();
    }
    let store = MemoryJobStore::new();
    let e = create_job(
        inv.as_ref(),
        &store,
        job("sccp:8.1(2)SR2", "sccp-81"),
        None,
        &root(&["sccp:8.1(2)SR2"]),
        0,
    )
    .unwrap_err();
    match &e {
        CreateError::HopFirmwareMissing(v) => {
            assert_eq!(v.len(), 1, "{e}");
            assert_eq!(v[0].0, mac(1));
        }
        other => panic!("{other}"),
    }
    // The SCCP 4.x the plan needs, in the root.
    let st = create_job(
        inv.as_ref(),
        &store,
        job("sccp:8.1(2)SR2", "sccp-81"),
        None,
        &root(&["sccp:8.1(2)SR2", "sccp:4.1(1)"]),
        0,
    )
    .unwrap();
    let via: Vec<(Mac, Vec<String>)> = intermediate_hops(&st)
        .into_iter()
        .map(|(m, v)| (m, v.iter().map(|l| l.to_string()).collect()))
        .collect();
    assert_eq!(via, vec![(mac(1), vec!["P00304010100".to_string()])]);
}

#[tokio::test]
async fn cancel_puts_back_the_records_the_job_changed() {
    let inv = inventory(&[(1, Some("P0030801SR02")), (2, Some("P0030801SR02"))]);
    let store = MemoryJobStore::new();
    let st = create_job(
        inv.as_ref(),
        &store,
        job("sip:8.12", "sip-812"),
        None,
        &root(&["sip:8.12"]),
        0,
    )
    .unwrap();
    // The canary's reset points its record at the target, as the engine
    // does; the other phone is never started.
    let dyn_inv: Arc<dyn Inventory> = inv.clone();
    let fx = InventoryEffects::new(dyn_inv.clone(), InventorySyncBumper(dyn_inv));
    let report = fx
        .reset(&st.job, mac(1), ResetMethod::PowerCycle, None)
        .await;
    assert!(report.power_cycle);
    let changed = inv.get_phone(mac(1)).unwrap().unwrap();
    assert_eq!(changed.desired_load.unwrap().as_str(), "P0S3-8-12-00");
    assert_eq!(changed.template.as_deref(), Some("sip-812"));

    let (after, restored) =
        cancel_and_restore(&store, inv.as_ref(), st.job.id, 10, "operator").unwrap();
    assert_eq!(restored, vec![mac(1)]);
    let back = inv.get_phone(mac(1)).unwrap().unwrap();
    assert_eq!(back.desired_load.unwrap().as_str(), "P0030801SR02");
    assert_eq!(back.template.as_deref(), Some("sccp-81"));
    assert_eq!(back.desired_protocol, None);
    let untouched = inv.get_phone(mac(2)).unwrap().unwrap();
    assert_eq!(untouched.template.as_deref(), Some("sccp-81"));
    let note = after.phones[0].note.as_deref().unwrap();
    assert!(note.contains("P0030801SR02"), "{note}");
    // Saved: what the store holds says so too.
    assert_eq!(store.load(st.job.id).unwrap().unwrap(), after);
}

#[test]
fn an_unnameable_target_is_an_error_not_a_panic() {
    let e = "sip:8.100".parse::<Target>().unwrap_err().to_string();
    assert!(e.contains("sip:8.100") && e.contains("below 100"), "{e}");
}

/// Issue 14: a SIP job refuses phones that could not register once
/// converted, naming each fault and the fix, unless told to go ahead.
#[test]
fn a_sip_job_refuses_phones_that_cannot_register_unless_allowed() {
    use phoneflip_jobs::{create_job_with, CreateOptions};
    let inv = inventory(&[
        (1, Some("P0030801SR02")),
        (2, Some("P0030801SR02")),
        (3, Some("P0030801SR02")),
    ]);
    // Phone 2: a line without a password; phone 3: proxy_register 0 of its own.
    let mut p = inv.get_phone(mac(2)).unwrap().unwrap();
    p.lines[0].password = None;
    inv.put_phone(&p).unwrap();
    let mut p = inv.get_phone(mac(3)).unwrap().unwrap();
    p.overrides.insert("proxy_register".into(), "0".into());
    inv.put_phone(&p).unwrap();
    let store = MemoryJobStore::new();
    let sip = root(&["sip:8.12"]);
    let e = create_job(
        inv.as_ref(),
        &store,
        job("sip:8.12", "sip-812"),
        None,
        &sip,
        0,
    )
    .unwrap_err();
    match &e {
        CreateError::CannotRegister(v) => {
            assert_eq!(
                v.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
                vec![mac(2), mac(3)]
            );
        }
        e => panic!("{e}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("line 1 (1002) has no password"), "{msg}");
    assert!(msg.contains("proxy_register is 0"), "{msg}");
    assert!(msg.contains("--allow-unregistered"), "{msg}");
    assert!(store.list().unwrap().is_empty(), "nothing stored");

    // A template without a proxy: every phone is named.
    let mut t = inv.get_template("sip-812").unwrap().unwrap();
    t.settings.remove("proxy1_address");
    inv.put_template(&t).unwrap();
    let msg = create_job(
        inv.as_ref(),
        &store,
        job("sip:8.12", "sip-812"),
        None,
        &sip,
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("3 phone(s)"), "{msg}");
    assert!(msg.contains("no proxy1_address"), "{msg}");

    let st = create_job_with(
        inv.as_ref(),
        &store,
        job("sip:8.12", "sip-812"),
        None,
        &sip,
        0,
        CreateOptions {
            allow_unregistered: true,
        },
    )
    .unwrap();
    assert_eq!(st.phones.len(), 3);
}

/// The ownership check is atomic with the insert: two nodes (two
/// connections on one database file) creating jobs for the same phone at
/// once end with exactly one job owning it, and a store asked directly,
/// past `create_job`'s own check, refuses too.
#[test]
fn two_creations_at_once_cannot_both_take_a_phone() {
    use phoneflip_jobs::{SqliteJobStore, StoreError};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.db");
    SqliteJobStore::open(&db).unwrap();
    let fw = root(&["sip:8.12"]);
    let wins = std::sync::atomic::AtomicUsize::new(0);
    let refusals = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for n in 0..4i64 {
            let (db, fw, wins, refusals) = (&db, &fw, &wins, &refusals);
            s.spawn(move || {
                let inv = inventory(&[(1, Some("P0030801SR02"))]);
                let store = SqliteJobStore::open(db).unwrap();
                match create_job(
                    inv.as_ref(),
                    &store,
                    job("sip:8.12", "sip-812"),
                    None,
                    fw,
                    n,
                ) {
                    Ok(_) => wins.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
                    Err(CreateError::Owned(t)) => {
                        assert_eq!(t.len(), 1);
                        assert_eq!(t[0].0, mac(1));
                        refusals.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                    }
                    Err(e) => panic!("{e}"),
                };
            });
        }
    });
    assert_eq!(wins.into_inner(), 1, "exactly one job owns the phone");
    assert_eq!(refusals.into_inner(), 3);
    let store = SqliteJobStore::open(&db).unwrap();
    let jobs = store.list().unwrap();
    assert_eq!(jobs.len(), 1, "no second job was stored");

    // Straight to the store, skipping create_job's check.
    let mut again = jobs[0].clone();
    again.job.id = 0;
    match store.create(again) {
        Err(StoreError::Owned(t)) => assert_eq!(t, vec![(mac(1), jobs[0].job.id)]),
        other => panic!("{:?}", other.map(|s| s.job.id)),
    }
    assert_eq!(store.list().unwrap().len(), 1);
    let mem = MemoryJobStore::new();
    let mut a = jobs[0].clone();
    a.job.id = 0;
    let first = mem.create(a.clone()).unwrap();
    assert!(
        matches!(mem.create(a), Err(StoreError::Owned(t)) if t == vec![(mac(1), first.job.id)])
    );
}

//! Both stores against the `Inventory` contract: round trips, imports,
//! events and timelines, each test run on SQLite and on a real PostgreSQL
//! (started by `phoneflip-pgtest`; skipped loudly without it), then
//! SQLite's own migrations.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use phoneflip_config::{Line, Template};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{LoadName, Protocol};
use phoneflip_inventory::{
    latest_version, Change, Event, Inventory, InventoryError, Outcome, PgInventory, Phone,
    PhoneError, PhoneFilter, SqliteInventory, MIGRATIONS,
};

fn mac(s: &str) -> Mac {
    s.parse().unwrap()
}

fn sip_template() -> Template {
    Template {
        name: "hq-sip".into(),
        protocol: Protocol::Sip,
        settings: BTreeMap::from([
            ("proxy1_address".to_string(), "10.0.0.5".to_string()),
            ("time_zone".to_string(), "CET".to_string()),
        ]),
    }
}

fn full_phone() -> Phone {
    Phone {
        description: "Reception, desk 2".into(),
        site: Some("hq".into()),
        tags: ["lobby".to_string(), "floor 1".to_string()].into(),
        label: Some("Reception".into()),
        lines: vec![
            Line {
                number: 1,
                name: "1001".into(),
                authname: Some("u1001".into()),
                password: Some("s3cret;=,\"x".into()),
                displayname: Some("Front desk".into()),
                shortname: None,
            },
            Line {
                number: 4,
                name: "1004".into(),
                authname: None,
                password: None,
                displayname: None,
                shortname: Some("B".into()),
            },
        ],
        desired_protocol: Some(Protocol::Sip),
        desired_load: Some("P0S3-8-12-00".parse().unwrap()),
        template: Some("hq-sip".into()),
        overrides: BTreeMap::from([("proxy1_port".to_string(), "5070".to_string())]),
        ..Phone::new(mac("00:20:94:d2:45:cb"), Model::Cp7960)
    }
}

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh store of `backend` whose clock the test advances by hand;
/// `None` when PostgreSQL is not installed (the test then passes after a
/// SKIPPED line).
fn store(backend: Backend) -> Option<(Box<dyn Inventory>, Arc<AtomicI64>)> {
    let t = Arc::new(AtomicI64::new(1_000));
    let c = t.clone();
    let clock = move || c.load(Ordering::SeqCst);
    let s: Box<dyn Inventory> = match backend {
        Backend::Sqlite => Box::new(SqliteInventory::open_in_memory().unwrap().with_clock(clock)),
        Backend::Postgres => {
            let db = phoneflip_pgtest::database("inventory store contract")?;
            Box::new(PgInventory::open(&db.url).unwrap().with_clock(clock))
        }
    };
    Some((s, t))
}

/// Each named contract test, once per backend: `sqlite::NAME`, `postgres::NAME`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(super::Backend::Postgres) })*
        }
    };
}

fn phone_round_trips_with_times_from_the_clock(b: Backend) {
    let Some((s, t)) = store(b) else {
        return;
    };
    s.put_template(&sip_template()).unwrap();
    let p = full_phone();
    s.put_phone(&p).unwrap();
    let got = s.get_phone(p.mac).unwrap().unwrap();
    assert_eq!(
        got,
        Phone {
            created_ms: 1_000,
            updated_ms: 1_000,
            ..p.clone()
        }
    );

    // Writing the same record later keeps updated_ms; a change moves it.
    t.store(2_000, Ordering::SeqCst);
    s.put_phone(&p).unwrap();
    assert_eq!(s.get_phone(p.mac).unwrap().unwrap().updated_ms, 1_000);
    let mut changed = p.clone();
    changed.description = "moved".into();
    s.put_phone(&changed).unwrap();
    let got = s.get_phone(p.mac).unwrap().unwrap();
    assert_eq!((got.created_ms, got.updated_ms), (1_000, 2_000));
    assert_eq!(got.description, "moved");

    assert!(s.delete_phone(p.mac).unwrap());
    assert!(!s.delete_phone(p.mac).unwrap());
    assert_eq!(s.get_phone(p.mac).unwrap(), None);
}

fn empty_optional_strings_are_stored_as_none(b: Backend) {
    let Some((s, _)) = store(b) else {
        return;
    };
    let mut p = Phone::new(mac("001122334455"), Model::Cp7940);
    p.site = Some(String::new());
    p.lines = vec![Line {
        number: 2,
        name: "2002".into(),
        authname: Some(String::new()),
        password: None,
        displayname: None,
        shortname: None,
    }];
    s.put_phone(&p).unwrap();
    let got = s.get_phone(p.mac).unwrap().unwrap();
    assert_eq!(got.site, None);
    assert_eq!(got.lines[0].authname, None);
}

fn refuses_invalid_phones_and_unknown_templates(b: Backend) {
    let Some((s, _)) = store(b) else {
        return;
    };
    let mut p = Phone::new(mac("001122334455"), Model::Cp7940);
    p.lines = vec![Line {
        number: 3,
        name: "3".into(),
        authname: None,
        password: None,
        displayname: None,
        shortname: None,
    }];
    let e = s.put_phone(&p).unwrap_err();
    assert!(
        matches!(
            e,
            InventoryError::Phone(PhoneError::LineBeyondModel {
                number: 3,
                max: 2,
                ..
            })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("lines 1 to 2"), "{e}");

    let mut p = Phone::new(mac("001122334455"), Model::Cp7960);
    p.template = Some("nope".into());
    let e = s.put_phone(&p).unwrap_err();
    assert!(
        matches!(e, InventoryError::NoSuchTemplate(ref n) if n == "nope"),
        "{e}"
    );

    let mut p = Phone::new(mac("001122334455"), Model::Cp7960);
    p.desired_protocol = Some(Protocol::Sccp);
    p.desired_load = Some("P0S3-8-12-00".parse().unwrap());
    let e = s.put_phone(&p).unwrap_err();
    assert!(e.to_string().contains("desired protocol is sccp"), "{e}");
    assert!(s.list_phones(&PhoneFilter::default()).unwrap().is_empty());
}

fn templates_round_trip_and_cannot_be_deleted_while_used(b: Backend) {
    let Some((s, _)) = store(b) else {
        return;
    };
    let t = sip_template();
    s.put_template(&t).unwrap();
    let sccp = Template {
        name: "branch-sccp".into(),
        protocol: Protocol::Sccp,
        settings: BTreeMap::from([("callmanager1".to_string(), "10.1.0.1".to_string())]),
    };
    s.put_template(&sccp).unwrap();
    assert_eq!(s.get_template("hq-sip").unwrap(), Some(t.clone()));
    assert_eq!(s.list_templates().unwrap(), vec![sccp.clone(), t.clone()]);

    s.put_phone(&full_phone()).unwrap();
    let e = s.delete_template("hq-sip").unwrap_err();
    assert!(
        matches!(e, InventoryError::TemplateInUse { phones: 1, .. }),
        "{e}"
    );
    assert!(s.delete_template("branch-sccp").unwrap());
    assert_eq!(s.get_template("branch-sccp").unwrap(), None);

    let bad = Template {
        name: "has space".into(),
        ..t
    };
    assert!(matches!(
        s.put_template(&bad),
        Err(InventoryError::BadTemplateName(_))
    ));
}

fn render_inputs_combine_phone_and_template(b: Backend) {
    let Some((s, _)) = store(b) else {
        return;
    };
    s.put_template(&sip_template()).unwrap();
    let p = full_phone();
    s.put_phone(&p).unwrap();
    s.set_observed_load(p.mac, &"P0030801SR02".parse().unwrap())
        .unwrap();
    let r = s.render_inputs(p.mac).unwrap();
    assert_eq!(r.settings, p.settings());
    assert_eq!(r.settings.lines.len(), 2);
    assert_eq!(r.settings.overrides["proxy1_port"], "5070");
    assert_eq!(r.template, Some(sip_template()));
    assert_eq!(r.desired_protocol, Some(Protocol::Sip));
    assert_eq!(
        r.observed_load.as_ref().map(LoadName::as_str),
        Some("P0030801SR02")
    );
    let e = s.render_inputs(mac("AABBCCDDEEFF")).unwrap_err();
    assert!(e.to_string().contains("AABBCCDDEEFF"), "{e}");
}

#[test]
fn protocol_is_implied_by_the_desired_load() {
    let mut p = Phone::new(mac("001122334455"), Model::Cp7960);
    p.desired_load = Some("P0030801SR02".parse().unwrap());
    assert_eq!(p.target_protocol(), Some(Protocol::Sccp));
}

fn auto_registration_never_overwrites(b: Backend) {
    let Some((s, _)) = store(b) else {
        return;
    };
    let mut auto = Phone::new(mac("001122334455"), Model::Cp7960);
    auto.auto_registered = true;
    assert!(s.insert_phone_if_absent(&auto).unwrap());
    let mut again = auto.clone();
    again.description = "other".into();
    assert!(!s.insert_phone_if_absent(&again).unwrap());
    let got = s.get_phone(auto.mac).unwrap().unwrap();
    assert!(got.auto_registered);
    assert_eq!(got.description, "");
    let autos = s
        .list_phones(&PhoneFilter {
            auto_registered: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(autos.len(), 1);
}

fn list_filters_by_site_model_tag_and_template(b: Backend) {
    let Some((s, _)) = store(b) else {
        return;
    };
    s.put_template(&sip_template()).unwrap();
    s.put_phone(&full_phone()).unwrap();
    let mut b = Phone::new(mac("000000000001"), Model::Cp7940);
    b.site = Some("branch".into());
    b.tags = ["lobby".to_string()].into();
    s.put_phone(&b).unwrap();
    let macs = |f: PhoneFilter| -> Vec<String> {
        s.list_phones(&f)
            .unwrap()
            .into_iter()
            .map(|p| p.mac.to_string())
            .collect()
    };
    assert_eq!(
        macs(PhoneFilter::default()),
        vec!["000000000001", "002094D245CB"]
    );
    assert_eq!(
        macs(PhoneFilter {
            site: Some("hq".into()),
            ..Default::default()
        }),
        vec!["002094D245CB"]
    );
    assert_eq!(
        macs(PhoneFilter {
            model: Some(Model::Cp7940),
            ..Default::default()
        }),
        vec!["000000000001"]
    );
    assert_eq!(
        macs(PhoneFilter {
            tag: Some("lobby".into()),
            ..Default::default()
        }),
        vec!["000000000001", "002094D245CB"]
    );
    assert_eq!(
        macs(PhoneFilter {
            tag: Some("lobby".into()),
            template: Some("hq-sip".into()),
            ..Default::default()
        }),
        vec!["002094D245CB"]
    );
}

fn import_keeps_observed_state_and_reports_changes(b: Backend) {
    let Some((s, t)) = store(b) else {
        return;
    };
    s.put_template(&sip_template()).unwrap();
    let p = full_phone();
    let sum = s.import_phones(std::slice::from_ref(&p), false).unwrap();
    assert_eq!(sum.changes, vec![(p.mac, Change::Added)]);
    s.set_observed_load(p.mac, &"P0030801SR02".parse().unwrap())
        .unwrap();

    t.store(5_000, Ordering::SeqCst);
    let sum = s.import_phones(std::slice::from_ref(&p), false).unwrap();
    assert_eq!(sum.changes, vec![(p.mac, Change::Unchanged)]);

    let mut q = p.clone();
    q.site = Some("annex".into());
    let dry = s.import_phones(std::slice::from_ref(&q), true).unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.changes, vec![(p.mac, Change::Updated)]);
    assert_eq!(
        s.get_phone(p.mac).unwrap().unwrap().site.as_deref(),
        Some("hq")
    );

    s.import_phones(std::slice::from_ref(&q), false).unwrap();
    let got = s.get_phone(p.mac).unwrap().unwrap();
    assert_eq!(got.site.as_deref(), Some("annex"));
    assert_eq!(
        got.observed_load.as_ref().map(LoadName::as_str),
        Some("P0030801SR02")
    );
    assert_eq!((got.created_ms, got.updated_ms), (1_000, 5_000));
}

fn a_refused_phone_rolls_back_the_whole_import(b: Backend) {
    let Some((s, _)) = store(b) else {
        return;
    };
    let good = Phone::new(mac("000000000001"), Model::Cp7960);
    let mut bad = Phone::new(mac("000000000002"), Model::Cp7960);
    bad.template = Some("missing".into());
    assert!(s.import_phones(&[good, bad], false).is_err());
    assert!(s.list_phones(&PhoneFilter::default()).unwrap().is_empty());
}

fn ev(t: i64, mac: Option<&str>, ip: &str, file: &str, outcome: Outcome) -> Event {
    Event::new(
        t,
        mac.map(|m| m.parse().unwrap()),
        std::net::SocketAddr::new(ip.parse::<IpAddr>().unwrap(), 50_000),
        file,
        if outcome == Outcome::Sent { 512 } else { 0 },
        outcome,
        None,
    )
}

fn timeline_ties_shared_files_to_the_phone_by_address(b: Backend) {
    let Some((s, _)) = store(b) else {
        return;
    };
    let m = "002094D245CB";
    s.append_events(&[
        ev(10, None, "10.0.0.7", "OS79XX.TXT", Outcome::NotFound),
        ev(
            11,
            Some(m),
            "10.0.0.7",
            "SEP002094D245CB.cnf.xml",
            Outcome::Sent,
        ),
        ev(12, None, "10.0.0.8", "SIPDefault.cnf", Outcome::Sent),
        ev(13, None, "10.0.0.7", "P0S3-8-12-00.loads", Outcome::Sent),
        ev(
            14,
            Some("000000000001"),
            "10.0.0.8",
            "SIP000000000001.cnf",
            Outcome::Sent,
        ),
    ])
    .unwrap();
    s.append_events(&[ev(
        20,
        Some(m),
        "10.0.0.7",
        "SIP002094D245CB.cnf",
        Outcome::TimedOut,
    )])
    .unwrap();

    // The store matches nothing by address itself: an address is a lease.
    let files = |tl: &[phoneflip_inventory::StoredEvent]| -> Vec<String> {
        tl.iter().map(|e| e.event.file.clone()).collect()
    };
    assert_eq!(
        files(&s.timeline(mac(m), 100).unwrap()),
        vec!["SEP002094D245CB.cnf.xml", "SIP002094D245CB.cnf"]
    );
    // The request pipeline ties the address's MAC-less requests to it.
    assert_eq!(
        s.attribute_events("10.0.0.7".parse().unwrap(), mac(m), 0, 19)
            .unwrap(),
        2
    );

    let tl = s.timeline(mac(m), 100).unwrap();
    assert_eq!(
        files(&tl),
        vec![
            "OS79XX.TXT",
            "SEP002094D245CB.cnf.xml",
            "P0S3-8-12-00.loads",
            "SIP002094D245CB.cnf"
        ]
    );
    assert_eq!(tl[3].event.outcome, Outcome::TimedOut);
    assert_eq!(tl[1].event.bytes, 512);

    // The limit keeps the most recent ones, still oldest first.
    let last2 = s.timeline(mac(m), 2).unwrap();
    assert_eq!(last2[0].event.file, "P0S3-8-12-00.loads");
    assert_eq!(last2[1].event.file, "SIP002094D245CB.cnf");

    let after = s.events_after(tl[1].id, 3).unwrap();
    assert_eq!(after.len(), 3);
    assert!(after.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(after[0].event.file, "SIPDefault.cnf");

    assert_eq!(s.prune_events(13).unwrap(), 3);
    assert_eq!(s.events_after(0, 100).unwrap().len(), 3);

    // By count: the oldest go, the newest `keep` stay.
    let newest: Vec<i64> = s
        .events_after(0, 100)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(s.prune_events_beyond(5).unwrap(), 0);
    assert_eq!(s.prune_events_beyond(2).unwrap(), 1);
    assert_eq!(s.count_events().unwrap(), 2);
    let left: Vec<i64> = s
        .events_after(0, 100)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(left, newest[1..]);
    assert_eq!(s.prune_events_beyond(0).unwrap(), 2);
    assert_eq!(s.count_events().unwrap(), 0);
}

fn events_can_be_appended_from_several_threads(b: Backend) {
    let Some((s, _)) = store(b) else {
        return;
    };
    let s = Arc::new(s);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let s = s.clone();
            std::thread::spawn(move || {
                for j in 0..25 {
                    let batch: Vec<Event> = (0..4)
                        .map(|k| {
                            ev(
                                i * 1000 + j * 10 + k,
                                None,
                                "10.0.0.1",
                                "OS79XX.TXT",
                                Outcome::Sent,
                            )
                        })
                        .collect();
                    s.append_events(&batch).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(s.events_after(0, 10_000).unwrap().len(), 400);
}

#[test]
fn migrations_create_an_empty_database_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.db");
    let s = SqliteInventory::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), latest_version());
    drop(s);
    let c = rusqlite::Connection::open(&path).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let rows: i64 = c
        .query_row("SELECT count(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, MIGRATIONS.len() as i64);
}

#[test]
fn reopening_an_existing_database_keeps_data_and_applies_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.db");
    {
        let s = SqliteInventory::open(&path).unwrap();
        s.put_template(&sip_template()).unwrap();
        s.put_phone(&full_phone()).unwrap();
    }
    let s = SqliteInventory::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), latest_version());
    let got = s.get_phone(full_phone().mac).unwrap().unwrap();
    assert!(got.same_admin_fields(&full_phone()));
    drop(s);
    let c = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = c
        .query_row("SELECT count(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, MIGRATIONS.len() as i64);
}

#[test]
fn a_database_with_only_the_version_table_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)",
        )
        .unwrap();
    }
    let s = SqliteInventory::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), latest_version());
    s.put_phone(&Phone::new(mac("001122334455"), Model::Cp7940))
        .unwrap();
}

/// Rows of a version that matched MAC-less events by address when reading
/// get their phone once, by the pipeline's rule: the phone that last named
/// itself from the address, else the next one within a boot's 10 minutes.
#[test]
fn the_migration_attributes_old_mac_less_rows_by_the_pipeline_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)",
        )
        .unwrap();
        for m in &MIGRATIONS[..2] {
            c.execute_batch(m.sql).unwrap();
            c.execute(
                "INSERT INTO schema_version VALUES (?1, ?2, 0)",
                rusqlite::params![m.version, m.name],
            )
            .unwrap();
        }
        let row = |t: i64, mac: Option<&str>, ip: &str, file: &str| {
            c.execute(
                "INSERT INTO events (time_ms, mac, client_ip, client_port, file, bytes, outcome) \
                 VALUES (?1, ?2, ?3, 50000, ?4, 0, 'sent')",
                rusqlite::params![t, mac, ip, file],
            )
            .unwrap();
        };
        let a = Some("00000000000A");
        let b = Some("00000000000B");
        row(1_000, None, "10.0.0.7", "OS79XX.TXT"); // A's boot, before it names itself
        row(2_000, a, "10.0.0.7", "SIP00000000000A.cnf");
        row(3_000, None, "10.0.0.7", "RINGLIST.DAT"); // A, after
        row(4_000_000, b, "10.0.0.7", "SIP00000000000B.cnf"); // the lease went to B
        row(4_001_000, None, "10.0.0.7", "SIPDefault.cnf"); // B
        row(9_000_000, None, "10.0.0.9", "OS79XX.TXT"); // nobody named itself here
    }
    let s = SqliteInventory::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), latest_version());
    let files = |m: &str| -> Vec<String> {
        s.timeline(mac(m), 100)
            .unwrap()
            .into_iter()
            .map(|e| e.event.file)
            .collect()
    };
    assert_eq!(
        files("00000000000A"),
        ["OS79XX.TXT", "SIP00000000000A.cnf", "RINGLIST.DAT"]
    );
    assert_eq!(
        files("00000000000B"),
        ["SIP00000000000B.cnf", "SIPDefault.cnf"]
    );
    let orphans = s
        .events_after(0, 100)
        .unwrap()
        .into_iter()
        .filter(|e| e.event.mac.is_none())
        .count();
    assert_eq!(orphans, 1);
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.db");
    drop(SqliteInventory::open(&path).unwrap());
    let future = latest_version() + 1;
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute(
            "INSERT INTO schema_version (version, name, applied_ms) VALUES (?1, 'future', 0)",
            [future],
        )
        .unwrap();
    }
    let e = SqliteInventory::open(&path).err().unwrap();
    assert!(
        matches!(e, InventoryError::SchemaTooNew { found, .. } if found == future),
        "{e}"
    );
    assert!(e.to_string().contains("upgrade phoneflip"), "{e}");
}

fn big_imports_take_the_bulk_path_with_the_same_results(b: Backend) {
    let Some((s, _)) = store(b) else {
        return;
    };
    s.put_template(&sip_template()).unwrap();
    let phones: Vec<Phone> = (0..300u32)
        .map(|i| {
            let b = i.to_be_bytes();
            let mut p = Phone::new(Mac::new([0, 0x19, b[0], b[1], b[2], b[3]]), Model::Cp7960);
            p.tags = ["bulk".to_string()].into();
            p.template = Some("hq-sip".into());
            p
        })
        .collect();
    let sum = s.import_phones(&phones, false).unwrap();
    assert_eq!(sum.count(Change::Added), 300);
    s.set_observed_load(phones[7].mac, &"P0030801SR02".parse().unwrap())
        .unwrap();

    let mut again = phones.clone();
    again[7].site = Some("moved".into());
    // The same MAC twice in one batch: the second sees the first's result.
    again.push(again[7].clone());
    let sum = s.import_phones(&again, false).unwrap();
    assert_eq!(sum.count(Change::Updated), 1);
    assert_eq!(sum.count(Change::Unchanged), 300);
    let got = s.get_phone(phones[7].mac).unwrap().unwrap();
    assert_eq!(got.site.as_deref(), Some("moved"));
    assert_eq!(got.tags, ["bulk".to_string()].into());
    assert_eq!(
        got.observed_load.as_ref().map(LoadName::as_str),
        Some("P0030801SR02")
    );

    let mut bad = phones.clone();
    bad[299].template = Some("nope".into());
    bad[0].site = Some("changed".into());
    assert!(matches!(
        s.import_phones(&bad, false),
        Err(InventoryError::NoSuchTemplate(_))
    ));
    assert_eq!(s.get_phone(phones[0].mac).unwrap().unwrap().site, None);
}

on_both_backends!(
    phone_round_trips_with_times_from_the_clock,
    empty_optional_strings_are_stored_as_none,
    refuses_invalid_phones_and_unknown_templates,
    templates_round_trip_and_cannot_be_deleted_while_used,
    render_inputs_combine_phone_and_template,
    auto_registration_never_overwrites,
    list_filters_by_site_model_tag_and_template,
    import_keeps_observed_state_and_reports_changes,
    a_refused_phone_rolls_back_the_whole_import,
    timeline_ties_shared_files_to_the_phone_by_address,
    events_can_be_appended_from_several_threads,
    big_imports_take_the_bulk_path_with_the_same_results,
);

/// Two nodes opening one PostgreSQL database at once migrate it once, and
/// what one writes the other reads; a schema newer than this build is
/// refused and left alone.
#[test]
fn postgres_nodes_share_one_database_and_its_migrations() {
    let Some(db) = phoneflip_pgtest::database("postgres migrations") else {
        return;
    };
    let nodes: Vec<PgInventory> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..3)
            .map(|_| sc.spawn(|| PgInventory::open(&db.url).unwrap()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        nodes[0].schema_version().unwrap(),
        phoneflip_inventory::pg_latest_version()
    );
    nodes[0].put_template(&sip_template()).unwrap();
    nodes[1].put_phone(&full_phone()).unwrap();
    let got = nodes[2].get_phone(full_phone().mac).unwrap().unwrap();
    assert_eq!(got.lines, full_phone().lines);
    assert_eq!(got.tags, full_phone().tags);

    let mut c = ::postgres::Client::connect(&db.url, ::postgres::NoTls).unwrap();
    let applied: i64 = c
        .query_one("SELECT count(*) FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(applied, phoneflip_inventory::PG_MIGRATIONS.len() as i64);
    c.execute(
        "INSERT INTO schema_version (version, name, applied_ms) VALUES (999, 'future', 0)",
        &[],
    )
    .unwrap();
    let e = PgInventory::open(&db.url).err().unwrap();
    assert!(
        matches!(e, InventoryError::SchemaTooNew { found: 999, .. }),
        "{e}"
    );
    assert!(nodes[0].get_phone(full_phone().mac).unwrap().is_some());
}

#[test]
fn postgres_refuses_a_bad_url_naming_it() {
    let e = PgInventory::open("postgres://nobody:secret@127.0.0.1:1/none")
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(msg.contains("127.0.0.1:1"), "{msg}");
    assert!(!msg.contains("secret"), "{msg}");
}

/// The fleet summary's narrow read: every phone, in MAC order, with the
/// fields its state derives from exactly as the full read has them
/// (SQLite's narrow read; PostgreSQL takes the trait's full read).
#[test]
fn phone_states_hold_what_the_state_derives_from() {
    let Some((s, _)) = store(Backend::Sqlite) else {
        return;
    };
    s.put_template(&sip_template()).unwrap();
    let full = full_phone();
    let mut seen = Phone::new(mac("00:19:aa:00:00:01"), Model::Cp7940);
    seen.observed_load = Some("P0030801SR02".parse().unwrap());
    s.put_phone(&full).unwrap();
    s.put_phone(&seen).unwrap();
    let states = s.list_phone_states().unwrap();
    let all = s.list_phones(&PhoneFilter::default()).unwrap();
    assert_eq!(states.len(), 2);
    for (st, p) in states.iter().zip(&all) {
        assert_eq!(
            (st.mac, st.model, &st.observed_load, &st.desired_load),
            (p.mac, p.model, &p.observed_load, &p.desired_load)
        );
        assert_eq!(
            (st.desired_protocol, &st.template),
            (p.desired_protocol, &p.template)
        );
        // Not read: what no state derives from.
        assert!(st.lines.is_empty() && st.tags.is_empty() && st.description.is_empty());
    }
    assert_eq!(states[0].mac, seen.mac, "MAC order");
    assert_eq!(states[1].template.as_deref(), Some("hq-sip"));
}

/// A full disk (SQLite's `max_page_count` on a real file): an import too
/// big for the space left is refused with a clear error naming the cause,
/// and the inventory is byte-for-byte what it was (compare exports).
#[test]
fn a_full_database_refuses_an_import_whole_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteInventory::open(dir.path().join("inv.db")).unwrap();
    let mut p = Phone::new(mac("0019AA000001"), Model::Cp7960);
    p.description = "kept".into();
    s.put_phone(&p).unwrap();
    let export = |s: &SqliteInventory| {
        let mut out = Vec::new();
        phoneflip_inventory::bulk::export_csv(s, &mut out).unwrap();
        out
    };
    let before = export(&s);
    s.limit_pages(s.page_count().unwrap()).unwrap();
    let phones: Vec<Phone> = (0..3000u32)
        .map(|i| {
            let b = i.to_be_bytes();
            let mut p = Phone::new(
                Mac::new([0x00, 0x19, 0xAB, b[1], b[2], b[3]]),
                Model::Cp7940,
            );
            p.description = format!("desk {i} with a description long enough to need pages");
            p
        })
        .collect();
    let err = s.import_phones(&phones, false).unwrap_err();
    assert!(
        matches!(err, phoneflip_inventory::InventoryError::Unwritable(_)),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("full")
            && msg.contains("nothing was changed")
            && msg.contains("free disk space"),
        "{msg}"
    );
    assert_eq!(export(&s), before, "the inventory is unchanged");
    // With space again the same import goes through.
    s.limit_pages(1 << 30).unwrap();
    assert_eq!(
        s.import_phones(&phones, false)
            .unwrap()
            .count(phoneflip_inventory::Change::Added),
        3000
    );
}

/// The TFTP server and the job engine call the inventory from tokio
/// workers, where the synchronous PostgreSQL client must not block:
/// every call, the caller's closure of an update included, works there.
#[test]
fn postgres_inventory_is_usable_from_async_code() {
    let Some(db) = phoneflip_pgtest::database("postgres from async code") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = PgInventory::open(&db.url).unwrap();
        s.put_template(&sip_template()).unwrap();
        s.put_phone(&full_phone()).unwrap();
        let got = s
            .update_phone(full_phone().mac, &mut |p| {
                let mut p = p.unwrap();
                p.description = "moved".into();
                Ok(p)
            })
            .unwrap();
        assert_eq!(got.description, "moved");
        let back = s.get_phone(full_phone().mac).unwrap().unwrap();
        assert_eq!(back.description, "moved");
        tokio::task::spawn_blocking(move || drop(s)).await.unwrap();
    });
}

//! The provisioning pipeline behind a real TFTP server on loopback, fetched
//! with phoneflip's TFTP client: per-phone files rendered from a SQLite
//! inventory, unused protocol files absent (error 1), auto-registration,
//! and the observed load learnt from what the phone fetched.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use phoneflip_inventory::{Inventory, Phone, SqliteInventory};
use phoneflip_provision::{AutoRegister, Provisioner};
use phoneflip_tftp::client::{fetch, FetchError, FetchOptions};
use phoneflip_tftp::{Server, ServerConfig, TransferLog};

struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(
    root: &std::path::Path,
    inv: Arc<dyn Inventory>,
    auto: Option<AutoRegister>,
) -> Running {
    let catalogue = Provisioner::catalogue_of(root).unwrap();
    start_with(root, Provisioner::new(inv, catalogue, auto)).await
}

async fn start_with(root: &std::path::Path, source: Provisioner) -> Running {
    let source = Arc::new(source);
    let recorder = Arc::new(source.recorder());
    let cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap(), root);
    let server = Server::bind(cfg, source, recorder, TransferLog::none())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    Running {
        addr,
        stop: Some(tx),
        task,
    }
}

impl Running {
    async fn get(&self, client: &str, name: &str) -> Result<Vec<u8>, FetchError> {
        fetch(
            self.addr,
            format!("{client}:0").parse().unwrap(),
            name,
            &FetchOptions::default(),
        )
        .await
    }
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let _ = self.task.await;
    }
}

fn root_with_sip_8_12() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for f in [
        "P0S3-8-12-00.loads",
        "P0S3-8-12-00.sb2",
        "P003-8-12-00.bin",
        "P003-8-12-00.sbn",
    ] {
        std::fs::write(d.path().join(f), vec![0x5a; 4096]).unwrap();
    }
    std::fs::write(d.path().join("SIPDefault.cnf"), "image_version: STATIC\n").unwrap();
    d
}

fn phone(mac: &str, observed: &str, desired: &str) -> Phone {
    let mut p = Phone::new(mac.parse().unwrap(), "7960".parse().unwrap());
    p.observed_load = Some(observed.parse().unwrap());
    p.desired_load = Some(desired.parse().unwrap());
    p
}

#[tokio::test]
async fn renders_per_phone_files_and_learns_the_new_load() {
    let root = root_with_sip_8_12();
    let inv: Arc<dyn Inventory> = Arc::new(SqliteInventory::open_in_memory().unwrap());
    inv.put_phone(&phone("0019AA000001", "P0030801SR02", "P0S3-8-12-00"))
        .unwrap();
    let srv = start(root.path(), inv.clone(), None).await;
    let c = "127.0.0.21";

    // The SCCP 8.1 loader's hunt: its SEP file moves it to SIP 8.12.
    let sep = String::from_utf8(srv.get(c, "SEP0019AA000001.cnf.xml").await.unwrap()).unwrap();
    assert!(sep.contains("P0S3-8-12-00"), "{sep}");
    // SIPDefault.cnf is rendered for this phone (known by its address), not the static one.
    let sipdef = String::from_utf8(srv.get(c, "SIPDefault.cnf").await.unwrap()).unwrap();
    assert!(sipdef.contains("image_version: P0S3-8-12-00"), "{sipdef}");
    assert!(!sipdef.contains("STATIC"));

    // Two-stage upgrade, then the SIP application asks for its files.
    for f in [
        "P0S3-8-12-00.loads",
        "P003-8-12-00.sbn",
        "P0S3-8-12-00.loads",
        "P0S3-8-12-00.sb2",
    ] {
        assert_eq!(srv.get(c, f).await.unwrap().len(), 4096, "{f}");
    }
    let mine = String::from_utf8(srv.get(c, "./SIP0019AA000001.cnf").await.unwrap()).unwrap();
    assert!(mine.contains("image_version: P0S3-8-12-00"), "{mine}");

    // The recorder flushes in the background.
    let mac = "0019AA000001".parse().unwrap();
    let mut learnt = None;
    for _ in 0..50 {
        learnt = inv.get_phone(mac).unwrap().unwrap().observed_load;
        if learnt.as_ref().map(|l| l.as_str()) == Some("P0S3-8-12-00") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(learnt.unwrap().as_str(), "P0S3-8-12-00");
    let mut timeline = Vec::new();
    for _ in 0..50 {
        timeline = inv.timeline(mac, 100).unwrap();
        if timeline
            .iter()
            .any(|e| e.event.file == "SIP0019AA000001.cnf")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        timeline.iter().any(|e| e.event.file == "P0S3-8-12-00.sb2"),
        "{timeline:?}"
    );
    srv.stop().await;
}

#[tokio::test]
async fn unused_protocol_files_are_absent_and_unknown_phones_get_the_root() {
    let root = root_with_sip_8_12();
    let inv: Arc<dyn Inventory> = Arc::new(SqliteInventory::open_in_memory().unwrap());
    inv.put_phone(&phone("0019AA000002", "P0S3-8-12-00", "P0S3-8-12-00"))
        .unwrap();
    let srv = start(root.path(), inv.clone(), None).await;
    // A SIP phone has no MGCP file: error 1, nothing else (CSCee31047).
    match srv.get("127.0.0.22", "MGC0019AA000002.cnf").await {
        Err(FetchError::Server { code, .. }) => assert_eq!(code, 1),
        other => panic!("{other:?}"),
    }
    // An unknown phone gets the root's files and nothing rendered.
    let def = String::from_utf8(srv.get("127.0.0.23", "SIPDefault.cnf").await.unwrap()).unwrap();
    assert_eq!(def, "image_version: STATIC\n");
    match srv.get("127.0.0.23", "SIP0019AA0000FF.cnf").await {
        Err(FetchError::Server { code, .. }) => assert_eq!(code, 1),
        other => panic!("{other:?}"),
    }
    assert!(inv
        .get_phone("0019AA0000FF".parse().unwrap())
        .unwrap()
        .is_none());
    srv.stop().await;
}

#[tokio::test]
async fn auto_registration_adds_the_phone_with_the_default_protocol() {
    let root = root_with_sip_8_12();
    let inv: Arc<dyn Inventory> = Arc::new(SqliteInventory::open_in_memory().unwrap());
    let auto = AutoRegister {
        protocol: phoneflip_firmware::Protocol::Sip,
        template: None,
        model: "7960".parse().unwrap(),
    };
    let srv = start(root.path(), inv.clone(), Some(auto)).await;
    // The universal loader's hunt: with the phone's load unknown no SEP
    // file is made up (error 1), so the hunt goes on to SIP<MAC>.cnf,
    // which names the SIP load of the root.
    match srv.get("127.0.0.24", "SEP0019AA0000AA.cnf.xml").await {
        Err(FetchError::Server { code, .. }) => assert_eq!(code, 1),
        other => panic!("{other:?}"),
    }
    let sip =
        String::from_utf8(srv.get("127.0.0.24", "SIP0019AA0000AA.cnf").await.unwrap()).unwrap();
    assert!(sip.contains("image_version: P0S3-8-12-00"), "{sip}");
    let p = inv
        .get_phone("0019AA0000AA".parse().unwrap())
        .unwrap()
        .unwrap();
    assert!(p.auto_registered);
    assert_eq!(p.desired_protocol, Some(phoneflip_firmware::Protocol::Sip));
    srv.stop().await;
}

#[tokio::test]
async fn sip_6_to_sccp_gets_gkdefault_and_a_sep_file() {
    let d = tempfile::tempdir().unwrap();
    for f in [
        "P00308000400.loads",
        "P00308000400.sb2",
        "P00308000400.bin",
        "P00308000400.sbn",
        "CP7940080001SCCP051117A.sbin",
    ] {
        std::fs::write(d.path().join(f), vec![0x5a; 1024]).unwrap();
    }
    let inv: Arc<dyn Inventory> = Arc::new(SqliteInventory::open_in_memory().unwrap());
    let mut p = phone("0019AA000003", "POS3-06-0-00", "P00308000400");
    p.model = "7940".parse().unwrap();
    inv.put_phone(&p).unwrap();
    let srv = start(d.path(), inv.clone(), None).await;
    let c = "127.0.0.25";
    let gk = String::from_utf8(srv.get(c, "SIP0019AA000003.cnf").await.unwrap()).unwrap();
    // The SIP phone keeps its image: gkdefault.cfg does the move.
    assert!(gk.contains("image_version: POS3-06-0-00"), "{gk}");
    let txt = String::from_utf8(srv.get(c, "gkdefault.txt").await.unwrap()).unwrap();
    assert!(
        txt.contains(
            "upgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x051117a,CP7940080001SCCP051117A.sbin"
        ),
        "{txt}"
    );
    let sep = String::from_utf8(srv.get(c, "SEP0019AA000003.cnf.xml").await.unwrap()).unwrap();
    assert!(sep.contains("P00308000400"), "{sep}");
    srv.stop().await;
}

/// The address→MAC memory (was the TFTP server's): a shared file is the
/// root's until the address asked for a MAC-named file, then the phone's;
/// and the recorded events carry the MAC from then on.
#[tokio::test]
async fn a_phone_known_by_its_file_gets_its_own_shared_files_from_the_same_address() {
    let root = root_with_sip_8_12();
    std::fs::write(root.path().join("OS79XX.TXT"), "STATIC").unwrap();
    let inv: Arc<dyn Inventory> = Arc::new(SqliteInventory::open_in_memory().unwrap());
    inv.put_phone(&phone("000DBDBEEF01", "P0030801SR02", "P0S3-8-12-00"))
        .unwrap();
    let srv = start(root.path(), inv.clone(), None).await;
    let c = "127.0.0.26";
    assert_eq!(srv.get(c, "OS79XX.TXT").await.unwrap(), b"STATIC");
    match srv.get(c, "CTLSEP000DBDBEEF01.tlv").await {
        Err(FetchError::Server { code, .. }) => assert_eq!(code, 1),
        other => panic!("{other:?}"),
    }
    let os = String::from_utf8(srv.get(c, "OS79XX.TXT").await.unwrap()).unwrap();
    assert_ne!(os, "STATIC");
    assert!(os.starts_with("P003-8-12-00"), "{os}");
    // Another address is not that phone.
    assert_eq!(
        srv.get("127.0.0.27", "OS79XX.TXT").await.unwrap(),
        b"STATIC"
    );

    let mac = "000DBDBEEF01".parse().unwrap();
    let mut events = Vec::new();
    for _ in 0..50 {
        events = inv.events_after(0, 100).unwrap();
        if events.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen: Vec<(&str, Option<phoneflip_device::Mac>, String)> = events
        .iter()
        .map(|e| {
            (
                e.event.file.as_str(),
                e.event.mac,
                e.event.client_ip.to_string(),
            )
        })
        .collect();
    let a = || "127.0.0.26".to_string();
    // The first OS79XX.TXT was asked before the address named its phone:
    // the recorder gives it the phone once it does, so the phone's
    // timeline starts at its boot and no other phone's does.
    // Per address (the server's workers may record two addresses'
    // transfers in either order).
    let (ours, other): (Vec<_>, Vec<_>) = seen.into_iter().partition(|(_, _, ip)| *ip == a());
    assert_eq!(
        ours,
        vec![
            ("OS79XX.TXT", Some(mac), a()),
            ("CTLSEP000DBDBEEF01.tlv", Some(mac), a()),
            ("OS79XX.TXT", Some(mac), a()),
        ]
    );
    assert_eq!(other, vec![("OS79XX.TXT", None, "127.0.0.27".to_string())]);
    let kinds: Vec<_> = events
        .iter()
        .filter(|e| e.event.client_ip.to_string() == a())
        .map(|e| e.event.kind.clone())
        .collect();
    assert_eq!(kinds[1], phoneflip_config::FileKind::CtlSep(mac));
    assert_eq!(kinds[2], phoneflip_config::FileKind::Os79xx);
    let timeline: Vec<String> = inv
        .timeline(mac, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.event.file)
        .collect();
    assert_eq!(
        timeline,
        ["OS79XX.TXT", "CTLSEP000DBDBEEF01.tlv", "OS79XX.TXT"]
    );
    srv.stop().await;
}

/// Requests written before the address named its phone (another batch)
/// are tied to it in the store; an address's earlier visit outside one
/// boot's window is not, and a lease handed to another phone moves on.
#[test]
fn the_recorder_ties_a_boot_to_the_phone_across_batches_and_leases() {
    use phoneflip_tftp::log::Direction;
    use phoneflip_tftp::log::EventOutcome;
    use phoneflip_tftp::{EventSink, Outcome as T, TransferEvent};
    use std::time::{SystemTime, UNIX_EPOCH};
    let inv: Arc<dyn Inventory> = Arc::new(SqliteInventory::open_in_memory().unwrap());
    let root = tempfile::tempdir().unwrap();
    let catalogue = Provisioner::catalogue_of(root.path()).unwrap();
    let source = Provisioner::new(inv.clone(), catalogue, None);
    let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let at = |secs: u64| t0 + Duration::from_secs(secs);
    let ev = |time: SystemTime, ip: &str, file: &str| TransferEvent {
        client: format!("{ip}:50000").parse().unwrap(),
        file: file.into(),
        direction: Direction::Send,
        virtual_file: false,
        bytes: 10,
        size: Some(10),
        started: time,
        ended: time,
        outcome: EventOutcome::Transfer(T::Success),
    };
    let wait_for = |n: usize| {
        for _ in 0..100 {
            if inv.events_after(0, 100).unwrap().len() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the recorder wrote fewer than {n} events");
    };
    let ip = "10.1.0.5";
    let rec = source.recorder();
    rec.record(ev(at(0), ip, "OS79XX.TXT")); // an old visit, 20 min earlier
    rec.record(ev(at(1200), ip, "OS79XX.TXT"));
    rec.record(ev(at(1201), ip, "P0S3-8-12-00.loads"));
    wait_for(3); // flushed: the MAC comes in a later batch
    rec.record(ev(at(1230), ip, "SIP000DBDBEEF0A.cnf"));
    rec.record(ev(at(1231), ip, "RINGLIST.DAT"));
    rec.record(ev(at(5000), ip, "SIP000DBDBEEF0B.cnf")); // the lease moved
    rec.record(ev(at(5001), ip, "SIPDefault.cnf"));
    rec.close();
    let files = |m: &str| -> Vec<String> {
        inv.timeline(m.parse().unwrap(), 100)
            .unwrap()
            .into_iter()
            .map(|e| e.event.file)
            .collect()
    };
    assert_eq!(
        files("000DBDBEEF0A"),
        [
            "OS79XX.TXT",
            "P0S3-8-12-00.loads",
            "SIP000DBDBEEF0A.cnf",
            "RINGLIST.DAT"
        ]
    );
    assert_eq!(
        files("000DBDBEEF0B"),
        ["SIP000DBDBEEF0B.cnf", "SIPDefault.cnf"]
    );
    let orphans: Vec<_> = inv
        .events_after(0, 100)
        .unwrap()
        .into_iter()
        .filter(|e| e.event.mac.is_none())
        .collect();
    assert_eq!(orphans.len(), 1, "the old visit stays nobody's");
}

#[tokio::test]
async fn auto_registration_is_limited_per_source_and_in_all() {
    let root = root_with_sip_8_12();
    let inv: Arc<dyn Inventory> = Arc::new(SqliteInventory::open_in_memory().unwrap());
    let auto = AutoRegister {
        protocol: phoneflip_firmware::Protocol::Sip,
        template: None,
        model: "7960".parse().unwrap(),
    };
    let catalogue = Provisioner::catalogue_of(root.path()).unwrap();
    let p = Provisioner::new(inv.clone(), catalogue, Some(auto)).with_auto_register_limits(
        phoneflip_provision::AutoRegisterLimits {
            per_source: 2,
            total: 3,
            window: Duration::from_secs(3600),
        },
    );
    let srv = start_with(root.path(), p).await;
    // One address spoofing five MACs: two phones, the rest get error 1
    // (nothing in the root by that name) and no record.
    let mut served = 0;
    for i in 0..5 {
        match srv
            .get("127.0.0.30", &format!("SIP0019AA0100{i:02X}.cnf"))
            .await
        {
            Ok(b) => {
                assert!(String::from_utf8_lossy(&b).contains("image_version"));
                served += 1;
            }
            Err(FetchError::Server { code, .. }) => assert_eq!(code, 1),
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(served, 2);
    // A phone already known is served whatever the limits say.
    assert!(srv.get("127.0.0.30", "SIP0019AA010000.cnf").await.is_ok());
    // Other addresses: the total (3) is reached after one more.
    assert!(srv.get("127.0.0.31", "SIP0019AA020001.cnf").await.is_ok());
    match srv.get("127.0.0.32", "SIP0019AA030001.cnf").await {
        Err(FetchError::Server { code, .. }) => assert_eq!(code, 1),
        other => panic!("{other:?}"),
    }
    let phones = inv
        .list_phones(&phoneflip_inventory::PhoneFilter::default())
        .unwrap();
    let macs: Vec<String> = phones.iter().map(|p| p.mac.to_string()).collect();
    assert_eq!(macs, ["0019AA010000", "0019AA010001", "0019AA020001"]);
    assert!(phones.iter().all(|p| p.auto_registered));
    srv.stop().await;
}

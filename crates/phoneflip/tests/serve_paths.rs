//! The reference's SIP 5.x/6.x → SCCP procedure end to end through the
//! TFTP server with serve's request pipeline (issue 13): an emulated SIP
//! 6.3 phone, whose current load comes from the imported CSV or is
//! unknown to serve, reverts to SCCP through a `gkdefault.cfg` that the
//! pipeline compiled itself with the tag table found in the root (the
//! real 7912 `sip_ptag.dat` of the corpus).
//!
//! The phone boots over real UDP on loopback from its own address; the
//! root is made by `phoneflip_bundle::import` of a vendor-shaped bundle.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_device::{Mac, Model};
use phoneflip_emulator::driver::{self, DriveOptions, TftpFetcher};
use phoneflip_emulator::run::Entry;
use phoneflip_emulator::{Flash, Outcome, Phone, PhoneConfig, Report, TftpSetting};
use phoneflip_firmware::{Protocol, Release};
use phoneflip_inventory::{import_csv, Inventory, SqliteInventory};
use phoneflip_provision::Provisioner;
use phoneflip_tftp::{Server, ServerConfig, TransferLog};
use tokio::sync::oneshot;

const MAC: &str = "0019AA000613";

/// The real 7912 tag table of the corpus, found above the crate as
/// `shared/corpus/cfgfmt` (the tests of `phoneflip cfgfmt` look the same).
fn corpus_tag_table() -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/corpus/cfgfmt/sip_ptag7912.dat"))
        .find(|p| p.is_file())
}

struct Tftp {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    provisioner: Arc<Provisioner>,
}

impl Drop for Tftp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// The root: the SCCP 8.1(2)SR2 bundle imported as a user would, and the
/// SIP package's tag table.
fn root(dir: &Path, table: &Path) -> PathBuf {
    let root = dir.join("root");
    let r: Release = "sccp:8.1(2)SR2".parse().unwrap();
    let bundle = synth::synth(r.protocol, r.version, SizeProfile::Small).unwrap();
    let zip = synth::write_zip(&bundle, dir).unwrap();
    let report = phoneflip_bundle::import(&zip, &root).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    std::fs::copy(table, root.join("sip_ptag.dat")).unwrap();
    root
}

async fn serve(root: &Path, inv: Arc<dyn Inventory>) -> Tftp {
    let catalogue = Provisioner::catalogue_of(root).unwrap();
    let provisioner = Provisioner::new(inv, catalogue, None);
    provisioner.set_tag_table(Provisioner::tag_table_of(root).unwrap());
    let provisioner = Arc::new(provisioner);
    let recorder = Arc::new(provisioner.recorder());
    let cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap(), root);
    let server = Server::bind(cfg, provisioner.clone(), recorder, TransferLog::none())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    Tftp {
        addr,
        stop: Some(tx),
        provisioner,
    }
}

fn inventory(current_load: &str) -> Arc<SqliteInventory> {
    let inv = Arc::new(SqliteInventory::open_in_memory().unwrap());
    let csv =
        format!("mac,model,desired_load,current_load\n{MAC},7960,sccp:8.1(2)SR2,{current_load}\n");
    import_csv(inv.as_ref(), csv.as_bytes(), false).unwrap();
    inv
}

fn phone(flash: Flash, server: SocketAddr) -> Phone {
    Phone::new(
        PhoneConfig {
            mac: MAC.parse::<Mac>().unwrap(),
            model: Model::Cp7960,
            tftp: TftpSetting::Manual(server),
        },
        flash,
    )
}

async fn boot(flash: Flash, server: SocketAddr, i: u32) -> Report {
    let opts = DriveOptions {
        local: driver::loopback_addr(600 + i),
        time_scale: 0.0,
        ..DriveOptions::default()
    };
    driver::boot(phone(flash, server), &TftpFetcher::default(), &opts).await
}

fn dump(r: &Report) -> String {
    r.transcript.iter().map(|e| format!("{e}\n")).collect()
}

fn received_gkdefault(r: &Report) -> bool {
    r.transcript
        .iter()
        .any(|e| matches!(e, Entry::Received { file, .. } if file == "gkdefault.cfg"))
}

fn sip_6_3() -> Flash {
    Flash::with_load(Protocol::Sip, "6.3".parse().unwrap())
}

fn assert_on_sccp(r: &Report) {
    match &r.outcome {
        Outcome::Stable(st) => assert_eq!(
            (st.protocol, st.load.as_str()),
            (Protocol::Sccp, "P0030801SR02"),
            "{}",
            dump(r)
        ),
        o => panic!("{o:?}\n{}", dump(r)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_6_to_sccp_through_a_compiled_gkdefault_with_the_load_from_the_csv() {
    let Some(table) = corpus_tag_table() else {
        eprintln!(
            "SKIPPED: the corpus tag table ../shared/corpus/cfgfmt/sip_ptag7912.dat is not there"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = root(dir.path(), &table);
    let inv = inventory("sip:6.3");
    let tftp = serve(&root, inv.clone()).await;
    // A phone is known by its address only once it asked for a file named
    // by its MAC: its first boot's OS79XX.TXT and gkdefault.cfg are nobody's
    // (the root has neither), so it stays on SIP 6.3.
    let first = boot(sip_6_3(), tftp.addr, 0).await;
    assert!(!received_gkdefault(&first), "{}", dump(&first));
    // Its next boot (a reset by a job, or a power cycle) is the reference's
    // procedure: gkdefault.cfg, the SCCP image it names, SCCP.
    let r = boot(first.flash.clone(), tftp.addr, 0).await;
    assert!(received_gkdefault(&r), "{}", dump(&r));
    assert_on_sccp(&r);
    // What went over the wire is cfgfmt's binary, compiled by serve.
    let (_, bytes) = tftp.provisioner.decide(&format!("SEP{MAC}.cnf.xml"), None);
    assert!(bytes.is_some());
    let root_cfg = root.join("gkdefault.cfg");
    assert!(!root_cfg.exists(), "serve compiled it; the root holds none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_6_to_sccp_when_serve_does_not_know_the_load() {
    let Some(table) = corpus_tag_table() else {
        eprintln!(
            "SKIPPED: the corpus tag table ../shared/corpus/cfgfmt/sip_ptag7912.dat is not there"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = root(dir.path(), &table);
    let inv = inventory("");
    let tftp = serve(&root, inv.clone()).await;
    let mac: Mac = MAC.parse().unwrap();
    // First boot: serve learns from the requests (OS79XX.TXT first, then
    // gkdefault.cfg: SIP 5.x/6.x) and sends nothing that could skip a hop.
    let first = boot(sip_6_3(), tftp.addr, 1).await;
    assert!(!first
        .transcript
        .iter()
        .any(|e| matches!(e, Entry::Received { file, .. } if file.ends_with(".sbin") || file.ends_with(".loads"))),
        "{}",
        dump(&first)
    );
    let why = tftp.provisioner.why(mac).expect("a reason is kept");
    assert!(why.contains("current load unknown"), "{why}");
    assert!(
        why.contains("fit POS3-05-0-00, POS3-06-3-00;"),
        "the requests tell SIP 5.x/6.x: {why}"
    );
    // Second boot, from the same address: the generation is known, every
    // SIP 5.x/6.x plan goes through the same gkdefault.cfg.
    let second = boot(first.flash.clone(), tftp.addr, 1).await;
    assert!(received_gkdefault(&second), "{}", dump(&second));
    assert_on_sccp(&second);
}

/// Boots the phone from one address until it runs `target` (at most
/// `max` boots: the first only makes the phone known by its address);
/// returns the loads it ran after each boot.
async fn boots_until(
    tftp: &Tftp,
    mut flash: Flash,
    i: u32,
    target: &str,
    max: usize,
) -> (Vec<String>, Report) {
    let mut loads = Vec::new();
    loop {
        let r = boot(flash, tftp.addr, i).await;
        // What is in flash: a phone that gave up waiting for its files
        // ("unprovisioned") still runs the load it had.
        let load = match (&r.outcome, &r.flash.app) {
            (Outcome::Stable(st), _) => st.load.clone(),
            (_, Some(app)) => app.image_load.clone(),
            (o, None) => format!("{o:?}"),
        };
        loads.push(load.clone());
        if load == target || loads.len() >= max {
            return (loads, r);
        }
        flash = r.flash.clone();
        // The recorder writes what it learnt from a thread of its own.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn root_of(dir: &Path, releases: &[&str], table: Option<&Path>) -> PathBuf {
    let root = dir.join("root");
    for rel in releases {
        let r: Release = rel.parse().unwrap();
        let bundle = synth::synth(r.protocol, r.version, SizeProfile::Small).unwrap();
        let zip = synth::write_zip(&bundle, dir).unwrap();
        let report = phoneflip_bundle::import(&zip, &root).unwrap();
        assert!(report.problems.is_empty(), "{rel}: {:?}", report.problems);
    }
    if let Some(t) = table {
        std::fs::copy(t, root.join("sip_ptag.dat")).unwrap();
    }
    root
}

/// The reference's procedures (crates/plan/tests/procedures.rs), each
/// through serve with the load from the CSV: (from, to, target load, the
/// bundles the root needs).
const PROCEDURES: &[(&str, &str, &str, &[&str])] = &[
    ("sccp:3.3", "POS30100", "POS30100", &["sip:1.0"]),
    ("sccp:5.0(1.1)", "sip:6.3", "POS3-06-3-00", &["sip:6.3"]),
    ("sccp:3.3", "sip:7.4", "POS3-07-4-00", &["sip:7.4"]),
    ("sccp:6.0(3)", "sip:7.4", "POS3-07-4-00", &["sip:7.4"]),
    ("sccp:3.3", "sip:8.12", "P0S3-8-12-00", &["sip:8.12"]),
    ("sip:4.4", "sccp:4.1(1)", "P00304010100", &["sccp:4.1(1)"]),
    (
        "sip:4.4",
        "sccp:8.1(2)SR2",
        "P0030801SR02",
        &["sccp:8.1(2)SR2", "sccp:6.0(3)"],
    ),
    (
        "sip:7.4",
        "sccp:8.1(2)SR2",
        "P0030801SR02",
        &["sccp:8.1(2)SR2"],
    ),
    (
        "sccp:3.3",
        "sip:4.4",
        "POS3-04-4-00",
        &["sip:4.4", "sip:2.3"],
    ),
    (
        "sip:3.0",
        "sccp:8.1(2)SR2",
        "P0030801SR02",
        &["sccp:8.1(2)SR2", "sccp:4.1(1)"],
    ),
    ("sccp:3.3", "sip:2.2", "POS30202", &["sip:2.2"]),
    // SIP 2.1 and earlier take only 8.3 names: the SCCP load goes by its
    // DOS alias, which serve answers from the real file.
    ("sip:2.1", "sccp:4.1(2)", "P00304010200", &["sccp:4.1(2)"]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_procedures_through_serve_with_the_load_from_the_csv() {
    let mut failures = Vec::new();
    for (n, (from, to, target, bundles)) in PROCEDURES.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let root = root_of(dir.path(), bundles, None);
        let inv = Arc::new(SqliteInventory::open_in_memory().unwrap());
        let csv = format!("mac,model,desired_load,current_load\n{MAC},7960,{to},{from}\n");
        import_csv(inv.as_ref(), csv.as_bytes(), false).unwrap();
        let tftp = serve(&root, inv.clone()).await;
        let r: Release = from.parse().unwrap();
        let (loads, last) = boots_until(
            &tftp,
            Flash::with_load(r.protocol, r.version),
            10 + n as u32,
            target,
            5,
        )
        .await;
        if loads.last().map(String::as_str) != Some(*target) {
            failures.push(format!(
                "{from} -> {to}: ran {loads:?}, not {target}\n{}",
                dump(&last)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The same procedures with the load unknown to serve: whatever the phone
/// asks for, it never runs a load off its documented route (the planner's
/// hops from its real load); the procedures whose every fitting load plans
/// the same first hop reach the target, the others wait for the operator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_procedures_through_serve_with_the_load_unknown() {
    let mut off_route = Vec::new();
    let mut reached = Vec::new();
    for (n, (from, to, target, bundles)) in PROCEDURES.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let root = root_of(dir.path(), bundles, None);
        let inv = Arc::new(SqliteInventory::open_in_memory().unwrap());
        let csv = format!("mac,model,desired_load\n{MAC},7960,{to}\n");
        import_csv(inv.as_ref(), csv.as_bytes(), false).unwrap();
        let tftp = serve(&root, inv.clone()).await;
        let r: Release = from.parse().unwrap();
        let route = phoneflip_plan::plan(
            from.parse::<phoneflip_plan::Endpoint>().unwrap(),
            to.parse::<phoneflip_plan::Endpoint>().unwrap(),
            Some(Model::Cp7960),
            &Provisioner::catalogue_of(&root).unwrap(),
        )
        .unwrap();
        let mut allowed: Vec<String> =
            vec![phoneflip_firmware::LoadName::canonical(r.protocol, r.version).to_string()];
        allowed.extend(route.hops.iter().filter_map(|h| h.to.load.clone()));
        let (loads, last) = boots_until(
            &tftp,
            Flash::with_load(r.protocol, r.version),
            40 + n as u32,
            target,
            5,
        )
        .await;
        if let Some(bad) = loads.iter().find(|l| !allowed.contains(l)) {
            off_route.push(format!(
                "{from} -> {to}: ran {bad}, off the route {allowed:?}\n{}",
                dump(&last)
            ));
        }
        if loads.last().map(String::as_str) == Some(*target) {
            reached.push(format!("{from} -> {to}"));
        }
    }
    eprintln!("reached the target with the load unknown: {reached:?}");
    assert!(off_route.is_empty(), "{}", off_route.join("\n\n"));
    // SCCP 3.3 to SIP 8.12 fits every original-boot load's plan alike.
    assert!(
        reached.contains(&"sccp:3.3 -> sip:8.12".to_string()),
        "{reached:?}"
    );
}

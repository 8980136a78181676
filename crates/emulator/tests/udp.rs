//! End to end over real UDP on loopback: phoneflip's TFTP server serving a
//! root made from imported synthetic bundles, emulated phones booting from
//! their own 127.x.y.z addresses.

use std::collections::HashMap;
use std::path::Path;

mod common;
use std::sync::Arc;

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_device::{Mac, Model};
use phoneflip_emulator::driver::{self, DriveOptions, TftpFetcher};
use phoneflip_emulator::phone::Failure;
use phoneflip_emulator::run::Entry;
use phoneflip_emulator::{Flash, Outcome, Phone, PhoneConfig, Report, TftpSetting};
use phoneflip_firmware::{Protocol, Release};
use phoneflip_tftp::{NoVirtualFiles, Server, ServerConfig, TransferLog};
use tokio::sync::oneshot;

struct Running {
    addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Starts the TFTP server on 127.0.0.1:0 with a root holding the given
/// bundles (written as zips and imported, as a user would) plus `extra`.
async fn serve(bundles: &[&str], size: SizeProfile, extra: &[(&str, &str)]) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    for b in bundles {
        let r: Release = b.parse().unwrap();
        let bundle = synth::synth(r.protocol, r.version, size).unwrap();
        let zip = synth::write_zip(&bundle, dir.path()).unwrap();
        let report = phoneflip_bundle::import(&zip, &root).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
    for (name, text) in extra {
        std::fs::write(root.join(name), text).unwrap();
    }
    start(&root, dir).await
}

async fn start(root: &Path, dir: tempfile::TempDir) -> Running {
    let cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap(), root);
    let server = Server::bind(
        cfg,
        Arc::new(NoVirtualFiles),
        Arc::new(()),
        TransferLog::none(),
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    Running {
        addr,
        stop: Some(tx),
        _dir: dir,
    }
}

fn phone(mac: Mac, load: &str, server: std::net::SocketAddr) -> Phone {
    let r: Release = load.parse().unwrap();
    Phone::new(
        PhoneConfig {
            mac,
            model: Model::Cp7960,
            tftp: TftpSetting::Manual(server),
        },
        Flash::with_load(r.protocol, r.version),
    )
}

fn dump(r: &Report) -> String {
    r.transcript.iter().map(|e| format!("{e}\n")).collect()
}

use common::MAC;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sccp_5_converts_to_sip_8_12_over_udp() {
    let sip_mac = format!("SIP{MAC}.cnf");
    let s = serve(
        &["sip:8.12"],
        SizeProfile::Real,
        &[
            ("SIPDefault.cnf", "image_version: P0S3-8-12-00\n"),
            (&sip_mac, "image_version: P0S3-8-12-00\nline1_name: 100\n"),
        ],
    )
    .await;
    let opts = DriveOptions {
        local: driver::loopback_addr(0),
        time_scale: 0.0,
        ..DriveOptions::default()
    };
    let r = driver::boot(
        phone(MAC.parse().unwrap(), "sccp:5.0(1.1)", s.addr),
        &TftpFetcher::default(),
        &opts,
    )
    .await;
    match &r.outcome {
        Outcome::Stable(st) => assert_eq!(
            (st.protocol, st.load.as_str()),
            (Protocol::Sip, "P0S3-8-12-00")
        ),
        o => panic!("{o:?}\n{}", dump(&r)),
    }
    assert_eq!(r.reboots, 2);
    // The real-sized application image went over the wire intact.
    let sb2 = r.transcript.iter().find_map(|e| match e {
        Entry::Received { file, bytes, .. } if file == "P0S3-8-12-00.sb2" => Some(*bytes),
        _ => None,
    });
    assert!(sb2.unwrap() > 700_000, "{}", dump(&r));
    // The server answered ./SIP<MAC>.cnf, as SIP 8.x asks for it.
    assert!(r
        .transcript
        .iter()
        .any(|e| matches!(e, Entry::Received { file, .. } if *file == format!("./{sip_mac}"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_8_12_reverts_to_sccp_over_udp_and_a_lower_case_mac_fails() {
    let sep = format!("SEP{MAC}.cnf.xml");
    let s = serve(
        &["sccp:8.1(2)SR2"],
        SizeProfile::Small,
        &[(
            &sep,
            r#"<device><loadInformation model="IP Phone 7960">P0030801SR02</loadInformation></device>"#,
        )],
    )
    .await;
    let opts = DriveOptions {
        local: driver::loopback_addr(1),
        time_scale: 0.0,
        ..DriveOptions::default()
    };
    let r = driver::boot(
        phone(MAC.parse().unwrap(), "sip:8.12", s.addr),
        &TftpFetcher::default(),
        &opts,
    )
    .await;
    assert!(
        matches!(&r.outcome, Outcome::Stable(st) if st.load == "P0030801SR02"),
        "{}",
        dump(&r)
    );

    // A SIP phone whose file was saved with a lower-case MAC.
    let lower = format!("SIP{}.cnf", MAC.to_lowercase());
    let s = serve(
        &["sip:8.12"],
        SizeProfile::Small,
        &[(&lower, "line1_name: 100\n")],
    )
    .await;
    let r = driver::boot(
        phone(MAC.parse().unwrap(), "sip:8.12", s.addr),
        &TftpFetcher::default(),
        &opts,
    )
    .await;
    assert!(
        matches!(&r.outcome, Outcome::Failed(Failure::Unprovisioned { .. })),
        "{}",
        dump(&r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_fleet_boots_at_once_from_distinct_addresses() {
    let s = serve(
        &["sip:8.12"],
        SizeProfile::Small,
        &[("SIPDefault.cnf", "image_version: P0S3-8-12-00\n")],
    )
    .await;
    let root_files: Vec<(String, String)> = (0..20u8)
        .map(|i| {
            let mac = Mac::new([0, 0xAA, 0, 0, 0, i]);
            (
                format!("SIP{mac}.cnf"),
                "image_version: P0S3-8-12-00\n".to_string(),
            )
        })
        .collect();
    // Per-phone files go into the served root too.
    let root = s._dir.path().join("root");
    for (n, t) in &root_files {
        std::fs::write(root.join(n), t).unwrap();
    }
    let fetcher = Arc::new(TftpFetcher::default());
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20u8 {
        let p = phone(Mac::new([0, 0xAA, 0, 0, 0, i]), "sccp:5.0(1.1)", s.addr);
        let f = fetcher.clone();
        set.spawn(async move {
            let opts = DriveOptions {
                local: driver::loopback_addr(i as u32),
                time_scale: 0.0,
                ..DriveOptions::default()
            };
            driver::boot(p, f.as_ref(), &opts).await
        });
    }
    let mut n = 0;
    while let Some(r) = set.join_next().await {
        let r = r.unwrap();
        assert!(
            matches!(&r.outcome, Outcome::Stable(st) if st.load == "P0S3-8-12-00"),
            "{}",
            dump(&r)
        );
        n += 1;
    }
    assert_eq!(n, 20);
}

/// Every procedure of the reference, as phoneflip-plan writes it, over UDP:
/// per hop, the root is written to disk and served by a fresh server, and
/// the phone (its flash kept across hops) must reach the hop's load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_planned_conversion_over_udp() {
    for (i, (from, to)) in common::PAIRS.iter().enumerate() {
        let f: Release = from.parse().unwrap();
        let p = common::plan_for(from, to);
        let mut files: HashMap<String, Vec<u8>> = HashMap::new();
        let mut flash = Flash::with_load(f.protocol, f.version);
        for hop in &p.hops {
            common::apply(&mut files, hop);
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("root");
            std::fs::create_dir(&root).unwrap();
            for (name, bytes) in &files {
                std::fs::write(root.join(name), bytes).unwrap();
            }
            let s = start(&root, dir).await;
            let phone = Phone::new(
                PhoneConfig {
                    mac: MAC.parse().unwrap(),
                    model: Model::Cp7960,
                    tftp: TftpSetting::Manual(s.addr),
                },
                flash.clone(),
            );
            let opts = DriveOptions {
                local: driver::loopback_addr(100 + i as u32),
                ..DriveOptions::default()
            };
            let r = driver::boot(phone, &TftpFetcher::default(), &opts).await;
            let want = hop.to.load.as_deref().unwrap();
            assert!(
                matches!(&r.outcome, Outcome::Stable(st) if st.load == want),
                "{from} -> {to}, hop {}: {:?}\n{}",
                hop.step,
                r.outcome,
                dump(&r)
            );
            flash = r.flash;
        }
    }
}

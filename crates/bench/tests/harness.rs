//! The harness in a tiny configuration against phoneflip's real server
//! (in-process, so no binary is needed): every scenario completes
//! byte-exact fetches and the report has a row per cell. No timing is
//! asserted: benchmarks are not tests.

use std::time::Duration;

use phoneflip_bench::{fleet, run, Bounds, Config, PhoneflipLaunch, Scenario, Sources};

#[test]
fn tiny_run_fetches_every_scenario_byte_exact() {
    let config = Config {
        clients: vec![1, 2],
        scenarios: Scenario::ALL.to_vec(),
        sources: vec![Sources::Many, Sources::One],
        logging: vec![false, true],
        bounds: Bounds {
            duration: Duration::from_secs(2),
            max_fetches: 2,
        },
        runs: 1,
        phoneflip: PhoneflipLaunch::InProcess,
        peers: false,
        ceiling: false,
    };
    let mut lines = Vec::new();
    let report = run(&config, &mut |l| lines.push(l.to_string())).unwrap();
    // scenarios x 2 shapes x 2 client counts x 2 log settings
    assert_eq!(report.cells.len(), Scenario::ALL.len() * 8);
    for cell in &report.cells {
        assert_eq!(cell.server, "phoneflip");
        assert_eq!(cell.failed(), 0, "{:?}", cell.first_error);
        // Loopback, two clients: nothing should wait for a retransmission.
        assert_eq!(cell.stalls(), 0, "{:?} {:?}", cell.scenario, cell.sources);
        // Each client stops after max_fetches, all byte-exact.
        assert_eq!(cell.files(), 2 * cell.clients as u64, "{:?}", cell.scenario);
        let bytes: u64 = cell.samples.iter().map(|s| s.bytes).sum();
        if matches!(cell.scenario, Scenario::Image512 | Scenario::Image1428) {
            assert_eq!(bytes, cell.files() * fleet::IMAGE_LEN as u64);
        }
        // In-process: no separate CPU or memory figure is claimed.
        assert_eq!(cell.cpu_secs(), None);
    }
    assert!(report.ceiling.is_empty());
    let md = report.markdown();
    assert_eq!(
        md.matches("| phoneflip |").count(),
        report.cells.len(),
        "{md}"
    );
    assert!(
        md.contains("| 1 MiB image, blksize 1428 | many | 2 | phoneflip | on |"),
        "{md}"
    );
    assert!(
        md.contains("| 2 KiB config, static per phone | one | 1 | phoneflip | off |"),
        "{md}"
    );
    assert_eq!(lines.len(), report.cells.len(), "{lines:?}");
}

#[tokio::test]
async fn udp_ceiling_counts_echoed_516_byte_answers() {
    let (pairs, elapsed) = phoneflip_bench::load::udp_ceiling(2, Duration::from_millis(200))
        .await
        .unwrap();
    assert!(pairs > 0);
    assert!(elapsed >= Duration::from_millis(200));
}

#[test]
fn rendered_files_come_from_the_provisioning_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let contents = fleet::populate(dir.path(), 4).unwrap();
    // SIP phones get SIP<MAC>.cnf aiming at SIP 8.12, SCCP phones an XML file.
    let sip = String::from_utf8(contents.rendered_files[0].clone()).unwrap();
    assert!(sip.contains("P0S3-8-12-00"), "{sip}");
    assert!(sip.contains("line1_name: 20001"), "{sip}");
    let sep = String::from_utf8(contents.rendered_files[1].clone()).unwrap();
    assert!(sep.contains("P0030801SR02"), "{sep}");
    assert!(fleet::rendered_name(1).starts_with("SEP"));
    // The peers serve the same bytes from the root.
    for i in 0..4 {
        let on_disk = std::fs::read(dir.path().join(fleet::rendered_name(i))).unwrap();
        assert_eq!(on_disk, contents.rendered_files[i]);
        assert_eq!(contents.static_files[i].len(), fleet::STATIC_LEN);
    }
}

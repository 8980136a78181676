//! `phoneflip bench tftp` on the real binary, tiny and phoneflip-only:
//! its server runs as the hidden `bench tftp-server` child process, every
//! fetch is byte-exact, and the Markdown report comes out. No timing is
//! asserted: benchmarks are not tests.

use std::process::Command;

#[test]
fn bench_tftp_tiny_run_reports_every_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench.md");
    let run = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args([
            "bench",
            "tftp",
            "--clients",
            "2",
            "--secs",
            "2",
            "--runs",
            "1",
            "--max-fetches",
            "2",
            "--no-peers",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let md = std::fs::read_to_string(&out).unwrap();
    assert_eq!(md, String::from_utf8_lossy(&run.stdout));
    let rows: Vec<&str> = md.lines().filter(|l| l.contains("| phoneflip |")).collect();
    assert_eq!(rows.len(), 4, "{md}");
    for row in rows {
        let cols: Vec<&str> = row.split('|').map(str::trim).collect();
        // | scenario | clients | server | files/s | MiB/s | CPU s | ms/file | RSS | failed | ...
        assert_eq!(cols[2], "2", "{row}");
        assert_eq!(cols[9], "0", "failures in {row}\n{stderr}");
        // A separate process: its CPU and memory are measured.
        assert_ne!(cols[6], "n/a", "{row}");
        assert_ne!(cols[8], "n/a", "{row}");
    }
    assert!(md.contains("| 2 |"), "{md}");
    assert!(md.contains("UDP request/response ceiling"), "{md}");
}

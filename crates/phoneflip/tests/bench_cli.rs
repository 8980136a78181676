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
            "--sources",
            "many,one",
            "--log",
            "both",
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
    // 4 scenarios x 2 source shapes x log off and on
    assert_eq!(rows.len(), 16, "{md}");
    for row in &rows {
        let cols: Vec<&str> = row.split('|').map(str::trim).collect();
        // | scenario | sources | clients | server | log | files/s | MiB/s | CPU s | ms/file | RSS | KiB/transfer | failed | stalled | ...
        assert_eq!(cols[3], "2", "{row}");
        assert_eq!(cols[12], "0", "failures in {row}\n{stderr}");
        // A separate process: its CPU and memory are measured.
        assert_ne!(cols[8], "n/a", "{row}");
        assert_ne!(cols[10], "n/a", "{row}");
        assert_ne!(cols[11], "n/a", "{row}");
    }
    for (shape, log) in [
        ("many", "off"),
        ("many", "on"),
        ("one", "off"),
        ("one", "on"),
    ] {
        assert_eq!(
            rows.iter()
                .filter(|r| r.contains(&format!("| {shape} | 2 | phoneflip | {log} |")))
                .count(),
            4,
            "{shape}/{log}: {md}"
        );
    }
    assert!(md.contains("| 2 |"), "{md}");
    assert!(md.contains("UDP request/response ceiling"), "{md}");
}

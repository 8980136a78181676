//! How long a Bulk Administration sized CSV takes to import.
//!
//! `cargo bench -p phoneflip-inventory --bench import` imports 10,000 phones
//! (two lines each, tags, a template) into a fresh SQLite file in WAL mode,
//! then re-imports the same file (all unchanged) and exports it, printing
//! each time; then the same into a PostgreSQL started for the run (Debian's
//! `postgresql`; skipped with a line when it is not installed).
//! `PHONEFLIP_BENCH_PHONES=100000` sets the number of phones. Without `--bench` (as `cargo test --all-targets` runs it) it
//! does the same with 200 phones, as a smoke test.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use phoneflip_config::Template;
use phoneflip_firmware::Protocol;
use phoneflip_inventory::{export_csv, import_csv, parse_csv, Change, Inventory, SqliteInventory};

fn fleet_csv(n: usize) -> String {
    let mut s = String::from(
        "mac,model,description,site,tags,template,desired_protocol,desired_load,overrides,\
         line1_name,line1_authname,line1_password,line1_displayname,line2_name,line2_password\n",
    );
    for i in 0..n {
        let model = if i % 3 == 0 { "7940" } else { "7960" };
        writeln!(
            s,
            "00:19:aa:{:02x}:{:02x}:{:02x},{model},\"Desk {i}, floor {}\",site{},floor{};bulk,hq-sip,sip,P0S3-8-12-00,\
             proxy1_port=5060,{},{}u,pw{i},User {i},{},pw{i}b",
            (i >> 16) & 0xff,
            (i >> 8) & 0xff,
            i & 0xff,
            i % 20,
            i % 7,
            i % 20,
            10_000 + i,
            10_000 + i,
            50_000 + i,
        )
        .unwrap();
    }
    s
}

/// This process's CPU time (user + system) in milliseconds, from
/// /proc/self/stat (Linux; USER_HZ is 100 on every Linux target). Wall time
/// on a busy shared machine says little, CPU time says what the import
/// costs.
fn cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10)
}

/// Runs `f`, returning its result, wall time and CPU time.
fn timed<T>(f: impl FnOnce() -> T) -> (T, String) {
    let cpu = cpu_ms();
    let t = Instant::now();
    let v = f();
    let wall = t.elapsed();
    let cpu = match (cpu, cpu_ms()) {
        (Some(a), Some(b)) => format!(" (CPU {} ms)", b - a),
        _ => String::new(),
    };
    (v, format!("{wall:.1?}{cpu}"))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    // PHONEFLIP_BENCH_PHONES=100000 for a site-sized run.
    let n = std::env::var("PHONEFLIP_BENCH_PHONES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 10_000 } else { 200 });
    let csv = fleet_csv(n);
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = SqliteInventory::open(dir.path().join("bench.db")).expect("open");
    run("SQLite (WAL file)", &sqlite, &csv, n);
    // The same on Debian's PostgreSQL, started here (fsync off: a
    // throwaway cluster), when it is installed.
    if let Some(db) = phoneflip_pgtest::database("import bench") {
        let pg = phoneflip_inventory::PgInventory::open(&db.url).expect("open PostgreSQL");
        run(
            "PostgreSQL (COPY; CPU is this process's only)",
            &pg,
            &csv,
            n,
        );
    }
}

fn run(backend: &str, store: &dyn Inventory, csv: &str, n: usize) {
    store
        .put_template(&Template {
            name: "hq-sip".into(),
            protocol: Protocol::Sip,
            settings: BTreeMap::from([("proxy1_address".into(), "10.0.0.5".into())]),
        })
        .expect("template");

    let templates = BTreeMap::from([("hq-sip".to_string(), Protocol::Sip)]);
    let (parsed, parse_time) = timed(|| parse_csv(csv.as_bytes(), &templates).expect("parse"));
    assert_eq!(parsed.len(), n);

    let (dry, dry_time) = timed(|| import_csv(store, csv.as_bytes(), true).expect("dry run"));
    assert_eq!(dry.count(Change::Added), n);

    let (first, import_time) = timed(|| import_csv(store, csv.as_bytes(), false).expect("import"));
    assert_eq!(first.count(Change::Added), n);

    let (again, reimport_time) =
        timed(|| import_csv(store, csv.as_bytes(), false).expect("re-import"));
    assert_eq!(again.count(Change::Unchanged), n);

    let mut out = Vec::with_capacity(csv.len() * 2);
    let ((), export_time) = timed(|| export_csv(store, &mut out).expect("export"));

    println!(
        "{backend}: import of {n} phones ({} KiB CSV):\n  parse and check only      {}\n  dry run                   {}\n  \
         import into empty DB      {}\n  re-import (all unchanged) {}\n  export                    {}",
        csv.len() / 1024,
        parse_time,
        dry_time,
        import_time,
        reimport_time,
        export_time
    );
}

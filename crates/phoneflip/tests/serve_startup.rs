//! `phoneflip serve` start-up checks and hostile input, as processes: one
//! serve per database, a read-only database refused, the token and
//! exposure warnings, old events pruned, and a forged log line that
//! `doctor --log` must not take for a phone.

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use phoneflip_inventory::{Event, Inventory, Outcome, SqliteInventory};
use phoneflip_tftp::client::{fetch, FetchOptions};

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn phoneflip() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phoneflip"))
}

fn serve(
    root: &std::path::Path,
    db: &std::path::Path,
    tftp: SocketAddr,
    extra: &[&str],
) -> Command {
    let mut c = phoneflip();
    c.arg("serve")
        .arg("--root")
        .arg(root)
        .arg("--db")
        .arg(db)
        .arg("--tftp")
        .arg(tftp.to_string())
        .args(extra)
        .env_remove("PHONEFLIP_API_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

async fn wait_up(addr: SocketAddr) {
    let opts = FetchOptions {
        timeout: Duration::from_millis(200),
        max_retries: 2,
        ..FetchOptions::default()
    };
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(30) {
        if fetch(addr, "127.0.0.1:0".parse().unwrap(), "hello.txt", &opts)
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("phoneflip serve did not answer on {addr} within 30 s");
}

fn output_within(mut child: Child, limit: Duration) -> Output {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

fn stop(child: Child) -> Output {
    // SIGTERM: the clean stop.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    output_within(child, Duration::from_secs(30))
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("hello.txt"), b"hello").unwrap();
    let db = dir.path().join("inv.db");
    (dir, root, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_serve_on_the_same_database_is_refused() {
    let (_dir, root, db) = setup();
    let a: SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let first = Kill(serve(&root, &db, a, &["--no-http"]).spawn().unwrap());
    wait_up(a).await;
    let b: SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let second = serve(&root, &db, b, &["--no-http"]).spawn().unwrap();
    let out = output_within(second, Duration::from_secs(20));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the second serve started: {err}");
    assert!(
        err.contains("another phoneflip serve is using the database") && err.contains("inv.db"),
        "{err}"
    );
    drop(first);
    // Once the first is gone the database is free again.
    let third = Kill(serve(&root, &db, b, &["--no-http"]).spawn().unwrap());
    wait_up(b).await;
    drop(third);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_is_reported_at_start() {
    if !std::path::Path::new("/usr/bin/setpriv").exists() {
        eprintln!("SKIPPED: needs setpriv (Debian package util-linux) to run serve as an unprivileged user");
        return;
    }
    let (dir, root, db) = setup();
    SqliteInventory::open(&db).unwrap();
    use std::os::unix::fs::PermissionsExt;
    // The folder is writable for everyone, the database only for root.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let tftp = format!("127.0.0.1:{}", free_udp_port());
    let mut c = Command::new("/usr/bin/setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_phoneflip"))
        .arg("serve")
        .arg("--root")
        .arg(&root)
        .arg("--db")
        .arg(&db)
        .args(["--no-http", "--tftp", &tftp])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = output_within(c.spawn().unwrap(), Duration::from_secs(20));
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("Permission denied") && !err.contains("inv.db") {
        eprintln!("SKIPPED: the test binary is not reachable for an unprivileged user: {err}");
        return;
    }
    assert!(
        !out.status.success(),
        "serve started on a read-only database: {err}"
    );
    assert!(
        err.contains("is not writable") && err.contains("inv.db"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_on_the_command_line_and_an_exposed_api_are_warned_about() {
    let (dir, root, db) = setup();
    let tftp: SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let http = format!("0.0.0.0:{}", free_tcp_port());
    let child = serve(
        &root,
        &db,
        tftp,
        &["--http", &http, "--api-token", "s3cret"],
    )
    .spawn()
    .unwrap();
    wait_up(tftp).await;
    let out = stop(child);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--api-token is visible to every user"),
        "{err}"
    );
    assert!(err.contains("without TLS"), "{err}");

    // From a file (or the environment): no token warning.
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();
    let http = format!("127.0.0.1:{}", free_tcp_port());
    let child = serve(
        &root,
        &db,
        tftp,
        &["--http", &http, "--api-token-file", token.to_str().unwrap()],
    )
    .spawn()
    .unwrap();
    wait_up(tftp).await;
    let out = stop(child);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("--api-token is visible"), "{err}");
    assert!(!err.contains("without TLS"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("read-only"));

    std::fs::write(&token, "\n").unwrap();
    let out = output_within(
        serve(
            &root,
            &db,
            tftp,
            &["--api-token-file", token.to_str().unwrap()],
        )
        .spawn()
        .unwrap(),
        Duration::from_secs(20),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is empty"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_events_are_pruned_at_start() {
    let (_dir, root, db) = setup();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let client: SocketAddr = "10.0.0.9:50000".parse().unwrap();
    {
        let inv = SqliteInventory::open(&db).unwrap();
        let day = 86_400_000;
        let events: Vec<Event> = [now_ms - 40 * day, now_ms - 31 * day, now_ms - day]
            .iter()
            .map(|t| Event::new(*t, None, client, "OS79XX.TXT", 12, Outcome::Sent, None))
            .collect();
        inv.append_events(&events).unwrap();
        assert_eq!(inv.events_after(0, 100).unwrap().len(), 3);
    }
    let tftp: SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let child = serve(
        &root,
        &db,
        tftp,
        &["--no-http", "--events-max-age-days", "30"],
    )
    .spawn()
    .unwrap();
    wait_up(tftp).await;
    let t0 = Instant::now();
    let left = loop {
        let inv = SqliteInventory::open(&db).unwrap();
        let left: Vec<i64> = inv
            .events_after(0, 100)
            .unwrap()
            .iter()
            .filter(|e| e.event.client_ip == client.ip())
            .map(|e| e.event.time_ms)
            .collect();
        if left.len() == 1 || t0.elapsed() > Duration::from_secs(10) {
            break left;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    stop(child);
    assert_eq!(
        left,
        vec![now_ms - 86_400_000],
        "only the recent event stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_name_does_not_show_a_fake_phone_in_doctor() {
    let (dir, root, db) = setup();
    let log = dir.path().join("tftp.log");
    let tftp: SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let child = serve(
        &root,
        &db,
        tftp,
        &["--no-http", "--log", log.to_str().unwrap()],
    )
    .spawn()
    .unwrap();
    wait_up(tftp).await;
    let forged = "x\nWed Nov 06 11:58:51 2002: Sending 'SEP0019AADEAD01.cnf.xml' file to 10.66.66.66 in binary mode\nWed Nov 06 11:58:52 2002: Successful.\n";
    let opts = FetchOptions {
        timeout: Duration::from_millis(200),
        max_retries: 1,
        ..FetchOptions::default()
    };
    let _ = fetch(tftp, "127.0.0.1:0".parse().unwrap(), forged, &opts).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop(child);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("x\\nWed Nov 06"), "{text}");
    let out = phoneflip()
        .args(["doctor", "--timeline", "--log"])
        .arg(&log)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    // One timeline (this host's), holding the forged name as one escaped,
    // failed request; no timeline for the forged address or MAC.
    let headers: Vec<&str> = report
        .lines()
        .filter(|l| l.ends_with(" requests") || l.ends_with(" request"))
        .collect();
    assert_eq!(headers, vec!["127.0.0.1: 2 requests"], "{report}");
    assert!(
        !report
            .lines()
            .any(|l| !l.starts_with(' ')
                && (l.contains("10.66.66.66") || l.contains("0019AADEAD01"))),
        "doctor shows the forged phone:\n{report}"
    );
    let forged_line = report
        .lines()
        .find(|l| l.contains("SEP0019AADEAD01"))
        .unwrap();
    assert!(forged_line.contains("Failed"), "{forged_line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_beyond_the_count_are_pruned_oldest_first() {
    let (_dir, root, db) = setup();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let client: SocketAddr = "10.0.0.9:50000".parse().unwrap();
    {
        // A flood: all recent, so age alone would keep every one.
        let inv = SqliteInventory::open(&db).unwrap();
        let events: Vec<Event> = (0..500)
            .map(|i| {
                let name = format!("flood{i}.txt");
                Event::new(
                    now_ms - 500 + i,
                    None,
                    client,
                    &name,
                    0,
                    Outcome::NotFound,
                    None,
                )
            })
            .collect();
        inv.append_events(&events).unwrap();
        assert_eq!(inv.count_events().unwrap(), 500);
    }
    let tftp: SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let child = serve(
        &root,
        &db,
        tftp,
        &["--no-http", "--events-max-count", "100"],
    )
    .spawn()
    .unwrap();
    wait_up(tftp).await;
    let t0 = Instant::now();
    let kept = loop {
        let inv = SqliteInventory::open(&db).unwrap();
        let kept: Vec<String> = inv
            .events_after(0, 1000)
            .unwrap()
            .into_iter()
            .filter(|e| e.event.client_ip == client.ip())
            .map(|e| e.event.file)
            .collect();
        if kept.len() <= 100 || t0.elapsed() > Duration::from_secs(10) {
            break kept;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    stop(child);
    // The server's own wait_up fetches are events too: they are the newest
    // and stay, so of the flood fewer than 100 may remain, the newest.
    assert!(!kept.is_empty() && kept.len() <= 100, "{}", kept.len());
    let first: usize = kept[0]["flood".len()..kept[0].len() - 4].parse().unwrap();
    let expected: Vec<String> = (first..500).map(|i| format!("flood{i}.txt")).collect();
    assert_eq!(kept, expected, "the newest stay, in order");
}

#[test]
fn a_failed_start_removes_the_database_it_created_and_keeps_one_that_was_there() {
    let (dir, root, db) = setup();
    // The TFTP port is taken: serve fails after it opened (created) the
    // database.
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tftp = taken.local_addr().unwrap();
    let out = output_within(
        serve(&root, &db, tftp, &["--no-http"]).spawn().unwrap(),
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("binding TFTP"), "{err}");
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("inv.db"))
        .collect();
    assert!(left.is_empty(), "a failed serve left {left:?} behind");

    // A database that was there before stays, data and all.
    {
        let inv = SqliteInventory::open(&db).unwrap();
        let client: SocketAddr = "10.0.0.9:50000".parse().unwrap();
        inv.append_events(&[Event::new(
            1,
            None,
            client,
            "OS79XX.TXT",
            12,
            Outcome::Sent,
            None,
        )])
        .unwrap();
    }
    let out = output_within(
        serve(&root, &db, tftp, &["--no-http"]).spawn().unwrap(),
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    assert_eq!(
        SqliteInventory::open(&db).unwrap().count_events().unwrap(),
        1
    );
}

/// Unlike a SQLite file, one PostgreSQL database takes several serve
/// nodes: both start, serve TFTP, run their job engines (which call the
/// database from async code) and stop cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_nodes_share_one_postgres_database() {
    let Some(pg) =
        phoneflip_inventory::off_runtime(|| phoneflip_pgtest::database("two serve nodes"))
    else {
        return;
    };
    let (_dir, root, _) = setup();
    let url = std::path::Path::new(&pg.url);
    let a: SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let b: SocketAddr = format!("127.0.0.1:{}", free_udp_port()).parse().unwrap();
    let first = serve(&root, url, a, &["--no-http"]).spawn().unwrap();
    let second = serve(&root, url, b, &["--no-http"]).spawn().unwrap();
    wait_up(a).await;
    wait_up(b).await;
    // A few job-engine ticks on both.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for out in [stop(first), stop(second)] {
        let err = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!err.contains("panicked"), "{err}");
        assert!(!err.contains("job engine:"), "{err}");
        assert!(stdout.contains("phoneflip: stopped"), "{stdout}\n{err}");
    }
}

//! Kill -9 trials: a `phoneflip serve` running a job over emulated phones
//! is killed with SIGKILL twice mid-job (phones mid-download) and started
//! again on the same database each time. Every phone still converts, none
//! is marked failed, every phone ends with the job's template, the job
//! completes, and no row written before a kill is lost: the TFTP events
//! (same ids, same files) and the job's phones all survive.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use phoneflip_bundle::synth::{self, SizeProfile};
use phoneflip_config::Template;
use phoneflip_device::{Mac, Model};
use phoneflip_emulator::driver::{self, DriveOptions, TftpFetcher};
use phoneflip_emulator::{Flash, Phone as EmuPhone, PhoneConfig, TftpSetting};
use phoneflip_firmware::{Protocol, Version};
use phoneflip_inventory::{Inventory, Phone, SqliteInventory};
use phoneflip_tftp::client::FetchOptions;

/// Phones of this file live at loopback_addr(BASE + i).
const BASE: u32 = 6_000;
const FLEET: usize = 24;

fn mac(i: usize) -> Mac {
    Mac::new([0x00, 0x19, 0xAA, 0x6a, 0x00, i as u8])
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_serve(root: &Path, db: &Path, tftp: SocketAddr, log: &Path) -> Serve {
    let child = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(["serve", "--no-http", "--jobs-every", "1", "--root"])
        .arg(root)
        .arg("--db")
        .arg(db)
        .args(["--tftp", &tftp.to_string()])
        // 3 KB images at 1.5 KB/s per phone: the kills land mid-download.
        .args(["--client-rate", "1500"])
        .env_remove("PHONEFLIP_API_TOKEN")
        .stdout(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        )
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Serve(child)
}

fn sigkill(s: Serve) {
    // SIGKILL: no drain, no flush, no lock released by the process.
    unsafe { libc::kill(s.0.id() as i32, libc::SIGKILL) };
    drop(s);
}

fn job_json(id: &str, db: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args(["jobs", "show", id, "--json", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (id, file) of every stored event.
fn events(db: &Path) -> Vec<(i64, String)> {
    let inv = SqliteInventory::open(db).unwrap();
    inv.events_after(0, 1_000_000)
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.event.file))
        .collect()
}

async fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "waited {limit:?} for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_survives_two_kill_9_with_no_false_failure_and_no_row_lost() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    for (p, v) in [
        (Protocol::Sccp, "8.1(2)SR2".parse::<Version>().unwrap()),
        (Protocol::Sip, Version::new(8, 12)),
    ] {
        let bundle = synth::synth(p, v, SizeProfile::Small).unwrap();
        let zip = synth::write_zip(&bundle, dir.path()).unwrap();
        let report = phoneflip_bundle::import(&zip, &root).unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
    let db = dir.path().join("phoneflip.db");
    {
        let inv = SqliteInventory::open(&db).unwrap();
        let mut settings = std::collections::BTreeMap::new();
        settings.insert("proxy1_address".to_string(), "127.0.0.1".to_string());
        inv.put_template(&Template {
            name: "kill9-sip".into(),
            protocol: Protocol::Sip,
            settings,
        })
        .unwrap();
        for i in 0..FLEET {
            let mut p = Phone::new(mac(i), Model::Cp7960);
            p.observed_load = Some("P0030801SR02".parse().unwrap());
            inv.put_phone(&p).unwrap();
        }
    }
    let tftp_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tftp: SocketAddr = ([127, 0, 0, 1], tftp_port).into();
    let log = dir.path().join("serve.log");
    let slog = || std::fs::read_to_string(&log).unwrap_or_default();
    let started = |n: usize| move || slog().matches("jobs check registration").count() >= n;
    let mut serve = start_serve(&root, &db, tftp, &log);
    wait_until("serve to start", Duration::from_secs(30), started(1)).await;

    let out = Command::new(env!("CARGO_BIN_EXE_phoneflip"))
        .args([
            "jobs",
            "create",
            "--description",
            "kill -9 trials",
            "--template",
            "kill9-sip",
            "--to",
            "sip:8.12",
            "--batch",
            &FLEET.to_string(),
            "--canary",
            "0",
            "--no-failure-limit",
            "--no-register-wait",
            "--allow-unregistered",
            "--json",
            "--root",
        ])
        .arg(&root)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["job"]["id"].to_string();
    wait_until("the batch to start", Duration::from_secs(30), || {
        job_json(&id, &db)["phones"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["reset_done"] == true)
    })
    .await;

    // The phones are power cycled (SCCP: by hand, here all at once) and
    // boot; a phone whose request goes unanswered while serve is down asks
    // again, as a real one does.
    let fetcher = Arc::new(TftpFetcher {
        options: FetchOptions {
            timeout: Duration::from_millis(300),
            max_retries: 2,
            ..FetchOptions::default()
        },
    });
    let boots: Vec<_> = (0..FLEET)
        .map(|i| {
            let fetcher = fetcher.clone();
            let local: IpAddr = driver::loopback_addr(BASE + i as u32);
            tokio::spawn(async move {
                // Power cycled one after the other, as a person walks.
                tokio::time::sleep(Duration::from_millis(150 * i as u64)).await;
                let phone = EmuPhone::new(
                    PhoneConfig {
                        mac: mac(i),
                        model: Model::Cp7960,
                        tftp: TftpSetting::Manual(tftp),
                    },
                    Flash::with_load(Protocol::Sccp, "8.1(2)SR2".parse().unwrap()),
                );
                let opts = DriveOptions {
                    local,
                    time_scale: 0.0,
                    fetch_rounds: 200,
                };
                driver::boot(phone, fetcher.as_ref(), &opts).await
            })
        })
        .collect();

    // Two kills: while the first phones download, and once the first
    // phone converted while the others are still on their way.
    let converted_count = |v: &serde_json::Value| {
        v["phones"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["progress"]["stage"]["stage"] == "converted")
            .count()
    };
    let mut kept: Vec<(i64, String)> = Vec::new();
    for trial in 1..=2 {
        if trial == 1 {
            wait_until(
                "TFTP events before the kill",
                Duration::from_secs(60),
                || events(&db).len() >= FLEET,
            )
            .await;
        } else {
            wait_until("a converted phone", Duration::from_secs(60), || {
                converted_count(&job_json(&id, &db)) > 0
            })
            .await;
        }
        kept = events(&db);
        let before = job_json(&id, &db);
        let phones_before = before["phones"].as_array().unwrap().len();
        let converted = converted_count(&before);
        assert!(
            converted < FLEET,
            "trial {trial}: the kill must land mid-job ({converted} of {FLEET} converted)"
        );
        eprintln!(
            "trial {trial}: kill -9 with {converted} of {FLEET} phones converted, {} events stored",
            kept.len()
        );
        sigkill(serve);
        // What was committed before the kill is all there.
        let after = events(&db);
        assert_eq!(
            &after[..kept.len()],
            &kept[..],
            "trial {trial}: events written before the kill -9 are kept"
        );
        assert_eq!(phones_before, FLEET);
        serve = start_serve(&root, &db, tftp, &log);
        wait_until(
            "serve to start again on the same database",
            Duration::from_secs(30),
            started(trial + 1),
        )
        .await;
    }

    for (i, b) in boots.into_iter().enumerate() {
        let report = b.await.unwrap();
        assert_eq!(
            report.outcome.key(),
            "stable sip P0S3-8-12-00",
            "phone {i}: {:?}",
            report.requests()
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let v = loop {
        let v = job_json(&id, &db);
        if v["status"] != "running" && v["status"] != "pending" {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "job not finished: {v:#}\n{}",
            slog()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    drop(serve);
    assert_eq!(v["status"], "completed", "{v:#}");
    let phones = v["phones"].as_array().unwrap();
    assert_eq!(phones.len(), FLEET, "no job phone row lost");
    for p in phones {
        assert_eq!(p["progress"]["stage"]["stage"], "converted", "{p:#}");
    }
    let inv = SqliteInventory::open(&db).unwrap();
    for i in 0..FLEET {
        let p = inv.get_phone(mac(i)).unwrap().unwrap();
        assert_eq!(p.template.as_deref(), Some("kill9-sip"), "{}", p.mac);
        assert_eq!(
            p.observed_load.as_ref().map(|l| l.to_string()).as_deref(),
            Some("P0S3-8-12-00"),
            "{}",
            p.mac
        );
    }
    let all = events(&db);
    assert_eq!(&all[..kept.len()], &kept[..], "no event lost at the end");
}

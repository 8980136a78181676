//! What a person sees: the dashboard served on 127.0.0.1 by the real
//! router, rendered by Debian's headless Chromium after its scripts ran,
//! with a job whose SCCP canary waits for a power cycle and has fetched
//! its loader (the jobs crate's fold, fed real file names). Skips loudly
//! without Chromium.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use phoneflip_api::{router, AppState, Metrics};
use phoneflip_config::{Line, Template};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::Protocol;
use phoneflip_inventory::{Event, Inventory, Outcome, Phone, SqliteInventory};
use phoneflip_jobs::{
    create_job, Job, JobStore, MemoryJobStore, Query, ResetReport, Rollout, Schedule, Target,
    TransferEvent, TransferOutcome,
};
use phoneflip_plan::Catalogue;

fn chromium() -> Option<&'static str> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

fn render(bin: &str, url: &str, profile: &Path, screenshot: Option<&Path>) -> String {
    // `timeout` bounds Chromium whatever the page does.
    let mut cmd = Command::new("timeout");
    cmd.args([
        "60",
        bin,
        "--headless",
        "--virtual-time-budget=3000",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,2200",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    match screenshot {
        Some(p) => cmd.arg(format!("--screenshot={}", p.display())),
        None => cmd.arg("--dump-dom"),
    };
    let out = cmd.arg(url).stderr(Stdio::null()).output().unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn fleet(inv: &dyn Inventory) {
    inv.put_template(&Template {
        name: "sip".into(),
        protocol: Protocol::Sip,
        settings: [
            ("proxy1_address".to_string(), "127.0.0.1".to_string()),
            ("proxy_register".to_string(), "1".to_string()),
        ]
        .into(),
    })
    .unwrap();
    for i in 0..8u8 {
        let mut p = Phone::new(Mac::new([0, 0x19, 0xAA, 0, 0, i]), Model::Cp7960);
        p.description = format!("Reception desk {}", i + 1);
        p.site = Some("hq".into());
        p.observed_load = Some("P0030801SR02".parse().unwrap());
        p.lines = vec![Line {
            number: 1,
            name: format!("{}", 2001 + u32::from(i)),
            authname: None,
            password: Some(format!("pw{}", 2001 + u32::from(i))),
            displayname: None,
            shortname: None,
        }];
        inv.put_phone(&p).unwrap();
    }
}

#[tokio::test]
async fn the_dashboard_shows_stages_power_cycles_and_a_jobs_phones() {
    let Some(bin) = chromium() else {
        eprintln!(
            "SKIPPED: the dashboard check needs Debian's chromium (apt-get install chromium)"
        );
        return;
    };
    let inv: Arc<dyn Inventory> = Arc::new(SqliteInventory::open_in_memory().unwrap());
    fleet(inv.as_ref());
    let jobs = Arc::new(MemoryJobStore::new());
    let job = Job {
        id: 0,
        description: "hq to SIP".into(),
        query: Query {
            site: Some("hq".into()),
            ..Default::default()
        },
        template: "sip".into(),
        target: "sip:8.12".parse::<Target>().unwrap(),
        schedule: Schedule::Now,
        rollout: Rollout {
            canary_size: 1,
            batch_size: 3,
            ..Default::default()
        },
        created_ms: 0,
    };
    let mut js = create_job(inv.as_ref(), jobs.as_ref(), job, None, &sip_8_12_root(), 0).unwrap();
    let canary: Mac = "0019AA000000".parse().unwrap();
    phoneflip_jobs::tick(1_000, &mut js, &[]);
    js.ack_reset(canary, ResetReport::power_cycle("power cycle needed: SCCP"));
    let ip = Some("127.0.0.1".parse().unwrap());
    phoneflip_jobs::tick(
        2_000,
        &mut js,
        &[TransferEvent::new(
            2_000,
            Some(canary),
            ip,
            "P003-8-12-00.sbn",
            1000,
            TransferOutcome::Sent,
        )],
    );
    jobs.save(&js).unwrap();
    let client = "127.0.0.1:50000".parse().unwrap();
    inv.append_events(&[
        Event::new(
            1_500,
            Some(canary),
            client,
            "RINGLIST.DAT",
            0,
            Outcome::NotFound,
            None,
        ),
        Event::new(
            1_600,
            Some(canary),
            client,
            "P003-8-12-00.sbn",
            1000,
            Outcome::Sent,
            None,
        ),
    ])
    .unwrap();

    let state = AppState {
        inventory: inv,
        token: Some("s3cret".into()),
        metrics: Arc::new(Metrics::default()),
        catalogue: Arc::new(sip_8_12_root()),
        jobs: Some(jobs),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await });

    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{addr}/#job={}", js.job.id);
    let (b, u, p) = (bin.to_string(), url.clone(), dir.path().join("profile"));
    let dom = tokio::task::spawn_blocking(move || render(&b, &u, &p, None))
        .await
        .unwrap();

    if let Ok(path) = std::env::var("PHONEFLIP_DOM") {
        std::fs::write(path, &dom).unwrap();
    }
    let section = |id: &str| -> String {
        let start = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id}:\n{dom}"));
        let end = dom[start..].find("</table>").unwrap() + start;
        dom[start..end].to_string()
    };
    // The power-cycle list: the canary, with the desk and extension to walk to.
    let pc = section("power-cycle");
    assert!(
        pc.contains("Reception desk 1") && pc.contains("2001") && pc.contains("0019AA000000"),
        "{pc}"
    );
    assert!(
        !pc.contains("Reception desk 2"),
        "only the started canary waits: {pc}"
    );
    // The job's phones: the canary's stage and batch, the others waiting.
    let jp = section("job-phones");
    assert!(jp.contains("loader fetched"), "{jp}");
    assert!(jp.contains("(canary)"), "{jp}");
    assert_eq!(
        jp.matches("<tr").count(),
        1 + 8,
        "a header and 8 phones: {jp}"
    );
    // Stages in the phone list and the summary cards.
    let phones = section("phones");
    assert!(
        phones.contains("class=\"sg-loader_fetched\">loader fetched</td>"),
        "{phones}"
    );
    assert!(
        dom.contains("<b>7</b>seen"),
        "seven phones seen on their old load:\n{dom}"
    );
    // A normal miss is grey, not red.
    let evs = section("events");
    assert!(evs.contains("class=\"miss\">not_found (normal)"), "{evs}");
    assert!(!evs.contains("class=\"bad\""), "{evs}");

    // A picture for people (kept when PHONEFLIP_SCREENSHOT names a file).
    if let Ok(path) = std::env::var("PHONEFLIP_SCREENSHOT") {
        let (b, u, p) = (bin.to_string(), url, dir.path().join("profile2"));
        tokio::task::spawn_blocking(move || render(&b, &u, &p, Some(Path::new(&path))))
            .await
            .unwrap();
    }
}

/// A root holding the SIP 8.12 release, as Cisco's zip has it: jobs to
/// SIP 8.12 refuse to start without its files.
fn sip_8_12_root() -> Catalogue {
    Catalogue::from_file_names([
        "OS79XX.TXT",
        "P0S3-8-12-00.loads",
        "P0S3-8-12-00.sb2",
        "P003-8-12-00.bin",
        "P003-8-12-00.sbn",
    ])
}

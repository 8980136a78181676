//! The control room's data through the router: a job created from a
//! query, its SCCP canary on the power-cycle list with its desk and
//! extension, stages advancing as the jobs crate's real fold sees the
//! loader and the application fetched, server-side filters, normal misses
//! told apart from failures, and a 10,000-phone inventory's first page in
//! under a second.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use phoneflip_api::{router, AppState, Metrics};
use phoneflip_config::{Line, Template};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::Protocol;
use phoneflip_inventory::{Event, Inventory, Outcome, Phone, SqliteInventory};
use phoneflip_jobs::{JobStore, MemoryJobStore, ResetReport, TransferEvent, TransferOutcome};
use phoneflip_plan::Catalogue;
use serde_json::{json, Value};
use tower::ServiceExt;

fn phone(i: u32, site: &str, load: &str) -> Phone {
    let b = i.to_be_bytes();
    let mut p = Phone::new(
        Mac::new([0x00, 0x19, 0xAA, b[1], b[2], b[3]]),
        if i.is_multiple_of(3) {
            Model::Cp7940
        } else {
            Model::Cp7960
        },
    );
    p.description = format!("Desk {} floor {}", i + 1, i % 4);
    p.site = Some(site.into());
    p.observed_load = Some(load.parse().unwrap());
    p.lines = vec![Line {
        number: 1,
        name: format!("{}", 4000 + i),
        authname: None,
        password: Some("secret".into()),
        displayname: None,
        shortname: None,
    }];
    p
}

fn state(phones: &[Phone]) -> (AppState, Arc<dyn Inventory>, Arc<MemoryJobStore>) {
    let inv: Arc<dyn Inventory> = Arc::new(SqliteInventory::open_in_memory().unwrap());
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
    // Imports never set what a phone was seen running: put each record.
    for p in phones {
        inv.put_phone(p).unwrap();
    }
    let jobs = Arc::new(MemoryJobStore::new());
    (
        AppState {
            inventory: inv.clone(),
            token: Some("s3cret".into()),
            metrics: Arc::new(Metrics::default()),
            catalogue: Arc::new(sip_8_12_root()),
            jobs: Some(jobs.clone()),
        },
        inv,
        jobs,
    )
}

async fn call(s: &AppState, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", "Bearer s3cret")
        .header("content-type", "application/json")
        .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
        .unwrap();
    let resp = router(s.clone()).oneshot(req).await.unwrap();
    let st = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (st, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn macs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| p["mac"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_job_from_a_query_shows_its_phones_stages_and_power_cycles() {
    let fleet: Vec<Phone> = (0..6)
        .map(|i| phone(i, if i < 4 { "hq" } else { "branch" }, "P0030801SR02"))
        .collect();
    let (s, _inv, jobs) = state(&fleet);
    let query = json!({"site": "hq", "current": {"protocol": "sccp"}});

    // The preview selects what the job will, and changes nothing.
    let (st, pv) = call(
        &s,
        "POST",
        "/api/jobs/preview",
        Some(json!({"query": query})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{pv}");
    assert_eq!(pv["total"], 4);
    assert_eq!(pv["power_cycles"], 4, "SCCP phones are reset by hand");
    assert_eq!(pv["phones"][0]["description"], "Desk 1 floor 0");
    assert!(jobs.list().unwrap().is_empty());

    let (st, job) = call(
        &s,
        "POST",
        "/api/jobs",
        Some(json!({"description": "hq to SIP", "template": "sip", "to": "sip:8.12", "query": query,
            "rollout": {"canary_size": 1, "batch_size": 2, "max_failures": 1, "phone_timeout_ms": 600000}})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{job}");
    let id = job["job"]["id"].as_i64().unwrap();
    assert_eq!(job["phones"].as_array().unwrap().len(), 4);
    // Its rollout named no registration wait: the default one, as the CLI.
    assert_eq!(
        job["job"]["rollout"]["register_grace_ms"], 120_000,
        "{}",
        job["job"]
    );
    // A list of jobs without their phones; a job's phones a page at a time.
    let (_, ov) = call(&s, "GET", "/api/jobs/overview", None).await;
    assert_eq!(ov[0]["job"]["id"], id, "{ov}");
    assert_eq!(ov[0]["phones"], 4, "{ov}");
    assert_eq!(ov[0]["counts"]["waiting"], 4, "{ov}");
    assert!(ov[0].get("cursor").is_none(), "{ov}");
    let (_, page) = call(
        &s,
        "GET",
        &format!("/api/jobs/{id}/phones?limit=2&offset=1"),
        None,
    )
    .await;
    assert_eq!(macs(&page), vec!["0019AA000001", "0019AA000002"], "{page}");
    let (st, v) = call(&s, "GET", &format!("/api/jobs/{id}/phones?limt=2"), None).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");

    // The scheduler starts the canary; the driver reports that an SCCP
    // phone needs its power pulled.
    let mut js = jobs.load(id).unwrap().unwrap();
    let canary: Mac = "0019AA000000".parse().unwrap();
    phoneflip_jobs::tick(1_000, &mut js, &[]);
    js.ack_reset(canary, ResetReport::power_cycle("power cycle needed: SCCP"));
    jobs.save(&js).unwrap();

    let (_, pc) = call(&s, "GET", "/api/power-cycle", None).await;
    assert_eq!(macs(&pc), vec!["0019AA000000"], "{pc}");
    assert_eq!(pc[0]["description"], "Desk 1 floor 0");
    assert_eq!(pc[0]["extensions"], json!(["4000"]));
    assert_eq!(pc[0]["site"], "hq");
    assert_eq!(pc[0]["job"], id);

    // The canary fetches the universal loader, then the application.
    let ip = Some("10.0.0.5".parse().unwrap());
    let ev =
        |t, file: &str| TransferEvent::new(t, Some(canary), ip, file, 1000, TransferOutcome::Sent);
    phoneflip_jobs::tick(2_000, &mut js, &[ev(2_000, "P003-8-12-00.sbn")]);
    jobs.save(&js).unwrap();
    let (_, p) = call(&s, "GET", "/api/phones/0019AA000000", None).await;
    assert_eq!(p["stage"], "loader_fetched", "{p}");
    assert_eq!(p["job"], id);
    assert!(p["lines"][0].get("password").is_none(), "{p}");
    let (_, page) = call(
        &s,
        "GET",
        &format!("/api/phones?stage=loader_fetched&job={id}"),
        None,
    )
    .await;
    assert_eq!(macs(&page["phones"]), vec!["0019AA000000"]);

    phoneflip_jobs::tick(3_000, &mut js, &[ev(3_000, "P0S3-8-12-00.sb2")]);
    jobs.save(&js).unwrap();
    let (_, jp) = call(&s, "GET", &format!("/api/jobs/{id}/phones"), None).await;
    let c = jp
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["mac"] == "0019AA000000")
        .unwrap();
    assert_eq!(c["stage"], "application_fetched", "{jp}");
    assert_eq!(c["batch"], 0);
    assert_eq!(c["extensions"], json!(["4000"]));
    let (_, f) = call(&s, "GET", "/api/fleet", None).await;
    assert_eq!(f["by_stage"]["application_fetched"], 1, "{f}");
    assert_eq!(f["by_stage"]["seen"], 5, "{f}");

    // Cancelling empties the power-cycle list.
    let (st, _) = call(&s, "POST", &format!("/api/jobs/{id}/cancel"), None).await;
    assert_eq!(st, StatusCode::OK);
    let (_, pc) = call(&s, "GET", "/api/power-cycle", None).await;
    assert_eq!(pc, json!([]));

    // An explicit null: the job ends at conversion.
    let (st, job) = call(
        &s,
        "POST",
        "/api/jobs",
        Some(json!({"description": "branch", "template": "sip", "to": "sip:8.12", "query": {"site": "branch"},
            "rollout": {"canary_size": 0, "batch_size": 2, "max_failures": 1, "phone_timeout_ms": 600000,
                        "register_grace_ms": null}})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{job}");
    assert!(
        job["job"]["rollout"]["register_grace_ms"].is_null(),
        "{}",
        job["job"]
    );
}

#[tokio::test]
async fn filters_are_server_side_and_checked() {
    let mut fleet: Vec<Phone> = (0..30).map(|i| phone(i, "hq", "P0030801SR02")).collect();
    fleet[7].observed_load = Some("P0S3-8-12-00".parse().unwrap());
    fleet[7].site = Some("branch".into());
    let (s, _, _) = state(&fleet);
    let (_, p) = call(&s, "GET", "/api/phones?extension=4007", None).await;
    assert_eq!(macs(&p["phones"]), vec!["0019AA000007"]);
    let (_, p) = call(&s, "GET", "/api/phones?load=P0S3-8-12-00&site=branch", None).await;
    assert_eq!(p["total"], 1);
    let (_, p) = call(&s, "GET", "/api/phones?mac=00:19:aa:00:00:1", None).await;
    assert_eq!(p["total"], 14, "0019AA000010 to 0019AA00001D: {p}");
    // Every word, anywhere in the description, in any case.
    let (_, p) = call(&s, "GET", "/api/phones?q=DESK%2023", None).await;
    assert_eq!(macs(&p["phones"]), vec!["0019AA000016"], "{p}");
    let (_, p) = call(&s, "GET", "/api/phones?q=floor&limit=5&offset=27", None).await;
    assert_eq!(p["total"], 30, "{p}");
    assert_eq!(p["phones"].as_array().unwrap().len(), 3);
    let (_, p) = call(&s, "GET", "/api/phones?model=7940&stage=seen", None).await;
    assert_eq!(p["total"], 10);
    for (q, needle) in [
        ("stage=done", "unknown stage"),
        ("mac=xyz", "hex digits"),
        ("model=7970", "7970"),
        ("extention=1", "did you mean extension"),
    ] {
        let (st, v) = call(&s, "GET", &format!("/api/phones?{q}"), None).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{q}");
        assert!(v["error"].as_str().unwrap().contains(needle), "{q}: {v}");
    }
}

#[tokio::test]
async fn normal_misses_are_told_apart_from_failures() {
    let (s, inv, _) = state(&[phone(0, "hq", "P0030801SR02")]);
    let mac: Mac = "0019AA000000".parse().unwrap();
    let client = "10.0.0.5:50000".parse().unwrap();
    let mut evs = Vec::new();
    for f in [
        "RINGLIST.DAT",
        "dialplan.xml",
        "CTLSEP0019AA000000.tlv",
        "SIP0019AA000000.cnf",
    ] {
        evs.push(Event::new(
            1,
            Some(mac),
            client,
            f,
            0,
            Outcome::NotFound,
            None,
        ));
    }
    inv.append_events(&evs).unwrap();
    let (_, v) = call(&s, "GET", "/api/events", None).await;
    let normal: Vec<bool> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["normal_miss"].as_bool().unwrap())
        .collect();
    assert_eq!(normal, vec![true, true, true, false], "{v}");
}

#[tokio::test]
async fn ten_thousand_phones_first_page_under_a_second() {
    let fleet: Vec<Phone> = (0..10_000)
        .map(|i| phone(i, ["hq", "branch", "lab"][i as usize % 3], "P0030801SR02"))
        .collect();
    let (s, _, _) = state(&fleet);
    // What the dashboard asks when it opens: the summary and page one,
    // then a filtered page (derived filters read the whole inventory);
    // then the same with a job holding every phone.
    let (st, job) = call(
        &s,
        "POST",
        "/api/jobs",
        Some(
            json!({"description": "all", "template": "sip", "to": "sip:8.12",
            "at": "2030-01-01T00:00:00Z"}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{}", job["error"]);
    let id = job["job"]["id"].as_i64().unwrap();
    assert_eq!(job["job"]["rollout"]["register_grace_ms"], 120_000);
    let job_phones = format!("/api/jobs/{id}/phones?limit=50&offset=0");
    for uri in [
        "/api/fleet",
        "/api/phones?limit=50&offset=0",
        "/api/phones?limit=50&stage=seen&site=lab",
        "/api/power-cycle",
        "/api/jobs/overview",
        &job_phones,
    ] {
        let t = Instant::now();
        let (st, v) = call(&s, "GET", uri, None).await;
        let took = t.elapsed();
        assert_eq!(st, StatusCode::OK, "{uri}");
        eprintln!("{uri}: {took:?}");
        assert!(took.as_millis() < 1000, "{uri} took {took:?}");
        if uri.starts_with("/api/phones") {
            assert_eq!(v["phones"].as_array().unwrap().len(), 50);
        }
        if uri == job_phones {
            assert_eq!(v.as_array().unwrap().len(), 50);
        }
    }
    let (_, v) = call(&s, "GET", "/api/fleet", None).await;
    assert_eq!(v["phones"], 10_000);
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

/// The chart's history replays the job's events through the fold: a
/// phone converted while the job ran (booted by hand before its batch
/// was reset) is waiting at the job's start and converted at the end,
/// never converted from the start.
#[tokio::test]
async fn the_stage_history_starts_with_every_phone_waiting() {
    let fleet: Vec<Phone> = (0..4).map(|i| phone(i, "hq", "P0030801SR02")).collect();
    let (s, inv, jobs) = state(&fleet);
    let (st, job) = call(
        &s,
        "POST",
        "/api/jobs",
        Some(json!({"description": "hq to SIP", "template": "sip", "to": "sip:8.12", "query": {"site": "hq"},
            "rollout": {"canary_size": 1, "batch_size": 2, "max_failures": 1, "phone_timeout_ms": 600000,
                        "register_grace_ms": 120000}})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{job}");
    let id = job["job"]["id"].as_i64().unwrap();
    let t0 = phoneflip_inventory::now_millis() - 10_000;
    let mut js = jobs.load(id).unwrap().unwrap();
    phoneflip_jobs::tick(t0, &mut js, &[]);
    // Not the canary: a phone of a later batch, booted early.
    let early: Mac = "0019AA000003".parse().unwrap();
    let client: std::net::SocketAddr = "10.0.0.8:50000".parse().unwrap();
    let files = [
        "P003-8-12-00.sbn",
        "P0S3-8-12-00.sb2",
        "SIP0019AA000003.cnf",
    ];
    let evs: Vec<TransferEvent> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            TransferEvent::new(
                t0 + 2_000 + 1_000 * i as i64,
                Some(early),
                Some(client.ip()),
                f,
                1000,
                TransferOutcome::Sent,
            )
        })
        .collect();
    inv.append_events(
        &files
            .iter()
            .enumerate()
            .map(|(i, f)| {
                Event::new(
                    t0 + 2_000 + 1_000 * i as i64,
                    Some(early),
                    client,
                    f,
                    1000,
                    Outcome::Sent,
                    None,
                )
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    phoneflip_jobs::tick(t0 + 5_000, &mut js, &evs);
    jobs.save(&js).unwrap();
    let entry = js.phones.iter().find(|e| e.mac == early).unwrap();
    assert!(entry.is_converted() && entry.batch.is_none(), "{entry:?}");

    let (st, h) = call(&s, "GET", &format!("/api/jobs/{id}/history"), None).await;
    assert_eq!(st, StatusCode::OK, "{h}");
    let points = h["points"].as_array().unwrap();
    assert_eq!(points.len(), 60);
    assert_eq!(points[0]["waiting"], 4, "{}", points[0]);
    assert_eq!(points[0]["configuration_fetched"], 0, "{}", points[0]);
    let last = points.last().unwrap();
    assert_eq!(last["configuration_fetched"], 1, "{last}");
    assert_eq!(last["waiting"], 3, "{last}");
    // In between, the loader and the application were on the way.
    assert!(
        points
            .iter()
            .any(|p| p["loader_fetched"] == 1 || p["application_fetched"] == 1),
        "{h}"
    );
}

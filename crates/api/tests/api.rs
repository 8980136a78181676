//! The API through its router (no socket): reads, writes with and without
//! the token, bad input answered 4xx with a message and nothing changed.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use phoneflip_api::{router, AppState, Metrics};
use phoneflip_inventory::{Inventory, Phone, SqliteInventory};
use phoneflip_plan::Catalogue;
use serde_json::{json, Value};
use tower::ServiceExt;

fn state() -> (AppState, Arc<dyn Inventory>) {
    let inv: Arc<dyn Inventory> = Arc::new(SqliteInventory::open_in_memory().unwrap());
    let mut p = Phone::new("0019AA000001".parse().unwrap(), "7960".parse().unwrap());
    p.observed_load = Some("P0030801SR02".parse().unwrap());
    p.desired_load = Some("P0S3-8-12-00".parse().unwrap());
    p.site = Some("hq".into());
    inv.put_phone(&p).unwrap();
    (
        AppState {
            inventory: inv.clone(),
            token: Some("s3cret".into()),
            metrics: Arc::new(Metrics::default()),
            // A root holding the SIP 8.12 release, as Cisco's zip has it.
            catalogue: Arc::new(Catalogue::from_file_names([
                "OS79XX.TXT",
                "P0S3-8-12-00.loads",
                "P0S3-8-12-00.sb2",
                "P003-8-12-00.bin",
                "P003-8-12-00.sbn",
            ])),
            jobs: Some(Arc::new(phoneflip_jobs::MemoryJobStore::new())),
        },
        inv,
    )
}

async fn call(
    s: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (StatusCode, Value, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let req = req
        .header("content-type", "application/json")
        .body(Body::from(body.unwrap_or("").to_string()))
        .unwrap();
    let resp = router(s.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

/// A complete PUT body: `fields` over empty values for every writable field.
fn full(fields: Value) -> Value {
    let mut v = json!({"model": "7960", "description": "", "site": null, "tags": [], "label": null,
        "lines": [], "desired_protocol": null, "desired_load": null, "template": null, "overrides": {}});
    for (k, x) in fields.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

#[tokio::test]
async fn reads() {
    let (s, _) = state();
    let (st, v, _) = call(&s, "GET", "/api/phones", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["total"], 1);
    assert_eq!(v["phones"][0]["mac"], "0019AA000001");
    assert_eq!(v["phones"][0]["state"], "converting");
    let (_, v, _) = call(&s, "GET", "/api/fleet", None, None).await;
    assert_eq!(v["by_state"]["converting"], 1);
    let (st, v, _) = call(&s, "GET", "/api/phones/00:19:aa:00:00:01", None, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["site"], "hq");
    let (st, v, _) = call(
        &s,
        "GET",
        "/api/plan?from=sccp:3.3&to=sip:8.12&model=7960",
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let hops = v["hops"].as_array().unwrap();
    assert_eq!(hops.last().unwrap()["to"]["load"], "P0S3-8-12-00", "{v}");
    assert_eq!(
        hops[0]["section"],
        "SCCP Image 3.x/Earlier and 5.x to SIP Image 7.x"
    );
    let (st, _, text) = call(&s, "GET", "/metrics", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        text.contains("phoneflip_phones{state=\"converting\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn every_documented_path_is_served() {
    let (s, _) = state();
    let (_, doc, _) = call(&s, "GET", "/openapi.json", None, None).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        // The event stream never ends; tests/openapi.rs checks it is served.
        if item.get("get").is_none() || path == "/api/stream" {
            continue;
        }
        let uri = path
            .replace("{mac}", "0019AA000001")
            .replace("{name}", "nosuch")
            .replace("{id}", "nosuch-42");
        let uri = if uri == "/api/plan" {
            "/api/plan?from=sip:7.4&to=sip:8.12".to_string()
        } else {
            uri
        };
        let (st, _, text) = call(&s, "GET", &uri, None, None).await;
        assert!(
            st == StatusCode::OK || (uri.contains("nosuch") && st.is_client_error()),
            "{uri}: {st} {text}"
        );
    }
}

#[tokio::test]
async fn writes_need_the_token() {
    let (s, inv) = state();
    let body = full(json!({"mac": "0019AA000002", "model": "7940"})).to_string();
    let (st, v, _) = call(&s, "PUT", "/api/phones/0019AA000002", None, Some(&body)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(v["error"].as_str().unwrap().contains("Bearer"));
    let (st, _, _) = call(
        &s,
        "PUT",
        "/api/phones/0019AA000002",
        Some("wrong"),
        Some(&body),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(inv
        .get_phone("0019AA000002".parse().unwrap())
        .unwrap()
        .is_none());
    let (st, v, _) = call(
        &s,
        "PUT",
        "/api/phones/0019AA000002",
        Some("s3cret"),
        Some(&body),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["model"], "7940");
    let (st, _, _) = call(
        &s,
        "DELETE",
        "/api/phones/0019AA000002",
        Some("s3cret"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _, _) = call(
        &s,
        "DELETE",
        "/api/phones/0019AA000002",
        Some("s3cret"),
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_message_and_changes_nothing() {
    let (s, inv) = state();
    let before = inv.list_phones(&Default::default()).unwrap();
    let t = Some("s3cret");
    let cases: Vec<(&str, &str, Option<String>, &str)> = vec![
        (
            "PUT",
            "/api/phones/0019AA00000Z",
            Some(full(json!({"mac":"0019AA000003","model":"7960"})).to_string()),
            "hex digit",
        ),
        (
            "PUT",
            "/api/phones/0019AA000003",
            Some("{not json".into()),
            "not a valid phone",
        ),
        (
            "PUT",
            "/api/phones/0019AA000003",
            Some(full(json!({"mac":"0019AA000004","model":"7960"})).to_string()),
            "differs from the URL",
        ),
        (
            "PUT",
            "/api/phones/0019AA000003",
            Some(full(json!({"mac":"0019AA000003","model":"7970"})).to_string()),
            "7970",
        ),
        (
            "PUT",
            "/api/phones/0019AA000003",
            Some(
                full(json!({"mac":"0019AA000003","model":"7960","desired_load":"POS30203.bin"}))
                    .to_string(),
            ),
            "without an extension",
        ),
        (
            "PUT",
            "/api/phones/0019AA000003",
            Some(
                full(json!({"mac":"0019AA000003","model":"7960","template":"nosuch"})).to_string(),
            ),
            "does not exist",
        ),
        (
            "PUT",
            "/api/templates/bad%20name",
            Some(json!({"name":"bad name","protocol":"sip","settings":{}}).to_string()),
            "not allowed",
        ),
        ("GET", "/api/plan?from=sip:5.0&to=sip:4.4", None, "5.0"),
        (
            "GET",
            "/api/plan?from=sccp:3.3",
            None,
            "missing query parameter to",
        ),
        ("GET", "/api/phones?state=weird", None, "unknown state"),
    ];
    for (m, uri, body, needle) in cases {
        let (st, v, text) = call(&s, m, uri, t, body.as_deref()).await;
        assert!(st.is_client_error(), "{m} {uri}: {st} {text}");
        let msg = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{m} {uri}: no error message: {text}"));
        assert!(msg.contains(needle), "{m} {uri}: {msg:?} lacks {needle:?}");
    }
    assert_eq!(inv.list_phones(&Default::default()).unwrap(), before);
    assert!(inv.list_templates().unwrap().is_empty());
}

#[tokio::test]
async fn jobs_are_created_listed_and_cancelled() {
    let (s, _) = state();
    let t = Some("s3cret");
    let job = json!({"description": "move hq to SIP", "template": "sip-hq", "to": "sip:8.12",
                     "query": {"site": "hq"}, "at": "2030-01-01T08:00:00Z",
                     "rollout": {"batch_size": 10, "canary_size": 1, "max_failures": 2, "phone_timeout_ms": 900000}})
        .to_string();
    let (st, v, _) = call(&s, "POST", "/api/jobs", t, Some(&job)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"].as_str().unwrap().contains("sip-hq"), "{v}");
    let tpl =
        json!({"name": "sip-hq", "protocol": "sip", "settings": {"proxy1_address": "192.0.2.10"}})
            .to_string();
    let (st, _, text) = call(&s, "PUT", "/api/templates/sip-hq", t, Some(&tpl)).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    let (st, _, _) = call(&s, "POST", "/api/jobs", None, Some(&job)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    // The phone could not register (the template has no proxy_register: 1,
    // the phone no line): refused, unless the request allows it.
    let (st, v, _) = call(&s, "POST", "/api/jobs", t, Some(&job)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(e.contains("proxy_register is 0"), "{e}");
    assert!(e.contains("allow-unregistered"), "{e}");
    let mut allowed: serde_json::Value = serde_json::from_str(&job).unwrap();
    allowed["allow_unregistered"] = json!(true);
    let job = allowed.to_string();
    let (st, v, text) = call(&s, "POST", "/api/jobs", t, Some(&job)).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    let id = v["job"]["id"].as_i64().unwrap();
    assert_eq!(v["status"], "pending", "{v}");
    assert_eq!(v["job"]["schedule"]["at"], 1893484800000i64, "{v}");
    assert_eq!(v["phones"].as_array().unwrap().len(), 1);
    let (_, v, _) = call(&s, "GET", "/api/jobs", None, None).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    // The phone belongs to that job: a second one is refused, naming it.
    let (st, v, _) = call(&s, "POST", "/api/jobs", t, Some(&job)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains("0019AA000001") && e.contains(&format!("job {id}")),
        "{e}"
    );
    let (st, v, text) = call(&s, "POST", &format!("/api/jobs/{id}/cancel"), t, None).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(v["status"], "cancelled");
    let (st, _, _) = call(&s, "POST", &format!("/api/jobs/{id}/cancel"), t, None).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let (st, _, _) = call(&s, "POST", "/api/jobs/999/cancel", t, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let bad = json!({"description": "x", "template": "sip-hq", "to": "sip:8.x"}).to_string();
    let (st, v, _) = call(&s, "POST", "/api/jobs", t, Some(&bad)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["error"].as_str().unwrap().contains("sip:8.12"), "{v}");
    // Issue 13: `sip:8.100` panicked in the load name; now a 400.
    let huge = json!({"description": "x", "template": "sip-hq", "to": "sip:8.100"}).to_string();
    let (st, v, text) = call(&s, "POST", "/api/jobs", t, Some(&huge)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{text}");
    assert!(v["error"].as_str().unwrap().contains("below 100"), "{v}");
    // Firmware that is not in the root: refused with the import command.
    let absent = json!({"description": "x", "template": "sip-hq", "to": "sip:9.99"}).to_string();
    let (st, v, text) = call(&s, "POST", "/api/jobs", t, Some(&absent)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{text}");
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains("P0S3-9-99-00") && e.contains("phoneflip firmware import"),
        "{e}"
    );
    assert_eq!(
        call(&s, "GET", "/api/jobs", None, None)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn phones_json(inv: &Arc<dyn Inventory>) -> Vec<u8> {
    let mut out = Vec::new();
    phoneflip_inventory::export_csv(inv.as_ref(), &mut out).unwrap();
    out
}

#[tokio::test]
async fn unknown_fields_are_a_400_naming_the_closest_known_one_and_change_nothing() {
    let (s, inv) = state();
    let t = Some("s3cret");
    let tpl = json!({"name": "sip-hq", "protocol": "sip", "settings": {}}).to_string();
    call(&s, "PUT", "/api/templates/sip-hq", t, Some(&tpl)).await;
    let before = phones_json(&inv).await;
    let cases: Vec<(&str, &str, Option<String>, &str)> = vec![
        (
            "PUT",
            "/api/phones/0019AA000001",
            Some(full(json!({"desired_lod": "P0S3-8-12-00"})).to_string()),
            "did you mean desired_load",
        ),
        (
            "PATCH",
            "/api/phones/0019AA000001",
            Some(json!({"sitee": "branch"}).to_string()),
            "did you mean site",
        ),
        (
            "PUT",
            "/api/phones/0019AA000001",
            Some(json!({"model": "7960", "site": "hq"}).to_string()),
            "lacks description, tags, label, lines",
        ),
        (
            "PATCH",
            "/api/phones/0019AA000001",
            Some(json!({"lines": [{"number": 1, "name": "1", "pasword": "x"}]}).to_string()),
            "did you mean password",
        ),
        (
            "PATCH",
            "/api/phones/0019AA000001",
            Some(json!({"observed_load": "P0S3-8-12-00"}).to_string()),
            "read-only",
        ),
        (
            "POST",
            "/api/jobs",
            Some(json!({"description": "x", "template": "sip-hq", "to": "sip:8.12", "query": {"sitee": "hq"}}).to_string()),
            "did you mean site",
        ),
        (
            "POST",
            "/api/jobs",
            Some(json!({"descriptoin": "x", "template": "sip-hq", "to": "sip:8.12"}).to_string()),
            "did you mean description",
        ),
        (
            "PUT",
            "/api/templates/t2",
            Some(json!({"name": "t2", "protocol": "sip", "setings": {}}).to_string()),
            "did you mean settings",
        ),
        (
            "PUT",
            "/api/templates/t2",
            Some(json!({"name": "t2", "protocol": "sip", "settings": {"proxy1_adress": "10.0.0.1"}}).to_string()),
            "did you mean proxy1_address",
        ),
        ("GET", "/api/phones?sitee=hq", None, "did you mean site"),
        ("GET", "/api/phones?limit=0", None, "1 to 1000"),
        ("GET", "/api/events?afterr=3", None, "did you mean after"),
        ("GET", "/api/plan?from=sip:7.4&too=sip:8.12", None, "did you mean to"),
    ];
    for (m, uri, body, needle) in cases {
        let (st, v, text) = call(&s, m, uri, t, body.as_deref()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{m} {uri}: {text}");
        let msg = v["error"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{m} {uri}: {msg:?} lacks {needle:?}");
    }
    assert_eq!(phones_json(&inv).await, before);
    let (_, v, _) = call(&s, "GET", "/api/jobs", None, None).await;
    assert!(v.as_array().unwrap().is_empty(), "{v}");
    assert_eq!(inv.list_templates().unwrap().len(), 1);
}

#[tokio::test]
async fn patch_changes_only_the_named_fields_and_put_replaces_all() {
    let (s, inv) = state();
    let t = Some("s3cret");
    let mac = "0019AA000001";
    let (st, v, text) = call(
        &s,
        "PATCH",
        &format!("/api/phones/{mac}"),
        t,
        Some(&json!({"description": "lobby", "desired_load": "sip:8.12"}).to_string()),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(v["description"], "lobby");
    assert_eq!(v["site"], "hq", "{v}");
    assert_eq!(v["desired_load"], "P0S3-8-12-00");
    // GET, edit, PUT works, read-only fields echoed back included.
    let (_, mut cur, _) = call(&s, "GET", &format!("/api/phones/{mac}"), None, None).await;
    cur["site"] = json!("branch");
    let (st, v, text) = call(
        &s,
        "PUT",
        &format!("/api/phones/{mac}"),
        t,
        Some(&cur.to_string()),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(
        (v["site"].as_str(), v["description"].as_str()),
        (Some("branch"), Some("lobby"))
    );
    let p = inv.get_phone(mac.parse().unwrap()).unwrap().unwrap();
    assert_eq!(p.observed_load.unwrap().as_str(), "P0030801SR02");
    let (st, _, _) = call(&s, "PATCH", "/api/phones/0019AA0000FF", t, Some("{}")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn line_passwords_are_write_only() {
    let (s, inv) = state();
    let t = Some("s3cret");
    let mac = "0019AA000001";
    let lines =
        json!([{"number": 1, "name": "1001", "authname": "u1001", "password": "hunter2-secret"}]);
    let (st, v, text) = call(
        &s,
        "PATCH",
        &format!("/api/phones/{mac}"),
        t,
        Some(&json!({"lines": lines}).to_string()),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(v["lines"][0]["has_password"], true);
    assert!(!text.contains("hunter2"), "{text}");
    let stored = inv.get_phone(mac.parse().unwrap()).unwrap().unwrap();
    assert_eq!(stored.lines[0].password.as_deref(), Some("hunter2-secret"));
    // A PATCH of the lines without the password keeps it; null removes it.
    let (_, cur, _) = call(&s, "GET", &format!("/api/phones/{mac}"), None, None).await;
    let (st, _, text) = call(
        &s,
        "PATCH",
        &format!("/api/phones/{mac}"),
        t,
        Some(&json!({"lines": cur["lines"], "label": "Desk"}).to_string()),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{text}");
    let stored = inv.get_phone(mac.parse().unwrap()).unwrap().unwrap();
    assert_eq!(stored.lines[0].password.as_deref(), Some("hunter2-secret"));
    // No output of the API or the dashboard carries it.
    for uri in [
        "/".to_string(),
        "/api/phones".to_string(),
        format!("/api/phones/{mac}"),
        "/api/fleet".to_string(),
        "/api/events".to_string(),
        format!("/api/phones/{mac}/timeline"),
        "/api/templates".to_string(),
        "/api/jobs".to_string(),
        "/metrics".to_string(),
        "/openapi.json".to_string(),
    ] {
        let (_, _, text) = call(&s, "GET", &uri, None, None).await;
        assert!(!text.contains("hunter2"), "{uri}: {text}");
    }
    let (st, _, text) = call(
        &s,
        "PATCH",
        &format!("/api/phones/{mac}"),
        t,
        Some(&json!({"lines": [{"number": 1, "name": "1001", "password": null}]}).to_string()),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{text}");
    let stored = inv.get_phone(mac.parse().unwrap()).unwrap().unwrap();
    assert_eq!(stored.lines[0].password, None);
}

#[tokio::test]
async fn phones_page_with_a_total() {
    let (s, inv) = state();
    for i in 2..=250u32 {
        let mut p = Phone::new(
            format!("0019AA{i:06X}").parse().unwrap(),
            "7940".parse().unwrap(),
        );
        p.site = Some(if i % 2 == 0 { "hq" } else { "branch" }.into());
        inv.put_phone(&p).unwrap();
    }
    let (_, v, _) = call(&s, "GET", "/api/phones", None, None).await;
    assert_eq!(
        (v["total"].as_u64(), v["phones"].as_array().unwrap().len()),
        (Some(250), 100)
    );
    let (_, v, _) = call(&s, "GET", "/api/phones?limit=40&offset=230", None, None).await;
    assert_eq!(v["phones"].as_array().unwrap().len(), 20);
    assert_eq!(v["phones"][0]["mac"], "0019AA0000E7");
    let (_, v, _) = call(
        &s,
        "GET",
        "/api/phones?site=branch&limit=10&offset=120",
        None,
        None,
    )
    .await;
    assert_eq!(
        (v["total"].as_u64(), v["phones"].as_array().unwrap().len()),
        (Some(124), 4)
    );
    let (_, v, _) = call(
        &s,
        "GET",
        "/api/phones?state=converting&limit=5",
        None,
        None,
    )
    .await;
    assert_eq!(v["total"], 1);
    let (_, _, html) = call(&s, "GET", "/", None, None).await;
    assert!(
        html.contains("q.set(\"limit\", PAGE); q.set(\"offset\", offset)")
            && html.contains("\"/api/phones?\" + filterQuery()"),
        "the dashboard fetches one page"
    );
}

#[tokio::test]
async fn a_database_refusing_writes_shows_in_health_and_metrics() {
    let (mut s, _) = state();
    let (_, v, _) = call(&s, "GET", "/api/health", None, None).await;
    assert_eq!(v["ok"], true);
    assert_eq!(v["database"], Value::Null, "no recorder, nothing to report");

    let health = Arc::new(phoneflip_inventory::WriteHealth::default());
    s.metrics = Arc::new(Metrics::default().with_store_health(health.clone()));
    let (_, _, text) = call(&s, "GET", "/metrics", None, None).await;
    assert!(text.contains("\nphoneflip_db_writes_failing 0\n"), "{text}");

    assert!(health.failed("database or disk is full"));
    health.set_held(42);
    let (st, v, _) = call(&s, "GET", "/api/health", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["database"]["failing"], true, "{v}");
    assert_eq!(v["database"]["held_events"], 42, "{v}");
    assert_eq!(v["database"]["error"], "database or disk is full", "{v}");
    let (_, _, text) = call(&s, "GET", "/metrics", None, None).await;
    assert!(text.contains("\nphoneflip_db_writes_failing 1\n"), "{text}");
    assert!(text.contains("\nphoneflip_events_held 42\n"), "{text}");

    assert!(health.succeeded());
    health.set_held(0);
    let (_, v, _) = call(&s, "GET", "/api/health", None, None).await;
    assert_eq!(v["database"]["failing"], false, "{v}");
    assert_eq!(v["database"]["error"], Value::Null, "{v}");
}

/// The operator's Start, Pause and Resume: behind the token, each refused
/// (409, naming the status) where the job's status does not allow it.
#[tokio::test]
async fn jobs_start_pause_and_resume() {
    let (s, _) = state();
    let t = Some("s3cret");
    let tpl =
        json!({"name": "sip-hq", "protocol": "sip", "settings": {"proxy1_address": "192.0.2.10"}})
            .to_string();
    call(&s, "PUT", "/api/templates/sip-hq", t, Some(&tpl)).await;
    let job = json!({"description": "hq later", "template": "sip-hq", "to": "sip:8.12",
                     "query": {"site": "hq"}, "at": "2099-01-01T08:00:00Z", "allow_unregistered": true})
    .to_string();
    let (st, v, text) = call(&s, "POST", "/api/jobs", t, Some(&job)).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    let id = v["job"]["id"].as_i64().unwrap();
    let store = s.jobs.clone().unwrap();
    // The engine's part: one tick at the wall clock, saved.
    let engine_tick = || {
        let mut js = store.load(id).unwrap().unwrap();
        phoneflip_jobs::tick(phoneflip_inventory::now_millis(), &mut js, &[]);
        store.save(&js).unwrap();
        js
    };
    assert_eq!(engine_tick().status, phoneflip_jobs::JobStatus::Scheduled);

    let (st, _, _) = call(&s, "POST", &format!("/api/jobs/{id}/start"), None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v, _) = call(&s, "POST", &format!("/api/jobs/{id}/pause"), t, None).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert!(v["error"].as_str().unwrap().contains("scheduled"), "{v}");
    let (st, v, _) = call(&s, "POST", &format!("/api/jobs/{id}/resume"), t, None).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let (st, v, text) = call(&s, "POST", &format!("/api/jobs/{id}/start"), t, None).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(v["job"]["schedule"], "now", "{v}");
    let js = engine_tick();
    assert_eq!(js.status, phoneflip_jobs::JobStatus::Running);
    assert_eq!(js.phones[0].batch, Some(0), "the canary started");

    let (st, v, text) = call(&s, "POST", &format!("/api/jobs/{id}/pause"), t, None).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(v["status"], "paused");
    assert_eq!(engine_tick().status, phoneflip_jobs::JobStatus::Paused);
    let (st, v, _) = call(&s, "POST", &format!("/api/jobs/{id}/start"), t, None).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let (st, v, text) = call(&s, "POST", &format!("/api/jobs/{id}/resume"), t, None).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(v["status"], "running");
    let (st, _, _) = call(&s, "POST", "/api/jobs/999/pause", t, None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_full_database_answers_503_with_the_cause_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(SqliteInventory::open(dir.path().join("inv.db")).unwrap());
    let (mut s, _) = state();
    s.inventory = sqlite.clone();
    let t = Some("s3cret");
    let body = full(json!({"description": "before"})).to_string();
    let (st, _, text) = call(&s, "PUT", "/api/phones/0019AA000009", t, Some(&body)).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    let before = phones_json(&s.inventory).await;

    sqlite.limit_pages(sqlite.page_count().unwrap()).unwrap();
    // Big enough to need a page the cap refuses.
    let body = full(json!({"description": "x".repeat(20_000)})).to_string();
    let (st, v, _) = call(&s, "PUT", "/api/phones/0019AA000009", t, Some(&body)).await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.contains("full") && msg.contains("nothing was changed"),
        "{msg}"
    );
    assert_eq!(phones_json(&s.inventory).await, before);
}

/// Secret settings (phone_password, ...) of templates and of a phone's
/// overrides are shown masked everywhere, and a masked value sent back
/// (GET, edit, PUT) keeps the stored secret.
#[tokio::test]
async fn secret_settings_are_masked_and_survive_a_round_trip() {
    let (s, inv) = state();
    let t = Some("s3cret");
    let tpl = json!({"name": "sip-hq", "protocol": "sip",
        "settings": {"proxy1_address": "192.0.2.10", "phone_password": "4711-secret"}})
    .to_string();
    let (st, v, text) = call(&s, "PUT", "/api/templates/sip-hq", t, Some(&tpl)).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(v["settings"]["phone_password"], "********", "{v}");
    for uri in ["/api/templates", "/api/templates/sip-hq"] {
        let (_, _, text) = call(&s, "GET", uri, None, None).await;
        assert!(!text.contains("4711"), "{uri}: {text}");
        assert!(text.contains("192.0.2.10"), "{uri}: {text}");
    }
    // The masked body back, one other setting changed.
    let (_, mut cur, _) = call(&s, "GET", "/api/templates/sip-hq", None, None).await;
    cur["settings"]["proxy1_address"] = json!("192.0.2.11");
    let (st, _, text) = call(
        &s,
        "PUT",
        "/api/templates/sip-hq",
        t,
        Some(&cur.to_string()),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{text}");
    let stored = inv.get_template("sip-hq").unwrap().unwrap();
    assert_eq!(stored.settings["phone_password"], "4711-secret");
    assert_eq!(stored.settings["proxy1_address"], "192.0.2.11");

    let mac = "0019AA000001";
    let body = json!({"overrides": {"phone_password": "9999-secret"}}).to_string();
    let (st, v, text) = call(&s, "PATCH", &format!("/api/phones/{mac}"), t, Some(&body)).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(v["overrides"]["phone_password"], "********", "{v}");
    let (_, _, text) = call(&s, "GET", "/api/phones", None, None).await;
    assert!(!text.contains("9999"), "{text}");
    let (_, cur, _) = call(&s, "GET", &format!("/api/phones/{mac}"), None, None).await;
    let body = json!({"overrides": cur["overrides"], "label": "Desk"}).to_string();
    let (st, _, text) = call(&s, "PATCH", &format!("/api/phones/{mac}"), t, Some(&body)).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    let p = inv.get_phone(mac.parse().unwrap()).unwrap().unwrap();
    assert_eq!(p.overrides["phone_password"], "9999-secret");
    assert_eq!(p.label.as_deref(), Some("Desk"));
}

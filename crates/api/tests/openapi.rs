//! The OpenAPI document against the router that serves it: every
//! documented operation is served, every method the router answers on a
//! path is documented, and every body has a real schema (a `$ref` that
//! resolves to properties, not a bare `{"type":"object"}`).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use phoneflip_api::{router, AppState, Metrics};
use phoneflip_inventory::{Inventory, SqliteInventory};
use phoneflip_plan::Catalogue;
use serde_json::Value;
use tower::ServiceExt;

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

fn state() -> AppState {
    let inv: Arc<dyn Inventory> = Arc::new(SqliteInventory::open_in_memory().unwrap());
    AppState {
        inventory: inv,
        token: Some("s3cret".into()),
        metrics: Arc::new(Metrics::default()),
        catalogue: Arc::new(Catalogue::builtin()),
        jobs: Some(Arc::new(phoneflip_jobs::MemoryJobStore::new())),
    }
}

async fn call(s: &AppState, method: &str, uri: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method.to_uppercase().as_str())
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::empty())
        .unwrap();
    let resp = router(s.clone()).oneshot(req).await.unwrap();
    let st = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (st, String::from_utf8_lossy(&bytes).to_string())
}

/// A URI for a documented path; the event stream is asked with a bad
/// query so that it answers (400) instead of streaming forever.
fn uri_for(path: &str) -> String {
    let uri = path
        .replace("{mac}", "0019AA000001")
        .replace("{name}", "nosuch")
        .replace("{id}", "42");
    if uri == "/api/stream" {
        "/api/stream?after=not-a-number".into()
    } else {
        uri
    }
}

/// Whether the router has a handler for this method and path: axum
/// answers an unrouted path with an empty 404 and an unrouted method with
/// 405, while the handlers' own 404s carry a JSON error.
fn served(st: StatusCode, body: &str) -> bool {
    st != StatusCode::METHOD_NOT_ALLOWED && !(st == StatusCode::NOT_FOUND && body.is_empty())
}

async fn document(s: &AppState) -> Value {
    let (st, text) = call(s, "get", "/openapi.json").await;
    assert_eq!(st, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected $ref {r}"));
            let target = &doc["components"]["schemas"][name];
            assert!(!target.is_null(), "$ref {r} names no component schema");
            resolve(doc, target)
        }
        None => schema,
    }
}

/// A schema that says what is inside: properties, items, a composition,
/// or a type that is not an object.
fn described(doc: &Value, schema: &Value) -> bool {
    let s = resolve(doc, schema);
    if let Some(items) = s.get("items") {
        return described(doc, items);
    }
    s.get("properties").is_some()
        || s.get("allOf").is_some()
        || s.get("oneOf").is_some()
        || s.get("anyOf").is_some()
        || s.get("enum").is_some()
        || s.get("type").is_some_and(|t| t != "object")
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let s = state();
    let doc = document(&s).await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 19, "only {} paths", paths.len());
    for (path, item) in paths {
        for m in METHODS {
            let (st, body) = call(&s, m, &uri_for(path)).await;
            let documented = item.get(m).is_some();
            assert_eq!(
                served(st, &body),
                documented,
                "{} {path}: the router answers {st} {body:?}, the document {} it",
                m.to_uppercase(),
                if documented { "lists" } else { "does not list" }
            );
        }
    }
}

#[tokio::test]
async fn the_router_serves_nothing_undocumented() {
    // The router cannot be enumerated, so the routes must all come from
    // utoipa_axum's routes!, which documents what it registers: no plain
    // `.route(` may be added beside them.
    let src = include_str!("../src/routes.rs");
    assert!(
        !src.contains(".route(\""),
        "routes.rs adds a route outside routes!(...): it would be served but not documented"
    );
    let s = state();
    let (st, body) = call(&s, "get", "/api/nosuch").await;
    assert!(!served(st, &body), "{st} {body}");
    // The jobs API, which the hand-written table lacked.
    let doc = document(&s).await;
    for (m, p) in [
        ("get", "/api/jobs"),
        ("post", "/api/jobs"),
        ("post", "/api/jobs/preview"),
        ("get", "/api/jobs/{id}"),
        ("get", "/api/jobs/{id}/phones"),
        ("post", "/api/jobs/{id}/cancel"),
        ("post", "/api/jobs/{id}/start"),
        ("post", "/api/jobs/{id}/pause"),
        ("post", "/api/jobs/{id}/resume"),
        ("get", "/api/power-cycle"),
        ("get", "/api/stream"),
    ] {
        assert!(doc["paths"][p][m].is_object(), "{m} {p} missing");
    }
}

#[tokio::test]
async fn every_body_has_a_schema() {
    let s = state();
    let doc = document(&s).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let what = format!("{} {path}", m.to_uppercase());
            if let Some(rb) = op.get("requestBody") {
                let schema = &rb["content"]["application/json"]["schema"];
                assert!(
                    described(&doc, schema),
                    "{what}: request body {schema} is not described"
                );
            } else {
                // Only the bodiless actions may lack one.
                assert!(
                    m == "get"
                        || m == "delete"
                        || ["/cancel", "/start", "/pause", "/resume"]
                            .iter()
                            .any(|a| path.ends_with(a)),
                    "{what} takes no documented body"
                );
            }
            let responses = op["responses"].as_object().unwrap();
            let mut ok = false;
            for (code, r) in responses {
                let Some(content) = r.get("content").and_then(Value::as_object) else {
                    assert_eq!(code, "204", "{what}: response {code} has no content");
                    ok = true;
                    continue;
                };
                for (ctype, c) in content {
                    if ctype == "application/json" && path != "/openapi.json" {
                        assert!(
                            described(&doc, &c["schema"]),
                            "{what}: response {code} schema {} is not described",
                            c["schema"]
                        );
                    }
                }
                ok |= code.starts_with('2');
            }
            assert!(ok, "{what}: no success response documented");
            if ["put", "post", "patch", "delete"].contains(&m) && path != "/api/jobs/preview" {
                assert!(
                    op.get("security").is_some(),
                    "{what} changes something but names no bearer security"
                );
            }
        }
    }
    // Every $ref anywhere resolves (schemas referenced from schemas too).
    fn refs(doc: &Value, v: &Value) {
        match v {
            Value::Object(o) => {
                if o.contains_key("$ref") {
                    resolve(doc, v);
                }
                o.values().for_each(|x| refs(doc, x));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(doc, x)),
            _ => {}
        }
    }
    refs(&doc, &doc);
    // The types are the real ones: a phone's view has its stage, a job its
    // rollout, and a line never shows a password.
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["PhoneStage"]["enum"]
        .as_array()
        .unwrap()
        .contains(&"loader_fetched".into()));
    assert!(schemas["Rollout"]["properties"]["canary_size"].is_object());
    assert_eq!(schemas["Line"]["properties"]["password"]["writeOnly"], true);
}

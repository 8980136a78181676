//! The OpenAPI 3.1 document of the API, written out by hand so that it says
//! what the handlers really accept (a test checks every path is served).

use serde_json::{json, Value};

/// (method, path, summary, needs token)
pub const OPERATIONS: &[(&str, &str, &str, bool)] = &[
    ("get", "/api/health", "Liveness", false),
    (
        "get",
        "/api/fleet",
        "Phones by state, observed load and protocol",
        false,
    ),
    (
        "get",
        "/api/phones",
        "One page of phones, line passwords never included (filters: site, model, tag, template, state; paging: limit 1-1000, default 100, and offset; answers {phones, total, offset, limit}; an unknown parameter is a 400)",
        false,
    ),
    (
        "get",
        "/api/phones/{mac}",
        "One phone with its derived state",
        false,
    ),
    (
        "put",
        "/api/phones/{mac}",
        "Create or replace a phone: every writable field (model, description, site, tags, label, lines, desired_protocol, desired_load, template, overrides) is required and unknown fields are a 400; a line's omitted password is kept",
        true,
    ),
    (
        "patch",
        "/api/phones/{mac}",
        "Change only the fields named in the body",
        true,
    ),
    (
        "delete",
        "/api/phones/{mac}",
        "Delete a phone (it comes back through auto-registration with the default protocol)",
        true,
    ),
    (
        "get",
        "/api/phones/{mac}/timeline",
        "The phone's TFTP requests, newest first",
        false,
    ),
    ("get", "/api/templates", "List templates", false),
    ("get", "/api/templates/{name}", "One template", false),
    (
        "put",
        "/api/templates/{name}",
        "Create or replace a template",
        true,
    ),
    (
        "get",
        "/api/events",
        "TFTP transfer events after an id (for live views)",
        false,
    ),
    (
        "get",
        "/api/plan",
        "Plan a conversion (from, to, model)",
        false,
    ),
    ("get", "/metrics", "Prometheus metrics", false),
    ("get", "/openapi.json", "This document", false),
];

pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, auth) in OPERATIONS {
        let mut op = json!({
            "summary": summary,
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "Bad input; body {\"error\": message naming the field and the fix}"},
                "404": {"description": "No such phone or template"}
            }
        });
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if *auth {
            op["security"] = json!([{"bearer": []}]);
            op["responses"]["401"] = json!({"description": "Missing or wrong bearer token"});
            if *method == "put" || *path == "/api/jobs" {
                op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
            }
        }
        paths
            .entry(path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("path items are objects")
            .insert(method.to_string(), op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "phoneflip", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Fleet conversion of Cisco 7940/7960 phones between SCCP and SIP"},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths
    })
}

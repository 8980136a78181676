//! Strict request input: every body and query names only known fields (an
//! unknown one is a 400 naming it and the closest known one), a PUT of a
//! phone is a complete record, a PATCH changes only the fields it names,
//! and line passwords go in but never come out.
//!
//! Why: serde's defaults made `"desired_lod"` a silent no-op that wiped the
//! phone's desired load, and `"sitee"` in a job query selected every phone.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::Uri;
use phoneflip_config::Line;
use phoneflip_device::Model;
use phoneflip_firmware::Protocol;
use phoneflip_inventory::{parse_desired_load, InventoryError, Phone};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::fleet::{JobLink, PhoneView};

/// The closest of `known` to `given`, if it is close enough to be a typo.
pub fn closest<'a>(given: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::levenshtein(given, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Adds "did you mean" to serde's unknown-field message
/// (``unknown field `x`, expected one of `a`, `b` ``), the one place that
/// knows both the field given and the fields allowed.
pub fn explain(message: &str) -> String {
    let Some(rest) = message.split("unknown field `").nth(1) else {
        return message.to_string();
    };
    let Some((field, tail)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<&str> = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .take_while(|s| !s.is_empty())
        .collect();
    match closest(field, known.iter().copied()) {
        Some(k) => format!("unknown field {field:?}: did you mean {k}? ({message})"),
        None => format!("unknown field {field:?} ({message})"),
    }
}

/// Parses a request body strictly.
pub fn body<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "the request body is not a valid {what}: {}",
            explain(&e.to_string())
        ))
    })
}

/// Parses a query string strictly (the structs deny unknown fields).
pub fn query<T: DeserializeOwned>(uri: &Uri) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::BadRequest(format!("bad query string: {}", explain(&e.body_text()))))
}

/// The fields of a phone an administrator writes, in the order of the
/// CSV columns.
pub const WRITABLE: [&str; 10] = [
    "model",
    "description",
    "site",
    "tags",
    "label",
    "lines",
    "desired_protocol",
    "desired_load",
    "template",
    "overrides",
];

/// What GET returns beyond [`WRITABLE`]: phoneflip sets these itself. A
/// body may echo them back unchanged (so GET, edit, PUT works) but not
/// change them.
const READ_ONLY: [&str; 5] = [
    "observed_load",
    "auto_registered",
    "created_ms",
    "updated_ms",
    "state",
];

fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A line in a phone's body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LineInput {
    number: u8,
    name: String,
    #[serde(default)]
    authname: Option<String>,
    /// Absent: keep the line's stored password; `null`: remove it.
    #[serde(default, deserialize_with = "some")]
    password: Option<Option<String>>,
    #[serde(default)]
    displayname: Option<String>,
    #[serde(default)]
    shortname: Option<String>,
    /// What GET shows instead of the password; accepted so that a record
    /// read with GET can be sent back, and ignored.
    #[serde(default, rename = "has_password")]
    _has_password: Option<bool>,
}

/// What PUT and PATCH of a phone take.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PhoneInput {
    model: Model,
    description: String,
    site: Option<String>,
    tags: BTreeSet<String>,
    label: Option<String>,
    lines: Vec<LineInput>,
    desired_protocol: Option<Protocol>,
    /// A load name or protocol:version (`sip:8.12`).
    desired_load: Option<String>,
    template: Option<String>,
    overrides: BTreeMap<String, String>,
}

/// What a view shows about the phone's job rather than its record: a body
/// may carry them back (GET, edit, PUT), and they are ignored.
const DERIVED: [&str; 6] = [
    "stage",
    "job",
    "reason",
    "power_cycle",
    "registered",
    "registration",
];

/// A phone as the API shows it: the stored record with its state, line
/// passwords replaced by `has_password`.
pub fn view(p: Phone) -> Value {
    view_in(p, None)
}

/// [`view`] with the phone's place in its newest job.
pub fn view_in(mut p: Phone, link: Option<&JobLink>) -> Value {
    phoneflip_config::redact_settings(&mut p.overrides);
    let mut v = serde_json::to_value(PhoneView::new(p, link)).unwrap_or(Value::Null);
    if let Some(lines) = v.get_mut("lines").and_then(Value::as_array_mut) {
        for l in lines {
            if let Some(obj) = l.as_object_mut() {
                let had = obj
                    .remove("password")
                    .is_some_and(|p| !p.is_null() && p != "");
                obj.insert("has_password".into(), Value::Bool(had));
            }
        }
    }
    v
}

/// Builds the record a PUT (`complete`) or PATCH body asks for, from the
/// stored one. Errors are messages for a 400.
pub fn phone_from_body(
    mac: phoneflip_device::Mac,
    current: Option<Phone>,
    body: &Value,
    complete: bool,
) -> Result<Phone, String> {
    let Value::Object(given) = body else {
        return Err("the request body must be a JSON object of phone fields".into());
    };
    let shown = current.clone().map(view);
    for (k, v) in given {
        if k == "mac" || WRITABLE.contains(&k.as_str()) || DERIVED.contains(&k.as_str()) {
            continue;
        }
        if READ_ONLY.contains(&k.as_str()) {
            if shown.as_ref().and_then(|s| s.get(k)) == Some(v) {
                continue;
            }
            return Err(format!(
                "field {k:?} is read-only (phoneflip sets it); leave it out or send its current value"
            ));
        }
        let hint = closest(k, WRITABLE.iter().copied().chain(["mac"]))
            .map(|c| format!("did you mean {c}? "))
            .unwrap_or_default();
        return Err(format!(
            "unknown field {k:?}: {hint}a phone's fields are mac, {}",
            WRITABLE.join(", ")
        ));
    }
    if let Some(m) = given.get("mac") {
        let same = m
            .as_str()
            .and_then(|s| s.parse::<phoneflip_device::Mac>().ok())
            == Some(mac);
        if !same {
            return Err(format!(
                "the body's mac {m} differs from the URL's {mac}; they must name the same phone"
            ));
        }
    }
    let mut merged = Map::new();
    if complete {
        let missing: Vec<&str> = WRITABLE
            .iter()
            .copied()
            .filter(|f| !given.contains_key(*f))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "PUT replaces the whole phone, and the body lacks {}; send every field \
                 (null or empty for none) or PATCH only the fields to change",
                missing.join(", ")
            ));
        }
    } else {
        let Some(cur) = &current else {
            return Err(format!(
                "phone {mac} is not in the inventory; create it with PUT"
            ));
        };
        if let Value::Object(cur) = view(cur.clone()) {
            for f in WRITABLE {
                if let Some(v) = cur.get(f) {
                    merged.insert(f.to_string(), v.clone());
                }
            }
        }
    }
    for f in WRITABLE {
        if let Some(v) = given.get(f) {
            merged.insert(f.to_string(), v.clone());
        }
    }
    let input: PhoneInput = serde_json::from_value(Value::Object(merged))
        .map_err(|e| format!("the phone is not valid: {}", explain(&e.to_string())))?;
    let desired_load = input
        .desired_load
        .filter(|s| !s.is_empty())
        .map(|s| parse_desired_load(&s).map_err(|e| format!("desired_load: {e}")))
        .transpose()?;
    let old_lines = current
        .as_ref()
        .map(|c| c.lines.clone())
        .unwrap_or_default();
    let lines = input
        .lines
        .into_iter()
        .map(|l| Line {
            password: match l.password {
                Some(p) => p,
                None => old_lines
                    .iter()
                    .find(|o| o.number == l.number)
                    .and_then(|o| o.password.clone()),
            },
            number: l.number,
            name: l.name,
            authname: l.authname,
            displayname: l.displayname,
            shortname: l.shortname,
        })
        .collect();
    let mut p = current.unwrap_or_else(|| Phone::new(mac, input.model));
    p.model = input.model;
    p.description = input.description;
    p.site = input.site;
    p.tags = input.tags;
    p.label = input.label;
    p.lines = lines;
    p.desired_protocol = input.desired_protocol;
    p.desired_load = desired_load;
    p.template = input.template;
    let mut overrides = input.overrides;
    // A secret shown masked and sent back keeps its stored value.
    phoneflip_config::restore_redacted(&mut overrides, &p.overrides);
    p.overrides = overrides;
    p.validate().map_err(|e| e.to_string())?;
    Ok(p)
}

/// [`phone_from_body`] as the error [`phoneflip_inventory::Inventory::update_phone`] expects.
pub fn rejected(msg: String) -> InventoryError {
    InventoryError::Rejected(msg)
}

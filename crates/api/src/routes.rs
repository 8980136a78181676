//! Routes and handlers. Inventory calls are synchronous, so each runs on
//! the blocking pool; writes check the bearer token first and validate the
//! whole input before anything is stored.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use phoneflip_config::Template;
use phoneflip_device::{Mac, Model};
use phoneflip_inventory::{Inventory, Phone, PhoneFilter, StoredEvent};
use phoneflip_plan::{plan, Catalogue, Endpoint};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::fleet::{phone_state, FleetSummary};
use crate::metrics::Metrics;
use crate::validate;

#[derive(Clone)]
pub struct AppState {
    pub inventory: Arc<dyn Inventory>,
    /// Writes need `Authorization: Bearer <token>`; `None` refuses writes.
    pub token: Option<String>,
    pub metrics: Arc<Metrics>,
    /// Releases in the TFTP root, for `/api/plan`.
    pub catalogue: Arc<Catalogue>,
    /// Bulk migration jobs; `None` when the server runs none.
    pub jobs: Option<Arc<dyn phoneflip_jobs::JobStore>>,
}

type ApiResult<T> = Result<T, ApiError>;

async fn blocking<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    F: FnOnce(&dyn Inventory) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    let inv = state.inventory.clone();
    tokio::task::spawn_blocking(move || f(inv.as_ref()))
        .await
        .map_err(|e| ApiError::Internal(format!("inventory task failed: {e}")))?
}

pub(crate) fn authorize(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let Some(token) = &state.token else {
        return Err(ApiError::Unauthorized(
            "writes are disabled: start serve with --api-token TOKEN (or PHONEFLIP_API_TOKEN) and send Authorization: Bearer TOKEN".into(),
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g)
            if g.len() == token.len()
                && g.bytes()
                    .zip(token.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0 =>
        {
            Ok(())
        }
        Some(_) => Err(ApiError::Unauthorized("wrong API token".into())),
        None => Err(ApiError::Unauthorized(
            "this endpoint changes the inventory: send Authorization: Bearer TOKEN".into(),
        )),
    }
}

fn parse_mac(s: &str) -> ApiResult<Mac> {
    s.parse()
        .map_err(|e: phoneflip_device::MacError| ApiError::BadRequest(e.to_string()))
}

pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes, what: &str) -> ApiResult<T> {
    validate::body(body, what)
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route(
            "/api/health",
            get(|| async { Json(serde_json::json!({"ok": true})) }),
        )
        .route("/api/fleet", get(fleet))
        .route("/api/phones", get(list_phones))
        .route(
            "/api/phones/{mac}",
            get(get_phone)
                .put(put_phone)
                .patch(patch_phone)
                .delete(delete_phone),
        )
        .route("/api/phones/{mac}/timeline", get(timeline))
        .route("/api/templates", get(list_templates))
        .route("/api/templates/{name}", get(get_template).put(put_template))
        .route("/api/events", get(events))
        .route("/api/plan", get(get_plan))
        .route(
            "/api/jobs",
            get(crate::jobs::list).post(crate::jobs::create),
        )
        .route("/api/jobs/{id}", get(crate::jobs::get))
        .route(
            "/api/jobs/{id}/cancel",
            axum::routing::post(crate::jobs::cancel_job),
        )
        .route("/metrics", get(metrics))
        .route(
            "/openapi.json",
            get(|| async { Json(crate::openapi::document()) }),
        )
        .with_state(state)
}

async fn dashboard() -> Html<&'static str> {
    Html(crate::dashboard::PAGE)
}

async fn fleet(State(s): State<AppState>) -> ApiResult<Json<FleetSummary>> {
    let phones = blocking(&s, |inv| Ok(inv.list_phones(&PhoneFilter::default())?)).await?;
    Ok(Json(FleetSummary::of(&phones)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneQuery {
    site: Option<String>,
    model: Option<String>,
    tag: Option<String>,
    template: Option<String>,
    state: Option<String>,
    /// Page size, 1 to [`MAX_PAGE`]; [`DEFAULT_PAGE`] if absent.
    limit: Option<usize>,
    offset: Option<usize>,
}

/// Phones per page when the query does not say.
const DEFAULT_PAGE: usize = 100;
/// The largest page: a 5,000-phone fleet in one answer is what made the
/// dashboard fetch megabytes every second.
const MAX_PAGE: usize = 1000;

/// One page of phones and how many match in all.
#[derive(Serialize)]
struct PhonePage {
    phones: Vec<serde_json::Value>,
    total: usize,
    offset: usize,
    limit: usize,
}

async fn list_phones(State(s): State<AppState>, uri: Uri) -> ApiResult<Json<PhonePage>> {
    let q: PhoneQuery = validate::query(&uri)?;
    let model = match &q.model {
        Some(m) => Some(
            m.parse::<Model>()
                .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        ),
        None => None,
    };
    let state_filter = q.state.clone();
    if let Some(st) = &state_filter {
        if !["unmanaged", "unseen", "converting", "converted"].contains(&st.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown state {st:?}: use unmanaged, unseen, converting or converted"
            )));
        }
    }
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::BadRequest(format!(
            "limit={limit}: a page holds 1 to {MAX_PAGE} phones; follow offset for more"
        )));
    }
    let offset = q.offset.unwrap_or(0);
    let filter = PhoneFilter {
        site: q.site,
        model,
        tag: q.tag,
        template: q.template,
        auto_registered: None,
    };
    let (phones, total) = match state_filter {
        // The state is derived, not stored: filter, then page.
        Some(st) => {
            let all = blocking(&s, move |inv| Ok(inv.list_phones(&filter)?)).await?;
            let matching: Vec<Phone> = all
                .into_iter()
                .filter(|p| {
                    serde_json::to_value(phone_state(p))
                        .ok()
                        .and_then(|x| x.as_str().map(String::from))
                        .as_deref()
                        == Some(st.as_str())
                })
                .collect();
            let total = matching.len();
            (
                matching.into_iter().skip(offset).take(limit).collect(),
                total,
            )
        }
        None => {
            blocking(&s, move |inv| {
                Ok(inv.list_phones_page(&filter, offset, limit)?)
            })
            .await?
        }
    };
    Ok(Json(PhonePage {
        phones: phones.into_iter().map(validate::view).collect(),
        total,
        offset,
        limit,
    }))
}

async fn get_phone(
    State(s): State<AppState>,
    Path(mac): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let mac = parse_mac(&mac)?;
    let p = blocking(&s, move |inv| Ok(inv.get_phone(mac)?)).await?;
    p.map(|p| Json(validate::view(p)))
        .ok_or_else(|| ApiError::NotFound(format!("phone {mac} is not in the inventory")))
}

/// PUT (`complete`) and PATCH: the body is checked against the stored
/// phone and written in the same transaction.
async fn write_phone(
    s: AppState,
    headers: HeaderMap,
    mac: String,
    body: Bytes,
    complete: bool,
) -> ApiResult<Response> {
    authorize(&s, &headers)?;
    let mac = parse_mac(&mac)?;
    let given: serde_json::Value = json_body(&body, "phone")?;
    let stored = blocking(&s, move |inv| {
        Ok(inv.update_phone(mac, &mut |current| {
            validate::phone_from_body(mac, current, &given, complete).map_err(validate::rejected)
        })?)
    })
    .await?;
    Ok((StatusCode::OK, Json(validate::view(stored))).into_response())
}

async fn put_phone(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(mac): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    write_phone(s, headers, mac, body, true).await
}

async fn patch_phone(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(mac): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    write_phone(s, headers, mac, body, false).await
}

async fn delete_phone(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(mac): Path<String>,
) -> ApiResult<StatusCode> {
    authorize(&s, &headers)?;
    let mac = parse_mac(&mac)?;
    if blocking(&s, move |inv| Ok(inv.delete_phone(mac)?)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "phone {mac} is not in the inventory"
        )))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Limit {
    limit: Option<usize>,
    after: Option<i64>,
}

async fn timeline(
    State(s): State<AppState>,
    Path(mac): Path<String>,
    uri: Uri,
) -> ApiResult<Json<Vec<StoredEvent>>> {
    let q: Limit = validate::query(&uri)?;
    let mac = parse_mac(&mac)?;
    let limit = q.limit.unwrap_or(200).min(10_000);
    Ok(Json(
        blocking(&s, move |inv| Ok(inv.timeline(mac, limit)?)).await?,
    ))
}

async fn events(State(s): State<AppState>, uri: Uri) -> ApiResult<Json<Vec<StoredEvent>>> {
    let q: Limit = validate::query(&uri)?;
    let limit = q.limit.unwrap_or(200).min(10_000);
    let after = q.after.unwrap_or(0);
    Ok(Json(
        blocking(&s, move |inv| Ok(inv.events_after(after, limit)?)).await?,
    ))
}

async fn list_templates(State(s): State<AppState>) -> ApiResult<Json<Vec<Template>>> {
    Ok(Json(blocking(&s, |inv| Ok(inv.list_templates()?)).await?))
}

async fn get_template(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Template>> {
    let n = name.clone();
    blocking(&s, move |inv| Ok(inv.get_template(&n)?))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("template {name:?} does not exist")))
}

/// What `PUT /api/templates/{name}` takes: every field, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateInput {
    name: String,
    protocol: phoneflip_firmware::Protocol,
    settings: std::collections::BTreeMap<String, String>,
}

async fn put_template(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Template>> {
    authorize(&s, &headers)?;
    let t: TemplateInput = json_body(&body, "template")?;
    let t = Template {
        name: t.name,
        protocol: t.protocol,
        settings: t.settings,
    };
    if t.name != name {
        return Err(ApiError::BadRequest(format!(
            "the body's name {:?} differs from the URL's {name:?}",
            t.name
        )));
    }
    phoneflip_inventory::validate_template(&t)?;
    phoneflip_inventory::check_template_settings(&t)?;
    let stored = t.clone();
    blocking(&s, move |inv| Ok(inv.put_template(&t)?)).await?;
    Ok(Json(stored))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanQuery {
    from: Option<String>,
    to: Option<String>,
    model: Option<String>,
}

async fn get_plan(State(s): State<AppState>, uri: Uri) -> ApiResult<Json<phoneflip_plan::Plan>> {
    let q: PlanQuery = validate::query(&uri)?;
    let need = |v: Option<String>, name: &str| {
        v.ok_or_else(|| ApiError::BadRequest(format!("missing query parameter {name}= (a protocol:version such as sccp:3.3, or a load name)")))
    };
    let from: Endpoint = need(q.from, "from")?
        .parse()
        .map_err(|e: phoneflip_plan::EndpointError| ApiError::BadRequest(format!("from: {e}")))?;
    let to: Endpoint = need(q.to, "to")?
        .parse()
        .map_err(|e: phoneflip_plan::EndpointError| ApiError::BadRequest(format!("to: {e}")))?;
    let model = match q.model {
        Some(m) => Some(
            m.parse::<Model>()
                .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        ),
        None => None,
    };
    plan(from, to, model, &s.catalogue)
        .map(Json)
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

async fn metrics(State(s): State<AppState>) -> ApiResult<Response> {
    let phones = blocking(&s, |inv| Ok(inv.list_phones(&PhoneFilter::default())?)).await?;
    let body = s.metrics.render(&FleetSummary::of(&phones));
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response())
}

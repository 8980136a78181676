//! Routes and handlers. Inventory calls are synchronous, so each runs on
//! the blocking pool; writes check the bearer token first and validate the
//! whole input before anything is stored.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use phoneflip_config::Template;
use phoneflip_device::{Mac, Model};
use phoneflip_inventory::{Inventory, Phone, PhoneFilter, StoredEvent};
use phoneflip_plan::{plan, Catalogue, Endpoint};
use serde::Deserialize;

use crate::error::ApiError;
use crate::fleet::{FleetSummary, PhoneView};
use crate::metrics::Metrics;

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
    serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the request body is not a valid {what}: {e} (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
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
            get(get_phone).put(put_phone).delete(delete_phone),
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
struct PhoneQuery {
    site: Option<String>,
    model: Option<String>,
    tag: Option<String>,
    template: Option<String>,
    state: Option<String>,
}

async fn list_phones(
    State(s): State<AppState>,
    Query(q): Query<PhoneQuery>,
) -> ApiResult<Json<Vec<PhoneView>>> {
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
    let filter = PhoneFilter {
        site: q.site,
        model,
        tag: q.tag,
        template: q.template,
        auto_registered: None,
    };
    let phones = blocking(&s, move |inv| Ok(inv.list_phones(&filter)?)).await?;
    Ok(Json(
        phones
            .into_iter()
            .map(PhoneView::from)
            .filter(|v| {
                state_filter.as_deref().is_none_or(|st| {
                    serde_json::to_value(v.state)
                        .ok()
                        .and_then(|x| x.as_str().map(String::from))
                        .as_deref()
                        == Some(st)
                })
            })
            .collect(),
    ))
}

async fn get_phone(
    State(s): State<AppState>,
    Path(mac): Path<String>,
) -> ApiResult<Json<PhoneView>> {
    let mac = parse_mac(&mac)?;
    let p = blocking(&s, move |inv| Ok(inv.get_phone(mac)?)).await?;
    p.map(|p| Json(PhoneView::from(p)))
        .ok_or_else(|| ApiError::NotFound(format!("phone {mac} is not in the inventory")))
}

async fn put_phone(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(mac): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    authorize(&s, &headers)?;
    let mac = parse_mac(&mac)?;
    let phone: Phone = json_body(&body, "phone")?;
    if phone.mac != mac {
        return Err(ApiError::BadRequest(format!(
            "the body's mac {} differs from the URL's {mac}; they must name the same phone",
            phone.mac
        )));
    }
    phone
        .validate()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let stored = blocking(&s, move |inv| {
        if let Some(t) = &phone.template {
            if inv.get_template(t)?.is_none() {
                return Err(ApiError::BadRequest(format!(
                    "template {t:?} does not exist; create it first with PUT /api/templates/{t}"
                )));
            }
        }
        inv.put_phone(&phone)?;
        Ok(inv.get_phone(phone.mac)?)
    })
    .await?;
    Ok((StatusCode::OK, Json(stored.map(PhoneView::from))).into_response())
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
struct Limit {
    limit: Option<usize>,
    after: Option<i64>,
}

async fn timeline(
    State(s): State<AppState>,
    Path(mac): Path<String>,
    Query(q): Query<Limit>,
) -> ApiResult<Json<Vec<StoredEvent>>> {
    let mac = parse_mac(&mac)?;
    let limit = q.limit.unwrap_or(200).min(10_000);
    Ok(Json(
        blocking(&s, move |inv| Ok(inv.timeline(mac, limit)?)).await?,
    ))
}

async fn events(
    State(s): State<AppState>,
    Query(q): Query<Limit>,
) -> ApiResult<Json<Vec<StoredEvent>>> {
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

async fn put_template(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Template>> {
    authorize(&s, &headers)?;
    let t: Template = json_body(&body, "template")?;
    if t.name != name {
        return Err(ApiError::BadRequest(format!(
            "the body's name {:?} differs from the URL's {name:?}",
            t.name
        )));
    }
    phoneflip_inventory::validate_template(&t)?;
    let stored = t.clone();
    blocking(&s, move |inv| Ok(inv.put_template(&t)?)).await?;
    Ok(Json(stored))
}

#[derive(Deserialize)]
struct PlanQuery {
    from: Option<String>,
    to: Option<String>,
    model: Option<String>,
}

async fn get_plan(
    State(s): State<AppState>,
    Query(q): Query<PlanQuery>,
) -> ApiResult<Json<phoneflip_plan::Plan>> {
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

//! Routes and handlers. Inventory calls are synchronous, so each runs on
//! the blocking pool; writes check the bearer token first and validate the
//! whole input before anything is stored.
//!
//! Every route is registered through `utoipa_axum::routes!`, so the router
//! and the OpenAPI document are built from the same handler annotations
//! and cannot drift apart.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::{Json, Router};
use phoneflip_config::Template;
use phoneflip_device::{Mac, Model};
use phoneflip_inventory::{Inventory, Phone, PhoneFilter, StoredEvent};
use phoneflip_plan::{plan, Catalogue, Endpoint};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::fleet::{
    extensions, job_links, phone_stage, phone_state, FleetSummary, JobLink, PhoneStage, PhoneState,
    PhoneView,
};
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

/// Every job the store holds (none without a store), for the views that
/// show each phone's place in its job.
pub(crate) fn all_jobs(s: &AppState) -> ApiResult<Vec<phoneflip_jobs::JobState>> {
    match &s.jobs {
        None => Ok(Vec::new()),
        Some(st) => st.list().map_err(|e| ApiError::Internal(e.to_string())),
    }
}

/// Runs `f` on the blocking pool with the inventory and every job.
pub(crate) async fn blocking_with_jobs<T, F>(state: &AppState, f: F) -> ApiResult<T>
where
    F: FnOnce(&dyn Inventory, Vec<phoneflip_jobs::JobState>) -> ApiResult<T> + Send + 'static,
    T: Send + 'static,
{
    let s = state.clone();
    tokio::task::spawn_blocking(move || {
        let jobs = all_jobs(&s)?;
        f(s.inventory.as_ref(), jobs)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("inventory task failed: {e}")))?
}

pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes, what: &str) -> ApiResult<T> {
    validate::body(body, what)
}

/// The routes with their OpenAPI operations, before the state is given.
pub(crate) fn api() -> OpenApiRouter<AppState> {
    use utoipa::OpenApi;
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .routes(routes!(dashboard))
        .routes(routes!(health))
        .routes(routes!(fleet))
        .routes(routes!(list_phones))
        .routes(routes!(get_phone, put_phone, patch_phone, delete_phone))
        .routes(routes!(timeline))
        .routes(routes!(list_templates))
        .routes(routes!(get_template, put_template))
        .routes(routes!(events))
        .routes(routes!(get_plan))
        .routes(routes!(crate::jobs::list, crate::jobs::create))
        .routes(routes!(crate::jobs::preview))
        .routes(routes!(crate::jobs::overview))
        .routes(routes!(crate::jobs::get))
        .routes(routes!(crate::jobs::phones))
        .routes(routes!(crate::jobs::cancel_job))
        .routes(routes!(crate::jobs::start_job))
        .routes(routes!(crate::jobs::pause_job))
        .routes(routes!(crate::jobs::resume_job))
        .routes(routes!(crate::jobs::power_cycle))
        .routes(routes!(crate::live::list_downloads))
        .routes(routes!(crate::live::job_history))
        .routes(routes!(crate::stream::stream))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
}

pub fn router(state: AppState) -> Router {
    let (r, _) = api().split_for_parts();
    r.with_state(state)
}

/// The OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "This API's OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document().clone())
}

/// Whether the server answers, and whether its database takes writes.
#[derive(Serialize, ToSchema)]
struct Health {
    ok: bool,
    /// The TFTP event recorder's writes: failing on a full disk or a
    /// read-only database (TFTP keeps serving meanwhile); absent when
    /// this server records none.
    database: Option<phoneflip_inventory::WriteStatus>,
}

#[utoipa::path(get, path = "/api/health", tag = "meta", responses((status = 200, body = Health)))]
async fn health(State(s): State<AppState>) -> Json<Health> {
    Json(Health {
        ok: true,
        database: s.metrics.store_status(),
    })
}

/// The operator's dashboard.
#[utoipa::path(get, path = "/", tag = "meta",
    responses((status = 200, description = "The dashboard page", content_type = "text/html", body = String)))]
async fn dashboard() -> Html<&'static str> {
    Html(crate::dashboard::PAGE)
}

/// Phones by state, stage, observed load and protocol.
#[utoipa::path(get, path = "/api/fleet", tag = "phones", responses((status = 200, body = FleetSummary)))]
async fn fleet(State(s): State<AppState>) -> ApiResult<Json<FleetSummary>> {
    let summary = blocking_with_jobs(&s, |inv, jobs| {
        let phones = inv.list_phone_states()?;
        Ok(FleetSummary::with_jobs(&phones, &job_links(&jobs)))
    })
    .await?;
    Ok(Json(summary))
}

/// The phone list's filters (all must match) and page.
#[derive(Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PhoneQuery {
    /// Site, exactly (the call manager's device pool).
    pub site: Option<String>,
    /// 7940 or 7960.
    pub model: Option<String>,
    pub tag: Option<String>,
    pub template: Option<String>,
    /// unmanaged, unseen, converting or converted.
    pub state: Option<String>,
    /// The load the phone was seen running, exactly (`P0030801SR02`).
    pub load: Option<String>,
    /// unseen, seen, loader_fetched, application_fetched,
    /// configuration_fetched, registered or failed.
    pub stage: Option<String>,
    /// Only the phones this job selected.
    pub job: Option<i64>,
    /// Part of the MAC, in any case, separators ignored.
    pub mac: Option<String>,
    /// A directory number on one of the phone's lines, exactly.
    pub extension: Option<String>,
    /// Words anywhere in the description, any case.
    pub q: Option<String>,
    /// Page size, 1 to 1000; 100 if absent.
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// Phones per page when the query does not say.
const DEFAULT_PAGE: usize = 100;
/// The largest page: a 5,000-phone fleet in one answer is what made the
/// dashboard fetch megabytes every second.
const MAX_PAGE: usize = 1000;

/// One page of phones and how many match in all.
#[derive(Serialize, ToSchema)]
pub(crate) struct PhonePage {
    #[schema(value_type = Vec<PhoneView>)]
    pub phones: Vec<serde_json::Value>,
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
}

/// The filters that are not columns of the inventory: checked on each
/// phone after the inventory's own filter.
struct Derived {
    state: Option<PhoneState>,
    load: Option<String>,
    stage: Option<PhoneStage>,
    job: Option<i64>,
    mac: Option<String>,
    extension: Option<String>,
    words: Vec<String>,
}

impl Derived {
    fn is_empty(&self) -> bool {
        self.state.is_none()
            && self.load.is_none()
            && self.stage.is_none()
            && self.job.is_none()
            && self.mac.is_none()
            && self.extension.is_none()
            && self.words.is_empty()
    }

    fn matches(&self, p: &Phone, link: Option<&JobLink>) -> bool {
        self.state.is_none_or(|st| phone_state(p) == st)
            && self.stage.is_none_or(|st| phone_stage(p, link) == st)
            && self.job.is_none_or(|j| link.is_some_and(|l| l.job == j))
            && self
                .load
                .as_deref()
                .is_none_or(|l| p.observed_load.as_ref().map(|o| o.as_str()) == Some(l))
            && self
                .mac
                .as_deref()
                .is_none_or(|m| p.mac.to_string().contains(m))
            && self
                .extension
                .as_deref()
                .is_none_or(|x| extensions(p).iter().any(|e| e == x))
            && {
                let d = p.description.to_lowercase();
                self.words.iter().all(|w| d.contains(w.as_str()))
            }
    }
}

/// Checks the query and splits it into the inventory's filter and the
/// derived ones; every bad value is a 400 naming it and what to write.
fn phone_filters(q: PhoneQuery) -> ApiResult<(PhoneFilter, Derived, usize, usize)> {
    let model = match &q.model {
        Some(m) => Some(
            m.parse::<Model>()
                .map_err(|e| ApiError::BadRequest(e.to_string()))?,
        ),
        None => None,
    };
    let state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(st) => Some(
            PhoneState::ALL
                .into_iter()
                .find(|x| x.as_str() == st)
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "unknown state {st:?}: use unmanaged, unseen, converting or converted"
                    ))
                })?,
        ),
    };
    let stage = match q.stage.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(st) => Some(PhoneStage::parse(st).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown stage {st:?}: use {}",
                PhoneStage::ALL.map(|s| s.as_str()).join(", ")
            ))
        })?),
    };
    let mac = match q.mac.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(m) => {
            let hex: String = m
                .chars()
                .filter(|c| !matches!(c, ':' | '-' | '.' | ' '))
                .collect::<String>()
                .to_ascii_uppercase();
            if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) || hex.len() > 12 {
                return Err(ApiError::BadRequest(format!(
                    "mac={m:?}: give up to 12 hex digits of the MAC (separators : - . are ignored)"
                )));
            }
            Some(hex)
        }
    };
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::BadRequest(format!(
            "limit={limit}: a page holds 1 to {MAX_PAGE} phones; follow offset for more"
        )));
    }
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let filter = PhoneFilter {
        site: nonempty(q.site),
        model,
        tag: nonempty(q.tag),
        template: nonempty(q.template),
        auto_registered: None,
    };
    let derived = Derived {
        state,
        load: nonempty(q.load),
        stage,
        job: q.job,
        mac,
        extension: nonempty(q.extension),
        words: q
            .q
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect(),
    };
    Ok((filter, derived, q.offset.unwrap_or(0), limit))
}

/// One page of phones, line passwords never included. Filters: site,
/// model, tag, template, state, load, stage, job, mac, extension, q; paging:
/// limit 1-1000 (default 100) and offset; an unknown parameter is a 400.
#[utoipa::path(get, path = "/api/phones", tag = "phones", params(PhoneQuery),
    responses((status = 200, body = PhonePage), (status = 400, body = ErrorBody)))]
async fn list_phones(State(s): State<AppState>, uri: Uri) -> ApiResult<Json<PhonePage>> {
    let q: PhoneQuery = validate::query(&uri)?;
    let (filter, derived, offset, limit) = phone_filters(q)?;
    let page = blocking_with_jobs(&s, move |inv, jobs| {
        let links = job_links(&jobs);
        let (phones, total) = if derived.is_empty() {
            inv.list_phones_page(&filter, offset, limit)?
        } else {
            // Derived, not stored: filter, then page.
            let matching: Vec<Phone> = inv
                .list_phones(&filter)?
                .into_iter()
                .filter(|p| derived.matches(p, links.get(&p.mac)))
                .collect();
            let total = matching.len();
            (
                matching.into_iter().skip(offset).take(limit).collect(),
                total,
            )
        };
        Ok(PhonePage {
            phones: phones
                .into_iter()
                .map(|p| {
                    let link = links.get(&p.mac);
                    validate::view_in(p, link)
                })
                .collect(),
            total,
            offset,
            limit,
        })
    })
    .await?;
    Ok(Json(page))
}

/// One phone with its derived state and stage.
#[utoipa::path(get, path = "/api/phones/{mac}", tag = "phones",
    params(("mac" = String, Path, description = "The phone's MAC, in any common spelling")),
    responses((status = 200, body = PhoneView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_phone(
    State(s): State<AppState>,
    Path(mac): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let mac = parse_mac(&mac)?;
    let p = blocking_with_jobs(&s, move |inv, jobs| {
        Ok(inv
            .get_phone(mac)?
            .map(|p| validate::view_in(p, job_links(&jobs).get(&mac))))
    })
    .await?;
    p.map(Json)
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

/// Create or replace a phone: every writable field (model, description,
/// site, tags, label, lines, desired_protocol, desired_load, template,
/// overrides) is required and unknown fields are a 400; a line's omitted
/// password is kept.
#[utoipa::path(put, path = "/api/phones/{mac}", tag = "phones", security(("bearer" = [])),
    params(("mac" = String, Path, description = "The phone's MAC")),
    request_body = validate::PhoneInput,
    responses((status = 200, body = PhoneView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn put_phone(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(mac): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    write_phone(s, headers, mac, body, true).await
}

/// Change only the fields named in the body (any subset of a PUT's).
#[utoipa::path(patch, path = "/api/phones/{mac}", tag = "phones", security(("bearer" = [])),
    params(("mac" = String, Path, description = "The phone's MAC")),
    request_body(content = validate::PhoneInput, description = "Any subset of the fields"),
    responses((status = 200, body = PhoneView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn patch_phone(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(mac): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    write_phone(s, headers, mac, body, false).await
}

/// Remove a phone; its events stay.
#[utoipa::path(delete, path = "/api/phones/{mac}", tag = "phones", security(("bearer" = [])),
    params(("mac" = String, Path, description = "The phone's MAC")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Limit {
    /// At most this many events (default 200, at most 10,000).
    limit: Option<usize>,
    /// Only events with a greater id (`/api/events`).
    after: Option<i64>,
}

/// A TFTP request as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct EventView {
    #[serde(flatten)]
    pub event: StoredEvent,
    /// A "File not found" every boot has (RINGLIST.DAT, dialplan.xml,
    /// CTLSEP*.tlv): nothing to worry about.
    pub normal_miss: bool,
}

impl From<StoredEvent> for EventView {
    fn from(event: StoredEvent) -> Self {
        EventView {
            normal_miss: event.event.outcome == phoneflip_inventory::Outcome::NotFound
                && event.event.kind.miss_is_normal(),
            event,
        }
    }
}

fn event_views(evs: Vec<StoredEvent>) -> Vec<EventView> {
    evs.into_iter().map(EventView::from).collect()
}

/// One phone's TFTP requests, oldest first.
#[utoipa::path(get, path = "/api/phones/{mac}/timeline", tag = "events",
    params(("mac" = String, Path, description = "The phone's MAC"), Limit),
    responses((status = 200, body = Vec<EventView>), (status = 400, body = ErrorBody)))]
async fn timeline(
    State(s): State<AppState>,
    Path(mac): Path<String>,
    uri: Uri,
) -> ApiResult<Json<Vec<EventView>>> {
    let q: Limit = validate::query(&uri)?;
    let mac = parse_mac(&mac)?;
    let limit = q.limit.unwrap_or(200).min(10_000);
    Ok(Json(event_views(
        blocking(&s, move |inv| Ok(inv.timeline(mac, limit)?)).await?,
    )))
}

/// TFTP requests after an id, oldest first.
#[utoipa::path(get, path = "/api/events", tag = "events", params(Limit),
    responses((status = 200, body = Vec<EventView>), (status = 400, body = ErrorBody)))]
async fn events(State(s): State<AppState>, uri: Uri) -> ApiResult<Json<Vec<EventView>>> {
    let q: Limit = validate::query(&uri)?;
    let limit = q.limit.unwrap_or(200).min(10_000);
    let after = q.after.unwrap_or(0);
    Ok(Json(event_views(
        blocking(&s, move |inv| Ok(inv.events_after(after, limit)?)).await?,
    )))
}

/// Every template.
#[utoipa::path(get, path = "/api/templates", tag = "templates", responses((status = 200, body = Vec<Template>)))]
async fn list_templates(State(s): State<AppState>) -> ApiResult<Json<Vec<Template>>> {
    let mut all = blocking(&s, |inv| Ok(inv.list_templates()?)).await?;
    for t in &mut all {
        phoneflip_config::redact_settings(&mut t.settings);
    }
    Ok(Json(all))
}

/// One template.
#[utoipa::path(get, path = "/api/templates/{name}", tag = "templates",
    params(("name" = String, Path, description = "The template's name")),
    responses((status = 200, body = Template), (status = 404, body = ErrorBody)))]
async fn get_template(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Template>> {
    let n = name.clone();
    blocking(&s, move |inv| Ok(inv.get_template(&n)?))
        .await?
        .map(|mut t| {
            phoneflip_config::redact_settings(&mut t.settings);
            Json(t)
        })
        .ok_or_else(|| ApiError::NotFound(format!("template {name:?} does not exist")))
}

/// What `PUT /api/templates/{name}` takes: every field, nothing else.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TemplateInput {
    name: String,
    protocol: phoneflip_firmware::Protocol,
    settings: std::collections::BTreeMap<String, String>,
}

/// Create or replace a template; its settings are checked against the
/// protocol's parameters.
#[utoipa::path(put, path = "/api/templates/{name}", tag = "templates", security(("bearer" = [])),
    params(("name" = String, Path, description = "The template's name, as in the body")),
    request_body = TemplateInput,
    responses((status = 200, body = Template), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn put_template(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Template>> {
    authorize(&s, &headers)?;
    let t: TemplateInput = json_body(&body, "template")?;
    let mut t = Template {
        name: t.name,
        protocol: t.protocol,
        settings: t.settings,
    };
    // Secrets are shown masked; sent back masked they keep their value.
    let n = t.name.clone();
    if let Some(old) = blocking(&s, move |inv| Ok(inv.get_template(&n)?)).await? {
        phoneflip_config::restore_redacted(&mut t.settings, &old.settings);
    } else {
        phoneflip_config::restore_redacted(&mut t.settings, &Default::default());
    }
    if t.name != name {
        return Err(ApiError::BadRequest(format!(
            "the body's name {:?} differs from the URL's {name:?}",
            t.name
        )));
    }
    phoneflip_inventory::validate_template(&t)?;
    phoneflip_inventory::check_template_settings(&t)?;
    let mut shown = t.clone();
    blocking(&s, move |inv| Ok(inv.put_template(&t)?)).await?;
    phoneflip_config::redact_settings(&mut shown.settings);
    Ok(Json(shown))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PlanQuery {
    /// protocol:version (`sccp:3.3`) or a load name; required.
    from: Option<String>,
    /// protocol:version (`sip:8.12`) or a load name; required.
    to: Option<String>,
    /// 7940 or 7960.
    model: Option<String>,
}

/// The conversion plan from one load to another, with the firmware in the
/// TFTP root.
#[utoipa::path(get, path = "/api/plan", tag = "plan", params(PlanQuery),
    responses((status = 200, body = phoneflip_plan::Plan), (status = 400, body = ErrorBody)))]
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

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "meta",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
async fn metrics(State(s): State<AppState>) -> ApiResult<Response> {
    let phones = blocking(&s, |inv| Ok(inv.list_phones(&PhoneFilter::default())?)).await?;
    let body = s.metrics.render(&FleetSummary::of(&phones));
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response())
}

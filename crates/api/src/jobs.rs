//! Bulk migration jobs over HTTP: the reference's Bulk Administration >
//! Migrate Phones (find, pick a template, describe, run now or later) and
//! its Job Scheduler (states, cancel).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::Json;
use phoneflip_device::Mac;
use phoneflip_jobs::{
    cancel_and_restore, parse_rfc3339, Counts, Job, JobState, Query, Rollout, Schedule, Target,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::fleet::{
    extensions, job_links, phone_reason, phone_stage, registration_verdict, JobLink, PhoneStage,
    PhoneView,
};
use crate::routes::{authorize, blocking_with_jobs, json_body, AppState};

/// What `POST /api/jobs` takes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    pub description: String,
    pub template: String,
    /// `sip:8.12` or a load name (`P0S3-8-12-00`).
    pub to: String,
    #[serde(default)]
    pub query: Query,
    /// Only these phones (within the query).
    #[serde(default)]
    pub macs: Option<Vec<Mac>>,
    /// RFC 3339 time to start; absent = run immediately.
    #[serde(default)]
    pub at: Option<String>,
    /// Canary, batches, failures allowed, timeouts. In it,
    /// `register_grace_ms` absent waits the default 120 s for a SIP
    /// phone to register; `null` ends the job at conversion.
    #[serde(default)]
    pub rollout: Option<Rollout>,
    /// Create a SIP job even though some phones could not register (no
    /// proxy1_address, proxy_register not 1, a line without a password).
    #[serde(default)]
    pub allow_unregistered: bool,
}

/// A job with its per-state counts, for lists and the dashboard.
#[derive(Serialize, ToSchema)]
pub struct JobView {
    #[serde(flatten)]
    pub state: JobState,
    pub counts: Counts,
}

impl From<JobState> for JobView {
    fn from(state: JobState) -> Self {
        JobView {
            counts: state.counts(),
            state,
        }
    }
}

fn store(s: &AppState) -> Result<std::sync::Arc<dyn phoneflip_jobs::JobStore>, ApiError> {
    s.jobs
        .clone()
        .ok_or_else(|| ApiError::NotFound("this server runs no job store".into()))
}

fn job_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::BadRequest(format!("job id {id:?} is not a number")))
}

fn target(to: &str) -> Result<Target, ApiError> {
    to.parse::<Target>()
        .map_err(|e| ApiError::BadRequest(format!("to: {e}")))
}

/// Every job, oldest first.
#[utoipa::path(get, path = "/api/jobs", tag = "jobs",
    responses((status = 200, body = Vec<JobView>), (status = 404, body = ErrorBody)))]
pub async fn list(State(s): State<AppState>) -> Result<Json<Vec<JobView>>, ApiError> {
    let st = store(&s)?;
    let jobs = tokio::task::spawn_blocking(move || st.list())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(jobs.into_iter().map(JobView::from).collect()))
}

/// One job with every phone's progress.
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "The job's id")),
    responses((status = 200, body = JobView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let id = job_id(&id)?;
    let st = store(&s)?;
    let job = tokio::task::spawn_blocking(move || st.load(id))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    job.map(|j| Json(JobView::from(j)))
        .ok_or_else(|| ApiError::NotFound(format!("job {id} does not exist")))
}

/// Create a migration job: the phones its query (and `macs`) select, moved
/// to `to` with `template`, canary first, then in batches.
#[utoipa::path(post, path = "/api/jobs", tag = "jobs", security(("bearer" = [])),
    request_body = NewJob,
    responses((status = 200, body = JobView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<JobView>, ApiError> {
    authorize(&s, &headers)?;
    let mut new: NewJob = json_body(&body, "job")?;
    // A rollout without `register_grace_ms` waits the default time for
    // registration, as `jobs create` does; only an explicit null ends
    // the job at conversion (the stored jobs' `None`, kept for the jobs
    // written before registration was checked).
    if let Some(r) = new.rollout.as_mut() {
        let raw: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if raw["rollout"].get("register_grace_ms").is_none() {
            r.register_grace_ms = Rollout::default().register_grace_ms;
        }
    }
    let now = phoneflip_inventory::now_millis();
    let schedule = match &new.at {
        None => Schedule::Now,
        Some(t) => {
            Schedule::At(parse_rfc3339(t).map_err(|e| ApiError::BadRequest(format!("at: {e}")))?)
        }
    };
    let job = Job {
        id: 0,
        description: new.description,
        query: new.query,
        template: new.template,
        target: target(&new.to)?,
        schedule,
        rollout: new.rollout.unwrap_or_default(),
        created_ms: now,
    };
    let st = store(&s)?;
    let inv = s.inventory.clone();
    let root = s.catalogue.clone();
    let macs = new.macs;
    let options = phoneflip_jobs::CreateOptions {
        allow_unregistered: new.allow_unregistered,
    };
    let created = tokio::task::spawn_blocking(move || {
        phoneflip_jobs::create_job_with(
            inv.as_ref(),
            st.as_ref(),
            job,
            macs.as_deref(),
            &root,
            now,
            options,
        )
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| match e {
        phoneflip_jobs::CreateError::Store(e) => ApiError::Internal(e.to_string()),
        other => ApiError::BadRequest(other.to_string()),
    })?;
    Ok(Json(JobView::from(created)))
}

/// Cancel a job that has not finished.
#[utoipa::path(post, path = "/api/jobs/{id}/cancel", tag = "jobs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The job's id")),
    responses((status = 200, body = JobView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel_job(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    authorize(&s, &headers)?;
    let id = job_id(&id)?;
    let st = store(&s)?;
    let now = phoneflip_inventory::now_millis();
    let inv = s.inventory.clone();
    let done = tokio::task::spawn_blocking(move || {
        cancel_and_restore(
            st.as_ref(),
            inv.as_ref(),
            id,
            now,
            "cancelled through the API",
        )
        .map(|(st, _)| st)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| match e {
        phoneflip_jobs::CancelError::Store(phoneflip_jobs::StoreError::NotFound(_)) => {
            ApiError::NotFound(e.to_string())
        }
        phoneflip_jobs::CancelError::Store(_) | phoneflip_jobs::CancelError::Restore(_) => {
            ApiError::Internal(e.to_string())
        }
        phoneflip_jobs::CancelError::Job(_) => ApiError::Conflict(e.to_string()),
    })?;
    Ok(Json(JobView::from(done)))
}

/// Loads job `id`, applies an operator's action to it and saves it.
/// The engine saves jobs too: an action that lands between its load and
/// save of the same job is overwritten, as a cancel is; the button says
/// what the job then shows.
async fn act(
    s: &AppState,
    headers: &HeaderMap,
    id: &str,
    action: fn(&mut JobState) -> Result<(), phoneflip_jobs::JobError>,
) -> Result<Json<JobView>, ApiError> {
    authorize(s, headers)?;
    let id = job_id(id)?;
    let st = store(s)?;
    let done = tokio::task::spawn_blocking(move || {
        let mut job = st
            .load(id)
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or_else(|| ApiError::NotFound(format!("job {id} does not exist")))?;
        action(&mut job).map_err(|e| ApiError::Conflict(format!("job {id}: {e}")))?;
        st.save(&job)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok::<_, ApiError>(job)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(JobView::from(done)))
}

/// Start a pending or scheduled job now instead of at its time (the next
/// tick of the engine, within a second, starts its canary).
#[utoipa::path(post, path = "/api/jobs/{id}/start", tag = "jobs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The job's id")),
    responses((status = 200, body = JobView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn start_job(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    act(&s, &headers, &id, JobState::start_now).await
}

/// Pause a running job: no new batch starts; phones already reset finish
/// and are still followed.
#[utoipa::path(post, path = "/api/jobs/{id}/pause", tag = "jobs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The job's id")),
    responses((status = 200, body = JobView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn pause_job(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    act(&s, &headers, &id, JobState::pause).await
}

/// Resume a paused job: the next batch starts when the current one is done.
#[utoipa::path(post, path = "/api/jobs/{id}/resume", tag = "jobs", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The job's id")),
    responses((status = 200, body = JobView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resume_job(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    act(&s, &headers, &id, JobState::resume).await
}

/// What `POST /api/jobs/preview` takes: the selection part of a new job.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[serde(default)]
    pub query: Query,
    /// Only these phones (within the query).
    #[serde(default)]
    pub macs: Option<Vec<Mac>>,
}

/// The phones a job with this selection would take.
#[derive(Serialize, ToSchema)]
pub struct Preview {
    /// How many phones it selects.
    pub total: usize,
    /// The first of them (at most [`PREVIEW_PHONES`]), in MAC order.
    pub phones: Vec<PhoneView>,
    /// Of the selected phones, how many run SCCP (or an unknown load) and
    /// so need someone to pull their power cord.
    pub power_cycles: usize,
}

/// Phones listed in a preview; the total counts them all.
pub const PREVIEW_PHONES: usize = 200;

/// The phones a job's query would select, before it is created (a read:
/// no token needed, nothing is stored).
#[utoipa::path(post, path = "/api/jobs/preview", tag = "jobs",
    request_body = PreviewRequest,
    responses((status = 200, body = Preview), (status = 400, body = ErrorBody)))]
pub async fn preview(State(s): State<AppState>, body: Bytes) -> Result<Json<Preview>, ApiError> {
    let req: PreviewRequest = json_body(&body, "job preview")?;
    let out = blocking_with_jobs(&s, move |inv, jobs| {
        let links = job_links(&jobs);
        let mut selected = req.query.select(inv)?;
        if let Some(macs) = &req.macs {
            selected.retain(|p| macs.contains(&p.mac));
        }
        let power_cycles = selected
            .iter()
            .filter(|p| {
                phoneflip_jobs::ResetMethod::for_load(p.current_load.as_ref())
                    == phoneflip_jobs::ResetMethod::PowerCycle
            })
            .count();
        let mut phones = Vec::new();
        for sel in selected.iter().take(PREVIEW_PHONES) {
            if let Some(p) = inv.get_phone(sel.mac)? {
                phones.push(PhoneView::new(p, links.get(&sel.mac)));
            }
        }
        Ok(Preview {
            total: selected.len(),
            phones,
            power_cycles,
        })
    })
    .await?;
    Ok(Json(out))
}

/// One phone of a job, with what a person needs to find its desk.
#[derive(Serialize, ToSchema)]
pub struct JobPhone {
    pub mac: Mac,
    pub model: Option<phoneflip_device::Model>,
    pub description: String,
    pub site: Option<String>,
    /// Directory numbers on its lines.
    pub extensions: Vec<String>,
    pub stage: PhoneStage,
    /// The job's own word for it (`loader_fetched`, `failed`, ...).
    pub job_stage: String,
    /// Why it failed or is stuck, if it is.
    pub reason: Option<String>,
    /// What its reset came to.
    pub note: Option<String>,
    /// The batch it started in (0 is the canary when there is one).
    pub batch: Option<u32>,
    pub started_ms: Option<i64>,
    /// Waiting for someone to pull its power cord.
    pub power_cycle: bool,
    pub ip: Option<String>,
    /// The registration stage's verdict once the phone converted on a SIP
    /// job: `true` when every line registered, `false` while not (yet).
    pub registered: Option<bool>,
    /// The verdict in words: who was asked and what each line answered.
    pub registration: Option<String>,
}

fn job_phone(
    inv: &dyn phoneflip_inventory::Inventory,
    job: i64,
    e: &phoneflip_jobs::PhoneEntry,
) -> Result<JobPhone, ApiError> {
    let link = JobLink { job, entry: e };
    let p = inv.get_phone(e.mac)?;
    let (registered, registration) = registration_verdict(e);
    let stage = match &p {
        Some(p) => phone_stage(p, Some(&link)),
        None => PhoneStage::Unseen,
    };
    Ok(JobPhone {
        mac: e.mac,
        model: p.as_ref().map(|p| p.model),
        description: p
            .as_ref()
            .map(|p| p.description.clone())
            .unwrap_or_default(),
        site: p.as_ref().and_then(|p| p.site.clone()),
        extensions: p.as_ref().map(extensions).unwrap_or_default(),
        stage,
        job_stage: e.progress.stage.name().to_string(),
        reason: phone_reason(Some(&link)),
        note: e.note.clone(),
        batch: e.batch,
        started_ms: e.started_ms,
        power_cycle: e.needs_power_cycle && !e.is_terminal(),
        ip: e.ip.map(|i| i.to_string()),
        registered,
        registration,
    })
}

/// A page of a job's phones, in the job's order (canary, then batches).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobPhonesQuery {
    /// At most this many phones; all if absent.
    pub limit: Option<usize>,
    /// Skip this many first.
    pub offset: Option<usize>,
}

/// A job's phones with their stage, reason and desk; `limit` and
/// `offset` page through a big job (the job's `phones` count in
/// `/api/jobs/overview` says how many there are).
#[utoipa::path(get, path = "/api/jobs/{id}/phones", tag = "jobs",
    params(("id" = i64, Path, description = "The job's id"), JobPhonesQuery),
    responses((status = 200, body = Vec<JobPhone>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn phones(
    State(s): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Json<Vec<JobPhone>>, ApiError> {
    let id = job_id(&id)?;
    let q: JobPhonesQuery = crate::validate::query(&uri)?;
    if q.limit == Some(0) {
        return Err(ApiError::BadRequest(
            "limit=0: a page holds at least one phone; leave limit out for all".into(),
        ));
    }
    let st = store(&s)?;
    let out = blocking_with_jobs(&s, move |inv, _| {
        let job = st
            .load(id)
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or_else(|| ApiError::NotFound(format!("job {id} does not exist")))?;
        job.phones
            .iter()
            .skip(q.offset.unwrap_or(0))
            .take(q.limit.unwrap_or(usize::MAX))
            .map(|e| job_phone(inv, id, e))
            .collect()
    })
    .await?;
    Ok(Json(out))
}

/// A job without its phones: what a list of jobs shows.
#[derive(Serialize, ToSchema)]
pub struct JobBrief {
    pub job: Job,
    pub status: phoneflip_jobs::JobStatus,
    pub reason: Option<String>,
    pub counts: Counts,
    /// How many phones the job holds.
    pub phones: usize,
    pub batches_started: u32,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
}

impl From<&JobState> for JobBrief {
    fn from(s: &JobState) -> Self {
        JobBrief {
            job: s.job.clone(),
            status: s.status,
            reason: s.reason.clone(),
            counts: s.counts(),
            phones: s.phones.len(),
            batches_started: s.batches_started,
            started_ms: s.started_ms,
            finished_ms: s.finished_ms,
        }
    }
}

/// Every job, oldest first, without its phones (a job of the whole fleet
/// holds one entry per phone: `/api/jobs` sends them all).
#[utoipa::path(get, path = "/api/jobs/overview", tag = "jobs",
    responses((status = 200, body = Vec<JobBrief>), (status = 404, body = ErrorBody)))]
pub async fn overview(State(s): State<AppState>) -> Result<Json<Vec<JobBrief>>, ApiError> {
    let st = store(&s)?;
    let jobs = tokio::task::spawn_blocking(move || st.list())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(jobs.iter().map(JobBrief::from).collect()))
}

/// A phone someone must walk to and power-cycle.
#[derive(Serialize, ToSchema)]
pub struct PowerCycle {
    pub job: i64,
    pub job_description: String,
    #[serde(flatten)]
    pub phone: JobPhone,
}

/// Every phone that running jobs wait on a person to power-cycle (SCCP
/// phones, which only their call manager can reset, and SIP phones whose
/// NOTIFY failed), by site and description so the walk is short.
#[utoipa::path(get, path = "/api/power-cycle", tag = "jobs",
    responses((status = 200, body = Vec<PowerCycle>)))]
pub async fn power_cycle(State(s): State<AppState>) -> Result<Json<Vec<PowerCycle>>, ApiError> {
    let out = blocking_with_jobs(&s, move |inv, jobs| {
        let mut out = Vec::new();
        for j in jobs.iter().filter(|j| !j.status.is_terminal()) {
            for e in j
                .phones
                .iter()
                .filter(|e| e.needs_power_cycle && !e.is_terminal())
            {
                out.push(PowerCycle {
                    job: j.job.id,
                    job_description: j.job.description.clone(),
                    phone: job_phone(inv, j.job.id, e)?,
                });
            }
        }
        out.sort_by(|a, b| {
            (&a.phone.site, &a.phone.description, a.phone.mac).cmp(&(
                &b.phone.site,
                &b.phone.description,
                b.phone.mac,
            ))
        });
        Ok(out)
    })
    .await?;
    Ok(Json(out))
}

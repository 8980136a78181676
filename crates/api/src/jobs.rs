//! Bulk migration jobs over HTTP: the reference's Bulk Administration >
//! Migrate Phones (find, pick a template, describe, run now or later) and
//! its Job Scheduler (states, cancel).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use phoneflip_device::Mac;
use phoneflip_jobs::{
    cancel_and_restore, parse_rfc3339, Counts, Job, JobState, Query, Rollout, Schedule, Target,
};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::routes::{authorize, json_body, AppState};

/// What `POST /api/jobs` takes.
#[derive(Deserialize)]
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
    #[serde(default)]
    pub rollout: Option<Rollout>,
    /// Create a SIP job even though some phones could not register (no
    /// proxy1_address, proxy_register not 1, a line without a password).
    #[serde(default)]
    pub allow_unregistered: bool,
}

/// A job with its per-state counts, for lists and the dashboard.
#[derive(Serialize)]
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

fn target(to: &str) -> Result<Target, ApiError> {
    to.parse::<Target>()
        .map_err(|e| ApiError::BadRequest(format!("to: {e}")))
}

pub async fn list(State(s): State<AppState>) -> Result<Json<Vec<JobView>>, ApiError> {
    let st = store(&s)?;
    let jobs = tokio::task::spawn_blocking(move || st.list())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(jobs.into_iter().map(JobView::from).collect()))
}

pub async fn get(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("job id {id:?} is not a number")))?;
    let st = store(&s)?;
    let job = tokio::task::spawn_blocking(move || st.load(id))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    job.map(|j| Json(JobView::from(j)))
        .ok_or_else(|| ApiError::NotFound(format!("job {id} does not exist")))
}

pub async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<JobView>, ApiError> {
    authorize(&s, &headers)?;
    let new: NewJob = json_body(&body, "job")?;
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

pub async fn cancel_job(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    authorize(&s, &headers)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("job id {id:?} is not a number")))?;
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

//! What moves while an operator watches: the image downloads under way
//! (bytes acknowledged of the whole image, from the TFTP server's
//! progress reports through [`crate::Metrics`]) and a job's stages over
//! time (its phones' TFTP events replayed through the jobs crate's fold,
//! the same one that drives the job, so the chart cannot disagree with
//! the table).

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, State};
use axum::Json;
use phoneflip_device::Mac;
use phoneflip_jobs::{JobState, Progress, TransferEvent};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::fleet::{fold_stage, PhoneStage};
use crate::routes::{all_jobs, AppState};

/// An image download under way.
#[derive(Serialize, ToSchema, Clone, PartialEq, Debug)]
pub struct Download {
    /// The phone, when a job knows the address it fetches from.
    pub mac: Option<Mac>,
    pub client_ip: String,
    pub file: String,
    /// Bytes the phone acknowledged so far.
    pub bytes: u64,
    /// The whole image.
    pub size: u64,
    /// bytes / size, 0 to 100.
    pub percent: u8,
    pub started_ms: i64,
}

/// The downloads under way, each with its phone where a job knows it.
pub(crate) fn downloads(s: &AppState, jobs: &[JobState]) -> Vec<Download> {
    let live = s.metrics.live_downloads();
    if live.is_empty() {
        return Vec::new();
    }
    // Newest job last, so its address wins.
    let mut by_ip: HashMap<std::net::IpAddr, Mac> = HashMap::new();
    for j in jobs {
        for e in &j.phones {
            if let Some(ip) = e.ip {
                by_ip.insert(ip, e.mac);
            }
        }
    }
    live.into_iter()
        .map(|p| Download {
            mac: by_ip.get(&p.client.ip()).copied(),
            client_ip: p.client.ip().to_string(),
            percent: (p.bytes.saturating_mul(100) / p.size.max(1)).min(100) as u8,
            file: p.file,
            bytes: p.bytes,
            size: p.size,
            started_ms: p
                .started
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
        })
        .collect()
}

/// Image downloads under way (progress bars for the phones fetching).
#[utoipa::path(get, path = "/api/downloads", tag = "events",
    responses((status = 200, body = Vec<Download>)))]
pub async fn list_downloads(State(s): State<AppState>) -> Result<Json<Vec<Download>>, ApiError> {
    let st = s.clone();
    let out = tokio::task::spawn_blocking(move || {
        let jobs = all_jobs(&st)?;
        Ok::<_, ApiError>(downloads(&st, &jobs))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(out))
}

/// How many of a job's phones were at each stage at one time.
#[derive(Serialize, ToSchema, Clone, Debug, Default, PartialEq)]
pub struct StagePoint {
    pub t_ms: i64,
    /// Nothing of the target fetched yet.
    pub waiting: usize,
    pub loader_fetched: usize,
    pub application_fetched: usize,
    pub configuration_fetched: usize,
    pub registered: usize,
    pub failed: usize,
}

impl StagePoint {
    fn add(&mut self, stage: PhoneStage) {
        match stage {
            PhoneStage::LoaderFetched => self.loader_fetched += 1,
            PhoneStage::ApplicationFetched => self.application_fetched += 1,
            PhoneStage::ConfigurationFetched => self.configuration_fetched += 1,
            PhoneStage::Registered => self.registered += 1,
            PhoneStage::Failed => self.failed += 1,
            PhoneStage::Unseen | PhoneStage::Seen => self.waiting += 1,
        }
    }
}

/// A job's stages over time, for the dashboard's chart.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct JobHistory {
    pub job: i64,
    /// From the job's start to now (or its end), oldest first; the last
    /// point is the job's own state.
    pub points: Vec<StagePoint>,
}

/// Points in a history: enough for a chart a few hundred pixels wide.
pub const HISTORY_POINTS: usize = 60;

/// Replays the job's phones' events (`events`, oldest first) through the
/// fold at [`HISTORY_POINTS`] times from its start to `now`. A pure
/// function of the job and its events.
pub fn history(job: &JobState, events: &[TransferEvent], now: i64) -> JobHistory {
    let Some(start) = job.started_ms else {
        return JobHistory {
            job: job.job.id,
            points: Vec::new(),
        };
    };
    let end = job.finished_ms.unwrap_or(now).max(start + 1);
    let macs: HashSet<Mac> = job.phones.iter().map(|e| e.mac).collect();
    let registered_at: HashMap<Mac, i64> = job
        .phones
        .iter()
        .filter_map(|e| Some((e.mac, e.registration.as_ref()?.registered_ms?)))
        .collect();
    let mut folds: HashMap<Mac, Progress> = HashMap::new();
    let mut evs = events
        .iter()
        .filter(|e| e.time_ms >= start && e.mac.is_some_and(|m| macs.contains(&m)))
        .peekable();
    let mut points = Vec::with_capacity(HISTORY_POINTS);
    for i in 0..HISTORY_POINTS {
        let t = start + (end - start) * i as i64 / (HISTORY_POINTS - 1) as i64;
        while let Some(e) = evs.next_if(|e| e.time_ms <= t) {
            if let Some(mac) = e.mac {
                folds.entry(mac).or_default().apply(mac, &job.job.target, e);
            }
        }
        let mut p = StagePoint {
            t_ms: t,
            ..Default::default()
        };
        for e in &job.phones {
            let stage = match folds.get(&e.mac) {
                Some(f) => fold_stage(
                    &f.stage,
                    registered_at.get(&e.mac).is_some_and(|r| *r <= t),
                    PhoneStage::Seen,
                ),
                // Already on the target when the job began.
                None if e.progress.stage.is_terminal() && e.started_ms.is_none() => fold_stage(
                    &e.progress.stage,
                    registered_at.get(&e.mac).is_some_and(|r| *r <= t),
                    PhoneStage::Seen,
                ),
                None => PhoneStage::Seen,
            };
            p.add(stage);
        }
        points.push(p);
    }
    // The job's own word for now: timeouts and registration verdicts are
    // not in the events.
    if let Some(last) = points.last_mut() {
        let mut p = StagePoint {
            t_ms: last.t_ms,
            ..Default::default()
        };
        for e in &job.phones {
            p.add(fold_stage(
                &e.progress.stage,
                e.registration.as_ref().is_some_and(|r| r.is_registered()),
                PhoneStage::Seen,
            ));
        }
        *last = p;
    }
    JobHistory {
        job: job.job.id,
        points,
    }
}

/// A job's stages over time: how many of its phones were waiting, had
/// fetched the loader, the application, the new configuration, had
/// registered or had failed, at 60 times from its start to now.
#[utoipa::path(get, path = "/api/jobs/{id}/history", tag = "jobs",
    params(("id" = i64, Path, description = "The job's id")),
    responses((status = 200, body = JobHistory), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn job_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobHistory>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("job id {id:?} is not a number")))?;
    let st = s.clone();
    let out = tokio::task::spawn_blocking(move || {
        let job = all_jobs(&st)?
            .into_iter()
            .find(|j| j.job.id == id)
            .ok_or_else(|| ApiError::NotFound(format!("job {id} does not exist")))?;
        let macs: HashSet<Mac> = job.phones.iter().map(|e| e.mac).collect();
        let mut events = Vec::new();
        let mut cursor = 0;
        loop {
            let page = st.inventory.events_after(cursor, 10_000)?;
            let full = page.len() == 10_000;
            for e in page {
                cursor = e.id;
                if e.event.mac.is_some_and(|m| macs.contains(&m))
                    && job.started_ms.is_some_and(|t| e.event.time_ms >= t)
                {
                    events.push(TransferEvent::from(&e.event));
                }
            }
            if !full {
                break;
            }
        }
        Ok::<_, ApiError>(history(&job, &events, phoneflip_inventory::now_millis()))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(Json(out))
}

//! Live updates for the dashboard by server-sent events: new TFTP requests
//! as they are recorded (`tftp`), a note whenever a job moves (`jobs`), and
//! the image downloads under way whenever one moves (`downloads`),
//! so that a page re-reads only what it shows, only when something changed,
//! instead of polling everything every second.
//!
//! Owns the change detection; what the events mean is the routes' views.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::Uri;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use phoneflip_inventory::StoredEvent;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::live::{downloads, Download};
use crate::routes::{all_jobs, AppState, EventView};
use crate::validate;

/// How often the store is looked at; phones take seconds per file, so
/// half a second is live enough and costs two small queries.
const POLL: Duration = Duration::from_millis(500);
/// Events sent when a stream opens, so the log is not empty.
const BACKLOG: usize = 50;
/// Events read per look.
const CHUNK: usize = 1000;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct StreamQuery {
    /// Send the TFTP events after this id (default: the last 50).
    after: Option<i64>,
}

/// The data of a `jobs` event: enough to tell what moved.
#[derive(Serialize, ToSchema, PartialEq, Clone)]
pub struct JobsChanged {
    /// (job id, status, converted, failed, in progress, waiting, power
    /// cycles pending) per job.
    pub jobs: Vec<JobPulse>,
}

#[derive(Serialize, ToSchema, PartialEq, Clone)]
pub struct JobPulse {
    pub id: i64,
    pub status: phoneflip_jobs::JobStatus,
    pub counts: phoneflip_jobs::Counts,
    pub power_cycles: usize,
    /// The last TFTP event the job folded in.
    pub cursor: i64,
}

fn pulse(jobs: &[phoneflip_jobs::JobState]) -> Result<JobsChanged, ApiError> {
    Ok(JobsChanged {
        jobs: jobs
            .iter()
            .map(|j| JobPulse {
                id: j.job.id,
                status: j.status,
                counts: j.counts(),
                power_cycles: j
                    .phones
                    .iter()
                    .filter(|e| e.needs_power_cycle && !e.is_terminal())
                    .count(),
                cursor: j.cursor,
            })
            .collect(),
    })
}

/// The last `n` events and the id to follow from.
fn backlog(s: &AppState, n: usize) -> Result<(Vec<StoredEvent>, i64), ApiError> {
    let mut last = VecDeque::new();
    let mut cursor = 0;
    loop {
        let page = s.inventory.events_after(cursor, 10_000)?;
        let full = page.len() == 10_000;
        for e in page {
            cursor = e.id;
            last.push_back(e);
            if last.len() > n {
                last.pop_front();
            }
        }
        if !full {
            break;
        }
    }
    Ok((last.into(), cursor))
}

fn tftp_event(evs: Vec<StoredEvent>) -> Option<Event> {
    let last = evs.last()?.id;
    let views: Vec<EventView> = evs.into_iter().map(EventView::from).collect();
    Event::default()
        .event("tftp")
        .id(last.to_string())
        .json_data(views)
        .ok()
}

/// What the last look saw, to send only what changed.
#[derive(Clone, Default)]
struct Seen {
    pulse: Option<JobsChanged>,
    downloads: Vec<Download>,
}

/// One look at the store: what to send, and the new cursor and pulse.
fn look(s: &AppState, cursor: i64, before: &Seen) -> Result<(Vec<Event>, i64, Seen), ApiError> {
    let evs = s.inventory.events_after(cursor, CHUNK)?;
    let cursor = evs.last().map_or(cursor, |e| e.id);
    let mut out: Vec<Event> = tftp_event(evs).into_iter().collect();
    let jobs = all_jobs(s)?;
    let now = pulse(&jobs)?;
    if before.pulse.as_ref() != Some(&now) {
        if let Ok(e) = Event::default().event("jobs").json_data(&now) {
            out.push(e);
        }
    }
    let downloads = downloads(s, &jobs);
    if downloads != before.downloads {
        if let Ok(e) = Event::default().event("downloads").json_data(&downloads) {
            out.push(e);
        }
    }
    Ok((
        out,
        cursor,
        Seen {
            pulse: Some(now),
            downloads,
        },
    ))
}

struct Follow {
    state: AppState,
    cursor: i64,
    seen: Seen,
    queue: VecDeque<Event>,
}

/// Live TFTP requests (`event: tftp`, data: an array of events, `id`: the
/// last one's), job changes (`event: jobs`, data: each job's counts) and
/// image downloads under way (`event: downloads`, data: each download's
/// bytes of its size, as `/api/downloads`).
#[utoipa::path(get, path = "/api/stream", tag = "events", params(StreamQuery),
    responses(
        (status = 200, description = "text/event-stream: `tftp` events carry an array of TFTP events, `jobs` events each job's counts", content_type = "text/event-stream", body = Vec<EventView>),
        (status = 400, body = ErrorBody)))]
pub async fn stream(
    State(s): State<AppState>,
    uri: Uri,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let q: StreamQuery = validate::query(&uri)?;
    let st = s.clone();
    let (first, cursor) = tokio::task::spawn_blocking(move || match q.after {
        Some(after) => Ok::<_, ApiError>((Vec::new(), after)),
        None => backlog(&st, BACKLOG),
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let follow = Follow {
        state: s,
        cursor,
        seen: Seen::default(),
        queue: tftp_event(first).into_iter().collect(),
    };
    let events = futures_util::stream::unfold(follow, |mut f| async move {
        loop {
            if let Some(e) = f.queue.pop_front() {
                return Some((Ok(e), f));
            }
            if f.seen.pulse.is_some() {
                tokio::time::sleep(POLL).await;
            }
            let st = f.state.clone();
            let (cursor, before) = (f.cursor, f.seen.clone());
            let looked = tokio::task::spawn_blocking(move || look(&st, cursor, &before)).await;
            match looked {
                Ok(Ok((events, cursor, seen))) => {
                    f.queue.extend(events);
                    f.cursor = cursor;
                    f.seen = seen;
                }
                // The store failed or the task died: say so and try again
                // after the pause, rather than end the page's updates.
                Ok(Err(e)) => {
                    tracing::warn!("event stream: {e}");
                    f.seen
                        .pulse
                        .get_or_insert_with(|| JobsChanged { jobs: Vec::new() });
                }
                Err(e) => {
                    tracing::warn!("event stream: {e}");
                    f.seen
                        .pulse
                        .get_or_insert_with(|| JobsChanged { jobs: Vec::new() });
                }
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

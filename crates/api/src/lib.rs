//! The HTTP face of `phoneflip serve`: a JSON API over the inventory
//! (phones, templates, events, plans), a Prometheus `/metrics` endpoint, an
//! OpenAPI document and the live dashboard.
//!
//! Owns request validation, authentication of writes (a bearer token) and
//! the fleet view (each phone's state derived from its observed and desired
//! loads). Must not render files, speak TFTP or decide conversions: it
//! calls the inventory and the planner and reports what they say.

mod dashboard;
mod error;
mod fleet;
mod jobs;
mod live;
mod metrics;
mod openapi;
mod routes;
mod stream;
mod validate;

pub use error::ApiError;
pub use fleet::{phone_stage, phone_state, FleetSummary, PhoneStage, PhoneState, PhoneView};
pub use jobs::{JobPhone, JobView, NewJob, PowerCycle, Preview};
pub use live::{history as job_history, Download, JobHistory, StagePoint};
pub use metrics::Metrics;
pub use openapi::document as openapi_document;
pub use routes::{router, AppState};

//! Bulk migration jobs: selecting phones, rolling a protocol/load change out in batches,
//! inferring each phone's progress from its TFTP fetches, and resetting phones.
//!
//! Owns: the job domain, the sans-IO scheduler, job persistence in its own tables,
//! the SIP check-sync NOTIFY codec and sender, and auto-registration decisions.
//! Must not touch: the inventory's tables or migrations, the TFTP server, config rendering.

pub mod job;
pub mod progress;
pub mod scheduler;

pub use job::{
    CurrentCriterion, Job, JobError, JobId, JobStatus, JobStatusError, MacPattern, Millis, Query,
    Rollout, Schedule, Target,
};
pub use progress::{infer, Progress, Stage, TransferEvent, TransferOutcome, IMAGE_FAILURE_LIMIT};
pub use scheduler::{tick, Action, Counts, JobState, PhoneEntry, ResetMethod, Selected};
pub mod autoreg;
pub mod create;
pub mod engine;
pub mod notify;
pub mod sip;
pub mod store;
pub mod time;

pub use autoreg::{decide, plan_revert, AutoRegistration, Decision, RevertError, RevertPlan};
pub use create::{create_job, CreateError};
pub use engine::{
    cancel, step, CancelError, Effects, EngineError, EventSource, InventoryEffects,
    InventoryEvents, SyncBumper,
};
pub use notify::{send_check_sync, NotifyError};
pub use sip::{CheckSyncNotify, NotifyOutcome, SipError, SipResponse, Timers};
pub use store::{JobStore, MemoryJobStore, SqliteJobStore, StoreError};
pub use time::{format_rfc3339, parse_rfc3339, TimeError};

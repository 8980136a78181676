//! Bulk migration jobs (the reference's Bulk Administration > Migrate
//! Phones and Job Scheduler): selecting phones, rolling a protocol/load
//! change out in a canary and batches, inferring each phone's progress from
//! its TFTP fetches only, and resetting phones (check-sync NOTIFY for SIP,
//! a listed power cycle for SCCP).
//!
//! Owns: the job domain and status table ([`job`]), the progress fold
//! ([`progress`]), the sans-IO scheduler ([`scheduler::tick`]), job
//! persistence in its own tables and migration table ([`store`]), the
//! check-sync NOTIFY and RFC 3261 timers ([`sip`], over the
//! `phoneflip-sip` codec) with a bounded, cancellable tokio UDP
//! sender ([`notify`]), auto-registration and revert decisions
//! ([`autoreg`]), the registration stage's verdicts ([`registration`]),
//! and the driver that ties them to the inventory
//! ([`engine`]).
//!
//! Must not touch: the inventory's tables or migrations (only its
//! [`phoneflip_inventory::Inventory`] trait), the TFTP server, config
//! rendering (it only sets the `sync` override rendering already honours).
//!
//! Wiring into a server: `engine::run_until(store, Arc::new(InventoryEvents(inv)),
//! Arc::new(InventoryEffects::new(inv, InventorySyncBumper(inv))), every, shutdown)`,
//! which calls [`engine::step`] once a tick.

pub mod job;
pub mod progress;
pub mod scheduler;

pub use job::{
    CurrentCriterion, Job, JobError, JobId, JobStatus, JobStatusError, MacPattern, Millis, Query,
    Rollout, Schedule, Target,
};
pub use progress::{
    infer, Progress, Refresh, Stage, TransferEvent, TransferOutcome, IMAGE_FAILURE_LIMIT,
};
pub use scheduler::{
    tick, Action, Counts, JobState, PhoneEntry, PriorRecord, ResetMethod, ResetReport, Selected,
};
pub mod autoreg;
pub mod create;
pub mod engine;
pub mod notify;
#[cfg(feature = "postgres")]
pub mod pgstore;
pub mod registration;
pub mod sip;
pub mod store;
pub mod time;

pub use autoreg::{decide, plan_revert, AutoRegistration, Decision, RevertError, RevertPlan};
pub use create::{create_job, create_job_with, intermediate_hops, CreateError, CreateOptions};
pub use engine::{
    cancel, cancel_and_restore, next_sync, run, run_until, step, step_until, CancelError, Effects,
    EngineError, EventSource, InventoryEffects, InventoryEvents, InventorySyncBumper,
    RegistrarCheck, SyncBumper,
};
pub use notify::{send_check_sync, NotifyError};
#[cfg(feature = "postgres")]
pub use pgstore::{PgJobStore, DEFAULT_LEASE};
pub use registration::{registration_problems, LineCheck, Registration, RegistrationReport};
pub use sip::{CheckSyncNotify, NotifyOutcome, SipError, SipResponse, Timers};
pub use store::{not_ours, JobStore, MemoryJobStore, SqliteJobStore, StoreError};
pub use time::{format_rfc3339, parse_rfc3339, TimeError};

//! The sans-IO job scheduler: time and TFTP transfers in, actions out.
//!
//! Nothing here sleeps, reads a clock or touches a socket. The driver calls
//! [`tick`] with the current time and the transfers seen since the last
//! call, carries out the returned [`Action`]s and saves the [`JobState`].

use std::net::IpAddr;

use phoneflip_device::Mac;
use phoneflip_firmware::{LoadName, Protocol};
use serde::{Deserialize, Serialize};

use crate::job::{Job, JobError, JobStatus, Millis, Schedule};
use crate::progress::{Progress, Stage, TransferEvent};
use crate::registration::{Registration, RegistrationReport, RECHECK_MS};

/// How a phone is made to reboot and fetch its new files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResetMethod {
    /// SIP loads: bump `sync`, then NOTIFY with `Event: check-sync`.
    CheckSync,
    /// SCCP (and MGCP, or unknown) loads: only their call manager can reset
    /// them, so a person must pull the power or Ethernet cord.
    PowerCycle,
}

impl ResetMethod {
    /// The method for a phone running `load` (unknown: a power cycle, the
    /// one reset that works on anything).
    pub fn for_load(load: Option<&LoadName>) -> ResetMethod {
        match load.map(LoadName::protocol) {
            Some(Protocol::Sip) => ResetMethod::CheckSync,
            _ => ResetMethod::PowerCycle,
        }
    }
}

/// A phone chosen for a job, with what was known of it at selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selected {
    pub mac: Mac,
    /// The load the phone was last seen running, if any.
    pub current_load: Option<LoadName>,
}

/// One phone's place in a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PhoneEntry {
    pub mac: Mac,
    pub reset: ResetMethod,
    /// The batch it was started in (0 is the canary when there is one).
    pub batch: Option<u32>,
    pub started_ms: Option<Millis>,
    /// Its address as last seen in a transfer; where a NOTIFY goes.
    #[schema(value_type = Option<String>)]
    pub ip: Option<IpAddr>,
    pub progress: Progress,
    /// The driver carried out this phone's reset; until then every tick
    /// asks for it again, so a crash between saving and resetting cannot
    /// leave a started phone untouched.
    #[serde(default)]
    pub reset_done: bool,
    /// What the reset came to ("200 OK", "power cycle needed", an error).
    #[serde(default)]
    pub note: Option<String>,
    /// A person must pull this phone's power: SCCP, or the NOTIFY failed.
    #[serde(default)]
    pub needs_power_cycle: bool,
    /// The phone's record before the job pointed it at its target, so a
    /// cancel can put back what the job changed; `None` for jobs created
    /// before this was kept.
    #[serde(default)]
    pub prior: Option<PriorRecord>,
    /// Loads the phone's plan passes through before the target (the
    /// reference's intermediate hops, e.g. `POS30203` for SCCP 3.x to SIP
    /// 4.x); empty for a direct hop or an unknown current load.
    #[serde(default)]
    pub via: Vec<LoadName>,
    /// The last stage of a job that waits for registration: set when the
    /// phone converted, finished when every line registered.
    #[serde(default)]
    pub registration: Option<Registration>,
}

/// The fields of a phone's record a job changes (see
/// `InventoryEffects::reset`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriorRecord {
    pub template: Option<String>,
    pub desired_protocol: Option<Protocol>,
    pub desired_load: Option<LoadName>,
}

impl PriorRecord {
    pub fn of(phone: &phoneflip_inventory::Phone) -> PriorRecord {
        PriorRecord {
            template: phone.template.clone(),
            desired_protocol: phone.desired_protocol,
            desired_load: phone.desired_load.clone(),
        }
    }

    /// What the job sets (see `InventoryEffects::reset`).
    pub fn of_job(job: &Job) -> PriorRecord {
        PriorRecord {
            template: Some(job.template.clone()),
            desired_protocol: Some(job.target.protocol()),
            desired_load: Some(job.target.load.clone()),
        }
    }

    /// Compared by spelling, as the phones compare load names.
    pub fn same(&self, other: &PriorRecord) -> bool {
        self.template == other.template
            && self.desired_protocol == other.desired_protocol
            && self.desired_load.as_ref().map(LoadName::as_str)
                == other.desired_load.as_ref().map(LoadName::as_str)
    }

    /// Writes these fields into `phone`.
    pub fn apply_to(&self, phone: &mut phoneflip_inventory::Phone) {
        phone.template = self.template.clone();
        phone.desired_protocol = self.desired_protocol;
        phone.desired_load = self.desired_load.clone();
    }
}

/// What carrying out a reset came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetReport {
    /// One line for the job's report.
    pub line: String,
    /// The phone was not (or could not be) reset remotely.
    pub power_cycle: bool,
    /// When the phone's record was pointed at the job's template and
    /// target (before the reset itself); `None`: the driver did not say,
    /// and the phone's start time stands for it.
    #[serde(default)]
    pub applied_ms: Option<Millis>,
}

impl ResetReport {
    pub fn done(line: impl Into<String>) -> Self {
        ResetReport {
            line: line.into(),
            power_cycle: false,
            applied_ms: None,
        }
    }
    pub fn power_cycle(line: impl Into<String>) -> Self {
        ResetReport {
            line: line.into(),
            power_cycle: true,
            applied_ms: None,
        }
    }
    /// The report, saying the record was written at `at`.
    pub fn applied_at(mut self, at: Millis) -> Self {
        self.applied_ms = Some(at);
        self
    }
}

impl PhoneEntry {
    /// Finished: failed, or converted with the job's files and (when the
    /// job waits for it) registered.
    pub fn is_terminal(&self) -> bool {
        self.progress.stage.is_terminal()
            && !self.awaiting_config()
            && !self.awaiting_registration()
    }

    /// Converted before the job gave it its record, and not yet seen
    /// fetching its config since (see [`Progress::refresh`]).
    pub fn awaiting_config(&self) -> bool {
        self.is_converted() && self.progress.refresh.as_ref().is_some_and(|r| !r.is_done())
    }

    /// Converted before its batch (or before the job) while its record
    /// was not yet the job's: it must still be started, so that it gets
    /// the job's template. A record already the job's needs nothing; a
    /// job that kept no record from before (`prior` unknown) is left as
    /// it was.
    fn wants_record(&self, job: &PriorRecord) -> bool {
        self.started_ms.is_none()
            && self.is_converted()
            && self.progress.refresh.is_none()
            && self.prior.as_ref().is_some_and(|p| !p.same(job))
    }

    /// Converted, but not every line registered yet.
    pub fn awaiting_registration(&self) -> bool {
        self.is_converted()
            && !self.awaiting_config()
            && self
                .registration
                .as_ref()
                .is_some_and(|r| !r.is_registered())
    }
    /// Still to be moved by its reset: not converted or failed yet, or
    /// converted without the job's files.
    fn unfinished_reset(&self) -> bool {
        !self.progress.stage.is_terminal() || self.awaiting_config()
    }

    pub fn is_converted(&self) -> bool {
        matches!(self.progress.stage, Stage::Converted { .. })
    }
    pub fn failure(&self) -> Option<&str> {
        match &self.progress.stage {
            Stage::Failed { cause } => Some(cause),
            _ => None,
        }
    }
}

/// Everything the scheduler knows about a job; persisted whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobState {
    pub job: Job,
    pub status: JobStatus,
    pub phones: Vec<PhoneEntry>,
    pub batches_started: u32,
    pub started_ms: Option<Millis>,
    pub finished_ms: Option<Millis>,
    /// Why the job failed or was cancelled.
    pub reason: Option<String>,
    /// The id of the last transfer event fed in; owned by the driver.
    pub cursor: i64,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// A batch begins (for the report and the dashboard). The work for
    /// each phone is in its [`Action::ResetPhone`].
    StartBatch {
        batch: u32,
        canary: bool,
        macs: Vec<Mac>,
    },
    /// Point the phone's record at the job's template and target (so its
    /// config files change), then reset it; idempotent, and repeated on
    /// every tick until [`JobState::ack_reset`] confirms it.
    ResetPhone {
        mac: Mac,
        method: ResetMethod,
        ip: Option<IpAddr>,
    },
    MarkConverted {
        mac: Mac,
        file: String,
    },
    /// Ask the registrar (or probe the phone at `ip`) whether the
    /// converted phone's lines registered, then
    /// [`JobState::ack_registration`].
    CheckRegistration {
        mac: Mac,
        ip: Option<IpAddr>,
    },
    PhoneFailed {
        mac: Mac,
        cause: String,
    },
    Fail {
        reason: String,
    },
    Complete {
        converted: usize,
        failed: usize,
    },
}

impl Action {
    /// One line for a person reading the job's report.
    pub fn report_line(&self) -> String {
        match self {
            Action::StartBatch { batch, canary, macs } => format!(
                "batch {batch}{}: {} phone(s) moved to the job's template: {}",
                if *canary { " (canary)" } else { "" },
                macs.len(),
                macs.iter().map(Mac::to_string).collect::<Vec<_>>().join(", ")
            ),
            Action::ResetPhone {
                mac,
                method: ResetMethod::CheckSync,
                ip,
            } => match ip {
                Some(ip) => format!("{mac}: reset by check-sync NOTIFY to {ip}"),
                None => format!("{mac}: reset by check-sync NOTIFY (address not yet known)"),
            },
            Action::ResetPhone {
                mac,
                method: ResetMethod::PowerCycle,
                ..
            } => format!(
                "{mac}: POWER CYCLE NEEDED: an SCCP phone cannot be reset from outside its call manager; unplug its power (or PoE Ethernet) cord"
            ),
            Action::MarkConverted { mac, file } => {
                format!("{mac}: converted (came back asking for {file})")
            }
            Action::CheckRegistration { mac, .. } => {
                format!("{mac}: checking that its lines registered")
            }
            Action::PhoneFailed { mac, cause } => format!("{mac}: failed: {cause}"),
            Action::Fail { reason } => format!("job failed: {reason}"),
            Action::Complete { converted, failed } => {
                format!("job completed: {converted} converted, {failed} failed")
            }
        }
    }
}

impl JobState {
    /// A new job over the selected phones. Phones already running the
    /// target load count as converted from the start and are never reset.
    pub fn new(job: Job, selected: Vec<Selected>, now: Millis) -> Result<JobState, JobError> {
        job.validate()?;
        let mut seen = std::collections::BTreeSet::new();
        let phones = selected
            .into_iter()
            .filter(|s| seen.insert(s.mac))
            .map(|s| {
                let on_target =
                    s.current_load.as_ref().map(LoadName::as_str) == Some(job.target.load.as_str());
                PhoneEntry {
                    mac: s.mac,
                    reset: ResetMethod::for_load(s.current_load.as_ref()),
                    batch: None,
                    started_ms: None,
                    ip: None,
                    reset_done: false,
                    note: None,
                    needs_power_cycle: false,
                    prior: None,
                    via: Vec::new(),
                    // A phone already on the target is checked too: the
                    // job is done when it registers, not when it boots.
                    registration: (on_target && job.waits_for_registration())
                        .then(|| Registration::new(now)),
                    progress: if on_target {
                        Progress::already_converted(now)
                    } else {
                        Progress::default()
                    },
                }
            })
            .collect();
        Ok(JobState {
            job,
            status: JobStatus::Pending,
            phones,
            batches_started: 0,
            started_ms: None,
            finished_ms: None,
            reason: None,
            cursor: 0,
        })
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        let record = PriorRecord::of_job(&self.job);
        for p in &self.phones {
            match &p.progress.stage {
                // Converted, but without the job's files yet: under way
                // once started, else waiting for its batch.
                Stage::Converted { .. } if p.awaiting_config() => c.in_progress += 1,
                Stage::Converted { .. } if p.wants_record(&record) => c.waiting += 1,
                Stage::Converted { .. } if p.awaiting_registration() => c.registering += 1,
                Stage::Converted { .. } => c.converted += 1,
                Stage::Failed { .. } => c.failed += 1,
                _ if p.started_ms.is_some() => c.in_progress += 1,
                _ => c.waiting += 1,
            }
        }
        c
    }

    /// Records that the driver carried out `mac`'s reset.
    pub fn ack_reset(&mut self, mac: Mac, report: ResetReport) {
        if let Some(e) = self.entry_mut(mac) {
            e.reset_done = true;
            e.note = Some(report.line);
            e.needs_power_cycle = report.power_cycle;
            let applied = report.applied_ms.or(e.started_ms);
            if let Some(r) = e.progress.refresh.as_mut() {
                r.applied_ms = applied;
            }
        }
    }

    /// Records what the driver's registration check of `mac` found at
    /// `now`.
    pub fn ack_registration(&mut self, mac: Mac, now: Millis, report: RegistrationReport) {
        if let Some(r) = self.entry_mut(mac).and_then(|e| e.registration.as_mut()) {
            r.record(now, report);
        }
    }

    /// Phones a person must power-cycle now: started, not finished, and
    /// not reset remotely (the job's "power cycle list").
    pub fn power_cycle_list(&self) -> Vec<Mac> {
        self.phones
            .iter()
            .filter(|p| p.started_ms.is_some() && p.unfinished_reset() && p.needs_power_cycle)
            .map(|p| p.mac)
            .collect()
    }

    /// Start a pending or scheduled job at the next tick instead of at its
    /// time (the operator's Start button): its schedule becomes "now".
    pub fn start_now(&mut self) -> Result<(), JobError> {
        if !matches!(self.status, JobStatus::Pending | JobStatus::Scheduled) {
            return Err(JobError::WrongStatus {
                status: self.status,
                action: "start",
                wanted: "pending or scheduled (resume a paused one)",
            });
        }
        self.job.schedule = Schedule::Now;
        Ok(())
    }

    /// Stop starting batches; the phones already reset go on and are
    /// still followed (see [`JobStatus::Paused`]).
    pub fn pause(&mut self) -> Result<(), JobError> {
        self.status = self.status.transition(JobStatus::Paused)?;
        Ok(())
    }

    /// Undo [`JobState::pause`]: the next tick starts batches again.
    pub fn resume(&mut self) -> Result<(), JobError> {
        if self.status != JobStatus::Paused {
            return Err(JobError::WrongStatus {
                status: self.status,
                action: "resume",
                wanted: "paused",
            });
        }
        self.status = self.status.transition(JobStatus::Running)?;
        Ok(())
    }

    pub fn cancel(&mut self, now: Millis, why: &str) -> Result<(), JobError> {
        self.status = self.status.transition(JobStatus::Cancelled)?;
        self.finished_ms = Some(now);
        self.reason = Some(why.to_string());
        Ok(())
    }

    fn go(&mut self, to: JobStatus) {
        // tick only asks for transitions the table allows; a refusal here
        // would be a bug in tick, so keep the old status rather than panic.
        if let Ok(s) = self.status.transition(to) {
            self.status = s;
        }
    }

    fn entry_mut(&mut self, mac: Mac) -> Option<&mut PhoneEntry> {
        self.phones.iter_mut().find(|p| p.mac == mac)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub converted: usize,
    pub failed: usize,
    pub in_progress: usize,
    pub waiting: usize,
    /// Converted, waiting for every line to register.
    #[serde(default)]
    pub registering: usize,
}

/// Advances a job to `now` given the transfers seen since the last tick
/// (in the order they happened).
pub fn tick(now: Millis, st: &mut JobState, events: &[TransferEvent]) -> Vec<Action> {
    let mut out = Vec::new();
    if st.status.is_terminal() {
        return out;
    }
    let start = match (st.status, st.job.schedule) {
        (JobStatus::Running | JobStatus::Paused, _) => false,
        (_, Schedule::At(t)) if t > now => {
            if st.status == JobStatus::Pending {
                st.go(JobStatus::Scheduled);
            }
            false
        }
        _ => true,
    };
    if start {
        st.go(JobStatus::Running);
        st.started_ms = Some(now);
    }
    let running = st.status == JobStatus::Running;
    // A paused job still follows the phones it already reset.
    let following = running || st.status == JobStatus::Paused;
    let waits = st.job.waits_for_registration();
    let record = PriorRecord::of_job(&st.job);

    for ev in events {
        // The request pipeline identified the phone (also for shared files
        // fetched from an address that asked for a MAC-named file).
        let Some(mac) = ev.mac else {
            continue;
        };
        let started = st.started_ms;
        let target = st.job.target.clone();
        let Some(entry) = st.entry_mut(mac) else {
            continue;
        };
        if ev.client_ip.is_some() {
            entry.ip = ev.client_ip;
        }
        // Transfers from before the job started say where the phone is but
        // nothing about its progress (a store replays history to a new job).
        if !following || started.is_some_and(|t| ev.time_ms < t) {
            continue;
        }
        let was_terminal = entry.progress.stage.is_terminal();
        let was_awaiting_config = entry.awaiting_config();
        entry.progress.apply(mac, &target, ev);
        if was_awaiting_config && !entry.awaiting_config() {
            // Its lines register with the job's settings only now.
            if waits {
                entry.registration = Some(Registration::new(now));
            }
            out.push(Action::MarkConverted {
                mac,
                file: format!(
                    "{} after its record was pointed at template {}",
                    entry
                        .progress
                        .refresh
                        .as_ref()
                        .and_then(|r| r.file.clone())
                        .unwrap_or_default(),
                    record.template.as_deref().unwrap_or_default()
                ),
            });
        }
        if !was_terminal {
            match &entry.progress.stage {
                Stage::Converted { file, .. } => {
                    if waits {
                        entry.registration = Some(Registration::new(now));
                    }
                    out.push(Action::MarkConverted {
                        mac,
                        file: file.clone(),
                    })
                }
                Stage::Failed { cause } => out.push(Action::PhoneFailed {
                    mac,
                    cause: cause.clone(),
                }),
                _ => {}
            }
        }
    }

    if !following {
        return out;
    }
    let timeout = st.job.rollout.phone_timeout_ms;
    let grace = st.job.rollout.register_grace_ms.unwrap_or(0);
    let template = st.job.template.clone();
    for entry in st.phones.iter_mut() {
        // A phone still to get the job's record registers with its old
        // settings, if at all: its checks start once it has the job's.
        if !entry.awaiting_registration() || entry.wants_record(&record) {
            continue;
        }
        let Some(reg) = entry.registration.as_mut() else {
            continue;
        };
        if now - reg.since_ms >= grace {
            let cause = format!(
                "converted, but not registered within {} s: {}",
                grace / 1000,
                reg.why_not()
            );
            entry.progress.stage = Stage::Failed {
                cause: cause.clone(),
            };
            out.push(Action::PhoneFailed {
                mac: entry.mac,
                cause,
            });
        } else if reg.asked_ms.is_none_or(|t| now - t >= RECHECK_MS) {
            reg.asked_ms = Some(now);
            out.push(Action::CheckRegistration {
                mac: entry.mac,
                ip: entry.ip,
            });
        }
    }
    for entry in st.phones.iter_mut() {
        if let Some(started) = entry.started_ms {
            if entry.awaiting_config() && now - started >= timeout {
                let cause = format!(
                    "it runs the target load, but did not fetch its config within {} min of its reset, so it does not have the job's template {} yet",
                    timeout / 60_000,
                    template
                );
                entry.progress.stage = Stage::Failed {
                    cause: cause.clone(),
                };
                out.push(Action::PhoneFailed {
                    mac: entry.mac,
                    cause,
                });
            } else if !entry.progress.stage.is_terminal() && now - started >= timeout {
                let cause = format!(
                    "no conversion seen within {} min of its reset (last stage: {}{})",
                    timeout / 60_000,
                    entry.progress.stage.name(),
                    entry
                        .progress
                        .last_failure
                        .as_ref()
                        .map(|f| format!(", last error: {f}"))
                        .unwrap_or_default()
                );
                entry.progress.stage = Stage::Failed {
                    cause: cause.clone(),
                };
                out.push(Action::PhoneFailed {
                    mac: entry.mac,
                    cause,
                });
            }
        }
    }

    let counts = st.counts();
    if let Some(max) = st.job.rollout.max_failures {
        if counts.failed >= max as usize {
            let reason = format!(
                "{} phone(s) failed, reaching the threshold of {max}; phones not yet started were left alone",
                counts.failed
            );
            return finish_failed(now, st, out, reason);
        }
    }
    let canary = st.job.rollout.canary_size > 0;
    if canary {
        if let Some(p) = st
            .phones
            .iter()
            .find(|p| p.batch == Some(0) && p.failure().is_some())
        {
            let reason = format!(
                "canary phone {} failed ({}); the rest of the fleet was not touched",
                p.mac,
                p.failure().unwrap_or_default()
            );
            return finish_failed(now, st, out, reason);
        }
    }

    let in_flight = st
        .phones
        .iter()
        .any(|p| p.started_ms.is_some() && !p.is_terminal());
    if in_flight || !running {
        out.extend(pending_resets(st));
        return out;
    }
    let size = if canary && st.batches_started == 0 {
        st.job.rollout.canary_size
    } else {
        st.job.rollout.batch_size
    } as usize;
    let batch = st.batches_started;
    let on_target = ResetMethod::for_load(Some(&st.job.target.load));
    let mut macs = Vec::new();
    for entry in st
        .phones
        .iter_mut()
        .filter(|p| {
            p.started_ms.is_none() && (!p.progress.stage.is_terminal() || p.wants_record(&record))
        })
        .take(size)
    {
        if entry.is_converted() {
            // It runs the target: reset the way the target is reset, and
            // wait for it to fetch the job's files.
            entry.reset = on_target;
            entry.progress.refresh = Some(crate::progress::Refresh::default());
        }
        entry.batch = Some(batch);
        entry.started_ms = Some(now);
        macs.push(entry.mac);
    }
    if macs.is_empty() {
        // Phones already on the target when the job began are never
        // started, but the job still waits for them to register.
        if st.phones.iter().any(PhoneEntry::awaiting_registration) {
            return out;
        }
        st.go(JobStatus::Completed);
        st.finished_ms = Some(now);
        out.push(Action::Complete {
            converted: counts.converted,
            failed: counts.failed,
        });
        return out;
    }
    st.batches_started += 1;
    out.push(Action::StartBatch {
        batch,
        canary: canary && batch == 0,
        macs,
    });
    out.extend(pending_resets(st));
    out
}

/// Started, unfinished phones whose reset the driver has not confirmed.
fn pending_resets(st: &JobState) -> impl Iterator<Item = Action> + '_ {
    st.phones
        .iter()
        .filter(|p| p.started_ms.is_some() && p.unfinished_reset() && !p.reset_done)
        .map(|p| Action::ResetPhone {
            mac: p.mac,
            method: p.reset,
            ip: p.ip,
        })
}

fn finish_failed(
    now: Millis,
    st: &mut JobState,
    mut out: Vec<Action>,
    reason: String,
) -> Vec<Action> {
    st.go(JobStatus::Failed);
    st.finished_ms = Some(now);
    st.reason = Some(reason.clone());
    out.push(Action::Fail { reason });
    out
}

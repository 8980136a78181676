//! The fleet as an operator sees it: each phone's state, derived only from
//! what it was seen to run and what it should run, and its stage on the way
//! there, from what its latest job saw it fetch.
//!
//! Owns these derivations only; the evidence rules (which request proves
//! what) are the jobs crate's fold, read here, never redone.

use std::collections::{BTreeMap, HashMap};

use phoneflip_device::Mac;
use phoneflip_inventory::Phone;
use phoneflip_jobs::{JobId, JobState, PhoneEntry, Stage};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhoneState {
    /// Nothing is asked of the phone.
    Unmanaged,
    /// A load is wanted but the phone has not been seen yet.
    Unseen,
    /// Seen on another load than the one wanted.
    Converting,
    /// Seen running the wanted load.
    Converted,
}

pub fn phone_state(p: &Phone) -> PhoneState {
    let wanted = p.desired_load.is_some() || p.desired_protocol.is_some();
    match (&p.observed_load, wanted) {
        (_, false) => PhoneState::Unmanaged,
        (None, true) => PhoneState::Unseen,
        (Some(seen), true) => {
            let done = match (&p.desired_load, p.desired_protocol) {
                (Some(l), _) => l == seen,
                (None, Some(proto)) => seen.protocol() == proto,
                (None, None) => false,
            };
            if done {
                PhoneState::Converted
            } else {
                PhoneState::Converting
            }
        }
    }
}

impl PhoneState {
    pub const ALL: [PhoneState; 4] = [
        PhoneState::Unmanaged,
        PhoneState::Unseen,
        PhoneState::Converting,
        PhoneState::Converted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PhoneState::Unmanaged => "unmanaged",
            PhoneState::Unseen => "unseen",
            PhoneState::Converting => "converting",
            PhoneState::Converted => "converted",
        }
    }
}

/// Where a phone is on its way to its load, in the order a conversion
/// passes through them (the reference's two-stage upgrade: loader, reboot,
/// application, reboot, the new protocol's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhoneStage {
    /// phoneflip never saw the phone fetch anything.
    Unseen,
    /// Seen on its old load; nothing of the target fetched yet.
    Seen,
    /// Got the universal application loader of the target.
    LoaderFetched,
    /// Got the target's application image; the next boot decides.
    ApplicationFetched,
    /// Came back asking for the target protocol's configuration: it runs
    /// the new load.
    ConfigurationFetched,
    /// Converted, and its job's registration check found every line
    /// registered (`crate::jobs`' registration verdict says by whom).
    Registered,
    /// Its job gave up on it; `reason` says why.
    Failed,
}

impl PhoneStage {
    pub const ALL: [PhoneStage; 7] = [
        PhoneStage::Unseen,
        PhoneStage::Seen,
        PhoneStage::LoaderFetched,
        PhoneStage::ApplicationFetched,
        PhoneStage::ConfigurationFetched,
        PhoneStage::Registered,
        PhoneStage::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PhoneStage::Unseen => "unseen",
            PhoneStage::Seen => "seen",
            PhoneStage::LoaderFetched => "loader_fetched",
            PhoneStage::ApplicationFetched => "application_fetched",
            PhoneStage::ConfigurationFetched => "configuration_fetched",
            PhoneStage::Registered => "registered",
            PhoneStage::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<PhoneStage> {
        PhoneStage::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A phone's place in the latest job that selected it (borrowed: a job
/// of the whole fleet has ten thousand entries, read on every request).
#[derive(Debug, Clone, Copy)]
pub struct JobLink<'a> {
    pub job: JobId,
    pub entry: &'a PhoneEntry,
}

/// Each phone's entry in the newest job that holds it: what the stage,
/// the reason and the power-cycle flag are read from.
pub fn job_links(jobs: &[JobState]) -> HashMap<Mac, JobLink<'_>> {
    let mut out: HashMap<Mac, JobLink<'_>> =
        HashMap::with_capacity(jobs.iter().map(|j| j.phones.len()).max().unwrap_or(0));
    for j in jobs {
        for e in &j.phones {
            let newer = match out.get(&e.mac) {
                Some(l) => l.job < j.job.id,
                None => true,
            };
            if newer {
                out.insert(
                    e.mac,
                    JobLink {
                        job: j.job.id,
                        entry: e,
                    },
                );
            }
        }
    }
    out
}

/// The stage of `p`: its job's fold when a job holds it, otherwise what
/// the inventory knows (seen or not, on the wanted load or not).
pub fn phone_stage(p: &Phone, link: Option<&JobLink>) -> PhoneStage {
    // What the inventory knows: a phone seen on the load it should run
    // fetched that load's configuration (also when its job stopped
    // before folding it, e.g. cancelled while the phone booted).
    let before = match (phone_state(p), &p.observed_load) {
        (PhoneState::Converted, _) => PhoneStage::ConfigurationFetched,
        (_, Some(_)) => PhoneStage::Seen,
        (_, None) => PhoneStage::Unseen,
    };
    match link {
        Some(l) => fold_stage(
            &l.entry.progress.stage,
            l.entry
                .registration
                .as_ref()
                .is_some_and(|r| r.is_registered()),
            before,
        ),
        None => before,
    }
}

/// The stage a job's fold of a phone shows: `registered` when the job's
/// registration check found every line registered, `before` while the
/// job has seen nothing of the target (the phone's seen or unseen).
pub fn fold_stage(stage: &Stage, registered: bool, before: PhoneStage) -> PhoneStage {
    match stage {
        Stage::Idle | Stage::ImageRequested => before,
        Stage::LoaderFetched => PhoneStage::LoaderFetched,
        Stage::ImageFetched => PhoneStage::ApplicationFetched,
        Stage::Converted { .. } if registered => PhoneStage::Registered,
        Stage::Converted { .. } => PhoneStage::ConfigurationFetched,
        Stage::Failed { .. } => PhoneStage::Failed,
    }
}

/// Why the phone is stuck or failed, in the job's words: the cause it
/// failed with, else the last failed transfer, else the reset's note.
pub fn phone_reason(link: Option<&JobLink>) -> Option<String> {
    let e = link?.entry;
    e.failure()
        .map(str::to_string)
        .or_else(|| e.progress.last_failure.clone())
}

/// The registration stage's verdict for a job's phone, in words: who
/// was asked and what each line answered (`None` before the phone
/// converted, or on a job that does not wait for registration).
pub fn registration_verdict(e: &PhoneEntry) -> (Option<bool>, Option<String>) {
    let Some(r) = &e.registration else {
        return (None, None);
    };
    if r.is_registered() {
        let how = r.last.as_ref().map(|l| {
            l.lines
                .iter()
                .map(|x| format!("{}: {}", x.name, x.detail))
                .collect::<Vec<_>>()
                .join("; ")
        });
        (
            Some(true),
            Some(format!("registered ({})", how.unwrap_or_default())),
        )
    } else {
        (
            Some(false),
            Some(format!("not registered: {}", r.why_not())),
        )
    }
}

/// The directory numbers on the phone's lines: how a person finds a desk.
pub fn extensions(p: &Phone) -> Vec<String> {
    p.lines.iter().map(|l| l.name.clone()).collect()
}

/// A phone as the API shows it. Line passwords are never in it (see
/// `validate::view`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PhoneView {
    #[serde(flatten)]
    pub phone: Phone,
    pub state: PhoneState,
    pub stage: PhoneStage,
    /// The newest job that selected the phone.
    pub job: Option<JobId>,
    /// Why its job sees it failing, if it does.
    pub reason: Option<String>,
    /// A person must pull its power cord (SCCP, or a NOTIFY that failed).
    pub power_cycle: bool,
    /// Its job's registration verdict: `true` when every line registered,
    /// `false` while not (yet); absent before it converted.
    pub registered: Option<bool>,
    /// The verdict in words, per line.
    pub registration: Option<String>,
}

impl PhoneView {
    pub fn new(phone: Phone, link: Option<&JobLink>) -> PhoneView {
        let (registered, registration) = link
            .map(|l| registration_verdict(l.entry))
            .unwrap_or_default();
        PhoneView {
            registered,
            registration,
            state: phone_state(&phone),
            stage: phone_stage(&phone, link),
            job: link.map(|l| l.job),
            reason: phone_reason(link),
            power_cycle: link.is_some_and(|l| l.entry.needs_power_cycle && !l.entry.is_terminal()),
            phone,
        }
    }
}

impl From<Phone> for PhoneView {
    fn from(phone: Phone) -> Self {
        PhoneView::new(phone, None)
    }
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct FleetSummary {
    pub phones: usize,
    pub by_state: BTreeMap<String, usize>,
    /// Observed load name (or "unknown") → phones.
    pub by_load: BTreeMap<String, usize>,
    pub by_protocol: BTreeMap<String, usize>,
    /// Stage (see [`PhoneStage`]) → phones.
    pub by_stage: BTreeMap<String, usize>,
}

impl FleetSummary {
    pub fn of(phones: &[Phone]) -> FleetSummary {
        FleetSummary::with_jobs(phones, &HashMap::new())
    }

    pub fn with_jobs(phones: &[Phone], links: &HashMap<Mac, JobLink<'_>>) -> FleetSummary {
        let mut s = FleetSummary {
            phones: phones.len(),
            ..Default::default()
        };
        for p in phones {
            *s.by_state
                .entry(phone_state(p).as_str().to_string())
                .or_default() += 1;
            *s.by_stage
                .entry(phone_stage(p, links.get(&p.mac)).as_str().to_string())
                .or_default() += 1;
            let load = p
                .observed_load
                .as_ref()
                .map(|l| l.to_string())
                .unwrap_or_else(|| "unknown".into());
            *s.by_load.entry(load).or_default() += 1;
            let proto = p
                .observed_load
                .as_ref()
                .map(|l| l.protocol().to_string())
                .unwrap_or_else(|| "unknown".into());
            *s.by_protocol.entry(proto).or_default() += 1;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(observed: Option<&str>, desired: Option<&str>) -> Phone {
        let mut p = Phone::new("0019AA000001".parse().unwrap(), "7960".parse().unwrap());
        p.observed_load = observed.map(|l| l.parse().unwrap());
        p.desired_load = desired.map(|l| l.parse().unwrap());
        p
    }

    #[test]
    fn states() {
        assert_eq!(phone_state(&phone(None, None)), PhoneState::Unmanaged);
        assert_eq!(
            phone_state(&phone(None, Some("P0S3-8-12-00"))),
            PhoneState::Unseen
        );
        assert_eq!(
            phone_state(&phone(Some("P0030801SR02"), Some("P0S3-8-12-00"))),
            PhoneState::Converting
        );
        assert_eq!(
            phone_state(&phone(Some("P0S3-8-12-00"), Some("P0S3-8-12-00"))),
            PhoneState::Converted
        );
        let mut p = phone(Some("P0S3-8-12-00"), None);
        p.desired_protocol = Some(phoneflip_firmware::Protocol::Sip);
        assert_eq!(phone_state(&p), PhoneState::Converted);
    }

    /// A job that never folded the phone's boot (cancelled meanwhile)
    /// does not hide that the phone runs its wanted load.
    #[test]
    fn a_phone_on_its_wanted_load_is_not_just_seen() {
        let entry = |mac: Mac| PhoneEntry {
            mac,
            reset: phoneflip_jobs::ResetMethod::PowerCycle,
            batch: None,
            started_ms: None,
            ip: None,
            progress: phoneflip_jobs::Progress::default(),
            reset_done: false,
            note: None,
            needs_power_cycle: false,
            prior: None,
            via: Vec::new(),
            registration: None,
        };
        let done = phone(Some("P0S3-8-12-00"), Some("P0S3-8-12-00"));
        let old = phone(Some("P0030801SR02"), Some("P0S3-8-12-00"));
        let unseen = phone(None, Some("P0S3-8-12-00"));
        for (p, want) in [
            (&done, PhoneStage::ConfigurationFetched),
            (&old, PhoneStage::Seen),
            (&unseen, PhoneStage::Unseen),
        ] {
            let e = entry(p.mac);
            let link = JobLink { job: 1, entry: &e };
            assert_eq!(phone_stage(p, Some(&link)), want, "{:?}", p.observed_load);
            assert_eq!(phone_stage(p, None), want, "{:?}", p.observed_load);
        }
    }

    #[test]
    fn summary_counts() {
        let s = FleetSummary::of(&[
            phone(Some("P0S3-8-12-00"), Some("P0S3-8-12-00")),
            phone(Some("P0030801SR02"), Some("P0S3-8-12-00")),
            phone(None, None),
        ]);
        assert_eq!(s.phones, 3);
        assert_eq!(s.by_state["converted"], 1);
        assert_eq!(s.by_state["converting"], 1);
        assert_eq!(s.by_load["unknown"], 1);
        assert_eq!(s.by_protocol["sip"], 1);
    }
}

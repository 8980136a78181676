//! A migration job as the administrator describes it, and the life cycle
//! of its status (the reference's Bulk Administration > Job Scheduler).

use std::fmt;
use std::str::FromStr;

use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{LoadName, Protocol, Release};
use phoneflip_inventory::Phone;
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, as the inventory stores time.
pub type Millis = i64;

/// Job ids are assigned by the store.
pub type JobId = i64;

/// Why a job description was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("job description is empty; say what the migration is for (e.g. --description \"2nd floor to SIP\")")]
    EmptyDescription,
    #[error("template name is empty; name the template for the target protocol (--template NAME)")]
    EmptyTemplate,
    #[error("batch size is 0; a batch must hold at least one phone (--batch N with N >= 1)")]
    ZeroBatch,
    #[error("the failure threshold is 0, which would stop the job before it starts; use --max-failures N with N >= 1, or leave it out to never stop")]
    ZeroMaxFailures,
    #[error("the per-phone timeout is 0 s; give phones time to download and reboot (minutes, not seconds)")]
    ZeroTimeout,
    #[error("the registration grace time is 0 s; give converted phones time to register (--register-grace SECONDS, e.g. 120)")]
    ZeroGrace,
    #[error("MAC pattern {pattern:?} is not valid: {reason}; write hex digits and '*' wildcards, e.g. 0019AA*")]
    BadMacPattern {
        pattern: String,
        reason: &'static str,
    },
    #[error("target {target} has no 7940/7960 load name: {reason}")]
    BadTarget { target: String, reason: String },
    #[error("the job is {status}: {action} works only on a {wanted} job")]
    WrongStatus {
        status: JobStatus,
        action: &'static str,
        wanted: &'static str,
    },
    #[error("a job cannot go from {from} to {to}; allowed from {from}: {allowed}")]
    IllegalTransition {
        from: JobStatus,
        to: JobStatus,
        allowed: String,
    },
}

/// A MAC pattern with `*` wildcards (any run of hex digits), matched on the
/// canonical 12-digit upper-case form; separators in the pattern are
/// ignored so `00:19:aa:*` works as typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
pub struct MacPattern(String);

impl MacPattern {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, mac: Mac) -> bool {
        glob(self.0.as_bytes(), mac.to_string().as_bytes())
    }
}

/// Iterative `*` glob: linear backtracking to the last star, no recursion,
/// so hostile patterns cannot blow the stack.
fn glob(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pat.len() && pat[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pat.len() && pat[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

impl FromStr for MacPattern {
    type Err = JobError;
    fn from_str(s: &str) -> Result<Self, JobError> {
        let bad = |reason| JobError::BadMacPattern {
            pattern: s.to_string(),
            reason,
        };
        let norm: String = s
            .chars()
            .filter(|c| !matches!(c, ':' | '.' | '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if norm.is_empty() {
            return Err(bad("it is empty"));
        }
        if !norm.chars().all(|c| c.is_ascii_hexdigit() || c == '*') {
            return Err(bad(
                "it holds a character that is neither a hex digit nor '*'",
            ));
        }
        if norm.chars().filter(|c| *c != '*').count() > 12 {
            return Err(bad("it has more than 12 hex digits"));
        }
        Ok(MacPattern(norm))
    }
}

impl TryFrom<String> for MacPattern {
    type Error = JobError;
    fn try_from(s: String) -> Result<Self, JobError> {
        s.parse()
    }
}

impl From<MacPattern> for String {
    fn from(p: MacPattern) -> String {
        p.0
    }
}

/// What the phone runs now, as a query criterion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CurrentCriterion {
    Protocol(Protocol),
    /// Compared by spelling: the phones compare load names byte for byte.
    Load(String),
}

/// Which phones a job migrates (Bulk Administration's Find). Empty fields
/// match everything; set fields must all match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Query {
    #[serde(default)]
    pub model: Option<Model>,
    #[serde(default)]
    pub site: Option<String>,
    #[serde(default)]
    pub current: Option<CurrentCriterion>,
    #[serde(default)]
    pub mac_pattern: Option<MacPattern>,
    #[serde(default)]
    pub tag: Option<String>,
}

impl Query {
    /// A phone whose current load is unknown never matches a `current`
    /// criterion: selecting phones on a guess is what this avoids.
    pub fn matches(&self, p: &Phone) -> bool {
        (self.model.is_none() || self.model == Some(p.model))
            && (self.site.is_none() || self.site == p.site)
            && match &self.tag {
                None => true,
                Some(t) => p.tags.contains(t),
            }
            && match &self.mac_pattern {
                None => true,
                Some(m) => m.matches(p.mac),
            }
            && match &self.current {
                None => true,
                Some(CurrentCriterion::Protocol(proto)) => {
                    p.observed_load.as_ref().map(LoadName::protocol) == Some(*proto)
                }
                Some(CurrentCriterion::Load(l)) => {
                    p.observed_load.as_ref().map(LoadName::as_str) == Some(l.as_str())
                }
            }
    }
}

impl Query {
    /// The inventory's phones this query finds, in MAC order.
    pub fn select(
        &self,
        inventory: &dyn phoneflip_inventory::Inventory,
    ) -> Result<Vec<crate::scheduler::Selected>, phoneflip_inventory::InventoryError> {
        let filter = phoneflip_inventory::PhoneFilter {
            site: self.site.clone(),
            model: self.model,
            tag: self.tag.clone(),
            ..Default::default()
        };
        let mut phones = inventory.list_phones(&filter)?;
        phones.retain(|p| self.matches(p));
        phones.sort_by_key(|p| p.mac);
        Ok(phones
            .into_iter()
            .map(|p| crate::scheduler::Selected {
                mac: p.mac,
                current_load: p.observed_load,
            })
            .collect())
    }
}

/// The protocol and load the job moves phones to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Target {
    pub release: Release,
    /// The application load name phones must end up running.
    pub load: LoadName,
}

impl Target {
    /// The load Cisco names for the release (`sip:8.12` → `P0S3-8-12-00`);
    /// a release no load name can spell (`sip:8.100`) is refused.
    pub fn from_release(release: Release) -> Result<Target, JobError> {
        let load = LoadName::try_canonical(release.protocol, release.version).map_err(|e| {
            JobError::BadTarget {
                target: release.to_string(),
                reason: e.to_string(),
            }
        })?;
        Ok(Target { load, release })
    }

    /// A load name as the target, spelled as given (the phones compare
    /// names byte for byte).
    pub fn from_load(load: LoadName) -> Target {
        Target {
            release: Release::new(load.protocol(), load.version()),
            load,
        }
    }

    pub fn protocol(&self) -> Protocol {
        self.release.protocol
    }
}

/// `protocol:version` (`sip:8.12`) or a load name (`P0S3-8-12-00`), read by
/// the planner's own parser so that a target means here what it means to
/// `plan`; never panics on what a person typed.
impl FromStr for Target {
    type Err = JobError;
    fn from_str(s: &str) -> Result<Self, JobError> {
        let bad = |reason: String| JobError::BadTarget {
            target: s.to_string(),
            reason,
        };
        match s.parse::<phoneflip_plan::Endpoint>() {
            Ok(phoneflip_plan::Endpoint::Release(r)) => Target::from_release(r),
            Ok(phoneflip_plan::Endpoint::Load(l)) => Ok(Target::from_load(l)),
            Err(e) => Err(bad(format!(
                "{e}; write protocol:version (sip:8.12) or a load name (P0S3-8-12-00)"
            ))),
        }
    }
}

/// When the job may start (Run Immediately / Run Later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    Now,
    At(Millis),
}

/// How the change spreads through the selected phones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rollout {
    /// Phones started together once the canary has converted.
    pub batch_size: u32,
    /// Phones started first, alone; all must convert before any other
    /// phone is touched. 0 means no canary.
    pub canary_size: u32,
    /// The job fails when this many phones have failed; `None` never stops.
    pub max_failures: Option<u32>,
    /// A phone that shows no conversion this long after its reset failed.
    pub phone_timeout_ms: Millis,
    /// For a SIP target: how long a converted phone has to register every
    /// line before it counts as failed (its last stage, see
    /// [`crate::registration`]). `None`: conversion is the last stage, as
    /// for jobs stored before registration was checked.
    #[serde(default)]
    pub register_grace_ms: Option<Millis>,
}

impl Default for Rollout {
    fn default() -> Self {
        Rollout {
            batch_size: 10,
            canary_size: 1,
            max_failures: Some(1),
            // A two-stage upgrade (loader, reboot, application, reboot)
            // takes a few minutes; half an hour leaves room for TFTP retries.
            phone_timeout_ms: 30 * 60 * 1000,
            // A phone registers within seconds of booting the SIP load;
            // two minutes cover a registrar that answers slowly and a
            // REGISTER retransmitted to Timer F.
            register_grace_ms: Some(2 * 60 * 1000),
        }
    }
}

/// A migration job as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    /// 0 until a store assigns one.
    pub id: JobId,
    pub description: String,
    pub query: Query,
    pub template: String,
    pub target: Target,
    pub schedule: Schedule,
    pub rollout: Rollout,
    pub created_ms: Millis,
}

impl Job {
    /// Whether converted phones must also register: a SIP target with a
    /// grace time.
    pub fn waits_for_registration(&self) -> bool {
        self.target.protocol() == phoneflip_firmware::Protocol::Sip
            && self.rollout.register_grace_ms.is_some()
    }

    pub fn validate(&self) -> Result<(), JobError> {
        if self.description.trim().is_empty() {
            return Err(JobError::EmptyDescription);
        }
        if self.template.trim().is_empty() {
            return Err(JobError::EmptyTemplate);
        }
        if self.rollout.batch_size == 0 {
            return Err(JobError::ZeroBatch);
        }
        if self.rollout.max_failures == Some(0) {
            return Err(JobError::ZeroMaxFailures);
        }
        if self.rollout.phone_timeout_ms <= 0 {
            return Err(JobError::ZeroTimeout);
        }
        if self.rollout.register_grace_ms.is_some_and(|g| g <= 0) {
            return Err(JobError::ZeroGrace);
        }
        if self.target.load.is_universal_loader() {
            return Err(JobError::BadTarget {
                target: self.target.release.to_string(),
                reason: "it names the universal application loader, not an application".into(),
            });
        }
        Ok(())
    }
}

/// The Job Scheduler's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Submitted, not yet looked at by the scheduler.
    Pending,
    /// Waiting for its start time.
    Scheduled,
    Running,
    /// Running, but starting no new batch: phones already reset finish
    /// (a phone mid-download cannot be stopped) and are followed, until
    /// someone resumes the job.
    Paused,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Pending,
        JobStatus::Scheduled,
        JobStatus::Running,
        JobStatus::Paused,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    /// The transition table. Terminal states have no way out: a finished
    /// job is re-run by creating a new one, so history stays honest.
    pub fn allowed(self) -> &'static [JobStatus] {
        use JobStatus::*;
        match self {
            Pending => &[Scheduled, Running, Cancelled],
            Scheduled => &[Running, Cancelled],
            Running => &[Paused, Completed, Failed, Cancelled],
            Paused => &[Running, Failed, Cancelled],
            Completed | Failed | Cancelled => &[],
        }
    }

    pub fn can_go_to(self, to: JobStatus) -> bool {
        self.allowed().contains(&to)
    }

    pub fn transition(self, to: JobStatus) -> Result<JobStatus, JobError> {
        if self.can_go_to(to) {
            Ok(to)
        } else {
            let allowed = self.allowed();
            Err(JobError::IllegalTransition {
                from: self,
                to,
                allowed: if allowed.is_empty() {
                    "nothing (it is finished)".to_string()
                } else {
                    allowed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            })
        }
    }

    pub fn is_terminal(self) -> bool {
        self.allowed().is_empty()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Scheduled => "scheduled",
            JobStatus::Running => "running",
            JobStatus::Paused => "paused",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job status {0:?}: expected pending, scheduled, running, paused, completed, failed or cancelled")]
pub struct JobStatusError(pub String);

impl FromStr for JobStatus {
    type Err = JobStatusError;
    fn from_str(s: &str) -> Result<Self, JobStatusError> {
        JobStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| JobStatusError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mac_patterns() {
        let mac: Mac = "0019AA123456".parse().unwrap();
        for ok in [
            "0019AA*",
            "*3456",
            "0019aa*56",
            "00:19:AA:*",
            "*",
            "0019AA123456",
        ] {
            assert!(ok.parse::<MacPattern>().unwrap().matches(mac), "{ok}");
        }
        for no in ["0019AB*", "*3457", "0019AA12345"] {
            assert!(!no.parse::<MacPattern>().unwrap().matches(mac), "{no}");
        }
        assert!(matches!(
            "0019AG*".parse::<MacPattern>(),
            Err(JobError::BadMacPattern { .. })
        ));
        assert!("".parse::<MacPattern>().is_err());
        assert!("0019AA1234567".parse::<MacPattern>().is_err());
    }

    proptest! {
        #[test]
        fn a_mac_matches_itself_and_its_prefix_glob(bytes in any::<[u8; 6]>(), cut in 0usize..=12) {
            let mac = Mac::new(bytes);
            let s = mac.to_string();
            prop_assert!(s.parse::<MacPattern>().unwrap().matches(mac));
            let prefix = format!("{}*", &s[..cut]);
            prop_assert!(prefix.parse::<MacPattern>().unwrap().matches(mac));
        }

        #[test]
        fn patterns_never_panic(s in ".{0,40}", bytes in any::<[u8; 6]>()) {
            if let Ok(p) = s.parse::<MacPattern>() {
                let _ = p.matches(Mac::new(bytes));
            }
        }
    }

    #[test]
    fn target_from_release() {
        let t: Target = "sip:8.12".parse().unwrap();
        assert_eq!(t.load.as_str(), "P0S3-8-12-00");
        let t: Target = "sccp:8.1(2)SR2".parse().unwrap();
        assert_eq!(t.load.as_str(), "P0030801SR02");
        let e = "sip".parse::<Target>().unwrap_err().to_string();
        assert!(e.contains("sip:8.12"), "{e}");
        let t: Target = "P0S3-8-12-00".parse().unwrap();
        assert_eq!(t.release.to_string(), "sip:8.12");
    }

    /// `--to sip:8.100` panicked in `LoadName::canonical`.
    #[test]
    fn unnameable_targets_are_refused_not_a_panic() {
        for to in ["sip:8.100", "sccp:8.1(200)", "sccp:100.1", "sip:8.12.100"] {
            match to.parse::<Target>() {
                Err(JobError::BadTarget { target, reason }) => {
                    assert_eq!(target, to);
                    assert!(!reason.is_empty());
                }
                Ok(t) => panic!("{to} accepted as {}", t.load),
                Err(e) => panic!("{to}: {e}"),
            }
        }
        let e = "sip:8.100".parse::<Target>().unwrap_err().to_string();
        assert!(e.contains("below 100"), "{e}");
    }

    proptest! {
        #[test]
        fn targets_never_panic(s in "(sip|sccp|mgcp):[0-9]{1,3}\\.[0-9]{1,3}(\\([0-9]{1,3}\\))?(SR[0-9]{1,3})?") {
            let _ = s.parse::<Target>();
        }
    }
}

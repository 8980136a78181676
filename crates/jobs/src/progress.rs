//! Per-phone progress, inferred only from what the phone fetches over TFTP.
//!
//! A phone's word is the one thing we can trust: a config change proves
//! nothing until the phone asks for the new image, gets it, and comes back
//! asking for the new protocol's files. The fold here is ordered and pure,
//! so replaying the same transfers always gives the same answer (which is
//! what lets a restarted server resume a job). The events are the request
//! pipeline's typed events (phone, file kind, outcome); whether the phone
//! now runs a load is the pipeline's one rule ([`LoadEvidence`]).

use std::net::IpAddr;

use phoneflip_config::filename::base_name;
use phoneflip_config::FileKind;
use phoneflip_device::Mac;
use phoneflip_firmware::ImageFile;
use phoneflip_provision::{image_role, ImageRole, LoadEvidence};
use serde::{Deserialize, Serialize};

use crate::job::{Millis, Target};

/// Consecutive failed image transfers after which a phone is given up on.
/// The reference's "State Error" log shows the phone retrying the same
/// image every few seconds forever; three in a row is a loop, not bad luck.
pub const IMAGE_FAILURE_LIMIT: u32 = 3;

/// How a transfer ended, reduced to what progress needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferOutcome {
    /// Every block acknowledged.
    Sent,
    /// Answered with TFTP ERROR 1.
    NotFound,
    /// Anything else, with the server's words (e.g. "State Error").
    Failed(String),
    /// Not answered because the server was busy (its image cap): the
    /// server's own back-pressure. The phone asks again, so it is no step
    /// towards giving up on it.
    Busy(String),
}

impl TransferOutcome {
    /// The store's outcome the pipeline's rule reads.
    pub fn as_inventory(&self) -> phoneflip_inventory::Outcome {
        match self {
            TransferOutcome::Sent => phoneflip_inventory::Outcome::Sent,
            TransferOutcome::NotFound => phoneflip_inventory::Outcome::NotFound,
            TransferOutcome::Failed(_) => phoneflip_inventory::Outcome::Aborted,
            TransferOutcome::Busy(_) => phoneflip_inventory::Outcome::Busy,
        }
    }
}

/// One TFTP transfer as the job engine sees it: the request pipeline's
/// typed event (`phoneflip_inventory::Event`, `From` below), which carries
/// the MAC the pipeline identified (from the file name, or the MAC the
/// client address last asked for) and the file's kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferEvent {
    pub time_ms: Millis,
    pub mac: Option<Mac>,
    pub client_ip: Option<IpAddr>,
    /// As requested, possibly with a `tftp_cfg_dir` prefix.
    pub file: String,
    /// What `file` is, from the one classifier.
    pub kind: FileKind,
    pub bytes: u64,
    pub outcome: TransferOutcome,
}

impl TransferEvent {
    /// An event for `file`, classified.
    pub fn new(
        time_ms: Millis,
        mac: Option<Mac>,
        client_ip: Option<IpAddr>,
        file: &str,
        bytes: u64,
        outcome: TransferOutcome,
    ) -> TransferEvent {
        TransferEvent {
            time_ms,
            mac,
            client_ip,
            file: file.to_string(),
            kind: FileKind::of(file),
            bytes,
            outcome,
        }
    }
}

impl From<&phoneflip_inventory::Event> for TransferEvent {
    fn from(e: &phoneflip_inventory::Event) -> Self {
        use phoneflip_inventory::Outcome as O;
        let detail = || e.detail.clone().unwrap_or_else(|| e.outcome.to_string());
        TransferEvent {
            time_ms: e.time_ms,
            mac: e.mac,
            client_ip: Some(e.client_ip),
            file: e.file.clone(),
            kind: e.kind.clone(),
            bytes: e.bytes,
            outcome: match e.outcome {
                O::Sent => TransferOutcome::Sent,
                O::NotFound => TransferOutcome::NotFound,
                O::Refused | O::TimedOut | O::Aborted => TransferOutcome::Failed(detail()),
                O::Busy => TransferOutcome::Busy(detail()),
            },
        }
    }
}

/// What a requested file means for a phone moving to `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// `LOAD.loads`: the small index naming loader and application.
    Index,
    /// The universal application loader (`.sbn`, or `.bin` for phones
    /// older than 5.x).
    Loader,
    /// The application itself: `.sb2`, or `.bin` on loads that predate the
    /// universal application loader.
    Application,
    /// A file only the target protocol's application asks for.
    TargetConfig,
    /// The loader's hunt for a config file (`CTLSEP`, `SEP`, `SIP`, `MGC`,
    /// `XMLDefault` in turn when one is missing).
    Hunt,
    Other,
}

/// What `kind`, requested by a phone on its way to `target`, is.
/// `after_missing_sep` says the phone's previous request was a
/// `SEP<MAC>.cnf.xml` answered "not found", which makes a following
/// `SIP<MAC>.cnf` part of the loader's hunt rather than the SIP
/// application asking for its file.
pub fn classify(kind: &FileKind, target: &Target, after_missing_sep: bool) -> FileRole {
    if let FileKind::Image(img) = kind {
        return image_role_for(img, target);
    }
    if phoneflip_provision::config_request(kind, after_missing_sep) == Some(target.protocol()) {
        FileRole::TargetConfig
    } else if kind.is_hunt() {
        FileRole::Hunt
    } else {
        FileRole::Other
    }
}

fn image_role_for(img: &ImageFile, target: &Target) -> FileRole {
    let same = img.load.as_str() == target.load.as_str();
    let loader = img.load.as_str() == target.load.loader().as_str();
    match image_role(img) {
        ImageRole::Index if same => FileRole::Index,
        ImageRole::Application if same => FileRole::Application,
        ImageRole::Loader if same || loader => FileRole::Loader,
        _ => FileRole::Other,
    }
}

/// Where a phone is on its way to the target, from its own requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "stage")]
pub enum Stage {
    /// Nothing from this phone about the target yet.
    Idle,
    /// Asked for the target's image (or its `.loads` index).
    ImageRequested,
    /// Got the universal application loader; will reboot and ask for the
    /// application next.
    LoaderFetched,
    /// Got the application image; the next boot decides.
    ImageFetched,
    /// Came back asking for the target protocol's files.
    Converted { at_ms: Millis, file: String },
    /// Gave up: the cause is what the phone or the server said.
    Failed { cause: String },
}

impl Stage {
    pub fn is_terminal(&self) -> bool {
        matches!(self, Stage::Converted { .. } | Stage::Failed { .. })
    }

    fn rank(&self) -> u8 {
        match self {
            Stage::Idle => 0,
            Stage::ImageRequested => 1,
            Stage::LoaderFetched => 2,
            Stage::ImageFetched => 3,
            Stage::Converted { .. } | Stage::Failed { .. } => 4,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Stage::Idle => "idle",
            Stage::ImageRequested => "image_requested",
            Stage::LoaderFetched => "loader_fetched",
            Stage::ImageFetched => "image_fetched",
            Stage::Converted { .. } => "converted",
            Stage::Failed { .. } => "failed",
        }
    }
}

/// The fold's state for one phone; persisted as is so a job resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Progress {
    pub stage: Stage,
    /// Image transfers that failed in a row since the last success.
    pub image_failures: u32,
    pub last_failure: Option<String>,
    pub last_seen_ms: Option<Millis>,
    /// What the phone's requests so far prove (the pipeline's rule).
    #[serde(default)]
    pub evidence: LoadEvidence,
    /// Times the application image was fetched whole. A phone that keeps
    /// fetching it and never comes back on the new protocol refuses it
    /// after the transfer (the server sees success, the phone's screen
    /// says why).
    #[serde(default)]
    pub application_fetches: u32,
    /// Set when the phone had converted before the job pointed its record
    /// at the job's template and target (it booted into the target before
    /// its batch, or ran it already): its files carry the job's settings
    /// only from that change on, so it is done once it fetched its config
    /// again after it.
    #[serde(default)]
    pub refresh: Option<Refresh>,
}

/// A converted phone getting the job's record after the fact (see
/// [`Progress::refresh`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Refresh {
    /// When the job's record was written; `None` until the driver
    /// confirmed the phone's reset.
    pub applied_ms: Option<Millis>,
    /// When the phone then fetched its target protocol's config, and
    /// which file.
    pub fetched_ms: Option<Millis>,
    pub file: Option<String>,
}

impl Refresh {
    pub fn is_done(&self) -> bool {
        self.fetched_ms.is_some()
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            stage: Stage::Idle,
            image_failures: 0,
            last_failure: None,
            last_seen_ms: None,
            evidence: LoadEvidence::default(),
            application_fetches: 0,
            refresh: None,
        }
    }
}

impl Progress {
    /// Folds one transfer by this phone (the caller routes events by MAC;
    /// another phone's per-phone file is ignored).
    pub fn apply(&mut self, mac: Mac, target: &Target, ev: &TransferEvent) {
        if ev.kind.mac().is_some_and(|m| m != mac) {
            return;
        }
        self.last_seen_ms = Some(self.last_seen_ms.map_or(ev.time_ms, |t| t.max(ev.time_ms)));
        let role = classify(&ev.kind, target, self.evidence.after_missing_sep);
        let runs = self.evidence.see(&ev.kind, ev.outcome.as_inventory());
        if let Some(r) = self.refresh.as_mut() {
            // Its own config file, sent after the job's record was
            // written: the files it now runs with are the job's.
            if role == FileRole::TargetConfig
                && ev.kind.mac() == Some(mac)
                && ev.outcome == TransferOutcome::Sent
                && r.fetched_ms.is_none()
                && r.applied_ms.is_some_and(|t| ev.time_ms >= t)
            {
                r.fetched_ms = Some(ev.time_ms);
                r.file = Some(base_name(&ev.file).to_string());
            }
        }
        if self.stage.is_terminal() {
            return;
        }
        match role {
            FileRole::Index | FileRole::Loader | FileRole::Application => {
                self.raise(Stage::ImageRequested);
                match &ev.outcome {
                    TransferOutcome::Sent => {
                        self.image_failures = 0;
                        match role {
                            FileRole::Loader => self.raise(Stage::LoaderFetched),
                            FileRole::Application => {
                                self.raise(Stage::ImageFetched);
                                self.application_fetches += 1;
                                if self.application_fetches >= IMAGE_FAILURE_LIMIT {
                                    self.stage = Stage::Failed {
                                        cause: format!(
                                            "{} was fetched {} times without the phone booting it: the phone refuses the image (State Error, Image Authentication Failed or Protocol Application Invalid on its screen)",
                                            base_name(&ev.file),
                                            self.application_fetches
                                        ),
                                    };
                                }
                            }
                            _ => {}
                        }
                    }
                    TransferOutcome::NotFound => self.fail_once(format!(
                        "{} is not on the TFTP server (put the release's files in the TFTP root)",
                        base_name(&ev.file)
                    )),
                    TransferOutcome::Failed(why) => {
                        self.fail_once(format!("{}: {why}", base_name(&ev.file)))
                    }
                    // The server held the phone back; neither a failure
                    // nor a success, so the run of failures stands as is.
                    TransferOutcome::Busy(_) => {}
                }
            }
            FileRole::TargetConfig | FileRole::Hunt | FileRole::Other => {}
        }
        // The pipeline's rule says the phone now runs the target: after
        // the application image, or (the loader found it in flash: the
        // inventory record was stale) right after the target's index.
        if runs.is_some_and(|l| l.as_str() == target.load.as_str()) && !self.stage.is_terminal() {
            let file = base_name(&ev.file);
            self.stage = Stage::Converted {
                at_ms: ev.time_ms,
                file: if self.stage == Stage::ImageFetched {
                    file.to_string()
                } else {
                    format!("{file} (already on the target load)")
                },
            };
        }
    }

    /// Marks a phone that already runs the target when the job starts.
    pub fn already_converted(at_ms: Millis) -> Progress {
        Progress {
            stage: Stage::Converted {
                at_ms,
                file: String::from("(already on the target load)"),
            },
            ..Progress::default()
        }
    }

    fn raise(&mut self, to: Stage) {
        if to.rank() > self.stage.rank() {
            self.stage = to;
        }
    }

    fn fail_once(&mut self, cause: String) {
        self.image_failures += 1;
        self.last_failure = Some(cause.clone());
        if self.image_failures >= IMAGE_FAILURE_LIMIT {
            self.stage = Stage::Failed {
                cause: format!("{cause} ({} attempts in a row)", self.image_failures),
            };
        }
    }
}

/// Folds a phone's transfers in order from a fresh start.
pub fn infer(mac: Mac, target: &Target, events: &[TransferEvent]) -> Progress {
    let mut p = Progress::default();
    for ev in events {
        p.apply(mac, target, ev);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_for_sip_8_12() {
        let t: Target = "sip:8.12".parse().unwrap();
        let c = |f: &str| classify(&FileKind::of(f), &t, false);
        assert_eq!(c("P0S3-8-12-00.loads"), FileRole::Index);
        assert_eq!(c("P003-8-12-00.sbn"), FileRole::Loader);
        assert_eq!(c("P003-8-12-00.bin"), FileRole::Loader);
        assert_eq!(c("P0S3-8-12-00.sb2"), FileRole::Application);
        assert_eq!(c("SIPDefault.cnf"), FileRole::TargetConfig);
        assert_eq!(c("./SIP0019AA000001.cnf"), FileRole::TargetConfig);
        assert_eq!(
            classify(&FileKind::of("SIP0019AA000001.cnf"), &t, true),
            FileRole::Hunt
        );
        assert_eq!(c("SEP0019AA000001.cnf.xml"), FileRole::Hunt);
        assert_eq!(c("P0030801SR02.sb2"), FileRole::Other);
        assert_eq!(c("RINGLIST.DAT"), FileRole::Other);
    }

    #[test]
    fn tftp_server_events_map_to_transfer_events() {
        use phoneflip_tftp::log::{Direction, EventOutcome};
        use std::time::{Duration, UNIX_EPOCH};
        let mac: Mac = "0019AA000001".parse().unwrap();
        // The server's event, as the request pipeline records it for the
        // phone it identified, as the jobs read it from the store.
        let make = |outcome| phoneflip_tftp::TransferEvent {
            file: "POS30300.bin".into(),
            client: "10.1.1.1:50000".parse().unwrap(),
            direction: Direction::Send,
            virtual_file: false,
            bytes: 512,
            size: Some(1024),
            outcome,
            started: UNIX_EPOCH,
            ended: UNIX_EPOCH + Duration::from_millis(1500),
        };
        let rec = |o| TransferEvent::from(&phoneflip_provision::to_event(&make(o), Some(mac)));
        let e = rec(EventOutcome::Transfer(phoneflip_tftp::Outcome::Protocol(
            "unexpected ACK".into(),
        )));
        assert_eq!(e.time_ms, 1500);
        assert_eq!(e.mac, Some(mac));
        assert_eq!(e.client_ip, Some("10.1.1.1".parse().unwrap()));
        match e.outcome {
            TransferOutcome::Failed(w) => assert!(w.starts_with("State Error"), "{w}"),
            o => panic!("{o:?}"),
        }
        let ok = rec(EventOutcome::Transfer(phoneflip_tftp::Outcome::Success));
        assert_eq!(ok.outcome, TransferOutcome::Sent);
        let nf = rec(EventOutcome::NotFound);
        assert_eq!(nf.outcome, TransferOutcome::NotFound);
    }

    #[test]
    fn inventory_events_map_to_transfer_events() {
        use phoneflip_inventory::{Event, Outcome};
        let e = Event::new(
            7,
            None,
            "10.1.1.1:1".parse().unwrap(),
            "P0S3-8-12-00.sb2",
            3,
            Outcome::Aborted,
            Some("State Error".into()),
        );
        let t = TransferEvent::from(&e);
        assert_eq!(t.outcome, TransferOutcome::Failed("State Error".into()));
        let t = TransferEvent::from(&Event {
            outcome: Outcome::TimedOut,
            detail: None,
            ..e
        });
        assert_eq!(t.outcome, TransferOutcome::Failed("timed_out".into()));
    }

    #[test]
    fn old_loads_have_a_bin_application() {
        let t: Target = "sip:6.3".parse().unwrap();
        assert_eq!(
            classify(&FileKind::of(&format!("{}.bin", t.load)), &t, false),
            FileRole::Application
        );
    }
}

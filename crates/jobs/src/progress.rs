//! Per-phone progress, inferred only from what the phone fetches over TFTP.
//!
//! A phone's word is the one thing we can trust: a config change proves
//! nothing until the phone asks for the new image, gets it, and comes back
//! asking for the new protocol's files. The fold here is ordered and pure,
//! so replaying the same transfers always gives the same answer (which is
//! what lets a restarted server resume a job).

use std::net::IpAddr;

use phoneflip_device::Mac;
use phoneflip_firmware::{ImageFile, ImageKind, LoadName, Protocol};
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
}

/// One TFTP transfer as the job engine sees it.
///
/// Mapping from the other crates: `phoneflip_inventory::Event` (what the
/// store keeps; `From` below), and in tests `phoneflip_tftp::TransferEvent`
/// (what the server emits live). Both carry the MAC when the file name
/// holds one or the server remembered it for the client address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferEvent {
    pub time_ms: Millis,
    pub mac: Option<Mac>,
    pub client_ip: Option<IpAddr>,
    /// As requested, possibly with a `tftp_cfg_dir` prefix.
    pub file: String,
    pub bytes: u64,
    pub outcome: TransferOutcome,
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
            bytes: e.bytes,
            outcome: match e.outcome {
                O::Sent => TransferOutcome::Sent,
                O::NotFound => TransferOutcome::NotFound,
                O::Refused | O::TimedOut | O::Aborted => TransferOutcome::Failed(detail()),
            },
        }
    }
}

// Only tests feed live server events in; the engine reads the inventory's.
#[cfg(test)]
impl From<&phoneflip_tftp::TransferEvent> for TransferEvent {
    fn from(e: &phoneflip_tftp::TransferEvent) -> Self {
        use phoneflip_tftp::log::EventOutcome as O;
        TransferEvent {
            time_ms: e
                .ended
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as Millis)
                .unwrap_or(0),
            mac: e.mac,
            client_ip: Some(e.client.ip()),
            file: e.file.clone(),
            bytes: e.bytes,
            outcome: match &e.outcome {
                O::Transfer(o) if o.is_success() => TransferOutcome::Sent,
                O::Transfer(o) => TransferOutcome::Failed(o.to_string()),
                O::NotFound => TransferOutcome::NotFound,
                O::Refused(why) => TransferOutcome::Failed(format!("refused: {why}")),
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

/// Whether a target release is installed through the universal
/// application loader (reference: SCCP 6.x and later, SIP 7.x and later),
/// which makes the upgrade two-stage: loader, reboot, application, reboot.
pub fn uses_loader(target: &Target) -> bool {
    let major = target.release.version.major;
    match target.protocol() {
        Protocol::Sip => major >= 7,
        Protocol::Sccp | Protocol::Mgcp => major >= 6,
    }
}

fn base_name(file: &str) -> &str {
    file.rsplit(['/', '\\']).next().unwrap_or(file)
}

/// Classifies `file` as requested by `mac`. `after_missing_sep` says the
/// phone's previous request was a `SEP<MAC>.cnf.xml` answered "not found",
/// which makes a following `SIP<MAC>.cnf` part of the loader's hunt rather
/// than the SIP application asking for its file.
pub fn classify(file: &str, mac: Mac, target: &Target, after_missing_sep: bool) -> FileRole {
    let name = base_name(file);
    if let Ok(img) = name.parse::<ImageFile>() {
        return image_role(&img, target);
    }
    let m = mac.to_string();
    let sep = format!("SEP{m}.cnf.xml");
    let sip = format!("SIP{m}.cnf");
    let mgc = format!("MGC{m}.cnf");
    let is_hunt = name == sep
        || name == sip
        || name == mgc
        || name == format!("CTLSEP{m}.tlv")
        || name == "XMLDefault.cnf.xml";
    let target_config = match target.protocol() {
        Protocol::Sip => name == "SIPDefault.cnf" || (name == sip && !after_missing_sep),
        Protocol::Sccp => name == sep || name == "XMLDefault.cnf.xml",
        Protocol::Mgcp => name == mgc,
    };
    if target_config {
        FileRole::TargetConfig
    } else if is_hunt {
        FileRole::Hunt
    } else {
        FileRole::Other
    }
}

fn image_role(img: &ImageFile, target: &Target) -> FileRole {
    let load: &LoadName = &target.load;
    let same = img.load.as_str() == load.as_str();
    let loader = img.load.as_str() == load.loader().as_str();
    match img.kind {
        ImageKind::Loads if same => FileRole::Index,
        ImageKind::Sb2 if same => FileRole::Application,
        ImageKind::Bin if same && !uses_loader(target) => FileRole::Application,
        ImageKind::Bin | ImageKind::Sbn if same || loader => FileRole::Loader,
        _ => FileRole::Other,
    }
}

/// Where a phone is on its way to the target, from its own requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub stage: Stage,
    /// Image transfers that failed in a row since the last success.
    pub image_failures: u32,
    pub last_failure: Option<String>,
    pub last_seen_ms: Option<Millis>,
    /// The previous request was a `SEP<MAC>.cnf.xml` not found.
    pub after_missing_sep: bool,
    /// Times the application image was fetched whole. A phone that keeps
    /// fetching it and never comes back on the new protocol refuses it
    /// after the transfer (the server sees success, the phone's screen
    /// says why).
    #[serde(default)]
    pub application_fetches: u32,
    /// The last image-related transfer was the target's `.loads`, sent.
    #[serde(default)]
    pub index_fetched: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            stage: Stage::Idle,
            image_failures: 0,
            last_failure: None,
            last_seen_ms: None,
            after_missing_sep: false,
            application_fetches: 0,
            index_fetched: false,
        }
    }
}

impl Progress {
    /// Folds one transfer by this phone (the caller routes events by MAC).
    pub fn apply(&mut self, mac: Mac, target: &Target, ev: &TransferEvent) {
        self.last_seen_ms = Some(self.last_seen_ms.map_or(ev.time_ms, |t| t.max(ev.time_ms)));
        let role = classify(&ev.file, mac, target, self.after_missing_sep);
        self.after_missing_sep = base_name(&ev.file) == format!("SEP{mac}.cnf.xml")
            && ev.outcome == TransferOutcome::NotFound;
        if self.stage.is_terminal() {
            return;
        }
        match role {
            FileRole::Index | FileRole::Loader | FileRole::Application => {
                self.raise(Stage::ImageRequested);
                self.index_fetched = role == FileRole::Index && ev.outcome == TransferOutcome::Sent;
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
                }
            }
            // The loader read the target's index, found that flash already
            // holds it, and started the application, which asks for a
            // file only the SIP application asks for: the phone runs the
            // target (its inventory record was stale). Not for SCCP/MGCP,
            // whose files the loader's own hunt also asks for.
            FileRole::TargetConfig
                if self.stage == Stage::ImageRequested
                    && self.index_fetched
                    && base_name(&ev.file) == "SIPDefault.cnf" =>
            {
                self.stage = Stage::Converted {
                    at_ms: ev.time_ms,
                    file: "SIPDefault.cnf (already on the target load)".to_string(),
                };
            }
            FileRole::TargetConfig if self.stage == Stage::ImageFetched => {
                self.stage = Stage::Converted {
                    at_ms: ev.time_ms,
                    file: base_name(&ev.file).to_string(),
                };
            }
            FileRole::TargetConfig | FileRole::Hunt | FileRole::Other => {}
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
        let mac: Mac = "0019AA000001".parse().unwrap();
        let c = |f: &str| classify(f, mac, &t, false);
        assert_eq!(c("P0S3-8-12-00.loads"), FileRole::Index);
        assert_eq!(c("P003-8-12-00.sbn"), FileRole::Loader);
        assert_eq!(c("P003-8-12-00.bin"), FileRole::Loader);
        assert_eq!(c("P0S3-8-12-00.sb2"), FileRole::Application);
        assert_eq!(c("SIPDefault.cnf"), FileRole::TargetConfig);
        assert_eq!(c("./SIP0019AA000001.cnf"), FileRole::TargetConfig);
        assert_eq!(
            classify("SIP0019AA000001.cnf", mac, &t, true),
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
        let make = |outcome| phoneflip_tftp::TransferEvent {
            file: "POS30300.bin".into(),
            client: "10.1.1.1:50000".parse().unwrap(),
            mac: Some(mac),
            direction: Direction::Send,
            virtual_file: false,
            bytes: 512,
            size: Some(1024),
            outcome,
            started: UNIX_EPOCH,
            ended: UNIX_EPOCH + Duration::from_millis(1500),
        };
        let e = TransferEvent::from(&make(EventOutcome::Transfer(
            phoneflip_tftp::Outcome::Protocol("unexpected ACK".into()),
        )));
        assert_eq!(e.time_ms, 1500);
        assert_eq!(e.mac, Some(mac));
        assert_eq!(e.client_ip, Some("10.1.1.1".parse().unwrap()));
        match e.outcome {
            TransferOutcome::Failed(w) => assert!(w.starts_with("State Error"), "{w}"),
            o => panic!("{o:?}"),
        }
        let ok = TransferEvent::from(&make(EventOutcome::Transfer(
            phoneflip_tftp::Outcome::Success,
        )));
        assert_eq!(ok.outcome, TransferOutcome::Sent);
        let nf = TransferEvent::from(&make(EventOutcome::NotFound));
        assert_eq!(nf.outcome, TransferOutcome::NotFound);
    }

    #[test]
    fn inventory_events_map_to_transfer_events() {
        use phoneflip_inventory::{Event, Outcome};
        let e = Event {
            time_ms: 7,
            mac: None,
            client_ip: "10.1.1.1".parse().unwrap(),
            client_port: 1,
            file: "P0S3-8-12-00.sb2".into(),
            bytes: 3,
            outcome: Outcome::Aborted,
            detail: Some("State Error".into()),
        };
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
        let mac: Mac = "0019AA000001".parse().unwrap();
        assert_eq!(
            classify(&format!("{}.bin", t.load), mac, &t, false),
            FileRole::Application
        );
    }
}

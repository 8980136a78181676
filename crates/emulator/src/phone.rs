//! The sans-IO boot state machine of one 7940/7960.
//!
//! Fed with [`Event`]s (power, files and TFTP errors, timer expiry, a SIP
//! `NOTIFY check-sync`) and the current time, it answers with [`Action`]s
//! (request a file, show a message, write flash, reboot, wait, and the final
//! stable or failed state). It never sleeps and never does I/O; see the
//! crate documentation for what is modelled and what is simplified.

use std::net::SocketAddr;
use std::time::Duration;

use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{LoadName, Protocol, Release, Version};
use phoneflip_plan::rules as plan_rules;

use crate::cfgread::{self, XmlLoad};
use crate::image::{Image, LoadsIndex, Role};
use crate::synth;
use crate::Generation;

/// SIP 2.x and earlier show "W210 TFTP Error : buffer full" for a
/// `SIPDefault.cnf` larger than this: the planner's
/// [`phoneflip_plan::W210_LIMIT`], as a length.
pub const BUFFER_FULL_LIMIT: usize = phoneflip_plan::W210_LIMIT as usize;

/// More reboots than this in one emulation is a boot loop.
pub const MAX_REBOOTS: u32 = 6;

/// Requests of a missing `SIP<MAC>.cnf` before the emulator gives up.
pub const CONFIG_TRIES: u32 = 3;

/// The SIP application re-requests a missing `SIP<MAC>.cnf` this often.
pub const CONFIG_RETRY: Duration = Duration::from_secs(30);

/// The universal loader's pause while the application starts.
pub const APP_START: Duration = Duration::from_secs(20);

/// After a check-sync NOTIFY the SIP application waits until it has been
/// idle this long before fetching `syncinfo.xml` (domain-facts, "Remote
/// reset of SIP phones"). The emulated phone is always idle, so it is one
/// wait.
pub const CHECK_SYNC_IDLE: Duration = Duration::from_secs(20);

/// The reference's State Error log shows a retry every ~8 s, three times.
pub const STATE_ERROR_RETRY: Duration = Duration::from_secs(8);
pub const STATE_ERROR_TRIES: u32 = 3;

/// TFTP error code for "file not found", the only error that lets the
/// loader go on hunting (CSCee31047).
pub const FILE_NOT_FOUND: u16 = 1;

/// Where the phone finds its TFTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TftpSetting {
    /// Settings > Network Configuration > Alternate TFTP Server = Yes.
    Manual(SocketAddr),
    /// From DHCP: option 66 (a name or address; SIP loads use it) and
    /// option 150 (a list of addresses; SCCP loads use it, SIP ignores it).
    Dhcp {
        option66: Option<SocketAddr>,
        option150: Vec<SocketAddr>,
    },
}

impl TftpSetting {
    /// The server a phone running `protocol` talks to.
    pub fn server(&self, protocol: Option<Protocol>) -> Option<SocketAddr> {
        match self {
            TftpSetting::Manual(a) => Some(*a),
            TftpSetting::Dhcp {
                option66,
                option150,
            } => match protocol {
                Some(Protocol::Sip) => *option66,
                _ => option150.first().copied().or(*option66),
            },
        }
    }
}

/// The phone's identity and network settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneConfig {
    pub mac: Mac,
    pub model: Model,
    pub tftp: TftpSetting,
}

/// A loader or application programmed into flash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Installed {
    /// The name the phone fetched it by: what it compares configuration
    /// files against, byte for byte.
    pub name: String,
    /// The name the image carries inside (what Settings > Status >
    /// Firmware Versions shows). It differs from `name` for a file renamed
    /// to an 8.3 alias; the phone answers to both.
    pub image_load: String,
    pub protocol: Protocol,
    pub version: Version,
    pub signed: bool,
    pub role: Role,
}

impl Installed {
    fn from_image(name: &str, img: &Image) -> Installed {
        Installed {
            name: name.to_string(),
            image_load: img.header.load.clone(),
            protocol: img.header.protocol,
            version: img.header.version,
            signed: img.header.signed,
            role: img.header.role,
        }
    }

    /// Whether a configuration file naming `name` names this load.
    pub fn is(&self, name: &str) -> bool {
        self.name == name || self.image_load == name
    }

    fn generation(&self) -> Generation {
        Generation::of(self.protocol, self.version)
    }

    /// What the planner's rules are asked about.
    fn release(&self) -> Release {
        Release::new(self.protocol, self.version)
    }
}

/// What survives a reboot.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Flash {
    /// The universal application loader; `None` on pre-loader loads.
    pub loader: Option<Installed>,
    pub app: Option<Installed>,
}

impl Flash {
    /// A phone as it leaves a site running `protocol` `version`.
    pub fn with_load(protocol: Protocol, version: Version) -> Flash {
        let app = LoadName::canonical(protocol, version);
        let signed = synth::signed(version);
        match Generation::of(protocol, version) {
            Generation::PreLoader => Flash {
                loader: None,
                app: Some(Installed {
                    name: app.to_string(),
                    image_load: app.to_string(),
                    protocol,
                    version,
                    signed,
                    role: Role::Combined,
                }),
            },
            Generation::Universal => Flash {
                loader: Some(Installed {
                    name: synth::loader_name(&app).to_string(),
                    image_load: synth::loader_name(&app).to_string(),
                    protocol,
                    version,
                    signed,
                    role: Role::Loader,
                }),
                app: Some(Installed {
                    name: app.to_string(),
                    image_load: app.to_string(),
                    protocol,
                    version,
                    signed,
                    role: Role::Application,
                }),
            },
        }
    }

    /// Once anything signed is in flash the phone verifies signatures and
    /// refuses unsigned images: the no-downgrade-below-5.0 rule.
    pub fn signed(&self) -> bool {
        self.loader.as_ref().is_some_and(|l| l.signed)
            || self.app.as_ref().is_some_and(|a| a.signed)
    }
}

/// An input to the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Power applied (also after every [`Action::Reboot`]).
    PowerOn,
    FileReceived {
        name: String,
        bytes: Vec<u8>,
    },
    /// A TFTP ERROR packet (code 1 = file not found), or code 0 for a
    /// transfer that timed out.
    FileError {
        name: String,
        code: u16,
        message: String,
    },
    /// The timer of the last [`Action::Wait`] expired.
    Timeout,
    /// A SIP `NOTIFY` with `Event: check-sync`.
    NotifyCheckSync,
}

/// A write to flash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashWrite {
    Loader(Installed),
    App(Installed),
}

/// The phone running normally.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StableState {
    pub load: String,
    pub protocol: Protocol,
    pub version: Version,
}

/// An output of the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    RequestFile(String),
    Display(String),
    WriteFlash(FlashWrite),
    /// The phone restarts; the driver answers with [`Event::PowerOn`].
    Reboot,
    /// Arm a timer; the driver answers with [`Event::Timeout`].
    Wait(Duration),
    Stable(StableState),
    Failed(Failure),
}

/// Why a phone ended in an error state, with what it shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum Failure {
    #[error("Protocol Application Invalid: {why}")]
    ProtocolApplicationInvalid { why: String },
    #[error("Image Authentication Failed: {file}: {why}")]
    ImageAuthenticationFailed { file: String, why: String },
    #[error(
        "No Load Specified: no configuration file names a load and flash holds no application"
    )]
    NoLoadSpecified,
    #[error("W210 TFTP Error : buffer full: SIPDefault.cnf is {size} bytes, more than SIP 2.x can read ({BUFFER_FULL_LIMIT}); leave only image_version in it until the phone is upgraded")]
    BufferFull { size: usize },
    #[error("Unprovisioned: {why}")]
    Unprovisioned { why: String },
    #[error("State Error: {file} failed to install on {running} ({tries} attempts); go to SIP 2.3 first, then to 3.x/4.x")]
    StateError {
        file: String,
        running: String,
        tries: u32,
    },
    #[error("downgrade refused: {file} is an unsigned load ({version}) and {running} is signed; a phone on 5.0 or later never goes below 5.0")]
    DowngradeRefused {
        file: String,
        version: Version,
        running: String,
    },
    #[error("load not accepted: {name} is longer than 8.3 and {running} (SIP 2.1 or earlier) only takes 8.3 names; upgrade SIP first or rename the file")]
    NameNot83 { name: String, running: String },
    #[error("No Load Specified: the config hunt stopped at {file} on TFTP error {code} ({message}), see CSCee31047; answer missing files with error 1 only")]
    HuntStopped {
        file: String,
        code: u16,
        message: String,
    },
    #[error("Protocol Application Invalid: boot loop ({reboots} reboots)")]
    BootLoop { reboots: u32 },
}

impl Failure {
    /// The text on the phone's screen.
    pub fn display(&self) -> &'static str {
        use phoneflip_plan::rules::screen;
        match self {
            Failure::ProtocolApplicationInvalid { .. } | Failure::BootLoop { .. } => {
                screen::PROTOCOL_APPLICATION_INVALID
            }
            Failure::ImageAuthenticationFailed { .. } | Failure::DowngradeRefused { .. } => {
                screen::IMAGE_AUTHENTICATION_FAILED
            }
            Failure::NoLoadSpecified | Failure::HuntStopped { .. } => screen::NO_LOAD_SPECIFIED,
            Failure::BufferFull { .. } => screen::W210_BUFFER_FULL,
            Failure::Unprovisioned { .. } => screen::UNPROVISIONED,
            Failure::StateError { .. } => screen::STATE_ERROR,
            Failure::NameNot83 { .. } => screen::LOAD_REJECTED,
        }
    }

    /// A short key to group failures by.
    pub fn cause(&self) -> &'static str {
        match self {
            Failure::ProtocolApplicationInvalid { .. } => "protocol_application_invalid",
            Failure::ImageAuthenticationFailed { .. } => "image_authentication_failed",
            Failure::NoLoadSpecified => "no_load_specified",
            Failure::BufferFull { .. } => "buffer_full",
            Failure::Unprovisioned { .. } => "unprovisioned",
            Failure::StateError { .. } => "state_error",
            Failure::DowngradeRefused { .. } => "downgrade_refused",
            Failure::NameNot83 { .. } => "name_not_8_3",
            Failure::HuntStopped { .. } => "hunt_stopped",
            Failure::BootLoop { .. } => "boot_loop",
        }
    }
}

/// A SIP load name written in the form of another version range.
fn wrong_sip_form(name: &str) -> bool {
    name.parse::<LoadName>().is_ok_and(|l| {
        l.protocol() == Protocol::Sip
            && l.form() != LoadName::canonical(Protocol::Sip, l.version()).form()
    })
}

/// Coarse state, for callers that only want to know where the phone is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneState {
    Off,
    Booting,
    Stable(StableState),
    Failed(Failure),
}

/// Which flash slot a fetched image is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Pre-loader fetch from OS79XX.TXT, image_version, loadInformation or
    /// gkdefault: a combined image or a universal loader.
    PreImage,
    Loader,
    App,
    Combined,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Off,
    Os79,
    /// Waiting for an image file.
    Image {
        file: String,
        stem: String,
        want: Want,
        /// Where the name came from, for error messages.
        source: String,
        tries: u32,
    },
    /// State Error: waiting before fetching `file` again.
    StateErrorWait {
        file: String,
        stem: String,
        source: String,
        tries: u32,
    },
    Hunt(usize),
    Loads {
        name: String,
        source: String,
    },
    AppStarting,
    GkDefault,
    SipDefault,
    SipMac {
        path: String,
        tries: u32,
    },
    SipMacWait {
        path: String,
        tries: u32,
    },
    Ringlist,
    Dialplan,
    SccpSep,
    SccpDefault,
    MgcpMac,
    /// A check-sync arrived: waiting to be idle before `syncinfo.xml`.
    SyncIdle,
    SyncInfo,
    Stable,
    Failed,
}

/// Values read from configuration files during one boot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Session {
    image_version: Option<(String, String)>,
    tftp_cfg_dir: Option<String>,
    sync: Option<String>,
    /// The SIP files of this boot in the order they were read, kept whole
    /// for the user agent ([`crate::ua::UaConfig::from_files`]).
    sip_files: Vec<Vec<u8>>,
}

/// One emulated phone.
#[derive(Debug, Clone)]
pub struct Phone {
    config: PhoneConfig,
    flash: Flash,
    phase: Phase,
    state: PhoneState,
    session: Session,
    reboots: u32,
    now: Duration,
    /// The loader's fallback on its own load is tried once per boot.
    fallback_tried: bool,
}

impl Phone {
    pub fn new(config: PhoneConfig, flash: Flash) -> Phone {
        Phone {
            config,
            flash,
            phase: Phase::Off,
            state: PhoneState::Off,
            session: Session::default(),
            reboots: 0,
            now: Duration::ZERO,
            fallback_tried: false,
        }
    }

    pub fn config(&self) -> &PhoneConfig {
        &self.config
    }

    pub fn flash(&self) -> &Flash {
        &self.flash
    }

    pub fn state(&self) -> &PhoneState {
        &self.state
    }

    pub fn reboots(&self) -> u32 {
        self.reboots
    }

    /// The time of the last event handled.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// The SIP configuration files (`SIPDefault.cnf`, `SIP<MAC>.cnf`) read
    /// during the current boot, in order: what the SIP user agent
    /// registers with.
    pub fn sip_files(&self) -> Vec<&[u8]> {
        self.session.sip_files.iter().map(Vec::as_slice).collect()
    }

    /// The TFTP server this phone talks to with what it now runs.
    pub fn tftp_server(&self) -> Option<SocketAddr> {
        self.config
            .tftp
            .server(self.flash.app.as_ref().map(|a| a.protocol))
    }

    fn mac(&self) -> String {
        self.config.mac.to_string()
    }

    /// The planner's [`phoneflip_plan::LOADER_HUNT`], for this phone.
    fn hunt_files(&self) -> [String; 5] {
        let m = self.mac();
        std::array::from_fn(|i| phoneflip_plan::LOADER_HUNT[i].for_mac(&m))
    }

    /// Feeds one event at time `now` (time since the emulation started).
    pub fn handle(&mut self, now: Duration, event: Event) -> Vec<Action> {
        self.now = now;
        let mut out = Vec::new();
        match event {
            Event::PowerOn => self.power_on(&mut out),
            Event::Timeout => self.timeout(&mut out),
            Event::NotifyCheckSync => {
                let sip_app = self
                    .flash
                    .app
                    .as_ref()
                    .is_some_and(|a| a.protocol == Protocol::Sip);
                if self.phase == Phase::Stable && sip_app {
                    self.phase = Phase::SyncIdle;
                    out.push(Action::Wait(CHECK_SYNC_IDLE));
                }
            }
            Event::FileReceived { name, bytes } => self.file(&name, Ok(bytes), &mut out),
            Event::FileError {
                name,
                code,
                message,
            } => self.file(&name, Err((code, message)), &mut out),
        }
        out
    }

    fn request(&mut self, name: &str, phase: Phase, out: &mut Vec<Action>) {
        self.phase = phase;
        out.push(Action::RequestFile(name.to_string()));
    }

    fn fail(&mut self, f: Failure, out: &mut Vec<Action>) {
        out.push(Action::Display(f.display().to_string()));
        out.push(Action::Failed(f.clone()));
        self.state = PhoneState::Failed(f);
        self.phase = Phase::Failed;
    }

    fn reboot(&mut self, out: &mut Vec<Action>) {
        self.reboots += 1;
        if self.reboots > MAX_REBOOTS {
            return self.fail(
                Failure::BootLoop {
                    reboots: self.reboots,
                },
                out,
            );
        }
        out.push(Action::Reboot);
        self.phase = Phase::Off;
        self.state = PhoneState::Off;
    }

    fn stable(&mut self, out: &mut Vec<Action>) {
        let Some(app) = self.flash.app.clone() else {
            return self.fail(Failure::NoLoadSpecified, out);
        };
        // What Settings > Status > Firmware Versions shows: the image's own
        // name, also when it was fetched by an 8.3 alias.
        let s = StableState {
            load: app.image_load.clone(),
            protocol: app.protocol,
            version: app.version,
        };
        out.push(Action::Display(format!(
            "{} {} ready",
            app.protocol, app.name
        )));
        out.push(Action::Stable(s.clone()));
        self.state = PhoneState::Stable(s);
        self.phase = Phase::Stable;
    }

    fn power_on(&mut self, out: &mut Vec<Action>) {
        self.session = Session::default();
        self.fallback_tried = false;
        self.state = PhoneState::Booting;
        if self.flash.loader.is_some() {
            let first = self.hunt_files()[0].clone();
            self.request(&first, Phase::Hunt(0), out);
        } else if self.flash.app.is_some() {
            self.request("OS79XX.TXT", Phase::Os79, out);
        } else {
            self.fail(Failure::NoLoadSpecified, out);
        }
    }

    fn timeout(&mut self, out: &mut Vec<Action>) {
        match self.phase.clone() {
            Phase::AppStarting => self.app_config(out),
            Phase::SyncIdle => self.request("syncinfo.xml", Phase::SyncInfo, out),
            Phase::SipMacWait { path, tries } => {
                self.request(&path.clone(), Phase::SipMac { path, tries }, out)
            }
            Phase::StateErrorWait {
                file,
                stem,
                source,
                tries,
            } => self.request(
                &file.clone(),
                Phase::Image {
                    file,
                    stem,
                    want: Want::PreImage,
                    source,
                    tries,
                },
                out,
            ),
            _ => {}
        }
    }

    fn file(&mut self, name: &str, got: Result<Vec<u8>, (u16, String)>, out: &mut Vec<Action>) {
        match self.phase.clone() {
            Phase::Os79 => self.on_os79(got, out),
            Phase::Image {
                file,
                stem,
                want,
                source,
                tries,
            } if file == name => self.on_image(&file, &stem, want, &source, tries, got, out),
            Phase::Hunt(i) => self.on_hunt(i, got, out),
            Phase::Loads { name: load, source } => self.on_loads(&load, &source, got, out),
            Phase::GkDefault => self.on_gkdefault(got, out),
            Phase::SipDefault => self.on_sip_default(got, out),
            Phase::SipMac { path, tries } => self.on_sip_mac(&path, tries, got, out),
            Phase::Ringlist => {
                if self.app_is_8x() {
                    self.request("dialplan.xml", Phase::Dialplan, out)
                } else {
                    self.stable(out)
                }
            }
            Phase::Dialplan => self.stable(out),
            Phase::SccpSep => self.on_sccp_xml(true, got, out),
            Phase::SccpDefault => self.on_sccp_xml(false, got, out),
            Phase::SyncInfo => self.on_syncinfo(got, out),
            Phase::MgcpMac => {
                if let Ok(bytes) = got {
                    if let Some(v) =
                        cfgread::sip_value(&bytes, "image_version").filter(|v| !v.is_empty())
                    {
                        self.session.image_version = Some((v, name.to_string()));
                    }
                }
                self.compare_image(out)
            }
            _ => {}
        }
    }

    fn app_is_8x(&self) -> bool {
        self.flash
            .app
            .as_ref()
            .is_some_and(|a| a.version.major >= 8)
    }

    // ---- pre-loader generation ----

    fn on_os79(&mut self, got: Result<Vec<u8>, (u16, String)>, out: &mut Vec<Action>) {
        let bytes = match got {
            Ok(b) => b,
            // No OS79XX.TXT: the phone runs what it has.
            Err(_) => return self.pre_config(out),
        };
        match cfgread::os79xx(&bytes) {
            Err(d) => self.fail(Failure::Unprovisioned { why: d.to_string() }, out),
            // The reference ("IP Phones go to Unprovisioned State"): SIP 2.3
            // and earlier are written POS3xxyy, 3.0 and later POS3-xx-y-zz;
            // the other form is wrong syntax, and the phone goes
            // Unprovisioned, as the doctor says.
            Ok(name) if wrong_sip_form(&name) => {
                let why = format!("OS79XX.TXT names {name}, a SIP load in the wrong form for its version (SIP 2.3 and earlier POS3xxyy, 3.0 and later POS3-xx-y-zz)");
                self.fail(Failure::Unprovisioned { why }, out)
            }
            Ok(name) => {
                if self.flash.app.as_ref().is_some_and(|a| a.is(&name)) {
                    self.pre_config(out)
                } else {
                    self.pre_fetch(&name, "OS79XX.TXT", out)
                }
            }
        }
    }

    /// A pre-loader phone fetching the image a file named.
    fn pre_fetch(&mut self, name: &str, source: &str, out: &mut Vec<Action>) {
        if let Some(app) = &self.flash.app {
            if plan_rules::refuses_long_name(&app.release(), name) {
                let f = Failure::NameNot83 {
                    name: name.to_string(),
                    running: app.name.clone(),
                };
                return self.fail(f, out);
            }
        }
        let is_loader = name
            .parse::<LoadName>()
            .is_ok_and(|l| l.is_universal_loader());
        let file = if is_loader && self.flash.signed() {
            format!("{name}.sbn")
        } else {
            format!("{name}.bin")
        };
        out.push(Action::Display("Upgrading Firmware".into()));
        self.request(
            &file.clone(),
            Phase::Image {
                file,
                stem: name.to_string(),
                want: Want::PreImage,
                source: source.to_string(),
                tries: 1,
            },
            out,
        );
    }

    fn pre_config(&mut self, out: &mut Vec<Action>) {
        let Some(app) = self.flash.app.clone() else {
            return self.fail(Failure::NoLoadSpecified, out);
        };
        match app.protocol {
            Protocol::Sip if plan_rules::reads_gkdefault(&app.release()) => {
                self.request("gkdefault.cfg", Phase::GkDefault, out)
            }
            Protocol::Sip => self.request("SIPDefault.cnf", Phase::SipDefault, out),
            Protocol::Mgcp => {
                let f = format!("MGC{}.cnf", self.mac());
                self.request(&f, Phase::MgcpMac, out)
            }
            Protocol::Sccp => {
                let f = format!("SEP{}.cnf.xml", self.mac());
                self.request(&f, Phase::SccpSep, out)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_image(
        &mut self,
        file: &str,
        stem: &str,
        want: Want,
        source: &str,
        tries: u32,
        got: Result<Vec<u8>, (u16, String)>,
        out: &mut Vec<Action>,
    ) {
        let bytes = match got {
            Ok(b) => b,
            Err((code, message)) => {
                let named = if stem.is_empty() { file } else { stem };
                let why = if code == FILE_NOT_FOUND {
                    format!("{source} names {named} but {file} is not on the TFTP server (names are case-sensitive; extract the whole vendor zip)")
                } else {
                    format!("fetching {file} failed with TFTP error {code} ({message})")
                };
                return self.fail(Failure::ProtocolApplicationInvalid { why }, out);
            }
        };
        let img = match Image::parse(&bytes) {
            Ok(i) => i,
            Err(e) => {
                return self.fail(
                    Failure::ImageAuthenticationFailed {
                        file: file.to_string(),
                        why: e.to_string(),
                    },
                    out,
                )
            }
        };
        let running = self.flash.app.clone().or_else(|| self.flash.loader.clone());
        if self.flash.signed() && !img.header.signed {
            let f = if img.header.version < plan_rules::SIGNED_FLOOR {
                Failure::DowngradeRefused {
                    file: file.to_string(),
                    version: img.header.version,
                    running: running.map(|r| r.name).unwrap_or_default(),
                }
            } else {
                Failure::ImageAuthenticationFailed {
                    file: file.to_string(),
                    why: "the image is not signed and the phone only takes signed images".into(),
                }
            };
            return self.fail(f, out);
        }
        if want == Want::PreImage {
            if let Some(r) = &running {
                let target = Release::new(img.header.protocol, img.header.version);
                if plan_rules::state_error_applies(&r.release(), &target) {
                    out.push(Action::Display("State Error".into()));
                    if tries >= STATE_ERROR_TRIES {
                        let f = Failure::StateError {
                            file: file.to_string(),
                            running: r.name.clone(),
                            tries,
                        };
                        return self.fail(f, out);
                    }
                    self.phase = Phase::StateErrorWait {
                        file: file.to_string(),
                        stem: stem.to_string(),
                        source: source.to_string(),
                        tries: tries + 1,
                    };
                    out.push(Action::Wait(STATE_ERROR_RETRY));
                    return;
                }
            }
        }
        let role = img.header.role;
        let fits = match want {
            Want::PreImage => matches!(role, Role::Combined | Role::Loader),
            Want::Loader => role == Role::Loader,
            Want::App => role == Role::Application,
            Want::Combined => role == Role::Combined,
        };
        if !fits {
            let why = format!("{file} is a {role}, which cannot be programmed here (was a file renamed or copied by hand instead of extracting the vendor zip?)");
            return self.fail(Failure::ProtocolApplicationInvalid { why }, out);
        }
        let name = if stem.is_empty() {
            img.header.load.as_str()
        } else {
            stem
        };
        let installed = Installed::from_image(name, &img);
        match role {
            Role::Loader => {
                // A loader replaces the combined image's boot code; the
                // old combined application cannot be run by it.
                if self
                    .flash
                    .app
                    .as_ref()
                    .is_some_and(|a| a.role == Role::Combined)
                {
                    self.flash.app = None;
                }
                self.flash.loader = Some(installed.clone());
                out.push(Action::WriteFlash(FlashWrite::Loader(installed)));
            }
            _ => {
                if role == Role::Combined {
                    self.flash.loader = None;
                }
                self.flash.app = Some(installed.clone());
                out.push(Action::WriteFlash(FlashWrite::App(installed)));
            }
        }
        self.reboot(out);
    }

    // ---- universal loader ----

    fn on_hunt(&mut self, i: usize, got: Result<Vec<u8>, (u16, String)>, out: &mut Vec<Action>) {
        let files = self.hunt_files();
        let file = files[i].clone();
        let named = match got {
            Err((code, _)) if code == FILE_NOT_FOUND => None,
            Err((code, message)) => {
                // CSCee31047: any other error ends the hunt.
                if self
                    .flash
                    .app
                    .as_ref()
                    .is_some_and(|a| a.role == Role::Application)
                {
                    out.push(Action::Display(format!("TFTP Error {code} on {file}")));
                    return self.boot_app(out);
                }
                return self.fail(
                    Failure::HuntStopped {
                        file,
                        code,
                        message,
                    },
                    out,
                );
            }
            Ok(bytes) => match i {
                0 => None,
                1 | 4 => match cfgread::xml_load(&bytes, self.config.model.device_type_code()) {
                    XmlLoad::Named(n) => Some(n),
                    XmlLoad::None => None,
                    XmlLoad::Malformed => {
                        out.push(Action::Display(format!("{file} is malformed")));
                        return self.reboot(out);
                    }
                },
                _ => cfgread::sip_value(&bytes, "image_version").filter(|v| !v.is_empty()),
            },
        };
        match named {
            Some(n) => self.universal_fetch(&n, &file, out),
            None if i + 1 < files.len() => {
                let next = files[i + 1].clone();
                self.request(&next, Phase::Hunt(i + 1), out)
            }
            None => {
                // Nothing named and nothing to run: a loader falls back on
                // the load it shipped with, which it can only name when the
                // load shares its name (SCCP: P0030801SR02 loader and
                // application). A SIP loader (P003-…) cannot, and shows
                // "No Load Specified".
                let runnable = self
                    .flash
                    .app
                    .as_ref()
                    .is_some_and(|a| a.role == Role::Application);
                match self.flash.loader.clone() {
                    Some(l) if !runnable && l.protocol != Protocol::Sip && !self.fallback_tried => {
                        self.fallback_tried = true;
                        self.universal_fetch(&l.name, "the loader's own load", out)
                    }
                    _ => self.boot_app(out),
                }
            }
        }
    }

    /// A universal-loader phone moving to the load `name`.
    fn universal_fetch(&mut self, name: &str, source: &str, out: &mut Vec<Action>) {
        let pre_loader_target = name.parse::<LoadName>().is_ok_and(|l| {
            !l.is_universal_loader()
                && Generation::of(l.protocol(), l.version()) == Generation::PreLoader
        });
        if pre_loader_target {
            if self.flash.app.as_ref().is_some_and(|a| a.is(name)) {
                return self.boot_app(out);
            }
            let file = format!("{name}.bin");
            out.push(Action::Display("Upgrading Firmware".into()));
            return self.request(
                &file.clone(),
                Phase::Image {
                    file,
                    stem: name.to_string(),
                    want: Want::Combined,
                    source: source.to_string(),
                    tries: 1,
                },
                out,
            );
        }
        self.request(
            &format!("{name}.loads"),
            Phase::Loads {
                name: name.to_string(),
                source: source.to_string(),
            },
            out,
        );
    }

    fn on_loads(
        &mut self,
        name: &str,
        source: &str,
        got: Result<Vec<u8>, (u16, String)>,
        out: &mut Vec<Action>,
    ) {
        let file = format!("{name}.loads");
        let bytes = match got {
            Ok(b) => b,
            Err(_)
                if self
                    .flash
                    .app
                    .as_ref()
                    .is_some_and(|a| a.is(name) && a.role == Role::Application) =>
            {
                return self.boot_app(out)
            }
            Err((code, message)) => {
                let why = if code == FILE_NOT_FOUND {
                    format!("{source} names {name} but {file} is not on the TFTP server (names are case-sensitive; extract the whole vendor zip, .loads included)")
                } else {
                    format!("fetching {file} failed with TFTP error {code} ({message})")
                };
                return self.fail(Failure::ProtocolApplicationInvalid { why }, out);
            }
        };
        let index = Image::parse(&bytes).and_then(|img| {
            if img.header.role == Role::Index {
                LoadsIndex::from_payload(&img.payload)
            } else {
                Err(crate::image::ImageError::Malformed(format!(
                    "it is a {}, not a .loads index",
                    img.header.role
                )))
            }
        });
        let index = match index {
            Ok(i) => i,
            Err(e) => {
                return self.fail(
                    Failure::ImageAuthenticationFailed {
                        file,
                        why: e.to_string(),
                    },
                    out,
                )
            }
        };
        if !self
            .flash
            .loader
            .as_ref()
            .is_some_and(|l| l.is(&index.loader))
        {
            let ext = if self.flash.signed() { "sbn" } else { "bin" };
            let f = format!("{}.{ext}", index.loader);
            out.push(Action::Display("Upgrading Firmware".into()));
            return self.request(
                &f.clone(),
                Phase::Image {
                    file: f,
                    stem: index.loader.clone(),
                    want: Want::Loader,
                    source: file,
                    tries: 1,
                },
                out,
            );
        }
        if !self
            .flash
            .app
            .as_ref()
            .is_some_and(|a| a.is(&index.application))
        {
            let f = format!("{}.sb2", index.application);
            out.push(Action::Display("Upgrading Firmware".into()));
            return self.request(
                &f.clone(),
                Phase::Image {
                    file: f,
                    stem: index.application.clone(),
                    want: Want::App,
                    source: file,
                    tries: 1,
                },
                out,
            );
        }
        self.boot_app(out)
    }

    fn boot_app(&mut self, out: &mut Vec<Action>) {
        match &self.flash.app {
            Some(a) if a.role == Role::Application => {
                self.phase = Phase::AppStarting;
                out.push(Action::Wait(APP_START));
            }
            _ => self.fail(Failure::NoLoadSpecified, out),
        }
    }

    /// The universal application's own configuration files.
    fn app_config(&mut self, out: &mut Vec<Action>) {
        match self.flash.app.as_ref().map(|a| a.protocol) {
            Some(Protocol::Sip) => self.request("SIPDefault.cnf", Phase::SipDefault, out),
            // SCCP/MGCP: the loader's hunt already read SEP/XMLDefault;
            // registration with CallManager is not modelled.
            _ => self.stable(out),
        }
    }

    // ---- SIP application ----

    fn on_gkdefault(&mut self, got: Result<Vec<u8>, (u16, String)>, out: &mut Vec<Action>) {
        if let (Ok(bytes), Some(app)) = (got, self.flash.app.clone()) {
            if let Some((_code, image)) = cfgread::gk_upgradecode(&bytes) {
                let own = synth::gk_image(app.protocol, app.version).to_string();
                if image != own {
                    out.push(Action::Display("Upgrading Firmware".into()));
                    return self.request(
                        &image.clone(),
                        Phase::Image {
                            file: image.clone(),
                            // The .sbin name is gkdefault's, not a load
                            // name: flash records the image's own name.
                            stem: String::new(),
                            want: Want::PreImage,
                            source: "gkdefault.cfg".into(),
                            tries: 1,
                        },
                        out,
                    );
                }
            }
        }
        self.request("SIPDefault.cnf", Phase::SipDefault, out)
    }

    fn on_sip_default(&mut self, got: Result<Vec<u8>, (u16, String)>, out: &mut Vec<Action>) {
        let Some(app) = self.flash.app.clone() else {
            return self.fail(Failure::NoLoadSpecified, out);
        };
        if let Ok(bytes) = got {
            if plan_rules::w210_buffer_full(&app.release(), bytes.len() as u64) {
                return self.fail(Failure::BufferFull { size: bytes.len() }, out);
            }
            self.read_sip(&bytes, "SIPDefault.cnf");
        }
        let file = format!("SIP{}.cnf", self.mac());
        let path = match &self.session.tftp_cfg_dir {
            Some(dir) if !dir.is_empty() => {
                if dir.ends_with('/') {
                    format!("{dir}{file}")
                } else {
                    format!("{dir}/{file}")
                }
            }
            _ if app.version.major >= 8 => format!("./{file}"),
            _ => file,
        };
        self.request(&path.clone(), Phase::SipMac { path, tries: 1 }, out)
    }

    fn read_sip(&mut self, bytes: &[u8], file: &str) {
        self.session.sip_files.push(bytes.to_vec());
        if let Some(v) = cfgread::sip_value(bytes, "image_version").filter(|v| !v.is_empty()) {
            self.session.image_version = Some((v, file.to_string()));
        }
        if let Some(v) = cfgread::sip_value(bytes, "tftp_cfg_dir") {
            self.session.tftp_cfg_dir = Some(v);
        }
        if let Some(v) = cfgread::sip_value(bytes, "sync") {
            self.session.sync = Some(v);
        }
    }

    fn on_sip_mac(
        &mut self,
        path: &str,
        tries: u32,
        got: Result<Vec<u8>, (u16, String)>,
        out: &mut Vec<Action>,
    ) {
        match got {
            Err(_) if tries >= CONFIG_TRIES => {
                let why = format!("{path} was not found after {tries} requests {}s apart; the file name needs this phone's MAC in capitals (SIP{}.cnf) and a lower-case .cnf", CONFIG_RETRY.as_secs(), self.mac());
                self.fail(Failure::Unprovisioned { why }, out)
            }
            Err(_) => {
                self.phase = Phase::SipMacWait {
                    path: path.to_string(),
                    tries: tries + 1,
                };
                out.push(Action::Wait(CONFIG_RETRY));
            }
            Ok(bytes) => {
                self.read_sip(&bytes, path);
                self.compare_image(out)
            }
        }
    }

    /// After the protocol's configuration: move to the configured image or
    /// finish booting.
    fn compare_image(&mut self, out: &mut Vec<Action>) {
        let Some(app) = self.flash.app.clone() else {
            return self.fail(Failure::NoLoadSpecified, out);
        };
        if let Some((want, source)) = self.session.image_version.clone() {
            if !app.is(&want) {
                return match app.generation() {
                    Generation::PreLoader => self.pre_fetch(&want, &source, out),
                    Generation::Universal => self.universal_fetch(&want, &source, out),
                };
            }
        }
        if app.protocol == Protocol::Sip {
            self.request("RINGLIST.DAT", Phase::Ringlist, out)
        } else {
            self.stable(out)
        }
    }

    fn on_syncinfo(&mut self, got: Result<Vec<u8>, (u16, String)>, out: &mut Vec<Action>) {
        let Some(app) = self.flash.app.clone() else {
            return;
        };
        let mine = self.session.sync.clone().unwrap_or_else(|| "1".into());
        if let Ok(bytes) = got {
            let entry = cfgread::syncinfo(&bytes)
                .into_iter()
                .find(|(v, _)| app.is(v))
                .or_else(|| {
                    cfgread::syncinfo(&bytes)
                        .into_iter()
                        .find(|(v, _)| v == "*")
                });
            if let Some((_, sync)) = entry {
                if sync != mine {
                    return self.reboot(out);
                }
            }
        }
        self.request("dialplan.xml", Phase::Dialplan, out)
    }

    // ---- SCCP pre-loader application ----

    fn on_sccp_xml(
        &mut self,
        per_phone: bool,
        got: Result<Vec<u8>, (u16, String)>,
        out: &mut Vec<Action>,
    ) {
        let load = match got {
            Ok(bytes) => match cfgread::xml_load(&bytes, self.config.model.device_type_code()) {
                XmlLoad::Named(n) => Some(n),
                XmlLoad::None => None,
                XmlLoad::Malformed => {
                    out.push(Action::Display("Configuration file malformed".into()));
                    return self.reboot(out);
                }
            },
            Err(_) => None,
        };
        match load {
            Some(n) => {
                let source = if per_phone {
                    format!("SEP{}.cnf.xml", self.mac())
                } else {
                    "XMLDefault.cnf.xml".into()
                };
                self.session.image_version = Some((n, source));
                self.compare_image(out)
            }
            None if per_phone => self.request("XMLDefault.cnf.xml", Phase::SccpDefault, out),
            None => self.stable(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_ignores_option_150() {
        let a: SocketAddr = "10.0.0.1:69".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:69".parse().unwrap();
        let d = TftpSetting::Dhcp {
            option66: Some(a),
            option150: vec![b],
        };
        assert_eq!(d.server(Some(Protocol::Sip)), Some(a));
        assert_eq!(d.server(Some(Protocol::Sccp)), Some(b));
        let d = TftpSetting::Dhcp {
            option66: None,
            option150: vec![b],
        };
        assert_eq!(d.server(Some(Protocol::Sip)), None);
        assert_eq!(TftpSetting::Manual(a).server(None), Some(a));
    }

    #[test]
    fn flash_of_each_generation() {
        let f = Flash::with_load(Protocol::Sccp, "5.0(1.1)".parse().unwrap());
        assert!(f.loader.is_none() && f.signed());
        assert_eq!(f.app.unwrap().name, "P00305000101");
        let f = Flash::with_load(Protocol::Sip, "8.12".parse().unwrap());
        assert_eq!(f.loader.unwrap().name, "P003-8-12-00");
        let f = Flash::with_load(Protocol::Sccp, "3.3".parse().unwrap());
        assert!(!f.signed());
    }
}

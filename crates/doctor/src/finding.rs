//! What a check reports: the problem, where, what the phone would show,
//! the reference section that explains it and the fix.

use std::fmt;
use std::net::IpAddr;

use phoneflip_device::Mac;
use serde::{Serialize, Serializer};

/// How bad a finding is for the conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A phone will fail or stop converting.
    Error,
    /// A phone may fail, or the setup is risky.
    Warning,
    /// Worth knowing; nothing fails because of it on its own.
    Info,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        })
    }
}

/// What the phone (or the TFTP log) shows when it runs into the problem,
/// in the reference's words, so that a user can match the finding to what
/// is on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Symptom {
    ProtocolApplicationInvalid,
    NoLoadSpecified,
    W210BufferFull,
    Unprovisioned,
    ImageAuthenticationFailed,
    /// `Failed ( State Error ).` in the TFTP server's log.
    StateError,
    /// The phone keeps running the load it has: nothing on the screen.
    KeepsCurrentLoad,
    /// A SIP phone re-requests `SIP<MAC>.cnf` every ~30 s and never
    /// registers.
    ConfigNotFound,
    /// The phone ignores the parameter or the value.
    ParameterIgnored,
    /// Phones running SIP find no TFTP server.
    NoTftpServer,
    /// Phones that were not meant to convert convert too.
    WholeFleetConverts,
    /// The loader follows another file of its hunt to another load.
    LoadsOtherImage,
    /// The phone runs SIP but never registers with the proxy.
    NeverRegisters,
}

impl Symptom {
    /// The screen's words come from `phoneflip_plan::rules::screen`,
    /// which the emulator's failures display too.
    pub fn text(self) -> &'static str {
        use phoneflip_plan::rules::screen;
        match self {
            Symptom::ProtocolApplicationInvalid => screen::PROTOCOL_APPLICATION_INVALID,
            Symptom::NoLoadSpecified => screen::NO_LOAD_SPECIFIED,
            Symptom::W210BufferFull => screen::W210_BUFFER_FULL,
            Symptom::Unprovisioned => screen::UNPROVISIONED,
            Symptom::ImageAuthenticationFailed => screen::IMAGE_AUTHENTICATION_FAILED,
            Symptom::StateError => "Failed ( State Error ) in the TFTP log",
            Symptom::KeepsCurrentLoad => "the phone keeps running its current load",
            Symptom::ConfigNotFound => {
                "the phone re-requests its SIP<MAC>.cnf every 30 s and never registers"
            }
            Symptom::ParameterIgnored => "the phone ignores the parameter",
            Symptom::NoTftpServer => "phones running SIP find no TFTP server",
            Symptom::WholeFleetConverts => "every phone using this TFTP server converts",
            Symptom::NeverRegisters => "the phone boots SIP and never registers",
            Symptom::LoadsOtherImage => {
                "the phone loads the image another file of the loader's hunt names"
            }
        }
    }
}

impl fmt::Display for Symptom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl Serialize for Symptom {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.text())
    }
}

/// Which check found it: a stable identifier for scripts and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Unreadable,
    Os79xxMissing,
    Os79xxFileCase,
    Os79xxEmpty,
    Os79xxNotText,
    Os79xxLines,
    Os79xxWhitespace,
    Os79xxExtension,
    Os79xxNameCase,
    Os79xxNotALoad,
    Os79xxWrongForm,
    Os79xxNamesApplication,
    LoadWrongForm,
    LoadMissing,
    LoadFileCase,
    ConfigFileCase,
    ConfigUnreadable,
    /// A line of a SIP file the phone cannot read (it skips that line).
    SipLineUnreadable,
    ImageVersionInvalid,
    ImageVersionMismatch,
    NoLoadSpecified,
    LoaderAsImage,
    /// A 7940/7960 `loadInformation` code naming another model's load.
    LoadForOtherModel,
    SipParameter,
    BundleIncomplete,
    EmptyImage,
    /// A non-empty image failing its checksum, or of a size no real one has.
    DamagedImage,
    RingList,
    W210,
    SccpName83,
    DowngradeBelow5,
    GkdefaultMissing,
    GkdefaultWrongImage,
    StateErrorRisk,
    DhcpNo66,
    SharedTftpServer,
    /// The conversion served by a CallManager's own TFTP server.
    CallManagerTftp,
    LeftoverSep,
    SyncInfoUnreadable,
    RingListLineEnding,
    CtlJunk,
    DefaultSshCredentials,
    NoRegistration,
    DialPlanMissing,
    NotWorldReadable,
    RefusedHop,
    // Log patterns.
    LogStateError,
    LogConfigMissing,
    LogBootLoop,
    LogImageRefused,
    LogUnanswered,
    LogImageMissing,
    LogFileMissing,
    LogNameWhitespace,
    LogTransferErrors,
}

/// A fix phoneflip can apply by itself: it only renames files to the name
/// the phone asks for, or rewrites a control file to the one value the
/// reference prescribes. The originals are backed up first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Fix {
    Rename { from: String, to: String },
    Rewrite { file: String, contents: String },
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fix::Rename { from, to } => write!(f, "rename {from} to {to}"),
            Fix::Rewrite { file, contents } => {
                write!(f, "rewrite {file} as {:?}", contents)
            }
        }
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: Check,
    pub severity: Severity,
    /// The phone it concerns; `None` for root-wide findings.
    pub phone: Option<Mac>,
    /// The phone's address, for findings from a TFTP log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<IpAddr>,
    pub file: Option<String>,
    /// 1-based line in `file`.
    pub line: Option<usize>,
    /// What the phone would show.
    pub symptom: Option<Symptom>,
    pub problem: String,
    /// Title of the reference section that explains it.
    pub section: &'static str,
    /// What to do, in words.
    pub fix: String,
    /// Set when the fix is safe to automate (`--fix`).
    pub auto_fix: Option<Fix>,
}

impl Finding {
    pub fn new(check: Check, severity: Severity, section: &'static str) -> Finding {
        Finding {
            check,
            severity,
            phone: None,
            client: None,
            file: None,
            line: None,
            symptom: None,
            problem: String::new(),
            section,
            fix: String::new(),
            auto_fix: None,
        }
    }
    pub fn phone(mut self, mac: Mac) -> Self {
        self.phone = Some(mac);
        self
    }
    pub fn client(mut self, ip: IpAddr) -> Self {
        self.client = Some(ip);
        self
    }
    pub fn file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }
    pub fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
    pub fn symptom(mut self, s: Symptom) -> Self {
        self.symptom = Some(s);
        self
    }
    pub fn problem(mut self, p: impl Into<String>) -> Self {
        self.problem = p.into();
        self
    }
    pub fn fix(mut self, f: impl Into<String>) -> Self {
        self.fix = f.into();
        self
    }
    pub fn auto(mut self, fix: Option<Fix>) -> Self {
        self.auto_fix = fix;
        self
    }
}

/// Reference section titles the plan crate does not name.
pub mod section {
    pub use phoneflip_plan::rules::section::*;
    pub const TFTP_ACCESSIBILITY: &str = "TFTP Accessibility and Impact on Network";
    pub const DHCP: &str = "Configure the Phone Network Settings via DHCP";
    pub const IMAGE_AUTHENTICATION: &str = "\"Image Authentication Failed\" Error";
    pub const NO_LOAD_SPECIFIED: &str = "\"No Load Specified\" Error";
    pub const TROUBLESHOOTING_TIPS: &str = "Troubleshooting Tips";
    pub const BOOTUP_SIP: &str = "Bootup Process for a Cisco 7940/7960 SIP IP Phone";
    pub const TFTP_LOG: &str = "TFTP Server Log of a Phone Booting Up";
}

//! An emulator of the Cisco 7940/7960 boot behaviour and a tokio driver that
//! runs it against a real TFTP server.
//!
//! Owns: the sans-IO boot state machine [`phone::Phone`], the phone's own
//! reading of the files it fetches
//! ([`cfgread`]), a synchronous runner over an in-memory file set
//! ([`run`]), the phone's SIP agent for remote reset ([`sip`]), its SIP
//! user agent that registers its lines and calls ([`ua`]) and the UDP
//! driver ([`driver`]: one boot, or a live phone listening for SIP on its
//! own address). The synthetic image format it validates at boot and the
//! synthetic bundles it boots from live in `phoneflip-bundle`, which also
//! imports real bundles. Must not touch: the TFTP
//! server, the planner's decisions, the inventory or rendering; it only
//! reads what a server hands it, so that it can judge their output the way
//! a phone would. The conversion rules themselves (loader generation, W210,
//! 8.3 names, State Error, the 5.0 floor, who reads gkdefault) are
//! `phoneflip-plan`'s: the phone calls them, so plan, emulator and doctor
//! cannot disagree on a rule.
//!
//! # What is modelled
//! - Two firmware generations ([`Generation`]). Pre-loader loads (SCCP 5.x
//!   and older, SIP 6.x and older) fetch `OS79XX.TXT` first, then the image
//!   it names (`NAME.bin`; a universal loader name `P003-…` is fetched as
//!   `.sbn` on a phone already on a signed 5.x+ load, `.bin` below), then
//!   their protocol's files: SIP reads `gkdefault.cfg` (5.x/6.x),
//!   `SIPDefault.cnf`, `SIP<MAC>.cnf`, `RINGLIST.DAT` and compares
//!   `image_version` with flash; SCCP reads `SEP<MAC>.cnf.xml`, then
//!   `XMLDefault.cnf.xml`, and compares `loadInformation`; MGCP reads
//!   `MGC<MAC>.cnf` and compares `image_version`. The files each generation
//!   reads agree with `phoneflip-plan`'s boot table (a test checks it).
//! - Universal-loader loads (SCCP 6.x+, SIP 7.x+): the loader hunts
//!   `CTLSEP<MAC>.tlv` → `SEP<MAC>.cnf.xml` → `SIP<MAC>.cnf` →
//!   `MGC<MAC>.cnf` → `XMLDefault.cnf.xml`, stopping at the first file that
//!   names a load; fetches `NAME.loads`; installs the loader it names
//!   (`.sbn`) and reboots, then the application (`.sb2`) and reboots. The
//!   SIP application then waits ~20 s, fetches `SIPDefault.cnf` and
//!   `./SIP<MAC>.cnf` (8.x prefixes `tftp_cfg_dir`, `./` by default),
//!   re-requesting the latter every 30 s while it is missing, then
//!   `RINGLIST.DAT` and `dialplan.xml`. `NOTIFY check-sync` (answered
//!   200 OK by [`sip::Agent`]) waits 20 s for idle, fetches `syncinfo.xml`
//!   and reboots when the `SYNC` of its image's line (or `*`) differs from
//!   its `sync`, else reloads `dialplan.xml`.
//! - Flash (loader, application, signed or not) survives reboots; the
//!   no-downgrade-below-5.0 rule (a signed phone refuses an unsigned image);
//!   SIP 2.1 and earlier refusing names longer than 8.3; case-sensitive
//!   names (the phone requests exactly what a file says); MAC in capitals.
//! - TFTP error 1 (file not found) moves the hunt on; any other error stops
//!   it (CSCee31047).
//! - Every documented failure, with its display text ([`phone::Failure`]).
//!
//! # Simplifications (choices where the documents are silent)
//! - "W210 TFTP Error : buffer full": SIP 2.x and earlier cannot read a
//!   `SIPDefault.cnf` over [`phone::BUFFER_FULL_LIMIT`] bytes (2,048,
//!   `phoneflip_plan::W210_LIMIT`).
//! - "State Error": a phone on SCCP below 4.0 fails every transfer of a
//!   SIP 3.x/4.x image (three attempts 8 s apart, as in the reference's
//!   log), while SIP 2.3 and SIP 5.x/6.x install.
//! - A pre-loader phone only knows `.bin` images: naming a universal
//!   application (`P0S3-8-12-00`) to it fails with "Protocol Application
//!   Invalid"; `OS79XX.TXT` must name the loader, as the SIP zip does.
//! - A universal phone asked for a pre-loader load fetches `NAME.bin`.
//! - Installing a universal loader over a combined image erases it: with
//!   no load named anywhere the phone shows "No Load Specified", unless the
//!   loader shares its load's name (SCCP: `P0030801SR02`), in which case it
//!   fetches that load's `.loads` (what gkdefault's revert to an SCCP 6.x+
//!   `.sbin` needs; a SIP loader `P003-…` cannot name its application).
//! - A missing per-phone `SIP<MAC>.cnf` is re-requested every 30 s; the
//!   emulator gives up after 3 requests and reports the phone
//!   unprovisioned. SCCP registration with CallManager is not modelled:
//!   "stable" means the phone has finished its TFTP conversation on a load
//!   it can run; a live SIP phone then registers its lines with its proxy
//!   ([`ua`]).
//! - gkdefault: the binary `cfgfmt` format is unknown, so the phone reads
//!   the `#txt` text form phoneflip renders, and compares the
//!   `upgradecode` image name with the synthetic name of its own load
//!   (`phoneflip_bundle::synth::gk_image`).
//! - An empty or malformed `SEP<MAC>.cnf.xml` makes the phone reboot;
//!   more than [`phone::MAX_REBOOTS`] reboots end in "Protocol Application
//!   Invalid".
//! - A load fetched by an 8.3 alias (the reference's SIP 2.1 workaround)
//!   answers to both the alias and the image's own name when the phone
//!   compares configuration files with flash, and reports its own name.
//! - Signatures are the image checksum plus a signed flag; TFTP retries
//!   and timing belong to the driver's client, and time in the core is
//!   injected (waits are actions, never sleeps).

pub mod cfgread;
pub mod driver;
pub mod phone;
pub mod run;
pub mod sip;
pub mod ua;

// The phone reads phoneflip's synthetic images; the format is the bundle
// crate's.
use phoneflip_bundle::{image, synth};

use phoneflip_firmware::{Protocol, Version};

pub use phone::{Action, Event, Failure, Flash, Installed, Phone, PhoneConfig, TftpSetting};
pub use run::{Entry, Outcome, Report, Run, Step};

/// How a load boots: the original mechanism or the universal application
/// loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    /// SCCP 5.x and older, SIP and MGCP 6.x and older: `OS79XX.TXT` and
    /// one `.bin`.
    PreLoader,
    /// SCCP 6.x and later, SIP and MGCP 7.x and later: loader + `.loads` +
    /// `.sb2`.
    Universal,
}

impl Generation {
    /// The planner's loader-generation rule
    /// ([`phoneflip_plan::generation`]), in the emulator's words.
    pub fn of(protocol: Protocol, version: Version) -> Generation {
        phoneflip_plan::generation(protocol, version).into()
    }
}

impl From<phoneflip_plan::Generation> for Generation {
    fn from(g: phoneflip_plan::Generation) -> Generation {
        match g {
            phoneflip_plan::Generation::OriginalBoot => Generation::PreLoader,
            phoneflip_plan::Generation::UniversalLoader => Generation::Universal,
        }
    }
}

//! The reference's rules as data, and the one-hop check derived from them.
//!
//! Every rule carries the title of the reference section it comes from, so
//! a plan, a refusal or a doctor finding can cite it. [`check_hop`] is the
//! single place that decides whether a phone running one load may be sent
//! straight to another: the planner follows it, and the tests search the
//! graph it defines to prove plans are as short as the rules allow.

use phoneflip_firmware::{Protocol, Release, Version};
use serde::{Deserialize, Serialize};

/// Reference section titles, spelled as in the document so they can be
/// searched for.
pub mod section {
    pub const ENABLE_SIP: &str = "Enable SIP Functionality";
    pub const SCCP_OLD_TO_SIP_OLD: &str =
        "SCCP Image 3.x/Earlier to SIP Image 6.x/Earlier and from SCCP Image 5.x to SIP Image 5.x/6.x";
    pub const SCCP_OLD_TO_SIP_7: &str = "SCCP Image 3.x/Earlier and 5.x to SIP Image 7.x";
    pub const UNIVERSAL: &str = "SCCP Image 6.x/Later and SIP Image 7.x/Later";
    pub const REVERT: &str = "Revert Back to a Cisco CallManager SCCP Image";
    pub const SIP_OLD_TO_SCCP_OLD: &str = "SIP Images 4.x/Earlier to SCCP Images 5.x/Earlier";
    pub const SIP_OLD_TO_SCCP_6: &str = "SIP Images 4.x/Earlier to SCCP Images 6.x/Later";
    pub const SIP_5_6_TO_SCCP: &str = "SIP Images 5.x,6.x to SCCP Images 5.x/Later";
    pub const SIP_7_TO_SCCP: &str = "SIP Images 7.x/Later to SCCP Images 5.x/Later";
    pub const OBTAIN_SCCP: &str = "Obtain SCCP Firmware";
    pub const W210: &str = "\"W210 TFTP Error : buffer full\" Error";
    pub const NOT_ACCEPTING_SCCP: &str = "SIP Phone not Accepting SCCP Load";
    pub const PROTOCOL_APPLICATION_INVALID: &str = "\"Protocol Application Invalid\" Error";
    pub const UNPROVISIONED: &str = "IP Phones go to Unprovisioned State";
    /// Not a section of the reference: `domain-facts.md`.
    pub const DOMAIN_FACTS: &str = "domain facts (not in the reference)";
}

/// What a phone's screen shows when a conversion fails, in the
/// reference's words. The emulator's failures display these and the
/// doctor's findings name them, so a user matches both to the screen.
pub mod screen {
    pub const PROTOCOL_APPLICATION_INVALID: &str = "Protocol Application Invalid";
    pub const IMAGE_AUTHENTICATION_FAILED: &str = "Image Authentication Failed";
    pub const NO_LOAD_SPECIFIED: &str = "No Load Specified";
    pub const W210_BUFFER_FULL: &str = "W210 TFTP Error : buffer full";
    pub const UNPROVISIONED: &str = "Unprovisioned";
    pub const STATE_ERROR: &str = "State Error";
    /// Not the reference's words: what SIP 2.1 shows is not documented.
    pub const LOAD_REJECTED: &str = "Load Rejected";
}

/// The rules a hop or a refusal can cite. The serde names are part of the
/// stable JSON of `phoneflip plan --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(utoipa::ToSchema)]
pub enum RuleId {
    UniversalLoader,
    SipImageVersion,
    SccpLoadInformation,
    Os79xxNameOnly,
    #[serde(rename = "no_downgrade_below_5_0")]
    NoDowngradeBelow5,
    #[serde(rename = "state_error_via_sip_2_3")]
    StateErrorViaSip23,
    #[serde(rename = "latest_sccp_4_before_5")]
    LatestSccp4Before5,
    #[serde(rename = "via_sccp_6_3")]
    ViaSccp63,
    Gkdefault,
    #[serde(rename = "w210_minimal_sipdefault")]
    W210MinimalSipDefault,
    EightDotThree,
    OriginalBoot,
}

/// One rule of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: RuleId,
    /// Title of the reference section the rule comes from.
    pub section: &'static str,
    /// The rule, in one sentence.
    pub text: &'static str,
}

/// Every rule of the reference that shapes a plan.
pub const RULES: &[Rule] = &[
    Rule {
        id: RuleId::UniversalLoader,
        section: section::UNIVERSAL,
        text: "SCCP 6.x and later and SIP 7.x and later use the universal application loader: unzip the release in the TFTP root and reset; the phone compares the image named in OS79XX.TXT and its protocol configuration files with the one in flash and fetches it (loader, reboot, application, reboot)",
    },
    Rule {
        id: RuleId::SipImageVersion,
        section: section::SCCP_OLD_TO_SIP_7,
        text: "SIP reads the image it must run from the image_version parameter of SIPDefault.cnf and SIP<MAC>.cnf (image_version: POS3-07-1-00); SIP 7.x and later follow it to any protocol's load",
    },
    Rule {
        id: RuleId::SccpLoadInformation,
        section: section::SIP_7_TO_SCCP,
        text: "SCCP reads the image it must run from load_information / loadInformation in SEP<MAC>.cnf.xml and XMLDefault.cnf.xml",
    },
    Rule {
        id: RuleId::Os79xxNameOnly,
        section: section::ENABLE_SIP,
        text: "OS79XX.TXT holds only the name of the load to fetch, without the .bin extension, case-sensitive, nothing else on the line",
    },
    Rule {
        id: RuleId::NoDowngradeBelow5,
        section: section::ENABLE_SIP,
        text: "SIP 5.0 is SIP 4.4 plus signed images; once a phone runs a 5.0 or later load (SCCP or SIP) it cannot go back below 5.0 in any protocol",
    },
    Rule {
        id: RuleId::StateErrorViaSip23,
        section: section::ENABLE_SIP,
        text: "SIP 3.x/4.x may fail to install from a very old SCCP load (TFTP \"State Error\"): convert to SIP 2.3 first, then go on",
    },
    Rule {
        id: RuleId::LatestSccp4Before5,
        section: section::REVERT,
        text: "from SIP 3.x or earlier, convert to the latest SCCP 4.x before going to the SCCP 5.x chain (or later)",
    },
    Rule {
        id: RuleId::ViaSccp63,
        section: section::SIP_OLD_TO_SCCP_6,
        text: "from SIP 4.x or earlier, SCCP 6.x and later is reached by first converting to the 6.3 image through OS79XX.TXT and the configuration files, then to the desired image with the universal application loader",
    },
    Rule {
        id: RuleId::Gkdefault,
        section: section::SIP_5_6_TO_SCCP,
        text: "from SIP 5.x/6.x, reverting to SCCP needs the upgradecode line of gkdefault.txt changed to the SCCP image (version code and image name) and converted with cfgfmt -tsip_ptag.dat gkdefault.txt gkdefault.cfg",
    },
    Rule {
        id: RuleId::W210MinimalSipDefault,
        section: section::W210,
        text: "SIP 2.x and earlier cannot download a large SIPDefault.cnf (W210 TFTP Error: buffer full): while a phone runs SIP 2.x or earlier, SIPDefault.cnf must hold only image_version: NAME",
    },
    Rule {
        id: RuleId::EightDotThree,
        section: section::NOT_ACCEPTING_SCCP,
        text: "SIP 2.1 and earlier accept only DOS 8.3 file names: rename the load file to an 8.3 name (or upgrade SIP first)",
    },
    Rule {
        id: RuleId::OriginalBoot,
        section: section::SCCP_OLD_TO_SIP_OLD,
        text: "loads before the universal application loader (SCCP 5.x and older, SIP 6.x and older) request OS79XX.TXT first and load the binary it names",
    },
];

/// Looks a rule up by id.
pub fn rule(id: RuleId) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.id == id)
        .expect("every RuleId has an entry in RULES")
}

/// The version below which no phone can return once it has run one at or
/// above it.
pub const SIGNED_FLOOR: Version = Version::new(5, 0);

/// SCCP loads older than this are the reference's "particularly old" ones
/// for the State Error caveat: its SCCP→SIP sections group "SCCP 3.x/earlier".
pub const STATE_ERROR_SCCP_BELOW: Version = Version::new(4, 0);

/// The SIP release the State Error caveat goes through.
pub const VIA_SIP_2_3: Version = Version::new(2, 3);

/// The reference's "6.3 image" on the way from SIP 4.x or earlier to SCCP
/// 6.x and later.
///
/// "6.3" is ambiguous: Cisco's SCCP versions are written 6.0(3), and no
/// SCCP 6.3 train exists for the 7940/7960, while SCCP 6.0(2) (P00306000200)
/// is named in the same document. phoneflip reads "6.3" as SCCP 6.0(3), load
/// P00306000300, reached through OS79XX.TXT. This is the one place that
/// interpretation lives.
pub const VIA_SCCP_6_3: Version = Version::new(6, 0).with_maint(3);

/// The release the via-6.3 rule goes through.
pub const VIA_SCCP_6_3_RELEASE: Release = Release::new(Protocol::Sccp, VIA_SCCP_6_3);

/// How a load finds the next image at boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    /// Before the universal application loader: OS79XX.TXT first.
    OriginalBoot,
    /// The universal application loader (SCCP 6.x+, SIP 7.x+).
    UniversalLoader,
}

/// The first version of each protocol that boots through the universal
/// application loader. MGCP is not covered by the reference; it is taken to
/// follow SIP, whose loads it was released alongside.
pub fn universal_loader_from(protocol: Protocol) -> Version {
    match protocol {
        Protocol::Sccp => Version::new(6, 0),
        Protocol::Sip | Protocol::Mgcp => Version::new(7, 0),
    }
}

/// The loader-generation rule: which loads boot through OS79XX.TXT
/// (SCCP 5.x and older, SIP 6.x and older) and which through the universal
/// application loader (SCCP 6.x+, SIP 7.x+). The planner, the emulator,
/// the doctor and the jobs all ask this one function.
pub fn generation(protocol: Protocol, version: Version) -> Generation {
    if version >= universal_loader_from(protocol) {
        Generation::UniversalLoader
    } else {
        Generation::OriginalBoot
    }
}

/// A control file a load reads at boot, and the parameter in it that names
/// the image the phone must run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BootFile {
    /// File name in the TFTP root; `<MAC>` stands for the phone's MAC in
    /// capitals.
    pub name: &'static str,
    /// The parameter naming the image, when the file has one.
    pub image_parameter: Option<&'static str>,
}

/// Which control files a generation of loads reads at boot, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BootEntry {
    pub protocol: Protocol,
    /// Inclusive lower bound of the versions this entry covers.
    pub from: Version,
    /// Exclusive upper bound; `None` for "and later".
    pub below: Option<Version>,
    pub generation: Generation,
    pub files: &'static [BootFile],
    /// Where the entry comes from.
    pub source: &'static str,
}

impl BootEntry {
    pub fn covers(&self, release: &Release) -> bool {
        let below = match self.below {
            Some(b) => release.version < b,
            None => true,
        };
        self.protocol == release.protocol && release.version >= self.from && below
    }
}

const OS79XX: BootFile = BootFile {
    name: "OS79XX.TXT",
    image_parameter: Some("(the whole file)"),
};
const SEP: BootFile = BootFile {
    name: "SEP<MAC>.cnf.xml",
    image_parameter: Some("loadInformation"),
};
const XMLDEFAULT: BootFile = BootFile {
    name: "XMLDefault.cnf.xml",
    image_parameter: Some("loadInformation<device type code>"),
};
const SIPDEFAULT: BootFile = BootFile {
    name: "SIPDefault.cnf",
    image_parameter: Some("image_version"),
};
const SIPMAC: BootFile = BootFile {
    name: "SIP<MAC>.cnf",
    image_parameter: Some("image_version"),
};
const GKDEFAULT: BootFile = BootFile {
    name: "gkdefault.cfg",
    image_parameter: Some("upgradecode"),
};
const MGCMAC: BootFile = BootFile {
    name: "MGC<MAC>.cnf",
    image_parameter: Some("image_version"),
};

const CTLSEP: BootFile = BootFile {
    name: "CTLSEP<MAC>.tlv",
    image_parameter: None,
};

/// The universal application loader's hunt at every boot (domain facts,
/// real TFTP logs): these files in this order, each answered "File not
/// found" or read; the first that names a load decides what the phone
/// runs next. So a leftover `SEP<MAC>.cnf.xml` naming an SCCP load sends a
/// SIP 8.x phone back to SCCP before its `SIP<MAC>.cnf` is ever read. The
/// emulator hunts these files and the doctor checks what they name.
pub const LOADER_HUNT: &[BootFile] = &[CTLSEP, SEP, SIPMAC, MGCMAC, XMLDEFAULT];

impl BootFile {
    /// The name a phone with this MAC (capitals) asks for.
    pub fn for_mac(&self, mac: &str) -> String {
        self.name.replace("<MAC>", mac)
    }
}

/// The boot table: which control files each load generation reads. The
/// emulator and the doctor use it to know what a phone will ask for.
pub const BOOT_TABLE: &[BootEntry] = &[
    BootEntry {
        protocol: Protocol::Sccp,
        from: Version::new(0, 0),
        below: Some(Version::new(6, 0)),
        generation: Generation::OriginalBoot,
        files: &[OS79XX, SEP, XMLDEFAULT],
        source: section::SCCP_OLD_TO_SIP_OLD,
    },
    BootEntry {
        protocol: Protocol::Sccp,
        from: Version::new(6, 0),
        below: None,
        generation: Generation::UniversalLoader,
        files: &[SEP, XMLDEFAULT],
        source: section::UNIVERSAL,
    },
    BootEntry {
        protocol: Protocol::Sip,
        from: Version::new(0, 0),
        below: Some(Version::new(5, 0)),
        generation: Generation::OriginalBoot,
        files: &[OS79XX, SIPDEFAULT, SIPMAC],
        source: section::SCCP_OLD_TO_SIP_OLD,
    },
    BootEntry {
        protocol: Protocol::Sip,
        from: Version::new(5, 0),
        below: Some(Version::new(7, 0)),
        generation: Generation::OriginalBoot,
        files: &[OS79XX, GKDEFAULT, SIPDEFAULT, SIPMAC],
        source: section::SIP_5_6_TO_SCCP,
    },
    BootEntry {
        protocol: Protocol::Sip,
        from: Version::new(7, 0),
        below: None,
        generation: Generation::UniversalLoader,
        files: &[SIPDEFAULT, SIPMAC],
        source: section::UNIVERSAL,
    },
    BootEntry {
        protocol: Protocol::Mgcp,
        from: Version::new(0, 0),
        below: Some(Version::new(7, 0)),
        generation: Generation::OriginalBoot,
        files: &[OS79XX, MGCMAC],
        source: section::DOMAIN_FACTS,
    },
    BootEntry {
        protocol: Protocol::Mgcp,
        from: Version::new(7, 0),
        below: None,
        generation: Generation::UniversalLoader,
        files: &[MGCMAC],
        source: section::DOMAIN_FACTS,
    },
];

/// One release in each region where the rules or the boot table treat a
/// load differently, for reasoning about a phone whose load is unknown:
/// the request pipeline plans from every one its requests fit and sends a
/// file only when all those plans agree on it.
pub const REPRESENTATIVES: &[&str] = &[
    "sccp:3.3",
    "sccp:4.1(1)",
    "sccp:5.0(1.1)",
    "sccp:6.0(3)",
    "sccp:7.2(3)",
    "sccp:8.1(2)SR2",
    "sip:1.0",
    "sip:2.1",
    "sip:2.3",
    "sip:3.0",
    "sip:4.4",
    "sip:5.0",
    "sip:6.3",
    "sip:7.4",
    "sip:8.12",
    "mgcp:5.0",
    "mgcp:8.0(1)",
];

/// Whether a phone running `release` can have asked for `seen` (control
/// files as the boot table names them, in order) since its boot began:
/// only loads before the universal loader read OS79XX.TXT, first; the file
/// after it tells the generations apart (SEP for SCCP, gkdefault.cfg for
/// SIP 5.x/6.x, SIPDefault.cnf for older SIP, MGC for MGCP).
pub fn boot_consistent(release: &Release, seen: &[&str]) -> bool {
    let files = boot_entry(release).files;
    let reads_os79xx = files.first().is_some_and(|f| f.name == OS79XX.name);
    match seen {
        [] => true,
        [first, rest @ ..] if *first == OS79XX.name => {
            reads_os79xx
                && match rest.first() {
                    None => true,
                    Some(second) => files.get(1).is_some_and(|f| f.name == *second),
                }
        }
        _ => !reads_os79xx,
    }
}

/// The boot table entry for a release.
pub fn boot_entry(release: &Release) -> &'static BootEntry {
    BOOT_TABLE
        .iter()
        .find(|e| e.covers(release))
        .expect("BOOT_TABLE covers every protocol and version")
}

/// Whether the phone reads this control file at boot.
pub fn reads(release: &Release, file: &str) -> bool {
    boot_entry(release).files.iter().any(|f| f.name == file)
}

/// How a single hop moves the phone to its next load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// OS79XX.TXT names the next binary (loads before the universal loader).
    OriginalBoot,
    /// The image parameter of the running protocol's configuration file
    /// (`image_version`, `loadInformation`) names the next load.
    ConfigImage,
    /// The universal application loader fetches the release's files.
    UniversalLoader,
    /// gkdefault.cfg's upgradecode line names the SCCP image.
    Gkdefault,
}

/// Why a direct hop is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub rule: RuleId,
}

/// A direct hop the rules allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub mechanism: Mechanism,
    pub section: &'static str,
    /// False when the reference documents no procedure for this pair and
    /// the mechanism follows from the boot table alone.
    pub documented: bool,
}

fn v(major: u8) -> Version {
    Version::new(major, 0)
}

/// May a phone running `from` be sent straight to `to`?
///
/// This is the rule graph: an edge exists exactly when no rule of the
/// reference forbids it or demands an intermediate load.
pub fn check_hop(from: &Release, to: &Release) -> Result<Allowed, Refusal> {
    use Protocol::*;
    let (fp, fv, tp, tv) = (from.protocol, from.version, to.protocol, to.version);
    if below_signed_floor(fv, tv) {
        return Err(Refusal {
            rule: RuleId::NoDowngradeBelow5,
        });
    }
    let ok = |mechanism, section, documented| {
        Ok(Allowed {
            mechanism,
            section,
            documented,
        })
    };
    let to_universal = generation(tp, tv) == Generation::UniversalLoader;
    match fp {
        Sip if fv < v(5) => match tp {
            Sccp => {
                if fv < v(4) && tv >= v(5) {
                    return Err(Refusal {
                        rule: RuleId::LatestSccp4Before5,
                    });
                }
                if tv >= v(6) && tv != VIA_SCCP_6_3 {
                    return Err(Refusal {
                        rule: RuleId::ViaSccp63,
                    });
                }
                if tv >= v(6) {
                    ok(Mechanism::OriginalBoot, section::SIP_OLD_TO_SCCP_6, true)
                } else {
                    ok(Mechanism::OriginalBoot, section::SIP_OLD_TO_SCCP_OLD, true)
                }
            }
            Sip if to_universal => ok(Mechanism::UniversalLoader, section::ENABLE_SIP, false),
            Sip => ok(Mechanism::OriginalBoot, section::ENABLE_SIP, false),
            Mgcp => ok(Mechanism::OriginalBoot, section::DOMAIN_FACTS, false),
        },
        Sip if fv < v(7) => match tp {
            Sccp => ok(Mechanism::Gkdefault, section::SIP_5_6_TO_SCCP, true),
            Mgcp => ok(Mechanism::Gkdefault, section::SIP_5_6_TO_SCCP, false),
            Sip if to_universal => ok(Mechanism::UniversalLoader, section::ENABLE_SIP, false),
            Sip => ok(Mechanism::OriginalBoot, section::ENABLE_SIP, false),
        },
        Sip => match tp {
            Sccp => ok(Mechanism::ConfigImage, section::SIP_7_TO_SCCP, true),
            Sip if to_universal => ok(Mechanism::UniversalLoader, section::UNIVERSAL, true),
            Sip => ok(Mechanism::ConfigImage, section::SIP_7_TO_SCCP, false),
            Mgcp => ok(Mechanism::ConfigImage, section::SIP_7_TO_SCCP, false),
        },
        Sccp if fv < v(6) => match tp {
            Sip => {
                if state_error_applies(from, to) {
                    return Err(Refusal {
                        rule: RuleId::StateErrorViaSip23,
                    });
                }
                // The reference's two SCCP→SIP sections cover SCCP 3.x and
                // earlier and 5.x; SCCP 4.x is planned like them.
                let documented = fv < v(4) || fv >= v(5);
                if to_universal {
                    ok(
                        Mechanism::ConfigImage,
                        section::SCCP_OLD_TO_SIP_7,
                        documented,
                    )
                } else {
                    ok(
                        Mechanism::OriginalBoot,
                        section::SCCP_OLD_TO_SIP_OLD,
                        documented,
                    )
                }
            }
            Sccp => ok(Mechanism::OriginalBoot, section::OBTAIN_SCCP, false),
            Mgcp => ok(Mechanism::OriginalBoot, section::DOMAIN_FACTS, false),
        },
        Sccp => match tp {
            Sip if to_universal => ok(Mechanism::UniversalLoader, section::UNIVERSAL, true),
            Sccp if to_universal => ok(Mechanism::UniversalLoader, section::UNIVERSAL, false),
            _ => ok(Mechanism::ConfigImage, section::UNIVERSAL, false),
        },
        Mgcp if fv < v(7) => ok(Mechanism::OriginalBoot, section::DOMAIN_FACTS, false),
        Mgcp => ok(Mechanism::ConfigImage, section::DOMAIN_FACTS, false),
    }
}

/// The largest `SIPDefault.cnf` a load hit by the W210 bug can download.
///
/// The reference gives no number; a file holding only `image_version` (its
/// fix) is far below it, and Cisco's commented SIPDefaultGeneric.cnf is far
/// above it. The emulator fails a phone over it and the doctor warns about
/// a root over it, so both read it from here.
pub const W210_LIMIT: u64 = 2048;

/// The first SIP release without the W210 bug.
///
/// The reference says "older versions of the SIP software (2.x releases)";
/// releases before 2.x are older still and are taken to share the bug
/// (issue 10: "2.x or earlier"), so the rule covers SIP 1.x too.
pub const W210_FIXED_IN: Version = Version::new(3, 0);

/// The SIP loads (2.x and earlier) that cannot read a large SIPDefault.cnf.
pub fn w210_applies(release: &Release) -> bool {
    release.protocol == Protocol::Sip && release.version < W210_FIXED_IN
}

/// Whether a phone running `release` shows "W210 TFTP Error : buffer full"
/// for a `SIPDefault.cnf` of `size` bytes.
pub fn w210_buffer_full(release: &Release, size: u64) -> bool {
    w210_applies(release) && size > W210_LIMIT
}

/// The first SIP release that accepts file names longer than DOS 8.3.
pub const LONG_NAMES_FROM: Version = Version::new(2, 2);

/// The SIP loads that only accept 8.3 file names (2.1 and earlier).
pub fn eight_dot_three_applies(release: &Release) -> bool {
    release.protocol == Protocol::Sip && release.version < LONG_NAMES_FROM
}

/// Whether a phone running `running` refuses a load whose name (without
/// extension) is `stem`: SIP 2.1 and earlier take eight characters at most.
pub fn refuses_long_name(running: &Release, stem: &str) -> bool {
    eight_dot_three_applies(running) && stem.len() > 8
}

/// Whether installing `to` from `from` hits the reference's State Error:
/// SIP 3.x/4.x from a particularly old SCCP load (below 4.0).
pub fn state_error_applies(from: &Release, to: &Release) -> bool {
    from.protocol == Protocol::Sccp
        && from.version < STATE_ERROR_SCCP_BELOW
        && state_error_image(to)
}

/// The SIP images (3.x and 4.x) that the State Error caveat is about.
pub fn state_error_image(release: &Release) -> bool {
    release.protocol == Protocol::Sip && release.version >= v(3) && release.version < v(5)
}

/// Whether a phone that has run `running` can never again run `target`:
/// once on 5.0 or later (signed images), nothing below 5.0.
pub fn below_signed_floor(running: Version, target: Version) -> bool {
    running >= SIGNED_FLOOR && target < SIGNED_FLOOR
}

/// Whether a load reads `gkdefault.cfg` at boot (SIP 5.x and 6.x), the
/// reference's only way from those loads back to SCCP.
pub fn reads_gkdefault(release: &Release) -> bool {
    reads(release, GKDEFAULT.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Release {
        s.parse().unwrap()
    }

    #[test]
    fn every_rule_has_one_entry_and_a_real_section() {
        for r in RULES {
            assert_eq!(RULES.iter().filter(|x| x.id == r.id).count(), 1);
            assert!(!r.section.is_empty() && !r.text.is_empty());
        }
        assert_eq!(rule(RuleId::W210MinimalSipDefault).section, section::W210);
    }

    #[test]
    fn boot_table_covers_everything_without_overlap() {
        for p in Protocol::ALL {
            for major in 0..=12 {
                let rel = Release::new(p, Version::new(major, 1));
                let n = BOOT_TABLE.iter().filter(|e| e.covers(&rel)).count();
                assert_eq!(n, 1, "{rel}");
                assert_eq!(boot_entry(&rel).generation, generation(p, rel.version));
            }
        }
        assert!(reads(&r("sccp:5.0(1.1)"), "OS79XX.TXT"));
        assert!(!reads(&r("sccp:6.0(2)"), "OS79XX.TXT"));
        assert!(reads(&r("sip:6.3"), "gkdefault.cfg"));
        assert!(reads(&r("sip:8.12"), "SIPDefault.cnf"));
        assert!(!reads(&r("sip:8.12"), "OS79XX.TXT"));
        let hunt: Vec<String> = LOADER_HUNT
            .iter()
            .map(|f| f.for_mac("0011BB73AD61"))
            .collect();
        assert_eq!(
            hunt,
            [
                "CTLSEP0011BB73AD61.tlv",
                "SEP0011BB73AD61.cnf.xml",
                "SIP0011BB73AD61.cnf",
                "MGC0011BB73AD61.cnf",
                "XMLDefault.cnf.xml"
            ]
        );
    }

    #[test]
    fn representatives_cover_every_boot_entry_and_requests_tell_them_apart() {
        for e in BOOT_TABLE {
            assert!(
                REPRESENTATIVES.iter().any(|x| e.covers(&r(x))),
                "{:?} {}",
                e.protocol,
                e.from
            );
        }
        let fits = |seen: &[&str]| -> Vec<&str> {
            REPRESENTATIVES
                .iter()
                .copied()
                .filter(|x| boot_consistent(&r(x), seen))
                .collect()
        };
        assert_eq!(
            fits(&["OS79XX.TXT", "gkdefault.cfg"]),
            ["sip:5.0", "sip:6.3"]
        );
        assert_eq!(
            fits(&["OS79XX.TXT", "SEP<MAC>.cnf.xml"]),
            ["sccp:3.3", "sccp:4.1(1)", "sccp:5.0(1.1)"]
        );
        assert_eq!(
            fits(&["OS79XX.TXT", "SIPDefault.cnf"]),
            ["sip:1.0", "sip:2.1", "sip:2.3", "sip:3.0", "sip:4.4"]
        );
        assert!(!fits(&["SIPDefault.cnf"]).contains(&"sip:6.3"));
        assert_eq!(fits(&[]).len(), REPRESENTATIVES.len());
    }

    #[test]
    fn rule_ids_have_readable_json_names() {
        let names: Vec<String> = RULES
            .iter()
            .map(|r| serde_json::to_string(&r.id).unwrap())
            .collect();
        assert_eq!(
            names.join(","),
            "\"universal_loader\",\"sip_image_version\",\"sccp_load_information\",\"os79xx_name_only\",\"no_downgrade_below_5_0\",\"state_error_via_sip_2_3\",\"latest_sccp_4_before_5\",\"via_sccp_6_3\",\"gkdefault\",\"w210_minimal_sipdefault\",\"eight_dot_three\",\"original_boot\""
        );
    }

    #[test]
    fn w210_covers_sip_2_x_and_earlier() {
        // Issue 10: one place said "SIP 2.x", the others "2.x or earlier".
        for sip in ["sip:1.0", "sip:1.1", "sip:2.0", "sip:2.3"] {
            assert!(w210_applies(&r(sip)), "{sip}");
            assert!(w210_buffer_full(&r(sip), W210_LIMIT + 1), "{sip}");
            assert!(!w210_buffer_full(&r(sip), W210_LIMIT), "{sip}");
        }
        for other in ["sip:3.0", "sip:8.12", "sccp:3.3", "sccp:8.1(2)SR2"] {
            assert!(!w210_applies(&r(other)), "{other}");
        }
    }

    #[test]
    fn the_loader_rule() {
        use Generation::*;
        for (rel, want) in [
            ("sccp:5.0(1.1)", OriginalBoot),
            ("sccp:6.0(2)", UniversalLoader),
            ("sip:6.3", OriginalBoot),
            ("sip:7.0", UniversalLoader),
            ("sip:8.12", UniversalLoader),
        ] {
            let rel = r(rel);
            assert_eq!(generation(rel.protocol, rel.version), want, "{rel}");
        }
    }

    #[test]
    fn name_state_error_and_floor_rules() {
        assert!(refuses_long_name(&r("sip:2.1"), "P00305000101"));
        assert!(!refuses_long_name(&r("sip:2.1"), "C0500A1F"));
        assert!(!refuses_long_name(&r("sip:2.2"), "P00305000101"));
        assert!(state_error_applies(&r("sccp:3.3"), &r("sip:4.4")));
        assert!(!state_error_applies(&r("sccp:3.3"), &r("sip:2.3")));
        assert!(!state_error_applies(&r("sccp:4.1"), &r("sip:3.0")));
        assert!(below_signed_floor(Version::new(5, 0), Version::new(4, 4)));
        assert!(!below_signed_floor(Version::new(4, 4), Version::new(3, 0)));
        assert!(reads_gkdefault(&r("sip:5.0")) && reads_gkdefault(&r("sip:6.3")));
        assert!(!reads_gkdefault(&r("sip:4.4")) && !reads_gkdefault(&r("sip:7.0")));
    }

    #[test]
    fn refusals_name_their_rule() {
        let refuse = |a: &str, b: &str| check_hop(&r(a), &r(b)).unwrap_err().rule;
        assert_eq!(refuse("sip:5.0", "sip:4.4"), RuleId::NoDowngradeBelow5);
        assert_eq!(
            refuse("sccp:5.0(1.1)", "sip:2.3"),
            RuleId::NoDowngradeBelow5
        );
        assert_eq!(refuse("sccp:3.3", "sip:3.0"), RuleId::StateErrorViaSip23);
        assert_eq!(
            refuse("sip:3.0", "sccp:5.0(1.1)"),
            RuleId::LatestSccp4Before5
        );
        assert_eq!(refuse("sip:4.4", "sccp:8.1(2)SR2"), RuleId::ViaSccp63);
        assert!(check_hop(&r("sip:4.4"), &VIA_SCCP_6_3_RELEASE).is_ok());
    }
}

//! The planner: from the load a phone runs to the load wanted, as hops.
//!
//! The planner asks [`check_hop`] whether the phone may go straight to the
//! target; when a rule refuses, the refusal names the intermediate load the
//! reference prescribes (SIP 2.3, the latest SCCP 4.x, SCCP 6.0(3)) and the
//! planner goes there first. Each hop is then written out as the files and
//! control-file contents the TFTP root must hold.

use std::fmt;
use std::str::FromStr;

use phoneflip_device::Model;
use phoneflip_firmware::{
    GkImage, LoadName, LoadNameError, Processor, Protocol, Release, ReleaseError, Version,
};
use serde::Serialize;

use crate::catalogue::{alias_8_3, first_image, release_files, Catalogue};
use crate::rules::{
    check_hop, eight_dot_three_applies, generation, rule, section, w210_applies, Allowed,
    Generation, Mechanism, RuleId, SIGNED_FLOOR, VIA_SCCP_6_3_RELEASE, VIA_SIP_2_3,
};

/// What `--from` and `--to` take: `protocol:version` or a load name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Release(Release),
    Load(LoadName),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error(transparent)]
    Release(#[from] ReleaseError),
    #[error(transparent)]
    Load(#[from] LoadNameError),
}

impl FromStr for Endpoint {
    type Err = EndpointError;
    fn from_str(s: &str) -> Result<Endpoint, EndpointError> {
        if s.contains(':') {
            Ok(Endpoint::Release(s.parse()?))
        } else {
            Ok(Endpoint::Load(s.parse()?))
        }
    }
}

impl From<Release> for Endpoint {
    fn from(r: Release) -> Endpoint {
        Endpoint::Release(r)
    }
}

impl From<LoadName> for Endpoint {
    fn from(l: LoadName) -> Endpoint {
        Endpoint::Load(l)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Release(r) => write!(f, "{r}"),
            Endpoint::Load(l) => write!(f, "{l}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("cannot go from {from} to {to}: {text} (reference section: {section}); the closest reachable target is {nearest}{}", match nearest_in_catalogue { Some(n) if n != nearest => format!(" (lowest in the catalogue: {n})"), _ => String::new() })]
    Forbidden {
        from: Release,
        to: Release,
        rule: RuleId,
        section: &'static str,
        text: &'static str,
        nearest: Release,
        nearest_in_catalogue: Option<Release>,
    },
    #[error("{name} is a universal application loader, not a load a phone runs; name the application load instead, e.g. {suggestion}")]
    LoaderIsNotALoad { name: String, suggestion: String },
    #[error("{name} is built for another processor (fourth character {processor}); the 7940/7960 run ARM loads, whose fourth character is 3")]
    OtherProcessor { name: String, processor: char },
    #[error("{release} has no load name: load names hold each version number in two digits, so every number must be below 100 (e.g. sip:8.12, sccp:8.1(2)SR2)")]
    NoLoadName { release: Release },
    #[error("no plan from {from} to {to} within {max} hops; the rules in phoneflip-plan are inconsistent, please report it")]
    NoPath {
        from: Release,
        to: Release,
        max: usize,
    },
}

/// Where a hop starts or ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Stop {
    /// `protocol:version`; `sccp:4.x` when the latest 4.x is not known.
    pub release: String,
    pub protocol: Protocol,
    pub version: String,
    /// The load name control files use; `null` when not known.
    pub load: Option<String>,
    /// Whether the catalogue the plan was made with has this release.
    pub in_catalogue: bool,
}

/// How a control file is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Edit {
    /// The file must hold exactly `content`, nothing else.
    WholeFile,
    /// The file must contain the line `content`, replacing any line that
    /// sets the same parameter; the rest stays.
    SetLine,
    /// The file must be removed from the root.
    Remove,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ControlFile {
    /// Name in the TFTP root; `<MAC>` stands for each phone's MAC in capitals.
    pub file: String,
    pub edit: Edit,
    /// Exact text (for `whole_file`, the exact bytes; OS79XX.TXT has no
    /// trailing newline because a trailing CR or space breaks the phone).
    pub content: String,
    pub rule: RuleId,
}

/// Copy a file to another name in the root (the 8.3 alias).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FileCopy {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResetMethod {
    /// SIP: a check-sync NOTIFY, or a power cycle.
    CheckSyncOrPowerCycle,
    /// SCCP: reset from CallManager, or a power cycle.
    CallManagerOrPowerCycle,
    /// Unplug power (or the Ethernet cable with inline power).
    PowerCycle,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reset {
    pub method: ResetMethod,
    pub how: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Hop {
    /// 1-based position in the plan.
    pub step: usize,
    pub from: Stop,
    pub to: Stop,
    pub mechanism: Mechanism,
    /// The rule that made this an intermediate hop, if one did.
    pub forced_by: Option<RuleId>,
    /// Firmware files that must be in the TFTP root.
    pub files: Vec<String>,
    /// Files to copy under another name before resetting.
    pub copies: Vec<FileCopy>,
    /// Files of `files` not in the root (only for a catalogue built from a
    /// root; `null` otherwise).
    pub missing_files: Option<Vec<String>>,
    pub control_files: Vec<ControlFile>,
    /// Commands to run in the TFTP root before resetting.
    pub commands: Vec<String>,
    pub reset: Reset,
    /// The reference section this hop follows.
    pub section: String,
    /// Whether the reference documents this exact kind of hop.
    pub documented: bool,
    /// Every rule that shaped this hop.
    pub rules: Vec<RuleId>,
    pub warnings: Vec<String>,
}

/// The ordered hops from one load to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Plan {
    /// Version of this JSON layout; bumped on any incompatible change.
    pub schema: u32,
    pub from: Stop,
    pub to: Stop,
    pub model: Option<Model>,
    pub hops: Vec<Hop>,
}

pub const SCHEMA: u32 = 1;

/// A load the plan passes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub release: Release,
    /// `None` only for "the latest SCCP 4.x" when no 4.x is known.
    pub load: Option<LoadName>,
    pub in_catalogue: bool,
    pub gk_code: Option<phoneflip_firmware::GkVersionCode>,
}

impl Node {
    fn stop(&self) -> Stop {
        let (release, version) = match &self.load {
            Some(_) => (self.release.to_string(), self.release.version.to_string()),
            None => (
                format!("{}:{}.x", self.release.protocol, self.release.version.major),
                format!("{}.x", self.release.version.major),
            ),
        };
        Stop {
            release,
            protocol: self.release.protocol,
            version,
            load: self.load.as_ref().map(|l| l.to_string()),
            in_catalogue: self.in_catalogue,
        }
    }

    fn name(&self) -> String {
        match &self.load {
            Some(l) => l.to_string(),
            None => LATEST_4_PLACEHOLDER.to_string(),
        }
    }
}

/// Stands for the latest SCCP 4.x load's name when the catalogue has none.
pub const LATEST_4_PLACEHOLDER: &str = "<latest SCCP 4.x load, P00304…>";

fn node_for_release(release: Release, catalogue: &Catalogue) -> Node {
    match catalogue.find(&release) {
        // The release as asked for: it may be spelled more fully than the
        // catalogue's (a root's P0030801SR02 does not carry the (2)).
        Some(e) => Node {
            release,
            load: Some(e.load.clone()),
            in_catalogue: true,
            gk_code: e.gk_code.clone(),
        },
        None => Node {
            release,
            load: Some(LoadName::canonical(release.protocol, release.version)),
            in_catalogue: false,
            gk_code: None,
        },
    }
}

fn resolve(end: &Endpoint, catalogue: &Catalogue) -> Result<Node, PlanError> {
    match end {
        Endpoint::Release(r) if !r.version.is_nameable() && catalogue.find(r).is_none() => {
            Err(PlanError::NoLoadName { release: *r })
        }
        Endpoint::Release(r) => Ok(node_for_release(*r, catalogue)),
        Endpoint::Load(l) => {
            if l.is_universal_loader() {
                let mut s = l.to_string();
                s.replace_range(2..3, "S");
                return Err(PlanError::LoaderIsNotALoad {
                    name: l.to_string(),
                    suggestion: s,
                });
            }
            if let Processor::Other(c) = l.processor() {
                return Err(PlanError::OtherProcessor {
                    name: l.to_string(),
                    processor: c,
                });
            }
            let release = Release::new(l.protocol(), l.version());
            let entry = catalogue.find_load(l).or_else(|| catalogue.find(&release));
            Ok(Node {
                release: entry.map_or(release, |e| e.release),
                load: Some(l.clone()),
                in_catalogue: entry.is_some(),
                gk_code: entry.and_then(|e| e.gk_code.clone()),
            })
        }
    }
}

/// The intermediate load a refusing rule prescribes.
pub(crate) fn intermediate(rule: RuleId, catalogue: &Catalogue) -> Option<Node> {
    match rule {
        RuleId::StateErrorViaSip23 => Some(node_for_release(
            Release::new(Protocol::Sip, VIA_SIP_2_3),
            catalogue,
        )),
        RuleId::LatestSccp4Before5 => Some(match catalogue.latest(Protocol::Sccp, 4) {
            Some(e) => Node {
                release: e.release,
                load: Some(e.load.clone()),
                in_catalogue: true,
                gk_code: e.gk_code.clone(),
            },
            None => Node {
                release: Release::new(Protocol::Sccp, Version::new(4, 0)),
                load: None,
                in_catalogue: false,
                gk_code: None,
            },
        }),
        RuleId::ViaSccp63 => Some(node_for_release(VIA_SCCP_6_3_RELEASE, catalogue)),
        _ => None,
    }
}

/// The most hops any plan can need: each forcing rule fires at most once.
pub const MAX_HOPS: usize = 4;

/// Plans the conversion of a phone from the load it runs to the one wanted.
///
/// `model` selects the `loadInformation` line of XMLDefault.cnf.xml; without
/// it both the 7940's and the 7960's lines are written.
pub fn plan(
    from: impl Into<Endpoint>,
    to: impl Into<Endpoint>,
    model: Option<Model>,
    catalogue: &Catalogue,
) -> Result<Plan, PlanError> {
    let from = resolve(&from.into(), catalogue)?;
    let to = resolve(&to.into(), catalogue)?;
    let mut hops = Vec::new();
    let mut cur = from.clone();
    while !same(&cur, &to) {
        if hops.len() == MAX_HOPS {
            return Err(PlanError::NoPath {
                from: from.release,
                to: to.release,
                max: MAX_HOPS,
            });
        }
        let (next, allowed, forced_by) = match check_hop(&cur.release, &to.release) {
            Ok(a) => (to.clone(), a, None),
            Err(refusal) => {
                let Some(via) = intermediate(refusal.rule, catalogue) else {
                    return Err(forbidden(&from, &to, refusal.rule, catalogue));
                };
                match check_hop(&cur.release, &via.release) {
                    Ok(a) => (via, a, Some(refusal.rule)),
                    Err(r) => return Err(forbidden(&from, &to, r.rule, catalogue)),
                }
            }
        };
        hops.push(build_hop(
            hops.len() + 1,
            &cur,
            &next,
            allowed,
            forced_by,
            model,
            catalogue,
        ));
        cur = next;
    }
    Ok(Plan {
        schema: SCHEMA,
        from: from.stop(),
        to: to.stop(),
        model,
        hops,
    })
}

fn same(a: &Node, b: &Node) -> bool {
    a.release.protocol == b.release.protocol
        && match (&a.load, &b.load) {
            (Some(x), Some(y)) => x == y || a.release.version == b.release.version,
            _ => a.release.version == b.release.version,
        }
}

fn forbidden(from: &Node, to: &Node, id: RuleId, catalogue: &Catalogue) -> PlanError {
    let r = rule(id);
    let proto = to.release.protocol;
    PlanError::Forbidden {
        from: from.release,
        to: to.release,
        rule: id,
        section: r.section,
        text: r.text,
        nearest: Release::new(proto, SIGNED_FLOOR),
        nearest_in_catalogue: catalogue
            .lowest_at_least(proto, SIGNED_FLOOR)
            .map(|e| e.release),
    }
}

fn xml_load_information(model: Option<Model>, name: &str) -> String {
    let line = |m: Model| {
        format!(
            "<loadInformation{code} model=\"{product}\">{name}</loadInformation{code}>",
            code = m.device_type_code(),
            product = m.product_name()
        )
    };
    match model {
        Some(m) => line(m),
        None => [Model::Cp7940, Model::Cp7960]
            .into_iter()
            .map(line)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn sep_load_information(model: Option<Model>, name: &str) -> String {
    match model {
        Some(m) => format!(
            "<loadInformation model=\"{}\">{name}</loadInformation>",
            m.product_name()
        ),
        None => format!("<loadInformation>{name}</loadInformation>"),
    }
}

/// The fixed fields of the reference's upgradecode line
/// (`upgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,CODE,IMAGE`). They come
/// from the SIP package's gkdefault.txt; keep the file's own if they differ.
pub const UPGRADECODE_PREFIX: &str = "upgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69";
/// The SIP image on the upgradecode line of the reference's gkdefault.txt.
/// The revert swaps it for the SCCP image with [`GkImage::retarget`], which
/// keeps its model and hardware part (`CP7940080001`): the 7940 and 7960
/// run the same loads and the reference shows no other.
pub const REFERENCE_SIP_GK_IMAGE: &str = "CP7940080001SIP060412A.sbin";
pub const CFGFMT: &str = "cfgfmt -tsip_ptag.dat gkdefault.txt gkdefault.cfg";

fn reset_for(from: &Release, to: &Release) -> Reset {
    let two_stage = if generation(to.protocol, to.version) == Generation::UniversalLoader {
        " The universal application loader then works in two stages (loader, reboot, application, reboot): wait for both reboots."
    } else {
        ""
    };
    let (method, how) = match from.protocol {
        Protocol::Sip if from.version >= Version::new(2, 0) => (
            ResetMethod::CheckSyncOrPowerCycle,
            "Reset the phone: change the SYNC value in syncinfo.xml and send it a SIP NOTIFY with Event: check-sync, or unplug the power (the Ethernet cable with inline power).",
        ),
        Protocol::Sccp => (
            ResetMethod::CallManagerOrPowerCycle,
            "Reset the phone: reset it from Cisco CallManager, or unplug the power (the Ethernet cable with inline power).",
        ),
        _ => (
            ResetMethod::PowerCycle,
            "Reset the phone: unplug the power (the Ethernet cable with inline power).",
        ),
    };
    Reset {
        method,
        how: format!("{how}{two_stage}"),
    }
}

fn build_hop(
    step: usize,
    from: &Node,
    to: &Node,
    allowed: Allowed,
    forced_by: Option<RuleId>,
    model: Option<Model>,
    catalogue: &Catalogue,
) -> Hop {
    let fr = &from.release;
    let tr = &to.release;
    let mut rules = vec![];
    let mut warnings = vec![];
    let mut files = vec![];
    let mut copies = vec![];
    let mut control = vec![];
    let mut commands = vec![];
    if let Some(f) = forced_by {
        rules.push(f);
        warnings.push(format!(
            "intermediate load required: {} ({})",
            rule(f).text,
            rule(f).section
        ));
    }
    rules.push(match allowed.mechanism {
        Mechanism::OriginalBoot => RuleId::OriginalBoot,
        // "the configuration file image parameter for the protocol to which
        // you convert" from an original-boot load; the running protocol's
        // own parameter from a universal-loader load.
        Mechanism::ConfigImage => {
            let p = if generation(fr.protocol, fr.version) == Generation::UniversalLoader {
                fr.protocol
            } else {
                tr.protocol
            };
            if p == Protocol::Sccp {
                RuleId::SccpLoadInformation
            } else {
                RuleId::SipImageVersion
            }
        }
        Mechanism::UniversalLoader => RuleId::UniversalLoader,
        Mechanism::Gkdefault => RuleId::Gkdefault,
    });

    let to_name = to.name();
    match &to.load {
        Some(l) => files.extend(release_files(l)),
        None => {
            files.push(format!("{LATEST_4_PLACEHOLDER}.bin"));
            warnings.push(
                "no SCCP 4.x load is in the catalogue: put the latest SCCP 4.x load (P00304….bin, from Cisco's SCCP 4.x installer) in the TFTP root and use its name, without .bin, where this hop shows the placeholder"
                    .to_string(),
            );
        }
    }
    if to.load.is_some() && !to.in_catalogue {
        warnings.push(format!(
            "{} is not in the catalogue: the files listed must be put in the TFTP root",
            tr
        ));
    }

    // The name the running phone is sent to fetch (OS79XX.TXT, or the
    // image parameter read by a phone that cannot read large or long names).
    let mut fetch = match &to.load {
        Some(l) => first_image(l).to_string(),
        None => to_name.clone(),
    };
    if eight_dot_three_applies(fr) && allowed.mechanism != Mechanism::Gkdefault {
        if let Some(l) = &to.load {
            let first = first_image(l);
            if !first.fits_8_3() {
                let alias = alias_8_3(&first);
                copies.push(FileCopy {
                    from: format!("{first}.bin"),
                    to: format!("{alias}.bin"),
                });
                files.push(format!("{alias}.bin"));
                rules.push(RuleId::EightDotThree);
                warnings.push(format!(
                    "SIP {} accepts only 8.3 file names: copy {first}.bin to {alias}.bin (if the phone still refuses it, upgrade SIP first, the reference's other option)",
                    fr.version
                ));
                fetch = alias;
            }
        } else {
            rules.push(RuleId::EightDotThree);
            warnings.push(format!(
                "SIP {} accepts only 8.3 file names: copy the SCCP 4.x load to an 8-character name (such as C0400XXX.bin) and write that name instead",
                fr.version
            ));
        }
    }

    let from_reads_os79xx = generation(fr.protocol, fr.version) == Generation::OriginalBoot;
    let to_sip_like_universal = tr.protocol != Protocol::Sccp
        && generation(tr.protocol, tr.version) == Generation::UniversalLoader;
    let gk = allowed.mechanism == Mechanism::Gkdefault;

    if !gk && (from_reads_os79xx || to_sip_like_universal) {
        control.push(ControlFile {
            file: "OS79XX.TXT".into(),
            edit: Edit::WholeFile,
            content: fetch.clone(),
            rule: RuleId::Os79xxNameOnly,
        });
        rules.push(RuleId::Os79xxNameOnly);
    }

    if !gk && (fr.protocol == Protocol::Sip || tr.protocol == Protocol::Sip) {
        let value = if tr.protocol == Protocol::Sip {
            to_name.clone()
        } else {
            fetch.clone()
        };
        let w210 = w210_applies(fr) || w210_applies(tr);
        if w210 {
            rules.push(RuleId::W210MinimalSipDefault);
            warnings.push(format!(
                "while the phone runs SIP 2.x or earlier, SIPDefault.cnf must hold only \"image_version: {value}\" (W210 TFTP Error: buffer full); put your full configuration back once the phone has left SIP 2.x"
            ));
        }
        control.push(ControlFile {
            file: "SIPDefault.cnf".into(),
            edit: if w210 { Edit::WholeFile } else { Edit::SetLine },
            content: if w210 {
                format!("image_version: {value}\n")
            } else {
                format!("image_version: {value}")
            },
            rule: if w210 {
                RuleId::W210MinimalSipDefault
            } else {
                RuleId::SipImageVersion
            },
        });
        control.push(ControlFile {
            file: "SIP<MAC>.cnf".into(),
            edit: Edit::SetLine,
            content: format!("image_version: {value}"),
            rule: RuleId::SipImageVersion,
        });
        if !rules.contains(&RuleId::SipImageVersion) {
            rules.push(RuleId::SipImageVersion);
        }
    }

    let from_sccp_universal = fr.protocol == Protocol::Sccp
        && generation(fr.protocol, fr.version) == Generation::UniversalLoader;
    if !gk && (tr.protocol == Protocol::Sccp || from_sccp_universal) {
        control.push(ControlFile {
            file: "XMLDefault.cnf.xml".into(),
            edit: Edit::SetLine,
            content: xml_load_information(model, &to_name),
            rule: RuleId::SccpLoadInformation,
        });
        if from_sccp_universal && tr.protocol != Protocol::Sccp {
            let proto = match tr.protocol {
                Protocol::Sip => "SIP",
                _ => "MGCP",
            };
            control.push(ControlFile {
                file: "SEP<MAC>.cnf.xml".into(),
                edit: Edit::WholeFile,
                content: format!(
                    "<device><deviceProtocol>{proto}</deviceProtocol>{}</device>",
                    sep_load_information(model, &to_name)
                ),
                rule: RuleId::SccpLoadInformation,
            });
        } else {
            control.push(ControlFile {
                file: "SEP<MAC>.cnf.xml".into(),
                edit: Edit::SetLine,
                content: sep_load_information(model, &to_name),
                rule: RuleId::SccpLoadInformation,
            });
        }
        if !rules.contains(&RuleId::SccpLoadInformation) {
            rules.push(RuleId::SccpLoadInformation);
        }
    }

    if !gk && (fr.protocol == Protocol::Mgcp || tr.protocol == Protocol::Mgcp) {
        control.push(ControlFile {
            file: "MGC<MAC>.cnf".into(),
            edit: Edit::SetLine,
            content: format!("image_version: {to_name}"),
            rule: RuleId::SipImageVersion,
        });
        warnings.push(
            "the reference covers SCCP and SIP only; MGCP is planned with the same version rules and the boot table"
                .into(),
        );
    }

    if allowed.section == section::SCCP_OLD_TO_SIP_7 {
        control.push(ControlFile {
            file: "SEP<MAC>.cnf.xml".into(),
            edit: Edit::Remove,
            content: String::new(),
            rule: RuleId::SipImageVersion,
        });
        warnings.push(
            "remove the SCCP configuration files the phone no longer uses (the reference's step 3); XMLDefault.cnf.xml serves every SCCP phone, so keep it if others still run SCCP"
                .into(),
        );
    }

    if gk {
        let sip_image: GkImage = REFERENCE_SIP_GK_IMAGE
            .parse()
            .expect("the reference's gkdefault image parses");
        let (image, code) = match &to.gk_code {
            Some(code) => (
                sip_image.retarget(tr.protocol, code.clone()).to_string(),
                code.to_string(),
            ),
            None => {
                warnings.push(format!(
                    "the gkdefault version code of {tr} is not in the catalogue: read it from the package of {tr} (the reference's example: SCCP 8.0(4) = 0x051117a, image CP7940080001SCCP051117A.sbin) and write it where the placeholders stand"
                ));
                let tag = match tr.protocol {
                    Protocol::Mgcp => "MGCP",
                    _ => "SCCP",
                };
                (
                    format!(
                        "CP{}{}{tag}<CODE>.sbin",
                        sip_image.model, sip_image.hardware
                    ),
                    "0x<code>".to_string(),
                )
            }
        };
        warnings.push(format!(
            "in gkdefault.txt the line reads like {UPGRADECODE_PREFIX},{},{REFERENCE_SIP_GK_IMAGE} (a SIP image): replace the version code and the image name as shown",
            sip_image.code
        ));
        control.push(ControlFile {
            file: "gkdefault.txt".into(),
            edit: Edit::SetLine,
            content: format!("{UPGRADECODE_PREFIX},{code},{image}"),
            rule: RuleId::Gkdefault,
        });
        commands.push(CFGFMT.to_string());
        files.insert(0, "gkdefault.cfg".to_string());
        files.insert(1, image);
        warnings.push(
            "gkdefault.txt, cfgfmt and sip_ptag.dat come with the SIP load: unzip the latest SIP load and the SCCP load in the TFTP root first; the fixed fields of the upgradecode line are the reference's, keep your file's own if they differ"
                .into(),
        );
    }

    if fr.version < SIGNED_FLOOR && tr.version >= SIGNED_FLOOR {
        rules.push(RuleId::NoDowngradeBelow5);
        warnings.push(format!(
            "after this hop the phone runs {tr} and can never return below 5.0, in any protocol"
        ));
    }
    if !allowed.documented {
        warnings.push(format!(
            "the reference documents no {} {} to {} {} procedure: this hop uses what {} reads at boot",
            fr.protocol,
            major(fr.version),
            tr.protocol,
            major(tr.version),
            from.stop().release
        ));
    }

    let missing_files = catalogue.is_root().then(|| {
        files
            .iter()
            .filter(|f| {
                // Generated or placeholder files are not expected yet.
                catalogue.has_file(f) == Some(false)
                    && !f.starts_with('<')
                    && *f != "gkdefault.cfg"
                    && !copies.iter().any(|c| &c.to == *f)
            })
            .cloned()
            .collect()
    });

    let mut uniq = vec![];
    for r in rules {
        if !uniq.contains(&r) {
            uniq.push(r);
        }
    }

    Hop {
        step,
        from: from.stop(),
        to: to.stop(),
        mechanism: allowed.mechanism,
        forced_by,
        files,
        copies,
        missing_files,
        control_files: control,
        commands,
        reset: reset_for(fr, tr),
        section: allowed.section.to_string(),
        documented: allowed.documented,
        rules: uniq,
        warnings,
    }
}

fn major(v: Version) -> String {
    format!("{}.x", v.major)
}

impl Plan {
    /// The plan as numbered text for people.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let push = |out: &mut String, s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        let stop = |s: &Stop| match &s.load {
            Some(l) => format!("{} ({l})", s.release),
            None => s.release.clone(),
        };
        push(
            &mut out,
            format!(
                "Plan: {} -> {}{}",
                stop(&self.from),
                stop(&self.to),
                self.model
                    .map(|m| format!(" for the {}", m.product_name()))
                    .unwrap_or_default()
            ),
        );
        if self.hops.is_empty() {
            push(
                &mut out,
                "The phone already runs the target load: nothing to do.".into(),
            );
        }
        for h in &self.hops {
            push(&mut out, String::new());
            push(
                &mut out,
                format!(
                    "{}. {} -> {}  [{}]",
                    h.step,
                    stop(&h.from),
                    stop(&h.to),
                    match h.mechanism {
                        Mechanism::OriginalBoot => "original boot via OS79XX.TXT",
                        Mechanism::ConfigImage => "configuration file image parameter",
                        Mechanism::UniversalLoader => "universal application loader",
                        Mechanism::Gkdefault => "gkdefault.cfg upgradecode",
                    }
                ),
            );
            push(&mut out, format!("   Reference: {}", h.section));
            push(&mut out, "   Files in the TFTP root:".into());
            for f in &h.files {
                let missing = h
                    .missing_files
                    .as_ref()
                    .is_some_and(|m| m.iter().any(|x| x == f));
                push(
                    &mut out,
                    format!("     {f}{}", if missing { "  (MISSING)" } else { "" }),
                );
            }
            for c in &h.copies {
                push(&mut out, format!("   Copy {} to {}", c.from, c.to));
            }
            for c in &h.control_files {
                match c.edit {
                    Edit::Remove => push(&mut out, format!("   Remove {}", c.file)),
                    Edit::WholeFile => {
                        push(&mut out, format!("   {} must contain exactly:", c.file));
                        for l in c.content.lines() {
                            push(&mut out, format!("     {l}"));
                        }
                    }
                    Edit::SetLine => {
                        push(&mut out, format!("   In {}, set:", c.file));
                        for l in c.content.lines() {
                            push(&mut out, format!("     {l}"));
                        }
                    }
                }
            }
            for c in &h.commands {
                push(&mut out, format!("   Run in the TFTP root: {c}"));
            }
            push(&mut out, format!("   {}", h.reset.how));
            for w in &h.warnings {
                push(&mut out, format!("   Note: {w}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_both_forms() {
        assert_eq!(
            "sccp:3.3".parse::<Endpoint>().unwrap(),
            Endpoint::Release("sccp:3.3".parse().unwrap())
        );
        assert!(matches!(
            "P0S3-8-12-00".parse::<Endpoint>().unwrap(),
            Endpoint::Load(_)
        ));
        assert!("P0S3-8-12-00.sb2".parse::<Endpoint>().is_err());
        assert!("sccp".parse::<Endpoint>().is_err());
    }

    #[test]
    fn huge_versions_are_refused_not_panicked_on() {
        for r in [
            "sip:100.0",
            "sip:2.100",
            "sccp:8.1(200)",
            "sccp:8.1(2)SR255",
        ] {
            let e = plan(
                r.parse::<Endpoint>().unwrap(),
                "sip:8.12".parse::<Endpoint>().unwrap(),
                None,
                &Catalogue::builtin(),
            )
            .unwrap_err();
            assert!(matches!(e, PlanError::NoLoadName { .. }), "{r}: {e}");
            assert!(e.to_string().contains("below 100"));
        }
    }

    #[test]
    fn a_loader_name_is_refused_with_the_application_name() {
        let e = plan(
            "P003-8-12-00".parse::<Endpoint>().unwrap(),
            "sip:8.12".parse::<Endpoint>().unwrap(),
            None,
            &Catalogue::builtin(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("P0S3-8-12-00"), "{e}");
    }
}

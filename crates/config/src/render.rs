//! Rendering: a phone's settings, its template and the load it must run in;
//! the exact bytes of every file it will ask for out. Pure, so the TFTP
//! server can render on demand and `render --all` can write a static root
//! from the same function.
//!
//! Which files a hop needs, which name a phone is told to fetch and when
//! the W210 workaround applies are the planner's decisions
//! (`phoneflip-plan`); this module calls the same functions so a rendered
//! root always holds what the plan demands.

use std::collections::BTreeMap;

use phoneflip_device::Mac;
use phoneflip_firmware::{GkImage, LoadName, Processor, Protocol, Release, Version};
use phoneflip_plan::rules::w210_applies;
use phoneflip_plan::{check_hop, generation, Generation, Mechanism, RuleId};

use crate::filename::{
    sep_mac_name, sip_mac_name, FileName, GKDEFAULT_TXT, OS79XX_TXT, SIP_DEFAULT, SYNCINFO_XML,
    XML_DEFAULT,
};
use crate::gkdefault::{GkDefault, UpgradeCode, CFGFMT_NOTE};
use crate::image_ref::ImageRef;
use crate::model::{PhoneSettings, Template};
use crate::os79xx::Os79xx;
use crate::sccp::{
    is_original_key, CallManager, LoadInformation, SepDevice, XmlDefault,
    DEFAULT_ETHERNET_PHONE_PORT, SEP_ORIGINAL, XML_DEFAULT_ORIGINAL,
};
use crate::sip_params::{check_param, lookup, validate, SipIssue, SipProblem};
use crate::sipcnf::{SipCnf, SipValueError};
use crate::syncinfo::{SyncImage, SyncInfo};
use crate::xmldoc::XmlDoc;

/// What the phone runs now and what it must run after this hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderLoad {
    /// The load observed on the phone; `None` when unknown.
    pub current: Option<LoadName>,
    /// The load the phone must run next (one hop of the plan).
    pub target: LoadName,
    /// For a SIP 5.x/6.x → SCCP hop: the SCCP image for gkdefault's
    /// upgradecode line (its version code is not derivable from the load
    /// name; the plan's catalogue or the SCCP package gives it).
    pub gk_image: Option<GkImage>,
}

impl RenderLoad {
    pub fn new(current: Option<LoadName>, target: LoadName) -> RenderLoad {
        RenderLoad {
            current,
            target,
            gk_image: None,
        }
    }
}

/// One file as a phone receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// Its name in the TFTP root.
    pub name: String,
    pub bytes: Vec<u8>,
    /// What the user must do with it, if anything (gkdefault.txt needs
    /// Cisco's cfgfmt).
    pub note: Option<String>,
}

/// Why a phone's files could not be rendered. Nothing is rendered then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("phone {mac}: {target} is a universal application loader, not a load to run; set the phone's desired load to the application, such as {suggestion}")]
    LoaderTarget {
        mac: Mac,
        target: String,
        suggestion: String,
    },
    #[error("phone {mac}: {target} is built for processor {processor}, not the 7940/7960's ARM (3); pick a P0x3… load")]
    OtherProcessor {
        mac: Mac,
        target: String,
        processor: char,
    },
    #[error("phone {mac}: a phone running {from} cannot go straight to {to} (rule {rule:?}); run `phoneflip plan` and set the phone's desired load to the next hop's load")]
    HopRefused {
        mac: Mac,
        from: String,
        to: String,
        rule: RuleId,
    },
    #[error("phone {mac}: going from {from} to {to} uses gkdefault.cfg, whose upgradecode line needs the SCCP image's version code; give the gkdefault image (e.g. CP7940080001SCCP051117A.sbin for SCCP 8.0(4)) from the SCCP package")]
    NeedsGkImage { mac: Mac, from: String, to: String },
    #[error("phone {mac}: the gkdefault image {image} is a {image_protocol} image but the target {target} is {target_protocol}; use the image of the target load")]
    GkMismatch {
        mac: Mac,
        image: String,
        image_protocol: Protocol,
        target: String,
        target_protocol: Protocol,
    },
    #[error("phone {mac}: phoneflip renders SCCP and SIP files; MGCP ({what}) is not supported")]
    Mgcp { mac: Mac, what: String },
    #[error("{origin} sets {key} = {value:?}: {problem}")]
    SipSetting {
        origin: String,
        key: String,
        value: String,
        problem: SipProblem,
    },
    #[error("{origin} sets {key}: phoneflip writes image_version from the phone's desired load; remove {key} from the {origin}")]
    Reserved { origin: String, key: String },
    #[error("{origin} sets {key} = {value:?}: {problem}; SCCP templates know callmanager1, callmanager2, callmanager3 (addresses) and ethernet_phone_port (default 2000)")]
    SccpSetting {
        origin: String,
        key: String,
        value: String,
        problem: String,
    },
    #[error(
        "phone {mac} has a line numbered {number}; lines are numbered 1 to 6 (1 to 2 on a 7940)"
    )]
    LineNumber { mac: Mac, number: u8 },
    #[error("phone {mac}: {error}")]
    Value {
        mac: Mac,
        #[source]
        error: SipValueError,
    },
    #[error("phone {mac}: the rendered {file} does not validate: {}", .issues.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid {
        mac: Mac,
        file: String,
        issues: Vec<SipIssue>,
    },
}

fn release(l: &LoadName) -> Release {
    Release::new(l.protocol(), l.version())
}

fn template_source(t: &Template) -> String {
    format!("template {:?}", t.name)
}

fn phone_source(p: &PhoneSettings) -> String {
    format!("phone {} override", p.mac)
}

const SCCP_KEYS: [&str; 4] = [
    "callmanager1",
    "callmanager2",
    "callmanager3",
    "ethernet_phone_port",
];

/// What to do with one SIP setting.
enum Setting {
    Write,
    /// A `lineN_…` beyond the model's buttons.
    Skip,
    /// Not a parameter any SIP release knows: not written, and reported
    /// (with the closest known name) instead of failing every file of the
    /// phone, since the phone would ignore the line anyway.
    Unknown(String),
}

/// Checks one SIP setting for the release reading it.
fn check_sip_setting(
    source: &str,
    key: &str,
    value: &str,
    reader: Version,
    lines: u8,
) -> Result<Setting, RenderError> {
    if key == "image_version" {
        return Err(RenderError::Reserved {
            origin: source.into(),
            key: key.into(),
        });
    }
    match check_param(key, value, reader, None) {
        Ok(()) => {}
        Err(problem @ SipProblem::Unknown { .. }) => {
            return Ok(Setting::Unknown(format!(
                "{source} sets {key}, not written: {problem}"
            )))
        }
        Err(problem) => {
            return Err(RenderError::SipSetting {
                origin: source.into(),
                key: key.into(),
                value: value.into(),
                problem,
            })
        }
    }
    Ok(if matches!(lookup(key), Some((_, Some(n))) if n > lines) {
        Setting::Skip
    } else {
        Setting::Write
    })
}

/// Writes the settings a file could not carry as comments at its end, so
/// that whoever reads the served file sees why a line is missing.
fn report_unknown(cnf: &mut SipCnf, unknown: &[String]) {
    for u in unknown {
        cnf.push_comment(u);
    }
}

fn call_managers(
    phone: &PhoneSettings,
    template: &Template,
) -> Result<Vec<CallManager>, RenderError> {
    let mut merged: BTreeMap<&str, (&str, String)> = BTreeMap::new();
    for (k, v) in &template.settings {
        merged.insert(k, (v, template_source(template)));
    }
    for (k, v) in &phone.overrides {
        merged.insert(k, (v, phone_source(phone)));
    }
    let port = match merged.get("ethernet_phone_port") {
        Some((v, source)) => v
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| RenderError::SccpSetting {
                origin: source.clone(),
                key: "ethernet_phone_port".into(),
                value: v.to_string(),
                problem: "not a port number from 1 to 65535".into(),
            })?,
        None => DEFAULT_ETHERNET_PHONE_PORT,
    };
    let mut out = Vec::new();
    for (k, (v, source)) in &merged {
        if is_original_key(k) {
            continue;
        }
        if !SCCP_KEYS.contains(k) {
            return Err(RenderError::SccpSetting {
                origin: source.clone(),
                key: k.to_string(),
                value: v.to_string(),
                problem: "not an SCCP setting".into(),
            });
        }
        if let Some(n) = k.strip_prefix("callmanager") {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            if v.contains(char::is_whitespace) {
                return Err(RenderError::SccpSetting {
                    origin: source.clone(),
                    key: k.to_string(),
                    value: v.to_string(),
                    problem: "an address has no spaces".into(),
                });
            }
            let n: u8 = n.parse().unwrap_or(1);
            out.push(CallManager {
                priority: n - 1,
                process_node_name: v.to_string(),
                ethernet_phone_port: port,
            });
        }
    }
    Ok(out)
}

/// What one hop is, once checked: the phone, where it starts, where it
/// goes, whether gkdefault carries it, and the name it is told to fetch.
struct Hop<'a> {
    mac: Mac,
    current: Option<&'a LoadName>,
    target: &'a LoadName,
    /// The SIP 5.x/6.x → SCCP hop through gkdefault.cfg.
    gk: bool,
    fetch: ImageRef,
}

impl<'a> Hop<'a> {
    /// Refuses targets and hops no file can carry.
    fn check(
        phone: &PhoneSettings,
        template: &Template,
        load: &'a RenderLoad,
    ) -> Result<Hop<'a>, RenderError> {
        let mac = phone.mac;
        let target = &load.target;
        if target.is_universal_loader() {
            let mut s = target.to_string();
            s.replace_range(2..3, "S");
            return Err(RenderError::LoaderTarget {
                mac,
                target: target.to_string(),
                suggestion: s,
            });
        }
        if let Processor::Other(processor) = target.processor() {
            return Err(RenderError::OtherProcessor {
                mac,
                target: target.to_string(),
                processor,
            });
        }
        if target.protocol() == Protocol::Mgcp || template.protocol == Protocol::Mgcp {
            return Err(RenderError::Mgcp {
                mac,
                what: format!("target {target}, template {:?}", template.name),
            });
        }
        let current = load.current.as_ref();
        let mut mechanism = None;
        if let Some(c) = current.filter(|c| *c != target) {
            match check_hop(&release(c), &release(target)) {
                Ok(a) => mechanism = Some(a.mechanism),
                Err(r) => {
                    return Err(RenderError::HopRefused {
                        mac,
                        from: c.to_string(),
                        to: target.to_string(),
                        rule: r.rule,
                    })
                }
            }
        }
        let gk = mechanism == Some(Mechanism::Gkdefault);
        if gk && load.gk_image.is_none() {
            return Err(RenderError::NeedsGkImage {
                mac,
                from: current.map(ToString::to_string).unwrap_or_default(),
                to: target.to_string(),
            });
        }
        if let Some(img) = &load.gk_image {
            if img.protocol != target.protocol() {
                return Err(RenderError::GkMismatch {
                    mac,
                    image: img.to_string(),
                    image_protocol: img.protocol,
                    target: target.to_string(),
                    target_protocol: target.protocol(),
                });
            }
        }
        Ok(Hop {
            mac,
            current,
            target,
            gk,
            fetch: ImageRef::for_phone(current, target),
        })
    }
}

fn file(name: String, bytes: Vec<u8>) -> RenderedFile {
    RenderedFile {
        name,
        bytes,
        note: None,
    }
}

/// Every file the phone will ask for during this hop, with its bytes.
pub fn render(
    phone: &PhoneSettings,
    template: &Template,
    load: &RenderLoad,
) -> Result<Vec<RenderedFile>, RenderError> {
    let hop = Hop::check(phone, template, load)?;
    let mut files = Vec::new();
    files.extend(os79xx_txt(&hop));
    files.extend(sccp_xml(phone, template, &hop)?);
    if let Some(sip) = SipReader::of(phone, template, &hop) {
        let (default, default_unknown) = sip_default_cnf(&sip, template)?;
        let (own, own_unknown) = sip_mac_cnf(&sip, phone)?;
        for (name, cnf) in [
            (SIP_DEFAULT.to_string(), &default),
            (sip_mac_name(hop.mac), &own),
        ] {
            let issues = validate(&name, cnf, sip.rel, Some(phone.model));
            if !issues.is_empty() {
                return Err(RenderError::Invalid {
                    mac: hop.mac,
                    file: name,
                    issues,
                });
            }
        }
        for (name, cnf, unknown) in [
            (SIP_DEFAULT.to_string(), &default, default_unknown),
            (sip_mac_name(hop.mac), &own, own_unknown),
        ] {
            let mut f = file(name, cnf.to_bytes());
            if !unknown.is_empty() {
                f.note = Some(unknown.join("; "));
            }
            files.push(f);
        }
        files.extend(syncinfo_xml(&sip, phone, template)?);
    }
    files.extend(gkdefault_txt(load));
    Ok(files)
}

/// OS79XX.TXT: read by loads before the universal loader, and shipped by
/// SIP/MGCP universal-loader zips.
fn os79xx_txt(hop: &Hop) -> Option<RenderedFile> {
    let current_original = match hop.current {
        Some(c) => generation(c.protocol(), c.version()) == Generation::OriginalBoot,
        None => true,
    };
    let target = hop.target;
    let target_sip_universal = target.protocol() != Protocol::Sccp
        && generation(target.protocol(), target.version()) == Generation::UniversalLoader;
    (!hop.gk && (current_original || target_sip_universal))
        .then(|| file(OS79XX_TXT.into(), Os79xx::new(hop.fetch.clone()).to_bytes()))
}

/// SEP<MAC>.cnf.xml and XMLDefault.cnf.xml, for SCCP targets and for SCCP
/// phones that read them to leave. Also on the gkdefault hop: the SIP
/// 5.x/6.x phone never reads them, but once gkdefault.cfg has installed
/// the SCCP image, its loader hunts CTLSEP -> SEP<MAC>.cnf.xml ->
/// SIP<MAC>.cnf, and without a SEP file the SIP file's image_version would
/// send it straight back to SIP.
fn sccp_xml(
    phone: &PhoneSettings,
    template: &Template,
    hop: &Hop,
) -> Result<Vec<RenderedFile>, RenderError> {
    let current_sccp_universal = hop.current.is_some_and(|c| {
        c.protocol() == Protocol::Sccp
            && generation(c.protocol(), c.version()) == Generation::UniversalLoader
    });
    let sccp_settings = template.protocol == Protocol::Sccp;
    if hop.target.protocol() != Protocol::Sccp && !current_sccp_universal {
        if sccp_settings {
            // Still check the template, so a bad setting is found before
            // the hop that needs it.
            call_managers(phone, template)?;
        }
        return Ok(Vec::new());
    }
    let cms = if sccp_settings {
        call_managers(phone, template)?
    } else {
        Vec::new()
    };
    Ok(vec![
        sep_cnf_xml(phone, hop, &cms)?,
        xml_default_cnf_xml(phone, template, hop, cms)?,
    ])
}

/// The original of an SCCP file the phone or its template holds (see
/// [`XML_DEFAULT_ORIGINAL`]), parsed, with the source that set it.
fn original(
    phone: &PhoneSettings,
    template: Option<&Template>,
    key: &str,
    name: &str,
) -> Result<Option<(XmlDoc, String)>, RenderError> {
    let found = phone
        .overrides
        .get(key)
        .map(|v| (v, phone_source(phone)))
        .or_else(|| template.and_then(|t| t.settings.get(key).map(|v| (v, template_source(t)))));
    let Some((text, source)) = found else {
        return Ok(None);
    };
    match XmlDoc::parse(name, text.as_bytes()) {
        Ok(doc) => Ok(Some((doc, source))),
        Err(e) => Err(RenderError::SccpSetting {
            origin: source,
            key: key.into(),
            value: format!("({} bytes of XML)", text.len()),
            problem: format!("the original {name} does not parse: {e}"),
        }),
    }
}

/// Edits an original file to carry what the model says (see
/// `SepDevice::apply_to`).
fn over_original(
    key: &str,
    source: String,
    doc: &mut XmlDoc,
    apply: impl FnOnce(&mut XmlDoc) -> Result<(), crate::SccpXmlError>,
) -> Result<(), RenderError> {
    let name = doc.file().to_string();
    apply(doc).map_err(|e| RenderError::SccpSetting {
        origin: source,
        key: key.into(),
        value: format!("({} bytes of XML)", doc.as_str().len()),
        problem: format!("phoneflip cannot set its values in the original {name}: {e}"),
    })
}

/// SEP<MAC>.cnf.xml: the phone's protocol and load, and its call managers
/// when it is to run SCCP; over the phone's original file when it has one
/// (whose CallManagers stay when the phone is to run SIP).
fn sep_cnf_xml(
    phone: &PhoneSettings,
    hop: &Hop,
    cms: &[CallManager],
) -> Result<RenderedFile, RenderError> {
    let target = hop.target;
    let sep = SepDevice {
        device_protocol: Some(target.protocol()),
        call_managers: if target.protocol() == Protocol::Sccp {
            cms.to_vec()
        } else {
            Vec::new()
        },
        load_information: Some(LoadInformation {
            model: Some(phone.model),
            load: target.clone(),
        }),
    };
    let name = sep_mac_name(hop.mac);
    if let Some((mut doc, source)) = original(phone, None, SEP_ORIGINAL, &name)? {
        over_original(SEP_ORIGINAL, source, &mut doc, |d| sep.apply_to(d))?;
        return Ok(file(name, doc.to_bytes()));
    }
    Ok(file(name, sep.to_bytes()))
}

/// XMLDefault.cnf.xml: the call managers and the phone's model's load;
/// over the template's original file when it has one.
fn xml_default_cnf_xml(
    phone: &PhoneSettings,
    template: &Template,
    hop: &Hop,
    cms: Vec<CallManager>,
) -> Result<RenderedFile, RenderError> {
    let mut xd = XmlDefault {
        call_managers: cms,
        ..XmlDefault::default()
    };
    xd.loads.insert(phone.model, hop.target.clone());
    if let Some((mut doc, source)) =
        original(phone, Some(template), XML_DEFAULT_ORIGINAL, XML_DEFAULT)?
    {
        over_original(XML_DEFAULT_ORIGINAL, source, &mut doc, |d| xd.apply_to(d))?;
        return Ok(file(XML_DEFAULT.into(), doc.to_bytes()));
    }
    Ok(file(XML_DEFAULT.into(), xd.to_bytes()))
}

/// The SIP load that reads the SIP files of a hop (the target, or the
/// current load leaving SIP), and what it is told.
struct SipReader<'h, 'a> {
    hop: &'h Hop<'a>,
    rel: Version,
    image_version: String,
    /// Only image_version in SIPDefault.cnf ("W210 TFTP Error : buffer
    /// full").
    w210: bool,
    /// Whether the template's settings are SIP settings to write.
    sip_settings: bool,
    lines: u8,
}

impl<'h, 'a> SipReader<'h, 'a> {
    /// `None` when no SIP load reads files during this hop.
    fn of(phone: &PhoneSettings, template: &Template, hop: &'h Hop<'a>) -> Option<Self> {
        let (current, target) = (hop.current, hop.target);
        let reader = if hop.gk {
            current
        } else if target.protocol() == Protocol::Sip {
            Some(target)
        } else {
            current.filter(|c| c.protocol() == Protocol::Sip)
        }?;
        let image_version = if hop.gk {
            reader.to_string()
        } else if target.protocol() == Protocol::Sip {
            target.to_string()
        } else {
            hop.fetch.to_string()
        };
        Some(SipReader {
            hop,
            rel: reader.version(),
            image_version,
            w210: current.is_some_and(|c| w210_applies(&release(c)))
                || w210_applies(&release(target)),
            sip_settings: template.protocol == Protocol::Sip,
            lines: phone.model.lines(),
        })
    }

    fn set(&self, cnf: &mut SipCnf, k: &str, v: &str) -> Result<(), RenderError> {
        cnf.set(k, v).map_err(|error| RenderError::Value {
            mac: self.hop.mac,
            error,
        })
    }
}

/// SIPDefault.cnf: the template's settings (shared by every phone of the
/// template), or only image_version while W210 applies.
fn sip_default_cnf(
    sip: &SipReader,
    template: &Template,
) -> Result<(SipCnf, Vec<String>), RenderError> {
    let mac = sip.hop.mac;
    let mut default = SipCnf::new();
    if !sip.w210 {
        default.push_comment(&format!(
            "SIPDefault.cnf rendered by phoneflip from template {}",
            template.name
        ));
    }
    default
        .push("image_version", &sip.image_version)
        .map_err(|error| RenderError::Value { mac, error })?;
    // While W210 applies the template is not written, so it is not
    // checked against this (old) load either: an intermediate SIP 2.x
    // hop must not be blocked by settings meant for the final load.
    let mut unknown = Vec::new();
    if sip.sip_settings && !sip.w210 {
        let source = template_source(template);
        for (k, v) in template
            .settings
            .iter()
            .filter(|(k, _)| !is_original_key(k))
        {
            match check_sip_setting(&source, k, v, sip.rel, sip.lines)? {
                Setting::Write => sip.set(&mut default, k, v)?,
                Setting::Skip => {}
                Setting::Unknown(u) => unknown.push(u),
            }
        }
    }
    report_unknown(&mut default, &unknown);
    Ok((default, unknown))
}

/// SIP<MAC>.cnf: what is particular to this phone.
fn sip_mac_cnf(
    sip: &SipReader,
    phone: &PhoneSettings,
) -> Result<(SipCnf, Vec<String>), RenderError> {
    let (mac, rel, lines) = (sip.hop.mac, sip.rel, sip.lines);
    let mut own = SipCnf::new();
    own.push_comment(&format!(
        "SIP{mac}.cnf rendered by phoneflip for a {}",
        phone.model
    ));
    sip.set(&mut own, "image_version", &sip.image_version)?;
    if let Some(label) = &phone.label {
        check_sip_setting(&phone_source(phone), "phone_label", label, rel, lines)?;
        sip.set(&mut own, "phone_label", label)?;
    }
    let mut sorted: Vec<_> = phone.lines.iter().collect();
    sorted.sort_by_key(|l| l.number);
    for l in sorted {
        if l.number == 0 || l.number > crate::sip_params::MAX_LINES {
            return Err(RenderError::LineNumber {
                mac,
                number: l.number,
            });
        }
        if l.number > lines {
            continue;
        }
        let n = l.number;
        let fields = [
            ("name", Some(&l.name)),
            ("authname", l.authname.as_ref()),
            ("password", l.password.as_ref()),
            ("displayname", l.displayname.as_ref()),
            ("shortname", l.shortname.as_ref()),
        ];
        for (f, v) in fields {
            if let Some(v) = v {
                let key = format!("line{n}_{f}");
                check_sip_setting(&format!("phone {mac} line {n}"), &key, v, rel, lines)?;
                sip.set(&mut own, &key, v)?;
            }
        }
    }
    let mut unknown = Vec::new();
    if sip.sip_settings {
        let source = phone_source(phone);
        for (k, v) in phone.overrides.iter().filter(|(k, _)| !is_original_key(k)) {
            match check_sip_setting(&source, k, v, rel, lines)? {
                Setting::Write => sip.set(&mut own, k, v)?,
                Setting::Skip => {}
                Setting::Unknown(u) => unknown.push(u),
            }
        }
    }
    report_unknown(&mut own, &unknown);
    Ok((own, unknown))
}

/// syncinfo.xml, when the template uses remote reset (`sync`).
fn syncinfo_xml(
    sip: &SipReader,
    phone: &PhoneSettings,
    template: &Template,
) -> Result<Option<RenderedFile>, RenderError> {
    let sync = phone
        .overrides
        .get("sync")
        .or_else(|| template.settings.get("sync"))
        .filter(|_| sip.sip_settings && !sip.w210);
    let Some(sync) = sync else {
        return Ok(None);
    };
    // A phone matches the IMAGE line of the image it runs, not the one it
    // is about to get: a phone still on its current SIP load needs a line
    // of its own, or a check-sync never reboots it.
    let mut images = Vec::new();
    if let Some(c) = sip
        .hop
        .current
        .filter(|c| c.protocol() == Protocol::Sip && c.as_str() != sip.image_version.as_str())
    {
        images.push(SyncImage {
            version: c.to_string(),
            sync: sync.clone(),
        });
    }
    images.push(SyncImage {
        version: sip.image_version.clone(),
        sync: sync.clone(),
    });
    let info = SyncInfo { root: None, images };
    let bytes = info.to_bytes().map_err(|e| RenderError::SipSetting {
        origin: template_source(template),
        key: "sync".into(),
        value: sync.clone(),
        problem: SipProblem::OutOfRange {
            value: sync.clone(),
            expected: e.fix,
        },
    })?;
    Ok(Some(file(SYNCINFO_XML.into(), bytes)))
}

/// gkdefault.txt, the text form of gkdefault.cfg, when the hop carries a
/// gkdefault image.
fn gkdefault_txt(load: &RenderLoad) -> Option<RenderedFile> {
    load.gk_image.as_ref().map(|img| RenderedFile {
        name: GKDEFAULT_TXT.into(),
        bytes: GkDefault::new(UpgradeCode::new(img.clone())).to_bytes(),
        note: Some(CFGFMT_NOTE.into()),
    })
}

/// The one file a phone asked for (`requested` as it came in the read
/// request, `./SIP…cnf` included), or `None` when it is not this phone's
/// or not a file phoneflip renders (images, rings, dial plans, another
/// phone's MAC, CTLSEP…).
pub fn render_one(
    phone: &PhoneSettings,
    template: &Template,
    load: &RenderLoad,
    requested: &str,
) -> Result<Option<RenderedFile>, RenderError> {
    let name = FileName::classify(requested);
    if name.kind.mac().is_some_and(|m| m != phone.mac) {
        return Ok(None);
    }
    if !name.kind.is_rendered() {
        return Ok(None);
    }
    Ok(render(phone, template, load)?
        .into_iter()
        .find(|f| f.name == name.base))
}

//! One file of a TFTP root, examined: what it is, whether it parses,
//! what a phone does with it, whether writing it back is byte-exact.
//! The answer of `phoneflip check` and of the real-world corpus test.
//!
//! Owns only the choice of parser for a file (by its name, then by its
//! content for names no phone asks for) and the sentences about what a
//! phone does with it. Parsing is the format modules'; the classifier is
//! [`crate::filename`]; load names are `phoneflip-firmware`'s.

use phoneflip_device::Model;
use phoneflip_firmware::{other_model_family, LoadNameError, Version};
use serde::Serialize;

use crate::filename::{FileKind, FileName};
use crate::os79xx::Os79xxDefect;
use crate::sip_params::{sip_release, validate};
use crate::{
    DialPlan, GkDefault, Os79xx, RingList, SepDevice, SipCnf, SyncInfo, XmlDefault, XmlDoc,
};

/// How a file was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Os79xx,
    /// A SIP `key: value` file.
    SipCnf,
    /// A `<device>` file (`SEP<MAC>.cnf.xml`).
    SepXml,
    /// A `<Default>` file (`XMLDefault.cnf.xml`).
    XmlDefault,
    DialPlan,
    RingList,
    SyncInfo,
    GkDefaultTxt,
    /// A binary phoneflip serves as it is (firmware, rings, gkdefault.cfg).
    Binary,
    /// Well-formed XML that is none of the 7940/7960 formats.
    OtherXml,
    /// Nothing phoneflip reads.
    Unknown,
}

/// The verdict on one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    pub file: String,
    /// What the file name is to a phone (`sip_mac`, `other`, ...).
    pub kind: FileKind,
    /// Whether a 7940/7960 ever asks for this name.
    pub requested_by_phones: bool,
    pub format: Format,
    /// Whether the parser of `format` read it.
    pub parses: bool,
    /// Every reason it does not parse, or every line that does not.
    pub errors: Vec<String>,
    /// Whether the writer gives back the same bytes; `None` when it was
    /// not read.
    pub byte_exact: Option<bool>,
    /// The models the file (or the load it names) is for, when they are
    /// not the 7940/7960: such files are left alone.
    pub other_model: Option<&'static str>,
    /// What a phone does with it.
    pub phone: String,
    /// Warnings that do not stop the file from working.
    pub warnings: Vec<String>,
}

fn is_xml(bytes: &[u8]) -> bool {
    let t = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    t.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'<')
}

/// Picks the format of a file: by the name a phone asks for, else by
/// content (a `SEPBASE.cnf.xml` template, a `SIPDefault.cnf2` copy).
pub fn format_of(name: &FileName, bytes: &[u8]) -> Format {
    match &name.kind {
        FileKind::Os79xx => Format::Os79xx,
        FileKind::SipDefault | FileKind::SipMac(_) | FileKind::MgcMac(_) => Format::SipCnf,
        FileKind::SepMac(_) => Format::SepXml,
        FileKind::XmlDefault => Format::XmlDefault,
        FileKind::RingList => Format::RingList,
        FileKind::SyncInfo => Format::SyncInfo,
        FileKind::GkDefaultTxt => Format::GkDefaultTxt,
        FileKind::GkDefaultCfg
        | FileKind::GkMac(_)
        | FileKind::Ring
        | FileKind::Image(_)
        | FileKind::AliasImage(..)
        | FileKind::CtlSep(_) => Format::Binary,
        FileKind::DialPlan | FileKind::Other => sniff(&name.base, bytes),
    }
}

fn sniff(base: &str, bytes: &[u8]) -> Format {
    if is_xml(bytes) {
        return match XmlDoc::parse(base, bytes) {
            Ok(d) => match d.root() {
                "device" => Format::SepXml,
                "Default" => Format::XmlDefault,
                r if r.eq_ignore_ascii_case("DIALTEMPLATE") => Format::DialPlan,
                r if r.eq_ignore_ascii_case("SYNCINFO") => Format::SyncInfo,
                _ => Format::OtherXml,
            },
            // Broken XML: read it as what its name says, for the error.
            Err(_) if base.ends_with(".cnf.xml") => Format::SepXml,
            Err(_) if base.eq_ignore_ascii_case("syncinfo.xml") => Format::SyncInfo,
            Err(_) => Format::OtherXml,
        };
    }
    let lower = base.to_ascii_lowercase();
    if lower == "os79xx.txt" {
        return Format::Os79xx;
    }
    if lower.starts_with("gkdefault") && lower.ends_with(".txt") {
        return Format::GkDefaultTxt;
    }
    let (cnf, errors) = SipCnf::parse_lossy(base, bytes);
    let entries = cnf.entries().count();
    if entries > 0 && errors.len() < entries {
        return Format::SipCnf;
    }
    Format::Unknown
}

/// The model a hand-made base file is named after (`SEP_BASE_7970.cnf.xml`),
/// when it is a Cisco 79xx other than the 7940/7960.
fn other_model_in_name(base: &str) -> Option<&'static str> {
    let b = base.as_bytes();
    (0..b.len().saturating_sub(3)).find_map(|i| {
        let w = &b[i..i + 4];
        let alone = (i == 0 || !b[i - 1].is_ascii_digit())
            && b.get(i + 4).is_none_or(|c| !c.is_ascii_digit());
        if !alone || !w.starts_with(b"79") || !w.iter().all(u8::is_ascii_digit) {
            return None;
        }
        match w {
            b"7940" | b"7960" => None,
            b"7906" | b"7911" => Some("7906/7911"),
            b"7941" | b"7961" => Some("7941/7961"),
            b"7942" | b"7962" => Some("7942/7962"),
            b"7945" | b"7965" => Some("7945/7965"),
            b"7970" | b"7971" => Some("7970/7971"),
            b"7975" => Some("7975"),
            _ => Some("79x1/79x5 family"),
        }
    })
}

/// The release a SIP file is checked against: the one its
/// `image_version` names, else the newest (8.12), which knows every
/// parameter.
fn release_of(cnf: &SipCnf) -> Version {
    cnf.get("image_version")
        .and_then(|v| v.parse().ok())
        .and_then(|l| sip_release(&l))
        .unwrap_or(Version::new(8, 12))
}

/// Examines one file: `name` as it is in the root, `bytes` its content.
pub fn check_file(name: &str, bytes: &[u8]) -> FileCheck {
    let fname = FileName::classify(name);
    let format = format_of(&fname, bytes);
    let requested = !matches!(fname.kind, FileKind::Other);
    let mut c = FileCheck {
        file: name.to_string(),
        kind: fname.kind.clone(),
        requested_by_phones: requested,
        format,
        parses: false,
        errors: Vec::new(),
        byte_exact: None,
        other_model: None,
        phone: String::new(),
        warnings: Vec::new(),
    };
    let base = fname.base.as_str();
    match format {
        Format::Os79xx => match Os79xx::parse(bytes) {
            Ok(f) => {
                c.parses = true;
                c.byte_exact = Some(f.to_bytes() == bytes);
                c.phone = format!(
                    "a phone on a pre-loader load (SCCP 5.x or earlier, SIP 6.x or earlier) fetches the image {}",
                    f.image
                );
            }
            Err(e) => {
                for d in &e.defects {
                    if let Os79xxDefect::NotALoad(LoadNameError::OtherModel { models, .. }) = d {
                        c.other_model = Some(models);
                    }
                }
                c.errors = e.defects.iter().map(ToString::to_string).collect();
                c.phone = match c.other_model {
                    Some(m) => format!("it names a load of the {m}; a 7940/7960 on a pre-loader load cannot boot it"),
                    None => "a phone on a pre-loader load fails to fetch its image and keeps the one it runs".into(),
                };
            }
        },
        Format::SipCnf => {
            let (cnf, errors) = SipCnf::parse_lossy(base, bytes);
            c.parses = errors.is_empty();
            c.errors = errors.iter().map(ToString::to_string).collect();
            c.byte_exact = Some(cnf.to_bytes() == bytes);
            if let Some(iv) = cnf.get("image_version") {
                if let Some(m) = other_model_family(iv) {
                    c.other_model = Some(m);
                }
            }
            let release = release_of(&cnf);
            c.warnings = validate(base, &cnf, release, None)
                .iter()
                .map(ToString::to_string)
                .collect();
            let n = cnf.entries().count();
            c.phone = match (requested, cnf.get("image_version")) {
                (false, _) => format!(
                    "no phone asks for this name; as a SIP file it sets {n} parameters"
                ),
                (true, Some(iv)) => format!(
                    "a SIP phone reads {n} parameters (checked against SIP {release}) and moves to image_version {iv}"
                ),
                (true, None) => format!(
                    "a SIP phone reads {n} parameters (checked against SIP {release}); no image_version here"
                ),
            };
            if !errors.is_empty() {
                c.phone.push_str(&format!(
                    "; it skips the {} line(s) it cannot read",
                    errors.len()
                ));
            }
        }
        Format::SepXml | Format::XmlDefault => check_xml(&mut c, base, bytes, requested),
        Format::DialPlan => match DialPlan::parse(base, bytes) {
            Ok(p) => {
                c.parses = true;
                c.byte_exact = Some(p.to_bytes() == bytes);
                c.phone = format!(
                    "a SIP phone whose dial_template names it matches dialled digits against its {} rules",
                    p.rules.len()
                );
            }
            Err(e) => {
                c.errors.push(e.to_string());
                c.phone = "a phone ignores a dial plan it cannot read and dials with none".into();
            }
        },
        Format::RingList => match RingList::parse(base, bytes) {
            Ok(r) => {
                c.parses = true;
                c.byte_exact = Some(r.to_bytes().is_ok_and(|b| b == bytes));
                c.phone = format!("a phone offers {} custom rings", r.rings.len());
            }
            Err(e) => {
                c.errors.push(e.to_string());
                c.phone = "a phone offers no custom rings".into();
            }
        },
        Format::SyncInfo => match SyncInfo::parse(base, bytes) {
            Ok(s) => {
                c.parses = true;
                c.byte_exact = Some(s.to_bytes().is_ok_and(|b| b == bytes));
                c.phone = format!(
                    "on a check-sync NOTIFY a SIP phone matches its image against {} entries and reboots when the sync value differs",
                    s.images.len()
                );
            }
            Err(e) => {
                c.errors.push(e.to_string());
                c.phone =
                    "on a check-sync NOTIFY a phone cannot read it and does not reboot".into();
            }
        },
        Format::GkDefaultTxt => match GkDefault::parse(base, bytes) {
            Ok(g) => {
                c.parses = true;
                c.byte_exact = Some(g.to_bytes() == bytes);
                c.phone = "no phone reads it: cfgfmt compiles it into gkdefault.cfg".into();
            }
            Err(e) => {
                c.errors.push(e.to_string());
                c.phone = "cfgfmt cannot compile it".into();
            }
        },
        Format::Binary => {
            c.phone = "served as it is".into();
        }
        Format::OtherXml => match XmlDoc::parse(base, bytes) {
            Ok(d) => {
                c.parses = true;
                c.byte_exact = Some(d.to_bytes() == bytes);
                c.phone = format!(
                    "<{}> is not a 7940/7960 format (a 79x1 or later file); a 7940/7960 ignores it, phoneflip leaves it alone",
                    d.root()
                );
            }
            Err(e) => {
                c.errors.push(e.to_string());
                c.phone = "not a 7940/7960 file, and not well-formed XML".into();
            }
        },
        Format::Unknown => {
            c.phone = "not a file a 7940/7960 reads; phoneflip leaves it alone".into();
        }
    }
    c
}

fn check_xml(c: &mut FileCheck, base: &str, bytes: &[u8], requested: bool) {
    let doc = match XmlDoc::parse(base, bytes) {
        Ok(d) => d,
        Err(e) => {
            c.errors.push(e.to_string());
            c.phone =
                "a phone that gets it loops and then shows \"Protocol Application Invalid\"".into();
            return;
        }
    };
    c.byte_exact = Some(doc.to_bytes() == bytes);
    let who = if requested {
        ""
    } else {
        "no phone asks for this name; as written, "
    };
    if c.format == Format::SepXml {
        let load = doc
            .find(&["device", "loadInformation"])
            .map(|i| doc.elements()[i].text.trim().to_string());
        c.other_model = match &load {
            Some(l) => other_model_family(l),
            // No load named: a 7940/7960 on SIP reads SIPDefault.cnf and
            // SIP<MAC>.cnf, so a SIP <sipProfile> in a SEP file is a 79x1
            // or later phone's; else the base file's name may say.
            None if doc.find(&["device", "sipProfile"]).is_some() => {
                Some("79x1/79x2/79x5/7970 on SIP")
            }
            None => other_model_in_name(base),
        };
        match SepDevice::from_doc(&doc) {
            Ok(d) => {
                c.parses = true;
                let proto = d
                    .device_protocol
                    .map_or("its current protocol".to_string(), |p| p.to_string());
                c.phone = match (&d.load_information, c.other_model) {
                    (_, Some(m)) => format!(
                        "{who}a file of the {m}, which a 7940/7960 never reads; phoneflip leaves it alone"
                    ),
                    (Some(li), None) => format!("{who}the phone runs {proto} and loads {}", li.load),
                    (None, None) => {
                        format!("{who}the phone runs {proto} and keeps the load it runs")
                    }
                };
            }
            Err(e) => {
                c.errors.push(e.to_string());
                c.phone =
                    "a phone that gets it loops and then shows \"Protocol Application Invalid\""
                        .into();
            }
        }
    } else {
        match XmlDefault::from_doc(&doc) {
            Ok(d) => {
                c.parses = true;
                let ours: Vec<String> = Model::ALL
                    .into_iter()
                    .filter_map(|m| d.loads.get(&m).map(|l| format!("a {m} loads {l}")))
                    .collect();
                c.phone = format!(
                    "{who}an SCCP phone without its own SEP file reads it: {}; {} lines of other models are left alone",
                    if ours.is_empty() {
                        "no 7940/7960 line, so they keep their load".to_string()
                    } else {
                        ours.join(", ")
                    },
                    d.other_loads.len()
                );
                if ours.is_empty() && !d.other_loads.is_empty() {
                    c.other_model = Some("models other than the 7940/7960");
                }
            }
            Err(e) => {
                c.errors.push(e.to_string());
                c.phone = "an SCCP phone cannot read it and keeps the load it runs".into();
            }
        }
    }
}

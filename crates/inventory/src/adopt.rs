//! Adopting a hand-made TFTP root: the phones, lines, per-phone settings
//! and templates its files hold, as inventory records, so that a site
//! moving from tftpd-hpa to phoneflip loses no setting.
//!
//! `SIPDefault.cnf` becomes a SIP template, `XMLDefault.cnf.xml` an SCCP
//! one (the file itself kept whole, so every element phoneflip does not
//! own is rendered back as it was; a SEP file likewise with its phone);
//! every `SIP<MAC>.cnf` (or `SEP<MAC>.cnf.xml` of a 7940/7960) a
//! phone following it, with its lines, label and own settings as
//! overrides, and the load the files set it to as its desired load.
//!
//! Owns only the mapping from files to records; parsing is
//! `phoneflip-config`'s, and the caller stores the result (or not, for a
//! dry run). A value the parameter table refuses is not adopted but
//! reported, since `render` would refuse it for every file of the phone.

use std::collections::BTreeMap;

use phoneflip_config::check::check_file;
use phoneflip_config::sip_params::{check_param, sip_release};
use phoneflip_config::{
    FileKind, FileName, Line, SepDevice, SipCnf, Template, XmlDefault, SEP_ORIGINAL,
    XML_DEFAULT_ORIGINAL,
};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{LoadName, Protocol, Version};
use serde::Serialize;

use crate::record::{check_key, Phone};

/// What a root turned into.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Adopted {
    pub templates: Vec<Template>,
    pub phones: Vec<Phone>,
    /// Firmware files present in the root (by name).
    pub firmware: Vec<String>,
    /// Every setting not adopted, and every guess made, with why.
    pub notes: Vec<String>,
}

/// The template names of a root: `NAME-sip`, `NAME-sccp`, with NAME
/// reduced to the characters template names may hold.
pub fn template_name(root: &str, protocol: Protocol) -> String {
    let base: String = root
        .chars()
        .map(|c| if check_key(&c.to_string()) { c } else { '-' })
        .collect();
    let base = if base.is_empty() {
        "adopted".into()
    } else {
        base
    };
    let p = match protocol {
        Protocol::Sip => "sip",
        Protocol::Sccp => "sccp",
        Protocol::Mgcp => "mgcp",
    };
    format!("{base}-{p}")
}

/// The parameters a SIP file sets, as the phone reads them (a bad line
/// skipped, the last value of a key winning), in file order.
fn params(file: &str, bytes: &[u8], notes: &mut Vec<String>) -> BTreeMap<String, String> {
    let (cnf, errors) = SipCnf::parse_lossy(file, bytes);
    for e in errors {
        notes.push(format!("{e}: the line is not adopted"));
    }
    let mut out = BTreeMap::new();
    for e in cnf.entries() {
        out.insert(e.key.to_string(), e.value.to_string());
    }
    out
}

fn release_of(image: Option<&str>) -> Version {
    image
        .and_then(|v| v.parse::<LoadName>().ok())
        .and_then(|l| sip_release(&l))
        .unwrap_or(Version::new(8, 12))
}

/// Keeps the settings the SIP release reads; notes the others.
fn accepted(
    file: &str,
    params: &BTreeMap<String, String>,
    release: Version,
    notes: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in params {
        match check_param(k, v, release, None) {
            Ok(()) if check_key(k) => {
                out.insert(k.clone(), v.clone());
            }
            Ok(()) => notes.push(format!(
                "{file}: {k} is not a name phoneflip can store; not adopted"
            )),
            Err(p) => notes.push(format!("{file}: {k} = {v:?} not adopted: {p}")),
        }
    }
    out
}

const LINE_FIELDS: [&str; 5] = ["name", "authname", "password", "displayname", "shortname"];

/// Splits a phone's own parameters into its lines, label and overrides.
fn sip_phone(
    file: &str,
    mac: Mac,
    own: BTreeMap<String, String>,
    template: Option<&Template>,
    default_load: Option<&LoadName>,
    notes: &mut Vec<String>,
) -> Phone {
    let mut lines: BTreeMap<u8, Line> = BTreeMap::new();
    let mut rest = BTreeMap::new();
    let mut label = None;
    let mut image = None;
    for (k, v) in own {
        let line_field = k.strip_prefix("line").and_then(|r| {
            let (n, f) = r.split_once('_')?;
            let n: u8 = n.parse().ok().filter(|n| (1..=6).contains(n))?;
            LINE_FIELDS.contains(&f).then(|| (n, f.to_string()))
        });
        match (k.as_str(), line_field) {
            ("image_version", _) => image = Some(v),
            ("phone_label", _) => label = Some(v),
            (_, Some((n, f))) => {
                let l = lines.entry(n).or_insert_with(|| Line {
                    number: n,
                    name: String::new(),
                    authname: None,
                    password: None,
                    displayname: None,
                    shortname: None,
                });
                match f.as_str() {
                    "name" => l.name = v,
                    "authname" => l.authname = Some(v),
                    "password" => l.password = Some(v),
                    "displayname" => l.displayname = Some(v),
                    _ => l.shortname = Some(v),
                }
            }
            _ => {
                rest.insert(k, v);
            }
        }
    }
    // A line without a name registers nothing, so it is no inventory
    // line; its other fields are kept as they were, as overrides.
    let mut named = Vec::new();
    for l in lines.into_values() {
        if !l.name.is_empty() {
            named.push(l);
            continue;
        }
        let n = l.number;
        rest.insert(format!("line{n}_name"), String::new());
        for (f, v) in [
            ("authname", l.authname),
            ("password", l.password),
            ("displayname", l.displayname),
            ("shortname", l.shortname),
        ] {
            if let Some(v) = v {
                rest.insert(format!("line{n}_{f}"), v);
            }
        }
    }
    let lines = named;
    // The files do not say the model; a 7940 has 2 lines, a 7960 six.
    let model = if lines.iter().any(|l| l.number > 2) {
        Model::Cp7960
    } else {
        notes.push(format!(
            "{file}: the files do not say whether {mac} is a 7940 or a 7960; adopted as a 7960 (change it with phones import)"
        ));
        Model::Cp7960
    };
    let mut phone = Phone::new(mac, model);
    phone.lines = lines;
    phone.label = label;
    phone.desired_protocol = Some(Protocol::Sip);
    phone.template = template.map(|t| t.name.clone());
    // Settings equal to the template's need no override, but keeping them
    // changes nothing the phone sees: they stay, as the file had them.
    phone.overrides = rest;
    phone.desired_load = match image.as_deref().map(str::parse::<LoadName>) {
        Some(Ok(l)) => Some(l),
        Some(Err(e)) => {
            notes.push(format!(
                "{file}: image_version: {e}; the phone keeps the SIPDefault.cnf load"
            ));
            default_load.cloned()
        }
        None => default_load.cloned(),
    };
    phone.description = format!("adopted from {file}");
    phone
}

/// Turns the files of a root (`name` relative to it, bytes) into records.
pub fn adopt(root: &str, files: &[(String, Vec<u8>)]) -> Adopted {
    let mut out = Adopted::default();
    let kinds: Vec<(FileName, &[u8])> = files
        .iter()
        .map(|(n, b)| (FileName::classify(n), b.as_slice()))
        .collect();
    let mut sip_template = None;
    let mut sip_load = None;
    if let Some((f, bytes)) = kinds.iter().find(|(f, _)| f.kind == FileKind::SipDefault) {
        let all = params(&f.requested, bytes, &mut out.notes);
        let image = all.get("image_version").cloned();
        let release = release_of(image.as_deref());
        let mut settings = accepted(&f.requested, &all, release, &mut out.notes);
        settings.remove("image_version");
        sip_load = image.and_then(|i| i.parse::<LoadName>().ok());
        sip_template = Some(Template {
            name: template_name(root, Protocol::Sip),
            protocol: Protocol::Sip,
            settings,
        });
    }
    let mut sccp_template = None;
    let mut sccp_loads = BTreeMap::new();
    let mut xml_default_text = None;
    if let Some((f, bytes)) = kinds.iter().find(|(f, _)| f.kind == FileKind::XmlDefault) {
        match XmlDefault::parse(&f.requested, bytes) {
            Ok(d) => {
                let mut settings = BTreeMap::new();
                let mut cms = d.call_managers.clone();
                cms.sort_by_key(|c| c.priority);
                for (i, cm) in cms
                    .iter()
                    .filter(|c| !c.process_node_name.is_empty())
                    .take(3)
                    .enumerate()
                {
                    settings.insert(
                        format!("callmanager{}", i + 1),
                        cm.process_node_name.clone(),
                    );
                }
                if let Some(cm) = cms.first() {
                    if cm.ethernet_phone_port != phoneflip_config::sccp::DEFAULT_ETHERNET_PHONE_PORT
                    {
                        settings.insert(
                            "ethernet_phone_port".into(),
                            cm.ethernet_phone_port.to_string(),
                        );
                    }
                }
                // The whole file is kept: render edits its loads and
                // CallManagers and leaves the URLs, locales, time
                // settings and the rest as the site wrote them.
                let text = String::from_utf8_lossy(bytes).into_owned();
                settings.insert(XML_DEFAULT_ORIGINAL.into(), text.clone());
                xml_default_text = Some(text);
                out.notes.push(format!(
                    "{}: kept whole as the templates' {XML_DEFAULT_ORIGINAL}; phoneflip sets only its 7940/7960 loads and CallManagers",
                    f.requested
                ));
                sccp_loads = d.loads.clone();
                sccp_template = Some(Template {
                    name: template_name(root, Protocol::Sccp),
                    protocol: Protocol::Sccp,
                    settings,
                });
            }
            Err(e) => out.notes.push(format!("{e}: not adopted")),
        }
    }
    // A conversion root's XMLDefault.cnf.xml is what sends its SCCP phones
    // to SIP: the SIP template renders it too.
    if let (Some(t), Some(text)) = (sip_template.as_mut(), xml_default_text) {
        t.settings.insert(XML_DEFAULT_ORIGINAL.into(), text);
    }
    for (f, _) in &kinds {
        if f.kind.is_image() {
            out.firmware.push(f.requested.clone());
        }
    }
    for (f, bytes) in &kinds {
        let FileKind::SipMac(mac) = f.kind else {
            continue;
        };
        let all = params(&f.requested, bytes, &mut out.notes);
        let release = release_of(
            all.get("image_version")
                .map(String::as_str)
                .or(sip_load.as_ref().map(LoadName::as_str)),
        );
        let own = accepted(&f.requested, &all, release, &mut out.notes);
        let phone = sip_phone(
            &f.requested,
            mac,
            own,
            sip_template.as_ref(),
            sip_load.as_ref(),
            &mut out.notes,
        );
        out.phones.push(phone);
    }
    for (f, bytes) in &kinds {
        let FileKind::SepMac(mac) = f.kind else {
            continue;
        };
        if out.phones.iter().any(|p| p.mac == mac) {
            out.notes.push(format!(
                "{}: {mac} also has a SIP<MAC>.cnf, which is what it was adopted from",
                f.requested
            ));
            continue;
        }
        let c = check_file(&f.requested, bytes);
        if let Some(m) = c.other_model {
            out.notes
                .push(format!("{}: a file of the {m}; left alone", f.requested));
            continue;
        }
        let dev = match SepDevice::parse(&f.requested, bytes) {
            Ok(d) => d,
            Err(e) => {
                out.notes.push(format!("{e}: not adopted"));
                continue;
            }
        };
        let model = dev
            .load_information
            .as_ref()
            .and_then(|l| l.model)
            .unwrap_or_else(|| {
                out.notes.push(format!(
                    "{}: the file does not say whether {mac} is a 7940 or a 7960; adopted as a 7960",
                    f.requested
                ));
                Model::Cp7960
            });
        let mut phone = Phone::new(mac, model);
        phone.description = format!("adopted from {}", f.requested);
        phone.overrides.insert(
            SEP_ORIGINAL.into(),
            String::from_utf8_lossy(bytes).into_owned(),
        );
        phone.desired_protocol = Some(dev.device_protocol.unwrap_or(Protocol::Sccp));
        phone.desired_load = dev
            .load_information
            .map(|l| l.load)
            .or_else(|| sccp_loads.get(&model).cloned());
        phone.template = match phone.desired_protocol {
            Some(Protocol::Sip) => sip_template.as_ref().map(|t| t.name.clone()),
            _ => sccp_template.as_ref().map(|t| t.name.clone()),
        };
        out.phones.push(phone);
    }
    out.templates.extend(sip_template);
    out.templates.extend(sccp_template);
    out
}

//! SCCP XML configuration: the per-phone `SEP<MAC>.cnf.xml` and the
//! shared `XMLDefault.cnf.xml`.
//!
//! Only the elements that move a phone between loads and point it at its
//! CallManagers are modelled. The model is read from a lossless
//! [`XmlDoc`] (the file's own text), so a real file keeps every element
//! the model lacks: edited with [`SepDevice::set_load_in`] /
//! [`XmlDefault::set_load_in`] it changes only the load's bytes. The
//! model's own writer (`to_bytes`, what `render` uses) emits only what the
//! model holds. In particular there is no field for
//! `sshUserId`/`sshPassword`: sample files on the internet carry
//! `cisco`/`cisco`, and phoneflip must never hand those to a fleet.
//!
//! Loads of other models (`SCCP45.…` in a SEP file, a 7962's `SIP42.…`
//! under the 7940's code 8) are left alone, not refused.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use phoneflip_device::Model;
use phoneflip_firmware::{other_model_family, LoadName, Protocol};
use quick_xml::escape::escape;

use crate::xmldoc::{XmlDoc, XmlError};

/// The TCP port phones use to reach CallManager when none is given.
pub const DEFAULT_ETHERNET_PHONE_PORT: u16 = 2000;

/// The template setting holding a site's own `XMLDefault.cnf.xml`, which
/// `render` then edits (loads, CallManagers) instead of writing the file
/// from the model, so its URLs, locales, time settings and the rest stay.
/// `adopt` stores the original here; a user can set any file of theirs.
pub const XML_DEFAULT_ORIGINAL: &str = "xml_default_original";

/// The phone override holding its own `SEP<MAC>.cnf.xml`, rendered like
/// [`XML_DEFAULT_ORIGINAL`].
pub const SEP_ORIGINAL: &str = "sep_original";

/// Whether `key` holds a whole original file, not a parameter.
pub fn is_original_key(key: &str) -> bool {
    key == XML_DEFAULT_ORIGINAL || key == SEP_ORIGINAL
}

/// A `<member priority="N">` of `callManagerGroup`: one CallManager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallManager {
    /// 0 is tried first.
    pub priority: u8,
    /// The CallManager's address (`processNodeName`).
    pub process_node_name: String,
    /// `ports/ethernetPhonePort`, normally 2000.
    pub ethernet_phone_port: u16,
}

/// `<loadInformation model="…">LOAD</loadInformation>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadInformation {
    pub model: Option<Model>,
    pub load: LoadName,
}

/// `SEP<MAC>.cnf.xml`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SepDevice {
    /// `deviceProtocol`: which protocol the phone must run (SCCP or SIP).
    pub device_protocol: Option<Protocol>,
    /// `devicePool/callManagerGroup/members`, by priority.
    pub call_managers: Vec<CallManager>,
    pub load_information: Option<LoadInformation>,
}

/// `XMLDefault.cnf.xml`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XmlDefault {
    pub call_managers: Vec<CallManager>,
    /// `loadInformationN model="IP Phone 79x0"`, N = the model's device
    /// type code.
    pub loads: BTreeMap<Model, LoadName>,
    /// `loadInformationN` entries for other models, kept as written:
    /// (N, model attribute, text).
    pub other_loads: Vec<(u32, Option<String>, String)>,
}

/// Why an SCCP XML file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {problem}; {fix}")]
pub struct SccpXmlError {
    pub file: String,
    pub problem: String,
    pub fix: String,
}

fn err(file: &str, problem: impl Into<String>, fix: impl Into<String>) -> SccpXmlError {
    SccpXmlError {
        file: file.into(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// Reads the XML into (path, attributes, text) triples for every element
/// with text or attributes, where path is the element names from the root.
struct Node {
    path: Vec<String>,
    attrs: Vec<(String, String)>,
    text: String,
}

/// The elements of a parsed file as (path, attributes, text) nodes.
fn nodes_of(doc: &XmlDoc) -> Vec<Node> {
    doc.elements()
        .iter()
        .enumerate()
        .map(|(i, e)| Node {
            path: doc.path(i).into_iter().map(str::to_string).collect(),
            attrs: e
                .attrs
                .iter()
                .map(|a| (a.name.clone(), a.value.clone()))
                .collect(),
            text: e.text.clone(),
        })
        .collect()
}

impl From<XmlError> for SccpXmlError {
    fn from(e: XmlError) -> SccpXmlError {
        SccpXmlError {
            file: e.file,
            problem: format!("line {}, column {}: {}", e.line, e.column, e.problem),
            fix: e.fix,
        }
    }
}

fn path_is(n: &Node, p: &[&str]) -> bool {
    n.path.len() == p.len() && n.path.iter().zip(p).all(|(a, b)| a == b)
}

fn attr<'a>(n: &'a Node, name: &str) -> Option<&'a str> {
    n.attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Collects the CallManagers under `prefix/callManagerGroup/members`.
fn call_managers(
    file: &str,
    nodes: &[Node],
    prefix: &[&str],
) -> Result<Vec<CallManager>, SccpXmlError> {
    let mut out: Vec<CallManager> = Vec::new();
    let base: Vec<&str> = prefix
        .iter()
        .copied()
        .chain(["callManagerGroup", "members", "member"])
        .collect();
    for n in nodes {
        if path_is(n, &base) {
            let priority = match attr(n, "priority") {
                Some(p) => p.trim().parse::<u8>().map_err(|_| {
                    err(
                        file,
                        format!("member priority {p:?} is not a number"),
                        "write priority=\"0\" for the first CallManager, 1 and 2 for the backups",
                    )
                })?,
                None => out.len() as u8,
            };
            out.push(CallManager {
                priority,
                process_node_name: String::new(),
                ethernet_phone_port: DEFAULT_ETHERNET_PHONE_PORT,
            });
            continue;
        }
        let Some(cm) = out.last_mut() else { continue };
        if n.path.len() < base.len() || n.path[..base.len()] != base[..] {
            continue;
        }
        let rest: Vec<&str> = n.path[base.len()..].iter().map(String::as_str).collect();
        match rest.as_slice() {
            ["callManager", "processNodeName"] => cm.process_node_name = n.text.trim().to_string(),
            ["callManager", "ports", "ethernetPhonePort"] => {
                cm.ethernet_phone_port = n.text.trim().parse().map_err(|_| {
                    err(
                        file,
                        format!("ethernetPhonePort {:?} is not a port number", n.text),
                        "write the CallManager's SCCP port, normally 2000",
                    )
                })?
            }
            _ => {}
        }
    }
    Ok(out)
}

fn load_of(file: &str, text: &str) -> Result<LoadName, SccpXmlError> {
    text.trim().parse::<LoadName>().map_err(|e| {
        err(
            file,
            format!("loadInformation: {e}"),
            "write the load name without extension, e.g. P0030801SR02",
        )
    })
}

fn model_of(file: &str, name: &str) -> Result<Model, SccpXmlError> {
    let m: Model = name.parse().map_err(|e| {
        err(
            file,
            format!("loadInformation model: {e}"),
            "write model=\"IP Phone 7960\" or \"IP Phone 7940\"",
        )
    })?;
    Ok(m)
}

/// One element per line, no indentation: every `loadInformation` line
/// then stands alone, which is how the planner names the line to set.
fn write_call_managers(out: &mut String, cms: &[CallManager]) {
    out.push_str("<callManagerGroup>\n<members>\n");
    write_members(out, cms);
    out.push_str("</members>\n</callManagerGroup>\n");
}

/// The `<member>` elements of a CallManager list, one element per line.
fn write_members(out: &mut String, cms: &[CallManager]) {
    for cm in cms {
        let _ = writeln!(out, "<member priority=\"{}\">", cm.priority);
        out.push_str("<callManager>\n<ports>\n");
        let _ = writeln!(
            out,
            "<ethernetPhonePort>{}</ethernetPhonePort>",
            cm.ethernet_phone_port
        );
        out.push_str("</ports>\n");
        let _ = writeln!(
            out,
            "<processNodeName>{}</processNodeName>",
            escape(cm.process_node_name.as_str())
        );
        out.push_str("</callManager>\n</member>\n");
    }
}

fn protocol_word(p: Protocol) -> &'static str {
    match p {
        Protocol::Sccp => "SCCP",
        Protocol::Sip => "SIP",
        Protocol::Mgcp => "MGCP",
    }
}

impl SepDevice {
    pub fn parse(file: &str, bytes: &[u8]) -> Result<SepDevice, SccpXmlError> {
        SepDevice::from_doc(&XmlDoc::parse(file, bytes)?)
    }

    /// The model of a lossless file: what a phone reads from it.
    pub fn from_doc(doc: &XmlDoc) -> Result<SepDevice, SccpXmlError> {
        let file = doc.file();
        let nodes = nodes_of(doc);
        if nodes[0].path != ["device"] {
            return Err(err(
                file,
                format!("the root element is <{}>, not <device>", nodes[0].path[0]),
                "a SEP<MAC>.cnf.xml starts with <device>",
            ));
        }
        let mut dev = SepDevice {
            call_managers: call_managers(file, &nodes, &["device", "devicePool"])?,
            ..SepDevice::default()
        };
        for n in &nodes {
            if path_is(n, &["device", "deviceProtocol"]) {
                dev.device_protocol = Some(n.text.trim().parse().map_err(|_| {
                    err(
                        file,
                        format!("deviceProtocol {:?} is unknown", n.text),
                        "write SCCP or SIP",
                    )
                })?);
            } else if path_is(n, &["device", "loadInformation"]) {
                // A SEP file of another model (a 7945's SCCP45.…) in a
                // shared root names no 7940/7960 load: not an error, like
                // XMLDefault's other_loads.
                if other_model_family(n.text.trim()).is_some() {
                    continue;
                }
                let model = attr(n, "model").map(|m| model_of(file, m)).transpose()?;
                dev.load_information = Some(LoadInformation {
                    model,
                    load: load_of(file, &n.text)?,
                });
            }
        }
        Ok(dev)
    }

    /// Without CallManagers (a phone being moved to another protocol) the
    /// file is the one-line minimal form of domain-facts.md, exactly what
    /// the planner demands; otherwise one element per line.
    pub fn to_bytes(&self) -> Vec<u8> {
        let compact = self.call_managers.is_empty();
        let nl = if compact { "" } else { "\n" };
        let mut out = format!("<device>{nl}");
        if let Some(p) = self.device_protocol {
            let _ = write!(
                out,
                "<deviceProtocol>{}</deviceProtocol>{nl}",
                protocol_word(p)
            );
        }
        if !compact {
            out.push_str("<devicePool>\n");
            write_call_managers(&mut out, &self.call_managers);
            out.push_str("</devicePool>\n");
        }
        if let Some(li) = &self.load_information {
            match li.model {
                Some(m) => {
                    let _ = write!(
                        out,
                        "<loadInformation model=\"{}\">{}</loadInformation>{nl}",
                        m.product_name(),
                        li.load
                    );
                }
                None => {
                    let _ = write!(out, "<loadInformation>{}</loadInformation>{nl}", li.load);
                }
            }
        }
        let _ = write!(out, "</device>{nl}");
        out.into_bytes()
    }
}

impl XmlDefault {
    pub fn parse(file: &str, bytes: &[u8]) -> Result<XmlDefault, SccpXmlError> {
        XmlDefault::from_doc(&XmlDoc::parse(file, bytes)?)
    }

    /// The model of a lossless file: what a phone reads from it.
    pub fn from_doc(doc: &XmlDoc) -> Result<XmlDefault, SccpXmlError> {
        let file = doc.file();
        let nodes = nodes_of(doc);
        if nodes[0].path != ["Default"] {
            return Err(err(
                file,
                format!("the root element is <{}>, not <Default>", nodes[0].path[0]),
                "XMLDefault.cnf.xml starts with <Default>",
            ));
        }
        // Cisco's own files put callManagerGroup under devicePool, as in
        // a SEP file; simpler ones put it right under Default.
        let mut cms = call_managers(file, &nodes, &["Default"])?;
        if cms.is_empty() {
            cms = call_managers(file, &nodes, &["Default", "devicePool"])?;
        }
        let mut d = XmlDefault {
            call_managers: cms,
            ..XmlDefault::default()
        };
        for n in &nodes {
            if n.path.len() != 2 {
                continue;
            }
            let Some(code) = n.path[1].strip_prefix("loadInformation") else {
                continue;
            };
            let Ok(code) = code.parse::<u32>() else {
                continue;
            };
            // Another model's load under a 79x0 code (a 7962's SIP42.… in
            // loadInformation8) is that model's line, miscoded: left alone.
            let ours = Model::ALL
                .into_iter()
                .find(|m| u32::from(m.device_type_code()) == code)
                .filter(|_| other_model_family(n.text.trim()).is_none());
            match ours {
                Some(m) => {
                    if let Some(named) = attr(n, "model") {
                        if model_of(file, named).ok() != Some(m) {
                            return Err(err(
                                file,
                                format!("loadInformation{code} says model {named:?}, but {code} is the {m}'s device type code"),
                                format!("write <loadInformation{code} model=\"{}\">", m.product_name()),
                            ));
                        }
                    }
                    d.loads.insert(m, load_of(file, &n.text)?);
                }
                None => d.other_loads.push((
                    code,
                    attr(n, "model").map(str::to_string),
                    n.text.trim().to_string(),
                )),
            }
        }
        Ok(d)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::from("<Default>\n");
        if !self.call_managers.is_empty() {
            write_call_managers(&mut out, &self.call_managers);
        }
        // 7940 (code 8) before 7960 (code 7), the order of Cisco's own file.
        for (m, load) in &self.loads {
            let code = m.device_type_code();
            let _ = writeln!(
                out,
                "<loadInformation{code} model=\"{}\">{load}</loadInformation{code}>",
                m.product_name()
            );
        }
        for (code, model, text) in &self.other_loads {
            match model {
                Some(mo) => {
                    let _ = writeln!(
                        out,
                        "<loadInformation{code} model=\"{}\">{}</loadInformation{code}>",
                        escape(mo.as_str()),
                        escape(text.as_str())
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "<loadInformation{code}>{}</loadInformation{code}>",
                        escape(text.as_str())
                    );
                }
            }
        }
        out.push_str("</Default>\n");
        out.into_bytes()
    }
}

/// Lossless edits: the load a phone is sent to, changed in the file as it
/// is, every other byte kept.
impl SepDevice {
    /// Sets `device/loadInformation` of `doc` to `load`.
    pub fn set_load_in(doc: &mut XmlDoc, load: &LoadName) -> Result<(), SccpXmlError> {
        let Some(i) = doc.find(&["device", "loadInformation"]) else {
            return Err(err(
                doc.file(),
                "it has no <loadInformation> element",
                "add <loadInformation>LOAD</loadInformation> inside <device>",
            ));
        };
        doc.set_text(i, load.as_str())?;
        Ok(())
    }
}

impl XmlDefault {
    /// Sets the `loadInformationN` line of `model` (N its device type
    /// code, zero-padded or not) to `load`.
    pub fn set_load_in(
        doc: &mut XmlDoc,
        model: Model,
        load: &LoadName,
    ) -> Result<(), SccpXmlError> {
        let code = u32::from(model.device_type_code());
        let found = (0..doc.elements().len()).find(|&i| {
            let e = &doc.elements()[i];
            e.parent == Some(0)
                && e.name
                    .strip_prefix("loadInformation")
                    .and_then(|c| c.parse::<u32>().ok())
                    == Some(code)
        });
        let Some(i) = found else {
            return Err(err(
                doc.file(),
                format!("it has no <loadInformation{code}> element for the {model}"),
                format!(
                    "add <loadInformation{code} model=\"{}\">LOAD</loadInformation{code}> inside <Default>",
                    model.product_name()
                ),
            ));
        };
        doc.set_text(i, load.as_str())?;
        // The line of the model's code now holds the model's load: a
        // model attribute naming another model (a 7962 load miscoded
        // under 8) would contradict it.
        let named = doc.elements()[i]
            .attrs
            .iter()
            .find(|a| a.name == "model")
            .map(|a| a.value.clone());
        if let Some(named) = named {
            if named.parse::<Model>().ok() != Some(model) {
                doc.set_attr(i, "model", model.product_name())?;
            }
        }
        Ok(())
    }
}

/// Rendering over a real file: the original (`SEP<MAC>.cnf.xml` or
/// `XMLDefault.cnf.xml` as the site kept it) edited so that it reads as the
/// model, and nothing else changed. phoneflip owns the protocol, the
/// loads and the CallManager list; URLs, locales, date/time and NTP,
/// `vendorConfig`, `mgcpPorts` and whatever else the file holds are the
/// site's and stay byte for byte. The one exception is the vendor-default
/// SSH login (`sshUserId`/`sshPassword` both `cisco`), which phoneflip
/// never hands to a fleet: it is removed.
impl SepDevice {
    /// Edits `doc` (a `<device>` file) to carry this model's protocol,
    /// load and (when it has any) CallManagers.
    pub fn apply_to(&self, doc: &mut XmlDoc) -> Result<(), SccpXmlError> {
        if doc.root() != "device" {
            return Err(err(
                doc.file(),
                format!("the root element is <{}>, not <device>", doc.root()),
                "a SEP<MAC>.cnf.xml starts with <device>",
            ));
        }
        remove_default_ssh(doc)?;
        if let Some(p) = self.device_protocol {
            match doc.find(&["device", "deviceProtocol"]) {
                Some(i) if doc.elements()[i].text.trim() != protocol_word(p) => {
                    doc.set_text(i, protocol_word(p))?
                }
                Some(_) => {}
                // No deviceProtocol means SCCP to a phone.
                None if p != Protocol::Sccp => doc.append_child(
                    0,
                    &format!("<deviceProtocol>{}</deviceProtocol>", protocol_word(p)),
                )?,
                None => {}
            }
        }
        if !self.call_managers.is_empty() {
            apply_call_managers(doc, &[&["device", "devicePool"]], &self.call_managers)?;
        }
        if let Some(li) = &self.load_information {
            match doc.find(&["device", "loadInformation"]) {
                Some(i) => {
                    if doc.elements()[i].text.trim() != li.load.as_str() {
                        doc.set_text(i, li.load.as_str())?;
                    }
                }
                None => {
                    let model = li
                        .model
                        .map(|m| format!(" model=\"{}\"", m.product_name()))
                        .unwrap_or_default();
                    doc.append_child(
                        0,
                        &format!("<loadInformation{model}>{}</loadInformation>", li.load),
                    )?
                }
            }
        }
        Ok(())
    }
}

impl XmlDefault {
    /// Edits `doc` (a `<Default>` file) to carry this model's loads and
    /// (when it has any) CallManagers; `other_loads` are the file's own.
    pub fn apply_to(&self, doc: &mut XmlDoc) -> Result<(), SccpXmlError> {
        if doc.root() != "Default" {
            return Err(err(
                doc.file(),
                format!("the root element is <{}>, not <Default>", doc.root()),
                "XMLDefault.cnf.xml starts with <Default>",
            ));
        }
        remove_default_ssh(doc)?;
        if !self.call_managers.is_empty() {
            apply_call_managers(
                doc,
                &[&["Default"], &["Default", "devicePool"]],
                &self.call_managers,
            )?;
        }
        for (m, load) in &self.loads {
            let have = XmlDefault::from_doc(doc)?;
            if have.loads.get(m) == Some(load) {
                continue;
            }
            if XmlDefault::set_load_in(doc, *m, load).is_err() {
                let code = m.device_type_code();
                doc.append_child(
                    0,
                    &format!(
                        "<loadInformation{code} model=\"{}\">{load}</loadInformation{code}>",
                        m.product_name()
                    ),
                )?;
            }
        }
        Ok(())
    }
}

/// Removes `sshUserId`/`sshPassword` when they are the vendor default
/// `cisco`/`cisco`; an SSH login of the site's own stays.
fn remove_default_ssh(doc: &mut XmlDoc) -> Result<(), SccpXmlError> {
    let is = |doc: &XmlDoc, name: &str| {
        (0..doc.elements().len()).find(|&i| {
            let e = &doc.elements()[i];
            e.name == name && !e.has_children
        })
    };
    let (Some(u), Some(p)) = (is(doc, "sshUserId"), is(doc, "sshPassword")) else {
        return Ok(());
    };
    let cisco = |i: usize| doc.elements()[i].text.trim() == "cisco";
    if !(cisco(u) && cisco(p)) {
        return Ok(());
    }
    doc.remove(u.max(p))?;
    doc.remove(u.min(p))?;
    Ok(())
}

/// Sets the CallManager list of `doc` to `cms`, leaving the file alone
/// when it already names the same CallManagers on the same ports (in
/// priority order). `prefixes` are where a `callManagerGroup` may be; a
/// file with none gets one in the first.
fn apply_call_managers(
    doc: &mut XmlDoc,
    prefixes: &[&[&str]],
    cms: &[CallManager],
) -> Result<(), SccpXmlError> {
    let file = doc.file().to_string();
    let nodes = nodes_of(doc);
    let group_at = |p: &[&str]| {
        let mut path: Vec<&str> = p.to_vec();
        path.push("callManagerGroup");
        doc.find(&path)
    };
    let prefix = prefixes.iter().copied().find(|p| group_at(p).is_some());
    if let Some(p) = prefix {
        let mut have = call_managers(&file, &nodes, p)?;
        have.sort_by_key(|c| c.priority);
        have.retain(|c| !c.process_node_name.is_empty());
        let key = |v: &[CallManager]| {
            v.iter()
                .map(|c| (c.process_node_name.clone(), c.ethernet_phone_port))
                .collect::<Vec<_>>()
        };
        if key(&have) == key(cms) {
            return Ok(());
        }
    }
    let nl = doc.line_ending();
    let mut members = String::new();
    write_members(&mut members, cms);
    let members = members.replace('\n', nl);
    match prefix {
        Some(p) => {
            let group = group_at(p).expect("found above");
            let mut path: Vec<&str> = p.to_vec();
            path.extend(["callManagerGroup", "members"]);
            match doc.find(&path) {
                Some(m) => doc.replace_content(m, &format!("{nl}{members}"))?,
                None => doc
                    .replace_content(group, &format!("{nl}<members>{nl}{members}</members>{nl}"))?,
            }
        }
        None => {
            let mut group = String::new();
            write_call_managers(&mut group, cms);
            let group = group.trim_end().replace('\n', nl);
            let first = prefixes[0];
            match doc.find(first) {
                Some(parent) => doc.append_child(parent, &group)?,
                None => {
                    // A SEP file without devicePool: the pool and the group.
                    let parent = doc.find(&first[..1]).unwrap_or(0);
                    let pool = first.last().copied().unwrap_or("devicePool");
                    doc.append_child(parent, &format!("<{pool}>{nl}{group}{nl}</{pool}>"))?
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REAL_DEFAULT: &str = r#"<Default> 
<callManagerGroup> 
    <members>  
       <member priority="0">  
          <callManager>  
             <ports>  
                <ethernetPhonePort>2000</ethernetPhonePort>  
                <mgcpPorts><listen>2427</listen><keepAlive>2428</keepAlive></mgcpPorts>  
             </ports>  
             <processNodeName>10.0.0.5</processNodeName>  
          </callManager>  
       </member>  
    </members>  
 </callManagerGroup>  
<loadInformation8 model="IP Phone 7940">P0S3-8-12-00</loadInformation8>  
<loadInformation7 model="IP Phone 7960">P0S3-8-12-00</loadInformation7> 
<loadInformation30008 model="Cisco 7962">SIP42.9-4-2SR3-1S</loadInformation30008>
<directoryURL></directoryURL>  
</Default>
"#;

    #[test]
    fn reads_a_real_xmldefault() {
        let d = XmlDefault::parse("XMLDefault.cnf.xml", REAL_DEFAULT.as_bytes()).unwrap();
        assert_eq!(d.call_managers.len(), 1);
        assert_eq!(d.call_managers[0].process_node_name, "10.0.0.5");
        assert_eq!(d.loads[&Model::Cp7940].as_str(), "P0S3-8-12-00");
        assert_eq!(d.loads[&Model::Cp7960].as_str(), "P0S3-8-12-00");
        assert_eq!(d.other_loads.len(), 1);
        let written = String::from_utf8(d.to_bytes()).unwrap();
        assert!(
            written.contains(
                r#"<loadInformation8 model="IP Phone 7940">P0S3-8-12-00</loadInformation8>"#
            ),
            "{written}"
        );
        assert!(
            written.find("loadInformation8").unwrap() < written.find("loadInformation7").unwrap()
        );
        assert_eq!(XmlDefault::parse("x", written.as_bytes()).unwrap(), d);
    }

    #[test]
    fn reads_a_sep_file_and_drops_ssh_credentials() {
        let text = r#"<device>
  <deviceProtocol>SIP</deviceProtocol>
  <sshUserId>cisco</sshUserId><sshPassword>cisco</sshPassword>
  <devicePool><callManagerGroup><members>
    <member priority="1"><callManager><ports><ethernetPhonePort>2001</ethernetPhonePort></ports>
      <processNodeName>cm2</processNodeName></callManager></member>
  </members></callManagerGroup></devicePool>
  <loadInformation model="IP Phone 7960">P0S3-8-12-00</loadInformation>
</device>"#;
        let d = SepDevice::parse("SEP002094D245CB.cnf.xml", text.as_bytes()).unwrap();
        assert_eq!(d.device_protocol, Some(Protocol::Sip));
        assert_eq!(
            d.call_managers,
            vec![CallManager {
                priority: 1,
                process_node_name: "cm2".into(),
                ethernet_phone_port: 2001
            }]
        );
        assert_eq!(
            d.load_information.as_ref().unwrap().model,
            Some(Model::Cp7960)
        );
        let out = String::from_utf8(d.to_bytes()).unwrap();
        assert!(!out.contains("ssh"), "{out}");
        assert_eq!(SepDevice::parse("x", out.as_bytes()).unwrap(), d);
    }

    #[test]
    fn apply_to_edits_only_what_phoneflip_owns() {
        let mut doc = XmlDoc::parse("XMLDefault.cnf.xml", REAL_DEFAULT.as_bytes()).unwrap();
        let mut want = XmlDefault::from_doc(&doc).unwrap();
        // The same values: not a byte changes.
        want.apply_to(&mut doc).unwrap();
        assert_eq!(doc.as_str(), REAL_DEFAULT);
        // A new load for the 7960 changes that value only.
        want.loads
            .insert(Model::Cp7960, "P0030801SR02".parse().unwrap());
        want.apply_to(&mut doc).unwrap();
        assert_eq!(
            doc.as_str(),
            REAL_DEFAULT.replace(
                ">P0S3-8-12-00</loadInformation7>",
                ">P0030801SR02</loadInformation7>"
            )
        );
        // New CallManagers replace the members, nothing else.
        want.call_managers = vec![
            CallManager {
                priority: 0,
                process_node_name: "cm-a".into(),
                ethernet_phone_port: 2000,
            },
            CallManager {
                priority: 1,
                process_node_name: "cm-b".into(),
                ethernet_phone_port: 2000,
            },
        ];
        want.apply_to(&mut doc).unwrap();
        let again = XmlDefault::from_doc(&doc).unwrap();
        assert_eq!(again, want, "{}", doc.as_str());
        assert!(doc.as_str().contains("<directoryURL></directoryURL>"));
        assert!(doc.as_str().ends_with("</Default>\n"));
        // A file without the 7940's line gets one; SSH defaults go.
        let src = "<Default>\r\n  <sshUserId>cisco</sshUserId>\r\n  <sshPassword>cisco</sshPassword>\r\n  <idleURL>http://x/</idleURL>\r\n</Default>\r\n";
        let mut doc = XmlDoc::parse("XMLDefault.cnf.xml", src.as_bytes()).unwrap();
        let mut d = XmlDefault::default();
        d.loads
            .insert(Model::Cp7940, "P0030801SR02".parse().unwrap());
        d.apply_to(&mut doc).unwrap();
        assert_eq!(
            doc.as_str(),
            "<Default>\r\n  <idleURL>http://x/</idleURL>\r\n  <loadInformation8 model=\"IP Phone 7940\">P0030801SR02</loadInformation8>\r\n</Default>\r\n"
        );
    }

    #[test]
    fn apply_to_a_sep_file_adds_what_it_lacks() {
        let src = "<device>\n <idleURL>http://x/</idleURL>\n</device>\n";
        let mut doc = XmlDoc::parse("SEP.cnf.xml", src.as_bytes()).unwrap();
        let d = SepDevice {
            device_protocol: Some(Protocol::Sip),
            call_managers: vec![CallManager {
                priority: 0,
                process_node_name: "cm".into(),
                ethernet_phone_port: 2000,
            }],
            load_information: Some(LoadInformation {
                model: Some(Model::Cp7960),
                load: "P0S3-8-12-00".parse().unwrap(),
            }),
        };
        d.apply_to(&mut doc).unwrap();
        assert_eq!(SepDevice::from_doc(&doc).unwrap(), d, "{}", doc.as_str());
        assert!(
            doc.as_str()
                .starts_with("<device>\n <idleURL>http://x/</idleURL>\n <deviceProtocol>SIP"),
            "{}",
            doc.as_str()
        );
    }

    #[test]
    fn the_minimal_sep_file_of_domain_facts() {
        let d = SepDevice {
            device_protocol: Some(Protocol::Sip),
            call_managers: vec![],
            load_information: Some(LoadInformation {
                model: Some(Model::Cp7960),
                load: "P0S3-8-12-00".parse().unwrap(),
            }),
        };
        assert_eq!(
            String::from_utf8(d.to_bytes()).unwrap(),
            "<device><deviceProtocol>SIP</deviceProtocol><loadInformation model=\"IP Phone 7960\">P0S3-8-12-00</loadInformation></device>"
        );
    }

    #[test]
    fn errors_say_what_and_how() {
        let e = SepDevice::parse("SEPX.cnf.xml", b"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Protocol Application Invalid"), "{e}");
        let e = SepDevice::parse(
            "SEPX.cnf.xml",
            b"<device><loadInformation>P0S3-8-12-00.sb2</loadInformation></device>",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("SEPX.cnf.xml") && e.contains("without"), "{e}");
        let e = SepDevice::parse("SEPX.cnf.xml", b"<device><a></b></device>")
            .unwrap_err()
            .to_string();
        assert!(e.contains("malformed"), "{e}");
        let e = XmlDefault::parse("XMLDefault.cnf.xml", b"<Default><loadInformation7 model=\"IP Phone 7940\">P0030801SR02</loadInformation7></Default>")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("loadInformation7 model=\\\"IP Phone 7960\\\"")
                || e.contains("IP Phone 7960"),
            "{e}"
        );
    }

    fn load() -> impl Strategy<Value = LoadName> {
        prop_oneof![
            (0u8..100, 0u8..100).prop_map(|(a, b)| format!("P0S3-{a}-{b}-00")),
            (0u8..100, 0u8..100, 0u8..100)
                .prop_map(|(a, b, c)| format!("P003{a:02}{b:02}SR{c:02}")),
        ]
        .prop_map(|s| s.parse().unwrap())
    }

    fn cms() -> impl Strategy<Value = Vec<CallManager>> {
        proptest::collection::vec(
            (0u8..3, "[a-z0-9.&<>\"-]{1,16}", 1u16..).prop_map(|(priority, name, port)| {
                CallManager {
                    priority,
                    process_node_name: name,
                    ethernet_phone_port: port,
                }
            }),
            0..3,
        )
    }

    fn model() -> impl Strategy<Value = Model> {
        prop_oneof![Just(Model::Cp7940), Just(Model::Cp7960)]
    }

    proptest! {
        #[test]
        fn sep_round_trips(proto in proptest::option::of(prop_oneof![Just(Protocol::Sip), Just(Protocol::Sccp)]),
                           cms in cms(), li in proptest::option::of((proptest::option::of(model()), load()))) {
            let d = SepDevice {
                device_protocol: proto,
                call_managers: cms,
                load_information: li.map(|(model, load)| LoadInformation { model, load }),
            };
            prop_assert_eq!(SepDevice::parse("f", &d.to_bytes()).unwrap(), d);
        }

        #[test]
        fn xmldefault_round_trips(cms in cms(), loads in proptest::collection::btree_map(model(), load(), 0..3),
                                  other in proptest::collection::vec((9u32..40000, proptest::option::of("[A-Za-z0-9 ]{1,12}"), "[A-Za-z0-9.-]{1,12}"), 0..3)) {
            let other = other.into_iter().map(|(c, m, t)| (c, m.map(|m: String| m.trim().to_string()).filter(|m| !m.is_empty()), t)).collect();
            let d = XmlDefault { call_managers: cms, loads, other_loads: other };
            prop_assert_eq!(XmlDefault::parse("f", &d.to_bytes()).unwrap(), d);
        }

        #[test]
        fn apply_to_any_file_reads_back(cms in cms(), loads in proptest::collection::btree_map(model(), load(), 0..3)) {
            let mut doc = XmlDoc::parse("XMLDefault.cnf.xml", REAL_DEFAULT.as_bytes()).unwrap();
            let before = XmlDefault::from_doc(&doc).unwrap();
            let want = XmlDefault { call_managers: cms.clone(), loads: loads.clone(), other_loads: vec![] };
            want.apply_to(&mut doc).unwrap();
            let got = XmlDefault::from_doc(&doc).unwrap();
            let mut expect = before.loads.clone();
            expect.extend(loads);
            prop_assert_eq!(got.loads, expect);
            prop_assert_eq!(got.other_loads, before.other_loads);
            if !cms.is_empty() {
                let key = |v: &[CallManager]| v.iter().map(|c| (c.process_node_name.clone(), c.ethernet_phone_port)).collect::<Vec<_>>();
                prop_assert_eq!(key(&got.call_managers), key(&cms));
            }
            prop_assert!(doc.as_str().contains("<directoryURL></directoryURL>"));
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SepDevice::parse("f", &b);
            let _ = XmlDefault::parse("f", &b);
        }
    }
}

//! "Enable SIP Functionality": the files the phones ask for by exact
//! name. Case of the well-known and per-phone file names (the MAC in
//! capitals, lower-case extensions), files the TFTP server cannot read, and
//! the reading of each per-phone file.

use phoneflip_config::filename::{
    sep_mac_name, sip_mac_name, GKDEFAULT_CFG, RINGLIST_DAT, SIP_DEFAULT, SYNCINFO_XML, XML_DEFAULT,
};
use phoneflip_config::sccp::{phone_xml_load, PhoneXmlLoad};
use phoneflip_config::{ImageRef, SepDevice};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::ImageFile;

use crate::finding::{section, Check, Finding, Fix, Severity, Symptom};
use crate::root::Content;

use super::{rename_or, Ctx, Named, PhoneSip, Phones};

/// Root-wide files whose exact spelling the phones ask for.
const WELL_KNOWN: &[&str] = &[
    SIP_DEFAULT,
    XML_DEFAULT,
    GKDEFAULT_CFG,
    RINGLIST_DAT,
    // No constant in phoneflip_config::filename: dial plans are named by
    // dial_template, and this is its usual value.
    "dialplan.xml",
    SYNCINFO_XML,
];

/// A per-phone control file, by the name it has on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneFileKind {
    /// `SIP<MAC>.cnf`
    Sip,
    /// `SEP<MAC>.cnf.xml`
    Sep,
}

/// Recognises a per-phone file in any case, with the name the phone asks
/// for (MAC in capitals, prefix upper case, extension lower case).
pub fn phone_file(name: &str) -> Option<(PhoneFileKind, Mac, String)> {
    let l = name.to_ascii_lowercase();
    let (kind, ext) = if l.starts_with("sip") && l.ends_with(".cnf") {
        (PhoneFileKind::Sip, ".cnf")
    } else if l.starts_with("sep") && l.ends_with(".cnf.xml") {
        (PhoneFileKind::Sep, ".cnf.xml")
    } else {
        return None;
    };
    let mid = &l[3..l.len() - ext.len()];
    if mid.len() != 12 || !mid.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mac: Mac = mid.parse().ok()?;
    let wanted = match kind {
        PhoneFileKind::Sip => sip_mac_name(mac),
        PhoneFileKind::Sep => sep_mac_name(mac),
    };
    Some((kind, mac, wanted))
}

impl Ctx<'_> {
    pub(super) fn unreadable(&mut self) {
        for f in self.root.files() {
            if let Content::Unreadable(why) = &f.content {
                let image = f.name.parse::<ImageFile>().is_ok();
                let mut finding = Finding::new(Check::Unreadable, Severity::Error, section::ENABLE_SIP)
                    .file(&f.name)
                    .problem(format!("the TFTP server cannot read {}: {why}", f.name))
                    .fix(format!(
                        "allow read access for the TFTP server, e.g. chmod a+r {:?} (the reference: allow read and write permissions on the TFTP server for these files)",
                        f.name
                    ));
                if image {
                    finding = finding.symptom(Symptom::ProtocolApplicationInvalid);
                }
                if let Some((_, mac, _)) = phone_file(&f.name) {
                    finding = finding.phone(mac);
                }
                self.push(finding);
            }
        }
    }

    pub(super) fn well_known_case(&mut self) {
        for &name in WELL_KNOWN {
            if self.root.has(name) {
                continue;
            }
            if let (Some(found), fix) = self.rename_fix(name) {
                let how = rename_or(
                    found,
                    name,
                    &fix,
                    format!("keep one file named exactly {name} and delete the other spellings"),
                );
                self.push(
                    Finding::new(Check::ConfigFileCase, Severity::Error, section::BOOTUP_SIP)
                        .file(found)
                        .problem(format!(
                            "{found} is spelled differently from {name}, the name the phones ask for; file names on the TFTP server are case sensitive"
                        ))
                        .fix(how)
                        .auto(fix),
                );
            }
        }
    }

    pub(super) fn phone_files(&mut self, default_image: Option<&Named>) -> Phones {
        let mut phones = Phones::default();
        let root = self.root;
        for f in root.files() {
            let Some((kind, mac, wanted)) = phone_file(&f.name) else {
                continue;
            };
            if f.name != wanted {
                let taken = root.has(&wanted);
                let fix = (!taken).then(|| Fix::Rename {
                    from: f.name.clone(),
                    to: wanted.clone(),
                });
                let (what, sec) = match kind {
                    PhoneFileKind::Sip => ("the MAC address must be in capital letters and the extension .cnf in lower case", section::ENABLE_SIP),
                    PhoneFileKind::Sep => ("the phones ask for SEP, the MAC in capitals and .cnf.xml in lower case", section::UNIVERSAL),
                };
                self.push(
                    Finding::new(Check::ConfigFileCase, Severity::Error, sec)
                        .phone(mac)
                        .file(&f.name)
                        .symptom(match kind {
                            PhoneFileKind::Sip => Symptom::ConfigNotFound,
                            PhoneFileKind::Sep => Symptom::KeepsCurrentLoad,
                        })
                        .problem(format!(
                            "{} is not the name the phone asks for ({wanted}): {what}",
                            f.name
                        ))
                        .fix(if taken {
                            format!(
                                "{wanted} exists too: merge what you need into it and delete {}",
                                f.name
                            )
                        } else {
                            format!("rename {} to {wanted}", f.name)
                        })
                        .auto(fix),
                );
                if taken {
                    continue;
                }
            }
            let Some(bytes) = f.bytes() else { continue };
            match kind {
                PhoneFileKind::Sip => {
                    let cnf = self.parse_sip(&f.name, bytes, Some(mac));
                    let image = self.image_version(&f.name, &cnf, Some(mac));
                    if let (Some(mine), Some(def)) = (&image, default_image) {
                        if mine.image.as_str() != def.image.as_str() {
                            let mut finding = Finding::new(Check::ImageVersionMismatch, Severity::Error, section::PROTOCOL_APPLICATION_INVALID)
                                .phone(mac)
                                .file(&f.name)
                                .symptom(Symptom::ProtocolApplicationInvalid)
                                .problem(format!(
                                    "image_version is {} here and {} in SIPDefault.cnf; the phone reads both and they must name the same image",
                                    mine.image, def.image
                                ))
                                .fix(format!("write the same image_version in SIPDefault.cnf and {}", f.name));
                            if let Some(l) = mine.line {
                                finding = finding.line(l);
                            }
                            self.push(finding);
                        }
                    }
                    phones.sip.push(PhoneSip {
                        mac,
                        file: f.name.clone(),
                        cnf,
                        image,
                    });
                }
                PhoneFileKind::Sep => {
                    phones.sep_macs.insert(mac);
                    match SepDevice::parse(&f.name, bytes) {
                        Ok(dev) => {
                            if let Some(li) = dev.load_information {
                                phones.sep.push(Named {
                                    image: ImageRef::Load(li.load),
                                    file: f.name.clone(),
                                    line: None,
                                    phone: Some(mac),
                                });
                            }
                        }
                        Err(e) => match phone_xml_load(bytes, Model::Cp7960.device_type_code()) {
                            // Not well-formed, but the phone finds its load
                            // in it all the same (dbaldree's stray </line>):
                            // it boots; the file is fragile, not fatal.
                            PhoneXmlLoad::Named(load) => {
                                self.push(
                                    Finding::new(Check::ConfigUnreadable, Severity::Warning, section::PROTOCOL_APPLICATION_INVALID)
                                        .phone(mac)
                                        .file(&f.name)
                                        .problem(format!("{} is not well-formed XML: {}; a 7940/7960 still reads its loadInformation {load} from it and boots, but any other reader (and any later edit) may not", f.name, e.problem))
                                        .fix(e.fix.clone()),
                                );
                                if let Ok(image) = load.parse::<ImageRef>() {
                                    phones.sep.push(Named {
                                        image,
                                        file: f.name.clone(),
                                        line: None,
                                        phone: Some(mac),
                                    });
                                }
                            }
                            PhoneXmlLoad::None | PhoneXmlLoad::Malformed => self.push(
                                Finding::new(Check::ConfigUnreadable, Severity::Error, section::PROTOCOL_APPLICATION_INVALID)
                                    .phone(mac)
                                    .file(&f.name)
                                    .symptom(Symptom::ProtocolApplicationInvalid)
                                    .problem(format!("{} cannot be read: {}; an empty or malformed SEP<MAC>.cnf.xml makes the phone loop", f.name, e.problem))
                                    .fix(e.fix.clone()),
                            ),
                        },
                    }
                }
            }
        }
        phones
    }
}

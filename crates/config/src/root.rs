//! A whole static TFTP root from many phones (`render --all`), for sites
//! that keep their own TFTP server.
//!
//! Per-phone files never collide. The shared ones do: OS79XX.TXT,
//! SIPDefault.cnf, syncinfo.xml and gkdefault.txt are one file for every
//! phone, so phones that need different contents cannot share a static
//! root (phoneflip's own TFTP server renders per phone and has no such
//! limit). XMLDefault.cnf.xml is keyed by model and is merged.

use std::collections::BTreeMap;

use phoneflip_device::{Mac, Model};
use phoneflip_firmware::LoadName;

use crate::filename::{FileKind, FileName, XML_DEFAULT};
use crate::model::{PhoneSettings, Template};
use crate::render::{render, RenderError, RenderLoad, RenderedFile};
use crate::sccp::XmlDefault;

/// Why a static root could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RootError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("phones {first} and {second} need different contents in the shared file {file}; a static TFTP root has one {file} for every phone: give them the same template and target load, convert them in separate batches, or let `phoneflip serve` render per phone")]
    Conflict {
        file: String,
        first: Mac,
        second: Mac,
    },
    #[error("phones {first} and {second} are both {model}s but must load {first_load} and {second_load}; XMLDefault.cnf.xml names one load per model: convert them in separate batches")]
    ModelConflict {
        model: Model,
        first: Mac,
        first_load: LoadName,
        second: Mac,
        second_load: LoadName,
    },
    #[error("the MAC {0} appears twice; each phone must be listed once")]
    DuplicatePhone(Mac),
}

/// Renders every phone and merges the result into one root, sorted by
/// file name.
pub fn render_root<'a>(
    phones: impl IntoIterator<Item = (&'a PhoneSettings, &'a Template, &'a RenderLoad)>,
) -> Result<Vec<RenderedFile>, RootError> {
    let mut out: BTreeMap<String, (RenderedFile, Mac)> = BTreeMap::new();
    let mut xml: Option<(XmlDefault, Mac)> = None;
    let mut xml_owner: BTreeMap<Model, Mac> = BTreeMap::new();
    let mut seen = Vec::new();
    for (phone, template, load) in phones {
        if seen.contains(&phone.mac) {
            return Err(RootError::DuplicatePhone(phone.mac));
        }
        seen.push(phone.mac);
        for f in render(phone, template, load)? {
            if f.name == XML_DEFAULT {
                // Our own writer's output: it always parses (round-trip
                // property tested in sccp.rs).
                let d = XmlDefault::parse(XML_DEFAULT, &f.bytes)
                    .expect("rendered XMLDefault.cnf.xml parses");
                match &mut xml {
                    None => {
                        for m in d.loads.keys() {
                            xml_owner.insert(*m, phone.mac);
                        }
                        xml = Some((d, phone.mac));
                    }
                    Some((acc, first)) => {
                        if acc.call_managers != d.call_managers {
                            return Err(RootError::Conflict {
                                file: XML_DEFAULT.into(),
                                first: *first,
                                second: phone.mac,
                            });
                        }
                        for (m, l) in d.loads {
                            match acc.loads.get(&m) {
                                Some(have) if *have != l => {
                                    return Err(RootError::ModelConflict {
                                        model: m,
                                        first: xml_owner[&m],
                                        first_load: have.clone(),
                                        second: phone.mac,
                                        second_load: l,
                                    })
                                }
                                Some(_) => {}
                                None => {
                                    xml_owner.insert(m, phone.mac);
                                    acc.loads.insert(m, l);
                                }
                            }
                        }
                    }
                }
                continue;
            }
            let per_phone = FileName::classify(&f.name).kind.mac().is_some();
            match out.get(&f.name) {
                Some((have, first)) if !per_phone && have.bytes != f.bytes => {
                    return Err(RootError::Conflict {
                        file: f.name.clone(),
                        first: *first,
                        second: phone.mac,
                    })
                }
                Some(_) => {}
                None => {
                    out.insert(f.name.clone(), (f, phone.mac));
                }
            }
        }
    }
    if let Some((d, _)) = xml {
        out.insert(
            XML_DEFAULT.into(),
            (
                RenderedFile {
                    name: XML_DEFAULT.into(),
                    bytes: d.to_bytes(),
                    note: None,
                },
                Mac::new([0; 6]),
            ),
        );
    }
    debug_assert!(out
        .keys()
        .all(|k| !matches!(FileName::classify(k).kind, FileKind::Other)));
    Ok(out.into_values().map(|(f, _)| f).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoneflip_firmware::Protocol;

    fn phone(mac: &str, model: Model) -> PhoneSettings {
        PhoneSettings {
            mac: mac.parse().unwrap(),
            model,
            description: String::new(),
            label: None,
            lines: vec![crate::Line {
                number: 1,
                name: mac[8..].into(),
                authname: None,
                password: None,
                displayname: None,
                shortname: None,
            }],
            overrides: BTreeMap::new(),
        }
    }

    fn template(name: &str, proxy: &str) -> Template {
        Template {
            name: name.into(),
            protocol: Protocol::Sip,
            settings: [("proxy1_address".to_string(), proxy.to_string())].into(),
        }
    }

    fn to(load: &str, from: &str) -> RenderLoad {
        RenderLoad::new(Some(from.parse().unwrap()), load.parse().unwrap())
    }

    #[test]
    fn merges_a_fleet_and_refuses_conflicts() {
        let a = phone("00000000AAAA", Model::Cp7940);
        let b = phone("00000000BBBB", Model::Cp7960);
        let t = template("office", "10.0.0.1");
        let l = to("P0S3-8-12-00", "P0030801SR02");
        let root = render_root([(&a, &t, &l), (&b, &t, &l)]).unwrap();
        let names: Vec<&str> = root.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "OS79XX.TXT",
                "SEP00000000AAAA.cnf.xml",
                "SEP00000000BBBB.cnf.xml",
                "SIP00000000AAAA.cnf",
                "SIP00000000BBBB.cnf",
                "SIPDefault.cnf",
                "XMLDefault.cnf.xml"
            ]
        );
        let xd = root.iter().find(|f| f.name == XML_DEFAULT).unwrap();
        let xd = XmlDefault::parse("x", &xd.bytes).unwrap();
        assert_eq!(xd.loads.len(), 2);

        let other = template("lab", "10.9.9.9");
        let e = render_root([(&a, &t, &l), (&b, &other, &l)]).unwrap_err();
        assert!(
            matches!(&e, RootError::Conflict { file, .. } if file == "SIPDefault.cnf"),
            "{e}"
        );
        let c = phone("00000000CCCC", Model::Cp7940);
        let l2 = to("P0S3-8-11-00", "P0030801SR02");
        let e = render_root([(&a, &t, &l), (&c, &t, &l2)]).unwrap_err();
        assert!(
            matches!(
                e,
                RootError::Conflict { .. } | RootError::ModelConflict { .. }
            ),
            "{e}"
        );
        let e = render_root([(&a, &t, &l), (&a, &t, &l)]).unwrap_err();
        assert_eq!(e, RootError::DuplicatePhone(a.mac));
    }
}

//! "Protocol Application Invalid" Error: every load a file names must be
//! in the root under the exact name the phone asks for, in the right form,
//! and a release must be unzipped whole rather than copied by hand.

use std::collections::{BTreeMap, BTreeSet};

use phoneflip_config::filename::{OS79XX_TXT, XML_DEFAULT};
use phoneflip_config::{ImageRef, XmlDefault};
use phoneflip_device::{Mac, Model};
use phoneflip_firmware::{ImageFile, ImageKind, LoadForm, LoadName, Protocol};
use phoneflip_plan::release_files;
use phoneflip_plan::rules::{generation, Generation, SIGNED_FLOOR};

use crate::finding::{section, Check, Finding, Severity, Symptom};

use super::os79xx::universal_application_loader;
use super::{load_list, rename_or, Ctx, Named};

impl Ctx<'_> {
    pub(super) fn load_form(&mut self, n: &Named) {
        let ImageRef::Load(l) = &n.image else { return };
        if l.protocol() != Protocol::Sip {
            return;
        }
        let v = l.version();
        // The form is firmware's load-name syntax: POS3xxyy up to SIP 2.3,
        // POS3-xx-y-zz from 3.0.
        let right = LoadName::canonical(Protocol::Sip, v);
        if l.form() == right.form() {
            return;
        }
        let os79 = n.file.eq_ignore_ascii_case(OS79XX_TXT);
        let (check, sec, symptom, param) = if os79 {
            (
                Check::Os79xxWrongForm,
                section::UNPROVISIONED,
                Symptom::Unprovisioned,
                "OS79XX.TXT",
            )
        } else {
            (
                Check::LoadWrongForm,
                section::PROTOCOL_APPLICATION_INVALID,
                Symptom::ProtocolApplicationInvalid,
                "image_version",
            )
        };
        let exists = self.root.has(&format!("{right}.bin"));
        let mut f = Finding::new(check, self.severity_for(&n.file), sec)
            .file(&n.file)
            .line(n.line.unwrap_or(1))
            .symptom(symptom)
            .problem(format!(
                "{} names {l}, SIP {v}, in the wrong form: SIP 2.3 and earlier are written POS3xxyy, SIP 3.0 and later POS3-xx-y-zz",
                n.file
            ))
            .fix(format!(
                "write {right} in {param}{}",
                if exists || !os79 { String::new() } else { format!(" and put {right}.bin in the root") }
            ));
        if let Some(m) = n.phone {
            f = f.phone(m);
        }
        self.push(f);
    }

    /// The file a name makes a phone fetch, and whether it exists (in the
    /// right case, in another case, or not at all).
    pub(super) fn load_file_check(
        &mut self,
        wanted: &[String],
        named_in: &str,
        line: Option<usize>,
        phone: Option<Mac>,
        how_many: usize,
        alternative: String,
    ) {
        if wanted.iter().any(|w| self.root.has(w)) {
            return;
        }
        let first = &wanted[0];
        for w in wanted {
            if let (Some(found), fix) = self.rename_fix(w) {
                let how = rename_or(found, w, &fix, format!("keep one file named exactly {w}"));
                let mut f = Finding::new(Check::LoadFileCase, self.severity_for(named_in), section::PROTOCOL_APPLICATION_INVALID)
                    .file(named_in)
                    .symptom(Symptom::ProtocolApplicationInvalid)
                    .problem(format!(
                        "{named_in} makes the phone fetch {w}, but the root has it only as {found}; the phones compare file names case-sensitively"
                    ))
                    .fix(how)
                    .auto(fix);
                if let Some(l) = line {
                    f = f.line(l);
                }
                if let Some(m) = phone {
                    f = f.phone(m);
                }
                self.push(f);
                return;
            }
        }
        let also = if how_many > 1 {
            format!(" (and {} other files name it)", how_many - 1)
        } else {
            String::new()
        };
        let mut f = Finding::new(Check::LoadMissing, self.severity_for(named_in), section::PROTOCOL_APPLICATION_INVALID)
            .file(named_in)
            .symptom(Symptom::ProtocolApplicationInvalid)
            .problem(format!(
                "{named_in}{also} makes the phone fetch {}, which is not in the TFTP root",
                wanted.join(" or ")
            ))
            .fix(if alternative.is_empty() {
                format!("unzip the release that contains {first} into the root (the binary referenced must be present in the TFTP root directory)")
            } else {
                alternative
            });
        if let Some(l) = line {
            f = f.line(l);
        }
        if let Some(m) = phone {
            f = f.phone(m);
        }
        self.push(f);
    }

    pub(super) fn os79xx_load_present(&mut self, n: &Named) {
        let name = n.image.as_str().to_string();
        let mut wanted = vec![format!("{name}.bin")];
        if n.image.load().is_some_and(|l| l.is_universal_loader()) {
            let signed = self.phones_run_any(|r| r.version >= SIGNED_FLOOR);
            let unsigned = self.phones_run_any(|r| r.version < SIGNED_FLOOR);
            if signed && !unsigned {
                wanted = vec![format!("{name}.sbn")];
            } else if !unsigned {
                wanted.push(format!("{name}.sbn"));
            }
        }
        let mut alt = String::new();
        let Some(load) = n.image.load() else {
            self.load_file_check(&wanted, &n.file.clone(), Some(1), None, 1, alt);
            return;
        };
        // The reference's letter O and the real files' digit zero.
        if load.protocol() == Protocol::Sip && load.form() == LoadForm::Dashed {
            let s = load.as_str();
            let other = if load.letter_o() {
                s.replacen("PO", "P0", 1)
            } else {
                s.replacen("P0", "PO", 1)
            };
            if self.root.has(&format!("{other}.bin")) {
                alt = format!("the root holds {other}.bin: write {other} in OS79XX.TXT (the phones compare names byte for byte, letter O and digit zero differ)");
            } else if let Some(loader) = universal_application_loader(load) {
                // No release has NAME.bin for a universal application: the
                // SIP zip's OS79XX.TXT names the loader.
                let present = self.root.has(&format!("{loader}.bin"))
                    || self.root.has(&format!("{loader}.sbn"));
                alt = format!(
                    "{load} is a universal application, which no release has as a .bin: OS79XX.TXT must name its universal application loader, as the SIP zip's own OS79XX.TXT does: write {loader}{}",
                    if present { "" } else { ", and unzip the release (its zip holds the loader)" }
                );
            }
        }
        self.load_file_check(&wanted, &n.file.clone(), Some(1), None, 1, alt);
    }

    /// Every load named in a configuration file must be in the root, under
    /// the name the phone will ask for. One finding per missing file.
    pub(super) fn config_loads_present(&mut self, named: &[Named]) {
        let mut by_file: BTreeMap<String, Vec<&Named>> = BTreeMap::new();
        for n in named {
            let Some(load) = n.image.load() else {
                by_file
                    .entry(format!("{}.bin", n.image.as_str()))
                    .or_default()
                    .push(n);
                continue;
            };
            let want = match generation(load.protocol(), load.version()) {
                Generation::UniversalLoader if !load.is_universal_loader() => {
                    format!("{load}.loads")
                }
                _ => format!("{}.bin", n.image.as_str()),
            };
            by_file.entry(want).or_default().push(n);
        }
        for (want, ns) in by_file {
            let first = ns[0];
            let mut wanted = vec![want.clone()];
            if let Some(stem) = want.strip_suffix(".bin") {
                if ns[0].image.load().is_some_and(|l| l.is_universal_loader()) {
                    wanted.push(format!("{stem}.sbn"));
                }
            }
            let phone = if ns.len() == 1 { first.phone } else { None };
            self.load_file_check(
                &wanted,
                &first.file.clone(),
                first.line,
                phone,
                ns.len(),
                String::new(),
            );
        }
    }

    pub(super) fn xml_default(&mut self) -> Vec<Named> {
        let Some(bytes) = self.root.get(XML_DEFAULT).and_then(|f| f.bytes()) else {
            return Vec::new();
        };
        match XmlDefault::parse(XML_DEFAULT, bytes) {
            Ok(x) => {
                self.other_model_loads(&x);
                let mut seen = BTreeSet::new();
                x.loads
                    .values()
                    .filter(|l| seen.insert(l.as_str().to_string()))
                    .map(|l| Named {
                        image: ImageRef::Load(l.clone()),
                        file: XML_DEFAULT.into(),
                        line: None,
                        phone: None,
                    })
                    .collect()
            }
            Err(e) => {
                self.push(
                    Finding::new(
                        Check::ConfigUnreadable,
                        Severity::Error,
                        section::PROTOCOL_APPLICATION_INVALID,
                    )
                    .file(XML_DEFAULT)
                    .symptom(Symptom::ProtocolApplicationInvalid)
                    .problem(format!("{XML_DEFAULT} cannot be read: {}", e.problem))
                    .fix(e.fix.clone()),
                );
                Vec::new()
            }
        }
    }

    /// `loadInformationN` entries that are not 7940/7960 loads. Under
    /// another model's code they are that model's business and left
    /// alone (a mixed root). Under a 7940/7960 code (the number decides
    /// which phone reads the entry, not the `model` attribute) the phone
    /// asks for another model's files, which are no image for it, and
    /// keeps the load it has: a warning, since a root made for other
    /// models (lrcamargo's 7962 root) stops no 7940/7960 that never boots
    /// from it.
    fn other_model_loads(&mut self, x: &XmlDefault) {
        for (code, model_attr, text) in &x.other_loads {
            let Some(model) = [Model::Cp7940, Model::Cp7960]
                .into_iter()
                .find(|m| u32::from(m.device_type_code()) == *code)
            else {
                continue;
            };
            let other = model_attr
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            self.push(
                Finding::new(
                    Check::LoadForOtherModel,
                    Severity::Warning,
                    section::PROTOCOL_APPLICATION_INVALID,
                )
                .file(XML_DEFAULT)
                .symptom(Symptom::KeepsCurrentLoad)
                .problem(format!(
                    "{XML_DEFAULT}: loadInformation{code} is the {model}'s entry, but it names {text}, a load for another model{other}: a {model} booting from this root asks for that load and keeps the image it has"
                ))
                .fix(format!(
                    "write a {model} load there (an SCCP P003… or SIP P0S3-… name), or move {text} under its own model's loadInformation code; if no {model} boots from this root, nothing"
                )),
            );
        }
    }

    pub(super) fn bundles(&mut self) {
        let mut groups: BTreeMap<String, (LoadName, BTreeSet<ImageKind>)> = BTreeMap::new();
        let root = self.root;
        for f in root.files() {
            let Ok(img) = f.name.parse::<ImageFile>() else {
                continue;
            };
            self.empty_image(f, &img);
            groups
                .entry(img.load.as_str().to_string())
                .or_insert_with(|| (img.load.clone(), BTreeSet::new()))
                .1
                .insert(img.kind);
        }
        for (name, (load, kinds)) in &groups {
            if load.is_universal_loader()
                || generation(load.protocol(), load.version()) != Generation::UniversalLoader
                || !(kinds.contains(&ImageKind::Loads) || kinds.contains(&ImageKind::Sb2))
            {
                continue;
            }
            let mut missing = BTreeSet::new();
            for want in release_files(load).into_iter().filter(|f| !root.has(f)) {
                match self.rename_fix(&want) {
                    (Some(found), fix) => {
                        let how = rename_or(
                            found,
                            &want,
                            &fix,
                            format!("keep one file named exactly {want}"),
                        );
                        self.push(
                            Finding::new(Check::LoadFileCase, Severity::Error, section::PROTOCOL_APPLICATION_INVALID)
                                .file(found)
                                .symptom(Symptom::ProtocolApplicationInvalid)
                                .problem(format!(
                                    "release {name} needs {want}, but the root has it only as {found}; the phones compare file names case-sensitively"
                                ))
                                .fix(how)
                                .auto(fix),
                        );
                    }
                    (None, _) => {
                        missing.insert(want);
                    }
                }
            }
            if missing.is_empty() {
                continue;
            }
            let present: Vec<String> = kinds
                .iter()
                .map(|k| format!("{name}.{}", k.ext()))
                .collect();
            self.push(
                Finding::new(Check::BundleIncomplete, Severity::Error, section::PROTOCOL_APPLICATION_INVALID)
                    .file(&present[0])
                    .symptom(Symptom::ProtocolApplicationInvalid)
                    .problem(format!(
                        "release {name} is incomplete: the root has {} but not {}; the files look copied by hand rather than unzipped",
                        present.join(", "),
                        load_list(&missing)
                    ))
                    .fix("unzip the release's ZIP package into the root of the TFTP server (do not copy files by hand)"),
            );
        }
    }
}

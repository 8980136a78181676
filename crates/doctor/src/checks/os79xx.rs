//! OS79XX.TXT, read first by loads before the universal application loader
//! ("Bootup Process", "IP Phones go to Unprovisioned State"): its presence,
//! spelling and the one name it may hold.

use phoneflip_config::filename::{GKDEFAULT_CFG, OS79XX_TXT, SIP_DEFAULT};
use phoneflip_config::{ImageRef, Os79xx, Os79xxDefect, SipCnf};
use phoneflip_firmware::{ImageKind, LoadName, LoadNameError, Protocol};
use phoneflip_plan::rules::{generation, Generation};
use phoneflip_plan::{first_image, reads_gkdefault};

use crate::finding::{section, Check, Finding, Fix, Severity, Symptom};

use super::{rename_or, Ctx, Named};

impl<'a> Ctx<'a> {
    /// The OS79XX.TXT the phones would read, or the misspelled one.
    pub(super) fn os79xx_file(&self) -> Option<&'a crate::root::RootFile> {
        self.root
            .get(OS79XX_TXT)
            .or_else(|| self.root.other_case(OS79XX_TXT).into_iter().next())
    }

    pub(super) fn os79xx(&mut self) -> Option<Named> {
        let file = match self.root.get(OS79XX_TXT) {
            Some(f) => f,
            None => {
                let (found, fix) = self.rename_fix(OS79XX_TXT);
                match found {
                    Some(found) => {
                        let how = rename_or(
                            found,
                            OS79XX_TXT,
                            &fix,
                            "keep one file named exactly OS79XX.TXT and delete the other spellings"
                                .into(),
                        );
                        // To the phones the file is missing: as bad as no
                        // OS79XX.TXT at all, an error only when --from says
                        // a phone reads it.
                        let severity = if self.os79xx_read() == Some(true) {
                            Severity::Error
                        } else {
                            Severity::Warning
                        };
                        self.push(
                            Finding::new(Check::Os79xxFileCase, severity, section::SCCP_OLD_TO_SIP_OLD)
                                .file(found)
                                .symptom(Symptom::KeepsCurrentLoad)
                                .problem(format!("the file is named {found}; the phones ask for OS79XX.TXT and the names are case sensitive"))
                                .fix(how)
                                .auto(fix),
                        );
                        self.os79xx_file()?
                    }
                    None => {
                        self.os79xx_missing();
                        return None;
                    }
                }
            }
        };
        let name = file.name.clone();
        let bytes = file.bytes()?.to_vec();
        let (image, line) = match Os79xx::parse(&bytes) {
            Ok(f) => (Some(f.image), 1),
            Err(_) if self.renamed_8_3(&bytes).is_some() => {
                let alias = self.renamed_8_3(&bytes).unwrap_or_default();
                self.push(
                    Finding::new(Check::Os79xxNotALoad, Severity::Info, section::NOT_ACCEPTING_SCCP)
                        .file(&name)
                        .line(1)
                        .problem(format!(
                            "OS79XX.TXT names {alias}, which is not a load name; {alias}.bin is in the root, so it is taken as a load renamed to DOS 8.3 (the reference's workaround for SIP 2.1 and earlier)"
                        ))
                        .fix("nothing, if this is such a rename; otherwise write the load name (POS3xxyy, POS3-xx-y-zz or P003aabbccdd)"),
                );
                (Some(ImageRef::Alias(alias)), 1)
            }
            Err(e) => {
                let cleaned = clean_os79xx(&bytes);
                // Cleaned up, and the loader rather than a universal
                // application: one rewrite fixes both.
                // Written exactly as `render` writes OS79XX.TXT: the name,
                // no line terminator.
                let fix = cleaned.as_ref().and_then(|c| {
                    let image = match c.parse::<LoadName>() {
                        Ok(l) => ImageRef::Load(universal_application_loader(&l).unwrap_or(l)),
                        Err(_) => c.parse::<ImageRef>().ok()?,
                    };
                    os79xx_rewrite(image)
                });
                for d in &e.defects {
                    self.os79xx_defect(&name, d, fix.clone());
                }
                (cleaned.and_then(|c| c.parse::<ImageRef>().ok()), 1)
            }
        };
        let image = image?;
        let named = Named {
            image,
            file: name.clone(),
            line: Some(line),
            phone: None,
        };
        self.load_form(&named);
        // The reference's own examples put an application (POS3-07-1-00)
        // in OS79XX.TXT, which works only where its .bin exists (in either
        // spelling of the letter O / digit zero); otherwise the name must
        // be the loader's.
        let app_bin = named.image.load().is_some_and(|l| {
            let s = l.as_str();
            [
                s.to_string(),
                s.replacen("PO", "P0", 1),
                s.replacen("P0", "PO", 1),
            ]
            .iter()
            .any(|n| self.root.has(&format!("{n}.bin")))
        });
        if let Some(loader) = named
            .image
            .load()
            .and_then(universal_application_loader)
            .filter(|_| !app_bin)
        {
            self.os79xx_names_application(&named, &loader);
            // What the phone must find is the loader.
            let as_loader = Named {
                image: ImageRef::Load(loader),
                ..named.clone()
            };
            self.os79xx_load_present(&as_loader);
        } else {
            self.os79xx_load_present(&named);
        }
        Some(named)
    }

    /// OS79XX.TXT naming a universal application (`P0S3-8-12-00`): a phone
    /// on an older load fetches `P0S3-8-12-00.bin`, which no release has;
    /// the SIP zip's own OS79XX.TXT names the loader (`P003-8-12-00`).
    pub(super) fn os79xx_names_application(&mut self, n: &Named, loader: &LoadName) {
        let app = n.image.as_str();
        self.push(
            Finding::new(Check::Os79xxNamesApplication, self.severity_for(&n.file), section::UNIVERSAL)
                .file(&n.file)
                .line(1)
                .symptom(Symptom::ProtocolApplicationInvalid)
                .problem(format!(
                    "OS79XX.TXT names {app}, the universal application, instead of its loader {loader}: a phone on an older load fetches {app}.bin, which no release has (the OS79XX.TXT in the SIP zip always names the universal application loader)"
                ))
                .fix(format!("write only {loader} in OS79XX.TXT"))
                .auto(os79xx_rewrite(ImageRef::Load(loader.clone()))),
        );
    }

    /// A name that is no load, but has its `.bin` in the root and fits
    /// 8.3: a load renamed as the reference suggests for SIP 2.1.
    pub(super) fn renamed_8_3(&self, bytes: &[u8]) -> Option<String> {
        let text = std::str::from_utf8(bytes).ok()?;
        let name = text.strip_suffix('\n').unwrap_or(text);
        let ok = !name.is_empty()
            && name.len() <= 8
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        (ok && self.root.has(&format!("{name}.bin"))).then(|| name.to_string())
    }

    pub(super) fn os79xx_missing(&mut self) {
        let gk = self.root.has(GKDEFAULT_CFG);
        let needed = self.opts.from.iter().any(|r| {
            generation(r.protocol, r.version) == Generation::OriginalBoot
                // SIP 5.x/6.x reach SCCP through gkdefault.cfg instead.
                && !(gk && r.protocol == Protocol::Sip && reads_gkdefault(r))
        });
        if !self.opts.from.is_empty() && !needed {
            return;
        }
        // Without --from, a root that only names SCCP loads: old SCCP
        // phones take their image from XMLDefault.cnf.xml / SEP<MAC>.cnf.xml
        // (the boot table), so only SIP phones on 6.x and older, going back
        // to SCCP, would miss it.
        let sip_root = self.root.has(SIP_DEFAULT)
            || self.root.files().iter().any(|f| {
                matches!(
                    super::files::phone_file(&f.name),
                    Some((super::files::PhoneFileKind::Sip, _, _))
                )
            });
        if self.opts.from.is_empty() && !sip_root {
            self.push(
                Finding::new(Check::Os79xxMissing, Severity::Info, section::SIP_OLD_TO_SCCP_OLD)
                    .file(OS79XX_TXT)
                    .symptom(Symptom::KeepsCurrentLoad)
                    .problem("there is no OS79XX.TXT: SCCP phones do not need it, but a phone on SIP 6.x or older reaches SCCP only through it (or gkdefault.cfg for SIP 5.x/6.x)")
                    .fix("nothing for an SCCP fleet; to bring SIP 4.x or older phones back to SCCP, create OS79XX.TXT holding only the SCCP image name, without .bin"),
            );
            return;
        }
        let target = self
            .root
            .get(SIP_DEFAULT)
            .and_then(|f| f.bytes())
            .map(|b| SipCnf::parse_lossy(SIP_DEFAULT, b).0)
            .and_then(|c| {
                c.get("image_version")
                    .and_then(|v| v.parse::<LoadName>().ok())
            })
            .map(|l| first_image(&l));
        let example = target.map(|t| format!(", here {t}")).unwrap_or_default();
        self.push(
            Finding::new(
                Check::Os79xxMissing,
                if needed { Severity::Error } else { Severity::Warning },
                section::ENABLE_SIP,
            )
            .file(OS79XX_TXT)
            .symptom(Symptom::KeepsCurrentLoad)
            .problem("there is no OS79XX.TXT: phones on SCCP 5.x and older or SIP 6.x and older ask for it first and, without it, do not know which image to fetch".to_string())
            .fix(format!("create OS79XX.TXT holding only the name of the image to load, without .bin{example}")),
        );
    }

    pub(super) fn os79xx_defect(&mut self, file: &str, d: &Os79xxDefect, fix: Option<Fix>) {
        use Os79xxDefect as D;
        let (check, safe, text) = match d {
            D::Empty => (Check::Os79xxEmpty, false, d.to_string()),
            D::NotAscii => (Check::Os79xxNotText, false, d.to_string()),
            D::MultipleLines { .. } => (Check::Os79xxLines, true, d.to_string()),
            D::CarriageReturn | D::Whitespace => (Check::Os79xxWhitespace, true, d.to_string()),
            D::Extension { .. } => (Check::Os79xxExtension, true, d.to_string()),
            D::WrongCase { .. } => (Check::Os79xxNameCase, true, d.to_string()),
            D::NotALoad(_) => (Check::Os79xxNotALoad, false, d.to_string()),
        };
        let auto = if safe { fix } else { None };
        // A valid load of another model (a shared root's SIP11.…): it
        // stops a 7940/7960 only if one reads this root, so a warning.
        let other_model = matches!(d, D::NotALoad(LoadNameError::OtherModel { .. }));
        let how = match &auto {
            Some(Fix::Rewrite { contents, .. }) => {
                format!("write only {:?} in OS79XX.TXT", contents.trim_end())
            }
            _ if other_model => "nothing, if no 7940/7960 boots from this root; otherwise write the 7940/7960 load name there (POS3-xx-y-zz, P003-x-y-zz, P003aabbccdd)".into(),
            _ => "write only the load name, without .bin, on one line (POS3xxyy up to SIP 2.3, POS3-xx-y-zz from SIP 3.0, P003aabbccdd for SCCP)".into(),
        };
        let severity = if other_model {
            Severity::Warning
        } else {
            self.severity_for(file)
        };
        self.push(
            Finding::new(check, severity, section::UNPROVISIONED)
                .file(file)
                .line(1)
                .symptom(Symptom::Unprovisioned)
                .problem(format!("OS79XX.TXT: {text}"))
                .fix(how)
                .auto(auto),
        );
    }
}

/// The name an `OS79XX.TXT` should hold, when its defects are only
/// mechanical (extension, case, whitespace, CR, blank lines): `None` when
/// fixing it needs a decision.
pub fn clean_os79xx(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?;
    if !text.is_ascii() {
        return None;
    }
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.trim_matches(|c: char| c.is_ascii_whitespace()))
        .filter(|l| !l.is_empty())
        .collect();
    let [name] = lines.as_slice() else {
        return None;
    };
    let mut name = name.to_string();
    if let Some((stem, ext)) = name.rsplit_once('.') {
        if ImageKind::from_ext(&ext.to_ascii_lowercase()).is_some() {
            name = stem.to_string();
        }
    }
    if name.parse::<ImageRef>().is_err() {
        let upper = name.to_ascii_uppercase();
        upper.parse::<ImageRef>().ok()?;
        name = upper;
    }
    Some(name)
}

/// The rewrite of OS79XX.TXT to `image`, byte for byte what `render`
/// writes ([`Os79xx::to_bytes`]).
fn os79xx_rewrite(image: ImageRef) -> Option<Fix> {
    Some(Fix::Rewrite {
        file: OS79XX_TXT.into(),
        contents: String::from_utf8(Os79xx::new(image).to_bytes()).ok()?,
    })
}

/// The loader of a universal application (`P0S3-8-12-00` →
/// `P003-8-12-00`), the name OS79XX.TXT must hold to move a phone on an
/// older load onto it (the planner's [`first_image`]); `None` when the
/// load is itself what OS79XX.TXT should name.
pub(super) fn universal_application_loader(load: &LoadName) -> Option<LoadName> {
    let first = first_image(load);
    (first != *load).then_some(first)
}

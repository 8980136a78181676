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
                        self.push(
                            Finding::new(Check::Os79xxFileCase, self.severity_for(found), section::SCCP_OLD_TO_SIP_OLD)
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
                let fix = cleaned.as_ref().map(|c| Fix::Rewrite {
                    file: OS79XX_TXT.into(),
                    contents: format!(
                        "{}\n",
                        c.parse::<LoadName>()
                            .ok()
                            .and_then(|l| universal_application_loader(&l))
                            .map_or_else(|| c.clone(), |l| l.to_string())
                    ),
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
        self.os79xx_load_present(&named);
        Some(named)
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
        let target = self
            .root
            .get(SIP_DEFAULT)
            .and_then(|f| f.bytes())
            .and_then(|b| SipCnf::parse(SIP_DEFAULT, b).ok())
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

/// The loader of a universal application (`P0S3-8-12-00` →
/// `P003-8-12-00`), the name OS79XX.TXT must hold to move a phone on an
/// older load onto it (the planner's [`first_image`]); `None` when the
/// load is itself what OS79XX.TXT should name.
pub(super) fn universal_application_loader(load: &LoadName) -> Option<LoadName> {
    let first = first_image(load);
    (first != *load).then_some(first)
}

//! "Enable SIP Functionality": SIPDefault.cnf and SIP<MAC>.cnf as a SIP
//! load reads them: syntax, the `image_version` they name, and parameters
//! the reading release does not know.

use phoneflip_config::filename::SIP_DEFAULT;
use phoneflip_config::sip_params::{self, SipProblem};
use phoneflip_config::{ImageRef, SipCnf};
use phoneflip_device::Mac;
use phoneflip_firmware::{LoadNameError, Protocol, Version};

use crate::finding::{section, Check, Finding, Fix, Severity, Symptom};

use super::{sip_of, Ctx, Named, Phones};

impl Ctx<'_> {
    /// Reads a SIP file the way a phone does: a line it cannot read is
    /// skipped and reported on its own (the phone ignores that line), and
    /// every other line still counts, so one bad line does not hide the
    /// file's `image_version` or cascade into "No Load Specified".
    pub(super) fn parse_sip(&mut self, file: &str, bytes: &[u8], phone: Option<Mac>) -> SipCnf {
        let (cnf, errors) = SipCnf::parse_lossy(file, bytes);
        for e in errors {
            let mut f = Finding::new(Check::SipLineUnreadable, Severity::Warning, section::ENABLE_SIP)
                .file(file)
                .line(e.line)
                .symptom(Symptom::ParameterIgnored)
                .problem(format!(
                    "line {} column {} cannot be read: {}; the phone skips this line and reads the others",
                    e.line, e.column, e.problem
                ))
                .fix(e.fix.clone());
            if let Some(m) = phone {
                f = f.phone(m);
            }
            self.push(f);
        }
        cnf
    }

    /// The `image_version` of a SIP file, reporting a value the phone
    /// cannot use.
    pub(super) fn image_version(
        &mut self,
        file: &str,
        cnf: &SipCnf,
        phone: Option<Mac>,
    ) -> Option<Named> {
        let e = cnf.entries().filter(|e| e.key == "image_version").last()?;
        if e.value.trim().is_empty() {
            return None;
        }
        match e.value.parse::<ImageRef>() {
            Ok(image) => Some(Named {
                image,
                file: file.to_string(),
                line: Some(e.line),
                phone,
            }),
            Err(err) => {
                let suggestion = match &err {
                    LoadNameError::HasExtension { suggestion, .. }
                    | LoadNameError::WrongCase { suggestion, .. } => Some(suggestion.clone()),
                    LoadNameError::Malformed { .. } | LoadNameError::OtherModel { .. } => None,
                };
                let fix = suggestion.as_ref().and_then(|s| {
                    let mut c = cnf.clone();
                    c.set("image_version", s).ok()?;
                    Some(Fix::Rewrite {
                        file: file.to_string(),
                        contents: String::from_utf8(c.to_bytes()).ok()?,
                    })
                });
                let line = e.line;
                let mut f = Finding::new(
                    Check::ImageVersionInvalid,
                    Severity::Error,
                    section::PROTOCOL_APPLICATION_INVALID,
                )
                .file(file)
                .line(line)
                .symptom(Symptom::ProtocolApplicationInvalid)
                .problem(format!("image_version: {err}"))
                .fix(match &suggestion {
                    Some(s) => format!("write image_version: {s}"),
                    None => {
                        "write the load name without extension, e.g. image_version: P0S3-8-12-00"
                            .into()
                    }
                })
                .auto(fix);
                if let Some(m) = phone {
                    f = f.phone(m);
                }
                self.push(f);
                let image = suggestion.and_then(|s| s.parse::<ImageRef>().ok())?;
                Some(Named {
                    image,
                    file: file.to_string(),
                    line: Some(line),
                    phone,
                })
            }
        }
    }

    pub(super) fn sip_default(&mut self) -> (Option<Named>, Option<SipCnf>) {
        let Some(bytes) = self.root.get(SIP_DEFAULT).and_then(|f| f.bytes()) else {
            return (None, None);
        };
        let bytes = bytes.to_vec();
        let cnf = self.parse_sip(SIP_DEFAULT, &bytes, None);
        (self.image_version(SIP_DEFAULT, &cnf, None), Some(cnf))
    }

    /// The SIP release that will read a SIP file, for the parameter check.
    pub(super) fn reading_release(&self, image: Option<&Named>) -> Option<Version> {
        image.and_then(|n| sip_of(&n.image)).or_else(|| {
            self.opts
                .from
                .iter()
                .filter(|r| r.protocol == Protocol::Sip)
                .map(|r| r.version)
                .max()
        })
    }

    pub(super) fn sip_parameters(
        &mut self,
        default_image: Option<&Named>,
        default_cnf: Option<&SipCnf>,
        phones: &Phones,
    ) {
        if let Some(cnf) = default_cnf {
            let release = self.reading_release(default_image);
            self.validate(SIP_DEFAULT, cnf, release, None);
        }
        for p in &phones.sip {
            let cnf = &p.cnf;
            let release = self.reading_release(p.image.as_ref().or(default_image));
            self.validate(&p.file, cnf, release, Some(p.mac));
        }
    }

    pub(super) fn validate(
        &mut self,
        file: &str,
        cnf: &SipCnf,
        release: Option<Version>,
        phone: Option<Mac>,
    ) {
        let known = release.is_some();
        let release = release.unwrap_or(Version::new(8, 12));
        for issue in sip_params::validate(file, cnf, release, None) {
            if !known && matches!(issue.problem, SipProblem::NewerThanLoad { .. }) {
                continue;
            }
            if issue.param == "image_version" {
                // Reported by the image checks, in the reference's terms.
                continue;
            }
            let target = if known {
                format!("SIP {release}")
            } else {
                "any SIP release".to_string()
            };
            let mut f = Finding::new(Check::SipParameter, Severity::Warning, section::ENABLE_SIP)
                .file(file)
                .line(issue.line)
                .symptom(Symptom::ParameterIgnored)
                .problem(format!(
                    "parameter {} (read by {target}): {}",
                    issue.param, issue.problem
                ))
                .fix(match &issue.problem {
                    SipProblem::Unknown {
                        suggestion: Some(s),
                    } => format!("rename it to {s}"),
                    SipProblem::Duplicate { .. } => "delete one of the two lines".into(),
                    SipProblem::OutOfRange { expected, .. } => format!("write {expected}"),
                    _ => "remove it, or target a load that knows it".into(),
                });
            if let Some(m) = phone {
                f = f.phone(m);
            }
            self.push(f);
        }
    }
}

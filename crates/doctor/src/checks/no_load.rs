//! "No Load Specified" Error: no configuration file names an image.

use std::collections::HashSet;

use phoneflip_device::Mac;
use phoneflip_firmware::{LoadName, Protocol};

use crate::finding::{section, Check, Finding, Severity, Symptom};

use super::{Ctx, Named, Phones};

impl Ctx<'_> {
    pub(super) fn no_load(
        &mut self,
        os79: bool,
        default_image: &Option<Named>,
        xml: &[Named],
        phones: &Phones,
    ) {
        if os79 || default_image.is_some() || !xml.is_empty() {
            return;
        }
        // A root-wide file that cannot be read already has its error, and
        // may well name the load once fixed: no second error for it.
        // Likewise a 7940/7960 entry naming another model's load has its
        // warning: the file does name an image, just not one for them.
        if self.out.iter().any(|f| {
            (f.check == Check::ConfigUnreadable && f.phone.is_none())
                || f.check == Check::LoadForOtherModel
        }) {
            return;
        }
        let named: HashSet<Mac> = phones
            .sip
            .iter()
            .filter(|p| p.image.is_some())
            .map(|p| p.mac)
            .chain(phones.sep.iter().filter_map(|n| n.phone))
            .collect();
        // A phone with an image in flash keeps it; one without shows
        // No Load Specified.
        let symptom = if self.opts.from.is_empty() {
            Symptom::NoLoadSpecified
        } else {
            Symptom::KeepsCurrentLoad
        };
        let fix = "name the image in the configuration files: image_version in SIPDefault.cnf (SIP), loadInformation in XMLDefault.cnf.xml (SCCP), or OS79XX.TXT for phones on older loads";
        if named.is_empty() {
            self.push(
                Finding::new(Check::NoLoadSpecified, Severity::Error, section::NO_LOAD_SPECIFIED)
                    .symptom(symptom)
                    .problem("no configuration file the phones read names an image (OS79XX.TXT for pre-loader loads, image_version, loadInformation): a phone keeps the image it has, and one without an image in flash shows No Load Specified")
                    .fix(fix),
            );
            return;
        }
        for p in &phones.sip {
            if !named.contains(&p.mac) && !phones.sep_macs.contains(&p.mac) {
                self.push(
                    Finding::new(
                        Check::NoLoadSpecified,
                        Severity::Error,
                        section::NO_LOAD_SPECIFIED,
                    )
                    .phone(p.mac)
                    .file(&p.file)
                    .symptom(symptom)
                    .problem(format!(
                        "neither {} nor any root-wide file names an image for this phone",
                        p.file
                    ))
                    .fix(format!("add image_version to {} or SIPDefault.cnf", p.file)),
                );
            }
        }
    }
}

impl Ctx<'_> {
    /// A configuration file naming the universal application loader
    /// (`P003-8-12-00`) as the image: only OS79XX.TXT names the loader;
    /// `image_version` and `loadInformation` name the application. The
    /// loader then asks for `P003-8-12-00.loads`, which no release has: the
    /// emulator shows Protocol Application Invalid (issue 12 expected No
    /// Load Specified; the emulator's word is the one kept).
    pub(super) fn loader_named(&mut self, named: &[Named]) {
        for n in named {
            let Some(load) = n.image.load().filter(|l| l.is_universal_loader()) else {
                continue;
            };
            let (param, protocol) = if n.file.ends_with(".cnf") {
                ("image_version", Protocol::Sip)
            } else {
                ("loadInformation", Protocol::Sccp)
            };
            let app = LoadName::canonical(protocol, load.version());
            let mut f = Finding::new(Check::LoaderAsImage, self.severity_for(&n.file), section::PROTOCOL_APPLICATION_INVALID)
                .file(&n.file)
                .symptom(Symptom::ProtocolApplicationInvalid)
                .problem(format!(
                    "{} names {load}, the universal application loader, as the image: the phone asks for {load}.loads, which no release has, instead of an application",
                    n.file
                ))
                .fix(format!(
                    "name the application in {param}, e.g. {app}; only OS79XX.TXT names the loader"
                ));
            if let Some(l) = n.line {
                f = f.line(l);
            }
            if let Some(m) = n.phone {
                f = f.phone(m);
            }
            self.push(f);
        }
    }
}

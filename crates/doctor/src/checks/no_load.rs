//! "No Load Specified" Error: no configuration file names an image.

use std::collections::HashSet;

use phoneflip_device::Mac;

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
        if self
            .out
            .iter()
            .any(|f| f.check == Check::ConfigUnreadable && f.phone.is_none())
        {
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

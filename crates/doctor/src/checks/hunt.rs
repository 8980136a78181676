//! "SCCP Image 6.x/Later and SIP Image 7.x/Later": the universal
//! application loader's hunt ([`phoneflip_plan::LOADER_HUNT`]) reads
//! `SEP<MAC>.cnf.xml` before `SIP<MAC>.cnf`, so a leftover SEP file naming
//! another load wins over the SIP files. Owns only that comparison; what
//! each file names is read by the other checks.

use phoneflip_firmware::Protocol;
use phoneflip_plan::rules::{generation, Generation};
use phoneflip_plan::LOADER_HUNT;

use crate::finding::{section, Check, Finding, Severity, Symptom};

use super::{proto, Ctx, Named, Phones};

impl Ctx<'_> {
    pub(super) fn leftover_sep(&mut self, default_image: Option<&Named>, phones: &Phones) {
        let hunt: Vec<String> = LOADER_HUNT.iter().map(|f| f.name.to_string()).collect();
        for sep in &phones.sep {
            let Some(mac) = sep.phone else { continue };
            let Some(named) = sep.image.load() else {
                continue;
            };
            // What the SIP files send this phone to.
            let sip = phones
                .sip
                .iter()
                .find(|p| p.mac == mac)
                .and_then(|p| p.image.as_ref())
                .or(default_image);
            let Some(target) = sip.and_then(|n| n.image.load()) else {
                continue;
            };
            if target.protocol() != Protocol::Sip
                || generation(target.protocol(), target.version()) != Generation::UniversalLoader
                || named.as_str() == target.as_str()
            {
                continue;
            }
            let to = named
                .application_protocol()
                .map_or("another load", |p| proto(p));
            self.push(
                Finding::new(Check::LeftoverSep, Severity::Error, section::UNIVERSAL)
                    .phone(mac)
                    .file(&sep.file)
                    .symptom(Symptom::LoadsOtherImage)
                    .problem(format!(
                        "{} names {named} ({to}) while {} names {target}: the loader hunts {} in that order and follows the first file that names a load, so this phone goes to {named}, never to {target}",
                        sep.file,
                        sip.map_or("SIPDefault.cnf", |n| n.file.as_str()),
                        hunt.join(", ")
                    ))
                    .fix(format!(
                        "delete {} (or make its loadInformation {target}), as the reference says: remove any protocol configuration files that are not used for the specified protocol",
                        sep.file
                    )),
            );
        }
    }
}

//! "Enable SIP Functionality", SIP Release 5.0 and later: no phone goes
//! back below 5.0 once it has run a 5.0 or later load.

use std::collections::BTreeSet;

use phoneflip_firmware::Release;
use phoneflip_plan::rules::SIGNED_FLOOR;

use crate::finding::{section, Check, Finding, Severity, Symptom};

use super::{proto, Ctx, Named};

impl Ctx<'_> {
    pub(super) fn downgrade(&mut self, named: &[Named]) {
        let signed: Vec<&Release> = self
            .opts
            .from
            .iter()
            .filter(|r| r.version >= SIGNED_FLOOR)
            .collect();
        let mut seen = BTreeSet::new();
        for n in named {
            let Some(load) = n.image.load() else { continue };
            if load.version() >= SIGNED_FLOOR || !seen.insert(load.as_str().to_string()) {
                continue;
            }
            let (severity, who) = match signed.first() {
                Some(r) => (
                    Severity::Error,
                    format!("phones run {} {}", proto(r.protocol), r.version),
                ),
                None if self.opts.from.is_empty() => {
                    (Severity::Info, "phones already on 5.0 or later".to_string())
                }
                None => continue,
            };
            // The phone refuses the unsigned image: the emulator shows
            // Image Authentication Failed, and so does the finding.
            let mut f = Finding::new(Check::DowngradeBelow5, severity, section::ENABLE_SIP)
                .file(&n.file)
                .symptom(Symptom::ImageAuthenticationFailed)
                .problem(format!(
                    "{} names {load} ({} {}), below 5.0, and {who}: once on 5.0 or later a phone cannot go back to a release earlier than 5.0",
                    n.file,
                    proto(load.protocol()),
                    load.version()
                ))
                .fix("target a 5.0 or later load for phones already on 5.0 or later");
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

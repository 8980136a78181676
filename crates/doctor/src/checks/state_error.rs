//! "Enable SIP Functionality", the State Error note: SIP 3.x/4.x from a
//! particularly old SCCP load fails; go through SIP 2.3.

use phoneflip_firmware::{Protocol, Release};
use phoneflip_plan::state_error_applies;

use crate::finding::{section, Check, Finding, Severity, Symptom};

use super::{sip_of, Ctx, Named};

impl Ctx<'_> {
    pub(super) fn state_error(&mut self, os79: Option<&Named>) {
        let Some(n) = os79 else { return };
        let Some(v) = sip_of(&n.image) else { return };
        let target = Release::new(Protocol::Sip, v);
        let Some(r) = self
            .opts
            .from
            .iter()
            .find(|r| state_error_applies(r, &target))
        else {
            return;
        };
        self.push(
            Finding::new(Check::StateErrorRisk, Severity::Error, section::ENABLE_SIP)
                .file(&n.file)
                .line(1)
                .symptom(Symptom::StateError)
                .problem(format!(
                    "OS79XX.TXT names SIP {v} and phones run SCCP {}: installing SIP 3.x or 4.x from particularly old SCCP software often fails",
                    r.version
                ))
                .fix("convert to SIP 2.3 first (OS79XX.TXT: POS30203), then to 3.x or later"),
        );
    }
}

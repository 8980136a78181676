//! "SIP Phone not Accepting SCCP Load": SIP 2.1 and earlier take only 8.3
//! file names.

use phoneflip_config::ImageRef;
use phoneflip_firmware::Protocol;
use phoneflip_plan::{alias_8_3, eight_dot_three_applies};

use crate::finding::{section, Check, Finding, Severity, Symptom};

use super::{Ctx, Named};

impl Ctx<'_> {
    pub(super) fn sccp_8_3(&mut self, os79: Option<&Named>, sip_files: bool) {
        let Some(n) = os79 else { return };
        let ImageRef::Load(load) = &n.image else {
            return;
        };
        // Only an SCCP load is refused; a universal application loader
        // (P003-…) is no SCCP load, and its 8.3 alias would be no fix.
        if load.application_protocol() != Some(Protocol::Sccp) || load.fits_8_3() {
            return;
        }
        let old = self.opts.from.iter().find(|r| eight_dot_three_applies(r));
        let severity = match (old, self.opts.from.is_empty()) {
            (Some(_), _) => Severity::Error,
            (None, true) if sip_files => Severity::Warning,
            _ => return,
        };
        let who = match old {
            Some(r) => format!("phones run SIP {}", r.version),
            None => "if any phone still runs SIP 2.1 or earlier".into(),
        };
        let a = alias_8_3(load);
        let alias = format!(": copy {load}.bin to {a}.bin and write {a} in OS79XX.TXT");
        self.push(
            Finding::new(Check::SccpName83, if old.is_some() { severity } else { Severity::Warning }, section::NOT_ACCEPTING_SCCP)
                .file(&n.file)
                .line(1)
                .symptom(Symptom::KeepsCurrentLoad)
                .problem(format!(
                    "OS79XX.TXT names {load}.bin, longer than DOS 8.3, and {who}: SIP 2.1 and earlier do not accept an SCCP load whose name is longer than eight characters"
                ))
                .fix(format!("upgrade SIP first, then revert to SCCP; or give the load an 8.3 name{alias}")),
        );
    }
}

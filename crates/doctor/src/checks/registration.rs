//! "Enable SIP Functionality": what a SIP phone needs, beyond its image,
//! to work once it boots SIP: a proxy, `proxy_register: 1`, a line with
//! credentials, and the dial plan `dial_template` names. A phone reads
//! SIPDefault.cnf and then its SIP<MAC>.cnf, so the per-phone value wins.

use phoneflip_config::filename::SIP_DEFAULT;
use phoneflip_config::SipCnf;

use crate::finding::{section, Check, Finding, Severity, Symptom};

use super::{Ctx, Phones};

/// The value a phone ends up with: its own file's, else SIPDefault.cnf's.
fn effective<'a>(
    own: Option<&'a SipCnf>,
    default: Option<&'a SipCnf>,
    key: &str,
) -> Option<&'a str> {
    own.and_then(|c| c.get(key))
        .filter(|v| !v.trim().is_empty())
        .or_else(|| default.and_then(|c| c.get(key)))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

impl Ctx<'_> {
    pub(super) fn registration(&mut self, default_cnf: Option<&SipCnf>, phones: &Phones) {
        // (file, phone, its own file)
        let mut targets: Vec<(String, Option<phoneflip_device::Mac>, Option<&SipCnf>)> = phones
            .sip
            .iter()
            .map(|p| (p.file.clone(), Some(p.mac), Some(&p.cnf)))
            .collect();
        if targets.is_empty() && default_cnf.is_some() {
            targets.push((SIP_DEFAULT.to_string(), None, None));
        }
        for (file, mac, own) in targets {
            let mut missing: Vec<&str> = Vec::new();
            if effective(own, default_cnf, "proxy1_address").is_none_or(|v| v == "0.0.0.0") {
                missing.push("proxy1_address (the SIP server)");
            }
            if effective(own, default_cnf, "proxy_register") != Some("1") {
                missing.push("proxy_register: 1");
            }
            if mac.is_some() {
                if effective(own, default_cnf, "line1_name").is_none() {
                    missing.push("line1_name");
                }
                if effective(own, default_cnf, "line1_password").is_none() {
                    missing.push("line1_password");
                }
            }
            if !missing.is_empty() {
                let mut f = Finding::new(Check::NoRegistration, Severity::Error, section::ENABLE_SIP)
                    .file(&file)
                    .symptom(Symptom::NeverRegisters)
                    .problem(format!(
                        "neither {file} nor SIPDefault.cnf sets {}: the phone boots SIP and never registers",
                        missing.join(", ")
                    ))
                    .fix(format!("set {} in SIPDefault.cnf or {file}", missing.join(", ")));
                if let Some(m) = mac {
                    f = f.phone(m);
                }
                self.push(f);
            }
            self.dial_plan(&file, mac, own, default_cnf);
        }
    }

    fn dial_plan(
        &mut self,
        file: &str,
        mac: Option<phoneflip_device::Mac>,
        own: Option<&SipCnf>,
        default: Option<&SipCnf>,
    ) {
        let Some(name) = effective(own, default, "dial_template") else {
            return;
        };
        let wanted = format!("{name}.xml");
        if self.root.has(&wanted) {
            return;
        }
        let (found, fix) = self.rename_fix(&wanted);
        let mut f = Finding::new(Check::DialPlanMissing, Severity::Warning, section::ENABLE_SIP)
            .file(file)
            .problem(match found {
                Some(other) => format!("dial_template is {name}, so the phone asks for {wanted}, but the root has it only as {other}: the names are case sensitive"),
                None => format!("dial_template is {name}, so the phone asks for {wanted}, which is not in the root: the phone dials without a dial plan"),
            })
            .fix(match found {
                Some(other) => format!("rename {other} to {wanted}"),
                None => format!("put the dial plan in the root as {wanted}, or correct dial_template (the name without .xml)"),
            })
            .auto(fix);
        if let Some(m) = mac {
            f = f.phone(m);
        }
        self.push(f);
    }
}

//! "TFTP Accessibility and Impact on Network" and "Configure the Phone
//! Network Settings via DHCP": which TFTP server the phones find, and
//! whether a root converts more phones than meant.

use crate::finding::{section, Check, Finding, Severity, Symptom};

use super::Ctx;

impl Ctx<'_> {
    pub(super) fn network(&mut self, sip_target: bool, root_wide: bool, per_phone: usize) {
        let opts = self.opts;
        let Some(dhcp) = &opts.dhcp else {
            if let (Some(only), true) = (&opts.only, root_wide) {
                self.push(
                    Finding::new(Check::SharedTftpServer, Severity::Info, section::TFTP_ACCESSIBILITY)
                        .symptom(Symptom::WholeFleetConverts)
                        .problem(format!(
                            "the conversion targets {} phones but OS79XX.TXT/SIPDefault.cnf/XMLDefault.cnf.xml convert every phone that boots from this root",
                            only.len()
                        ))
                        .fix("make sure this root is not on the TFTP server DHCP hands to every phone (give --dhcp-config to check)"),
                );
            }
            return;
        };
        let first_line = |v: &[crate::dhcp_conf::DhcpOption]| v.first().and_then(|o| o.line);
        if sip_target && dhcp.option_66.is_empty() {
            let mut f = Finding::new(Check::DhcpNo66, if dhcp.option_150.is_empty() { Severity::Warning } else { Severity::Error }, section::DHCP)
                .file(&dhcp.source)
                .symptom(Symptom::NoTftpServer)
                .problem(if dhcp.option_150.is_empty() {
                    "the DHCP server hands out neither option 66 nor option 150: phones find a TFTP server only if it is set by hand".to_string()
                } else {
                    "the DHCP server hands out option 150 but not option 66: Cisco CallManager uses option 150, SIP phones expect option 66 for the TFTP server".to_string()
                })
                .fix("add option 66 with the TFTP server's address (`phoneflip dhcp config --for isc|kea|dnsmasq|ios --tftp ADDR`), or set each phone's Alternate TFTP Server");
            if let Some(l) = first_line(&dhcp.option_150) {
                f = f.line(l);
            }
            self.push(f);
        }
        let addrs = dhcp.tftp_addresses();
        let same_server = match opts.tftp_address {
            Some(a) => addrs.contains(&a),
            None => !addrs.is_empty(),
        };
        let partial = opts
            .only
            .as_ref()
            .map(|o| o.len())
            .or((per_phone > 0).then_some(per_phone));
        if root_wide && same_server && dhcp.hands_to_every_phone() {
            if let Some(n) = partial {
                let server = match opts.tftp_address {
                    Some(a) => a.to_string(),
                    None => addrs
                        .iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                self.push(
                    Finding::new(Check::SharedTftpServer, Severity::Warning, section::TFTP_ACCESSIBILITY)
                        .file(&dhcp.source)
                        .symptom(Symptom::WholeFleetConverts)
                        .problem(format!(
                            "DHCP hands {server} to every phone, and this root's OS79XX.TXT/SIPDefault.cnf/XMLDefault.cnf.xml name a load: every phone that boots converts, not only the {n} phones this conversion is for"
                        ))
                        .fix("use a different TFTP server than the one listed on the DHCP server and set it as Alternate TFTP Server on the phones to convert, or scope the DHCP options to those phones (`phoneflip dhcp config --mac …`)"),
                );
            }
        }
    }
}

//! "TFTP Accessibility and Impact on Network" and "Configure the Phone
//! Network Settings via DHCP": which TFTP server the phones find, and
//! whether a root converts more phones than meant.

use std::net::Ipv4Addr;

use phoneflip_config::filename::XML_DEFAULT;
use phoneflip_config::{SepDevice, XmlDefault};

use crate::finding::{section, Check, Finding, Severity, Symptom};

use super::files::{phone_file, PhoneFileKind};
use super::Ctx;

impl Ctx<'_> {
    /// The CallManagers this root's SCCP files name by address, with the
    /// file that names each: (address, file).
    fn call_manager_addresses(&self) -> Vec<(Ipv4Addr, String)> {
        let mut out = Vec::new();
        for f in self.root.files() {
            let Some(bytes) = f.bytes() else { continue };
            let cms = if f.name == XML_DEFAULT {
                XmlDefault::parse(&f.name, bytes).map(|x| x.call_managers)
            } else if matches!(phone_file(&f.name), Some((PhoneFileKind::Sep, _, _))) {
                SepDevice::parse(&f.name, bytes).map(|d| d.call_managers)
            } else {
                continue;
            };
            for cm in cms.unwrap_or_default() {
                if let Ok(a) = cm.process_node_name.trim().parse::<Ipv4Addr>() {
                    if !out.iter().any(|(b, _)| *b == a) {
                        out.push((a, f.name.clone()));
                    }
                }
            }
        }
        out
    }

    /// The reference (Enable SIP Functionality, step 4): "It is
    /// recommended that you not use the TFTP server on the Cisco
    /// CallManager". Found when the TFTP server the phones get (DHCP's
    /// option 66/150, or `--tftp-address`) is a CallManager this root's
    /// XMLDefault.cnf.xml or SEP files name, and the root converts to SIP.
    pub(super) fn call_manager_tftp(&mut self, sip_target: bool) {
        if !sip_target {
            // Reverting to SCCP from the CallManager's own TFTP server is
            // what the revert sections describe.
            return;
        }
        let mut servers: Vec<(Ipv4Addr, Option<String>)> = Vec::new();
        if let Some(a) = self.opts.tftp_address {
            servers.push((a, None));
        }
        if let Some(d) = &self.opts.dhcp {
            for a in d.tftp_addresses() {
                if !servers.iter().any(|(b, _)| *b == a) {
                    servers.push((a, Some(d.source.clone())));
                }
            }
        }
        let cms = self.call_manager_addresses();
        for (server, source) in servers {
            let Some((_, file)) = cms.iter().find(|(a, _)| *a == server) else {
                continue;
            };
            let how = match &source {
                Some(s) => format!("{s} hands out {server} as the TFTP server"),
                None => format!("this root is served from {server}"),
            };
            self.push(
                Finding::new(Check::CallManagerTftp, Severity::Warning, section::ENABLE_SIP)
                    .file(source.clone().unwrap_or_else(|| file.clone()))
                    .symptom(Symptom::WholeFleetConverts)
                    .problem(format!(
                        "{how}, and {file} names {server} as a CallManager: the conversion to SIP is served by the CallManager's own TFTP server, which the reference recommends against (every phone registered to that CallManager boots from it, and the CallManager's TFTP service builds its own XMLDefault.cnf.xml and SEP<MAC>.cnf.xml from its database)"
                    ))
                    .fix("serve the conversion from a separate TFTP server (`phoneflip serve`) and point only the phones to convert at it, by DHCP option 66 scoped to them or by the Alternate TFTP Server set on each phone; leave the CallManager's TFTP server for the SCCP phones"),
            );
        }
    }

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

//! Configuration snippets for the DHCP servers sites actually run.
//!
//! Both options are always emitted: during a staged conversion some phones
//! still run SCCP (150) while others already run SIP (66). When the
//! conversion targets only some phones, `macs` scopes the options to those
//! hosts, which is the reference's warning made concrete: handing a new
//! TFTP server to every phone converts every phone.

use std::fmt::Write;
use std::net::Ipv4Addr;
use std::str::FromStr;

use phoneflip_device::Mac;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Isc,
    Kea,
    Dnsmasq,
    Ios,
}

impl FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "isc" | "dhcpd" => Ok(Dialect::Isc),
            "kea" => Ok(Dialect::Kea),
            "dnsmasq" => Ok(Dialect::Dnsmasq),
            "ios" | "cisco" => Ok(Dialect::Ios),
            _ => Err(format!(
                "unknown DHCP server {s:?}: choose isc, kea, dnsmasq or ios"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SnippetRequest {
    pub tftp: Ipv4Addr,
    /// Only these phones get the options; empty = the whole scope.
    pub macs: Vec<Mac>,
}

fn colon_mac(mac: &Mac) -> String {
    mac.bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn dotted_mac(mac: &Mac) -> String {
    let b = mac.bytes();
    format!(
        "01{:02x}.{:02x}{:02x}.{:02x}{:02x}.{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5]
    )
}

/// Renders the configuration for `dialect`. Pure: the caller prints it.
pub fn snippet(dialect: Dialect, req: &SnippetRequest) -> String {
    let t = req.tftp;
    let mut o = String::new();
    match dialect {
        Dialect::Isc => {
            o.push_str("# ISC dhcpd: option 66 (tftp-server-name) for SIP loads, option 150 for SCCP loads.\n");
            o.push_str("option voip-tftp-server code 150 = array of ip-address;\n");
            if req.macs.is_empty() {
                let _ = writeln!(
                    o,
                    "option tftp-server-name \"{t}\";\noption voip-tftp-server {t};"
                );
            } else {
                for mac in &req.macs {
                    let _ = writeln!(
                        o,
                        "host SEP{mac} {{\n  hardware ethernet {};\n  option tftp-server-name \"{t}\";\n  option voip-tftp-server {t};\n}}",
                        colon_mac(mac)
                    );
                }
            }
        }
        Dialect::Kea => {
            let data = format!(
                "[ {{ \"name\": \"tftp-server-name\", \"data\": \"{t}\" }}, {{ \"name\": \"cisco-tftp-servers\", \"code\": 150, \"data\": \"{t}\" }} ]"
            );
            o.push_str("{ \"Dhcp4\": {\n");
            o.push_str("  \"option-def\": [ { \"name\": \"cisco-tftp-servers\", \"code\": 150, \"type\": \"ipv4-address\", \"array\": true, \"space\": \"dhcp4\" } ],\n");
            if req.macs.is_empty() {
                let _ = writeln!(o, "  \"option-data\": {data}");
            } else {
                o.push_str("  \"reservations\": [\n");
                let hosts: Vec<String> = req
                    .macs
                    .iter()
                    .map(|m| {
                        format!(
                            "    {{ \"hw-address\": \"{}\", \"option-data\": {data} }}",
                            colon_mac(m)
                        )
                    })
                    .collect();
                o.push_str(&hosts.join(",\n"));
                o.push_str("\n  ]\n");
            }
            o.push_str("} }\n");
        }
        Dialect::Dnsmasq => {
            o.push_str("# dnsmasq: option 66 for SIP loads, option 150 for SCCP loads.\n");
            if req.macs.is_empty() {
                let _ = writeln!(o, "dhcp-option=66,\"{t}\"\ndhcp-option=150,{t}");
            } else {
                for mac in &req.macs {
                    let _ = writeln!(o, "dhcp-host={},set:phoneflip", colon_mac(mac));
                }
                let _ = writeln!(
                    o,
                    "dhcp-option=tag:phoneflip,66,\"{t}\"\ndhcp-option=tag:phoneflip,150,{t}"
                );
            }
        }
        Dialect::Ios => {
            o.push_str("! Cisco IOS: option 66 for SIP loads, option 150 for SCCP loads.\n");
            if req.macs.is_empty() {
                let _ = writeln!(
                    o,
                    "ip dhcp pool PHONES\n option 66 ascii {t}\n option 150 ip {t}"
                );
            } else {
                for mac in &req.macs {
                    let _ = writeln!(
                        o,
                        "ip dhcp pool SEP{mac}\n client-identifier {}\n option 66 ascii {t}\n option 150 ip {t}",
                        dotted_mac(mac)
                    );
                }
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(macs: &[&str]) -> SnippetRequest {
        SnippetRequest {
            tftp: "192.0.2.5".parse().unwrap(),
            macs: macs.iter().map(|m| m.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn every_dialect_hands_out_both_options() {
        for d in [Dialect::Isc, Dialect::Kea, Dialect::Dnsmasq, Dialect::Ios] {
            let s = snippet(d, &req(&[]));
            assert!(s.contains("192.0.2.5"), "{d:?}: {s}");
            assert!(s.contains("150"), "{d:?} lacks option 150: {s}");
            assert!(
                s.contains("66") || s.contains("tftp-server-name"),
                "{d:?} lacks option 66: {s}"
            );
        }
    }

    #[test]
    fn kea_snippet_is_json() {
        let s = snippet(Dialect::Kea, &req(&["002094D245CB"]));
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(
            v["Dhcp4"]["reservations"][0]["hw-address"],
            "00:20:94:d2:45:cb"
        );
    }

    #[test]
    fn per_phone_scoping() {
        let s = snippet(Dialect::Dnsmasq, &req(&["002094D245CB", "0019AA000001"]));
        assert!(s.contains("dhcp-host=00:20:94:d2:45:cb,set:phoneflip"));
        assert!(s.contains("dhcp-option=tag:phoneflip,66,\"192.0.2.5\""));
        let s = snippet(Dialect::Ios, &req(&["002094D245CB"]));
        assert!(s.contains("client-identifier 0100.2094.d245.cb"), "{s}");
        let s = snippet(Dialect::Isc, &req(&["002094D245CB"]));
        assert!(s.contains("hardware ethernet 00:20:94:d2:45:cb;"));
    }

    #[test]
    fn dialect_names() {
        assert_eq!("ISC".parse::<Dialect>(), Ok(Dialect::Isc));
        assert!("windows"
            .parse::<Dialect>()
            .unwrap_err()
            .contains("isc, kea"));
    }
}

//! How phones find their TFTP server, read minimally from a DHCP server's
//! configuration file (dnsmasq, ISC dhcpd, Cisco IOS, Kea) or from a
//! `phoneflip dhcp probe` result.
//!
//! Only options 66 and 150 matter here, and whether they are handed to the
//! whole scope or to a few hosts. Anything else in the file is skipped, so
//! a file phoneflip cannot follow yields "no option found", never an error.

use std::net::Ipv4Addr;

use phoneflip_dhcp::ProbeReport;
use serde::Serialize;

/// One place an option is handed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DhcpOption {
    pub value: String,
    /// 1-based line in the configuration file; `None` for a probe.
    pub line: Option<usize>,
    /// Handed only to some hosts (a dnsmasq tag, an ISC host block, a Kea
    /// reservation), not to the whole scope.
    pub scoped: bool,
}

/// Options 66 and 150 as a DHCP server hands them out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct DhcpView {
    /// The file it was read from, or "DHCP probe".
    pub source: String,
    pub option_66: Vec<DhcpOption>,
    pub option_150: Vec<DhcpOption>,
}

impl DhcpView {
    /// The TFTP server addresses any phone may be given.
    pub fn tftp_addresses(&self) -> Vec<Ipv4Addr> {
        let mut out = Vec::new();
        for o in self.option_66.iter().chain(&self.option_150) {
            for part in o.value.split([',', ' ', '\t']) {
                if let Ok(a) = part.trim_matches('"').parse::<Ipv4Addr>() {
                    if !out.contains(&a) {
                        out.push(a);
                    }
                }
            }
        }
        out
    }

    /// Whether the whole scope (every phone) gets a TFTP server.
    pub fn hands_to_every_phone(&self) -> bool {
        self.option_66
            .iter()
            .chain(&self.option_150)
            .any(|o| !o.scoped)
    }

    pub fn from_probe(r: &ProbeReport) -> DhcpView {
        DhcpView::from_options(
            "DHCP probe",
            r.option_66.as_deref(),
            r.option_150.as_deref(),
        )
    }

    /// The view of a server that answered with these options (a probe, or
    /// its saved JSON).
    pub fn from_options(
        source: &str,
        option_66: Option<&str>,
        option_150: Option<&[std::net::Ipv4Addr]>,
    ) -> DhcpView {
        let one = |value: String| DhcpOption {
            value,
            line: None,
            scoped: false,
        };
        DhcpView {
            source: source.to_string(),
            option_66: option_66.map(|v| one(v.to_string())).into_iter().collect(),
            option_150: option_150
                .map(|l| {
                    one(l
                        .iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(","))
                })
                .into_iter()
                .collect(),
        }
    }

    /// Reads options 66 and 150 from a dnsmasq, ISC dhcpd, IOS or Kea
    /// configuration. Never fails: unknown lines are skipped.
    pub fn parse_config(source: &str, text: &str) -> DhcpView {
        let mut view = DhcpView {
            source: source.to_string(),
            ..DhcpView::default()
        };
        // ISC: option names declared with `option NAME code N = …;`.
        let mut isc_names: Vec<(String, u16)> = vec![("tftp-server-name".into(), 66)];
        // ISC block stack: whether each open block is a host declaration.
        let mut blocks: Vec<bool> = Vec::new();
        let mut kea_reservations = false;
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            let in_host = blocks.iter().any(|&h| h);
            let mut push = |code: u16, value: &str, scoped: bool| {
                let o = DhcpOption {
                    value: value.trim().trim_matches('"').to_string(),
                    line: Some(line_no),
                    scoped,
                };
                if code == 66 {
                    view.option_66.push(o);
                } else {
                    view.option_150.push(o);
                }
            };
            if let Some(rest) = line
                .strip_prefix("dhcp-option-force=")
                .or_else(|| line.strip_prefix("dhcp-option="))
            {
                // dnsmasq: [tag:x,]…[encap:n,]OPTION,VALUE
                let mut scoped = false;
                let mut fields = rest.split(',');
                let mut opt = None;
                for f in fields.by_ref() {
                    let f = f.trim();
                    if f.starts_with("tag:") || f.starts_with("set:") {
                        scoped = true;
                    } else if f.starts_with("vendor:")
                        || f.starts_with("encap:")
                        || f.starts_with("vi-encap:")
                    {
                        opt = None;
                        break;
                    } else {
                        opt = Some(f);
                        break;
                    }
                }
                let code = match opt {
                    Some("66") | Some("option:tftp-server") => Some(66),
                    Some("150") => Some(150),
                    _ => None,
                };
                if let Some(code) = code {
                    let value: Vec<&str> = fields.collect();
                    push(code, &value.join(","), scoped);
                }
                continue;
            }
            if line.contains("\"tftp-server-name\"") || line.contains("\"code\": 150") {
                // Kea option-data on one line, as phoneflip's snippet writes it.
                for obj in line.split('{').skip(1) {
                    let code = if obj.contains("\"tftp-server-name\"") {
                        66
                    } else if obj.contains("\"code\": 150") && !obj.contains("\"type\"") {
                        150
                    } else {
                        continue;
                    };
                    if let Some(data) = json_string_field(obj, "data") {
                        push(code, &data, kea_reservations);
                    }
                }
                continue;
            }
            if line.contains("\"reservations\"") {
                kea_reservations = true;
            }
            if let Some(rest) = line.strip_prefix("option ") {
                let rest = rest.trim_end_matches(';').trim();
                // IOS: option 66 ascii X / option 150 ip X
                let words: Vec<&str> = rest.split_whitespace().collect();
                match words.as_slice() {
                    ["66", "ascii" | "ip", v @ ..] => push(66, &v.join(" "), false),
                    ["150", "ip" | "hex", v @ ..] => push(150, &v.join(","), false),
                    [name, "code", n, "=", ..] => {
                        if let Ok(n) = n.parse::<u16>() {
                            isc_names.push((name.to_string(), n));
                        }
                    }
                    [name, v @ ..] if !v.is_empty() => {
                        if let Some(&(_, code)) = isc_names.iter().find(|(n, _)| n == name) {
                            if code == 66 || code == 150 {
                                push(code, &v.join(" "), in_host);
                            }
                        }
                    }
                    _ => {}
                }
            }
            for c in line.chars() {
                match c {
                    '{' => blocks.push(line.starts_with("host ")),
                    '}' => {
                        blocks.pop();
                    }
                    _ => {}
                }
            }
        }
        view
    }
}

fn strip_comment(line: &str) -> &str {
    // `#` (dnsmasq, ISC) and `!` (IOS) start comments outside quotes.
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' | '!' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

fn json_string_field(obj: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\"");
    let at = obj.find(&key)? + key.len();
    let rest = obj[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use phoneflip_dhcp::{snippet, Dialect, SnippetRequest};
    use proptest::prelude::*;

    fn req(macs: Vec<phoneflip_device::Mac>) -> SnippetRequest {
        SnippetRequest {
            tftp: Ipv4Addr::new(10, 0, 0, 5),
            macs,
        }
    }

    #[test]
    fn reads_phoneflips_own_snippets() {
        let mac: phoneflip_device::Mac = "0019AA000001".parse().unwrap();
        for d in [Dialect::Isc, Dialect::Kea, Dialect::Dnsmasq, Dialect::Ios] {
            let v = DhcpView::parse_config("x", &snippet(d, &req(vec![])));
            assert_eq!(v.option_66.len(), 1, "{d:?}: {v:?}");
            assert_eq!(v.option_150.len(), 1, "{d:?}: {v:?}");
            assert_eq!(
                v.tftp_addresses(),
                vec![Ipv4Addr::new(10, 0, 0, 5)],
                "{d:?}"
            );
            assert!(v.hands_to_every_phone(), "{d:?}");
            if d != Dialect::Ios {
                let v = DhcpView::parse_config("x", &snippet(d, &req(vec![mac])));
                assert!(!v.option_66.is_empty(), "{d:?}: {v:?}");
                assert!(!v.hands_to_every_phone(), "{d:?}: {v:?}");
            }
        }
    }

    #[test]
    fn option_150_only() {
        let v = DhcpView::parse_config(
            "dnsmasq.conf",
            "# CallManager\ndhcp-range=10.0.0.10,10.0.0.99\ndhcp-option=150,10.0.0.2\n",
        );
        assert!(v.option_66.is_empty());
        assert_eq!(v.option_150[0].line, Some(3));
        let v = DhcpView::parse_config(
            "dhcpd.conf",
            "option cisco-tftp code 150 = array of ip-address;\nsubnet 10.0.0.0 netmask 255.255.255.0 {\n  option cisco-tftp 10.0.0.2;\n}\n",
        );
        assert!(v.option_66.is_empty());
        assert_eq!(v.option_150[0].value, "10.0.0.2");
        assert!(v.hands_to_every_phone());
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,300}") {
            let _ = DhcpView::parse_config("x", &s);
        }
    }
}

//! Asks a real DHCP server what it hands a 7960, and judges the answer by
//! the reference's rule (SIP: option 66; SCCP: option 150).
//!
//! The judgement ([`ProbeReport::from_offer`]) is pure; [`probe`] only adds
//! the socket work, so the rule is tested without a network.

use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use phoneflip_device::{Mac, Model};
use serde::Serialize;
use socket2::{Domain, Protocol as SockProto, SockAddr, Socket, Type};

use crate::wire::{Message, MessageType, OPT_SERVER_ID};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Ok,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    pub server: Option<Ipv4Addr>,
    pub offered_address: Ipv4Addr,
    pub option_66: Option<String>,
    pub option_150: Option<Vec<Ipv4Addr>>,
    pub sip_phones_find_tftp: bool,
    pub sccp_phones_find_tftp: bool,
    pub findings: Vec<Finding>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot open a DHCP client socket on interface {interface:?} (port 68): {source}; run as root, check the interface name with `ip link`, and stop any DHCP client holding port 68")]
    Socket {
        interface: String,
        source: io::Error,
    },
    #[error("no DHCP offer on interface {interface:?} within {seconds} s: is a DHCP server on that segment, or a relay (ip helper-address) forwarding to it?")]
    NoOffer { interface: String, seconds: u64 },
    #[error("sending the DHCPDISCOVER on {interface:?} failed: {source}")]
    Send {
        interface: String,
        source: io::Error,
    },
}

impl ProbeReport {
    /// The reference's rule applied to one OFFER.
    pub fn from_offer(offer: &Message) -> ProbeReport {
        let option_66 = offer.tftp_server_name().filter(|s| !s.is_empty());
        let option_150 = offer.cisco_tftp_servers().filter(|v| !v.is_empty());
        let mut findings = Vec::new();
        let f = |severity, message: String| Finding { severity, message };
        match &option_66 {
            Some(name) => findings.push(f(
                Severity::Ok,
                format!("option 66 = {name:?}: phones running SIP find their TFTP server"),
            )),
            None if option_150.is_some() => findings.push(f(
                Severity::Error,
                "option 150 without option 66: phones converted to SIP will not find their TFTP server (SIP loads read only option 66; set option 66 or each phone's Alternate TFTP Server)".into(),
            )),
            None => findings.push(f(
                Severity::Error,
                "no option 66: phones running SIP will not find a TFTP server unless each has an Alternate TFTP Server set by hand".into(),
            )),
        }
        match &option_150 {
            Some(list) => findings.push(f(
                Severity::Ok,
                format!(
                    "option 150 = {}: phones running SCCP find their TFTP server",
                    list.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
                ),
            )),
            None => findings.push(f(
                Severity::Warning,
                "no option 150: phones still running SCCP rely on option 66 or a manual TFTP server".into(),
            )),
        }
        if let (Some(name), Some(list)) = (&option_66, &option_150) {
            if let Ok(addr) = name.parse::<Ipv4Addr>() {
                if !list.contains(&addr) {
                    findings.push(f(
                        Severity::Warning,
                        format!("option 66 ({addr}) and option 150 ({}) name different servers: SIP and SCCP phones will read different TFTP roots", list[0]),
                    ));
                }
            }
        }
        ProbeReport {
            server: offer
                .option(OPT_SERVER_ID)
                .filter(|v| v.len() == 4)
                .map(|v| Ipv4Addr::new(v[0], v[1], v[2], v[3])),
            offered_address: offer.yiaddr,
            sip_phones_find_tftp: option_66.is_some(),
            sccp_phones_find_tftp: option_150.is_some() || option_66.is_some(),
            option_66,
            option_150,
            findings,
        }
    }
}

/// Broadcasts a DISCOVER on `interface` as a phone of `model` with `mac`
/// would, and judges the first OFFER. Needs root (port 68, bind to device).
pub fn probe(
    interface: &str,
    mac: Mac,
    model: Model,
    wait: Duration,
) -> Result<ProbeReport, ProbeError> {
    let sock_err = |source| ProbeError::Socket {
        interface: interface.to_string(),
        source,
    };
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(SockProto::UDP)).map_err(sock_err)?;
    s.set_reuse_address(true).map_err(sock_err)?;
    s.set_broadcast(true).map_err(sock_err)?;
    s.bind_device(Some(interface.as_bytes()))
        .map_err(sock_err)?;
    s.bind(&SockAddr::from(SocketAddrV4::new(
        Ipv4Addr::UNSPECIFIED,
        68,
    )))
    .map_err(sock_err)?;
    let xid = u32::from_be_bytes([
        mac.bytes()[2],
        mac.bytes()[3],
        mac.bytes()[4],
        mac.bytes()[5],
    ]) ^ std::process::id();
    let discover = Message::discover(mac, xid, model.vendor_class()).to_bytes();
    let dest = SocketAddrV4::new(Ipv4Addr::BROADCAST, 67);
    let deadline = Instant::now() + wait;
    let mut next_send = Instant::now();
    let s: std::net::UdpSocket = s.into();
    let mut buf = [0u8; 1500];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(ProbeError::NoOffer {
                interface: interface.to_string(),
                seconds: wait.as_secs(),
            });
        }
        if now >= next_send {
            s.send_to(&discover, dest)
                .map_err(|source| ProbeError::Send {
                    interface: interface.to_string(),
                    source,
                })?;
            next_send = now + Duration::from_secs(2);
        }
        let until = next_send
            .min(deadline)
            .saturating_duration_since(Instant::now());
        s.set_read_timeout(Some(until.max(Duration::from_millis(10))))
            .map_err(sock_err)?;
        match s.recv(&mut buf) {
            Ok(n) => {
                if let Ok(m) = Message::parse(&buf[..n]) {
                    if m.op == 2 && m.xid == xid && m.message_type() == Some(MessageType::Offer) {
                        return Ok(ProbeReport::from_offer(&m));
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(sock_err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{OPT_CISCO_TFTP, OPT_MESSAGE_TYPE, OPT_TFTP_SERVER_NAME};

    fn offer(opts: Vec<(u8, Vec<u8>)>) -> Message {
        let mut m = Message::discover("002094D245CB".parse().unwrap(), 1, "x");
        m.op = 2;
        m.options = vec![(OPT_MESSAGE_TYPE, vec![2])];
        m.options.extend(opts);
        m
    }

    #[test]
    fn option_150_alone_strands_sip_phones() {
        let r = ProbeReport::from_offer(&offer(vec![(OPT_CISCO_TFTP, vec![10, 0, 0, 5])]));
        assert!(!r.sip_phones_find_tftp);
        assert!(r.sccp_phones_find_tftp);
        assert!(r
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error
                && f.message.contains("option 150 without option 66")));
    }

    #[test]
    fn both_options_agreeing_is_clean() {
        let r = ProbeReport::from_offer(&offer(vec![
            (OPT_TFTP_SERVER_NAME, b"10.0.0.5".to_vec()),
            (OPT_CISCO_TFTP, vec![10, 0, 0, 5]),
        ]));
        assert!(r.sip_phones_find_tftp && r.sccp_phones_find_tftp);
        assert!(
            r.findings.iter().all(|f| f.severity == Severity::Ok),
            "{:?}",
            r.findings
        );
    }

    #[test]
    fn disagreeing_servers_are_flagged() {
        let r = ProbeReport::from_offer(&offer(vec![
            (OPT_TFTP_SERVER_NAME, b"10.0.0.5".to_vec()),
            (OPT_CISCO_TFTP, vec![10, 0, 0, 6]),
        ]));
        assert!(
            r.findings
                .iter()
                .any(|f| f.severity == Severity::Warning
                    && f.message.contains("different TFTP roots"))
        );
    }
}

//! A minimal DHCPv4 codec (RFC 2131/2132): enough to send a DISCOVER that
//! looks like a 7960's and to read the options of the OFFER that answers.

use std::net::Ipv4Addr;

use phoneflip_device::Mac;

pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
pub const OPT_PAD: u8 = 0;
pub const OPT_END: u8 = 255;
pub const OPT_MESSAGE_TYPE: u8 = 53;
pub const OPT_VENDOR_CLASS: u8 = 60;
pub const OPT_PARAM_REQUEST: u8 = 55;
pub const OPT_TFTP_SERVER_NAME: u8 = 66;
pub const OPT_CISCO_TFTP: u8 = 150;
pub const OPT_SERVER_ID: u8 = 54;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
}

impl MessageType {
    fn from_u8(v: u8) -> Option<MessageType> {
        use MessageType::*;
        Some(match v {
            1 => Discover,
            2 => Offer,
            3 => Request,
            4 => Decline,
            5 => Ack,
            6 => Nak,
            7 => Release,
            8 => Inform,
            _ => return None,
        })
    }
}

/// A DHCP message: the BOOTP fields phoneflip cares about and the options
/// in the order they appeared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub op: u8,
    pub xid: u32,
    pub broadcast: bool,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    pub chaddr: [u8; 6],
    pub options: Vec<(u8, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("DHCP packet is {0} bytes, shorter than the 240-byte BOOTP header and cookie")]
    Short(usize),
    #[error("DHCP packet lacks the magic cookie 99.130.83.99 at offset 236")]
    NoCookie,
    #[error("DHCP option {code} at offset {offset} claims {len} bytes but the packet ends first")]
    Truncated { code: u8, offset: usize, len: usize },
}

fn ip(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

impl Message {
    /// A DISCOVER as a 7940/7960 sends it: its MAC, its vendor class, and a
    /// request for the TFTP options of both protocols.
    pub fn discover(mac: Mac, xid: u32, vendor_class: &str) -> Message {
        Message {
            op: 1,
            xid,
            broadcast: true,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            siaddr: Ipv4Addr::UNSPECIFIED,
            giaddr: Ipv4Addr::UNSPECIFIED,
            chaddr: mac.bytes(),
            options: vec![
                (OPT_MESSAGE_TYPE, vec![MessageType::Discover as u8]),
                (OPT_VENDOR_CLASS, vendor_class.as_bytes().to_vec()),
                (
                    OPT_PARAM_REQUEST,
                    vec![1, 3, 6, 15, 42, OPT_TFTP_SERVER_NAME, OPT_CISCO_TFTP],
                ),
            ],
        }
    }

    pub fn option(&self, code: u8) -> Option<&[u8]> {
        self.options
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, v)| v.as_slice())
    }

    pub fn message_type(&self) -> Option<MessageType> {
        self.option(OPT_MESSAGE_TYPE)
            .and_then(|v| v.first().copied())
            .and_then(MessageType::from_u8)
    }

    /// Option 66 as text (servers may or may not NUL-terminate it).
    pub fn tftp_server_name(&self) -> Option<String> {
        self.option(OPT_TFTP_SERVER_NAME).map(|v| {
            String::from_utf8_lossy(v)
                .trim_end_matches('\0')
                .to_string()
        })
    }

    /// Option 150: a list of addresses. A length that is not a multiple of
    /// four is malformed; the whole addresses are still returned.
    pub fn cisco_tftp_servers(&self) -> Option<Vec<Ipv4Addr>> {
        self.option(OPT_CISCO_TFTP)
            .map(|v| v.chunks_exact(4).map(ip).collect())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; 236];
        b[0] = self.op;
        b[1] = 1; // Ethernet
        b[2] = 6;
        b[4..8].copy_from_slice(&self.xid.to_be_bytes());
        if self.broadcast {
            b[10] = 0x80;
        }
        b[12..16].copy_from_slice(&self.ciaddr.octets());
        b[16..20].copy_from_slice(&self.yiaddr.octets());
        b[20..24].copy_from_slice(&self.siaddr.octets());
        b[24..28].copy_from_slice(&self.giaddr.octets());
        b[28..34].copy_from_slice(&self.chaddr);
        b.extend_from_slice(&MAGIC_COOKIE);
        for (code, val) in &self.options {
            // Options longer than 255 bytes are split (RFC 3396).
            for chunk in val.chunks(255).chain(val.is_empty().then_some(&[][..])) {
                b.push(*code);
                b.push(chunk.len() as u8);
                b.extend_from_slice(chunk);
            }
        }
        b.push(OPT_END);
        while b.len() < 300 {
            b.push(OPT_PAD);
        }
        b
    }

    pub fn parse(b: &[u8]) -> Result<Message, WireError> {
        if b.len() < 240 {
            return Err(WireError::Short(b.len()));
        }
        if b[236..240] != MAGIC_COOKIE {
            return Err(WireError::NoCookie);
        }
        let mut options: Vec<(u8, Vec<u8>)> = Vec::new();
        let mut i = 240;
        while i < b.len() {
            let code = b[i];
            match code {
                OPT_PAD => i += 1,
                OPT_END => break,
                _ => {
                    let len = *b.get(i + 1).ok_or(WireError::Truncated {
                        code,
                        offset: i,
                        len: 0,
                    })? as usize;
                    let val = b.get(i + 2..i + 2 + len).ok_or(WireError::Truncated {
                        code,
                        offset: i,
                        len,
                    })?;
                    // RFC 3396: repeated options concatenate.
                    match options.iter_mut().find(|(c, _)| *c == code) {
                        Some((_, v)) => v.extend_from_slice(val),
                        None => options.push((code, val.to_vec())),
                    }
                    i += 2 + len;
                }
            }
        }
        let mut chaddr = [0u8; 6];
        chaddr.copy_from_slice(&b[28..34]);
        Ok(Message {
            op: b[0],
            xid: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            broadcast: b[10] & 0x80 != 0,
            ciaddr: ip(&b[12..16]),
            yiaddr: ip(&b[16..20]),
            siaddr: ip(&b[20..24]),
            giaddr: ip(&b[24..28]),
            chaddr,
            options,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn discover_carries_vendor_class_and_requests_66_and_150() {
        let mac: Mac = "002094D245CB".parse().unwrap();
        let d = Message::discover(mac, 7, "Cisco Systems, Inc. IP Phone CP-7960G");
        let p = Message::parse(&d.to_bytes()).unwrap();
        assert_eq!(p, d);
        assert_eq!(p.message_type(), Some(MessageType::Discover));
        let req = p.option(OPT_PARAM_REQUEST).unwrap();
        assert!(req.contains(&66) && req.contains(&150));
    }

    #[test]
    fn reads_tftp_options() {
        let mut m = Message::discover("002094D245CB".parse().unwrap(), 1, "x");
        m.options = vec![
            (OPT_MESSAGE_TYPE, vec![2]),
            (OPT_TFTP_SERVER_NAME, b"10.1.1.5\0".to_vec()),
            (OPT_CISCO_TFTP, vec![10, 1, 1, 5, 10, 1, 1, 6]),
        ];
        let p = Message::parse(&m.to_bytes()).unwrap();
        assert_eq!(p.message_type(), Some(MessageType::Offer));
        assert_eq!(p.tftp_server_name().as_deref(), Some("10.1.1.5"));
        assert_eq!(
            p.cisco_tftp_servers().unwrap(),
            vec![Ipv4Addr::new(10, 1, 1, 5), Ipv4Addr::new(10, 1, 1, 6)]
        );
    }

    #[test]
    fn malformed_packets_are_named() {
        assert_eq!(Message::parse(&[0; 10]), Err(WireError::Short(10)));
        assert_eq!(Message::parse(&[0; 300]), Err(WireError::NoCookie));
        let mut b = Message::discover("002094D245CB".parse().unwrap(), 1, "x").to_bytes();
        b.truncate(240);
        b.extend_from_slice(&[66, 20, b'a']);
        assert!(matches!(
            Message::parse(&b),
            Err(WireError::Truncated { code: 66, .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trips(xid in any::<u32>(), mac in any::<[u8; 6]>(), yi in any::<[u8; 4]>(),
                       opts in proptest::collection::vec((1u8..=254, proptest::collection::vec(any::<u8>(), 1..300)), 0..6)) {
            let mut m = Message::discover(Mac::new(mac), xid, "v");
            m.yiaddr = Ipv4Addr::from(yi);
            // One entry per code: repeated codes concatenate on the wire.
            let mut seen = std::collections::BTreeSet::new();
            m.options = opts.into_iter().filter(|(c, _)| seen.insert(*c)).collect();
            prop_assert_eq!(Message::parse(&m.to_bytes()).unwrap(), m);
        }

        #[test]
        fn parse_never_panics(b in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Message::parse(&b);
        }
    }
}

//! TFTP packets (RFC 1350, OACK from RFC 2347) as bytes on the wire.
//!
//! Parsing never panics and never trusts a length: every field is checked
//! against the datagram, because the server's request socket is open to the
//! whole network. Writing produces exactly what parsing accepts, so the two
//! round-trip.

use std::fmt;

pub const OP_RRQ: u16 = 1;
pub const OP_WRQ: u16 = 2;
pub const OP_DATA: u16 = 3;
pub const OP_ACK: u16 = 4;
pub const OP_ERROR: u16 = 5;
pub const OP_OACK: u16 = 6;

/// Transfer mode of a request. `mail` is parsed so that it can be refused
/// with a proper error instead of a parse failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Netascii,
    Octet,
    Mail,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Netascii => "netascii",
            Mode::Octet => "octet",
            Mode::Mail => "mail",
        }
    }

    fn parse(s: &str) -> Option<Mode> {
        if s.eq_ignore_ascii_case("octet") {
            Some(Mode::Octet)
        } else if s.eq_ignore_ascii_case("netascii") {
            Some(Mode::Netascii)
        } else if s.eq_ignore_ascii_case("mail") {
            Some(Mode::Mail)
        } else {
            None
        }
    }
}

/// RFC 1350 / RFC 2347 error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum ErrorCode {
    NotDefined = 0,
    FileNotFound = 1,
    AccessViolation = 2,
    DiskFull = 3,
    IllegalOperation = 4,
    UnknownTid = 5,
    FileExists = 6,
    NoSuchUser = 7,
    OptionRefused = 8,
}

impl ErrorCode {
    pub fn code(self) -> u16 {
        self as u16
    }
}

/// A read or write request with its RFC 2347 options, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub filename: String,
    pub mode: Mode,
    /// Option names keep the client's spelling; negotiation compares them
    /// case-insensitively as RFC 2347 requires.
    pub options: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Rrq(Request),
    Wrq(Request),
    Data { block: u16, data: Vec<u8> },
    Ack { block: u16 },
    Error { code: u16, message: String },
    Oack { options: Vec<(String, String)> },
}

/// Why a datagram is not a TFTP packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("TFTP packet of {0} bytes is too short: every packet starts with a 2-byte opcode")]
    TooShort(usize),
    #[error("unknown TFTP opcode {0}: expected 1 (RRQ) to 6 (OACK)")]
    UnknownOpcode(u16),
    #[error("TFTP {op} packet: {field} is not terminated by a NUL byte")]
    MissingNul {
        op: &'static str,
        field: &'static str,
    },
    #[error("TFTP {op} packet: {field} is not valid UTF-8/ASCII text")]
    NotText {
        op: &'static str,
        field: &'static str,
    },
    #[error(
        "TFTP request for {filename:?} has unknown transfer mode {mode:?}: use octet or netascii"
    )]
    UnknownMode { filename: String, mode: String },
    #[error("TFTP request has an empty file name")]
    EmptyFilename,
    #[error("TFTP {op} packet of {len} bytes has the wrong length: expected {expected}")]
    BadLength {
        op: &'static str,
        len: usize,
        expected: &'static str,
    },
}

/// Splits NUL-terminated strings off the front of `buf`.
struct Fields<'a> {
    buf: &'a [u8],
    op: &'static str,
}

impl<'a> Fields<'a> {
    fn next_str(&mut self, field: &'static str) -> Result<Option<&'a str>, PacketError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let Some(end) = self.buf.iter().position(|&b| b == 0) else {
            return Err(PacketError::MissingNul { op: self.op, field });
        };
        let s = std::str::from_utf8(&self.buf[..end])
            .map_err(|_| PacketError::NotText { op: self.op, field })?;
        self.buf = &self.buf[end + 1..];
        Ok(Some(s))
    }

    fn required(&mut self, field: &'static str) -> Result<&'a str, PacketError> {
        self.next_str(field)?
            .ok_or(PacketError::MissingNul { op: self.op, field })
    }

    /// Option pairs until the end. A dangling name without a value is
    /// dropped: some clients pad requests, and RFC 2347 says unknown or
    /// malformed options are simply not acknowledged.
    fn options(&mut self) -> Result<Vec<(String, String)>, PacketError> {
        let mut out = Vec::new();
        loop {
            let name = match self.next_str("option name") {
                Ok(Some(n)) => n,
                Ok(None) | Err(PacketError::MissingNul { .. }) => break,
                Err(e) => return Err(e),
            };
            match self.next_str("option value") {
                Ok(Some(value)) => out.push((name.to_string(), value.to_string())),
                Ok(None) | Err(PacketError::MissingNul { .. }) => break,
                Err(e) => return Err(e),
            }
            if out.len() > 64 {
                break;
            }
        }
        Ok(out)
    }
}

fn parse_request(body: &[u8], op: &'static str) -> Result<Request, PacketError> {
    let mut f = Fields { buf: body, op };
    let filename = f.required("file name")?;
    if filename.is_empty() {
        return Err(PacketError::EmptyFilename);
    }
    let mode_s = f.required("mode")?;
    let mode = Mode::parse(mode_s).ok_or_else(|| PacketError::UnknownMode {
        filename: filename.to_string(),
        mode: mode_s.to_string(),
    })?;
    let options = f.options()?;
    Ok(Request {
        filename: filename.to_string(),
        mode,
        options,
    })
}

/// Reads the opcode, for fast paths that only need to know the kind.
pub fn opcode(buf: &[u8]) -> Option<u16> {
    (buf.len() >= 2).then(|| u16::from_be_bytes([buf[0], buf[1]]))
}

impl Packet {
    pub fn parse(buf: &[u8]) -> Result<Packet, PacketError> {
        let op = opcode(buf).ok_or(PacketError::TooShort(buf.len()))?;
        let body = &buf[2..];
        match op {
            OP_RRQ => Ok(Packet::Rrq(parse_request(body, "RRQ")?)),
            OP_WRQ => Ok(Packet::Wrq(parse_request(body, "WRQ")?)),
            OP_DATA => {
                if body.len() < 2 {
                    return Err(PacketError::BadLength {
                        op: "DATA",
                        len: buf.len(),
                        expected: "at least 4",
                    });
                }
                Ok(Packet::Data {
                    block: u16::from_be_bytes([body[0], body[1]]),
                    data: body[2..].to_vec(),
                })
            }
            OP_ACK => {
                // Some clients pad ACKs; only the block number matters.
                if body.len() < 2 {
                    return Err(PacketError::BadLength {
                        op: "ACK",
                        len: buf.len(),
                        expected: "4",
                    });
                }
                Ok(Packet::Ack {
                    block: u16::from_be_bytes([body[0], body[1]]),
                })
            }
            OP_ERROR => {
                if body.len() < 2 {
                    return Err(PacketError::BadLength {
                        op: "ERROR",
                        len: buf.len(),
                        expected: "at least 4",
                    });
                }
                let code = u16::from_be_bytes([body[0], body[1]]);
                // The message is advisory: accept it unterminated or in any
                // encoding rather than lose the error code.
                let raw = &body[2..];
                let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                let message = String::from_utf8_lossy(&raw[..end]).into_owned();
                Ok(Packet::Error { code, message })
            }
            OP_OACK => {
                let mut f = Fields {
                    buf: body,
                    op: "OACK",
                };
                Ok(Packet::Oack {
                    options: f.options()?,
                })
            }
            other => Err(PacketError::UnknownOpcode(other)),
        }
    }

    /// Appends the wire form to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        fn s(out: &mut Vec<u8>, v: &str) {
            out.extend_from_slice(v.as_bytes());
            out.push(0);
        }
        match self {
            Packet::Rrq(r) | Packet::Wrq(r) => {
                let op = if matches!(self, Packet::Rrq(_)) {
                    OP_RRQ
                } else {
                    OP_WRQ
                };
                out.extend_from_slice(&op.to_be_bytes());
                s(out, &r.filename);
                s(out, r.mode.as_str());
                for (k, v) in &r.options {
                    s(out, k);
                    s(out, v);
                }
            }
            Packet::Data { block, data } => {
                write_data_header(out, *block);
                out.extend_from_slice(data);
            }
            Packet::Ack { block } => write_ack(out, *block),
            Packet::Error { code, message } => write_error(out, *code, message),
            Packet::Oack { options } => {
                out.extend_from_slice(&OP_OACK.to_be_bytes());
                for (k, v) in options {
                    s(out, k);
                    s(out, v);
                }
            }
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write(&mut v);
        v
    }
}

pub fn write_data_header(out: &mut Vec<u8>, block: u16) {
    out.extend_from_slice(&OP_DATA.to_be_bytes());
    out.extend_from_slice(&block.to_be_bytes());
}

pub fn write_ack(out: &mut Vec<u8>, block: u16) {
    out.extend_from_slice(&OP_ACK.to_be_bytes());
    out.extend_from_slice(&block.to_be_bytes());
}

pub fn write_error(out: &mut Vec<u8>, code: u16, message: &str) {
    out.extend_from_slice(&OP_ERROR.to_be_bytes());
    out.extend_from_slice(&code.to_be_bytes());
    // A NUL inside the message would truncate it on the wire; drop them.
    out.extend(message.bytes().filter(|&b| b != 0));
    out.push(0);
}

impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Packet::Rrq(r) => write!(f, "RRQ {:?} {}", r.filename, r.mode.as_str()),
            Packet::Wrq(r) => write!(f, "WRQ {:?} {}", r.filename, r.mode.as_str()),
            Packet::Data { block, data } => write!(f, "DATA {block} ({} bytes)", data.len()),
            Packet::Ack { block } => write!(f, "ACK {block}"),
            Packet::Error { code, message } => write!(f, "ERROR {code} {message:?}"),
            Packet::Oack { options } => write!(f, "OACK {options:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "[^\u{0}]{0,20}"
    }
    fn nonempty() -> impl Strategy<Value = String> {
        "[^\u{0}]{1,20}"
    }
    fn options() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec((nonempty(), text()), 0..5)
    }
    fn request() -> impl Strategy<Value = Request> {
        (
            nonempty(),
            prop_oneof![Just(Mode::Octet), Just(Mode::Netascii), Just(Mode::Mail)],
            options(),
        )
            .prop_map(|(filename, mode, options)| Request {
                filename,
                mode,
                options,
            })
    }
    fn packet() -> impl Strategy<Value = Packet> {
        prop_oneof![
            request().prop_map(Packet::Rrq),
            request().prop_map(Packet::Wrq),
            (any::<u16>(), prop::collection::vec(any::<u8>(), 0..600))
                .prop_map(|(block, data)| Packet::Data { block, data }),
            any::<u16>().prop_map(|block| Packet::Ack { block }),
            (any::<u16>(), text()).prop_map(|(code, message)| Packet::Error { code, message }),
            options().prop_map(|options| Packet::Oack { options }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(p in packet()) {
            let bytes = p.to_vec();
            prop_assert_eq!(Packet::parse(&bytes).unwrap(), p);
        }

        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
            let _ = Packet::parse(&bytes);
        }

        #[test]
        fn option_value_with_nul_survives_as_separate_field(a in nonempty(), b in nonempty()) {
            let p = Packet::Oack { options: vec![(a.clone(), b.clone())] };
            let parsed = Packet::parse(&p.to_vec()).unwrap();
            prop_assert_eq!(parsed, Packet::Oack { options: vec![(a, b)] });
        }
    }

    #[test]
    fn plain_phone_request() {
        let wire = b"\x00\x01SIP002094D245CB.cnf\x00octet\x00";
        let p = Packet::parse(wire).unwrap();
        assert_eq!(
            p,
            Packet::Rrq(Request {
                filename: "SIP002094D245CB.cnf".into(),
                mode: Mode::Octet,
                options: vec![]
            })
        );
        assert_eq!(p.to_vec(), wire);
    }

    #[test]
    fn mode_is_case_insensitive_and_unknown_mode_is_named() {
        let p = Packet::parse(b"\x00\x01a\x00OCTET\x00").unwrap();
        assert!(matches!(
            p,
            Packet::Rrq(Request {
                mode: Mode::Octet,
                ..
            })
        ));
        let e = Packet::parse(b"\x00\x01a\x00binary\x00").unwrap_err();
        assert!(e.to_string().contains("binary"), "{e}");
    }

    #[test]
    fn truncated_and_unknown_packets_are_errors() {
        assert_eq!(Packet::parse(b""), Err(PacketError::TooShort(0)));
        assert_eq!(Packet::parse(b"\x00"), Err(PacketError::TooShort(1)));
        assert_eq!(
            Packet::parse(b"\x00\x09"),
            Err(PacketError::UnknownOpcode(9))
        );
        assert!(Packet::parse(b"\x00\x01file").is_err());
        assert!(Packet::parse(b"\x00\x01file\x00octet").is_err());
        assert!(Packet::parse(b"\x00\x01\x00octet\x00").is_err());
        assert!(Packet::parse(b"\x00\x04\x00").is_err());
        assert!(Packet::parse(b"\x00\x03\x00").is_err());
    }

    #[test]
    fn dangling_option_name_is_dropped() {
        let p = Packet::parse(b"\x00\x01f\x00octet\x00blksize\x001428\x00tsize").unwrap();
        let Packet::Rrq(r) = p else { panic!() };
        assert_eq!(r.options, vec![("blksize".into(), "1428".into())]);
    }

    #[test]
    fn error_message_unterminated_is_accepted() {
        assert_eq!(
            Packet::parse(b"\x00\x05\x00\x08tsize").unwrap(),
            Packet::Error {
                code: 8,
                message: "tsize".into()
            }
        );
    }
}

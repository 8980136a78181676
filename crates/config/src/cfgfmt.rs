//! Cisco's `cfgfmt`, natively: `gkdefault.txt` + the tag table that ships
//! with the SIP firmware (`sip_ptag.dat`) → the binary `gkdefault.cfg`
//! (also served as `gk<MAC>`), and back.
//!
//! phoneflip ships no Cisco data: the tag table is always the user's file,
//! parsed by [`TagTable::parse`]. [`compile`] is a pure function; [`decode`]
//! reads a binary profile back into [`Profile`], whose [`Profile::to_text`]
//! compiles to the same bytes again.
//!
//! # The format
//!
//! Worked out from the one known pair (Cisco's output for the 7912's
//! `gkdefault.txt` and `sip_ptag7912.dat`, in `../shared/corpus/cfgfmt`):
//!
//! ```text
//! 23 61 74 61              "#ata"                         magic
//! ff fe 04 09 42 00 38 91  header (8 bytes, see below)
//! 00 2f                    tag 0 (upgradecode), length 47
//!   03                     field 1 (3), u8
//!   00 00 06 01            field 2 (0x601), u32 big-endian
//!   04 00                  field 3 (0x0400), u16
//!   01 00                  field 4 (0x0100), u16
//!   00 00 00 00            TFTP server 0.0.0.0
//!   00 45                  port 69, u16
//!   00 60 11 1a            version code 0x060111a, u32
//!   43 50 … 6e 00          image name, NUL-terminated
//! 17 04 31 32 33 34        tag 23 (UIPassword), length 4, "1234"
//! ```
//!
//! * After the magic and the header, the profile is a sequence of TLVs,
//!   each a **one-byte tag, a one-byte length and the value**, in the order
//!   of the text's lines. This reading parses the file exactly to its end;
//!   reading the tag as 16 bits does not (the upgradecode's length byte
//!   would then not match its value). So tags above 255 (the table's
//!   `1001`…`1021`) have no established binary form: [`compile`] refuses
//!   them rather than guess.
//! * `upgradecode` is not in the table; it is tag 0 with the layout above.
//!   The widths of fields 1 and 2 (u8, u32) are read from this one sample
//!   (`03 | 00 00 06 01`); fields 3–7 are unambiguous.
//! * A `digits` value (0x0008, UIPassword) is its ASCII text, not padded to
//!   the table's size and not NUL-terminated. This is the only table format
//!   the sample shows. The others are encoded the way the table's sizes and
//!   the upgradecode's big-endian fields imply; they are **not verified**
//!   against Cisco's output:
//!   - IP address (0x0002): 4 bytes, network order;
//!   - 32-bit integer (0x0004, with or without 0x0008): `size` bytes
//!     big-endian (4 in the real table), written in decimal;
//!   - hex (0x0200): the same bytes, written `0x…` in the text;
//!   - alphabetic (0x0010): the ASCII text, unpadded, like digits;
//!   - boolean (0x0020): one byte, 0 or 1;
//!   - array of shorts (0x0040): comma-separated numbers, 2 bytes each,
//!     big-endian;
//!   - IP.PORT (0x0080): `a.b.c.d.port`, 4 bytes of address and 2 of port.
//!
//!   The tone format (0x0100, "to be obsoleted", absent from the 7912's
//!   table) is refused. Bits 0x4000 (`-g`) and 0x8000 (extended profile
//!   over 2000 bytes) do not change a value's encoding; phoneflip has no
//!   `-g` and writes one profile.
//! * **The 8 header bytes are not established.** They are not the length
//!   (67 bytes, 55 after the header) and match no 8/16/32-bit sum,
//!   ones-complement sum, Fletcher, Adler-32, CRC-32 or any CRC-16
//!   polynomial (init 0/0xffff, reflected or not, xorout 0/0xffff) over any
//!   range of the file or of the text, nor an MD5/SHA prefix: they may hold
//!   a checksum of another kind, a time stamp or a random seed. [`compile`]
//!   writes [`CISCO_HEADER`], the bytes of the one known output, so the
//!   corpus pair is reproduced byte for byte; whether a phone accepts them in
//!   front of another body is unknown until a second real pair is compared.
//!   [`decode`] accepts any header and keeps it in [`Profile::header`].
//! * `EncryptKey` (RC4-encrypted profiles) is refused: nothing in the data
//!   shows how the key is applied.
//! * The 16-byte SCCP `gkdefault.cfg` of the same repository is plain text
//!   (`UIPassword:7912\n`), not this format: [`decode`] says so.
//!
//! The text: `#txt` on the first line, then `name:value` lines; blank lines
//! and lines starting with `#` are ignored; space around the name and the
//! value is ignored. Each name is looked up in the table exactly (case
//! matters) and may appear once.

use std::fmt;
use std::net::Ipv4Addr;

/// The 8 bytes after `#ata` in the one known output of Cisco's `cfgfmt`;
/// see the module documentation for what is (not) known about them.
pub const CISCO_HEADER: [u8; 8] = [0xff, 0xfe, 0x04, 0x09, 0x42, 0x00, 0x38, 0x91];

/// The magic every binary profile starts with.
pub const MAGIC: &[u8; 4] = b"#ata";

/// The tag `upgradecode` is written with (it is not in the tag table).
pub const UPGRADECODE_TAG: u8 = 0;

/// The format bits of a table line's `tagFmtBit`.
pub mod bits {
    pub const IP: u16 = 0x0002;
    pub const INT: u16 = 0x0004;
    pub const DIGITS: u16 = 0x0008;
    pub const ALPHA: u16 = 0x0010;
    pub const BOOL: u16 = 0x0020;
    pub const SHORTS: u16 = 0x0040;
    pub const IP_PORT: u16 = 0x0080;
    pub const TONE: u16 = 0x0100;
    pub const HEX: u16 = 0x0200;
    pub const NO_ATA_MAC: u16 = 0x4000;
    pub const EXTENDED: u16 = 0x8000;
}

/// How a value is written, from its `tagFmtBit` (the first bit that
/// applies, in this order: tone, IP.PORT, array, IP, boolean, hex,
/// integer, digits, alphabetic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Tone,
    IpPort,
    Shorts,
    Ip,
    Bool,
    Hex,
    Int,
    Digits,
    Alpha,
}

impl Format {
    pub fn from_bits(b: u16) -> Option<Format> {
        use bits::*;
        [
            (TONE, Format::Tone),
            (IP_PORT, Format::IpPort),
            (SHORTS, Format::Shorts),
            (IP, Format::Ip),
            (BOOL, Format::Bool),
            (HEX, Format::Hex),
            (INT, Format::Int),
            (DIGITS, Format::Digits),
            (ALPHA, Format::Alpha),
        ]
        .into_iter()
        .find(|(bit, _)| b & bit != 0)
        .map(|(_, f)| f)
    }
}

/// One line of the tag table: `tag,tagFmtBit,nameStr,size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagDesc {
    pub tag: u16,
    pub fmt_bits: u16,
    pub format: Format,
    pub name: String,
    pub size: usize,
    /// Line in the table file (1-based).
    pub line: usize,
}

/// A parsed tag table (`sip_ptag.dat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagTable {
    file: String,
    entries: Vec<TagDesc>,
}

/// Where a problem is: a line of a text file or a byte of a binary one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Line(usize),
    Byte(usize),
    File,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Line(n) => write!(f, " line {n}"),
            At::Byte(n) => write!(f, " byte {n}"),
            At::File => Ok(()),
        }
    }
}

/// What kind of problem a [`CfgfmtError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A line of the tag table is malformed.
    Table,
    /// The text names a parameter the table does not have.
    UnknownParameter,
    /// A value does not fit its size (or a TLV's 255 bytes).
    TooLong,
    /// A value is not in its format (bad IP, not a number, …).
    BadValue,
    /// The text is not a cfgfmt source (`#txt` missing, no `name:value`).
    BadText,
    /// A parameter is set twice.
    Duplicate,
    /// Something whose binary form is not established (EncryptKey, tags
    /// above 255, the tone format).
    Unsupported,
    /// The binary is not a profile, or is cut short or inconsistent.
    BadBinary,
}

/// Why a table, a text or a binary profile was refused: the file, the
/// place, the problem and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{at}: {problem}; {fix}")]
pub struct CfgfmtError {
    pub kind: ErrorKind,
    pub file: String,
    pub at: At,
    pub problem: String,
    pub fix: String,
}

fn err(kind: ErrorKind, file: &str, at: At, problem: String, fix: &str) -> CfgfmtError {
    CfgfmtError {
        kind,
        file: file.to_string(),
        at,
        problem,
        fix: fix.to_string(),
    }
}

fn text_lines<'a>(
    file: &str,
    bytes: &'a [u8],
) -> Result<impl Iterator<Item = (usize, &'a str)>, CfgfmtError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        err(
            ErrorKind::BadText,
            file,
            At::Line(line),
            "the line is not valid UTF-8 text".into(),
            "save the file as plain ASCII",
        )
    })?;
    Ok(text.split('\n').enumerate().map(|(i, l)| {
        let l = l.strip_suffix('\r').unwrap_or(l);
        (i + 1, l)
    }))
}

fn parse_num(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.is_empty() || h.len() > 16 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(h, 16).ok()
    } else {
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }
}

impl TagTable {
    /// Parses a tag table: `tag,tagFmtBit,nameStr,size` lines, `#`
    /// comments and blank lines.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<TagTable, CfgfmtError> {
        let mut entries: Vec<TagDesc> = Vec::new();
        for (n, line) in text_lines(file, bytes)? {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let bad =
                |problem: String, fix: &str| err(ErrorKind::Table, file, At::Line(n), problem, fix);
            let example = "write it like 23,0x4008,UIPassword,10 (tag,tagFmtBit,nameStr,size)";
            let f: Vec<&str> = t.split(',').map(str::trim).collect();
            if f.len() != 4 {
                return Err(bad(
                    format!("the descriptor has {} fields, not 4", f.len()),
                    example,
                ));
            }
            let tag = parse_num(f[0])
                .and_then(|v| u16::try_from(v).ok())
                .ok_or_else(|| {
                    bad(
                        format!("the tag {:?} is not a number up to 65535", f[0]),
                        example,
                    )
                })?;
            let fmt_bits = parse_num(f[1])
                .and_then(|v| u16::try_from(v).ok())
                .ok_or_else(|| {
                    bad(
                        format!("the tagFmtBit {:?} is not a 16-bit number", f[1]),
                        example,
                    )
                })?;
            let format = Format::from_bits(fmt_bits).ok_or_else(|| {
                bad(
                    format!(
                        "the tagFmtBit {:#06x} has none of the value format bits 0x0002..0x0200",
                        fmt_bits
                    ),
                    "use the table that ships with the phone's SIP firmware",
                )
            })?;
            let name = f[2];
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(bad(
                    format!("the name {name:?} is not a parameter name"),
                    example,
                ));
            }
            if tag == u16::from(UPGRADECODE_TAG) {
                return Err(bad(
                    "tag 0 is upgradecode's, which cfgfmt writes itself".into(),
                    "remove the line",
                ));
            }
            if name == "upgradecode" {
                return Err(bad(
                    "the table defines upgradecode, which cfgfmt writes itself as tag 0".into(),
                    "remove the line",
                ));
            }
            if let Some(prev) = entries.iter().find(|e| e.name == name) {
                return Err(bad(
                    format!("{name} is already defined on line {}", prev.line),
                    "keep one line per name",
                ));
            }
            let size = parse_num(f[3])
                .filter(|&s| (1..=255).contains(&s))
                .ok_or_else(|| {
                    bad(
                        format!("the size {:?} is not a number from 1 to 255", f[3]),
                        example,
                    )
                })? as usize;
            entries.push(TagDesc {
                tag,
                fmt_bits,
                format,
                name: name.to_string(),
                size,
                line: n,
            });
        }
        if entries.is_empty() {
            return Err(err(
                ErrorKind::Table,
                file,
                At::File,
                "the file holds no tag descriptors".into(),
                "pass the sip_ptag.dat that ships with the phone's SIP firmware",
            ));
        }
        Ok(TagTable {
            file: file.to_string(),
            entries,
        })
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn entries(&self) -> &[TagDesc] {
        &self.entries
    }

    pub fn by_name(&self, name: &str) -> Option<&TagDesc> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The first descriptor with this tag (the 7912's table gives tag 112
    /// two names, SRST and Proxy4).
    pub fn by_tag(&self, tag: u16) -> Option<&TagDesc> {
        self.entries.iter().find(|e| e.tag == tag)
    }
}

/// The composite `upgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x060111a,NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    pub field1: u8,
    pub field2: u32,
    pub field3: u16,
    pub field4: u16,
    pub server: Ipv4Addr,
    pub port: u16,
    pub code: u32,
    pub image: String,
}

/// A parameter's value, by format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Upgrade(Upgrade),
    Ip(Ipv4Addr),
    IpPort(Ipv4Addr, u16),
    Int(u32),
    Hex(u32),
    Bool(bool),
    Shorts(Vec<u16>),
    /// Digits or alphabetic text, as written.
    Text(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Upgrade(u) => write!(
                f,
                "{},{:#x},{:#06x},{:#06x},{},{},0x{:07x},{}",
                u.field1, u.field2, u.field3, u.field4, u.server, u.port, u.code, u.image
            ),
            Value::Ip(ip) => write!(f, "{ip}"),
            Value::IpPort(ip, p) => write!(f, "{ip}.{p}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Hex(v) => write!(f, "0x{v:08x}"),
            Value::Bool(b) => write!(f, "{}", u8::from(*b)),
            Value::Shorts(v) => {
                let s: Vec<String> = v.iter().map(u16::to_string).collect();
                f.write_str(&s.join(","))
            }
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// One parameter of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub tag: u8,
    pub value: Value,
}

/// A binary profile as values: its header and its parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub header: [u8; 8],
    pub params: Vec<Param>,
}

/// Compiles `gkdefault.txt` text with a tag table into the binary
/// `gkdefault.cfg`, as `cfgfmt -tsip_ptag.dat gkdefault.txt gkdefault.cfg`
/// does. Errors name the file as `gkdefault.txt`; see [`compile_file`].
pub fn compile(text: &str, table: &TagTable) -> Result<Vec<u8>, CfgfmtError> {
    compile_file("gkdefault.txt", text.as_bytes(), table)
}

/// [`compile`] with the input's file name for the errors.
pub fn compile_file(file: &str, text: &[u8], table: &TagTable) -> Result<Vec<u8>, CfgfmtError> {
    Ok(Profile::from_text(file, text, table)?.to_bytes())
}

/// The `upgradecode` of a binary profile, without a tag table: tag 0 has a
/// fixed layout, and it is all a phone needs to decide whether to fetch a
/// new image (the emulator reads `gkdefault.cfg` with it). `None` when the
/// bytes are not a profile or hold no valid upgradecode.
pub fn upgrade_of(bytes: &[u8]) -> Option<Upgrade> {
    let mut rest = bytes.strip_prefix(b"#ata")?.get(8..)?;
    let none = TagTable {
        file: String::new(),
        entries: Vec::new(),
    };
    while let [tag, len, tail @ ..] = rest {
        let v = tail.get(..usize::from(*len))?;
        if *tag == UPGRADECODE_TAG {
            return match decode_value(*tag, v, &none) {
                Ok((_, Value::Upgrade(u))) => Some(u),
                _ => None,
            };
        }
        rest = &tail[usize::from(*len)..];
    }
    None
}

/// Reads a binary profile back into values.
pub fn decode(file: &str, bytes: &[u8], table: &TagTable) -> Result<Profile, CfgfmtError> {
    Profile::decode(file, bytes, table)
}

fn is_text_char(c: char) -> bool {
    c.is_ascii() && !c.is_ascii_control()
}

fn parse_ip(s: &str) -> Option<Ipv4Addr> {
    // Ipv4Addr's parser is strict: four decimal octets, no leading zeros.
    s.parse().ok()
}

fn encode_value(desc: &TagDesc, v: &str) -> Result<Value, (ErrorKind, String, String)> {
    let bad = |what: &str, fix: String| {
        (
            ErrorKind::BadValue,
            format!("{}'s value {v:?} is not {what}", desc.name),
            fix,
        )
    };
    let too_long = |len: usize| {
        (
            ErrorKind::TooLong,
            format!(
                "{}'s value is {len} bytes, longer than its size {} in {}",
                desc.name, desc.size, "the tag table"
            ),
            format!("shorten it to at most {} bytes", desc.size),
        )
    };
    let name = &desc.name;
    Ok(match desc.format {
        Format::Tone => {
            return Err((
                ErrorKind::Unsupported,
                format!(
                    "{name} uses the tone format (0x0100), whose binary form is not established"
                ),
                format!("remove the {name} line"),
            ))
        }
        Format::Ip => Value::Ip(parse_ip(v).ok_or_else(|| {
            bad(
                "an IPv4 address",
                format!("write it like {name}:192.168.1.10"),
            )
        })?),
        Format::IpPort => {
            let fix = format!("write it like {name}:192.168.1.10.9001 (address, dot, port)");
            let (ip, port) = v
                .rsplit_once('.')
                .ok_or_else(|| bad("IP.PORT", fix.clone()))?;
            let ip = parse_ip(ip).ok_or_else(|| bad("IP.PORT", fix.clone()))?;
            let port = Some(port)
                .filter(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(|| bad("IP.PORT", fix.clone()))?;
            Value::IpPort(ip, port)
        }
        Format::Int | Format::Hex => {
            if desc.size != 4 {
                return Err((
                    ErrorKind::Unsupported,
                    format!(
                        "{name} is an integer of size {} (line {}); only 4-byte integers are established",
                        desc.size, desc.line
                    ),
                    format!("remove the {name} line, or use the tag table that ships with the firmware"),
                ));
            }
            let hex = desc.format == Format::Hex;
            let n = if hex {
                let h = v
                    .strip_prefix("0x")
                    .or_else(|| v.strip_prefix("0X"))
                    .unwrap_or(v);
                if h.is_empty() || h.len() > 8 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    None
                } else {
                    u32::from_str_radix(h, 16).ok()
                }
            } else if v.bytes().all(|b| b.is_ascii_digit()) {
                parse_num(v).and_then(|n| u32::try_from(n).ok())
            } else {
                None
            };
            match (n, hex) {
                (Some(n), true) => Value::Hex(n),
                (Some(n), false) => Value::Int(n),
                (None, true) => {
                    return Err(bad(
                        "a hex number up to 0xffffffff",
                        format!("write it like {name}:0x0000000a"),
                    ))
                }
                (None, false) => {
                    return Err(bad(
                        "a decimal number up to 4294967295",
                        format!("write it like {name}:10"),
                    ))
                }
            }
        }
        Format::Bool => match v {
            "0" => Value::Bool(false),
            "1" => Value::Bool(true),
            _ => return Err(bad("a boolean", format!("write {name}:1 or {name}:0"))),
        },
        Format::Shorts => {
            let mut out = Vec::new();
            for part in v.split(',') {
                let n = parse_num(part)
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| {
                        bad(
                            "a comma-separated list of numbers from 0 to 65535",
                            format!("write it like {name}:2,31538,30831,1380"),
                        )
                    })?;
                out.push(n);
            }
            if out.len() * 2 > desc.size {
                return Err(too_long(out.len() * 2));
            }
            Value::Shorts(out)
        }
        Format::Digits => {
            if !v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return Err(bad(
                    "digits (0-9 and dots)",
                    format!("write it like {name}:1234"),
                ));
            }
            if v.len() > desc.size {
                return Err(too_long(v.len()));
            }
            Value::Text(v.to_string())
        }
        Format::Alpha => {
            if !v.chars().all(is_text_char) {
                return Err(bad(
                    "printable ASCII text",
                    "remove the non-ASCII or control characters".into(),
                ));
            }
            if v.len() > desc.size {
                return Err(too_long(v.len()));
            }
            Value::Text(v.to_string())
        }
    })
}

fn parse_upgrade(v: &str) -> Result<Upgrade, String> {
    let f: Vec<&str> = v.split(',').map(str::trim).collect();
    if f.len() != 8 {
        return Err(format!(
            "the upgradecode value has {} fields, not 8",
            f.len()
        ));
    }
    let num = |i: usize, max: u64, what: &str| {
        parse_num(f[i])
            .filter(|&n| n <= max)
            .ok_or_else(|| format!("field {} {:?} is not {what}", i + 1, f[i]))
    };
    let image = f[7];
    if image.is_empty() || image.len() > 255 - 20 || !image.chars().all(is_text_char) {
        return Err(format!(
            "the image name {image:?} must be 1 to 235 printable ASCII characters"
        ));
    }
    Ok(Upgrade {
        field1: num(0, 0xff, "a number up to 255")? as u8,
        field2: num(1, u32::MAX as u64, "a 32-bit number")? as u32,
        field3: num(2, 0xffff, "a 16-bit number")? as u16,
        field4: num(3, 0xffff, "a 16-bit number")? as u16,
        server: parse_ip(f[4])
            .ok_or_else(|| format!("the server {:?} is not an IPv4 address", f[4]))?,
        port: num(5, 0xffff, "a port number")? as u16,
        code: num(6, u32::MAX as u64, "a version code such as 0x060111a")? as u32,
        image: image.to_string(),
    })
}

impl Profile {
    /// Parses cfgfmt source text against the table.
    pub fn from_text(file: &str, text: &[u8], table: &TagTable) -> Result<Profile, CfgfmtError> {
        let mut params: Vec<(usize, Param)> = Vec::new();
        let mut first = true;
        for (n, line) in text_lines(file, text)? {
            let at = At::Line(n);
            if first {
                first = false;
                if line.trim_end() != "#txt" {
                    return Err(err(
                        ErrorKind::BadText,
                        file,
                        at,
                        format!("the first line is {line:?}, not #txt"),
                        "put #txt alone on the first line, as Cisco's gkdefault.txt does",
                    ));
                }
                continue;
            }
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let (name, value) = t.split_once(':').ok_or_else(|| {
                err(
                    ErrorKind::BadText,
                    file,
                    at,
                    format!("{t:?} is not a name:value line"),
                    "write parameters as Name:value, comments after #",
                )
            })?;
            let (name, value) = (name.trim(), value.trim());
            if let Some((m, _)) = params.iter().find(|(_, p)| p.name == name) {
                return Err(err(
                    ErrorKind::Duplicate,
                    file,
                    at,
                    format!("{name} is already set on line {m}"),
                    "keep one line per parameter",
                ));
            }
            let param = if name == "upgradecode" {
                let u = parse_upgrade(value).map_err(|p| {
                    err(
                        ErrorKind::BadValue,
                        file,
                        at,
                        p,
                        "write it like upgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x060111a,CP7912080000SIP060111A.sbin",
                    )
                })?;
                Param {
                    name: name.to_string(),
                    tag: UPGRADECODE_TAG,
                    value: Value::Upgrade(u),
                }
            } else {
                let desc = table.by_name(name).ok_or_else(|| {
                    let near = table
                        .entries
                        .iter()
                        .find(|e| e.name.eq_ignore_ascii_case(name))
                        .map(|e| format!("write {} (names are case-sensitive)", e.name))
                        .unwrap_or_else(|| {
                            format!(
                                "check the spelling, or use the tag table that ships with the firmware this profile is for (not {})",
                                table.file
                            )
                        });
                    CfgfmtError {
                        kind: ErrorKind::UnknownParameter,
                        file: file.to_string(),
                        at,
                        problem: format!("{name} is not a parameter of the tag table {}", table.file),
                        fix: near,
                    }
                })?;
                if desc.name == "EncryptKey" {
                    return Err(err(
                        ErrorKind::Unsupported,
                        file,
                        at,
                        "EncryptKey asks for an RC4-encrypted profile, whose form is not established".into(),
                        "remove the EncryptKey line; phoneflip writes unencrypted profiles",
                    ));
                }
                let tag = u8::try_from(desc.tag).map_err(|_| {
                    err(
                        ErrorKind::Unsupported,
                        file,
                        at,
                        format!(
                            "{name} is tag {} (line {} of {}); the binary form of tags above 255 is not established",
                            desc.tag, desc.line, table.file
                        ),
                        &format!("remove the {name} line, or set it in the phone's own configuration"),
                    )
                })?;
                if let Some((m, p)) = params
                    .iter()
                    .find(|(_, p)| p.tag == tag && p.tag != UPGRADECODE_TAG)
                {
                    return Err(err(
                        ErrorKind::Duplicate,
                        file,
                        at,
                        format!(
                            "{name} is tag {tag}, which {} already sets on line {m}",
                            p.name
                        ),
                        "keep one of the two lines",
                    ));
                }
                let value =
                    encode_value(desc, value).map_err(|(kind, problem, fix)| CfgfmtError {
                        kind,
                        file: file.to_string(),
                        at,
                        problem,
                        fix,
                    })?;
                Param {
                    name: name.to_string(),
                    tag,
                    value,
                }
            };
            params.push((n, param));
        }
        if first {
            return Err(err(
                ErrorKind::BadText,
                file,
                At::Line(1),
                "the file is empty".into(),
                "put #txt on the first line and one name:value per line",
            ));
        }
        Ok(Profile {
            header: CISCO_HEADER,
            params: params.into_iter().map(|(_, p)| p).collect(),
        })
    }

    /// The cfgfmt source text of these values; [`Profile::from_text`] reads
    /// it back to the same parameters.
    pub fn to_text(&self) -> String {
        let mut s = String::from("#txt\n");
        for p in &self.params {
            s.push_str(&format!("{}:{}\n", p.name, p.value));
        }
        s
    }

    /// The binary profile.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.header);
        for p in &self.params {
            let v = value_bytes(&p.value);
            out.push(p.tag);
            // Values are bounded by their sizes (≤ 255) when parsed.
            out.push(u8::try_from(v.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(&v[..v.len().min(255)]);
        }
        out
    }

    fn decode(file: &str, b: &[u8], table: &TagTable) -> Result<Profile, CfgfmtError> {
        let bad = |at: usize, problem: String, fix: &str| {
            err(ErrorKind::BadBinary, file, At::Byte(at), problem, fix)
        };
        if b.len() < 12 || &b[..4] != MAGIC {
            let start = String::from_utf8_lossy(&b[..b.len().min(16)]).into_owned();
            let problem = if b.len() >= 4 && &b[..4] != MAGIC {
                if b.iter()
                    .all(|&c| c == b'\n' || c == b'\r' || c == b'\t' || (0x20..0x7f).contains(&c))
                {
                    format!("the file is text ({start:?}), not a cfgfmt binary profile (those start with #ata)")
                } else {
                    "the file does not start with #ata, the magic of a cfgfmt binary profile".into()
                }
            } else {
                format!(
                    "the file is {} bytes, shorter than the 12-byte #ata header",
                    b.len()
                )
            };
            return Err(bad(
                0,
                problem,
                "compile the profile from its text with phoneflip cfgfmt",
            ));
        }
        let mut header = [0u8; 8];
        header.copy_from_slice(&b[4..12]);
        let mut params = Vec::new();
        let mut i = 12;
        while i < b.len() {
            if i + 2 > b.len() {
                return Err(bad(
                    i,
                    "the file ends inside a TLV header".into(),
                    "recompile the profile; the file is cut short",
                ));
            }
            let (tag, len) = (b[i], b[i + 1] as usize);
            let v = b.get(i + 2..i + 2 + len).ok_or_else(|| {
                bad(
                    i,
                    format!(
                        "tag {tag} says {len} bytes but the file ends after {}",
                        b.len() - i - 2
                    ),
                    "recompile the profile; the file is cut short",
                )
            })?;
            let (name, value) = decode_value(tag, v, table).map_err(|p| {
                bad(
                    i,
                    p,
                    "check that the tag table is the one the profile was compiled with",
                )
            })?;
            if params.iter().any(|p: &Param| p.name == name) {
                return Err(bad(
                    i,
                    format!("{name} appears twice"),
                    "recompile the profile from its text",
                ));
            }
            params.push(Param { name, tag, value });
            i += 2 + len;
        }
        Ok(Profile { header, params })
    }
}

fn value_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Upgrade(u) => {
            let mut o = vec![u.field1];
            o.extend_from_slice(&u.field2.to_be_bytes());
            o.extend_from_slice(&u.field3.to_be_bytes());
            o.extend_from_slice(&u.field4.to_be_bytes());
            o.extend_from_slice(&u.server.octets());
            o.extend_from_slice(&u.port.to_be_bytes());
            o.extend_from_slice(&u.code.to_be_bytes());
            o.extend_from_slice(u.image.as_bytes());
            o.push(0);
            o
        }
        Value::Ip(ip) => ip.octets().to_vec(),
        Value::IpPort(ip, p) => {
            let mut o = ip.octets().to_vec();
            o.extend_from_slice(&p.to_be_bytes());
            o
        }
        // from_text accepts integers only for tags of size 4.
        Value::Int(n) | Value::Hex(n) => n.to_be_bytes().to_vec(),
        Value::Bool(b) => vec![u8::from(*b)],
        Value::Shorts(v) => v.iter().flat_map(|s| s.to_be_bytes()).collect(),
        Value::Text(s) => s.as_bytes().to_vec(),
    }
}

fn decode_value(tag: u8, v: &[u8], table: &TagTable) -> Result<(String, Value), String> {
    if tag == UPGRADECODE_TAG {
        if v.len() < 21 || v[v.len() - 1] != 0 {
            return Err(format!(
                "the upgradecode TLV is {} bytes; it needs 19 bytes of fields and a NUL-terminated name",
                v.len()
            ));
        }
        let name = &v[19..v.len() - 1];
        let image = std::str::from_utf8(name)
            .ok()
            .filter(|s| s.chars().all(is_text_char) && s.trim() == *s && !s.contains(','))
            .ok_or("the upgradecode image name is not printable ASCII")?;
        let be16 = |i: usize| u16::from_be_bytes([v[i], v[i + 1]]);
        let be32 = |i: usize| u32::from_be_bytes([v[i], v[i + 1], v[i + 2], v[i + 3]]);
        return Ok((
            "upgradecode".into(),
            Value::Upgrade(Upgrade {
                field1: v[0],
                field2: be32(1),
                field3: be16(5),
                field4: be16(7),
                server: Ipv4Addr::new(v[9], v[10], v[11], v[12]),
                port: be16(13),
                code: be32(15),
                image: image.to_string(),
            }),
        ));
    }
    let desc = table
        .by_tag(u16::from(tag))
        .ok_or_else(|| format!("tag {tag} is not in the tag table {}", table.file))?;
    let name = desc.name.clone();
    let wrong = |what: &str| format!("{name} (tag {tag}) holds {} bytes, not {what}", v.len());
    let fits = |n: usize| {
        if n > desc.size {
            Err(format!(
                "{name} (tag {tag}) holds {n} bytes, more than its size {}",
                desc.size
            ))
        } else {
            Ok(())
        }
    };
    let value = match desc.format {
        Format::Tone => {
            return Err(format!(
                "{name} (tag {tag}) uses the tone format, whose binary form is not established"
            ))
        }
        Format::Ip => match v {
            [a, b, c, d] => Value::Ip(Ipv4Addr::new(*a, *b, *c, *d)),
            _ => return Err(wrong("an IPv4 address (4)")),
        },
        Format::IpPort => match v {
            [a, b, c, d, p, q] => {
                Value::IpPort(Ipv4Addr::new(*a, *b, *c, *d), u16::from_be_bytes([*p, *q]))
            }
            _ => return Err(wrong("IP.PORT (6)")),
        },
        Format::Int | Format::Hex => {
            let n: [u8; 4] = v.try_into().map_err(|_| wrong("a 32-bit number (4)"))?;
            if desc.size != 4 {
                return Err(format!("{name} (tag {tag}) is an integer of size {}; only 4-byte integers are established", desc.size));
            }
            let n = u32::from_be_bytes(n);
            if desc.format == Format::Hex {
                Value::Hex(n)
            } else {
                Value::Int(n)
            }
        }
        Format::Bool => match v {
            [0] => Value::Bool(false),
            [1] => Value::Bool(true),
            _ => return Err(wrong("a boolean (one byte, 0 or 1)")),
        },
        Format::Shorts => {
            if v.is_empty() || !v.len().is_multiple_of(2) {
                return Err(wrong("an array of 2-byte values"));
            }
            fits(v.len())?;
            Value::Shorts(
                v.chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect(),
            )
        }
        Format::Digits | Format::Alpha => {
            fits(v.len())?;
            let s = std::str::from_utf8(v)
                .ok()
                .filter(|s| s.chars().all(is_text_char) && s.trim() == *s)
                .ok_or_else(|| {
                    format!("{name} (tag {tag}) is not printable ASCII without surrounding spaces")
                })?;
            if desc.format == Format::Digits && !s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            {
                return Err(format!("{name} (tag {tag}) holds {s:?}, not digits"));
            }
            Value::Text(s.to_string())
        }
    };
    Ok((name, value))
}

/// The fuzz target's promise for the table parser and the decoder: no
/// panic, and whatever decodes writes back byte for byte and reads back
/// through the text to the same values. Tables come from the input itself
/// and from a small synthetic table (phoneflip ships no Cisco data).
#[doc(hidden)]
pub fn fuzz_check(data: &[u8]) {
    if let Ok(t) = TagTable::parse("fuzz.dat", data) {
        assert!(!t.entries().is_empty());
    }
    let table = TagTable::parse("synthetic.dat", SYNTHETIC_TABLE.as_bytes()).expect("valid");
    if let Ok(p) = decode("fuzz.cfg", data, &table) {
        assert_eq!(p.to_bytes(), data);
        let text = p.to_text();
        let back =
            Profile::from_text("fuzz.txt", text.as_bytes(), &table).expect("to_text compiles");
        assert_eq!(back.params, p.params);
    }
    if let Ok(p) = Profile::from_text("fuzz.txt", data, &table) {
        let bytes = p.to_bytes();
        assert_eq!(
            decode("fuzz.cfg", &bytes, &table).expect("decodes").params,
            p.params
        );
    }
}

/// A made-up table with one tag per format (not Cisco's), for the fuzz
/// target and the tests that must run without the corpus.
#[doc(hidden)]
pub const SYNTHETIC_TABLE: &str = "# tag,tagFmtBit,nameStr,size\n\
1,0x0006,AnIp,4\n2,0x000C,AnInt,4\n3,0x020C,AHex,4\n4,0x0028,ABool,1\n\
5,0x4008,SomeDigits,10\n6,0x0010,AString,32\n7,0x0050,Shorts,22\n\
8,0x0080,IpPort,6\n9,0x0100,ATone,8\n10,0x0010,EncryptKey,9\n300,0x0010,BigTag,16\n";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::PathBuf;

    /// `../shared/corpus/cfgfmt`, found from the crate upwards.
    fn corpus() -> Option<PathBuf> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let found = dir
            .ancestors()
            .map(|a| a.join("shared/corpus/cfgfmt"))
            .find(|p| p.join("sip_ptag7912.dat").is_file());
        if found.is_none() {
            eprintln!(
                "SKIPPED: ../shared/corpus/cfgfmt not found above {}",
                dir.display()
            );
        }
        found
    }

    fn real_table() -> Option<TagTable> {
        let dir = corpus()?;
        let bytes = std::fs::read(dir.join("sip_ptag7912.dat")).unwrap();
        Some(TagTable::parse("sip_ptag7912.dat", &bytes).unwrap())
    }

    fn synthetic() -> TagTable {
        TagTable::parse("synthetic.dat", SYNTHETIC_TABLE.as_bytes()).unwrap()
    }

    #[test]
    fn the_corpus_pair_byte_for_byte() {
        let Some(dir) = corpus() else { return };
        let table = real_table().unwrap();
        let text = std::fs::read(dir.join("gkdefault7912.txt")).unwrap();
        let want = std::fs::read(dir.join("gkdefault7912.cfg")).unwrap();
        let got = compile(std::str::from_utf8(&text).unwrap(), &table).unwrap();
        assert_eq!(got, want);

        let p = decode("gkdefault7912.cfg", &want, &table).unwrap();
        assert_eq!(p.header, CISCO_HEADER);
        assert_eq!(
            p.params,
            vec![
                Param {
                    name: "upgradecode".into(),
                    tag: 0,
                    value: Value::Upgrade(Upgrade {
                        field1: 3,
                        field2: 0x601,
                        field3: 0x0400,
                        field4: 0x0100,
                        server: Ipv4Addr::UNSPECIFIED,
                        port: 69,
                        code: 0x060111a,
                        image: "CP7912080000SIP060111A.sbin".into(),
                    }),
                },
                Param {
                    name: "UIPassword".into(),
                    tag: 23,
                    value: Value::Text("1234".into())
                },
            ]
        );
        assert_eq!(
            p.to_text(),
            "#txt\nupgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x060111a,CP7912080000SIP060111A.sbin\nUIPassword:1234\n"
        );
        assert_eq!(compile(&p.to_text(), &table).unwrap(), want);
    }

    #[test]
    fn the_real_table() {
        let Some(t) = real_table() else { return };
        assert_eq!(t.by_name("UIPassword").unwrap().tag, 23);
        assert_eq!(t.by_name("UIPassword").unwrap().format, Format::Digits);
        assert_eq!(t.by_name("StaticIP").unwrap().format, Format::Ip);
        assert_eq!(t.by_name("NPrintf").unwrap().format, Format::IpPort);
        assert_eq!(t.by_name("DialTone").unwrap().format, Format::Shorts);
        assert_eq!(t.by_name("TraceFlags").unwrap().format, Format::Hex);
        assert_eq!(t.by_name("Dhcp").unwrap().format, Format::Bool);
        assert_eq!(t.by_name("SIPPort").unwrap().format, Format::Int);
        assert_eq!(t.by_name("Proxy").unwrap().format, Format::Alpha);
        // Tag 112 has two names; the first one decodes.
        assert_eq!(t.by_tag(112).unwrap().name, "SRST");
        assert_eq!(t.by_name("Proxy4").unwrap().tag, 112);
        // Every format of the table is represented by a tag below 256.
        let mut formats: Vec<Format> = t
            .entries()
            .iter()
            .filter(|e| e.tag < 256)
            .map(|e| e.format)
            .collect();
        formats.dedup();
        for f in [
            Format::Ip,
            Format::Int,
            Format::Digits,
            Format::Alpha,
            Format::Bool,
            Format::Shorts,
            Format::IpPort,
            Format::Hex,
        ] {
            assert!(formats.contains(&f), "{f:?}");
        }
    }

    #[test]
    fn the_sccp_gkdefault_is_text() {
        let Some(dir) = corpus() else { return };
        let table = real_table().unwrap();
        let b = std::fs::read(dir.join("sccp-United_States-gkdefault.cfg")).unwrap();
        let e = decode("gkdefault.cfg", &b, &table).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadBinary);
        assert!(e.to_string().contains("is text"), "{e}");
        assert!(e.to_string().contains("UIPassword:7912"), "{e}");
    }

    fn compile_err(text: &str) -> CfgfmtError {
        Profile::from_text("gk.txt", text.as_bytes(), &synthetic()).unwrap_err()
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_fix() {
        let e = compile_err("#txt\n\nNoSuch:1\n");
        assert_eq!((e.kind, e.at), (ErrorKind::UnknownParameter, At::Line(3)));
        assert!(
            e.to_string().starts_with(
                "gk.txt line 3: NoSuch is not a parameter of the tag table synthetic.dat"
            ),
            "{e}"
        );
        let e = compile_err("#txt\nanip:1.2.3.4\n");
        assert!(e.fix.contains("write AnIp"), "{e}");
        let e = compile_err("#txt\nSomeDigits:12345678901\n");
        assert_eq!(e.kind, ErrorKind::TooLong);
        assert!(e.to_string().contains("at most 10"), "{e}");
        let e = compile_err("#txt\nAnIp:1.2.3\n");
        assert_eq!(e.kind, ErrorKind::BadValue);
        assert!(e.to_string().contains("AnIp:192.168.1.10"), "{e}");
        assert_eq!(
            compile_err("#txt\nEncryptKey:abc\n").kind,
            ErrorKind::Unsupported
        );
        assert_eq!(
            compile_err("#txt\nBigTag:abc\n").kind,
            ErrorKind::Unsupported
        );
        assert_eq!(compile_err("#txt\nATone:1\n").kind, ErrorKind::Unsupported);
        assert_eq!(compile_err("#txt\nABool:2\n").kind, ErrorKind::BadValue);
        assert_eq!(compile_err("#txt\nAnInt:-1\n").kind, ErrorKind::BadValue);
        assert_eq!(
            compile_err("#txt\nAnInt:1\nAnInt:2\n").kind,
            ErrorKind::Duplicate
        );
        assert_eq!(compile_err("UIPassword:1\n").kind, ErrorKind::BadText);
        assert_eq!(compile_err("").kind, ErrorKind::BadText);
        assert_eq!(compile_err("#txt\nno colon\n").kind, ErrorKind::BadText);
        let e = compile_err("#txt\nupgradecode:3,0x601\n");
        assert!(e.to_string().contains("not 8"), "{e}");
        let e = TagTable::parse("t.dat", b"# c\n1,0x0006,A\n").unwrap_err();
        assert_eq!((e.kind, e.at), (ErrorKind::Table, At::Line(2)));
        assert!(TagTable::parse("t.dat", b"# only comments\n").is_err());
        assert!(TagTable::parse("t.dat", b"1,0x0001,A,4\n").is_err());
        assert!(TagTable::parse("t.dat", b"1,0x0010,A,4\n2,0x0010,A,4\n").is_err());
        assert!(TagTable::parse("t.dat", b"1,0x0010,A,0\n").is_err());
        let t = synthetic();
        let e = decode(
            "x.cfg",
            b"#ata\xff\xfe\x04\x09\x42\x00\x38\x91\x01\x04\x01",
            &t,
        )
        .unwrap_err();
        assert_eq!((e.kind, e.at), (ErrorKind::BadBinary, At::Byte(12)));
        assert!(decode("x.cfg", b"#ata\0\0\0\0\0\0\0\0\x63\x00", &t).is_err());
    }

    #[test]
    fn every_synthetic_format_encodes_as_documented() {
        let t = synthetic();
        let text = "#txt\nAnIp:10.0.0.1\nAnInt:258\nAHex:0xa\nABool:1\nSomeDigits:12.3\nAString:x y\nShorts:1,65535\nIpPort:1.2.3.4.5060\nupgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,0x051117a,CP7940080001SCCP051117A.sbin\n";
        let b = compile(text, &t).unwrap();
        let mut want = b"#ata".to_vec();
        want.extend_from_slice(&CISCO_HEADER);
        want.extend_from_slice(&[
            1, 4, 10, 0, 0, 1, 2, 4, 0, 0, 1, 2, 3, 4, 0, 0, 0, 10, 4, 1, 1, 5, 4,
        ]);
        want.extend_from_slice(
            b"12.3\x06\x03x y\x07\x04\x00\x01\xff\xff\x08\x06\x01\x02\x03\x04\x13\xc4",
        );
        want.extend_from_slice(b"\x00\x30\x03\x00\x00\x06\x01\x04\x00\x01\x00\x00\x00\x00\x00\x00\x45\x00\x51\x11\x7aCP7940080001SCCP051117A.sbin\x00");
        assert_eq!(b, want);
        let p = decode("x.cfg", &b, &t).unwrap();
        assert_eq!(compile(&p.to_text(), &t).unwrap(), b);
    }

    fn value_for(desc: &TagDesc, n: u32, s: &str, shorts: &[u16]) -> String {
        match desc.format {
            Format::Ip => Ipv4Addr::from(n).to_string(),
            Format::IpPort => format!("{}.{}", Ipv4Addr::from(n), n as u16),
            Format::Int => n.to_string(),
            Format::Hex => format!("{n:#x}"),
            Format::Bool => (n % 2).to_string(),
            Format::Shorts => {
                let k = shorts.len().min(desc.size / 2).max(1);
                let v: Vec<String> = shorts
                    .iter()
                    .chain([&0])
                    .take(k)
                    .map(u16::to_string)
                    .collect();
                v.join(",")
            }
            Format::Digits => n.to_string().chars().take(desc.size).collect(),
            Format::Alpha | Format::Tone => s
                .trim()
                .chars()
                .take(desc.size)
                .collect::<String>()
                .trim()
                .to_string(),
        }
    }

    proptest! {
        #[test]
        fn round_trips_every_format_of_the_real_table(
            picks in proptest::collection::vec((any::<usize>(), any::<u32>(), "[ -~]{0,80}", proptest::collection::vec(any::<u16>(), 0..12)), 0..12),
            code in any::<u32>(), server in any::<u32>(),
        ) {
            let Some(table) = real_table() else { return Ok(()) };
            let usable: Vec<&TagDesc> = table.entries().iter()
                .filter(|e| e.tag < 256 && e.name != "EncryptKey" && e.format != Format::Tone).collect();
            let mut text = format!("#txt\nupgradecode:3,0x601,0x0400,0x0100,{},69,{code:#x},CP7912080000SIP060111A.sbin\n", Ipv4Addr::from(server));
            let mut seen = Vec::new();
            for (i, n, s, shorts) in &picks {
                let d = usable[i % usable.len()];
                if seen.contains(&d.tag) { continue; }
                seen.push(d.tag);
                text.push_str(&format!("{}:{}\n", d.name, value_for(d, *n, s, shorts)));
            }
            let p = Profile::from_text("p.txt", text.as_bytes(), &table).unwrap();
            let bytes = p.to_bytes();
            let back = decode("p.cfg", &bytes, &table).unwrap();
            // Same values (names of shared tags decode to the first name).
            prop_assert_eq!(back.params.len(), p.params.len());
            for (a, b) in back.params.iter().zip(&p.params) {
                prop_assert_eq!(&a.value, &b.value);
                prop_assert_eq!(a.tag, b.tag);
            }
            prop_assert_eq!(compile(&back.to_text(), &table).unwrap(), bytes);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            fuzz_check(&b);
            let mut framed = b"#ata".to_vec();
            framed.extend_from_slice(&b);
            fuzz_check(&framed);
            let mut text = b"#txt\n".to_vec();
            text.extend_from_slice(&b);
            fuzz_check(&text);
        }

        #[test]
        fn text_never_panics(lines in proptest::collection::vec("(AnIp|AnInt|AHex|ABool|SomeDigits|AString|Shorts|IpPort|upgradecode|ATone|BigTag):[ -~]{0,40}", 0..8)) {
            let text = format!("#txt\n{}\n", lines.join("\n"));
            fuzz_check(text.as_bytes());
        }
    }
}

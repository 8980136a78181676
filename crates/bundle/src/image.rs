//! The synthetic image format: what stands in for Cisco's signed binaries.
//!
//! We cannot ship Cisco images, and the emulator only needs to know what an
//! image claims to be and whether it arrived intact. So every synthetic
//! `.bin`, `.sbn`, `.sb2` and `.loads` file is a small header, a payload and
//! a CRC-32 over both:
//!
//! ```text
//! "PFIMAGE1"            8 bytes magic
//! role                  1 byte  (0 combined, 1 loader, 2 application, 3 index)
//! protocol              1 byte  (0 SCCP, 1 SIP, 2 MGCP)
//! signed                1 byte  (0 or 1)
//! version               1 byte length + ASCII ("8.12", "8.1(2)SR2")
//! load name             1 byte length + ASCII ("P0S3-8-12-00")
//! payload               4 byte big-endian length + bytes
//! crc32                 4 bytes big-endian, IEEE, over everything before it
//! ```
//!
//! The "signature" of a signed image is modelled by the checksum alone: a
//! flipped byte anywhere fails it, which is what "Image Authentication
//! Failed" needs. An index (`.loads`) payload is text naming the loader and
//! the application the load needs ([`LoadsIndex`]).

use std::fmt;

use phoneflip_firmware::{Protocol, Version};

pub const MAGIC: &[u8; 8] = b"PFIMAGE1";

/// What part of a load an image file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A pre-loader `.bin` (SCCP 5.x and older, SIP 6.x and older): the
    /// application and the code that boots it in one file.
    Combined,
    /// The universal application loader (`P003….bin` / `.sbn`).
    Loader,
    /// The application image a universal loader runs (`.sb2`).
    Application,
    /// The `.loads` index naming loader and application.
    Index,
}

impl Role {
    fn code(self) -> u8 {
        match self {
            Role::Combined => 0,
            Role::Loader => 1,
            Role::Application => 2,
            Role::Index => 3,
        }
    }

    fn from_code(c: u8) -> Option<Role> {
        Some(match c {
            0 => Role::Combined,
            1 => Role::Loader,
            2 => Role::Application,
            3 => Role::Index,
            _ => return None,
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Combined => "combined image",
            Role::Loader => "universal application loader",
            Role::Application => "application image",
            Role::Index => "loads index",
        })
    }
}

fn protocol_code(p: Protocol) -> u8 {
    match p {
        Protocol::Sccp => 0,
        Protocol::Sip => 1,
        Protocol::Mgcp => 2,
    }
}

fn protocol_from_code(c: u8) -> Option<Protocol> {
    Some(match c {
        0 => Protocol::Sccp,
        1 => Protocol::Sip,
        2 => Protocol::Mgcp,
        _ => return None,
    })
}

/// What an image says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageHeader {
    pub role: Role,
    pub protocol: Protocol,
    pub signed: bool,
    pub version: Version,
    /// The load name the image was built as. The phone does not require it
    /// to match the file name: the reference's workaround for SIP 2.1 is to
    /// rename an SCCP load to an 8.3 name.
    pub load: String,
}

/// A decoded synthetic image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub header: ImageHeader,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("the image is {len} bytes, too short for a synthetic image header; it was truncated in transfer or is not a phoneflip synthetic image")]
    TooShort { len: usize },
    #[error("the image does not start with the synthetic magic PFIMAGE1; it is not a phoneflip synthetic image (real Cisco images cannot be emulated)")]
    BadMagic,
    #[error("the image's checksum is {found:08x} but its content sums to {computed:08x}: it was corrupted (copied in text mode, truncated, or edited)")]
    Checksum { found: u32, computed: u32 },
    #[error("the image header is malformed: {0}")]
    Malformed(String),
}

const fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CRC_TABLE: [u32; 256] = crc_table();

/// CRC-32 (IEEE 802.3), the checksum every synthetic image ends with.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

impl Image {
    pub fn new(header: ImageHeader, payload: Vec<u8>) -> Image {
        Image { header, payload }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let h = &self.header;
        let version = h.version.to_string();
        let mut out = Vec::with_capacity(self.payload.len() + 64);
        out.extend_from_slice(MAGIC);
        out.push(h.role.code());
        out.push(protocol_code(h.protocol));
        out.push(h.signed as u8);
        push_short(&mut out, version.as_bytes());
        push_short(&mut out, h.load.as_bytes());
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
        let crc = crc32(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// Decodes and verifies an image. The checksum is checked before any
    /// field is trusted, so a corrupted file always reports as corrupted.
    pub fn parse(bytes: &[u8]) -> Result<Image, ImageError> {
        if bytes.len() < MAGIC.len() + 3 + 2 + 4 + 4 {
            if bytes.len() >= MAGIC.len() && &bytes[..MAGIC.len()] != MAGIC {
                return Err(ImageError::BadMagic);
            }
            return Err(ImageError::TooShort { len: bytes.len() });
        }
        if &bytes[..MAGIC.len()] != MAGIC {
            return Err(ImageError::BadMagic);
        }
        let (body, tail) = bytes.split_at(bytes.len() - 4);
        let found = u32::from_be_bytes([tail[0], tail[1], tail[2], tail[3]]);
        let computed = crc32(body);
        if found != computed {
            return Err(ImageError::Checksum { found, computed });
        }
        let bad = |s: &str| ImageError::Malformed(s.to_string());
        let mut r = Reader {
            b: body,
            at: MAGIC.len(),
        };
        let role = Role::from_code(r.u8()?).ok_or_else(|| bad("unknown role byte"))?;
        let protocol = protocol_from_code(r.u8()?).ok_or_else(|| bad("unknown protocol byte"))?;
        let signed = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(bad("the signed flag must be 0 or 1")),
        };
        let version = r.short_str("version")?;
        let version: Version = version
            .parse()
            .map_err(|e| ImageError::Malformed(format!("version: {e}")))?;
        let load = r.short_str("load name")?;
        let len = r.u32()? as usize;
        let payload = r.take(len)?.to_vec();
        if r.at != body.len() {
            return Err(bad("bytes follow the payload"));
        }
        Ok(Image {
            header: ImageHeader {
                role,
                protocol,
                signed,
                version,
                load,
            },
            payload,
        })
    }
}

fn push_short(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len().min(255);
    out.push(len as u8);
    out.extend_from_slice(&s[..len]);
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ImageError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| ImageError::Malformed("a length runs past the end".into()))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, ImageError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, ImageError> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn short_str(&mut self, what: &str) -> Result<String, ImageError> {
        let n = self.u8()? as usize;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec())
            .map_err(|_| ImageError::Malformed(format!("the {what} is not text")))
    }
}

/// The content of a `.loads` file: which loader and which application a
/// load is made of. Names are kept as written: the phone requests
/// `<loader>.sbn` / `.bin` and `<application>.sb2` byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadsIndex {
    pub loader: String,
    pub application: String,
}

impl LoadsIndex {
    pub fn to_payload(&self) -> Vec<u8> {
        format!(
            "loader: {}\napplication: {}\n",
            self.loader, self.application
        )
        .into_bytes()
    }

    pub fn from_payload(p: &[u8]) -> Result<LoadsIndex, ImageError> {
        let text = std::str::from_utf8(p)
            .map_err(|_| ImageError::Malformed("the .loads index is not text".into()))?;
        let mut loader = None;
        let mut application = None;
        for line in text.lines() {
            if let Some((k, v)) = line.split_once(':') {
                match k.trim() {
                    "loader" => loader = Some(v.trim().to_string()),
                    "application" => application = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        match (loader, application) {
            (Some(loader), Some(application)) if !loader.is_empty() && !application.is_empty() => {
                Ok(LoadsIndex {
                    loader,
                    application,
                })
            }
            _ => Err(ImageError::Malformed(
                "the .loads index must name a loader and an application".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Image {
        Image::new(
            ImageHeader {
                role: Role::Application,
                protocol: Protocol::Sip,
                signed: true,
                version: "8.12".parse().unwrap(),
                load: "P0S3-8-12-00".into(),
            },
            vec![7; 1000],
        )
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn any_flipped_byte_is_caught() {
        let bytes = sample().to_bytes();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            assert!(Image::parse(&b).is_err(), "byte {i}");
        }
        let mut cut = bytes.clone();
        cut.truncate(bytes.len() - 100);
        assert!(matches!(
            Image::parse(&cut),
            Err(ImageError::Checksum { .. })
        ));
        assert_eq!(Image::parse(b"POS30203"), Err(ImageError::BadMagic));
    }

    #[test]
    fn loads_index_round_trips() {
        let i = LoadsIndex {
            loader: "P003-8-12-00".into(),
            application: "P0S3-8-12-00".into(),
        };
        assert_eq!(LoadsIndex::from_payload(&i.to_payload()).unwrap(), i);
        assert!(LoadsIndex::from_payload(b"loader: X\n").is_err());
    }

    fn role() -> impl Strategy<Value = Role> {
        prop_oneof![
            Just(Role::Combined),
            Just(Role::Loader),
            Just(Role::Application),
            Just(Role::Index)
        ]
    }

    proptest! {
        #[test]
        fn images_round_trip(role in role(), signed in any::<bool>(), major in 0u8..100, minor in 0u8..100,
                             load in "[A-Z0-9-]{1,20}", payload in proptest::collection::vec(any::<u8>(), 0..600)) {
            let img = Image::new(ImageHeader { role, protocol: Protocol::Sccp, signed,
                version: Version::new(major, minor), load }, payload);
            prop_assert_eq!(Image::parse(&img.to_bytes()).unwrap(), img);
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Image::parse(&bytes);
            let mut with_magic = MAGIC.to_vec();
            with_magic.extend_from_slice(&bytes);
            let _ = Image::parse(&with_magic);
            let _ = LoadsIndex::from_payload(&bytes);
        }
    }
}

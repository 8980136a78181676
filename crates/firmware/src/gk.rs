use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::version::Protocol;

/// An image named on a gkdefault `upgradecode:` line, such as
/// `CP7940080001SIP060412A.sbin` or `CP7940080001SCCP051117A.sbin`.
///
/// The reference's SIP 5.x/6.x → SCCP procedure swaps the SIP one for the
/// SCCP one; the version code in the same line (`0x060412a`) must change
/// with it, which [`GkImage::code`] derives so the two cannot disagree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GkImage {
    raw: String,
    pub model: String,
    pub hardware: String,
    pub protocol: Protocol,
    pub code: GkVersionCode,
}

/// The version code of a gkdefault image: six digits and a letter,
/// written `0x060412a` on the upgradecode line and `060412A` in the name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GkVersionCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GkImageError {
    #[error("{name:?} is not a gkdefault image name: {reason}; write it like CP7940080001SIP060412A.sbin or CP7940080001SCCP051117A.sbin")]
    Image { name: String, reason: String },
    #[error(
        "{code:?} is not a gkdefault version code: {reason}; write it like 0x060412a or 0x051117a"
    )]
    Code { code: String, reason: String },
}

impl GkVersionCode {
    /// Six digits and a letter, case-insensitive (`060412a`).
    pub fn new(digits_and_letter: &str) -> Option<GkVersionCode> {
        let b = digits_and_letter.as_bytes();
        if b.len() == 7 && b[..6].iter().all(u8::is_ascii_digit) && b[6].is_ascii_alphabetic() {
            Some(GkVersionCode(digits_and_letter.to_ascii_lowercase()))
        } else {
            None
        }
    }

    /// The code of a gkdefault image from its `.sbin` name, as the
    /// upgradecode line writes it: `CP7940080001SCCP051117A.sbin` →
    /// `0x051117a`. Any protocol; the name is checked as [`GkImage`] does.
    pub fn of_image(name: &str) -> Result<GkVersionCode, GkImageError> {
        name.parse::<GkImage>().map(|i| i.code)
    }

    /// The code as the number cfgfmt writes in the binary profile
    /// (`0x051117a` → 0x0051117a): the letter is a hex digit, so this is
    /// `None` for letters after `f`.
    pub fn as_u32(&self) -> Option<u32> {
        u32::from_str_radix(&self.0, 16).ok()
    }

    /// The spelling inside an image name: `060412A`.
    pub fn in_name(&self) -> String {
        self.0.to_ascii_uppercase()
    }
}

impl fmt::Display for GkVersionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", self.0)
    }
}

impl FromStr for GkVersionCode {
    type Err = GkImageError;
    fn from_str(s: &str) -> Result<Self, GkImageError> {
        let body = s.strip_prefix("0x").ok_or_else(|| GkImageError::Code {
            code: s.to_string(),
            reason: "it must start with 0x".into(),
        })?;
        if body.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(GkImageError::Code {
                code: s.to_string(),
                reason: "the upgradecode line writes the letter in lower case".into(),
            });
        }
        GkVersionCode::new(body).ok_or_else(|| GkImageError::Code {
            code: s.to_string(),
            reason: "it must be six digits and a letter after 0x".into(),
        })
    }
}

impl GkImage {
    pub fn new(model: &str, hardware: &str, protocol: Protocol, code: GkVersionCode) -> GkImage {
        let tag = match protocol {
            Protocol::Sip => "SIP",
            Protocol::Sccp => "SCCP",
            Protocol::Mgcp => "MGCP",
        };
        let raw = format!("CP{model}{hardware}{tag}{}.sbin", code.in_name());
        GkImage {
            raw,
            model: model.to_string(),
            hardware: hardware.to_string(),
            protocol,
            code,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The same image slot with another protocol and version code: what the
    /// reference's step 5 does by hand.
    pub fn retarget(&self, protocol: Protocol, code: GkVersionCode) -> GkImage {
        GkImage::new(&self.model, &self.hardware, protocol, code)
    }
}

impl fmt::Display for GkImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl FromStr for GkImage {
    type Err = GkImageError;
    fn from_str(s: &str) -> Result<Self, GkImageError> {
        let bad = |reason: &str| GkImageError::Image {
            name: s.to_string(),
            reason: reason.to_string(),
        };
        let stem = s
            .strip_suffix(".sbin")
            .ok_or_else(|| bad("it must end in .sbin (lower case)"))?;
        let rest = stem
            .strip_prefix("CP")
            .ok_or_else(|| bad("it must start with CP"))?;
        if rest.len() < 10 || !rest.is_ascii() || !rest[..10].bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                "CP must be followed by a 4-digit model and a 6-digit hardware code",
            ));
        }
        let (model, rest) = rest.split_at(4);
        let (hardware, rest) = rest.split_at(6);
        let (protocol, code) = if let Some(c) = rest.strip_prefix("SCCP") {
            (Protocol::Sccp, c)
        } else if let Some(c) = rest.strip_prefix("SIP") {
            (Protocol::Sip, c)
        } else if let Some(c) = rest.strip_prefix("MGCP") {
            (Protocol::Mgcp, c)
        } else {
            return Err(bad(
                "the protocol after the hardware code must be SIP, SCCP or MGCP",
            ));
        };
        if code.bytes().any(|b| b.is_ascii_lowercase()) {
            return Err(bad(
                "the version code is upper case in the image name (060412A)",
            ));
        }
        let code = GkVersionCode::new(code).ok_or_else(|| {
            bad("the version code must be six digits and a letter, as in 060412A")
        })?;
        Ok(GkImage::new(model, hardware, protocol, code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reference_names() {
        let sip: GkImage = "CP7940080001SIP060412A.sbin".parse().unwrap();
        assert_eq!(sip.protocol, Protocol::Sip);
        assert_eq!(sip.code.to_string(), "0x060412a");
        assert_eq!(sip.model, "7940");
        let sccp = sip.retarget(Protocol::Sccp, "0x051117a".parse().unwrap());
        assert_eq!(sccp.as_str(), "CP7940080001SCCP051117A.sbin");
        assert_eq!(sccp, "CP7940080001SCCP051117A.sbin".parse().unwrap());
        assert!("CP7940080001SIP0604".parse::<GkImage>().is_err());
        assert!("0x060412A".parse::<GkVersionCode>().is_err());
        assert!("060412a".parse::<GkVersionCode>().is_err());
    }

    #[test]
    fn the_code_comes_from_the_sbin_name() {
        let c = GkVersionCode::of_image("CP7940080001SCCP051117A.sbin").unwrap();
        assert_eq!(c.to_string(), "0x051117a");
        assert_eq!(c.as_u32(), Some(0x0051117a));
        let c = GkVersionCode::of_image("CP7912080000SIP060111A.sbin").unwrap();
        assert_eq!(c.as_u32(), Some(0x0060111a));
        assert_eq!(GkVersionCode::new("051117z").unwrap().as_u32(), None);
        let e = GkVersionCode::of_image("CP7940080001SCCP051117a.sbin").unwrap_err();
        assert!(e.to_string().contains("upper case"), "{e}");
        assert!(GkVersionCode::of_image("P00308000400.sbn").is_err());
    }

    proptest! {
        #[test]
        fn code_of_any_image_name(model in 1000u32..10000, hw in 0u32..1_000_000, d in 0u32..1_000_000,
                                  l in proptest::char::range('a', 'f')) {
            let code = GkVersionCode::new(&format!("{d:06}{l}")).unwrap();
            let img = GkImage::new(&model.to_string(), &format!("{hw:06}"), Protocol::Sccp, code.clone());
            prop_assert_eq!(GkVersionCode::of_image(img.as_str()).unwrap(), code.clone());
            prop_assert_eq!(code.as_u32(), u32::from_str_radix(&format!("{d:06}{l}"), 16).ok());
        }

        #[test]
        fn round_trips(model in 1000u32..10000, hw in 0u32..1_000_000, d in 0u32..1_000_000,
                       l in proptest::char::range('a', 'z'),
                       p in prop_oneof![Just(Protocol::Sip), Just(Protocol::Sccp), Just(Protocol::Mgcp)]) {
            let code = GkVersionCode::new(&format!("{d:06}{l}")).unwrap();
            prop_assert_eq!(code.to_string().parse::<GkVersionCode>().unwrap(), code.clone());
            let img = GkImage::new(&model.to_string(), &format!("{hw:06}"), p, code);
            prop_assert_eq!(img.to_string().parse::<GkImage>().unwrap(), img);
        }

        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = s.parse::<GkImage>();
            let _ = s.parse::<GkVersionCode>();
        }
    }
}

//! Identity of a physical phone: its MAC address and its model.
//!
//! Owns the canonical spelling of a MAC (twelve upper-case hex digits, the
//! way the phones put it in `SIP<MAC>.cnf` and `SEP<MAC>.cnf.xml`) and the
//! model names and codes the phones report. Reading a MAC out of a file
//! name is the file-name classifier's (`phoneflip_config::filename`). Must
//! not know about firmware, files or storage: every other crate builds on
//! these two types.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A phone's MAC address, stored as the phones spell it in file names.
///
/// The phones ask for `SIP002094D245CB.cnf`: the reference insists the MAC
/// be in capitals, so the canonical form is the only one ever printed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac([u8; 6]);

/// Why a MAC address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address {input:?}: {reason}; write it as 12 hex digits, e.g. 002094D245CB, 00:20:94:d2:45:cb or 0020.94d2.45cb")]
pub struct MacError {
    pub input: String,
    pub reason: String,
}

impl Mac {
    pub const fn new(bytes: [u8; 6]) -> Self {
        Mac(bytes)
    }

    pub fn bytes(&self) -> [u8; 6] {
        self.0
    }
}

impl FromStr for Mac {
    type Err = MacError;

    /// Accepts the spellings people paste from switches and stickers:
    /// `002094D245CB`, `00:20:94:d2:45:cb`, `00-20-94-D2-45-CB`,
    /// `0020.94d2.45cb`, in any case.
    fn from_str(s: &str) -> Result<Self, MacError> {
        let err = |reason: &str| MacError {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = s.trim();
        let mut digits = Vec::with_capacity(12);
        for c in trimmed.chars() {
            match c {
                ':' | '-' | '.' => continue,
                c if c.is_ascii_hexdigit() => digits.push(c.to_digit(16).unwrap_or(0) as u8),
                other => return Err(err(&format!("{other:?} is not a hex digit"))),
            }
        }
        if digits.len() != 12 {
            return Err(err(&format!("it has {} hex digits, not 12", digits.len())));
        }
        let mut bytes = [0u8; 6];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = digits[2 * i] << 4 | digits[2 * i + 1];
        }
        Ok(Mac(bytes))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({self})")
    }
}

impl Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// In the OpenAPI document: the string it is (de)serialised as.
impl utoipa::PartialSchema for Mac {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("12 hex digits, written in upper case; 00:19:aa:…, 0019.aa… and lower case are accepted"))
            .examples(["0019AA123456"])
            .into()
    }
}

impl utoipa::ToSchema for Mac {}

/// The phone models phoneflip converts.
///
/// The 7940 and 7960 run the same loads; they differ in line count and in
/// the device type code that `XMLDefault.cnf.xml` keys `loadInformation` by.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Model {
    #[serde(rename = "7940")]
    Cp7940,
    #[serde(rename = "7960")]
    Cp7960,
}

/// Why a model name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown phone model {0:?}: phoneflip converts the 7940 and 7960 (write 7940, 7960, CP-7960G or \"IP Phone 7960\")")]
pub struct ModelError(pub String);

impl Model {
    pub const ALL: [Model; 2] = [Model::Cp7940, Model::Cp7960];

    /// Number of line buttons: lines beyond this are ignored by the phone.
    pub fn lines(self) -> u8 {
        match self {
            Model::Cp7940 => 2,
            Model::Cp7960 => 6,
        }
    }

    /// The name CallManager and `loadInformation model="…"` use.
    pub fn product_name(self) -> &'static str {
        match self {
            Model::Cp7940 => "IP Phone 7940",
            Model::Cp7960 => "IP Phone 7960",
        }
    }

    /// The device type code that `XMLDefault.cnf.xml` uses as the suffix of
    /// `loadInformationN` (`loadInformation8` = 7940, `loadInformation7` = 7960).
    pub fn device_type_code(self) -> u16 {
        match self {
            Model::Cp7940 => 8,
            Model::Cp7960 => 7,
        }
    }

    /// DHCP option 60 vendor class the phone sends.
    pub fn vendor_class(self) -> &'static str {
        match self {
            Model::Cp7940 => "Cisco Systems, Inc. IP Phone CP-7940G",
            Model::Cp7960 => "Cisco Systems, Inc. IP Phone CP-7960G",
        }
    }

    /// Recognises the model from a DHCP option 60 string.
    pub fn from_vendor_class(class: &str) -> Option<Model> {
        if class.contains("CP-7940") {
            Some(Model::Cp7940)
        } else if class.contains("CP-7960") {
            Some(Model::Cp7960)
        } else {
            None
        }
    }

    pub fn number(self) -> &'static str {
        match self {
            Model::Cp7940 => "7940",
            Model::Cp7960 => "7960",
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.number())
    }
}

impl FromStr for Model {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, ModelError> {
        let t = s.trim();
        let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
        match digits.as_str() {
            "7940" => Ok(Model::Cp7940),
            "7960" => Ok(Model::Cp7960),
            _ => Err(ModelError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_every_common_spelling() {
        let want = Mac::new([0x00, 0x20, 0x94, 0xD2, 0x45, 0xCB]);
        for s in [
            "002094D245CB",
            "002094d245cb",
            "00:20:94:d2:45:cb",
            "00-20-94-D2-45-CB",
            "0020.94d2.45cb",
            " 002094D245CB ",
        ] {
            assert_eq!(s.parse::<Mac>().unwrap(), want, "{s}");
        }
        assert_eq!(want.to_string(), "002094D245CB");
    }

    #[test]
    fn refuses_bad_macs_with_the_reason() {
        let e = "0020.94d2.45".parse::<Mac>().unwrap_err();
        assert!(e.to_string().contains("10 hex digits"), "{e}");
        let e = "0020.94d2.45cz".parse::<Mac>().unwrap_err();
        assert!(e.to_string().contains("'z'"), "{e}");
    }

    #[test]
    fn models() {
        assert_eq!("CP-7960G".parse::<Model>().unwrap(), Model::Cp7960);
        assert_eq!("IP Phone 7940".parse::<Model>().unwrap(), Model::Cp7940);
        assert!("7970".parse::<Model>().is_err());
        assert_eq!(
            Model::from_vendor_class("Cisco Systems, Inc. IP Phone CP-7960G"),
            Some(Model::Cp7960)
        );
    }

    proptest! {
        #[test]
        fn mac_round_trips(bytes in any::<[u8; 6]>()) {
            let m = Mac::new(bytes);
            prop_assert_eq!(m.to_string().parse::<Mac>().unwrap(), m);
            prop_assert_eq!(m.to_string().to_lowercase().parse::<Mac>().unwrap(), m);
        }

        #[test]
        fn mac_parse_never_panics(s in ".{0,40}") {
            let _ = s.parse::<Mac>();
        }
    }
}

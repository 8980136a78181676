use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::version::{Protocol, Version};

/// The accepted load name forms, shown whenever a name is refused.
pub const ACCEPTED_FORMS: &str = "accepted load names: \
POS3xxyy for SIP 2.3 and earlier (POS30203 = SIP 2.3), \
POS3-xx-y-zz for SIP 3.0 and later (POS3-07-4-00 = SIP 7.4, P0S3-8-12-00 = SIP 8.12), \
P003-x-y-zz for a universal application loader (P003-8-12-00), \
P003aabbccdd for SCCP (P00307020300 = SCCP 7.2(3), P0030801SR02 = SCCP 8.1(2)SR2), \
with M as third character for MGCP; image files add .bin, .sbn, .loads or .sb2";

/// How the digits after the four-character prefix are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadForm {
    /// `POS3xxyy`: SIP 2.3 and earlier.
    Compact,
    /// `POS3-xx-y-zz`: SIP 3.0 and later, and universal loaders (`P003-8-12-00`).
    Dashed,
    /// `P003aabbccdd` or `P003aabbSRdd`: SCCP (and MGCP) loads.
    Long,
}

/// The fourth character: the processor the image is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Processor {
    /// `3`: the ARM processor of the 7940/7960.
    Arm,
    /// Another digit: a load for a different phone model.
    Other(char),
}

/// A load name, printed exactly as it was written.
///
/// The phones compare names byte for byte, so the spelling is part of the
/// identity: the reference's `POS3…` (letter O) and the real files'
/// `P0S3…` (digit zero) are both accepted, decoded the same, and never
/// rewritten one into the other.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoadName {
    raw: String,
    protocol: Protocol,
    letter_o: bool,
    processor: Processor,
    form: LoadForm,
    version: Version,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadNameError {
    #[error("{name:?} is not a load name: {reason}; {ACCEPTED_FORMS}")]
    Malformed { name: String, reason: String },
    #[error("{name:?} is not a load name: the phones compare names case-sensitively and load names are upper case; did you mean {suggestion:?}?")]
    WrongCase { name: String, suggestion: String },
    /// A well-formed load of another Cisco phone family (79x1, 79x5,
    /// 7911, 7970), as found in roots that serve several models: not a
    /// 7940/7960 load, but not a typo either.
    #[error("{name:?} is a load for the Cisco {models}, not for the 7940/7960 (whose loads start with P0, e.g. P0S3-8-12-00 or P0030801SR02)")]
    OtherModel { name: String, models: &'static str },
    #[error("{name:?}: OS79XX.TXT, image_version and loadInformation hold the name without an extension; write {suggestion:?}")]
    HasExtension { name: String, suggestion: String },
}

/// A release that no load name can spell (`sip:8.100`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{protocol}:{version} has no load name: load names hold each version number in two digits, so every number must be below 100 (e.g. sip:8.12, sccp:8.1(2)SR2)")]
pub struct Unnameable {
    pub protocol: Protocol,
    pub version: Version,
}

impl LoadName {
    pub fn parse(name: &str) -> Result<LoadName, LoadNameError> {
        name.parse()
    }

    /// The name Cisco gives this release's application image. SIP loads up
    /// to 7.x follow the reference's spelling (`POS30203`, `POS3-07-4-00`),
    /// 8.x the real files' (`P0S3-8-12-00`); SCCP and MGCP use the long form.
    ///
    /// Panics when a version number is 100 or more (see
    /// [`Version::is_nameable`]); anything a person typed goes through
    /// [`LoadName::try_canonical`] instead.
    pub fn canonical(protocol: Protocol, version: Version) -> LoadName {
        LoadName::try_canonical(protocol, version).expect("a nameable version")
    }

    /// [`LoadName::canonical`], refusing versions no load name can spell
    /// (`sip:8.100`: every field of a load name is two digits).
    pub fn try_canonical(protocol: Protocol, version: Version) -> Result<LoadName, Unnameable> {
        if !version.is_nameable() {
            return Err(Unnameable { protocol, version });
        }
        let maint = version.maint.unwrap_or(0);
        let raw = match protocol {
            Protocol::Sip if version.major < 3 => {
                format!("POS3{:02}{:02}", version.major, version.minor)
            }
            Protocol::Sip if version.major < 8 => {
                format!("POS3-{:02}-{}-{:02}", version.major, version.minor, maint)
            }
            Protocol::Sip => format!("P0S3-{}-{}-{:02}", version.major, version.minor, maint),
            _ => {
                let c = protocol.name_char();
                match version.sr {
                    Some(sr) => {
                        format!("P0{c}3{:02}{:02}SR{:02}", version.major, version.minor, sr)
                    }
                    None => format!(
                        "P0{c}3{:02}{:02}{:02}{:02}",
                        version.major,
                        version.minor,
                        maint,
                        version.build.unwrap_or(0)
                    ),
                }
            }
        };
        // Two digits per field always make a valid name (property test
        // `canonical_names_denote_their_version`).
        Ok(raw
            .parse()
            .expect("canonical names of nameable versions parse"))
    }

    /// The universal application loader shipped with a dashed SIP load
    /// (`P0S3-8-12-00` → `P003-8-12-00`): same digits, protocol 0.
    ///
    /// The loader is always spelled with the digit zero, also for the
    /// reference's letter-O spelling (`POS3-07-4-00` → `P003-07-4-00`): the
    /// reference's table gives `P003` for loaders and only SIP names are
    /// ever written with the letter O.
    pub fn loader(&self) -> LoadName {
        match self.form {
            LoadForm::Dashed => {
                let mut raw = self.raw.clone();
                raw.replace_range(1..3, "00");
                raw.parse().expect("a dashed name with protocol 0 parses")
            }
            _ => self.clone(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The protocol character of the name (third character: 0 = SCCP,
    /// S = SIP). A universal application loader (`P003-…`) carries 0 but
    /// is protocol-neutral; ask [`LoadName::application_protocol`] to tell.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The protocol the phone runs with this load: `None` for a universal
    /// application loader, which runs no protocol itself (the SIP zip's
    /// `P003-8-12-00` loads SIP and SCCP applications alike).
    pub fn application_protocol(&self) -> Option<Protocol> {
        (!self.is_universal_loader()).then_some(self.protocol)
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn form(&self) -> LoadForm {
        self.form
    }

    pub fn processor(&self) -> Processor {
        self.processor
    }

    /// The second character is the letter O (`POS3…`, the reference's
    /// spelling) rather than the digit 0 of the four-character table.
    pub fn letter_o(&self) -> bool {
        self.letter_o
    }

    /// `P003-8-12-00`: a dashed name with protocol 0 is a universal loader.
    pub fn is_universal_loader(&self) -> bool {
        self.form == LoadForm::Dashed && self.protocol == Protocol::Sccp
    }

    /// Whether `self.bin` fits DOS 8.3, the only names SIP 2.1 and earlier
    /// accept.
    pub fn fits_8_3(&self) -> bool {
        self.raw.len() <= 8
    }

    /// Whether the name denotes `version`. A service-release name carries
    /// no maintenance number (`P0030801SR02` is 8.1(2)SR2), so it matches
    /// any maintenance number with the same SR.
    pub fn denotes(&self, version: &Version) -> bool {
        let v = self.version;
        if v.sr.is_some() && v.maint.is_none() {
            return v.major == version.major && v.minor == version.minor && v.sr == version.sr;
        }
        v == *version
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn two(s: &str) -> u8 {
    s.parse().unwrap_or(0)
}

/// The phone family of a load name of the newer Cisco models,
/// `PROTOCOL` + two-digit family + `.` + dashed version (`SIP41.9-4-2SR3-1S`
/// for the 7941/7961, `SCCP45.9-4-2SR4-3S` for the 7945/7965,
/// `SIP11.9-4-2SR3-1S` for the 7911); `None` for anything else.
pub fn other_model_family(name: &str) -> Option<&'static str> {
    let rest = name
        .strip_prefix("SCCP")
        .or_else(|| name.strip_prefix("SIP"))?;
    let (family, version) = rest.split_once('.')?;
    let well_formed = family.len() == 2
        && family.bytes().all(|b| b.is_ascii_digit())
        && version.contains('-')
        && version.starts_with(|c: char| c.is_ascii_digit())
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !well_formed {
        return None;
    }
    Some(match family {
        "11" => "7906/7911",
        "41" => "7941/7961",
        "42" => "7942/7962",
        "45" => "7945/7965",
        "70" => "7970/7971",
        "75" => "7975",
        _ => "79x1/79x5 family",
    })
}

impl FromStr for LoadName {
    type Err = LoadNameError;

    fn from_str(name: &str) -> Result<LoadName, LoadNameError> {
        let bad = |reason: &str| LoadNameError::Malformed {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        if let Some((stem, ext)) = name.rsplit_once('.') {
            if ImageKind::from_ext(ext).is_some() && stem.parse::<LoadName>().is_ok() {
                return Err(LoadNameError::HasExtension {
                    name: name.to_string(),
                    suggestion: stem.to_string(),
                });
            }
        }
        if !name.is_ascii() {
            return Err(bad("it contains a character that is not plain ASCII"));
        }
        if name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(bad(
                "it contains whitespace (a trailing space or CR breaks the phone's parser)",
            ));
        }
        let upper = name.to_ascii_uppercase();
        if upper != name && upper.parse::<LoadName>().is_ok() {
            return Err(LoadNameError::WrongCase {
                name: name.to_string(),
                suggestion: upper,
            });
        }
        if let Some(models) = other_model_family(name) {
            return Err(LoadNameError::OtherModel {
                name: name.to_string(),
                models,
            });
        }
        let b = name.as_bytes();
        if b.len() < 8 {
            return Err(bad("it is shorter than the shortest form, POS3xxyy"));
        }
        if b[0] != b'P' {
            return Err(bad("it must start with P (phone)"));
        }
        let letter_o = match b[1] {
            b'0' => false,
            b'O' => true,
            _ => return Err(bad("the second character must be 0 (combined image)")),
        };
        let protocol = Protocol::from_name_char(b[2] as char).ok_or_else(|| {
            bad("the third character must be the protocol: 0 (SCCP), S (SIP) or M (MGCP)")
        })?;
        if letter_o && protocol != Protocol::Sip {
            return Err(bad("only SIP loads are spelled with the letter O (POS3…)"));
        }
        let processor = match b[3] {
            b'3' => Processor::Arm,
            c if c.is_ascii_digit() => Processor::Other(c as char),
            _ => {
                return Err(bad(
                    "the fourth character must be a processor digit (3 = ARM)",
                ))
            }
        };
        let rest = &name[4..];
        let (form, version) = if let Some(dashed) = rest.strip_prefix('-') {
            let parts: Vec<&str> = dashed.split('-').collect();
            match parts.as_slice() {
                [maj, min, sub]
                    if digits(maj)
                        && maj.len() <= 2
                        && digits(min)
                        && min.len() <= 2
                        && digits(sub)
                        && sub.len() == 2 =>
                {
                    let sub = two(sub);
                    let mut v = Version::new(two(maj), two(min));
                    if sub != 0 {
                        v.maint = Some(sub);
                    }
                    (LoadForm::Dashed, v)
                }
                _ => {
                    return Err(bad(
                        "a dashed name is PREFIX-major-minor-sub, as in POS3-07-4-00",
                    ))
                }
            }
        } else if rest.len() == 4 && digits(rest) {
            if protocol != Protocol::Sip {
                return Err(bad(
                    "the four-digit form POS3xxyy is only used by SIP 2.3 and earlier",
                ));
            }
            (
                LoadForm::Compact,
                Version::new(two(&rest[..2]), two(&rest[2..])),
            )
        } else if rest.len() == 8 && digits(&rest[..4]) {
            let mut v = Version::new(two(&rest[..2]), two(&rest[2..4]));
            let tail = &rest[4..];
            if let Some(sr) = tail.strip_prefix("SR") {
                if !digits(sr) {
                    return Err(bad(
                        "a service release name ends in SRdd, as in P0030801SR02",
                    ));
                }
                v.sr = Some(two(sr));
            } else if digits(tail) {
                v.maint = Some(two(&tail[..2]));
                let build = two(&tail[2..]);
                if build != 0 {
                    v.build = Some(build);
                }
            } else {
                return Err(bad(
                    "the long form is P003aabbccdd, all digits or ending in SRdd",
                ));
            }
            (LoadForm::Long, v)
        } else {
            return Err(bad(
                "the digits after the four-character prefix fit no known form",
            ));
        };
        Ok(LoadName {
            raw: name.to_string(),
            protocol,
            letter_o,
            processor,
            form,
            version,
        })
    }
}

impl fmt::Display for LoadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for LoadName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for LoadName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// In the OpenAPI document: the string it is (de)serialised as.
impl utoipa::PartialSchema for LoadName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("a Cisco load name, spelt as the phones spell it"))
            .examples(["P0S3-8-12-00"])
            .into()
    }
}

impl utoipa::ToSchema for LoadName {}

/// The files a load is delivered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// `.bin`: unsigned image (or non-secure universal loader), for phones
    /// on loads earlier than 5.x.
    Bin,
    /// `.sbn`: signed universal application loader, for phones on 5.x+.
    Sbn,
    /// `.loads`: the small signed index naming loader and application.
    Loads,
    /// `.sb2`: the signed application image.
    Sb2,
}

impl ImageKind {
    pub const ALL: [ImageKind; 4] = [
        ImageKind::Bin,
        ImageKind::Sbn,
        ImageKind::Loads,
        ImageKind::Sb2,
    ];

    pub fn ext(self) -> &'static str {
        match self {
            ImageKind::Bin => "bin",
            ImageKind::Sbn => "sbn",
            ImageKind::Loads => "loads",
            ImageKind::Sb2 => "sb2",
        }
    }

    pub fn from_ext(ext: &str) -> Option<ImageKind> {
        ImageKind::ALL.into_iter().find(|k| k.ext() == ext)
    }
}

/// A firmware file: a load name plus its extension (`P0S3-8-12-00.sb2`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageFile {
    pub load: LoadName,
    pub kind: ImageKind,
}

impl ImageFile {
    pub fn new(load: LoadName, kind: ImageKind) -> ImageFile {
        ImageFile { load, kind }
    }

    /// Whether this file name is a DOS 8.3 name (SIP 2.1 and earlier).
    pub fn fits_8_3(&self) -> bool {
        self.load.fits_8_3() && self.kind.ext().len() <= 3
    }
}

impl fmt::Display for ImageFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.load, self.kind.ext())
    }
}

impl FromStr for ImageFile {
    type Err = LoadNameError;
    fn from_str(s: &str) -> Result<ImageFile, LoadNameError> {
        let bad = |reason: &str| LoadNameError::Malformed {
            name: s.to_string(),
            reason: reason.to_string(),
        };
        let (stem, ext) = s
            .rsplit_once('.')
            .ok_or_else(|| bad("an image file needs an extension: .bin, .sbn, .loads or .sb2"))?;
        let kind = match ImageKind::from_ext(ext) {
            Some(k) => k,
            None if ImageKind::from_ext(&ext.to_ascii_lowercase()).is_some() => {
                return Err(LoadNameError::WrongCase {
                    name: s.to_string(),
                    suggestion: format!("{stem}.{}", ext.to_ascii_lowercase()),
                })
            }
            None => return Err(bad("the extension must be .bin, .sbn, .loads or .sb2")),
        };
        Ok(ImageFile::new(stem.parse()?, kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_of_other_models_are_named_as_such() {
        for (name, models) in [
            ("SIP41.9-4-2SR3-1S", "7941/7961"),
            ("SCCP45.9-4-2SR4-3S", "7945/7965"),
            ("SIP11.9-4-2SR3-1S", "7906/7911"),
            ("SCCP45.9-2-1S", "7945/7965"),
        ] {
            match name.parse::<LoadName>() {
                Err(LoadNameError::OtherModel { models: m, .. }) => assert_eq!(m, models),
                other => panic!("{name}: {other:?}"),
            }
        }
        for not in [
            "SIP41",
            "SIP41.x",
            "SCCPAB.9-4-2",
            "P0S3-8-12-00",
            "SIPDefault.cnf",
        ] {
            assert_eq!(other_model_family(not), None, "{not}");
        }
    }
    use proptest::prelude::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    #[test]
    fn every_name_in_the_reference() {
        let cases = [
            ("POS30203", Protocol::Sip, "2.3", LoadForm::Compact),
            ("POS30202", Protocol::Sip, "2.2", LoadForm::Compact),
            ("POS30100", Protocol::Sip, "1.0", LoadForm::Compact),
            ("POS30300", Protocol::Sip, "3.0", LoadForm::Compact),
            ("POS3-07-4-00", Protocol::Sip, "7.4", LoadForm::Dashed),
            ("POS3-07-1-00", Protocol::Sip, "7.1", LoadForm::Dashed),
            ("P0S3-8-12-00", Protocol::Sip, "8.12", LoadForm::Dashed),
            ("P003-8-12-00", Protocol::Sccp, "8.12", LoadForm::Dashed),
            ("P00307020300", Protocol::Sccp, "7.2(3)", LoadForm::Long),
            ("P00305000101", Protocol::Sccp, "5.0(1.1)", LoadForm::Long),
            ("P00306000200", Protocol::Sccp, "6.0(2)", LoadForm::Long),
            ("P00308000500", Protocol::Sccp, "8.0(5)", LoadForm::Long),
            ("P0M307010000", Protocol::Mgcp, "7.1(0)", LoadForm::Long),
        ];
        for (name, proto, ver, form) in cases {
            let l: LoadName = name.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(l.protocol(), proto, "{name}");
            assert_eq!(l.version(), v(ver), "{name}");
            assert_eq!(l.form(), form, "{name}");
            assert_eq!(l.processor(), Processor::Arm);
            assert_eq!(l.to_string(), name);
        }
        let sr: LoadName = "P0030801SR02".parse().unwrap();
        assert!(sr.denotes(&v("8.1(2)SR2")));
        assert!(!sr.denotes(&v("8.1(2)SR1")));
        assert!(
            "P0M30701000".parse::<LoadName>().is_err(),
            "11 characters fit no form"
        );
        assert!("P003-8-12-00"
            .parse::<LoadName>()
            .unwrap()
            .is_universal_loader());
        assert!(!"P0S3-8-12-00"
            .parse::<LoadName>()
            .unwrap()
            .is_universal_loader());
    }

    #[test]
    fn canonical_names() {
        assert_eq!(
            LoadName::canonical(Protocol::Sip, v("2.3")).as_str(),
            "POS30203"
        );
        assert_eq!(
            LoadName::canonical(Protocol::Sip, v("7.4")).as_str(),
            "POS3-07-4-00"
        );
        assert_eq!(
            LoadName::canonical(Protocol::Sip, v("8.12")).as_str(),
            "P0S3-8-12-00"
        );
        assert_eq!(
            LoadName::canonical(Protocol::Sccp, v("7.2(3)")).as_str(),
            "P00307020300"
        );
        assert_eq!(
            LoadName::canonical(Protocol::Sccp, v("5.0(1.1)")).as_str(),
            "P00305000101"
        );
        assert_eq!(
            LoadName::canonical(Protocol::Sccp, v("8.1(2)SR2")).as_str(),
            "P0030801SR02"
        );
        let sip = LoadName::canonical(Protocol::Sip, v("8.12"));
        assert_eq!(sip.loader().as_str(), "P003-8-12-00");
        let sip7 = LoadName::canonical(Protocol::Sip, v("7.4"));
        assert_eq!(sip7.loader().as_str(), "P003-07-4-00");
    }

    #[test]
    fn errors_teach_the_forms() {
        let e = "POS3.bin".parse::<LoadName>().unwrap_err().to_string();
        assert!(
            e.contains("POS3-07-4-00") && e.contains("P00307020300"),
            "{e}"
        );
        match "POS30203.bin".parse::<LoadName>() {
            Err(LoadNameError::HasExtension { suggestion, .. }) => {
                assert_eq!(suggestion, "POS30203")
            }
            other => panic!("{other:?}"),
        }
        match "p0s3-8-12-00".parse::<LoadName>() {
            Err(LoadNameError::WrongCase { suggestion, .. }) => {
                assert_eq!(suggestion, "P0S3-8-12-00")
            }
            other => panic!("{other:?}"),
        }
        assert!("POS30203 "
            .parse::<LoadName>()
            .unwrap_err()
            .to_string()
            .contains("trailing space"));
        assert!("P0S3-8-12-00.SB2".parse::<ImageFile>().is_err());
        assert_eq!(
            "P0S3-8-12-00.sb2".parse::<ImageFile>().unwrap().kind,
            ImageKind::Sb2
        );
    }

    #[test]
    fn eight_three() {
        assert!("POS30203".parse::<LoadName>().unwrap().fits_8_3());
        assert!(!"P00305000101".parse::<LoadName>().unwrap().fits_8_3());
        let f: ImageFile = "POS30203.bin".parse().unwrap();
        assert!(f.fits_8_3());
        let f: ImageFile = "P0S3-8-12-00.loads".parse().unwrap();
        assert!(!f.fits_8_3());
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        let proto = prop_oneof![Just("P0S3"), Just("POS3"), Just("P003"), Just("P0M3")];
        let compact = (0u8..100, 0u8..100).prop_map(|(a, b)| format!("POS3{a:02}{b:02}"));
        let dashed = (proto.clone(), 0u8..100, 0u8..100, 0u8..100, any::<bool>()).prop_map(
            |(p, a, b, c, pad)| {
                if pad {
                    format!("{p}-{a:02}-{b}-{c:02}")
                } else {
                    format!("{p}-{a}-{b}-{c:02}")
                }
            },
        );
        let long = (
            prop_oneof![Just("P003"), Just("P0M3")],
            0u8..100,
            0u8..100,
            0u8..100,
            0u8..100,
            any::<bool>(),
        )
            .prop_map(|(p, a, b, c, d, sr)| {
                if sr {
                    format!("{p}{a:02}{b:02}SR{d:02}")
                } else {
                    format!("{p}{a:02}{b:02}{c:02}{d:02}")
                }
            });
        prop_oneof![compact, dashed, long]
    }

    proptest! {
        #[test]
        fn names_round_trip(name in name_strategy()) {
            let l: LoadName = name.parse().unwrap();
            prop_assert_eq!(l.to_string(), name.clone());
            prop_assert_eq!(l.to_string().parse::<LoadName>().unwrap(), l.clone());
            for kind in ImageKind::ALL {
                let f = ImageFile::new(l.clone(), kind);
                prop_assert_eq!(f.to_string().parse::<ImageFile>().unwrap(), f);
            }
        }

        #[test]
        fn canonical_names_denote_their_version(
            major in 0u8..100, minor in 0u8..100, maint in 0u8..100, build in 0u8..100,
            proto in prop_oneof![Just(Protocol::Sip), Just(Protocol::Sccp), Just(Protocol::Mgcp)],
        ) {
            let version = match proto {
                Protocol::Sip if major < 3 => Version::new(major, minor),
                Protocol::Sip => { let mut v = Version::new(major, minor); if maint != 0 { v.maint = Some(maint) }; v }
                _ => { let mut v = Version::new(major, minor).with_maint(maint); if build != 0 { v.build = Some(build) }; v }
            };
            let l = LoadName::canonical(proto, version);
            prop_assert_eq!(l.protocol(), proto);
            prop_assert!(l.denotes(&version), "{} does not denote {}", l, version);
        }

        #[test]
        fn parse_never_panics(s in "[P0OSM3-9A-Za-z.\\- ]{0,20}") {
            let _ = s.parse::<LoadName>();
            let _ = s.parse::<ImageFile>();
        }

        #[test]
        fn parse_never_panics_on_anything(s in ".{0,24}") {
            let _ = s.parse::<LoadName>();
            let _ = s.parse::<ImageFile>();
        }
    }
}

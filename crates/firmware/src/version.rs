use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The call-control protocol a load runs. A phone runs exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(utoipa::ToSchema)]
pub enum Protocol {
    Sccp,
    Sip,
    Mgcp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol {0:?}: write sccp, sip or mgcp")]
pub struct ProtocolError(pub String);

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Sccp, Protocol::Sip, Protocol::Mgcp];

    /// The third character of a load name (the reference's table: 0 for
    /// Skinny, S for SIP; MGCP loads use M).
    pub fn name_char(self) -> char {
        match self {
            Protocol::Sccp => '0',
            Protocol::Sip => 'S',
            Protocol::Mgcp => 'M',
        }
    }

    pub fn from_name_char(c: char) -> Option<Protocol> {
        match c {
            '0' => Some(Protocol::Sccp),
            'S' => Some(Protocol::Sip),
            'M' => Some(Protocol::Mgcp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Sccp => "sccp",
            Protocol::Sip => "sip",
            Protocol::Mgcp => "mgcp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, ProtocolError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sccp" | "skinny" => Ok(Protocol::Sccp),
            "sip" => Ok(Protocol::Sip),
            "mgcp" => Ok(Protocol::Mgcp),
            _ => Err(ProtocolError(s.to_string())),
        }
    }
}

/// A firmware version as Cisco writes it: `8.12`, `7.4`, `2.3` for SIP,
/// `7.2(3)`, `5.0(1.1)`, `8.1(2)SR2` for SCCP.
///
/// Ordering is numeric field by field, missing fields counting as zero, so
/// `5.0` = `5.0(0)` < `5.0(1.1)` < `5.1`; a service release sorts after the
/// same version without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
    /// The number in parentheses (`7.2(3)` → 3); SIP dashed names carry it
    /// as the last field (`POS3-07-4-00` → 0).
    pub maint: Option<u8>,
    /// The number after the dot inside the parentheses (`5.0(1.1)` → 1).
    pub build: Option<u8>,
    /// Service release (`8.1(2)SR2` → 2).
    pub sr: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid version {input:?}: {reason}; write it like 8.12, 7.4, 7.2(3), 5.0(1.1) or 8.1(2)SR2"
)]
pub struct VersionError {
    pub input: String,
    pub reason: String,
}

impl Version {
    /// Whether a load name can spell this version: load names hold each
    /// number in two digits, so all must be below 100.
    pub fn is_nameable(&self) -> bool {
        [
            Some(self.major),
            Some(self.minor),
            self.maint,
            self.build,
            self.sr,
        ]
        .into_iter()
        .flatten()
        .all(|n| n < 100)
    }

    pub const fn new(major: u8, minor: u8) -> Version {
        Version {
            major,
            minor,
            maint: None,
            build: None,
            sr: None,
        }
    }

    pub const fn with_maint(self, maint: u8) -> Version {
        Version {
            maint: Some(maint),
            ..self
        }
    }

    pub const fn with_build(self, build: u8) -> Version {
        Version {
            build: Some(build),
            ..self
        }
    }

    pub const fn with_sr(self, sr: u8) -> Version {
        Version {
            sr: Some(sr),
            ..self
        }
    }

    fn key(&self) -> (u8, u8, u8, u8, u8) {
        (
            self.major,
            self.minor,
            self.maint.unwrap_or(0),
            self.build.unwrap_or(0),
            self.sr.unwrap_or(0),
        )
    }

    /// True when `self` belongs to the release train `major.minor`
    /// (`7.2(3)` is in 7.2).
    pub fn is_in(&self, major: u8, minor: u8) -> bool {
        self.major == major && self.minor == minor
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if let Some(m) = self.maint {
            write!(f, "({m}")?;
            if let Some(b) = self.build {
                write!(f, ".{b}")?;
            }
            f.write_str(")")?;
        }
        if let Some(sr) = self.sr {
            write!(f, "SR{sr}")?;
        }
        Ok(())
    }
}

impl FromStr for Version {
    type Err = VersionError;
    fn from_str(s: &str) -> Result<Self, VersionError> {
        let err = |reason: &str| VersionError {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let t = s.trim();
        let num = |p: &str, what: &str| -> Result<u8, VersionError> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(&format!("the {what} {p:?} is not a number")));
            }
            p.parse::<u8>()
                .map_err(|_| err(&format!("the {what} {p} is above 255")))
        };
        let (head, sr) = match t.find(['S', 's']) {
            Some(i) => {
                let tail = &t[i..];
                let n = tail
                    .strip_prefix("SR")
                    .or_else(|| tail.strip_prefix("sr"))
                    .ok_or_else(|| err("only SR may follow the version"))?;
                (&t[..i], Some(num(n, "service release")?))
            }
            None => (t, None),
        };
        let (mm, paren) = match head.find('(') {
            Some(i) => {
                let inner = head[i + 1..]
                    .strip_suffix(')')
                    .ok_or_else(|| err("a '(' is not closed by ')' at the end"))?;
                (&head[..i], Some(inner))
            }
            None => (head, None),
        };
        let (major, minor) = mm
            .split_once('.')
            .ok_or_else(|| err("it needs a major and a minor number, as in 8.12"))?;
        let mut v = Version::new(num(major, "major number")?, num(minor, "minor number")?);
        if let Some(inner) = paren {
            match inner.split_once('.') {
                Some((m, b)) => {
                    v.maint = Some(num(m, "maintenance number")?);
                    v.build = Some(num(b, "build number")?);
                }
                None => v.maint = Some(num(inner, "maintenance number")?),
            }
        }
        v.sr = sr;
        Ok(v)
    }
}

/// A protocol and a version, as `--from sccp:3.3` and `--to sip:8.12` take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Release {
    pub protocol: Protocol,
    pub version: Version,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    #[error("{0:?} is not protocol:version; write it like sccp:3.3, sip:8.12 or sccp:8.1(2)SR2")]
    Shape(String),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Version(#[from] VersionError),
}

impl Release {
    pub const fn new(protocol: Protocol, version: Version) -> Release {
        Release { protocol, version }
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.protocol, self.version)
    }
}

impl FromStr for Release {
    type Err = ReleaseError;
    fn from_str(s: &str) -> Result<Self, ReleaseError> {
        let (p, v) = s
            .split_once(':')
            .ok_or_else(|| ReleaseError::Shape(s.to_string()))?;
        Ok(Release::new(p.parse()?, v.parse()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_cisco_spellings() {
        assert_eq!("8.12".parse::<Version>().unwrap(), Version::new(8, 12));
        assert_eq!(
            "7.2(3)".parse::<Version>().unwrap(),
            Version::new(7, 2).with_maint(3)
        );
        assert_eq!(
            "5.0(1.1)".parse::<Version>().unwrap(),
            Version::new(5, 0).with_maint(1).with_build(1)
        );
        assert_eq!(
            "8.1(2)SR2".parse::<Version>().unwrap(),
            Version::new(8, 1).with_maint(2).with_sr(2)
        );
        assert!("8".parse::<Version>().is_err());
        assert!("8.x"
            .parse::<Version>()
            .unwrap_err()
            .to_string()
            .contains("8.12"));
        assert!("8.1(2".parse::<Version>().is_err());
    }

    #[test]
    fn orders_numerically() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert!(v("4.4") < v("5.0"));
        assert!(v("5.0") < v("5.0(1.1)"));
        assert!(v("7.4") < v("8.12"));
        assert!(v("8.1(2)") < v("8.1(2)SR2"));
        assert!(v("2.3") > v("2.1"));
    }

    #[test]
    fn releases() {
        let r: Release = "sccp:3.3".parse().unwrap();
        assert_eq!(r, Release::new(Protocol::Sccp, Version::new(3, 3)));
        assert_eq!(r.to_string(), "sccp:3.3");
        assert!(matches!(
            "sccp".parse::<Release>(),
            Err(ReleaseError::Shape(_))
        ));
        assert!(matches!(
            "h323:1.0".parse::<Release>(),
            Err(ReleaseError::Protocol(_))
        ));
    }

    pub(crate) fn version_strategy() -> impl Strategy<Value = Version> {
        (
            any::<u8>(),
            any::<u8>(),
            proptest::option::of(any::<u8>()),
            any::<Option<u8>>(),
            any::<Option<u8>>(),
        )
            .prop_map(|(major, minor, maint, build, sr)| Version {
                major,
                minor,
                maint,
                build: maint.and(build),
                sr,
            })
    }

    proptest! {
        #[test]
        fn version_round_trips(v in version_strategy()) {
            prop_assert_eq!(v.to_string().parse::<Version>().unwrap(), v);
        }

        #[test]
        fn version_parse_never_panics(s in ".{0,20}") {
            let _ = s.parse::<Version>();
            let _ = s.parse::<Release>();
        }
    }
}

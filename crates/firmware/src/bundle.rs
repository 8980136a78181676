use std::fmt;
use std::str::FromStr;

use crate::load::LoadName;
use crate::version::{Protocol, Version};

/// The name of a vendor firmware bundle: `cmterm-7940-7960-sccp.8-0-4.zip`,
/// `cmterm-7940-7960-sccp.8-1-2SR2.zip`, or a load-named zip such as
/// `P0S3-8-12-00.zip`.
///
/// Knowing the version from the zip's name lets `firmware import` check
/// that the zip holds the load it claims before anything reaches the root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BundleName {
    raw: String,
    pub models: Vec<String>,
    pub protocol: Protocol,
    pub version: Version,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name:?} is not a firmware bundle name: {reason}; expected names like cmterm-7940-7960-sccp.8-0-4.zip, cmterm-7940-7960-sccp.8-1-2SR2.zip or P0S3-8-12-00.zip")]
pub struct BundleNameError {
    pub name: String,
    pub reason: String,
}

impl BundleName {
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for BundleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl FromStr for BundleName {
    type Err = BundleNameError;
    fn from_str(s: &str) -> Result<Self, BundleNameError> {
        let bad = |reason: &str| BundleNameError {
            name: s.to_string(),
            reason: reason.to_string(),
        };
        let stem = s
            .strip_suffix(".zip")
            .ok_or_else(|| bad("it must end in .zip"))?;
        if let Ok(load) = stem.parse::<LoadName>() {
            return Ok(BundleName {
                raw: s.to_string(),
                models: vec!["7940".into(), "7960".into()],
                protocol: if load.is_universal_loader() {
                    Protocol::Sip
                } else {
                    load.protocol()
                },
                version: load.version(),
            });
        }
        let rest = stem
            .strip_prefix("cmterm-")
            .ok_or_else(|| bad("it must start with cmterm- or be a load name"))?;
        let (head, ver) = rest
            .split_once('.')
            .ok_or_else(|| bad("a '.' must separate the models and protocol from the version"))?;
        let mut parts: Vec<&str> = head.split('-').collect();
        let proto = parts.pop().unwrap_or_default();
        let protocol: Protocol = proto
            .parse()
            .map_err(|_| bad("the part before the '.' must end in -sccp, -sip or -mgcp"))?;
        if parts.is_empty()
            || parts
                .iter()
                .any(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad("the models must be numbers, as in 7940-7960"));
        }
        let (nums, sr) = match ver.split_once("SR") {
            Some((n, sr)) => (n, Some(sr)),
            None => (ver, None),
        };
        let n: Vec<&str> = nums.split('-').collect();
        let num = |p: &str| -> Result<u8, BundleNameError> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(
                    "the version must be numbers separated by -, as in 8-0-4",
                ));
            }
            p.parse().map_err(|_| bad("a version number is above 255"))
        };
        let mut version = match n.as_slice() {
            [a, b] => Version::new(num(a)?, num(b)?),
            [a, b, c] => {
                let mut v = Version::new(num(a)?, num(b)?);
                let c = num(c)?;
                if protocol != Protocol::Sip || c != 0 {
                    v.maint = Some(c);
                }
                v
            }
            _ => {
                return Err(bad(
                    "the version must have two or three numbers, as in 8-0-4",
                ))
            }
        };
        if let Some(sr) = sr {
            version.sr = Some(num(sr)?);
        }
        Ok(BundleName {
            raw: s.to_string(),
            models: parts.into_iter().map(String::from).collect(),
            protocol,
            version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vendor_names() {
        let b: BundleName = "cmterm-7940-7960-sccp.8-0-4.zip".parse().unwrap();
        assert_eq!(b.protocol, Protocol::Sccp);
        assert_eq!(b.version, "8.0(4)".parse().unwrap());
        assert_eq!(b.models, vec!["7940", "7960"]);
        let b: BundleName = "cmterm-7940-7960-sccp.8-1-2SR2.zip".parse().unwrap();
        assert_eq!(b.version, "8.1(2)SR2".parse().unwrap());
        let b: BundleName = "P0S3-8-12-00.zip".parse().unwrap();
        assert_eq!(
            (b.protocol, b.version),
            (Protocol::Sip, Version::new(8, 12))
        );
        assert!("cmterm-7940-7960-h323.8-0-4.zip"
            .parse::<BundleName>()
            .is_err());
        assert!("firmware.zip".parse::<BundleName>().is_err());
    }

    proptest! {
        #[test]
        fn round_trips(a in 0u8..100, b in 0u8..100, c in 0u8..100, sr in proptest::option::of(0u8..10)) {
            let name = match sr {
                Some(sr) => format!("cmterm-7940-7960-sccp.{a}-{b}-{c}SR{sr}.zip"),
                None => format!("cmterm-7940-7960-sccp.{a}-{b}-{c}.zip"),
            };
            let parsed: BundleName = name.parse().unwrap();
            prop_assert_eq!(parsed.to_string(), name.clone());
            prop_assert_eq!(parsed.version.major, a);
            prop_assert_eq!(parsed.version.maint, Some(c));
        }

        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = s.parse::<BundleName>();
        }
    }
}

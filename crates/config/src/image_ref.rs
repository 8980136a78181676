//! The name a phone is told to fetch: a load name, or an 8.3 alias of one
//! for the SIP 2.1 and older loads that refuse longer names.

use std::fmt;
use std::str::FromStr;

use phoneflip_firmware::{LoadForm, LoadName, LoadNameError, Protocol};

/// A DOS 8.3 stand-in for a long SCCP/MGCP load name (`P00305000101` →
/// `PF2Z8Q5H`), served by the TFTP server under the alias.
///
/// The reference's "SIP Phone not Accepting SCCP Load" section: SIP 2.1 and
/// earlier refuse an SCCP load whose file name is longer than eight
/// characters, and the workaround is to rename the file. Renaming on disk
/// breaks every other phone, so phoneflip gives the file a second name
/// instead. The alias is a reversible encoding (no lookup table to lose):
/// `PF` (no real load starts with `PF`, the second character of a load is
/// always `0` or `O`) and six base-36 digits of the long form's eight-
/// character tail, with the SR and MGCP variants folded into the number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShortAlias {
    alias: String,
    load: LoadName,
}

const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const SR_FLAG: u64 = 100_000_000;
const MGCP_FLAG: u64 = 200_000_000;

impl ShortAlias {
    /// The alias of a long-form load, or `None` when the load's own name
    /// already fits 8.3 or has a form the alias cannot carry (dashed).
    pub fn for_load(load: &LoadName) -> Option<ShortAlias> {
        if load.fits_8_3() || load.form() != LoadForm::Long {
            return None;
        }
        let tail = &load.as_str()[4..];
        let mut n: u64 = if let Some((head, sr)) = tail.split_once("SR") {
            SR_FLAG + head.parse::<u64>().ok()? * 100 + sr.parse::<u64>().ok()?
        } else {
            tail.parse::<u64>().ok()?
        };
        match load.protocol() {
            Protocol::Sccp => {}
            Protocol::Mgcp => n += MGCP_FLAG,
            Protocol::Sip => return None,
        }
        let mut digits = [b'0'; 6];
        let mut v = n;
        for d in digits.iter_mut().rev() {
            *d = ALPHABET[(v % 36) as usize];
            v /= 36;
        }
        let alias = format!("PF{}", std::str::from_utf8(&digits).ok()?);
        Some(ShortAlias {
            alias,
            load: load.clone(),
        })
    }

    /// Decodes an alias back to the load it stands for.
    pub fn parse(alias: &str) -> Option<ShortAlias> {
        let body = alias.strip_prefix("PF")?;
        if body.len() != 6 {
            return None;
        }
        let mut n: u64 = 0;
        for b in body.bytes() {
            let d = ALPHABET.iter().position(|&a| a == b)? as u64;
            n = n * 36 + d;
        }
        let (protocol, rest) = if n >= MGCP_FLAG + SR_FLAG + 1_000_000 {
            return None;
        } else if n >= MGCP_FLAG {
            ('M', n - MGCP_FLAG)
        } else {
            ('0', n)
        };
        let tail = if rest >= SR_FLAG {
            let v = rest - SR_FLAG;
            if v >= 1_000_000 {
                return None;
            }
            format!("{:04}SR{:02}", v / 100, v % 100)
        } else {
            format!("{rest:08}")
        };
        let load: LoadName = format!("P0{protocol}3{tail}").parse().ok()?;
        let back = ShortAlias::for_load(&load)?;
        (back.alias == alias).then_some(back)
    }

    pub fn as_str(&self) -> &str {
        &self.alias
    }

    pub fn load(&self) -> &LoadName {
        &self.load
    }
}

impl fmt::Display for ShortAlias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.alias)
    }
}

/// What `OS79XX.TXT` and `image_version` hold: a load name, or its 8.3
/// alias for a load that needs one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImageRef {
    Load(LoadName),
    Alias(ShortAlias),
}

impl ImageRef {
    /// The name to give a phone running `current` so that it fetches
    /// `target`: the alias when `current` is SIP 2.1 or older and the
    /// target's name is longer than 8.3 allows.
    pub fn for_phone(current: Option<&LoadName>, target: &LoadName) -> ImageRef {
        let needs_8_3 = current.is_some_and(|c| {
            c.protocol() == Protocol::Sip
                && c.version() <= phoneflip_firmware::Version::new(2, 1).with_maint(255)
        });
        if needs_8_3 && !target.fits_8_3() {
            if let Some(a) = ShortAlias::for_load(target) {
                return ImageRef::Alias(a);
            }
        }
        ImageRef::Load(target.clone())
    }

    /// The load this name makes the phone fetch.
    pub fn load(&self) -> &LoadName {
        match self {
            ImageRef::Load(l) => l,
            ImageRef::Alias(a) => a.load(),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ImageRef::Load(l) => l.as_str(),
            ImageRef::Alias(a) => a.as_str(),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImageRef {
    type Err = LoadNameError;
    fn from_str(s: &str) -> Result<ImageRef, LoadNameError> {
        match s.parse::<LoadName>() {
            Ok(l) => Ok(ImageRef::Load(l)),
            Err(e) => ShortAlias::parse(s).map(ImageRef::Alias).ok_or(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn aliases_the_reference_sccp_load() {
        let load: LoadName = "P00305000101".parse().unwrap();
        let a = ShortAlias::for_load(&load).unwrap();
        assert_eq!(a.as_str().len(), 8);
        assert!(a.as_str().starts_with("PF"));
        assert_eq!(ShortAlias::parse(a.as_str()).unwrap().load(), &load);
        assert!(ShortAlias::for_load(&"POS30203".parse().unwrap()).is_none());
        let sip21: LoadName = "POS30201".parse().unwrap();
        let sip23: LoadName = "POS30203".parse().unwrap();
        assert!(matches!(
            ImageRef::for_phone(Some(&sip21), &load),
            ImageRef::Alias(_)
        ));
        assert_eq!(
            ImageRef::for_phone(Some(&sip23), &load),
            ImageRef::Load(load.clone())
        );
        assert_eq!(ImageRef::for_phone(None, &load), ImageRef::Load(load));
    }

    proptest! {
        #[test]
        fn aliases_round_trip(a in 0u8..100, b in 0u8..100, c in 0u8..100, d in 0u8..100,
                              sr in any::<bool>(), mgcp in any::<bool>()) {
            let p = if mgcp { 'M' } else { '0' };
            let name = if sr { format!("P0{p}3{a:02}{b:02}SR{d:02}") } else { format!("P0{p}3{a:02}{b:02}{c:02}{d:02}") };
            let load: LoadName = name.parse().unwrap();
            let alias = ShortAlias::for_load(&load).unwrap();
            prop_assert_eq!(alias.as_str().len(), 8);
            let back: ImageRef = alias.as_str().parse().unwrap();
            prop_assert_eq!(back.load(), &load);
        }

        #[test]
        fn alias_parse_never_panics(s in "PF[0-9A-Z]{0,8}") {
            let _ = ShortAlias::parse(&s);
        }
    }
}

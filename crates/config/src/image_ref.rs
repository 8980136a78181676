//! The name a phone is told to fetch: a load name, or the planner's DOS
//! 8.3 alias of one for the SIP 2.1 and older loads that refuse longer
//! names.
//!
//! The choice (which image, which alias) is the planner's: this module
//! calls `phoneflip-plan` so that rendered files and plans cannot disagree.

use std::fmt;
use std::str::FromStr;

use phoneflip_firmware::{LoadName, LoadNameError, Release};
use phoneflip_plan::rules::eight_dot_three_applies;
use phoneflip_plan::{alias_8_3, first_image};

/// What `OS79XX.TXT` and `image_version` hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImageRef {
    Load(LoadName),
    /// An 8.3 stand-in (`C0500A1F`): the reference's "SIP Phone not
    /// Accepting SCCP Load" workaround. The TFTP root holds a copy of the
    /// long-named file under this name (the plan lists the copy).
    Alias(String),
}

/// Whether `s` has the shape of a planner alias: a protocol letter
/// (C, S, M), four digits of version, three hex digits.
pub fn is_alias(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 8
        && matches!(b[0], b'C' | b'S' | b'M')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(c))
}

/// Whether `alias` is the 8.3 alias of `load`'s first image.
pub fn alias_of(alias: &str, load: &LoadName) -> bool {
    alias_8_3(&first_image(load)) == alias
}

impl ImageRef {
    /// The name that makes a phone running `current` fetch `target` first:
    /// the target's first image (its universal loader for a SIP 7.x+ load,
    /// as the vendor zip's OS79XX.TXT does), aliased to 8.3 when `current`
    /// is SIP 2.1 or older and the name is too long.
    pub fn for_phone(current: Option<&LoadName>, target: &LoadName) -> ImageRef {
        let first = first_image(target);
        let needs_8_3 = current
            .is_some_and(|c| eight_dot_three_applies(&Release::new(c.protocol(), c.version())));
        if needs_8_3 && !first.fits_8_3() {
            ImageRef::Alias(alias_8_3(&first))
        } else {
            ImageRef::Load(first)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ImageRef::Load(l) => l.as_str(),
            ImageRef::Alias(a) => a,
        }
    }

    pub fn load(&self) -> Option<&LoadName> {
        match self {
            ImageRef::Load(l) => Some(l),
            ImageRef::Alias(_) => None,
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
            Err(_) if is_alias(s) => Ok(ImageRef::Alias(s.to_string())),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn load(s: &str) -> LoadName {
        s.parse().unwrap()
    }

    #[test]
    fn picks_loader_and_alias_like_the_planner() {
        let sccp = load("P00305000101");
        let sip21 = load("POS30201");
        let sip23 = load("POS30203");
        match ImageRef::for_phone(Some(&sip21), &sccp) {
            ImageRef::Alias(a) => {
                assert!(is_alias(&a), "{a}");
                assert!(alias_of(&a, &sccp));
                assert_eq!(a.parse::<ImageRef>().unwrap(), ImageRef::Alias(a.clone()));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            ImageRef::for_phone(Some(&sip23), &sccp),
            ImageRef::Load(sccp.clone())
        );
        assert_eq!(ImageRef::for_phone(None, &sccp), ImageRef::Load(sccp));
        let sip812 = load("P0S3-8-12-00");
        assert_eq!(
            ImageRef::for_phone(Some(&load("P00305000101")), &sip812).as_str(),
            "P003-8-12-00"
        );
        assert_eq!(
            ImageRef::for_phone(Some(&sip21), &sip23).as_str(),
            "POS30203"
        );
    }

    proptest! {
        #[test]
        fn aliases_fit_8_3_and_parse(a in 0u8..100, b in 0u8..100, c in 0u8..100, d in 0u8..100) {
            let l = load(&format!("P003{a:02}{b:02}{c:02}{d:02}"));
            let r = ImageRef::for_phone(Some(&load("POS30100")), &l);
            prop_assert!(r.as_str().len() <= 8);
            prop_assert_eq!(r.as_str().parse::<ImageRef>().unwrap(), r);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,16}") {
            let _ = s.parse::<ImageRef>();
        }
    }
}

//! `OS79XX.TXT`: the one-line file that tells a pre-loader phone which
//! image to fetch.

use std::fmt;

use phoneflip_firmware::{ImageKind, LoadName, LoadNameError};

use crate::image_ref::ImageRef;

/// The parsed file: exactly one image name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Os79xx {
    pub image: ImageRef,
    /// Whether the name is followed by a line feed. Both forms work on a
    /// phone; it is kept so that a file read from a root is written back
    /// byte for byte, and phoneflip's own files have none (the form the
    /// pre-loader loads are documented with).
    pub newline: bool,
}

/// One thing in an `OS79XX.TXT` that makes the phones fail. Every defect
/// is reported at once, so one edit fixes the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Os79xxDefect {
    #[error("the file is empty; write the load name on one line, e.g. P0S3-8-12-00")]
    Empty,
    #[error("the file is not plain ASCII text; write only the load name")]
    NotAscii,
    #[error("it has {lines} lines; the phone reads only a single line holding the load name, delete the others")]
    MultipleLines { lines: usize },
    #[error("line 1 ends in a carriage return (a DOS line ending); the phones take the CR as part of the name (Cisco bug CSCdv19260): save the file with a Unix line ending or none")]
    CarriageReturn,
    #[error("line 1 has whitespace around the name; a trailing space breaks the phone's parser (Cisco bug CSCdv19260): delete it")]
    Whitespace,
    #[error("{name:?} has the extension .{ext}; the file holds the name without an extension: write {suggestion:?}")]
    Extension {
        name: String,
        ext: String,
        suggestion: String,
    },
    #[error("{name:?} is in the wrong case; the phones compare the name case-sensitively: write {suggestion:?}")]
    WrongCase { name: String, suggestion: String },
    #[error("{0}")]
    NotALoad(LoadNameError),
}

/// Why an `OS79XX.TXT` was refused: every defect found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Os79xxError {
    pub defects: Vec<Os79xxDefect>,
}

impl fmt::Display for Os79xxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OS79XX.TXT is not usable:")?;
        for d in &self.defects {
            write!(f, "\n  - {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Os79xxError {}

impl Os79xx {
    pub fn new(image: ImageRef) -> Os79xx {
        Os79xx {
            image,
            newline: false,
        }
    }

    pub fn for_load(load: LoadName) -> Os79xx {
        Os79xx {
            image: ImageRef::Load(load),
            newline: false,
        }
    }

    /// Accepts the name alone or followed by one `\n` (files in the wild,
    /// such as a working SIP 8.12 site's `P0S3-8-12-00\n`, end in a LF).
    pub fn parse(bytes: &[u8]) -> Result<Os79xx, Os79xxError> {
        let fail = |d: Vec<Os79xxDefect>| Err(Os79xxError { defects: d });
        if bytes.is_empty() {
            return fail(vec![Os79xxDefect::Empty]);
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return fail(vec![Os79xxDefect::NotAscii]);
        };
        if !text.is_ascii() {
            return fail(vec![Os79xxDefect::NotAscii]);
        }
        let mut defects = Vec::new();
        let body = text.strip_suffix('\n').unwrap_or(text);
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() > 1 {
            defects.push(Os79xxDefect::MultipleLines { lines: lines.len() });
        }
        let mut first = lines[0];
        if let Some(s) = first.strip_suffix('\r') {
            defects.push(Os79xxDefect::CarriageReturn);
            first = s;
        }
        let name = first.trim_matches(|c: char| c.is_ascii_whitespace());
        if name.len() != first.len() {
            defects.push(Os79xxDefect::Whitespace);
        }
        if name.is_empty() {
            if !defects.contains(&Os79xxDefect::Empty) {
                defects.push(Os79xxDefect::Empty);
            }
            return fail(defects);
        }
        let image = match check_name(name) {
            Ok(i) => Some(i),
            Err(d) => {
                defects.push(d);
                None
            }
        };
        match image {
            Some(image) if defects.is_empty() => Ok(Os79xx {
                image,
                newline: body.len() < text.len(),
            }),
            _ => fail(defects),
        }
    }

    /// Exactly the name, with no line terminator. The reference says the
    /// file "must only contain the name"; a trailing CR or space breaks the
    /// phone (CSCdv19260), and while a bare LF is seen working in the wild,
    /// nothing at all after the name is the one form no phone can misread.
    /// It is also byte for byte what the planner demands.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.image.to_string().into_bytes();
        if self.newline {
            out.push(b'\n');
        }
        out
    }
}

fn check_name(name: &str) -> Result<ImageRef, Os79xxDefect> {
    if let Some((stem, ext)) = name.rsplit_once('.') {
        if ImageKind::from_ext(&ext.to_ascii_lowercase()).is_some() {
            let suggestion = match stem.parse::<ImageRef>() {
                Ok(_) => stem.to_string(),
                Err(_) => stem.to_ascii_uppercase(),
            };
            return Err(Os79xxDefect::Extension {
                name: name.to_string(),
                ext: ext.to_string(),
                suggestion,
            });
        }
    }
    match name.parse::<ImageRef>() {
        Ok(i) => Ok(i),
        Err(LoadNameError::WrongCase { name, suggestion }) => {
            Err(Os79xxDefect::WrongCase { name, suggestion })
        }
        Err(e) => Err(Os79xxDefect::NotALoad(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn defects(b: &[u8]) -> Vec<Os79xxDefect> {
        Os79xx::parse(b).unwrap_err().defects
    }

    #[test]
    fn accepts_the_name_with_or_without_lf() {
        for b in [&b"P0S3-8-12-00"[..], b"P0S3-8-12-00\n"] {
            let f = Os79xx::parse(b).unwrap();
            assert_eq!(f.image.as_str(), "P0S3-8-12-00");
            assert_eq!(f.to_bytes(), b, "written back byte for byte");
        }
        let f = Os79xx::for_load("POS30203".parse().unwrap());
        assert_eq!(f.to_bytes(), b"POS30203");
    }

    #[test]
    fn reports_every_defect() {
        assert_eq!(defects(b""), vec![Os79xxDefect::Empty]);
        assert_eq!(defects(b"\n"), vec![Os79xxDefect::Empty]);
        assert_eq!(defects(b"POS30203\r\n"), vec![Os79xxDefect::CarriageReturn]);
        assert_eq!(defects(b"POS30203 \n"), vec![Os79xxDefect::Whitespace]);
        assert!(matches!(
            defects(b"POS30203.bin\n")[..],
            [Os79xxDefect::Extension { ref suggestion, .. }] if suggestion == "POS30203"
        ));
        assert!(matches!(
            defects(b"pos30203\n")[..],
            [Os79xxDefect::WrongCase { ref suggestion, .. }] if suggestion == "POS30203"
        ));
        assert_eq!(
            defects(b"POS30203\nPOS30203\n"),
            vec![Os79xxDefect::MultipleLines { lines: 2 }]
        );
        let all = defects(b"pos30203.BIN \r\nx\n");
        assert_eq!(all.len(), 4, "{all:?}");
        assert!(matches!(defects(b"hello")[..], [Os79xxDefect::NotALoad(_)]));
        assert_eq!(defects(&[0xff, 0xfe]), vec![Os79xxDefect::NotAscii]);
        let msg = Os79xx::parse(b"POS30203\r\n").unwrap_err().to_string();
        assert!(msg.contains("CSCdv19260"), "{msg}");
    }

    #[test]
    fn carries_an_alias() {
        let sip21: LoadName = "POS30201".parse().unwrap();
        let sccp: LoadName = "P00305000101".parse().unwrap();
        let f = Os79xx::new(ImageRef::for_phone(Some(&sip21), &sccp));
        assert!(matches!(f.image, ImageRef::Alias(_)));
        assert_eq!(f.to_bytes().len(), 8);
        assert_eq!(Os79xx::parse(&f.to_bytes()).unwrap(), f);
    }

    proptest! {
        #[test]
        fn round_trips(a in 0u8..100, b in 0u8..100, c in 0u8..100) {
            for name in [format!("POS3{a:02}{b:02}"), format!("P0S3-{a}-{b}-{c:02}"), format!("P003{a:02}{b:02}{c:02}00")] {
                let f = Os79xx::for_load(name.parse().unwrap());
                let bytes = f.to_bytes();
                prop_assert_eq!(Os79xx::parse(&bytes).unwrap(), f.clone());
                prop_assert_eq!(Os79xx::parse(&bytes).unwrap().to_bytes(), bytes);
            }
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Os79xx::parse(&b);
        }
    }
}

//! `syncinfo.xml`: what a SIP phone checks after a `check-sync` NOTIFY to
//! decide whether to reboot (domain-facts: remote reset).
//!
//! `<IMAGE VERSION="image_version" SYNC="sync"/>`: a phone whose image
//! matches VERSION (or `*`) reboots when SYNC differs from its own `sync`.

use std::fmt::Write as _;

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::Reader;

/// The longest SYNC value the phones take.
pub const MAX_SYNC_LEN: usize = 32;

/// One `<IMAGE>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncImage {
    /// An image_version, or `*` for every image.
    pub version: String,
    pub sync: String,
}

/// The file: its IMAGE lines, optionally inside a wrapper element (kept
/// so a site's own file reads back as it was).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncInfo {
    pub root: Option<String>,
    pub images: Vec<SyncImage>,
}

/// Why a syncinfo.xml (or an IMAGE line) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {problem}; {fix}")]
pub struct SyncInfoError {
    pub file: String,
    pub problem: String,
    pub fix: String,
}

impl SyncImage {
    fn check(&self, file: &str) -> Result<(), SyncInfoError> {
        let fail = |problem: String, fix: &str| SyncInfoError {
            file: file.into(),
            problem,
            fix: fix.into(),
        };
        if self.version.trim().is_empty() {
            return Err(fail(
                "an IMAGE has an empty VERSION".into(),
                "write the image_version, or * for every image",
            ));
        }
        if self.sync.is_empty() || self.sync.len() > MAX_SYNC_LEN {
            return Err(fail(
                format!(
                    "SYNC {:?} is {} characters long",
                    self.sync,
                    self.sync.len()
                ),
                "write 1 to 32 characters, different from the phones' current sync value",
            ));
        }
        Ok(())
    }
}

impl SyncInfo {
    /// The one-line file that reboots every phone whose sync differs.
    pub fn all(sync: &str) -> SyncInfo {
        SyncInfo {
            root: None,
            images: vec![SyncImage {
                version: "*".into(),
                sync: sync.into(),
            }],
        }
    }

    pub fn parse(file: &str, bytes: &[u8]) -> Result<SyncInfo, SyncInfoError> {
        let fail = |problem: String, fix: &str| SyncInfoError {
            file: file.into(),
            problem,
            fix: fix.into(),
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| fail("it is not UTF-8 text".into(), "save it as ASCII"))?;
        let mut reader = Reader::from_str(text);
        reader.config_mut().trim_text(true);
        let mut info = SyncInfo::default();
        let mut depth = 0usize;
        loop {
            let (e, empty) = match reader.read_event() {
                Err(e) => {
                    let (line, column) =
                        crate::xmldoc::line_col(bytes, reader.error_position() as usize);
                    return Err(fail(
                        format!("line {line}, column {column}: malformed XML: {e}"),
                        "write <IMAGE VERSION=\"*\" SYNC=\"2\"/>; a phone that cannot read it does not reboot on check-sync",
                    ));
                }
                Ok(Event::Eof) => break,
                Ok(Event::Start(e)) => (e, false),
                Ok(Event::Empty(e)) => (e, true),
                Ok(Event::End(_)) => {
                    depth = depth.saturating_sub(1);
                    continue;
                }
                Ok(_) => continue,
            };
            let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
            if name.eq_ignore_ascii_case("IMAGE") && depth <= 1 {
                let mut version = None;
                let mut sync = None;
                for a in e.attributes() {
                    let a = a.map_err(|x| {
                        fail(
                            format!("bad IMAGE attribute: {x}"),
                            "quote every attribute value",
                        )
                    })?;
                    let v = a
                        .unescape_value()
                        .map_err(|x| {
                            fail(format!("bad attribute value: {x}"), "escape & as &amp;")
                        })?
                        .into_owned();
                    if a.key.as_ref().eq_ignore_ascii_case(b"VERSION") {
                        version = Some(v);
                    } else if a.key.as_ref().eq_ignore_ascii_case(b"SYNC") {
                        sync = Some(v);
                    }
                }
                let (Some(version), Some(sync)) = (version, sync) else {
                    return Err(fail(
                        "an IMAGE lacks VERSION or SYNC".into(),
                        "write <IMAGE VERSION=\"*\" SYNC=\"2\"/>",
                    ));
                };
                let img = SyncImage { version, sync };
                img.check(file)?;
                info.images.push(img);
            } else if depth == 0 && info.root.is_none() && info.images.is_empty() && !empty {
                info.root = Some(name);
            } else {
                return Err(fail(
                    format!("unexpected element <{name}>"),
                    "the file holds only IMAGE elements",
                ));
            }
            if !empty {
                depth += 1;
            }
        }
        if info.images.is_empty() {
            return Err(fail(
                "it holds no IMAGE".into(),
                "write <IMAGE VERSION=\"*\" SYNC=\"2\"/>",
            ));
        }
        Ok(info)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, SyncInfoError> {
        let mut out = String::new();
        let indent = if self.root.is_some() { "  " } else { "" };
        if let Some(r) = &self.root {
            let _ = writeln!(out, "<{r}>");
        }
        for i in &self.images {
            i.check("syncinfo.xml")?;
            let _ = writeln!(
                out,
                "{indent}<IMAGE VERSION=\"{}\" SYNC=\"{}\"/>",
                escape(i.version.as_str()),
                escape(i.sync.as_str())
            );
        }
        if let Some(r) = &self.root {
            let _ = writeln!(out, "</{r}>");
        }
        Ok(out.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn domain_facts_form() {
        let s = SyncInfo::all("2");
        assert_eq!(
            s.to_bytes().unwrap(),
            b"<IMAGE VERSION=\"*\" SYNC=\"2\"/>\n"
        );
        let two = b"<SYNCINFO>\n<IMAGE VERSION=\"P0S3-8-12-00\" SYNC=\"7\"/>\n<IMAGE VERSION=\"*\" SYNC=\"1\"/>\n</SYNCINFO>\n";
        let p = SyncInfo::parse("syncinfo.xml", two).unwrap();
        assert_eq!(p.root.as_deref(), Some("SYNCINFO"));
        assert_eq!(p.images[0].version, "P0S3-8-12-00");
        assert_eq!(SyncInfo::parse("x", &p.to_bytes().unwrap()).unwrap(), p);
    }

    #[test]
    fn errors() {
        let long = "x".repeat(33);
        let e = SyncInfo::parse(
            "syncinfo.xml",
            format!("<IMAGE VERSION=\"*\" SYNC=\"{long}\"/>").as_bytes(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("1 to 32"), "{e}");
        assert!(SyncInfo::parse("syncinfo.xml", b"<IMAGE VERSION=\"*\"/>").is_err());
        assert!(SyncInfo::parse("syncinfo.xml", b"").is_err());
        assert!(SyncInfo::all("").to_bytes().is_err());
    }

    proptest! {
        #[test]
        fn round_trips(root in proptest::option::of("[A-Z]{1,8}"),
                       images in proptest::collection::vec(("\\*|[A-Z0-9-]{1,12}", "[ -~]{1,32}"), 1..4)) {
            let s = SyncInfo { root, images: images.into_iter().map(|(version, sync)| SyncImage { version, sync }).collect() };
            let s = SyncInfo { images: s.images.into_iter().filter(|i| i.sync.trim() == i.sync).collect(), ..s };
            prop_assume!(!s.images.is_empty());
            prop_assert_eq!(SyncInfo::parse("f", &s.to_bytes().unwrap()).unwrap(), s);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SyncInfo::parse("f", &b);
        }
    }
}

//! `RINGLIST.DAT`: the custom ring tones a phone offers, one per line as
//! `Display name<TAB>file.pcm` (the audio files sit in the TFTP root).

/// One ring: the name shown in the phone's menu and the audio file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ring {
    pub name: String,
    pub file: String,
}

/// The whole list, in menu order.
///
/// A list read from a file remembers that file: written back unchanged it
/// is the same bytes (CRLF, blank lines, spacing), and once edited it is
/// written with the file's line ending. Equality is about the rings only.
#[derive(Debug, Clone, Default)]
pub struct RingList {
    pub rings: Vec<Ring>,
    source: Option<Source>,
}

/// What a parsed list was read from.
#[derive(Debug, Clone)]
struct Source {
    rings: Vec<Ring>,
    bytes: Vec<u8>,
    crlf: bool,
}

impl PartialEq for RingList {
    fn eq(&self, other: &RingList) -> bool {
        self.rings == other.rings
    }
}

impl Eq for RingList {}

/// Why a ring list (or a ring to add to it) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {problem}; {fix}")]
pub struct RingListError {
    pub file: String,
    pub line: usize,
    pub problem: String,
    pub fix: String,
}

impl RingList {
    /// Each non-blank line is a display name (which may contain spaces),
    /// whitespace (a tab in Cisco's files, spaces in many home-made ones),
    /// and the file name, which has no whitespace. CRLF and LF are both
    /// read; blank lines are skipped.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<RingList, RingListError> {
        let fail = |line: usize, problem: String, fix: &str| RingListError {
            file: file.into(),
            line,
            problem,
            fix: fix.into(),
        };
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            fail(
                line,
                "the line is not valid UTF-8 text".into(),
                "save the file as plain ASCII",
            )
        })?;
        let mut rings = Vec::new();
        for (i, raw) in text.split('\n').enumerate() {
            let l = raw.trim();
            if l.is_empty() {
                continue;
            }
            // The separator may be any Unicode space (a no-break space from a
            // word processor is two bytes), so step over the whole character.
            let Some((split, sep)) = l.char_indices().rev().find(|(_, c)| c.is_whitespace()) else {
                return Err(fail(
                    i + 1,
                    format!("{l:?} has only one field"),
                    "write the display name, a tab, then the file name, e.g. Chirp<TAB>chirp1.raw",
                ));
            };
            let name = l[..split].trim_end();
            let file_name = &l[split + sep.len_utf8()..];
            rings.push(Ring {
                name: name.to_string(),
                file: file_name.to_string(),
            });
        }
        let crlf = text.contains("\r\n");
        Ok(RingList {
            source: Some(Source {
                rings: rings.clone(),
                bytes: bytes.to_vec(),
                crlf,
            }),
            rings,
        })
    }

    /// Checks a ring can be written so that it reads back the same.
    pub fn check(ring: &Ring) -> Result<(), String> {
        if ring.name.trim().is_empty() || ring.name.trim() != ring.name {
            return Err(format!(
                "ring name {:?} must be non-empty without leading or trailing spaces",
                ring.name
            ));
        }
        if ring.name.contains(['\t', '\r', '\n']) {
            return Err(format!(
                "ring name {:?} must not contain tabs or line breaks",
                ring.name
            ));
        }
        if ring.file.is_empty() || ring.file.contains(char::is_whitespace) {
            return Err(format!(
                "ring file {:?} must be a file name without spaces",
                ring.file
            ));
        }
        Ok(())
    }

    /// `name<TAB>file` lines ending in a bare LF, never CR: a stray CR
    /// would become part of the file name the phone asks for.
    /// A list made of `rings`, as phoneflip writes it (tab, LF).
    pub fn new(rings: Vec<Ring>) -> RingList {
        RingList {
            rings,
            source: None,
        }
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, RingListError> {
        if let Some(src) = &self.source {
            if src.rings == self.rings {
                return Ok(src.bytes.clone());
            }
        }
        let eol = match &self.source {
            Some(s) if s.crlf => "\r\n",
            _ => "\n",
        };
        let mut out = String::new();
        for (i, r) in self.rings.iter().enumerate() {
            RingList::check(r).map_err(|problem| RingListError {
                file: "RINGLIST.DAT".into(),
                line: i + 1,
                problem,
                fix: "rename the ring".into(),
            })?;
            out.push_str(&r.name);
            out.push('\t');
            out.push_str(&r.file);
            out.push_str(eol);
        }
        Ok(out.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_tabs_spaces_and_crlf() {
        let l = RingList::parse(
            "RINGLIST.DAT",
            b"Analog1\tAnalog1.raw\r\nOld Style ringer1.pcm\r\n\r\nPulse  Pulse1.raw",
        )
        .unwrap();
        assert_eq!(
            l.rings,
            vec![
                Ring {
                    name: "Analog1".into(),
                    file: "Analog1.raw".into()
                },
                Ring {
                    name: "Old Style".into(),
                    file: "ringer1.pcm".into()
                },
                Ring {
                    name: "Pulse".into(),
                    file: "Pulse1.raw".into()
                },
            ]
        );
        assert_eq!(
            l.to_bytes().unwrap(),
            b"Analog1\tAnalog1.raw\r\nOld Style ringer1.pcm\r\n\r\nPulse  Pulse1.raw",
            "unchanged, it is the file as read"
        );
        let mut edited = l.clone();
        edited.rings.pop();
        assert_eq!(
            edited.to_bytes().unwrap(),
            b"Analog1\tAnalog1.raw\r\nOld Style\tringer1.pcm\r\n",
            "edited, it keeps the file's CRLF"
        );
    }

    #[test]
    fn refuses_one_field_lines_and_bad_rings() {
        let e = RingList::parse("RINGLIST.DAT", b"A\ta.raw\nlonely\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("RINGLIST.DAT line 2"), "{e}");
        let bad = RingList::new(vec![Ring {
            name: "x".into(),
            file: "a b.raw".into(),
        }]);
        assert!(bad.to_bytes().is_err());
    }

    /// Found by `cargo fuzz run parsers`: a no-break space as the separator
    /// made the file name start inside that two-byte character.
    #[test]
    fn multibyte_space_separates_name_and_file() {
        let l = RingList::parse("RINGLIST.DAT", b"\x0e\xc2\xa0/").unwrap();
        assert_eq!(
            l.rings,
            vec![Ring {
                name: "\u{e}".into(),
                file: "/".into()
            }]
        );
        let l = RingList::parse("RINGLIST.DAT", "Chirp\u{a0}chirp1.raw".as_bytes()).unwrap();
        assert_eq!(l.rings[0].name, "Chirp");
        assert_eq!(l.rings[0].file, "chirp1.raw");
        assert_eq!(RingList::parse("f", &l.to_bytes().unwrap()).unwrap(), l);
    }

    proptest! {
        #[test]
        fn round_trips(rings in proptest::collection::vec(("[A-Za-z0-9]([A-Za-z0-9 ]{0,10}[A-Za-z0-9])?", "[A-Za-z0-9_.-]{1,12}"), 0..8)) {
            let l = RingList::new(rings.into_iter().map(|(name, file)| Ring { name, file }).collect());
            let b = l.to_bytes().unwrap();
            prop_assert_eq!(RingList::parse("f", &b).unwrap(), l);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = RingList::parse("f", &b);
        }
    }
}

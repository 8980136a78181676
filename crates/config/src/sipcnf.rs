//! SIP `key: value` files (`SIPDefault.cnf`, `SIP<MAC>.cnf`) as a lossless
//! concrete syntax tree with a typed view on top.
//!
//! Administrators keep comments, odd spacing and quoting in these files;
//! rewriting one must not churn lines nobody touched, so every line keeps
//! its original spelling and only edited values are re-spelled.

use std::fmt;

/// A parsed SIP configuration file. `to_bytes()` of a parsed file is the
/// input, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SipCnf {
    lines: Vec<CnfLine>,
}

/// One line: its text without the terminator, the terminator, and what it
/// holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CnfLine {
    text: String,
    /// The bytes of a line that is not UTF-8, kept as they are (only
    /// [`SipCnf::parse_lossy`] keeps such lines).
    raw: Option<Vec<u8>>,
    ending: Ending,
    entry: Option<Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Lf,
    CrLf,
    None,
}

impl Ending {
    fn as_str(self) -> &'static str {
        match self {
            Ending::Lf => "\n",
            Ending::CrLf => "\r\n",
            Ending::None => "",
        }
    }
}

/// A `key: value` line. `value_span` covers the value as written,
/// quotes included, so an edit replaces exactly that.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    key: String,
    value: String,
    quoted: bool,
    value_span: (usize, usize),
}

/// A parameter as the typed view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// 1-based line number in the file.
    pub line: usize,
    pub key: &'a str,
    /// The value with quotes removed (`""` gives an empty value).
    pub value: &'a str,
    pub quoted: bool,
}

/// Why a line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}, column {column}: {problem}; {fix}")]
pub struct SipCnfError {
    pub file: String,
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub problem: String,
    pub fix: String,
}

/// Why a value cannot be written into a SIP file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipValueError {
    #[error("parameter {key:?}: the value {value:?} contains {what}, which the key: value syntax cannot carry; remove it")]
    Unwritable {
        key: String,
        value: String,
        what: &'static str,
    },
    #[error("{key:?} is not a parameter name: names are letters, digits and underscores, such as proxy1_address")]
    BadKey { key: String },
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A line's entry, or (byte offset in the line, problem, fix).
fn parse_line(text: &str) -> Result<Option<Entry>, (usize, String, String)> {
    let trimmed = text.trim_start_matches([' ', '\t']);
    let indent = text.len() - trimmed.len();
    if trimmed.trim().is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
        return Ok(None);
    }
    let key_len = trimmed
        .find(|c: char| !is_key_char(c))
        .unwrap_or(trimmed.len());
    let key = &trimmed[..key_len];
    if key.is_empty() {
        return Err((
            indent,
            format!("{:?} does not start with a parameter name", text.trim()),
            "write name: value, or start a comment with #".into(),
        ));
    }
    let after_key = &trimmed[key_len..];
    let rest = after_key.trim_start_matches([' ', '\t']);
    let Some(rest) = rest.strip_prefix(':') else {
        return Err((
            indent + key_len,
            format!("parameter {key:?} has no colon"),
            format!("write it as {key}: value"),
        ));
    };
    let vstart_rel = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let value_part = &rest[vstart_rel..];
    let vstart = text.len() - value_part.len();
    if let Some(inner) = value_part.strip_prefix('"') {
        let Some(close) = inner.find('"') else {
            return Err((
                vstart,
                format!("the value of {key:?} opens a quote that is never closed"),
                "add the closing \" at the end of the value".into(),
            ));
        };
        let value = &inner[..close];
        let after = inner[close + 1..].trim_start_matches([' ', '\t']);
        if !(after.is_empty() || after.starts_with(';') || after.starts_with('#')) {
            return Err((
                text.len() - after.len(),
                format!("text {after:?} follows the quoted value of {key:?}"),
                "put everything inside the quotes, or make it a comment with ;".into(),
            ));
        }
        Ok(Some(Entry {
            key: key.to_string(),
            value: value.to_string(),
            quoted: true,
            value_span: (vstart, vstart + close + 2),
        }))
    } else {
        let end = value_part.find(';').unwrap_or(value_part.len());
        let value = value_part[..end].trim_end_matches([' ', '\t']);
        Ok(Some(Entry {
            key: key.to_string(),
            value: value.to_string(),
            quoted: false,
            value_span: (vstart, vstart + value.len()),
        }))
    }
}

/// How a value is spelled: quoted when it is empty or holds characters a
/// bare value cannot (whitespace, `;`, `#`, `:`), bare otherwise.
fn spell(key: &str, value: &str, force_quotes: bool) -> Result<String, SipValueError> {
    for (c, what) in [
        ('"', "a double quote"),
        ('\n', "a line break"),
        ('\r', "a carriage return"),
    ] {
        if value.contains(c) {
            return Err(SipValueError::Unwritable {
                key: key.into(),
                value: value.into(),
                what,
            });
        }
    }
    let needs = value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, ';' | '#' | ':'));
    Ok(if needs || force_quotes {
        format!("\"{value}\"")
    } else {
        value.to_string()
    })
}

impl SipCnf {
    pub fn new() -> SipCnf {
        SipCnf::default()
    }

    /// Parses a file; `file` names it in errors. The first bad line is
    /// the error; [`SipCnf::parse_lossy`] reads past it.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<SipCnf, SipCnfError> {
        let (cnf, mut errors) = SipCnf::parse_lossy(file, bytes);
        if errors.is_empty() {
            Ok(cnf)
        } else {
            Err(errors.swap_remove(0))
        }
    }

    /// Parses a file the way a phone reads it: a line it cannot read is
    /// skipped (kept as text, so the file still writes back byte for
    /// byte, but setting nothing), and every other line counts. Returns
    /// the file and one error per bad line, in order.
    pub fn parse_lossy(file: &str, bytes: &[u8]) -> (SipCnf, Vec<SipCnfError>) {
        let mut lines = Vec::new();
        let mut errors = Vec::new();
        let mut rest = bytes;
        let mut n = 0;
        while !rest.is_empty() {
            n += 1;
            let (raw, ending, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) if i > 0 && rest[i - 1] == b'\r' => {
                    (&rest[..i - 1], Ending::CrLf, &rest[i + 1..])
                }
                Some(i) => (&rest[..i], Ending::Lf, &rest[i + 1..]),
                None => (rest, Ending::None, &rest[rest.len()..]),
            };
            rest = next;
            let text = match std::str::from_utf8(raw) {
                Ok(t) => t,
                Err(e) => {
                    let column = 1 + String::from_utf8_lossy(&raw[..e.valid_up_to()])
                        .chars()
                        .count();
                    errors.push(SipCnfError {
                        file: file.into(),
                        line: n,
                        column,
                        problem: "the line is not valid UTF-8 text".into(),
                        fix: "save the file as plain ASCII".into(),
                    });
                    lines.push(CnfLine {
                        text: String::from_utf8_lossy(raw).into_owned(),
                        raw: Some(raw.to_vec()),
                        ending,
                        entry: None,
                    });
                    continue;
                }
            };
            let entry = match parse_line(text) {
                Ok(e) => e,
                Err((at, problem, fix)) => {
                    errors.push(SipCnfError {
                        file: file.into(),
                        line: n,
                        column: 1 + text[..at].chars().count(),
                        problem,
                        fix: format!("{fix} (a phone skips this line)"),
                    });
                    None
                }
            };
            lines.push(CnfLine {
                text: text.to_string(),
                raw: None,
                ending,
                entry,
            });
        }
        (SipCnf { lines }, errors)
    }

    /// Builds a file from parameters in order, one `key: value` per line.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<SipCnf, SipValueError> {
        let mut cnf = SipCnf::new();
        for (k, v) in pairs {
            cnf.push(k, v)?;
        }
        Ok(cnf)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for l in &self.lines {
            match &l.raw {
                Some(raw) => out.extend_from_slice(raw),
                None => out.extend_from_slice(l.text.as_bytes()),
            }
            out.extend_from_slice(l.ending.as_str().as_bytes());
        }
        out
    }

    pub fn entries(&self) -> impl Iterator<Item = EntryRef<'_>> {
        self.lines.iter().enumerate().filter_map(|(i, l)| {
            l.entry.as_ref().map(|e| EntryRef {
                line: i + 1,
                key: &e.key,
                value: &e.value,
                quoted: e.quoted,
            })
        })
    }

    /// The value the phone ends up with: the last occurrence wins.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries()
            .filter(|e| e.key == key)
            .last()
            .map(|e| e.value)
    }

    /// Appends a comment line (`# text`).
    pub fn push_comment(&mut self, text: &str) {
        self.terminate_last();
        let text = text.replace(['\r', '\n'], " ");
        self.lines.push(CnfLine {
            text: format!("# {text}"),
            raw: None,
            ending: Ending::Lf,
            entry: None,
        });
    }

    /// Appends `key: value` at the end, even if the key exists.
    pub fn push(&mut self, key: &str, value: &str) -> Result<(), SipValueError> {
        if key.is_empty() || !key.chars().all(is_key_char) {
            return Err(SipValueError::BadKey { key: key.into() });
        }
        let spelled = spell(key, value, false)?;
        self.terminate_last();
        let text = format!("{key}: {spelled}");
        let start = key.len() + 2;
        let quoted = spelled.starts_with('"');
        self.lines.push(CnfLine {
            text,
            raw: None,
            ending: Ending::Lf,
            entry: Some(Entry {
                key: key.to_string(),
                value: value.to_string(),
                quoted,
                value_span: (start, start + spelled.len()),
            }),
        });
        Ok(())
    }

    /// Sets the value of `key` where it is last written, keeping the rest
    /// of that line (spacing, comment, quoting style); appends it if absent.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), SipValueError> {
        let idx = self
            .lines
            .iter()
            .rposition(|l| l.entry.as_ref().is_some_and(|e| e.key == key));
        let Some(i) = idx else {
            return self.push(key, value);
        };
        let line = &mut self.lines[i];
        let entry = line.entry.as_mut().expect("found by entry");
        let spelled = spell(key, value, entry.quoted)?;
        let (a, b) = entry.value_span;
        line.text.replace_range(a..b, &spelled);
        entry.value = value.to_string();
        entry.quoted = spelled.starts_with('"');
        entry.value_span = (a, a + spelled.len());
        Ok(())
    }

    /// Removes every line that sets `key`; returns how many there were.
    pub fn remove(&mut self, key: &str) -> usize {
        let before = self.lines.len();
        self.lines
            .retain(|l| !matches!(&l.entry, Some(e) if e.key == key));
        before - self.lines.len()
    }

    fn terminate_last(&mut self) {
        if let Some(l) = self.lines.last_mut() {
            if l.ending == Ending::None {
                l.ending = Ending::Lf;
            }
        }
    }
}

impl fmt::Display for SipCnf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = "image_version: \"P0S3-8-12-00\"\r\n\
\n\
# Proxy Server\n\
proxy1_address: 10.1.1.1 ; the PBX\n\
proxy1_port :5060\n\
\x20 messages_uri : \"\"   ; voicemail\n\
dst_start_day:\n\
phone_label: \"Front desk\" # lobby\n\
sync: 1";

    #[test]
    fn round_trips_a_real_looking_file() {
        let cnf = SipCnf::parse("SIPDefault.cnf", SAMPLE.as_bytes()).unwrap();
        assert_eq!(cnf.to_bytes(), SAMPLE.as_bytes());
        assert_eq!(cnf.get("image_version"), Some("P0S3-8-12-00"));
        assert_eq!(cnf.get("proxy1_address"), Some("10.1.1.1"));
        assert_eq!(cnf.get("proxy1_port"), Some("5060"));
        assert_eq!(cnf.get("messages_uri"), Some(""));
        assert_eq!(cnf.get("dst_start_day"), Some(""));
        assert_eq!(cnf.get("phone_label"), Some("Front desk"));
        assert_eq!(cnf.get("sync"), Some("1"));
        let lines: Vec<usize> = cnf.entries().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 4, 5, 6, 7, 8, 9]);
    }

    #[test]
    fn edits_touch_only_the_value() {
        let mut cnf = SipCnf::parse("SIPDefault.cnf", SAMPLE.as_bytes()).unwrap();
        cnf.set("proxy1_address", "10.2.2.2").unwrap();
        cnf.set("image_version", "P0S3-8-11-00").unwrap();
        cnf.set("messages_uri", "*97").unwrap();
        cnf.set("timer_t1", "500").unwrap();
        let text = String::from_utf8(cnf.to_bytes()).unwrap();
        assert!(
            text.contains("proxy1_address: 10.2.2.2 ; the PBX\n"),
            "{text}"
        );
        assert!(
            text.starts_with("image_version: \"P0S3-8-11-00\"\r\n"),
            "{text}"
        );
        assert!(
            text.contains("  messages_uri : \"*97\"   ; voicemail\n"),
            "{text}"
        );
        assert!(text.ends_with("sync: 1\ntimer_t1: 500\n"), "{text}");
        let again = SipCnf::parse("x", text.as_bytes()).unwrap();
        assert_eq!(again.get("timer_t1"), Some("500"));
        assert_eq!(again.get("messages_uri"), Some("*97"));
        assert_eq!(cnf.remove("sync"), 1);
        assert_eq!(cnf.get("sync"), None);
    }

    #[test]
    fn errors_name_file_line_and_fix() {
        let e =
            SipCnf::parse("SIP002094D245CB.cnf", b"# ok\nproxy1_address 10.0.0.1\n").unwrap_err();
        assert_eq!(e.line, 2);
        let s = e.to_string();
        assert!(
            s.contains("SIP002094D245CB.cnf line 2") && s.contains("proxy1_address: value"),
            "{s}"
        );
        let e = SipCnf::parse("SIPDefault.cnf", b"a: \"open\n").unwrap_err();
        assert!(e.to_string().contains("closing"), "{e}");
        let e = SipCnf::parse("SIPDefault.cnf", b"a: \"x\" y\n").unwrap_err();
        assert!(e.to_string().contains("follows the quoted value"), "{e}");
        let e = SipCnf::parse("SIPDefault.cnf", b": x\n").unwrap_err();
        assert!(e.to_string().contains("parameter name"), "{e}");
        let e = SipCnf::parse("SIPDefault.cnf", b"a: \xff\n").unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
        assert!(SipCnf::new().set("a", "x\"y").is_err());
        assert!(SipCnf::new().push("a b", "x").is_err());
    }

    #[test]
    fn a_bad_line_spoils_only_itself() {
        let text = b"proxy1_address: 10.0.0.1\r\nbroken line here\r\nphone_label: \"x\r\nsync: 2\xff\nimage_version: P0S3-8-12-00";
        let (cnf, errors) = SipCnf::parse_lossy("SIPDefault.cnf", text);
        assert_eq!(cnf.to_bytes(), text);
        assert_eq!(cnf.get("proxy1_address"), Some("10.0.0.1"));
        assert_eq!(cnf.get("image_version"), Some("P0S3-8-12-00"));
        assert_eq!(cnf.get("phone_label"), None);
        let at: Vec<(usize, usize)> = errors.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(at, vec![(2, 7), (3, 14), (4, 8)]);
        assert!(
            errors[0].to_string().contains("line 2, column 7"),
            "{}",
            errors[0]
        );
        assert_eq!(
            SipCnf::parse("SIPDefault.cnf", text).unwrap_err(),
            errors[0]
        );
    }

    fn line_strategy() -> impl Strategy<Value = String> {
        let ws = "[ \t]{0,2}";
        let key = "[a-z][a-z0-9_]{0,12}";
        let bare = "[A-Za-z0-9*.@/_-]{0,10}";
        let quoted = "[A-Za-z0-9 ;#:*.@/_-]{0,10}";
        let comment = prop_oneof![Just(String::new()), "[ \t]*;[ -~]{0,8}".prop_map(|s| s)];
        let entry_bare = (ws, key, ws, ws, bare, comment.clone())
            .prop_map(|(a, k, b, c, v, cm)| format!("{a}{k}{b}:{c}{v}{cm}"));
        let entry_q = (ws, key, ws, ws, quoted, comment)
            .prop_map(|(a, k, b, c, v, cm)| format!("{a}{k}{b}:{c}\"{v}\"{cm}"));
        let comment_line = "[ \t]{0,2}#[ -~]{0,20}";
        let blank = "[ \t]{0,3}";
        prop_oneof![
            entry_bare,
            entry_q,
            comment_line.prop_map(|s| s),
            blank.prop_map(|s| s)
        ]
    }

    proptest! {
        #[test]
        fn parsed_files_round_trip_byte_exact(
            lines in proptest::collection::vec((line_strategy(), prop_oneof![Just("\n"), Just("\r\n")]), 0..12),
            last_unterminated in any::<bool>(),
        ) {
            let mut text = String::new();
            let n = lines.len();
            for (i, (l, e)) in lines.into_iter().enumerate() {
                text.push_str(&l);
                if !(last_unterminated && i + 1 == n) { text.push_str(e); }
            }
            let cnf = SipCnf::parse("f", text.as_bytes()).unwrap();
            prop_assert_eq!(cnf.to_bytes(), text.as_bytes().to_vec());
        }

        #[test]
        fn typed_values_round_trip(pairs in proptest::collection::vec(
            ("[a-z][a-z0-9_]{0,12}", "[A-Za-z0-9 ;#:*.@/_-]{0,12}"), 0..10)) {
            let pairs: Vec<(String, String)> = pairs;
            let cnf = SipCnf::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
            let back = SipCnf::parse("f", &cnf.to_bytes()).unwrap();
            let got: Vec<(String, String)> = back.entries().map(|e| (e.key.to_string(), e.value.to_string())).collect();
            let want: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(back, cnf);
        }

        #[test]
        fn never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(c) = SipCnf::parse("f", &b) {
                prop_assert_eq!(c.to_bytes(), b.clone());
            }
            let (c, _) = SipCnf::parse_lossy("f", &b);
            prop_assert_eq!(c.to_bytes(), b);
        }
    }
}

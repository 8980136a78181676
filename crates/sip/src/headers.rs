//! Header lists and the structured header values user agents match on.

use std::fmt;
use std::net::SocketAddr;

use crate::{clip, is_token, SipError, Uri};

/// Compact forms (RFC 3261 §7.3.3 and the extensions that define one)
/// and the full names they stand for.
const COMPACT: &[(&str, &str)] = &[
    ("a", "Accept-Contact"),
    ("b", "Referred-By"),
    ("c", "Content-Type"),
    ("d", "Request-Disposition"),
    ("e", "Content-Encoding"),
    ("f", "From"),
    ("i", "Call-ID"),
    ("j", "Reject-Contact"),
    ("k", "Supported"),
    ("l", "Content-Length"),
    ("m", "Contact"),
    ("o", "Event"),
    ("r", "Refer-To"),
    ("s", "Subject"),
    ("t", "To"),
    ("u", "Allow-Events"),
    ("v", "Via"),
    ("x", "Session-Expires"),
    ("y", "Identity"),
];

/// The full name a header name stands for: `i` is `Call-ID`; any other
/// name is itself. Compare the results case-insensitively.
pub fn canonical_name(name: &str) -> &str {
    COMPACT
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(name))
        .map_or(name, |(_, full)| full)
}

fn same_name(a: &str, b: &str) -> bool {
    canonical_name(a).eq_ignore_ascii_case(canonical_name(b))
}

/// The characters of `s` that stand outside a quoted string (with their
/// byte offsets): the one quote-and-escape scanner both splitters below
/// share, so a `\"` inside a display name is read alike everywhere.
fn outside_quotes(s: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let (mut quoted, mut escaped) = (false, false);
    s.char_indices().filter(move |&(_, c)| {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            false
        } else if c == '"' {
            quoted = true;
            false
        } else {
            true
        }
    })
}

/// Splits `s` at every `sep` that is outside a quoted string and outside
/// `<...>` (so commas and semicolons inside a URI or a display name do not
/// count).
pub(crate) fn split_outside(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut angle = 0usize;
    let mut start = 0;
    for (i, c) in outside_quotes(s) {
        match c {
            '<' => angle += 1,
            '>' => angle = angle.saturating_sub(1),
            _ if c == sep && angle == 0 => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// The first `ch` outside a quoted string (a display name may hold `<`).
fn find_outside_quotes(s: &str, ch: char) -> Option<usize> {
    outside_quotes(s).find(|&(_, c)| c == ch).map(|(i, _)| i)
}

/// A message's headers, in the order they came, names as written.
///
/// Lookup is case-insensitive and treats a compact form as its full name
/// (`get("Call-ID")` finds `i: ...`). A header repeated on several lines
/// keeps every line, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    pub fn new() -> Headers {
        Headers(Vec::new())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every `(name, value)` line in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The first value of `name` (full or compact form).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| same_name(k, name))
            .map(|(_, v)| v.as_str())
    }

    /// Every line's value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| same_name(k, name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, or [`SipError::Missing`].
    pub fn require(&self, name: &'static str) -> Result<&str, SipError> {
        self.get(name).ok_or(SipError::Missing(name))
    }

    /// Every comma-separated element of every `name` line, in order
    /// (RFC 3261 §7.3.1: `Via: a, b` is `Via: a` then `Via: b`). Commas in
    /// quoted strings and `<...>` do not split. Only for headers whose
    /// grammar is a comma list (Via, Contact, Route, Allow, ...).
    pub fn list<'a>(&'a self, name: &'a str) -> Vec<&'a str> {
        self.get_all(name)
            .flat_map(|v| split_outside(v, ','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Appends a line.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Replaces the first `name` line (keeping its place) and removes the
    /// others; appends when there is none.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter().position(|(k, _)| same_name(k, name)) {
            Some(i) => {
                self.0[i] = (name.to_string(), value);
                let mut j = 0;
                self.0.retain(|(k, _)| {
                    j += 1;
                    j - 1 <= i || !same_name(k, name)
                });
            }
            None => self.push(name, value),
        }
    }

    /// Removes every `name` line; returns how many there were.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.0.len();
        self.0.retain(|(k, _)| !same_name(k, name));
        before - self.0.len()
    }

    /// Every Via element, top first.
    pub fn vias(&self) -> Vec<&str> {
        self.list("Via")
    }

    /// The top Via, parsed: where a response goes and the transaction's
    /// `branch`.
    pub fn top_via(&self) -> Result<Via, SipError> {
        let top = *self.vias().first().ok_or(SipError::Missing("Via"))?;
        Via::parse(top)
    }

    pub fn call_id(&self) -> Result<&str, SipError> {
        self.require("Call-ID")
    }

    pub fn cseq(&self) -> Result<CSeq, SipError> {
        CSeq::parse(self.require("CSeq")?)
    }

    pub fn from_addr(&self) -> Result<NameAddr, SipError> {
        NameAddr::parse_header("From", self.require("From")?)
    }

    pub fn to_addr(&self) -> Result<NameAddr, SipError> {
        NameAddr::parse_header("To", self.require("To")?)
    }

    /// The event package (RFC 6665) of a NOTIFY or SUBSCRIBE, lower-cased:
    /// `check-sync` from `Event: Check-Sync;id=1`.
    pub fn event_package(&self) -> Option<String> {
        let e = self.get("Event")?;
        let pkg = e.split(';').next().unwrap_or("").trim();
        (!pkg.is_empty()).then(|| pkg.to_ascii_lowercase())
    }
}

impl From<Vec<(String, String)>> for Headers {
    fn from(v: Vec<(String, String)>) -> Headers {
        Headers(v)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(it: I) -> Headers {
        Headers(it.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// `;name[=value]` parameters in order, names as written, looked up
/// case-insensitively. A parameter without `=` has no value (`rport`,
/// `lr`); `name=` has an empty one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(pub Vec<(String, Option<String>)>);

impl Params {
    /// Parses what follows the first `;` (`branch=z9hG4bK1;rport`).
    /// `trim` drops white space around names and values (header
    /// parameters allow it; URI parameters do not).
    fn parse(s: &str, trim: bool) -> Params {
        let t = |x: &str| {
            if trim {
                x.trim().to_string()
            } else {
                x.to_string()
            }
        };
        Params(
            split_outside(s, ';')
                .into_iter()
                .filter(|p| !p.trim().is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (t(k), Some(t(v))),
                    None => (t(p), None),
                })
                .collect(),
        )
    }

    /// URI parameters: no white space to trim.
    pub(crate) fn parse_uri(s: &str) -> Params {
        Params::parse(s, false)
    }

    /// `Some(Some(v))` for `name=v`, `Some(None)` for a bare `name`.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// The value of `name=value`; a bare `name` has none.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).flatten()
    }

    /// Sets `name` (replacing it where it is, else appending).
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let v = value.map(str::to_string);
        match self
            .0
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some(p) => p.1 = v,
            None => self.0.push((name.to_string(), v)),
        }
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{k}={v}")?,
                None => write!(f, ";{k}")?,
            }
        }
        Ok(())
    }
}

/// One Via element: `SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;rport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// `SIP/2.0/UDP`.
    pub protocol: String,
    /// `host[:port]` as written.
    pub sent_by: String,
    pub params: Params,
}

impl Via {
    pub fn parse(value: &str) -> Result<Via, SipError> {
        let bad = |why| SipError::BadValue {
            header: "Via",
            value: clip(value),
            why,
        };
        let (head, params) = value.split_once(';').unwrap_or((value, ""));
        let mut parts = head.split_whitespace();
        let (Some(protocol), Some(sent_by), None) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("not `SIP/2.0/TRANSPORT host[:port]`"));
        };
        if !protocol.to_ascii_uppercase().starts_with("SIP/2.0/") {
            return Err(bad("protocol is not SIP/2.0/..."));
        }
        Ok(Via {
            protocol: protocol.to_string(),
            sent_by: sent_by.to_string(),
            params: Params::parse(params, true),
        })
    }

    /// The transaction's branch (RFC 3261 §8.1.1.7).
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// `sent-by` as an address, when it is `IP:port`.
    pub fn sent_by_addr(&self) -> Option<SocketAddr> {
        self.sent_by.parse().ok()
    }

    /// The sent-by host, without port or IPv6 brackets.
    pub fn host(&self) -> &str {
        let hp = self.sent_by.as_str();
        if let Some(rest) = hp.strip_prefix('[') {
            return rest.split(']').next().unwrap_or(rest);
        }
        hp.split(':').next().unwrap_or(hp)
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}{}", self.protocol, self.sent_by, self.params)
    }
}

/// A `From`, `To` or `Contact` value: `"Name" <sip:u@h>;tag=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name as written (quotes kept), if any.
    pub display: Option<String>,
    pub uri: Uri,
    /// Header parameters (after the `>`, or after the URI when there are
    /// no angle brackets).
    pub params: Params,
}

impl NameAddr {
    pub fn parse(value: &str) -> Result<NameAddr, SipError> {
        Self::parse_header("name-addr", value)
    }

    fn parse_header(header: &'static str, value: &str) -> Result<NameAddr, SipError> {
        let bad = |why| SipError::BadValue {
            header,
            value: clip(value),
            why,
        };
        let value = value.trim();
        let (display, uri, rest) = match find_outside_quotes(value, '<') {
            Some(i) => {
                let after = &value[i + 1..];
                let gt = after.find('>').ok_or_else(|| bad("'<' without '>'"))?;
                let display = value[..i].trim();
                let rest = after[gt + 1..].trim_start();
                if !rest.is_empty() && !rest.starts_with(';') {
                    return Err(bad("text after '>' is not ;parameters"));
                }
                (
                    (!display.is_empty()).then(|| display.to_string()),
                    &after[..gt],
                    rest.strip_prefix(';').unwrap_or(rest),
                )
            }
            None => {
                let (u, p) = value.split_once(';').unwrap_or((value, ""));
                (None, u.trim(), p)
            }
        };
        Ok(NameAddr {
            display,
            uri: Uri::parse(uri)?,
            params: Params::parse(rest, true),
        })
    }

    /// The dialog tag (RFC 3261 §19.3).
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "{d} ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// `CSeq: 7 NOTIFY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: String,
}

impl CSeq {
    pub fn parse(value: &str) -> Result<CSeq, SipError> {
        let bad = |why| SipError::BadValue {
            header: "CSeq",
            value: clip(value),
            why,
        };
        let mut it = value.split_whitespace();
        let seq = it
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or_else(|| bad("no sequence number"))?;
        let method = it
            .next()
            .filter(|m| is_token(m))
            .ok_or_else(|| bad("no method"))?;
        if it.next().is_some() {
            return Err(bad("more than a number and a method"));
        }
        Ok(CSeq {
            seq,
            method: method.to_string(),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

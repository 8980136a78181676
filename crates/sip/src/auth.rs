//! HTTP Digest authentication as SIP uses it (RFC 3261 §22, RFC 2617):
//! reading a `WWW-Authenticate` / `Proxy-Authenticate` challenge, computing
//! the MD5 response (with `qop=auth` and its `nc`/`cnonce`, or the RFC 2069
//! form without qop), and writing and reading the `Authorization` /
//! `Proxy-Authorization` header.
//!
//! Still sans-IO and without randomness: the caller brings the client
//! nonce (`cnonce`) and counts `nc`, so a test can reproduce RFC 2617's
//! own example byte for byte. Only `algorithm=MD5` (or none, which means
//! MD5) and `qop=auth` (or none) are computed: that is what the
//! 7940/7960 SIP loads and the registrars they meet speak; `MD5-sess`,
//! `auth-int` and SHA-256 are refused with an error naming them rather
//! than answered wrongly.

use std::fmt;

use md5::{Digest as _, Md5};

use crate::headers::split_outside;
use crate::{clip, is_token, Response, SipError};

/// One `name=value` of a challenge or credentials, value unquoted.
type AuthParams = Vec<(String, String)>;

/// Reads `Digest a=b, c="d"`: the scheme, then comma-separated
/// parameters whose values are tokens or quoted strings (with `\"`
/// escapes). Commas inside quotes do not split.
fn parse_auth(header: &'static str, value: &str) -> Result<(String, AuthParams), SipError> {
    let bad = |why| SipError::BadValue {
        header,
        value: clip(value),
        why,
    };
    let value = value.trim();
    let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !is_token(scheme) {
        return Err(bad(
            "no authentication scheme (`Digest`) before the parameters",
        ));
    }
    let mut params = Vec::new();
    for item in split_outside(rest, ',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| bad("a parameter is not `name=value`"))?;
        let (k, v) = (k.trim(), v.trim());
        if !is_token(k) {
            return Err(bad("a parameter name is not a token"));
        }
        let v = if let Some(inner) = v.strip_prefix('"') {
            unquote(inner).ok_or_else(|| bad("a quoted value is not closed"))?
        } else if !v.contains(|c: char| c.is_whitespace() || c == '"') {
            // Lenient like the parsers of real registrars: an unquoted
            // `uri=sip:a@b` is read, though RFC 2617 quotes it.
            v.to_string()
        } else {
            return Err(bad("an unquoted parameter value holds a space or a quote"));
        };
        params.push((k.to_string(), v));
    }
    Ok((scheme.to_string(), params))
}

/// The text of a quoted string whose opening quote is already gone; the
/// closing quote must end `s`.
fn unquote(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return chars.as_str().is_empty().then_some(out),
            c => out.push(c),
        }
    }
    None
}

/// `"text"` with `"` and `\` escaped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn get<'a>(p: &'a AuthParams, name: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Which header pair a challenge came in: a registrar's 401
/// (`WWW-Authenticate`, answered with `Authorization`) or a proxy's 407
/// (`Proxy-Authenticate`, answered with `Proxy-Authorization`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    Www,
    Proxy,
}

impl AuthKind {
    pub fn challenge_header(self) -> &'static str {
        match self {
            AuthKind::Www => "WWW-Authenticate",
            AuthKind::Proxy => "Proxy-Authenticate",
        }
    }

    pub fn credentials_header(self) -> &'static str {
        match self {
            AuthKind::Www => "Authorization",
            AuthKind::Proxy => "Proxy-Authorization",
        }
    }
}

/// A Digest challenge (RFC 2617 §3.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    /// As written (`MD5`); `None` means MD5.
    pub algorithm: Option<String>,
    /// The qop options offered (`auth`, `auth-int`), in order; empty for
    /// an RFC 2069 challenge.
    pub qop: Vec<String>,
    /// `stale=true`: the nonce expired, the password was right; answer
    /// again with the new nonce.
    pub stale: bool,
    pub domain: Option<String>,
}

impl Challenge {
    /// Reads one challenge value (`Digest realm="…", nonce="…", …`).
    /// A scheme other than Digest or a challenge without realm or nonce
    /// is an error naming what is missing.
    pub fn parse(value: &str) -> Result<Challenge, SipError> {
        Self::parse_in("WWW-Authenticate", value)
    }

    fn parse_in(header: &'static str, value: &str) -> Result<Challenge, SipError> {
        let bad = |why| SipError::BadValue {
            header,
            value: clip(value),
            why,
        };
        let (scheme, p) = parse_auth(header, value)?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(bad("the scheme is not Digest"));
        }
        let realm = get(&p, "realm").ok_or_else(|| bad("no realm"))?;
        let nonce = get(&p, "nonce").ok_or_else(|| bad("no nonce"))?;
        Ok(Challenge {
            realm: realm.to_string(),
            nonce: nonce.to_string(),
            opaque: get(&p, "opaque").map(str::to_string),
            algorithm: get(&p, "algorithm").map(str::to_string),
            qop: get(&p, "qop")
                .map(|q| {
                    q.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            stale: get(&p, "stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
            domain: get(&p, "domain").map(str::to_string),
        })
    }

    /// The challenge of a 401 or 407 response and which kind it is;
    /// `None` for any other status. Of several challenge lines, the first
    /// Digest one this module can answer (MD5) is taken, else the first
    /// error.
    pub fn from_response(resp: &Response) -> Option<Result<(AuthKind, Challenge), SipError>> {
        let kind = match resp.status {
            401 => AuthKind::Www,
            407 => AuthKind::Proxy,
            _ => return None,
        };
        let header = kind.challenge_header();
        let mut first_err = None;
        for v in resp.headers.get_all(header) {
            match Challenge::parse_in(header, v) {
                Ok(c) if c.is_md5() => return Some(Ok((kind, c))),
                Ok(_) => {
                    first_err.get_or_insert(SipError::BadValue {
                        header,
                        value: clip(v),
                        why: "algorithm is not MD5 (the only one a 7940/7960 answers)",
                    });
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Some(Err(first_err.unwrap_or(SipError::Missing(header))))
    }

    fn is_md5(&self) -> bool {
        self.algorithm
            .as_deref()
            .is_none_or(|a| a.eq_ignore_ascii_case("MD5"))
    }

    /// The credentials answering this challenge for `method` on `uri`.
    /// With `qop=auth` offered, `cnonce` and `nc` are used (RFC 2617
    /// §3.2.2); without qop they are left out (RFC 2069).
    pub fn answer(
        &self,
        method: &str,
        uri: &str,
        username: &str,
        password: &str,
        cnonce: &str,
        nc: u32,
    ) -> Result<Credentials, SipError> {
        let refuse = |why| SipError::BadValue {
            header: "WWW-Authenticate",
            value: clip(&format!("realm={} qop={:?}", self.realm, self.qop)),
            why,
        };
        if !self.is_md5() {
            return Err(refuse(
                "algorithm is not MD5 (the only one a 7940/7960 answers)",
            ));
        }
        let qop = if self.qop.is_empty() {
            None
        } else if self.qop.iter().any(|q| q.eq_ignore_ascii_case("auth")) {
            Some("auth".to_string())
        } else {
            return Err(refuse("qop offers only auth-int, which is not supported"));
        };
        let (cnonce, nc) = match qop {
            Some(_) => (Some(cnonce.to_string()), Some(nc)),
            None => (None, None),
        };
        let mut c = Credentials {
            username: username.to_string(),
            realm: self.realm.clone(),
            nonce: self.nonce.clone(),
            uri: uri.to_string(),
            response: String::new(),
            algorithm: self.algorithm.clone(),
            cnonce,
            opaque: self.opaque.clone(),
            qop,
            nc,
        };
        c.response = c.expected(method, password);
        Ok(c)
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest realm={}, nonce={}",
            quote(&self.realm),
            quote(&self.nonce)
        )?;
        if let Some(d) = &self.domain {
            write!(f, ", domain={}", quote(d))?;
        }
        if let Some(o) = &self.opaque {
            write!(f, ", opaque={}", quote(o))?;
        }
        if self.stale {
            f.write_str(", stale=true")?;
        }
        if let Some(a) = &self.algorithm {
            write!(f, ", algorithm={a}")?;
        }
        if !self.qop.is_empty() {
            write!(f, ", qop={}", quote(&self.qop.join(",")))?;
        }
        Ok(())
    }
}

/// The `Authorization` / `Proxy-Authorization` value (RFC 2617 §3.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    /// 32 lower-case hex digits.
    pub response: String,
    pub algorithm: Option<String>,
    pub cnonce: Option<String>,
    pub opaque: Option<String>,
    pub qop: Option<String>,
    pub nc: Option<u32>,
}

fn md5_hex(s: &str) -> String {
    let d = Md5::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// `HA1 = MD5(username:realm:password)` in hex (RFC 2617 §3.2.2.2): what a
/// registrar stores instead of the password (Kamailio's `ha1` column).
pub fn ha1(username: &str, realm: &str, password: &str) -> String {
    md5_hex(&format!("{username}:{realm}:{password}"))
}

impl Credentials {
    /// Reads an `Authorization` value. Everything RFC 2617 requires
    /// (username, realm, nonce, uri, response) must be there.
    pub fn parse(value: &str) -> Result<Credentials, SipError> {
        let header = "Authorization";
        let bad = |why| SipError::BadValue {
            header,
            value: clip(value),
            why,
        };
        let (scheme, p) = parse_auth(header, value)?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(bad("the scheme is not Digest"));
        }
        let need = |n: &str, why| get(&p, n).map(str::to_string).ok_or_else(|| bad(why));
        let nc = match get(&p, "nc") {
            None => None,
            Some(n) => Some(
                u32::from_str_radix(n, 16)
                    .ok()
                    .filter(|_| n.len() == 8)
                    .ok_or_else(|| bad("nc is not 8 hex digits"))?,
            ),
        };
        Ok(Credentials {
            username: need("username", "no username")?,
            realm: need("realm", "no realm")?,
            nonce: need("nonce", "no nonce")?,
            uri: need("uri", "no uri")?,
            response: need("response", "no response")?,
            algorithm: get(&p, "algorithm").map(str::to_string),
            cnonce: get(&p, "cnonce").map(str::to_string),
            opaque: get(&p, "opaque").map(str::to_string),
            qop: get(&p, "qop").map(str::to_string),
            nc,
        })
    }

    /// The response these credentials should carry for `method` and
    /// `password`: `MD5(HA1:nonce:nc:cnonce:qop:HA2)` with qop, else
    /// `MD5(HA1:nonce:HA2)`, where `HA1 = MD5(user:realm:password)` and
    /// `HA2 = MD5(method:uri)`.
    pub fn expected(&self, method: &str, password: &str) -> String {
        let ha1 = ha1(&self.username, &self.realm, password);
        let ha2 = md5_hex(&format!("{method}:{}", self.uri));
        match (&self.qop, &self.cnonce, self.nc) {
            (Some(qop), Some(cnonce), Some(nc)) => md5_hex(&format!(
                "{ha1}:{}:{nc:08x}:{cnonce}:{qop}:{ha2}",
                self.nonce
            )),
            _ => md5_hex(&format!("{ha1}:{}:{ha2}", self.nonce)),
        }
    }

    /// Whether `response` is right for `method` and `password` (what a
    /// registrar checks).
    pub fn verify(&self, method: &str, password: &str) -> bool {
        self.response
            .eq_ignore_ascii_case(&self.expected(method, password))
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest username={}, realm={}, nonce={}, uri={}, response={}",
            quote(&self.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(&self.uri),
            quote(&self.response)
        )?;
        if let Some(a) = &self.algorithm {
            write!(f, ", algorithm={a}")?;
        }
        if let Some(c) = &self.cnonce {
            write!(f, ", cnonce={}", quote(c))?;
        }
        if let Some(o) = &self.opaque {
            write!(f, ", opaque={}", quote(o))?;
        }
        if let Some(q) = &self.qop {
            write!(f, ", qop={q}")?;
        }
        if let Some(n) = self.nc {
            write!(f, ", nc={n:08x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips() {
        for s in ["", "a", "a\"b", "a\\b", "x,y", "\\\""] {
            let q = quote(s);
            assert_eq!(unquote(&q[1..]).as_deref(), Some(s), "{q}");
        }
        assert_eq!(unquote("abc"), None);
        assert_eq!(unquote("ab\"c"), None);
    }
}

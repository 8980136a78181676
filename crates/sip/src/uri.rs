//! SIP URIs (RFC 3261 §19.1), as far as a user agent needs them.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::headers::Params;
use crate::{clip, SipError};

/// `sip:user@host:port;params?headers`.
///
/// Parsing is lenient and writes back to the same URI
/// (`Uri::parse(&u.to_string()) == Ok(u)` for every parsed `u`); escapes
/// are kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// `sip`, `sips`, `tel`, ... as written.
    pub scheme: String,
    /// The userinfo before `@` (a password after `:` stays in it).
    pub user: Option<String>,
    /// A host name, IPv4 address or bracketed IPv6 address.
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
    /// What follows `?`, unparsed.
    pub headers: Option<String>,
}

impl Uri {
    pub fn parse(s: &str) -> Result<Uri, SipError> {
        let bad = |why| SipError::BadUri { uri: clip(s), why };
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'))
        {
            return Err(bad(
                "holds white space, a control character, '<', '>' or '\"'",
            ));
        }
        let (scheme, rest) = s.split_once(':').ok_or_else(|| bad("no scheme"))?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok {
            return Err(bad("no scheme"));
        }
        let (rest, headers) = match rest.split_once('?') {
            Some((r, h)) => (r, Some(h.to_string())),
            None => (rest, None),
        };
        let (user, hostpart) = match rest.split_once('@') {
            Some(("", _)) => return Err(bad("empty user before '@'")),
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, rest),
        };
        let (hostport, params) = hostpart.split_once(';').unwrap_or((hostpart, ""));
        let (host, port) = if hostport.starts_with('[') {
            let end = hostport.find(']').ok_or_else(|| bad("'[' without ']'"))?;
            let (h, p) = hostport.split_at(end + 1);
            match p {
                "" => (h, None),
                _ => match p.strip_prefix(':') {
                    Some(p) => (h, Some(p)),
                    None => return Err(bad("text after ']' is not :port")),
                },
            }
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None => None,
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(p.parse::<u16>().map_err(|_| bad("port is not 0-65535"))?)
            }
            Some(_) => return Err(bad("port is not 0-65535")),
        };
        Ok(Uri {
            scheme: scheme.to_string(),
            user,
            host: host.to_string(),
            port,
            params: Params::parse_uri(params),
            headers,
        })
    }

    /// The host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.trim_matches(['[', ']']).parse().ok()
    }

    /// `IP:port` when the host is an address and a port is written.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        Some(SocketAddr::new(self.ip()?, self.port?))
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)?;
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

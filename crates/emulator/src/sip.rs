//! The emulated phone's SIP side, sans-IO: just enough of RFC 3261 over UDP
//! for a 7940/7960 SIP load to take the remote reset (a `NOTIFY` with
//! `Event: check-sync`, domain-facts "Remote reset of SIP phones") and to
//! answer anything else sensibly.
//!
//! [`Request`] and [`Response`] are a parser and a writer that round-trip;
//! [`Agent`] turns one datagram into the reply to send and what the phone
//! heard. Whatever arrives on the socket is untrusted: parsing never
//! panics and garbage is dropped without an answer (a response needs a
//! Via to go back along).
//!
//! Not modelled: calls (INVITE is refused with 405, like any method the
//! emulator does not implement), registration, authentication, and the
//! request URI's user part (the phones answer for their `lineN_name`; the
//! emulator answers for any user).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// Header lines beyond this are refused.
const MAX_HEADERS: usize = 100;

/// Answers remembered for retransmissions (RFC 3261 §17.2.2: a
/// retransmitted request gets the same response again, and is not acted
/// on twice).
const REMEMBERED: usize = 64;

/// What the emulated phone answers to and advertises in `Allow`.
pub const ALLOW: &str = "ACK, BYE, CANCEL, NOTIFY, OPTIONS";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipError {
    #[error("SIP message head is not UTF-8 text")]
    NotText,
    #[error("SIP message has no blank line ending its headers")]
    Unterminated,
    #[error("SIP start line {0:?} is not `METHOD URI SIP/2.0` or `SIP/2.0 CODE REASON`")]
    BadStartLine(String),
    #[error("SIP header line {0:?} has no name before ':'")]
    BadHeader(String),
    #[error("SIP message has more than {MAX_HEADERS} header lines")]
    TooManyHeaders,
    #[error(
        "SIP Content-Length {value:?} is not a number no larger than the {body} bytes that came"
    )]
    BadLength { value: String, body: usize },
    #[error("SIP message is a response where a request was expected")]
    NotARequest,
    #[error("SIP message is a request where a response was expected")]
    NotAResponse,
}

/// RFC 3261 §25.1 `token` (methods, tags, branches).
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
                )
        })
}

/// The start line and headers of any SIP message, in order, values
/// trimmed, folded lines joined with one space.
struct Head {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_head(bytes: &[u8]) -> Result<Head, SipError> {
    // RFC 3261 §7.5: CRLFs before the start line are ignored.
    let mut bytes = bytes;
    while let Some(rest) = bytes
        .strip_prefix(b"\r\n")
        .or_else(|| bytes.strip_prefix(b"\n"))
    {
        bytes = rest;
    }
    let (head_end, body_start) = match (find(bytes, b"\r\n\r\n"), find(bytes, b"\n\n")) {
        (Some(a), Some(b)) if b < a => (b, b + 2),
        (Some(a), _) => (a, a + 4),
        (None, Some(b)) => (b, b + 2),
        (None, None) => return Err(SipError::Unterminated),
    };
    let head = std::str::from_utf8(&bytes[..head_end]).map_err(|_| SipError::NotText)?;
    let body = &bytes[body_start..];
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next().unwrap_or("").to_string();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // Folded continuation of the previous header (§7.3.1).
            match headers.last_mut() {
                Some((_, v)) => {
                    // A blank continuation adds nothing: joining it would
                    // leave a trailing space the writer cannot keep.
                    let more = line.trim();
                    if !more.is_empty() {
                        if !v.is_empty() {
                            v.push(' ');
                        }
                        v.push_str(more);
                    }
                }
                None => return Err(SipError::BadHeader(clip(line))),
            }
            continue;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(SipError::TooManyHeaders);
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| SipError::BadHeader(clip(line)))?;
        let k = k.trim();
        if !is_token(k) {
            return Err(SipError::BadHeader(clip(line)));
        }
        headers.push((k.to_string(), v.trim().to_string()));
    }
    // §18.3: over UDP, Content-Length bounds the body; a shorter datagram
    // than it announces is discarded.
    let body = match lookup(&headers, "Content-Length", "l") {
        None => body.to_vec(),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n <= body.len() => body[..n].to_vec(),
            _ => {
                return Err(SipError::BadLength {
                    value: clip(v),
                    body: body.len(),
                })
            }
        },
    };
    Ok(Head {
        start,
        headers,
        body,
    })
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

/// First value of a header, by full or compact name (case-insensitive).
fn lookup<'a>(headers: &'a [(String, String)], name: &str, compact: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name) || k.eq_ignore_ascii_case(compact))
        .map(|(_, v)| v.as_str())
}

fn write_message(start: &str, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut s = String::new();
    let _ = write!(s, "{start}\r\n");
    for (k, v) in headers {
        let _ = write!(s, "{k}: {v}\r\n");
    }
    s.push_str("\r\n");
    let mut out = s.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A SIP request as it came, headers in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn parse(bytes: &[u8]) -> Result<Request, SipError> {
        let h = parse_head(bytes)?;
        if h.start.starts_with("SIP/2.0 ") {
            return Err(SipError::NotARequest);
        }
        let mut parts = h.start.split(' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(m), Some(uri), Some("SIP/2.0"), None)
                if is_token(m) && !uri.is_empty() && !uri.chars().any(char::is_control) =>
            {
                Ok(Request {
                    method: m.to_string(),
                    uri: uri.to_string(),
                    headers: h.headers,
                    body: h.body,
                })
            }
            _ => Err(SipError::BadStartLine(clip(&h.start))),
        }
    }

    /// The request on the wire (CRLF line ends), headers exactly as held.
    pub fn to_bytes(&self) -> Vec<u8> {
        write_message(
            &format!("{} {} SIP/2.0", self.method, self.uri),
            &self.headers,
            &self.body,
        )
    }

    pub fn header(&self, name: &str, compact: &str) -> Option<&str> {
        lookup(&self.headers, name, compact)
    }

    /// Every Via value, top first; a header line may carry several,
    /// comma-separated (§7.3.1).
    pub fn vias(&self) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Via") || k.eq_ignore_ascii_case("v"))
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The `CSeq` number and method.
    pub fn cseq(&self) -> Option<(u32, &str)> {
        let mut it = self.header("CSeq", "CSeq")?.split_whitespace();
        let n = it.next()?.parse().ok()?;
        let m = it.next()?;
        it.next().is_none().then_some((n, m))
    }

    /// The event package of a NOTIFY or SUBSCRIBE (`check-sync` from
    /// `Event: check-sync;id=1`), lower-cased.
    pub fn event(&self) -> Option<String> {
        let e = self.header("Event", "o")?;
        let pkg = e.split(';').next().unwrap_or("").trim();
        (!pkg.is_empty()).then(|| pkg.to_ascii_lowercase())
    }
}

/// A SIP response, headers in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn parse(bytes: &[u8]) -> Result<Response, SipError> {
        let h = parse_head(bytes)?;
        let Some(rest) = h.start.strip_prefix("SIP/2.0 ") else {
            return match Request::parse(bytes) {
                Ok(_) => Err(SipError::NotAResponse),
                Err(_) => Err(SipError::BadStartLine(clip(&h.start))),
            };
        };
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status = code
            .parse::<u16>()
            .ok()
            .filter(|s| code.len() == 3 && (100..700).contains(s))
            .ok_or_else(|| SipError::BadStartLine(clip(&h.start)))?;
        if reason.chars().any(char::is_control) {
            return Err(SipError::BadStartLine(clip(&h.start)));
        }
        Ok(Response {
            status,
            reason: reason.to_string(),
            headers: h.headers,
            body: h.body,
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        write_message(
            &format!("SIP/2.0 {} {}", self.status, self.reason),
            &self.headers,
            &self.body,
        )
    }

    pub fn header(&self, name: &str, compact: &str) -> Option<&str> {
        lookup(&self.headers, name, compact)
    }

    /// The response to `req` (§8.2.6.2): every Via copied in order, the
    /// top one marked with where the request really came from
    /// (`received`, and `rport` when asked for, RFC 3581); From, Call-ID
    /// and CSeq copied; To copied with `to_tag` added when it has none.
    pub fn to(
        req: &Request,
        source: SocketAddr,
        status: u16,
        reason: &str,
        to_tag: &str,
    ) -> Response {
        let mut headers = Vec::new();
        for (i, via) in req.vias().into_iter().enumerate() {
            let v = if i == 0 { mark_via(&via, source) } else { via };
            headers.push(("Via".to_string(), v));
        }
        for (name, compact) in [
            ("From", "f"),
            ("To", "t"),
            ("Call-ID", "i"),
            ("CSeq", "CSeq"),
        ] {
            if let Some(v) = req.header(name, compact) {
                let v = if name == "To" && param(v, "tag").is_none() && status > 100 {
                    format!("{v};tag={to_tag}")
                } else {
                    v.to_string()
                };
                headers.push((name.to_string(), v));
            }
        }
        if matches!(status, 405 | 200) {
            headers.push(("Allow".into(), ALLOW.into()));
        }
        if status == 489 {
            headers.push(("Allow-Events".into(), "check-sync".into()));
        }
        headers.push(("User-Agent".into(), "phoneflip-emulator".into()));
        headers.push(("Content-Length".into(), "0".into()));
        Response {
            status,
            reason: reason.to_string(),
            headers,
            body: Vec::new(),
        }
    }
}

/// A `;name[=value]` parameter of a header value (`None` when absent,
/// `Some("")` when present without a value).
pub fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// §18.2.1 and RFC 3581: `received` when the sent-by host is not where
/// the request came from, `rport=PORT` when the client asked with a bare
/// `rport`.
fn mark_via(via: &str, source: SocketAddr) -> String {
    let mut parts: Vec<String> = via.split(';').map(|p| p.trim().to_string()).collect();
    let ip = source.ip().to_string();
    let sent_by_host = parts
        .first()
        .and_then(|p| p.split_whitespace().nth(1))
        .map(|hp| match hp.parse::<SocketAddr>() {
            Ok(a) => a.ip().to_string(),
            Err(_) => hp
                .rsplit_once(':')
                .map_or(hp, |(h, _)| h)
                .trim_matches(['[', ']'])
                .to_string(),
        });
    let asked_rport = parts
        .iter()
        .skip(1)
        .any(|p| p.eq_ignore_ascii_case("rport"));
    if asked_rport {
        for p in parts.iter_mut().skip(1) {
            if p.eq_ignore_ascii_case("rport") {
                *p = format!("rport={}", source.port());
            }
        }
    }
    let has_received = parts
        .iter()
        .skip(1)
        .any(|p| p.to_ascii_lowercase().starts_with("received="));
    if !has_received && (asked_rport || sent_by_host.as_deref() != Some(ip.as_str())) {
        parts.push(format!("received={ip}"));
    }
    parts.join(";")
}

/// What the phone made of one datagram.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Heard {
    /// A new `NOTIFY` with `Event: check-sync`, answered 200 OK: the
    /// driver feeds [`crate::Event::NotifyCheckSync`] to the phone.
    CheckSync { user: String, call_id: String },
    /// A request answered before, answered the same way again and not
    /// acted on.
    Retransmission { method: String, status: u16 },
    /// Any other request and its answer.
    Answered {
        method: String,
        status: u16,
        reason: String,
    },
    /// An ACK, or a response: nothing to answer.
    Silent { what: String },
    /// Not SIP, or a request without a Via to answer along.
    Dropped { why: String },
}

/// One datagram's outcome: what to send back to its source, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub heard: Heard,
    pub send: Option<Vec<u8>>,
}

/// What identifies a server transaction: top Via branch, Call-ID, CSeq
/// number and CSeq method.
type TxKey = (String, String, u32, String);

#[derive(Debug, Clone)]
struct Answered {
    key: TxKey,
    bytes: Vec<u8>,
    status: u16,
    method: String,
}

/// The phone's SIP user agent server for requests outside calls.
#[derive(Debug, Clone)]
pub struct Agent {
    tag_prefix: String,
    next_tag: u64,
    answered: VecDeque<Answered>,
}

impl Agent {
    /// `tag_prefix` makes this phone's To tags its own (a token: the MAC
    /// in hex will do).
    pub fn new(tag_prefix: &str) -> Agent {
        let tag_prefix: String = tag_prefix
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        Agent {
            tag_prefix,
            next_tag: 1,
            answered: VecDeque::new(),
        }
    }

    /// Handles one datagram that came from `source`.
    pub fn handle(&mut self, datagram: &[u8], source: SocketAddr) -> Reply {
        let req = match Request::parse(datagram) {
            Ok(r) => r,
            Err(SipError::NotARequest) => {
                return Reply {
                    heard: Heard::Silent {
                        what: "a SIP response".into(),
                    },
                    send: None,
                }
            }
            Err(e) => return dropped(e.to_string()),
        };
        let vias = req.vias();
        let Some(top) = vias.first() else {
            return dropped(format!("{} without a Via header", req.method));
        };
        if req.method == "ACK" {
            return Reply {
                heard: Heard::Silent { what: "ACK".into() },
                send: None,
            };
        }
        let branch = param(top, "branch").unwrap_or("").to_string();
        let call_id = req.header("Call-ID", "i").unwrap_or("").to_string();
        let cseq = req.cseq().map(|(n, m)| (n, m.to_string()));
        let key = (
            branch,
            call_id.clone(),
            cseq.as_ref().map_or(0, |c| c.0),
            cseq.as_ref().map_or(String::new(), |c| c.1.clone()),
        );
        if let Some(a) = self.answered.iter().find(|a| a.key == key) {
            return Reply {
                heard: Heard::Retransmission {
                    method: a.method.clone(),
                    status: a.status,
                },
                send: Some(a.bytes.clone()),
            };
        }

        let (status, reason): (u16, String) = if let Some(missing) = [
            ("From", "f"),
            ("To", "t"),
            ("Call-ID", "i"),
            ("CSeq", "CSeq"),
        ]
        .iter()
        .find(|(n, c)| req.header(n, c).is_none())
        {
            (400, format!("Missing {} Header", missing.0))
        } else if cseq.as_ref().is_none_or(|c| c.1 != req.method) {
            (400, "Bad CSeq".into())
        } else if !req.uri.to_ascii_lowercase().starts_with("sip:") {
            (416, "Unsupported URI Scheme".into())
        } else {
            match req.method.as_str() {
                "NOTIFY" => match req.event() {
                    Some(e) if e == "check-sync" => (200, "OK".into()),
                    Some(_) => (489, "Bad Event".into()),
                    None => (400, "Missing Event Header".into()),
                },
                "OPTIONS" => (200, "OK".into()),
                "BYE" | "CANCEL" => (481, "Call/Transaction Does Not Exist".into()),
                _ => (405, "Method Not Allowed".into()),
            }
        };
        let tag = format!("{}{:x}", self.tag_prefix, self.next_tag);
        self.next_tag += 1;
        let bytes = Response::to(&req, source, status, &reason, &tag).to_bytes();
        if self.answered.len() >= REMEMBERED {
            self.answered.pop_front();
        }
        self.answered.push_back(Answered {
            key,
            bytes: bytes.clone(),
            status,
            method: req.method.clone(),
        });
        let heard = if req.method == "NOTIFY" && status == 200 {
            let user = req
                .uri
                .get(4..)
                .and_then(|r| r.split_once('@'))
                .map_or("", |(u, _)| u)
                .to_string();
            Heard::CheckSync { user, call_id }
        } else {
            Heard::Answered {
                method: req.method.clone(),
                status,
                reason,
            }
        };
        Reply {
            heard,
            send: Some(bytes),
        }
    }
}

fn dropped(why: String) -> Reply {
    Reply {
        heard: Heard::Dropped { why },
        send: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SRC: &str = "127.0.0.1:40000";

    fn notify(event: &str) -> Vec<u8> {
        format!(
            "NOTIFY sip:100@127.100.0.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK1;rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:phoneflip@127.0.0.1>;tag=pf1\r\n\
             To: <sip:100@127.100.0.1:5060>\r\n\
             Call-ID: abc@127.0.0.1\r\n\
             CSeq: 1 NOTIFY\r\n\
             Event: {event}\r\n\
             Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    /// Found by `cargo fuzz run sip`: a whitespace-only folded line left
    /// a trailing space in the value, so the response did not read back.
    #[test]
    fn blank_folded_line_adds_nothing() {
        let r = Response::parse(b"SIP/2.0 202\nz:\0\n\t\n\n").unwrap();
        assert_eq!(r.headers, vec![("z".to_string(), "\0".to_string())]);
        assert_eq!(Response::parse(&r.to_bytes()).unwrap(), r);
        let r = Response::parse(b"SIP/2.0 200 OK\r\nX: a\r\n \r\n b\r\n\r\n").unwrap();
        assert_eq!(r.headers, vec![("X".to_string(), "a b".to_string())]);
    }

    #[test]
    fn check_sync_gets_200_with_the_headers_echoed() {
        let mut a = Agent::new("0019AA000001");
        let r = a.handle(&notify("check-sync"), SRC.parse().unwrap());
        assert_eq!(
            r.heard,
            Heard::CheckSync {
                user: "100".into(),
                call_id: "abc@127.0.0.1".into()
            }
        );
        let resp = Response::parse(&r.send.unwrap()).unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.header("Via", "v"),
            Some("SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK1;rport=40000;received=127.0.0.1")
        );
        assert_eq!(
            resp.header("From", "f"),
            Some("<sip:phoneflip@127.0.0.1>;tag=pf1")
        );
        let to = resp.header("To", "t").unwrap();
        assert!(
            to.starts_with("<sip:100@127.100.0.1:5060>;tag=0019AA000001"),
            "{to}"
        );
        assert_eq!(resp.header("Call-ID", "i"), Some("abc@127.0.0.1"));
        assert_eq!(resp.header("CSeq", "CSeq"), Some("1 NOTIFY"));

        // Resent by the client before it heard us: same answer, not acted on.
        let again = a.handle(&notify("check-sync"), SRC.parse().unwrap());
        assert_eq!(
            again.heard,
            Heard::Retransmission {
                method: "NOTIFY".into(),
                status: 200
            }
        );
        assert_eq!(Response::parse(&again.send.unwrap()).unwrap(), resp);
    }

    #[test]
    fn the_jobs_notify_is_understood() {
        // The exact bytes phoneflip-jobs sends (its CheckSyncNotify writer),
        // compact header forms and an Event parameter.
        let raw = b"NOTIFY sip:line1@127.100.0.2:5062 SIP/2.0\r\n\
            v: SIP/2.0/UDP 127.0.0.1:5555;branch=z9hG4bKx\r\n\
            f: <sip:a@b>;tag=1\r\nt: <sip:line1@127.100.0.2>\r\ni: c1\r\n\
            CSeq: 7 NOTIFY\r\no: Check-Sync;reboot=true\r\nl: 0\r\n\r\n";
        let mut a = Agent::new("x");
        let r = a.handle(raw, "127.0.0.1:5555".parse().unwrap());
        assert!(matches!(r.heard, Heard::CheckSync { ref user, .. } if user == "line1"));
        let resp = Response::parse(&r.send.unwrap()).unwrap();
        // sent-by matches the source and no rport asked: Via unchanged.
        assert_eq!(
            resp.header("Via", "v"),
            Some("SIP/2.0/UDP 127.0.0.1:5555;branch=z9hG4bKx")
        );
    }

    #[test]
    fn other_requests_get_sensible_answers() {
        let mut a = Agent::new("t");
        let src = SRC.parse().unwrap();
        let status = |a: &mut Agent, bytes: Vec<u8>| match a.handle(&bytes, src).heard {
            Heard::Answered { status, .. } => status,
            other => panic!("{other:?}"),
        };
        assert_eq!(status(&mut a, notify("presence")), 489);
        let with = |m: &str, extra: &str| {
            format!(
                "{m} sip:100@127.100.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK{m}\r\n\
                 From: <sip:a@b>;tag=1\r\nTo: <sip:100@127.100.0.1>\r\nCall-ID: {m}\r\nCSeq: 2 {m}\r\n{extra}\r\n"
            )
            .into_bytes()
        };
        assert_eq!(status(&mut a, with("INVITE", "")), 405);
        assert_eq!(status(&mut a, with("REGISTER", "")), 405);
        assert_eq!(status(&mut a, with("BYE", "")), 481);
        assert_eq!(status(&mut a, with("CANCEL", "")), 481);
        assert_eq!(status(&mut a, with("OPTIONS", "")), 200);
        assert_eq!(status(&mut a, with("NOTIFY", "")), 400, "no Event");
        let no_from = String::from_utf8(with("SUBSCRIBE", ""))
            .unwrap()
            .replace("From: <sip:a@b>;tag=1\r\n", "");
        let r = a.handle(no_from.as_bytes(), src);
        assert!(
            matches!(r.heard, Heard::Answered { status: 400, ref reason, .. } if reason.contains("From"))
        );
        let bad_cseq = String::from_utf8(with("OPTIONS", ""))
            .unwrap()
            .replace("CSeq: 2 OPTIONS", "CSeq: 3 INVITE");
        assert!(matches!(
            a.handle(bad_cseq.as_bytes(), src).heard,
            Heard::Answered { status: 400, .. }
        ));
        let tel = String::from_utf8(with("OPTIONS", ""))
            .unwrap()
            .replace("OPTIONS sip:100@127.100.0.1", "OPTIONS tel:100")
            .replace("CSeq: 2", "CSeq: 9");
        assert!(matches!(
            a.handle(tel.as_bytes(), src).heard,
            Heard::Answered { status: 416, .. }
        ));
        let r = a.handle(&with("ACK", ""), src);
        assert_eq!(r.send, None);
        let r = a.handle(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n", src);
        assert!(matches!(r.heard, Heard::Silent { .. }) && r.send.is_none());
    }

    #[test]
    fn garbage_is_dropped() {
        let mut a = Agent::new("t");
        let src = SRC.parse().unwrap();
        for g in [
            &b""[..],
            b"\r\n\r\n",
            b"hello",
            b"NOTIFY sip:x SIP/2.0\r\n\r\n",
            b"NOTIFY sip:x SIP/3.0\r\nVia: a\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
            b"NOTIFY sip:x SIP/2.0\r\nVia: a\r\nContent-Length: 99\r\n\r\nshort",
            b"NOTIFY sip:x SIP/2.0\r\n no header before\r\n\r\n",
        ] {
            let r = a.handle(g, src);
            assert!(matches!(r.heard, Heard::Dropped { .. }), "{g:?}: {r:?}");
            assert_eq!(r.send, None);
        }
    }

    fn token() -> impl Strategy<Value = String> {
        "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,11}"
    }

    fn value() -> impl Strategy<Value = String> {
        // No CR/LF, no leading/trailing white space (the parser trims).
        prop_oneof![Just(String::new()), "[!-~]([ -~]{0,30}[!-~])?",]
    }

    fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec((token(), value()), 0..12).prop_map(|hs| {
            hs.into_iter()
                .filter(|(k, _)| {
                    !k.eq_ignore_ascii_case("Content-Length") && !k.eq_ignore_ascii_case("l")
                })
                .collect()
        })
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..64)
    }

    fn with_length(mut h: Vec<(String, String)>, body: &[u8]) -> Vec<(String, String)> {
        h.push(("Content-Length".into(), body.len().to_string()));
        h
    }

    proptest! {
        #[test]
        fn requests_round_trip(m in token(), uri in "sip:[a-z0-9]{1,8}@127\\.0\\.0\\.[0-9]{1,3}(:[0-9]{1,5})?", h in headers(), b in body()) {
            let r = Request { method: m, uri, headers: with_length(h, &b), body: b };
            prop_assert_eq!(Request::parse(&r.to_bytes()), Ok(r));
        }

        #[test]
        fn responses_round_trip(status in 100u16..700, reason in "[A-Za-z][A-Za-z /]{0,20}", h in headers(), b in body()) {
            let r = Response { status, reason, headers: with_length(h, &b), body: b };
            prop_assert_eq!(Response::parse(&r.to_bytes()), Ok(r));
        }

        #[test]
        fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let mut a = Agent::new("t");
            let _ = a.handle(&bytes, SRC.parse().unwrap());
            // Whatever parses writes back to itself (as the fuzz target
            // checks).
            if let Ok(r) = Request::parse(&bytes) {
                prop_assert_eq!(Request::parse(&r.to_bytes()), Ok(r));
            }
            if let Ok(r) = Response::parse(&bytes) {
                prop_assert_eq!(Response::parse(&r.to_bytes()), Ok(r));
            }
        }

        #[test]
        fn near_sip_bytes_parse_back_to_themselves(
            lines in prop::collection::vec("[ -~\t\r]{0,30}", 1..8),
            sep in prop_oneof![Just("\r\n"), Just("\n")],
            start in prop_oneof![Just("NOTIFY sip:1@h SIP/2.0"), Just("SIP/2.0 200 OK"), Just("\r\nOPTIONS sip:x SIP/2.0")],
        ) {
            let text = format!("{start}{sep}{}{sep}{sep}", lines.join(sep));
            if let Ok(r) = Request::parse(text.as_bytes()) {
                prop_assert_eq!(Request::parse(&r.to_bytes()), Ok(r));
            }
            if let Ok(r) = Response::parse(text.as_bytes()) {
                prop_assert_eq!(Response::parse(&r.to_bytes()), Ok(r));
            }
        }

        #[test]
        fn mutated_notifies_never_panic(pos in 0usize..400, byte in any::<u8>(), cut in 0usize..400) {
            let mut n = notify("check-sync");
            if pos < n.len() { n[pos] = byte; }
            n.truncate(cut.max(1));
            let mut a = Agent::new("t");
            let r = a.handle(&n, SRC.parse().unwrap());
            if let Some(bytes) = r.send {
                prop_assert!(Response::parse(&bytes).is_ok());
            }
        }
    }
}

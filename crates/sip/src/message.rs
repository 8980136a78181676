//! Parsing and writing whole messages.

use crate::{clip, is_token, Headers, SipError, MAX_HEADERS};

/// A SIP request, headers in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// The Request-URI as written; [`crate::Uri::parse`] reads it.
    pub uri: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// A SIP response, headers in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// Either kind, for a socket that may receive both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

/// The start line, headers and body of any message.
struct Parts {
    start: String,
    headers: Headers,
    body: Vec<u8>,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_parts(bytes: &[u8]) -> Result<Parts, SipError> {
    // RFC 3261 §7.5: CRLFs before the start line are ignored (keep-alives
    // are bare CRLFs).
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
    // Only the head must be text: the body is whatever Content-Type says.
    let head = std::str::from_utf8(&bytes[..head_end]).map_err(|_| SipError::NotText)?;
    let body = &bytes[body_start..];
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next().unwrap_or("").to_string();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // Folded continuation of the previous header (§7.3.1).
            let Some((_, v)) = headers.last_mut() else {
                return Err(SipError::BadHeader(clip(line)));
            };
            // A blank continuation adds nothing: joining it would leave a
            // trailing space that the writer cannot keep (found by
            // fuzzing: `Call-ID: abc\r\n \r\n` is `abc`).
            let more = line.trim();
            if !more.is_empty() {
                if !v.is_empty() {
                    v.push(' ');
                }
                v.push_str(more);
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
    let headers = Headers::from(headers);
    // §18.3: Content-Length bounds the body; a datagram shorter than it
    // announces is discarded. Without one, the rest of the datagram is
    // the body.
    let body = match headers.get("Content-Length") {
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
    Ok(Parts {
        start,
        headers,
        body,
    })
}

fn write_message(start: &str, headers: &Headers, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(start.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (k, v) in headers.iter() {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The writer's check shared by both kinds: names are tokens, values are
/// single trimmed lines, and a Content-Length matches the body.
fn validate_headers(headers: &Headers, body: &[u8]) -> Result<(), SipError> {
    let unwritable = |what, value: &str, why| SipError::Unwritable {
        what,
        value: clip(value),
        why,
    };
    if headers.len() > MAX_HEADERS {
        return Err(unwritable(
            "header count",
            &headers.len().to_string(),
            "is more than the parser takes",
        ));
    }
    for (k, v) in headers.iter() {
        if !is_token(k) {
            return Err(unwritable("header name", k, "is not a token"));
        }
        if v.contains(['\r', '\n']) {
            return Err(unwritable("header value", v, "holds a line break"));
        }
        if v.trim() != v {
            return Err(unwritable(
                "header value",
                v,
                "starts or ends with white space",
            ));
        }
    }
    if let Some(l) = headers.get("Content-Length") {
        if l.parse::<usize>().ok() != Some(body.len()) {
            return Err(unwritable("Content-Length", l, "is not the body's length"));
        }
    }
    Ok(())
}

fn start_text_ok(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: &str, uri: &str) -> Request {
        Request {
            method: method.to_string(),
            uri: uri.to_string(),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// Reads a request; a response is [`SipError::NotARequest`].
    pub fn parse(bytes: &[u8]) -> Result<Request, SipError> {
        let p = parse_parts(bytes)?;
        Self::from_parts(p)
    }

    fn from_parts(p: Parts) -> Result<Request, SipError> {
        if p.start.starts_with("SIP/2.0 ") {
            return Err(SipError::NotARequest);
        }
        let mut parts = p.start.split(' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(m), Some(uri), Some("SIP/2.0"), None)
                if is_token(m) && !uri.is_empty() && start_text_ok(uri) =>
            {
                Ok(Request {
                    method: m.to_string(),
                    uri: uri.to_string(),
                    headers: p.headers,
                    body: p.body,
                })
            }
            _ => Err(SipError::BadStartLine(clip(&p.start))),
        }
    }

    /// The request on the wire (CRLF line ends), headers exactly as held.
    /// Check a request built by hand with [`Request::validate`] first.
    pub fn to_bytes(&self) -> Vec<u8> {
        write_message(
            &format!("{} {} SIP/2.0", self.method, self.uri),
            &self.headers,
            &self.body,
        )
    }

    /// Whether [`Request::to_bytes`] reads back as this request and
    /// carries nothing smuggled in (a line break in a value, a wrong
    /// Content-Length). Stricter than the parser, which takes some things
    /// it would not write.
    pub fn validate(&self) -> Result<(), SipError> {
        if !is_token(&self.method) {
            return Err(SipError::Unwritable {
                what: "method",
                value: clip(&self.method),
                why: "is not a token",
            });
        }
        if self.uri.is_empty() || self.uri.contains(' ') || !start_text_ok(&self.uri) {
            return Err(SipError::Unwritable {
                what: "Request-URI",
                value: clip(&self.uri),
                why: "is empty or holds a space or a control character",
            });
        }
        validate_headers(&self.headers, &self.body)
    }

    /// The first value of a header, by full or compact name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

impl Response {
    /// A response with no headers and no body.
    pub fn new(status: u16, reason: &str) -> Response {
        Response {
            status,
            reason: reason.to_string(),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// Reads a response; a well-formed request is
    /// [`SipError::NotAResponse`].
    pub fn parse(bytes: &[u8]) -> Result<Response, SipError> {
        let p = parse_parts(bytes)?;
        Self::from_parts(p)
    }

    fn from_parts(p: Parts) -> Result<Response, SipError> {
        let Some(rest) = p.start.strip_prefix("SIP/2.0 ") else {
            return match Request::from_parts(p) {
                Ok(_) => Err(SipError::NotAResponse),
                Err(e) => Err(e),
            };
        };
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status = code
            .parse::<u16>()
            .ok()
            .filter(|s| code.len() == 3 && (100..700).contains(s))
            .ok_or_else(|| SipError::BadStatus(clip(code)))?;
        if !start_text_ok(reason) {
            return Err(SipError::BadStartLine(clip(&p.start)));
        }
        Ok(Response {
            status,
            reason: reason.to_string(),
            headers: p.headers,
            body: p.body,
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        write_message(
            &format!("SIP/2.0 {} {}", self.status, self.reason),
            &self.headers,
            &self.body,
        )
    }

    /// As [`Request::validate`].
    pub fn validate(&self) -> Result<(), SipError> {
        if !(100..700).contains(&self.status) {
            return Err(SipError::Unwritable {
                what: "status",
                value: self.status.to_string(),
                why: "is not between 100 and 699",
            });
        }
        if !start_text_ok(&self.reason) {
            return Err(SipError::Unwritable {
                what: "reason phrase",
                value: clip(&self.reason),
                why: "holds a control character",
            });
        }
        validate_headers(&self.headers, &self.body)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// 1xx.
    pub fn is_provisional(&self) -> bool {
        self.status < 200
    }
}

impl Message {
    /// Reads either kind, told apart by the start line.
    pub fn parse(bytes: &[u8]) -> Result<Message, SipError> {
        let p = parse_parts(bytes)?;
        if p.start.starts_with("SIP/2.0 ") {
            Response::from_parts(p).map(Message::Response)
        } else {
            Request::from_parts(p).map(Message::Request)
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }

    pub fn validate(&self) -> Result<(), SipError> {
        match self {
            Message::Request(r) => r.validate(),
            Message::Response(r) => r.validate(),
        }
    }

    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    pub fn body(&self) -> &[u8] {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }
}

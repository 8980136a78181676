//! The check-sync NOTIFY that makes a 7940/7960 SIP phone reboot, and the
//! SIP responses that answer it. Sans-IO: bytes in, bytes out.
//!
//! The SIP 8.x admin guide's remote reset: `NOTIFY sip:lineX_name@PHONE_IP:5060`
//! with `Event: check-sync` and `Content-Length: 0`; the phone then fetches
//! `syncinfo.xml` and reboots when its `SYNC` differs from the phone's
//! configured `sync`. Parsing never panics: whatever arrives on the socket
//! is untrusted.

use std::fmt::Write as _;
use std::net::SocketAddr;

/// Header lines beyond this are refused: a phone's reply has a dozen.
const MAX_HEADERS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipError {
    #[error("SIP message is not UTF-8 text")]
    NotText,
    #[error("SIP message has no blank line ending its headers")]
    Unterminated,
    #[error("SIP start line {0:?} is neither a request nor a response line")]
    BadStartLine(String),
    #[error("SIP response status {0:?} is not a 3-digit code between 100 and 699")]
    BadStatus(String),
    #[error("SIP header line {0:?} has no ':'")]
    BadHeader(String),
    #[error("SIP message has more than {MAX_HEADERS} header lines")]
    TooManyHeaders,
    #[error("SIP message lacks the {0} header")]
    Missing(&'static str),
    #[error("SIP {header} header {value:?} is malformed: {why}")]
    BadValue {
        header: &'static str,
        value: String,
        why: &'static str,
    },
    #[error("line name {0:?} cannot be a SIP user part (it holds white space, '@', '<', '>', ':' or a control character); fix lineN_name in the phone's record")]
    BadUser(String),
    #[error("SIP token {what} {value:?} holds characters not allowed in it; use letters, digits and -.!%*_+`'~")]
    BadToken { what: &'static str, value: String },
}

/// `token` characters of RFC 3261 §25.1 (tags, branches).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
                )
        })
}

/// Call-IDs are `word [@ word]`; a word allows a few more characters.
fn is_call_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            is_token(std::str::from_utf8(&[b]).unwrap_or(""))
                || matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'{'
                        | b'}'
                        | b'@'
                )
        })
}

fn is_user(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            !c.is_whitespace() && !c.is_control() && !matches!(c, '@' | '<' | '>' | ':' | '"')
        })
}

/// A check-sync NOTIFY for one phone line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSyncNotify {
    /// `lineX_name` of the phone: the user part of the request URI.
    pub user: String,
    /// The phone's SIP address (port 5060 unless `voip_control_port` moved it).
    pub phone: SocketAddr,
    /// Our address as the phone should answer it (Via, From, Contact).
    pub local: SocketAddr,
    pub call_id: String,
    pub cseq: u32,
    /// Via branch, starting with RFC 3261's magic cookie `z9hG4bK`.
    pub branch: String,
    pub from_tag: String,
}

fn host(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    }
}

fn hostport(addr: SocketAddr) -> String {
    format!("{}:{}", host(addr), addr.port())
}

impl CheckSyncNotify {
    /// A NOTIFY with identifiers derived from `seed` (the driver passes a
    /// counter mixed with the time; tests pass constants, so output is
    /// reproducible).
    pub fn new(
        user: &str,
        phone: SocketAddr,
        local: SocketAddr,
        seed: u64,
    ) -> Result<Self, SipError> {
        if !is_user(user) {
            return Err(SipError::BadUser(user.to_string()));
        }
        Ok(CheckSyncNotify {
            user: user.to_string(),
            phone,
            local,
            call_id: format!("{seed:016x}-checksync@{}", host(local)),
            cseq: 1,
            branch: format!("z9hG4bK{seed:016x}"),
            from_tag: format!("pf{:08x}", seed as u32 ^ (seed >> 32) as u32),
        })
    }

    pub fn request_uri(&self) -> String {
        format!("sip:{}@{}", self.user, hostport(self.phone))
    }

    /// The request as sent on the wire (CRLF line ends, no body).
    pub fn to_bytes(&self) -> Result<Vec<u8>, SipError> {
        if !is_user(&self.user) {
            return Err(SipError::BadUser(self.user.clone()));
        }
        for (what, v) in [("branch", &self.branch), ("tag", &self.from_tag)] {
            if !is_token(v) {
                return Err(SipError::BadToken {
                    what,
                    value: v.clone(),
                });
            }
        }
        if !is_call_id(&self.call_id) {
            return Err(SipError::BadToken {
                what: "Call-ID",
                value: self.call_id.clone(),
            });
        }
        let uri = self.request_uri();
        let mut s = String::new();
        let _ = write!(
            s,
            "NOTIFY {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {via};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:phoneflip@{from}>;tag={tag}\r\n\
             To: <{uri}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} NOTIFY\r\n\
             Contact: <sip:phoneflip@{via}>\r\n\
             Event: check-sync\r\n\
             User-Agent: phoneflip\r\n\
             Content-Length: 0\r\n\r\n",
            via = hostport(self.local),
            branch = self.branch,
            from = host(self.local),
            tag = self.from_tag,
            call_id = self.call_id,
            cseq = self.cseq,
        );
        Ok(s.into_bytes())
    }

    /// Reads a check-sync NOTIFY back (what an emulated phone does).
    pub fn parse(bytes: &[u8]) -> Result<Self, SipError> {
        let msg = Message::parse(bytes)?;
        let (method, uri) = match &msg.start {
            Start::Request { method, uri } => (method, uri),
            Start::Response { .. } => {
                return Err(SipError::BadStartLine(
                    "a response where a NOTIFY was expected".into(),
                ))
            }
        };
        if method != "NOTIFY" {
            return Err(SipError::BadStartLine(format!("{method} {uri}")));
        }
        let event = msg.header("Event", "o").ok_or(SipError::Missing("Event"))?;
        if !event.eq_ignore_ascii_case("check-sync") && !event.starts_with("check-sync;") {
            return Err(SipError::BadValue {
                header: "Event",
                value: event.to_string(),
                why: "not check-sync",
            });
        }
        let rest = uri.strip_prefix("sip:").ok_or(SipError::BadValue {
            header: "Request-URI",
            value: uri.clone(),
            why: "not a sip: URI",
        })?;
        let (user, hp) = rest.split_once('@').ok_or(SipError::BadValue {
            header: "Request-URI",
            value: uri.clone(),
            why: "no user@host",
        })?;
        let phone: SocketAddr = hp.parse().map_err(|_| SipError::BadValue {
            header: "Request-URI",
            value: uri.clone(),
            why: "host is not IP:port",
        })?;
        let via = msg.via()?;
        let cseq = msg.cseq()?;
        let from = msg.header("From", "f").ok_or(SipError::Missing("From"))?;
        let from_tag = param(from, "tag").ok_or(SipError::BadValue {
            header: "From",
            value: from.to_string(),
            why: "no tag parameter",
        })?;
        Ok(CheckSyncNotify {
            user: user.to_string(),
            phone,
            local: via.sent_by.ok_or(SipError::BadValue {
                header: "Via",
                value: via.raw.clone(),
                why: "sent-by is not IP:port",
            })?,
            call_id: msg
                .header("Call-ID", "i")
                .ok_or(SipError::Missing("Call-ID"))?
                .to_string(),
            cseq: cseq.0,
            branch: via.branch.ok_or(SipError::BadValue {
                header: "Via",
                value: via.raw,
                why: "no branch parameter",
            })?,
            from_tag: from_tag.to_string(),
        })
    }

    /// The response a phone sends to this request (RFC 3261 §8.2.6: Via,
    /// From, To, Call-ID and CSeq copied, a To tag added).
    pub fn response(&self, status: u16, reason: &str, to_tag: &str) -> SipResponse {
        SipResponse {
            status,
            reason: reason.to_string(),
            via: format!(
                "SIP/2.0/UDP {};branch={};rport",
                hostport(self.local),
                self.branch
            ),
            from: format!("<sip:phoneflip@{}>;tag={}", host(self.local), self.from_tag),
            to: format!("<{}>;tag={to_tag}", self.request_uri()),
            call_id: self.call_id.clone(),
            cseq: self.cseq,
            cseq_method: "NOTIFY".into(),
        }
    }

    /// Whether `r` answers this request (same Call-ID, CSeq and branch).
    pub fn matches(&self, r: &SipResponse) -> bool {
        r.call_id == self.call_id
            && r.cseq == self.cseq
            && r.cseq_method.eq_ignore_ascii_case("NOTIFY")
            && param(&r.via, "branch") == Some(self.branch.as_str())
    }
}

/// A SIP response, reduced to what a client transaction needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipResponse {
    pub status: u16,
    pub reason: String,
    /// The top Via header's value.
    pub via: String,
    pub from: String,
    pub to: String,
    pub call_id: String,
    pub cseq: u32,
    pub cseq_method: String,
}

impl SipResponse {
    pub fn is_provisional(&self) -> bool {
        self.status < 200
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        format!(
            "SIP/2.0 {} {}\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} {}\r\nContent-Length: 0\r\n\r\n",
            self.status,
            self.reason,
            self.via,
            self.from,
            self.to,
            self.call_id,
            self.cseq,
            self.cseq_method
        )
        .into_bytes()
    }

    pub fn parse(bytes: &[u8]) -> Result<SipResponse, SipError> {
        let msg = Message::parse(bytes)?;
        let (status, reason) = match msg.start {
            Start::Response { status, ref reason } => (status, reason.clone()),
            Start::Request { method, uri } => {
                return Err(SipError::BadStartLine(format!("{method} {uri}")))
            }
        };
        let via = msg.via()?;
        let (cseq, cseq_method) = msg.cseq()?;
        Ok(SipResponse {
            status,
            reason,
            via: via.raw,
            from: msg
                .header("From", "f")
                .ok_or(SipError::Missing("From"))?
                .to_string(),
            to: msg
                .header("To", "t")
                .ok_or(SipError::Missing("To"))?
                .to_string(),
            call_id: msg
                .header("Call-ID", "i")
                .ok_or(SipError::Missing("Call-ID"))?
                .to_string(),
            cseq,
            cseq_method,
        })
    }
}

/// A `;name=value` parameter of a header value.
fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

enum Start {
    Request { method: String, uri: String },
    Response { status: u16, reason: String },
}

struct Via {
    raw: String,
    sent_by: Option<SocketAddr>,
    branch: Option<String>,
}

struct Message {
    start: Start,
    headers: Vec<(String, String)>,
}

impl Message {
    fn parse(bytes: &[u8]) -> Result<Message, SipError> {
        let text = std::str::from_utf8(bytes).map_err(|_| SipError::NotText)?;
        let head = match text.find("\r\n\r\n") {
            Some(i) => &text[..i],
            None => match text.find("\n\n") {
                Some(i) => &text[..i],
                None => return Err(SipError::Unterminated),
            },
        };
        let mut lines = head.lines();
        let start = lines.next().unwrap_or("").trim_end_matches('\r');
        let start = parse_start(start)?;
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            let line = line.trim_end_matches('\r');
            if line.starts_with([' ', '\t']) {
                // Folded continuation of the previous header (RFC 3261 §7.3.1).
                match headers.last_mut() {
                    Some((_, v)) => {
                        v.push(' ');
                        v.push_str(line.trim());
                    }
                    None => return Err(SipError::BadHeader(line.to_string())),
                }
                continue;
            }
            if headers.len() >= MAX_HEADERS {
                return Err(SipError::TooManyHeaders);
            }
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| SipError::BadHeader(line.chars().take(80).collect()))?;
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        Ok(Message { start, headers })
    }

    /// First value of a header, by full or compact name.
    fn header(&self, name: &str, compact: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name) || k.eq_ignore_ascii_case(compact))
            .map(|(_, v)| v.as_str())
    }

    fn via(&self) -> Result<Via, SipError> {
        let raw = self.header("Via", "v").ok_or(SipError::Missing("Via"))?;
        // A header may hold several comma-separated Vias; the top one counts.
        let top = raw.split(',').next().unwrap_or(raw).trim().to_string();
        let sent_by = top
            .split(';')
            .next()
            .and_then(|s| s.split_whitespace().nth(1))
            .and_then(|hp| hp.parse().ok());
        let branch = param(&top, "branch").map(str::to_string);
        Ok(Via {
            raw: top,
            sent_by,
            branch,
        })
    }

    fn cseq(&self) -> Result<(u32, String), SipError> {
        let raw = self
            .header("CSeq", "CSeq")
            .ok_or(SipError::Missing("CSeq"))?;
        let bad = |why| SipError::BadValue {
            header: "CSeq",
            value: raw.to_string(),
            why,
        };
        let mut it = raw.split_whitespace();
        let n = it
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .ok_or_else(|| bad("no sequence number"))?;
        let m = it.next().ok_or_else(|| bad("no method"))?;
        Ok((n, m.to_string()))
    }
}

fn parse_start(line: &str) -> Result<Start, SipError> {
    let bad = || SipError::BadStartLine(line.chars().take(80).collect());
    if let Some(rest) = line.strip_prefix("SIP/2.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status: u16 = code
            .parse()
            .ok()
            .filter(|s| (100..700).contains(s) && code.len() == 3)
            .ok_or_else(|| SipError::BadStatus(code.chars().take(20).collect()))?;
        return Ok(Start::Response {
            status,
            reason: reason.to_string(),
        });
    }
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(uri), Some("SIP/2.0"), None) if is_token(m) && !uri.is_empty() => {
            Ok(Start::Request {
                method: m.to_string(),
                uri: uri.to_string(),
            })
        }
        _ => Err(bad()),
    }
}

/// RFC 3261 §17.1.2 non-INVITE client transaction timers, sans-IO.
///
/// Timer E fires at T1 and doubles up to T2 while no response has come;
/// after a provisional response retransmissions go every T2; Timer F
/// (64·T1) ends the transaction in a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub t1_ms: u64,
    pub t2_ms: u64,
    /// Timer F: give up this long after the first send.
    pub timeout_ms: u64,
}

impl Default for Timers {
    fn default() -> Self {
        // RFC 3261's values; the phones' own timer_t1/timer_t2 defaults
        // (500/4000 ms) are the same.
        Timers {
            t1_ms: 500,
            t2_ms: 4000,
            timeout_ms: 64 * 500,
        }
    }
}

/// What a client transaction wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStep {
    /// Send (or resend) the request, then wake at `wake_ms`.
    Send {
        wake_ms: u64,
    },
    /// Nothing to send; wake at `wake_ms`.
    Wait {
        wake_ms: u64,
    },
    Done(NotifyOutcome),
}

/// How a NOTIFY ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyOutcome {
    /// 2xx: the phone will check its sync and reboot if it differs.
    Accepted { status: u16, reason: String },
    /// 3xx–6xx: the phone refused (e.g. 481 when the line name is wrong).
    Rejected { status: u16, reason: String },
    /// No final response before Timer F.
    TimedOut { sends: u32 },
}

/// The client transaction's state; times are milliseconds from its start.
#[derive(Debug, Clone)]
pub struct ClientTransaction {
    timers: Timers,
    interval: u64,
    next_send: u64,
    sends: u32,
    provisional: bool,
    done: bool,
}

impl ClientTransaction {
    pub fn new(timers: Timers) -> Self {
        ClientTransaction {
            timers,
            interval: timers.t1_ms.max(1),
            next_send: 0,
            sends: 0,
            provisional: false,
            done: false,
        }
    }

    pub fn sends(&self) -> u32 {
        self.sends
    }

    /// Call when woken (first call with `now_ms` = 0 sends the request).
    pub fn poll(&mut self, now_ms: u64) -> ClientStep {
        if self.done {
            return ClientStep::Done(NotifyOutcome::TimedOut { sends: self.sends });
        }
        if now_ms >= self.timers.timeout_ms && self.sends > 0 {
            self.done = true;
            return ClientStep::Done(NotifyOutcome::TimedOut { sends: self.sends });
        }
        let deadline = self.timers.timeout_ms;
        if now_ms >= self.next_send {
            self.sends += 1;
            let step = if self.provisional {
                self.timers.t2_ms
            } else {
                let i = self.interval;
                self.interval = (self.interval * 2).min(self.timers.t2_ms.max(1));
                i
            };
            self.next_send = now_ms + step.max(1);
            return ClientStep::Send {
                wake_ms: self.next_send.min(deadline.max(now_ms + 1)),
            };
        }
        ClientStep::Wait {
            wake_ms: self.next_send.min(deadline),
        }
    }

    /// Feeds a response that matched the request.
    pub fn on_response(&mut self, r: &SipResponse) -> Option<NotifyOutcome> {
        if self.done {
            return None;
        }
        if r.is_provisional() {
            self.provisional = true;
            return None;
        }
        self.done = true;
        Some(if (200..300).contains(&r.status) {
            NotifyOutcome::Accepted {
                status: r.status,
                reason: r.reason.clone(),
            }
        } else {
            NotifyOutcome::Rejected {
                status: r.status,
                reason: r.reason.clone(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn req() -> CheckSyncNotify {
        CheckSyncNotify::new(
            "1001",
            "10.1.1.5:5060".parse().unwrap(),
            "10.0.0.1:5070".parse().unwrap(),
            42,
        )
        .unwrap()
    }

    #[test]
    fn notify_has_the_admin_guide_form() {
        let text = String::from_utf8(req().to_bytes().unwrap()).unwrap();
        assert!(
            text.starts_with("NOTIFY sip:1001@10.1.1.5:5060 SIP/2.0\r\n"),
            "{text}"
        );
        for h in [
            "\r\nEvent: check-sync\r\n",
            "\r\nContent-Length: 0\r\n\r\n",
            "\r\nCSeq: 1 NOTIFY\r\n",
            "\r\nVia: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK",
            "\r\nTo: <sip:1001@10.1.1.5:5060>\r\n",
            "\r\nCall-ID: ",
            "\r\nFrom: <sip:phoneflip@10.0.0.1>;tag=",
        ] {
            assert!(text.contains(h), "{h:?} in {text}");
        }
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn bad_line_names_are_refused() {
        for u in ["", "a b", "x@y", "a\r\nEvent: x"] {
            let e = CheckSyncNotify::new(
                u,
                "10.1.1.5:5060".parse().unwrap(),
                "10.0.0.1:5070".parse().unwrap(),
                1,
            )
            .unwrap_err();
            assert!(matches!(e, SipError::BadUser(_)), "{u:?}");
        }
    }

    #[test]
    fn a_phone_response_is_matched() {
        let r = req();
        let ok = SipResponse::parse(&r.response(200, "OK", "abc").to_bytes()).unwrap();
        assert!(r.matches(&ok));
        let mut other = req();
        other.cseq = 2;
        assert!(!other.matches(&ok));
    }

    #[test]
    fn compact_headers_and_folding() {
        let raw = b"SIP/2.0 200 OK\r\nv: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKx, SIP/2.0/UDP 1.2.3.4\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\n ;tag=2\r\ni: id@x\r\nCSeq: 7 NOTIFY\r\n\r\n";
        let r = SipResponse::parse(raw).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.via, "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bKx");
        assert_eq!(r.to, "<sip:c@d> ;tag=2");
        assert_eq!((r.cseq, r.cseq_method.as_str()), (7, "NOTIFY"));
    }

    #[test]
    fn timers_double_to_t2_and_stop_at_f() {
        let mut t = ClientTransaction::new(Timers::default());
        let mut now = 0;
        let mut sends = Vec::new();
        loop {
            match t.poll(now) {
                ClientStep::Send { wake_ms } => {
                    sends.push(now);
                    now = wake_ms;
                }
                ClientStep::Wait { wake_ms } => now = wake_ms,
                ClientStep::Done(o) => {
                    assert_eq!(
                        o,
                        NotifyOutcome::TimedOut {
                            sends: sends.len() as u32
                        }
                    );
                    break;
                }
            }
        }
        assert_eq!(
            sends,
            vec![0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
        );
        assert_eq!(now, 32_000);
    }

    #[test]
    fn a_provisional_response_slows_to_t2_and_a_final_one_ends() {
        let r = req();
        let mut t = ClientTransaction::new(Timers::default());
        assert_eq!(t.poll(0), ClientStep::Send { wake_ms: 500 });
        assert_eq!(t.on_response(&r.response(100, "Trying", "x")), None);
        assert_eq!(t.poll(500), ClientStep::Send { wake_ms: 4500 });
        assert_eq!(
            t.on_response(&r.response(481, "Call Leg/Transaction Does Not Exist", "x")),
            Some(NotifyOutcome::Rejected {
                status: 481,
                reason: "Call Leg/Transaction Does Not Exist".into()
            })
        );
    }

    fn token() -> impl Strategy<Value = String> {
        "[A-Za-z0-9.!%*_+`'~-]{1,20}"
    }

    proptest! {
        #[test]
        fn notify_round_trips(
            user in "[A-Za-z0-9_.+-]{1,20}",
            a in any::<[u8; 4]>(), pa in 1u16..,
            b in any::<[u8; 4]>(), pb in 1u16..,
            seed in any::<u64>(), cseq in any::<u32>(),
            branch in token(), tag in token(),
        ) {
            let mut n = CheckSyncNotify::new(
                &user,
                SocketAddr::from((a, pa)),
                SocketAddr::from((b, pb)),
                seed,
            ).unwrap();
            n.cseq = cseq;
            n.branch = format!("z9hG4bK{branch}");
            n.from_tag = tag;
            let back = CheckSyncNotify::parse(&n.to_bytes().unwrap()).unwrap();
            prop_assert_eq!(back, n);
        }

        #[test]
        fn response_round_trips(
            status in 100u16..700, reason in "[A-Za-z ]{0,30}",
            seed in any::<u64>(), to_tag in token(),
        ) {
            let n = CheckSyncNotify::new(
                "1001", "10.1.1.5:5060".parse().unwrap(), "[::1]:5070".parse().unwrap(), seed,
            ).unwrap();
            let r = n.response(status, reason.trim_end(), &to_tag);
            let back = SipResponse::parse(&r.to_bytes()).unwrap();
            prop_assert!(n.matches(&back));
            prop_assert_eq!(back, r);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = SipResponse::parse(&bytes);
            let _ = CheckSyncNotify::parse(&bytes);
        }

        #[test]
        fn near_miss_text_never_panics(s in "(SIP/2.0 [0-9]{0,4}|NOTIFY sip:[a-z@:0-9.]{0,20} SIP/2.0)(\r\n[A-Za-z-]{0,8}:? ?[ -~]{0,30}){0,8}(\r\n\r\n)?") {
            let _ = SipResponse::parse(s.as_bytes());
            let _ = CheckSyncNotify::parse(s.as_bytes());
        }
    }
}

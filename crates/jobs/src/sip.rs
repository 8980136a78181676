//! The check-sync NOTIFY that makes a 7940/7960 SIP phone reboot, the SIP
//! responses that answer it, and the RFC 3261 client transaction timers.
//! Sans-IO: bytes in, bytes out; the message codec is `phoneflip-sip`'s,
//! this module only says what a check-sync NOTIFY and its answer hold.
//!
//! The SIP 8.x admin guide's remote reset: `NOTIFY sip:lineX_name@PHONE_IP:5060`
//! with `Event: check-sync` and `Content-Length: 0`; the phone then fetches
//! `syncinfo.xml` and reboots when its `SYNC` differs from the phone's
//! configured `sync`. Parsing never panics: whatever arrives on the socket
//! is untrusted.

use std::net::SocketAddr;

use phoneflip_sip::{is_call_id, is_token, Request, Response, Via};

/// Why a check-sync NOTIFY could not be written, or bytes are not one (or
/// not a phone's answer to one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipError {
    /// The bytes are not a SIP message, or lack a header a NOTIFY and its
    /// answer must carry.
    #[error(transparent)]
    Codec(#[from] phoneflip_sip::SipError),
    #[error("SIP request {method} {uri} is not a NOTIFY")]
    NotNotify { method: String, uri: String },
    #[error("SIP NOTIFY event {0:?} is not check-sync")]
    NotCheckSync(String),
    #[error("line name {0:?} cannot be a SIP user part (it holds white space, '@', '<', '>', ':' or a control character); fix lineN_name in the phone's record")]
    BadUser(String),
    #[error("SIP token {what} {value:?} holds characters not allowed in it; use letters, digits and -.!%*_+`'~")]
    BadToken { what: &'static str, value: String },
}

fn is_user(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            !c.is_whitespace() && !c.is_control() && !matches!(c, '@' | '<' | '>' | ':' | '"')
        })
}

fn bad_value(header: &'static str, value: &str, why: &'static str) -> SipError {
    SipError::Codec(phoneflip_sip::SipError::BadValue {
        header,
        value: value.chars().take(80).collect(),
        why,
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

    fn via(&self) -> String {
        format!(
            "SIP/2.0/UDP {};branch={};rport",
            hostport(self.local),
            self.branch
        )
    }

    fn from(&self) -> String {
        format!("<sip:phoneflip@{}>;tag={}", host(self.local), self.from_tag)
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
        let mut req = Request::new("NOTIFY", &uri);
        let h = &mut req.headers;
        h.push("Via", self.via());
        h.push("Max-Forwards", "70");
        h.push("From", self.from());
        h.push("To", format!("<{uri}>"));
        h.push("Call-ID", self.call_id.as_str());
        h.push("CSeq", format!("{} NOTIFY", self.cseq));
        h.push(
            "Contact",
            format!("<sip:phoneflip@{}>", hostport(self.local)),
        );
        h.push("Event", "check-sync");
        h.push("User-Agent", "phoneflip");
        h.push("Content-Length", "0");
        req.validate()?;
        Ok(req.to_bytes())
    }

    /// Reads a check-sync NOTIFY back (what an emulated phone does).
    pub fn parse(bytes: &[u8]) -> Result<Self, SipError> {
        let req = Request::parse(bytes)?;
        if req.method != "NOTIFY" {
            return Err(SipError::NotNotify {
                method: req.method,
                uri: req.uri,
            });
        }
        let h = &req.headers;
        let event = h.require("Event")?;
        if h.event_package().as_deref() != Some("check-sync") {
            return Err(SipError::NotCheckSync(event.to_string()));
        }
        let uri = req.uri.as_str();
        // `sip:lineX_name@IP:port`, the form `request_uri` writes.
        let rest = uri
            .strip_prefix("sip:")
            .ok_or_else(|| bad_value("Request-URI", uri, "not a sip: URI"))?;
        let (user, hp) = rest
            .split_once('@')
            .ok_or_else(|| bad_value("Request-URI", uri, "no user@host"))?;
        let phone: SocketAddr = hp
            .parse()
            .map_err(|_| bad_value("Request-URI", uri, "host is not IP:port"))?;
        let via = h.top_via()?;
        let from = h.from_addr()?;
        Ok(CheckSyncNotify {
            user: user.to_string(),
            phone,
            local: via
                .sent_by_addr()
                .ok_or_else(|| bad_value("Via", &via.to_string(), "sent-by is not IP:port"))?,
            call_id: h.call_id()?.to_string(),
            cseq: h.cseq()?.seq,
            branch: via
                .branch()
                .ok_or_else(|| bad_value("Via", &via.to_string(), "no branch parameter"))?
                .to_string(),
            from_tag: from
                .tag()
                .ok_or_else(|| bad_value("From", &from.to_string(), "no tag parameter"))?
                .to_string(),
        })
    }

    /// The response a phone sends to this request (RFC 3261 §8.2.6: Via,
    /// From, To, Call-ID and CSeq copied, a To tag added).
    pub fn response(&self, status: u16, reason: &str, to_tag: &str) -> SipResponse {
        SipResponse {
            status,
            reason: reason.to_string(),
            via: self.via(),
            from: self.from(),
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
            && Via::parse(&r.via)
                .ok()
                .is_some_and(|v| v.branch() == Some(self.branch.as_str()))
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
        let mut r = Response::new(self.status, &self.reason);
        let h = &mut r.headers;
        h.push("Via", self.via.as_str());
        h.push("From", self.from.as_str());
        h.push("To", self.to.as_str());
        h.push("Call-ID", self.call_id.as_str());
        h.push("CSeq", format!("{} {}", self.cseq, self.cseq_method));
        h.push("Content-Length", "0");
        r.to_bytes()
    }

    pub fn parse(bytes: &[u8]) -> Result<SipResponse, SipError> {
        let r = Response::parse(bytes)?;
        let h = &r.headers;
        let via = *h
            .vias()
            .first()
            .ok_or(phoneflip_sip::SipError::Missing("Via"))?;
        let cseq = h.cseq()?;
        Ok(SipResponse {
            status: r.status,
            via: via.to_string(),
            from: h.require("From")?.to_string(),
            to: h.require("To")?.to_string(),
            call_id: h.call_id()?.to_string(),
            cseq: cseq.seq,
            cseq_method: cseq.method,
            reason: r.reason,
        })
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

    /// Issue 10's drift: this codec used to read `abc ` here, so a phone's
    /// answer with a blank folded line no longer matched its NOTIFY.
    #[test]
    fn a_blank_folded_line_in_a_phone_answer_adds_nothing() {
        let r = req();
        let text = String::from_utf8(r.response(200, "OK", "t").to_bytes()).unwrap();
        let folded = text.replace(
            &format!("Call-ID: {}\r\n", r.call_id),
            &format!("Call-ID: {}\r\n \r\n", r.call_id),
        );
        assert_ne!(folded, text);
        let back = SipResponse::parse(folded.as_bytes()).unwrap();
        assert_eq!(back.call_id, r.call_id);
        assert!(r.matches(&back));
        assert_eq!(SipResponse::parse(&back.to_bytes()).unwrap(), back);
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

//! The emulated phone's SIP side, sans-IO: just enough of RFC 3261 over UDP
//! for a 7940/7960 SIP load to take the remote reset (a `NOTIFY` with
//! `Event: check-sync`, domain-facts "Remote reset of SIP phones") and to
//! answer anything else sensibly.
//!
//! [`Request`] and [`Response`] are `phoneflip-sip`'s codec, re-exported;
//! [`Agent`] turns one datagram into the reply to send and what the phone
//! heard. Whatever arrives on the socket is untrusted: parsing never
//! panics and garbage is dropped without an answer (a response needs a
//! Via to go back along).
//!
//! Calls and registration are [`crate::ua::UserAgent`]'s, which hands
//! this agent every request outside its dialogs; on its own (a phone with
//! no proxy configured) the agent refuses INVITE with 405, like any
//! method the emulator does not implement. Not modelled: the request
//! URI's user part (the phones answer for their `lineN_name`; the
//! emulator answers for any user).

use std::collections::VecDeque;
use std::net::SocketAddr;

use phoneflip_sip::{NameAddr, Via};
pub use phoneflip_sip::{Request, Response, SipError};

/// Answers remembered for retransmissions (RFC 3261 §17.2.2: a
/// retransmitted request gets the same response again, and is not acted
/// on twice).
const REMEMBERED: usize = 64;

/// What the emulated phone answers to and advertises in `Allow`.
pub const ALLOW: &str = "ACK, BYE, CANCEL, NOTIFY, OPTIONS";

/// The phone's response to `req` (§8.2.6.2): every Via copied in order,
/// the top one marked with where the request really came from
/// (`received`, and `rport` when asked for, RFC 3581); From, Call-ID and
/// CSeq copied; To copied with `to_tag` added when it has none.
pub fn response_to(
    req: &Request,
    source: SocketAddr,
    status: u16,
    reason: &str,
    to_tag: &str,
) -> Response {
    let mut r = Response::new(status, reason);
    let h = &mut r.headers;
    for (i, via) in req.headers.vias().into_iter().enumerate() {
        let v = if i == 0 {
            mark_via(via, source)
        } else {
            via.to_string()
        };
        h.push("Via", v);
    }
    for name in ["From", "To", "Call-ID", "CSeq"] {
        if let Some(v) = req.header(name) {
            let tagged = NameAddr::parse(v).is_ok_and(|n| n.params.get("tag").is_some());
            let v = if name == "To" && !tagged && status > 100 {
                format!("{v};tag={to_tag}")
            } else {
                v.to_string()
            };
            h.push(name, v);
        }
    }
    if matches!(status, 405 | 200) {
        h.push("Allow", ALLOW);
    }
    if status == 489 {
        h.push("Allow-Events", "check-sync");
    }
    h.push("User-Agent", "phoneflip-emulator");
    h.push("Content-Length", "0");
    r
}

/// §18.2.1 and RFC 3581: `received` when the sent-by host is not where
/// the request came from, `rport=PORT` when the client asked with a bare
/// `rport`.
fn mark_via(via: &str, source: SocketAddr) -> String {
    let ip = source.ip().to_string();
    let Ok(mut v) = Via::parse(via) else {
        // Not a Via we can read: say where it came from all the same.
        return format!("{via};received={ip}");
    };
    let asked_rport = v.params.get("rport") == Some(None);
    if asked_rport {
        v.params.set("rport", Some(&source.port().to_string()));
    }
    let sent_by_host = v
        .sent_by_addr()
        .map_or_else(|| v.host().to_string(), |a| a.ip().to_string());
    if v.params.get("received").is_none() && (asked_rport || sent_by_host != ip) {
        v.params.set("received", Some(&ip));
    }
    v.to_string()
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
    /// Taken by the phone's user agent ([`crate::ua`]): a response to its
    /// REGISTER, INVITE or BYE, or a request of one of its calls.
    Dialog { what: String },
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
        let vias = req.headers.vias();
        let Some(top) = vias.first() else {
            return dropped(format!("{} without a Via header", req.method));
        };
        if req.method == "ACK" {
            return Reply {
                heard: Heard::Silent { what: "ACK".into() },
                send: None,
            };
        }
        let branch = Via::parse(top)
            .ok()
            .and_then(|v| v.branch().map(str::to_string))
            .unwrap_or_default();
        let call_id = req.header("Call-ID").unwrap_or("").to_string();
        let cseq = req.headers.cseq().ok();
        let key = (
            branch,
            call_id.clone(),
            cseq.as_ref().map_or(0, |c| c.seq),
            cseq.as_ref().map_or(String::new(), |c| c.method.clone()),
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

        let (status, reason): (u16, String) = if let Some(missing) =
            ["From", "To", "Call-ID", "CSeq"]
                .iter()
                .find(|n| req.header(n).is_none())
        {
            (400, format!("Missing {missing} Header"))
        } else if cseq.as_ref().is_none_or(|c| c.method != req.method) {
            (400, "Bad CSeq".into())
        } else if !req.uri.to_ascii_lowercase().starts_with("sip:") {
            (416, "Unsupported URI Scheme".into())
        } else {
            match req.method.as_str() {
                "NOTIFY" => match req.headers.event_package() {
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
        let bytes = response_to(&req, source, status, &reason, &tag).to_bytes();
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

    /// Issue 10's drift, pinned on the phone's side: a blank folded line
    /// after Call-ID adds nothing, so the answer carries the NOTIFY's
    /// Call-ID exactly and the sender can match it.
    #[test]
    fn a_blank_folded_line_in_a_notify_adds_nothing() {
        let raw = String::from_utf8(notify("check-sync")).unwrap().replace(
            "Call-ID: abc@127.0.0.1\r\n",
            "Call-ID: abc@127.0.0.1\r\n \r\n",
        );
        let mut a = Agent::new("t");
        let r = a.handle(raw.as_bytes(), SRC.parse().unwrap());
        assert_eq!(
            r.heard,
            Heard::CheckSync {
                user: "100".into(),
                call_id: "abc@127.0.0.1".into()
            }
        );
        let resp = Response::parse(&r.send.unwrap()).unwrap();
        assert_eq!(resp.header("Call-ID"), Some("abc@127.0.0.1"));
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
            resp.header("Via"),
            Some("SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK1;rport=40000;received=127.0.0.1")
        );
        assert_eq!(
            resp.header("From"),
            Some("<sip:phoneflip@127.0.0.1>;tag=pf1")
        );
        let to = resp.header("To").unwrap();
        assert!(
            to.starts_with("<sip:100@127.100.0.1:5060>;tag=0019AA000001"),
            "{to}"
        );
        assert_eq!(resp.header("Call-ID"), Some("abc@127.0.0.1"));
        assert_eq!(resp.header("CSeq"), Some("1 NOTIFY"));

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
            resp.header("Via"),
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

    proptest! {
        #[test]
        fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let mut a = Agent::new("t");
            let r = a.handle(&bytes, SRC.parse().unwrap());
            if let Some(bytes) = r.send {
                prop_assert!(Response::parse(&bytes).is_ok());
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

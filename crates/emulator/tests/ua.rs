//! The emulated phone's SIP user agent, sans-IO: registration with a
//! Digest challenge, refresh before expiry, each failure with its reason,
//! and a call between two phones through a forwarding proxy — all with
//! injected time, so timeouts are checked without waiting. The real
//! registrar (Kamailio) is in `kamailio.rs`.

use std::net::SocketAddr;
use std::time::Duration;

use phoneflip_emulator::ua::{CallState, RegFailure, Registration, UaConfig, UserAgent};
use phoneflip_sip::{Challenge, Credentials, Message, Request, Response};

const PROXY: &str = "127.0.0.1:5080";

fn files(password: &str) -> (Vec<u8>, Vec<u8>) {
    // As phoneflip renders them: SIPDefault.cnf, then SIP<MAC>.cnf.
    let default =
        b"image_version: P0S3-8-12-00\nproxy1_address: \"127.0.0.1\"\nproxy1_port: 5080\n\
        proxy_register: 1\ntimer_register_expires: 60\ntimer_t1: 100\n"
            .to_vec();
    let mac = format!(
        "image_version: P0S3-8-12-00\nline1_name: 1001\nline1_authname: 1001\n\
         line1_password: \"{password}\"\nline1_displayname: \"Front desk\"\nline2_name: UNPROVISIONED\n"
    )
    .into_bytes();
    (default, mac)
}

fn ua(password: &str, local: &str) -> UserAgent {
    let (d, m) = files(password);
    let cfg = UaConfig::from_files(&[&d, &m]).unwrap();
    UserAgent::new(cfg, local.parse().unwrap(), local)
}

/// A registrar as RFC 3261 §10.3 and RFC 2617 describe it, built from the
/// codec: challenges a REGISTER without credentials, checks the digest,
/// grants what was asked.
fn registrar(req: &[u8], password: &str, nonce: &str) -> Response {
    let req = Request::parse(req).unwrap();
    assert_eq!(req.method, "REGISTER");
    let mut r = phoneflip_emulator::sip::response_to(
        &req,
        "127.100.0.1:5060".parse().unwrap(),
        200,
        "OK",
        "reg",
    );
    match req.header("Authorization").map(Credentials::parse) {
        None => {
            r.status = 401;
            r.reason = "Unauthorized".into();
            let c = Challenge {
                realm: "127.0.0.1".into(),
                nonce: nonce.into(),
                opaque: None,
                algorithm: Some("MD5".into()),
                qop: vec!["auth".into()],
                stale: false,
                domain: None,
            };
            r.headers.push("WWW-Authenticate", c.to_string());
        }
        Some(Ok(c)) if c.verify("REGISTER", password) && c.nonce == nonce => {
            let contact = req.header("Contact").unwrap();
            r.headers.push("Contact", format!("{contact};expires=60"));
        }
        Some(_) => {
            r.status = 401;
            r.reason = "Unauthorized".into();
            r.headers.push(
                "WWW-Authenticate",
                format!("Digest realm=\"127.0.0.1\", nonce=\"{nonce}2\", qop=\"auth\""),
            );
        }
    }
    r
}

fn one(out: &phoneflip_emulator::ua::Output) -> &[u8] {
    assert_eq!(out.send.len(), 1, "{:?}", out.send);
    assert_eq!(out.send[0].0, PROXY.parse::<SocketAddr>().unwrap());
    &out.send[0].1
}

#[test]
fn registers_answering_the_challenge_and_refreshes_before_expiry() {
    let mut ua = ua("s3cret", "127.100.0.1:5060");
    assert_eq!(ua.config().lines.len(), 1, "UNPROVISIONED is no line");
    let t = Duration::ZERO;
    let out = ua.start(t);
    let first = Request::parse(one(&out)).unwrap();
    assert_eq!(first.uri, "sip:127.0.0.1:5080");
    assert_eq!(first.header("To"), Some("<sip:1001@127.0.0.1>"));
    assert_eq!(first.header("Contact"), Some("<sip:1001@127.100.0.1:5060>"));
    assert_eq!(first.header("Expires"), Some("60"));
    let challenge = registrar(one(&out), "s3cret", "n1");
    let out = ua.handle(t, &challenge.to_bytes(), PROXY.parse().unwrap());
    let second = Request::parse(one(&out)).unwrap();
    assert_eq!(second.header("Call-ID"), first.header("Call-ID"));
    assert_eq!(second.headers.cseq().unwrap().seq, 2);
    let ok = registrar(one(&out), "s3cret", "n1");
    assert_eq!(ok.status, 200);
    ua.handle(t, &ok.to_bytes(), PROXY.parse().unwrap());
    assert_eq!(
        ua.lines()[0].registration,
        Registration::Registered { expires: 60 }
    );
    // Refreshed 5 s before the 60 s run out, with the same Call-ID.
    assert_eq!(ua.next_deadline(), Some(Duration::from_secs(55)));
    assert!(ua.tick(Duration::from_secs(54)).send.is_empty());
    let out = ua.tick(Duration::from_secs(55));
    let refresh = Request::parse(one(&out)).unwrap();
    assert_eq!(refresh.header("Call-ID"), first.header("Call-ID"));
    assert_eq!(refresh.headers.cseq().unwrap().seq, 3);
    // Still registered while the refresh is under way.
    assert!(matches!(
        ua.lines()[0].registration,
        Registration::Registered { .. }
    ));
}

#[test]
fn a_wrong_password_is_reported_as_such() {
    let mut ua = ua("wrong", "127.100.0.2:5060");
    let out = ua.start(Duration::ZERO);
    let ch = registrar(one(&out), "right", "n1");
    let out = ua.handle(Duration::ZERO, &ch.to_bytes(), PROXY.parse().unwrap());
    let again = registrar(one(&out), "right", "n1");
    assert_eq!(again.status, 401);
    let out = ua.handle(Duration::ZERO, &again.to_bytes(), PROXY.parse().unwrap());
    assert!(out.send.is_empty(), "gives up rather than loop");
    let Registration::Failed(f) = &ua.lines()[0].registration else {
        panic!("{:?}", ua.lines());
    };
    assert!(
        matches!(f, RegFailure::WrongPassword { status: 401, .. }),
        "{f:?}"
    );
    assert!(f.to_string().contains("wrong password"), "{f}");
}

#[test]
fn no_answer_times_out_after_64_t1_with_retransmissions() {
    let mut ua = ua("x", "127.100.0.3:5060");
    let first = ua.start(Duration::ZERO).send;
    let mut sent = 1;
    let mut now = Duration::ZERO;
    while let Some(next) = ua.next_deadline() {
        now = next;
        let out = ua.tick(now);
        for (_, b) in &out.send {
            assert_eq!(b, &first[0].1, "a retransmission is the same request");
        }
        sent += out.send.len();
        if !matches!(ua.lines()[0].registration, Registration::Trying) {
            break;
        }
    }
    // T1 = 100 ms: 100, 200, 400, 800, 1600, then every T2 = 4 s until 6.4 s.
    assert_eq!(now, Duration::from_millis(6_400));
    assert_eq!(sent, 7);
    assert_eq!(
        ua.lines()[0].registration,
        Registration::Failed(RegFailure::NoAnswer {
            proxy: PROXY.parse().unwrap(),
            after_ms: 6_400
        })
    );
}

#[test]
fn forbidden_and_missing_settings_are_named() {
    let mut ua = ua("x", "127.100.0.4:5060");
    let out = ua.start(Duration::ZERO);
    let req = Request::parse(one(&out)).unwrap();
    let r =
        phoneflip_emulator::sip::response_to(&req, PROXY.parse().unwrap(), 403, "Forbidden", "t");
    ua.handle(Duration::ZERO, &r.to_bytes(), PROXY.parse().unwrap());
    assert!(matches!(
        &ua.lines()[0].registration,
        Registration::Failed(RegFailure::Forbidden { status: 403, .. })
    ));

    let e = UaConfig::from_files(&[b"line1_name: 1\n"]).unwrap_err();
    assert!(e.to_string().contains("proxy1_address"), "{e}");
    let e = UaConfig::from_files(&[b"proxy1_address: pbx.example.com\n"]).unwrap_err();
    assert!(e.to_string().contains("not an IP address"), "{e}");
    let e = UaConfig::from_files(&[b"proxy1_address: 10.0.0.1\ntimer_register_expires: 0\n"])
        .unwrap_err();
    assert!(e.to_string().contains("timer_register_expires"), "{e}");
    // The table's defaults: port 5060, proxy_register 0, 3600 s.
    let c = UaConfig::from_files(&[b"proxy1_address: 10.0.0.1\nline1_name: 7\n"]).unwrap();
    assert_eq!(c.proxy, "10.0.0.1:5060".parse().unwrap());
    assert!(!c.register);
    assert_eq!(c.expires, 3600);
    assert_eq!(c.lines[0].authname, "7", "authname defaults to the name");
    let mut quiet = UserAgent::new(c, "127.100.0.5:5060".parse().unwrap(), "q");
    assert!(quiet.start(Duration::ZERO).send.is_empty());
    assert_eq!(quiet.lines()[0].registration, Registration::Disabled);
}

/// A stateless forwarding proxy between two user agents, as Kamailio's
/// `lookup` + `t_relay` behaves for this purpose: requests for user 1001
/// go to A, for 1002 to B; responses follow their second Via back.
struct Proxy {
    a: SocketAddr,
    b: SocketAddr,
}

impl Proxy {
    fn route(&self, bytes: &[u8]) -> Option<(SocketAddr, Vec<u8>)> {
        match Message::parse(bytes).unwrap() {
            Message::Request(mut r) => {
                let dest = if r.uri.contains("1001") {
                    self.a
                } else {
                    self.b
                };
                let via = format!("SIP/2.0/UDP {PROXY};branch=z9hG4bKp{}", r.headers.len());
                let mut h = phoneflip_sip::Headers::new();
                h.push("Via", via);
                for (k, v) in r.headers.iter() {
                    h.push(k, v);
                }
                r.headers = h;
                Some((dest, r.to_bytes()))
            }
            Message::Response(mut r) => {
                let vias: Vec<String> = r.headers.vias().iter().map(|s| s.to_string()).collect();
                r.headers.remove("Via");
                let mut h = phoneflip_sip::Headers::new();
                for v in &vias[1..] {
                    h.push("Via", v.clone());
                }
                for (k, v) in r.headers.iter() {
                    h.push(k, v);
                }
                r.headers = h;
                let back = phoneflip_sip::Via::parse(&vias[1])
                    .unwrap()
                    .sent_by_addr()?;
                Some((back, r.to_bytes()))
            }
        }
    }
}

#[test]
fn a_call_is_set_up_and_torn_down_between_two_phones() {
    let (da, ma) = files("a");
    let mb = String::from_utf8(ma.clone())
        .unwrap()
        .replace("1001", "1002");
    let a_addr: SocketAddr = "127.100.0.1:5060".parse().unwrap();
    let b_addr: SocketAddr = "127.100.0.2:5060".parse().unwrap();
    let mut a = UserAgent::new(UaConfig::from_files(&[&da, &ma]).unwrap(), a_addr, "a");
    let mut b = UserAgent::new(
        UaConfig::from_files(&[&da, mb.as_bytes()]).unwrap(),
        b_addr,
        "b",
    );
    let proxy = Proxy {
        a: a_addr,
        b: b_addr,
    };
    let now = Duration::ZERO;
    let (call, out) = a.call(now, 1, "1002").unwrap();
    // Deliver everything until nothing is in flight.
    let mut queue: Vec<(SocketAddr, SocketAddr, Vec<u8>)> =
        out.send.into_iter().map(|(d, m)| (a_addr, d, m)).collect();
    let mut seen = Vec::new();
    let mut pump = |queue: &mut Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
                    a: &mut UserAgent,
                    b: &mut UserAgent| {
        while let Some((from, to, bytes)) = queue.pop() {
            let start = String::from_utf8_lossy(&bytes)
                .lines()
                .next()
                .unwrap()
                .to_string();
            seen.push(start);
            let proxy_addr: SocketAddr = PROXY.parse().unwrap();
            let (src, out) = if to == proxy_addr {
                let Some((dest, fwd)) = proxy.route(&bytes) else {
                    continue;
                };
                queue.push((proxy_addr, dest, fwd));
                continue;
            } else if to == a_addr {
                (a_addr, a.handle(now, &bytes, from))
            } else {
                (b_addr, b.handle(now, &bytes, from))
            };
            for (d, m) in out.send {
                queue.insert(0, (src, d, m));
            }
        }
    };
    pump(&mut queue, &mut a, &mut b);
    assert_eq!(a.calls()[call].state, CallState::Established);
    assert_eq!(b.calls()[0].state, CallState::Established);
    assert!(a.calls()[call]
        .remote_sdp
        .as_deref()
        .unwrap()
        .contains("m=audio"));
    assert!(b.calls()[0].remote_sdp.as_deref().unwrap().contains("PCMU"));
    let out = a.hang_up(now, call).unwrap();
    let mut queue: Vec<_> = out.send.into_iter().map(|(d, m)| (a_addr, d, m)).collect();
    pump(&mut queue, &mut a, &mut b);
    assert_eq!(a.calls()[call].state, CallState::Ended { by_us: true });
    assert_eq!(b.calls()[0].state, CallState::Ended { by_us: false });
    let seen = seen.join("\n");
    for line in [
        "INVITE sip:1002",
        "SIP/2.0 100 Trying",
        "SIP/2.0 180 Ringing",
        "SIP/2.0 200 OK",
        "ACK sip:1002@127.100.0.2:5060",
        "BYE sip:1002@127.100.0.2:5060",
    ] {
        assert!(seen.contains(line), "{line} not in\n{seen}");
    }
}

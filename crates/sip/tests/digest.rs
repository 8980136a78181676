//! Digest authentication against RFC 2617's own example (section 3.5) and
//! the challenge a real Kamailio sends, and the header parsers'
//! round-trip promise.

use phoneflip_sip::{AuthKind, Challenge, Credentials, Response, SipError};
use proptest::prelude::*;

/// RFC 2617 §3.5, the server's challenge.
const RFC_CHALLENGE: &str = r#"Digest
                 realm="testrealm@host.com",
                 qop="auth,auth-int",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

#[test]
fn rfc2617_section_3_5_with_qop_auth() {
    let c = Challenge::parse(&RFC_CHALLENGE.replace('\n', " ")).unwrap();
    assert_eq!(c.realm, "testrealm@host.com");
    assert_eq!(c.qop, vec!["auth", "auth-int"]);
    assert_eq!(
        c.opaque.as_deref(),
        Some("5ccc069c403ebaf9f0171e9517f40e41")
    );
    let a = c
        .answer(
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle Of Life",
            "0a4f113b",
            1,
        )
        .unwrap();
    // The response the RFC prints.
    assert_eq!(a.response, "6629fae49393a05397450978507c4ef1");
    assert_eq!(a.qop.as_deref(), Some("auth"));
    let written = a.to_string();
    assert!(written.contains("nc=00000001"), "{written}");
    assert!(written.contains("cnonce=\"0a4f113b\""), "{written}");
    assert!(
        written.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""),
        "{written}"
    );
    assert!(a.verify("GET", "Circle Of Life"));
    assert!(!a.verify("GET", "circle of life"));
    assert!(!a.verify("POST", "Circle Of Life"));

    // The RFC's Authorization header, as the client sends it, reads back
    // to the same credentials.
    let rfc = r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
    assert_eq!(Credentials::parse(rfc).unwrap(), a);
}

#[test]
fn rfc2069_form_without_qop() {
    let c = Challenge::parse(
        r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#,
    )
    .unwrap();
    let a = c
        .answer(
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle Of Life",
            "ignored",
            7,
        )
        .unwrap();
    // MD5(HA1:nonce:HA2) with the RFC's HA1 939e7578… and HA2 39aff3a2…,
    // computed independently with coreutils md5sum.
    assert_eq!(a.response, "670fd8c2df070c60b045671b8b24ff02");
    assert_eq!((a.cnonce, a.nc, a.qop), (None, None, None));
}

/// A 401 and a 407 as Kamailio's `auth` module writes them.
#[test]
fn challenges_of_401_and_407() {
    let raw = b"SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n\
        WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"Z7kx1We5MNrZ9c+KWzw2TSIUnAMAbQNv\", qop=\"auth\"\r\n\
        Content-Length: 0\r\n\r\n";
    let r = Response::parse(raw).unwrap();
    let (kind, c) = Challenge::from_response(&r).unwrap().unwrap();
    assert_eq!(kind, AuthKind::Www);
    assert_eq!(kind.credentials_header(), "Authorization");
    assert_eq!(c.nonce, "Z7kx1We5MNrZ9c+KWzw2TSIUnAMAbQNv");

    let raw407 = String::from_utf8_lossy(raw)
        .replace("401 Unauthorized", "407 Proxy Authentication Required")
        .replace("WWW-Authenticate", "Proxy-Authenticate");
    let r = Response::parse(raw407.as_bytes()).unwrap();
    let (kind, _) = Challenge::from_response(&r).unwrap().unwrap();
    assert_eq!(kind.credentials_header(), "Proxy-Authorization");

    assert!(Challenge::from_response(&Response::new(200, "OK")).is_none());
    let e = Challenge::from_response(&Response::new(401, "Unauthorized"))
        .unwrap()
        .unwrap_err();
    assert_eq!(e, SipError::Missing("WWW-Authenticate"));
}

#[test]
fn what_cannot_be_answered_is_named() {
    let e = Challenge::parse("Basic realm=\"x\"").unwrap_err();
    assert!(e.to_string().contains("not Digest"), "{e}");
    let e = Challenge::parse("Digest nonce=\"n\"").unwrap_err();
    assert!(e.to_string().contains("no realm"), "{e}");
    let e = Challenge::parse("Digest realm=\"x, nonce=\"n\"").unwrap_err();
    assert!(e.to_string().contains("malformed"), "{e}");
    let sha = Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256").unwrap();
    let e = sha
        .answer("REGISTER", "sip:r", "u", "p", "c", 1)
        .unwrap_err();
    assert!(e.to_string().contains("not MD5"), "{e}");
    let int = Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"").unwrap();
    let e = int
        .answer("REGISTER", "sip:r", "u", "p", "c", 1)
        .unwrap_err();
    assert!(e.to_string().contains("auth-int"), "{e}");
    let e = Credentials::parse("Digest username=\"u\", realm=\"r\"").unwrap_err();
    assert!(e.to_string().contains("no nonce"), "{e}");
}

fn text() -> impl Strategy<Value = String> {
    // Printable text with the characters quoting must survive: quotes,
    // backslashes, commas, '=' and spaces.
    "[a-zA-Z0-9 ,=\"\\\\@.:;/+_-]{0,24}"
}

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9.+_-]{1,12}"
}

proptest! {
    #[test]
    fn challenges_round_trip(
        realm in text(), nonce in text(), opaque in proptest::option::of(text()),
        domain in proptest::option::of(text()), algorithm in proptest::option::of(token()),
        qop in proptest::collection::vec(token(), 0..3), stale in any::<bool>(),
    ) {
        let c = Challenge { realm, nonce, opaque, algorithm, qop, stale, domain };
        prop_assert_eq!(Challenge::parse(&c.to_string()), Ok(c));
    }

    #[test]
    fn credentials_round_trip(
        username in text(), realm in text(), nonce in text(), uri in text(),
        cnonce in proptest::option::of(text()), opaque in proptest::option::of(text()),
        qop in proptest::option::of(token()), nc in proptest::option::of(any::<u32>()),
        algorithm in proptest::option::of(token()), password in text(),
    ) {
        let mut c = Credentials {
            username, realm, nonce, uri, response: String::new(), algorithm, cnonce, opaque, qop, nc,
        };
        c.response = c.expected("REGISTER", &password);
        let back = Credentials::parse(&c.to_string());
        prop_assert_eq!(back.as_ref(), Ok(&c));
        prop_assert!(back.unwrap().verify("REGISTER", &password));
    }

    #[test]
    fn any_text_never_panics(s in "\\PC{0,200}") {
        let _ = Challenge::parse(&s);
        let _ = Credentials::parse(&s);
    }
}

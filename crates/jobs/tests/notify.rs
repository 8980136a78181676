//! The check-sync NOTIFY over real UDP sockets on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use phoneflip_jobs::{send_check_sync, CheckSyncNotify, NotifyOutcome, Timers};
use tokio::net::UdpSocket;

fn fast() -> Timers {
    Timers {
        t1_ms: 40,
        t2_ms: 320,
        timeout_ms: 64 * 40,
    }
}

/// A phone that ignores the first `drop` requests, optionally sends
/// `provisional` first, then answers `status`. Records what it received.
async fn phone(
    drop: usize,
    provisional: bool,
    status: u16,
    reason: &'static str,
) -> (SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let got2 = got.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let count = {
                let mut g = got2.lock().unwrap();
                g.push(buf[..n].to_vec());
                g.len()
            };
            if count <= drop {
                continue;
            }
            let req = CheckSyncNotify::parse(&buf[..n]).unwrap();
            // Garbage and a stray response for another call first: the
            // sender must ignore both.
            sock.send_to(b"\x00\xffnot sip", from).await.unwrap();
            let mut other = req.clone();
            other.call_id = "someone-else@x".into();
            sock.send_to(&other.response(200, "OK", "t").to_bytes(), from)
                .await
                .unwrap();
            if provisional {
                sock.send_to(&req.response(100, "Trying", "t").to_bytes(), from)
                    .await
                    .unwrap();
            }
            sock.send_to(&req.response(status, reason, "t").to_bytes(), from)
                .await
                .unwrap();
        }
    });
    (addr, got)
}

#[tokio::test]
async fn a_phone_answering_200_ok_accepts_the_notify() {
    let (addr, got) = phone(0, true, 200, "OK").await;
    let out = send_check_sync("1001", addr, None, fast(), 7)
        .await
        .unwrap();
    assert_eq!(
        out,
        NotifyOutcome::Accepted {
            status: 200,
            reason: "OK".into()
        }
    );
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    let text = String::from_utf8(got[0].clone()).unwrap();
    assert!(
        text.starts_with(&format!(
            "NOTIFY sip:1001@127.0.0.1:{} SIP/2.0\r\n",
            addr.port()
        )),
        "{text}"
    );
    assert!(text.contains("\r\nEvent: check-sync\r\n"), "{text}");
    assert!(text.contains("\r\nContent-Length: 0\r\n\r\n"), "{text}");
    // The Via names the address the phone can answer.
    let req = CheckSyncNotify::parse(&got[0]).unwrap();
    assert_eq!(req.local.ip(), addr.ip());
    assert_ne!(req.local.port(), 0);
}

#[tokio::test]
async fn lost_requests_are_retransmitted_with_doubling_intervals() {
    let (addr, got) = phone(2, false, 200, "OK").await;
    let t = Instant::now();
    let out = send_check_sync("1001", addr, None, fast(), 8)
        .await
        .unwrap();
    assert!(matches!(out, NotifyOutcome::Accepted { status: 200, .. }));
    assert_eq!(got.lock().unwrap().len(), 3);
    // Sends at 0, T1, 3·T1: the third after at least 120 ms.
    assert!(
        t.elapsed() >= Duration::from_millis(120),
        "{:?}",
        t.elapsed()
    );
    // Every retransmission is the same request.
    let g = got.lock().unwrap();
    assert!(g.iter().all(|r| r == &g[0]));
}

#[tokio::test]
async fn a_refusal_is_reported() {
    let (addr, _) = phone(0, false, 481, "Call Leg/Transaction Does Not Exist").await;
    let out = send_check_sync("1001", addr, None, fast(), 9)
        .await
        .unwrap();
    assert_eq!(
        out,
        NotifyOutcome::Rejected {
            status: 481,
            reason: "Call Leg/Transaction Does Not Exist".into()
        }
    );
}

#[tokio::test]
async fn a_silent_phone_times_out_after_bounded_retransmissions() {
    // Bound but never answer.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let t = Instant::now();
    let out = send_check_sync("1001", addr, None, fast(), 10)
        .await
        .unwrap();
    let took = t.elapsed();
    // T1 40 ms doubling to T2 320 ms within Timer F = 2560 ms: sends at
    // 0, 40, 120, 280, 600, 920, ..., 2520 = 11 sends.
    assert_eq!(out, NotifyOutcome::TimedOut { sends: 11 });
    assert!(took >= Duration::from_millis(2560), "{took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_millis(50), silent.recv_from(&mut buf)).await
    {
        n += 1;
    }
    assert_eq!(n, 11);
}

#[tokio::test]
async fn a_bad_line_name_is_refused_before_sending() {
    let e = send_check_sync("bad name", "127.0.0.1:9".parse().unwrap(), None, fast(), 1)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("lineN_name"), "{e}");
}

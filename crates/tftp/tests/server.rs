//! The tokio server against our own client: serving, refusals, virtual
//! files, MAC tracking, events, caps, uploads and graceful shutdown.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use phoneflip_tftp::client::{fetch, FetchError, FetchOptions};
use phoneflip_tftp::core::packet::{Mode, Packet, Request};
use phoneflip_tftp::log::{Direction, EventOutcome};
use phoneflip_tftp::{ErrorCode, NoVirtualFiles, Outcome, Resolution, ResolveRequest};
use tokio::net::UdpSocket;

fn fast() -> FetchOptions {
    FetchOptions {
        timeout: Duration::from_millis(300),
        ..FetchOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_and_optioned_fetches_are_byte_exact_and_logged() {
    let image = pattern(700_001, 3);
    let img = image.clone();
    let mut srv = start(move |r| {
        write(r, "OS79XX.TXT", b"P003-8-12-00");
        write(r, "P0S3-8-12-00.sb2", &img);
    })
    .await;
    let got = fetch(srv.addr, any_port(), "OS79XX.TXT", &fast())
        .await
        .unwrap();
    assert_eq!(got, b"P003-8-12-00");
    let ev = srv.next_event().await;
    assert_eq!(ev.file, "OS79XX.TXT");
    assert_eq!(ev.bytes, 12);
    assert_eq!(ev.outcome, EventOutcome::Transfer(Outcome::Success));
    assert_eq!(ev.direction, Direction::Send);

    for opts in [
        fast(),
        FetchOptions {
            blksize: Some(1428),
            tsize: true,
            ..fast()
        },
        FetchOptions {
            blksize: Some(8192),
            windowsize: Some(16),
            ..fast()
        },
    ] {
        let got = fetch(srv.addr, any_port(), "P0S3-8-12-00.sb2", &opts)
            .await
            .unwrap();
        assert!(
            got == image,
            "{opts:?}: {} bytes, expected {}",
            got.len(),
            image.len()
        );
        let ev = srv.next_event().await;
        assert_eq!(ev.bytes, image.len() as u64);
        assert_eq!(ev.size, Some(image.len() as u64));
    }
    let log = srv.log.text();
    assert!(
        log.contains(": Sending 'OS79XX.TXT' file to 127.0.0.1 in binary mode\n"),
        "{log}"
    );
    assert!(log.contains(": Successful.\n"), "{log}");
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_file_is_error_1_and_nothing_else() {
    let mut srv = start(|r| write(r, "sipdefault.cnf", b"x")).await;
    // Raw socket: the only answer must be ERROR 1, from a new TID.
    let sock = UdpSocket::bind(any_port()).await.unwrap();
    let rrq = Packet::Rrq(Request {
        filename: "SIPDefault.cnf".into(),
        mode: Mode::Octet,
        options: vec![],
    });
    sock.send_to(&rrq.to_vec(), srv.addr).await.unwrap();
    let mut buf = [0u8; 600];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(from, srv.addr, "answers come from a new transfer ID");
    assert_eq!(
        Packet::parse(&buf[..n]).unwrap(),
        Packet::Error {
            code: 1,
            message: "File not found".into()
        }
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), sock.recv_from(&mut buf))
            .await
            .is_err(),
        "nothing after the ERROR"
    );
    let ev = srv.next_event().await;
    assert_eq!(ev.outcome, EventOutcome::NotFound);
    let log = srv.log.text();
    assert!(
        log.contains("'SIPDefault.cnf' not found, but 'sipdefault.cnf' exists"),
        "{log}"
    );
    assert!(log.contains("Failed ( File not found )."), "{log}");

    let err = fetch(srv.addr, any_port(), "nothere.bin", &fast())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(matches!(err, FetchError::Server { code: 1, .. }));
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_outside_the_root_are_refused_and_dot_slash_is_stripped() {
    let mut srv = start(|r| {
        write(r, "SIP002094D245CB.cnf", b"line1_name: 100\n");
        write(r, "sub/dialplan.xml", b"<DIALTEMPLATE/>");
    })
    .await;
    // The secret sits next to the root.
    std::fs::write(srv.root.parent().unwrap().join("secret"), b"no").unwrap();
    std::os::unix::fs::symlink(
        srv.root.parent().unwrap().join("secret"),
        srv.root.join("link"),
    )
    .unwrap();
    for bad in [
        "../secret",
        "sub/../../secret",
        "/etc/passwd",
        "..\\secret",
        "link",
    ] {
        let err = fetch(srv.addr, any_port(), bad, &fast()).await.unwrap_err();
        assert_eq!(
            err.server_code(),
            Some(ErrorCode::AccessViolation.code()),
            "{bad}: {err}"
        );
        let ev = srv.next_event().await;
        assert!(
            matches!(ev.outcome, EventOutcome::Refused(_)),
            "{bad}: {:?}",
            ev.outcome
        );
    }
    let got = fetch(srv.addr, any_port(), "./SIP002094D245CB.cnf", &fast())
        .await
        .unwrap();
    assert_eq!(got, b"line1_name: 100\n");
    let ev = srv.next_event().await;
    assert_eq!(ev.file, "SIP002094D245CB.cnf");
    assert_eq!(
        fetch(srv.addr, any_port(), "sub/dialplan.xml", &fast())
            .await
            .unwrap(),
        b"<DIALTEMPLATE/>"
    );
    let log = srv.log.text();
    assert!(log.contains("Sending '../secret' file"), "{log}");
    assert!(log.contains("Failed ( Refused: "), "{log}");
    srv.shutdown().await;
}

/// Which phone asks (and so the MAC an address last asked for) is the
/// file source's business: the server hands it the client address and the
/// name only. The memory itself is tested in `phoneflip-provision`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virtual_files_see_the_client_address() {
    let seen_from = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = seen_from.clone();
    let source = Arc::new(move |req: &ResolveRequest<'_>| {
        seen.lock()
            .unwrap()
            .push((req.client.ip(), req.filename.to_string()));
        match req.filename {
            "OS79XX.TXT" if seen.lock().unwrap().len() > 1 => {
                Resolution::Virtual(Bytes::from(format!("for {}", req.client.ip())))
            }
            "SIP002094D245CB.cnf" => Resolution::Virtual(Bytes::from_static(b"rendered")),
            "SEP002094D245CB.cnf.xml" => Resolution::Deny {
                code: ErrorCode::FileNotFound,
                message: "File not found".into(),
            },
            _ => Resolution::NotHere,
        }
    });
    let mut srv = start_with(
        |_, _| {},
        source,
        |r| write(r, "OS79XX.TXT", b"P003-8-12-00"),
    )
    .await;
    assert_eq!(
        fetch(srv.addr, any_port(), "OS79XX.TXT", &fast())
            .await
            .unwrap(),
        b"P003-8-12-00"
    );
    let err = fetch(srv.addr, any_port(), "SEP002094D245CB.cnf.xml", &fast())
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        fetch(srv.addr, any_port(), "SIP002094D245CB.cnf", &fast())
            .await
            .unwrap(),
        b"rendered"
    );
    assert_eq!(
        fetch(srv.addr, any_port(), "OS79XX.TXT", &fast())
            .await
            .unwrap(),
        b"for 127.0.0.1"
    );
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(srv.next_event().await);
    }
    assert!(!seen[0].virtual_file);
    assert_eq!(seen[1].outcome, EventOutcome::NotFound);
    assert!(seen[2].virtual_file);
    assert!(seen[3].virtual_file);
    assert!(seen_from
        .lock()
        .unwrap()
        .iter()
        .all(|(ip, _)| ip.is_loopback()));
    srv.shutdown().await;
}

/// A file source may answer a name with another file of the root (an 8.3
/// alias): its bytes are sent, the event keeps the name asked for, and the
/// other file still goes through the root's checks (no way out of it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_is_served_from_the_file_it_names() {
    let image = pattern(70_000, 3);
    let img = image.clone();
    let source = Arc::new(|req: &ResolveRequest<'_>| match req.filename {
        "C0401E29.bin" => Resolution::RootFile("P00304010200.bin".into()),
        "GONE0000.bin" => Resolution::RootFile("nothere.bin".into()),
        "ESCAPE00.bin" => Resolution::RootFile("../secret".into()),
        _ => Resolution::NotHere,
    });
    let mut srv = start_with(
        |_, _| {},
        source,
        move |r| {
            write(r, "P00304010200.bin", &img);
            write(r.parent().unwrap(), "secret", b"x");
        },
    )
    .await;
    assert_eq!(
        fetch(srv.addr, any_port(), "C0401E29.bin", &fast())
            .await
            .unwrap(),
        image
    );
    let ev = srv.next_event().await;
    assert_eq!(ev.file, "C0401E29.bin");
    assert_eq!(ev.bytes, 70_000);
    let err = fetch(srv.addr, any_port(), "GONE0000.bin", &fast())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(srv.next_event().await.outcome, EventOutcome::NotFound);
    let err = fetch(srv.addr, any_port(), "ESCAPE00.bin", &fast())
        .await
        .unwrap_err();
    assert!(!err.is_not_found(), "{err}");
    assert!(matches!(
        srv.next_event().await.outcome,
        EventOutcome::Refused(_)
    ));
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netascii_and_rollover() {
    let text = b"image_version: P0S3-8-12-00\nproxy1_address: 10.0.0.1\r\n".to_vec();
    let big = pattern(65_540 * 8 + 5, 9);
    let (t2, b2) = (text.clone(), big.clone());
    let srv = start(move |r| {
        write(r, "SIPDefault.cnf", &t2);
        write(r, "big.bin", &b2);
    })
    .await;
    let got = fetch(
        srv.addr,
        any_port(),
        "SIPDefault.cnf",
        &FetchOptions {
            mode: Mode::Netascii,
            ..fast()
        },
    )
    .await
    .unwrap();
    assert_eq!(got, text);
    // 65,541 blocks of 8 bytes: block numbers wrap past 65535.
    let got = fetch(
        srv.addr,
        any_port(),
        "big.bin",
        &FetchOptions {
            blksize: Some(8),
            windowsize: Some(16),
            ..fast()
        },
    )
    .await
    .unwrap();
    assert!(got == big);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_only_when_enabled() {
    let srv = start(|_| {}).await;
    let sock = UdpSocket::bind(any_port()).await.unwrap();
    let wrq = Packet::Wrq(Request {
        filename: "x.txt".into(),
        mode: Mode::Octet,
        options: vec![],
    });
    sock.send_to(&wrq.to_vec(), srv.addr).await.unwrap();
    let mut buf = [0u8; 600];
    let (n, _) = sock.recv_from(&mut buf).await.unwrap();
    assert!(matches!(
        Packet::parse(&buf[..n]).unwrap(),
        Packet::Error { code: 2, .. }
    ));
    srv.shutdown().await;

    let mut srv = start_with(
        |cfg, dir| {
            let up = dir.join("up");
            std::fs::create_dir(&up).unwrap();
            cfg.upload_dir = Some(up);
        },
        Arc::new(NoVirtualFiles),
        |_| {},
    )
    .await;
    let data = pattern(1500, 1);
    // A hand-driven WRQ with windowsize 1.
    sock.send_to(&wrq.to_vec(), srv.addr).await.unwrap();
    let (n, tid) = sock.recv_from(&mut buf).await.unwrap();
    assert_eq!(Packet::parse(&buf[..n]).unwrap(), Packet::Ack { block: 0 });
    for (i, chunk) in data.chunks(512).enumerate() {
        let p = Packet::Data {
            block: i as u16 + 1,
            data: chunk.to_vec(),
        };
        sock.send_to(&p.to_vec(), tid).await.unwrap();
        let (n, _) = sock.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            Packet::parse(&buf[..n]).unwrap(),
            Packet::Ack {
                block: i as u16 + 1
            }
        );
    }
    // 1500 = 2*512 + 476: the third block was short, so it is finished.
    let ev = srv.next_event().await;
    assert_eq!(ev.direction, Direction::Receive);
    assert!(ev.outcome.is_success(), "{:?}", ev.outcome);
    let up = srv.root.parent().unwrap().join("up");
    assert_eq!(std::fs::read(up.join("x.txt")).unwrap(), data);
    // No overwrite, no paths.
    for name in ["x.txt", "../x.txt", "a/b.txt"] {
        let wrq = Packet::Wrq(Request {
            filename: name.into(),
            mode: Mode::Octet,
            options: vec![],
        });
        sock.send_to(&wrq.to_vec(), srv.addr).await.unwrap();
        let (n, _) = sock.recv_from(&mut buf).await.unwrap();
        assert!(
            matches!(Packet::parse(&buf[..n]).unwrap(), Packet::Error { .. }),
            "{name}"
        );
    }
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_concurrent_transfers_complete() {
    let image = pattern(64 * 1024 + 7, 5);
    let img = image.clone();
    let srv = start(move |r| {
        write(r, "P0S3-8-12-00.loads", &img);
        for i in 0..50 {
            write(
                r,
                &format!("SIP0000000000{i:02}.cnf"),
                format!("phone {i}\n").as_bytes(),
            );
        }
    })
    .await;
    let mut tasks = Vec::new();
    for i in 0..300 {
        let addr = srv.addr;
        tasks.push(tokio::spawn(async move {
            let opts = FetchOptions {
                timeout: Duration::from_millis(500),
                max_retries: 10,
                ..FetchOptions::default()
            };
            if i % 2 == 0 {
                fetch(addr, any_port(), "P0S3-8-12-00.loads", &opts)
                    .await
                    .map(|d| (i, d))
            } else {
                fetch(
                    addr,
                    any_port(),
                    &format!("SIP0000000000{:02}.cnf", i % 50),
                    &opts,
                )
                .await
                .map(|d| (i, d))
            }
        }));
    }
    for t in tasks {
        let (i, d) = t.await.unwrap().unwrap();
        if i % 2 == 0 {
            assert!(d == image);
        } else {
            assert_eq!(d, format!("phone {}\n", i % 50).as_bytes());
        }
    }
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_cap_defers_extra_image_downloads_silently() {
    let mut srv = start_with(
        |cfg, _| {
            cfg.max_image_transfers = 1;
            // The held transfer gives up quickly, so shutdown is quick.
            cfg.limits.default_timeout = Duration::from_millis(100);
        },
        Arc::new(NoVirtualFiles),
        |r| {
            write(r, "a.sb2", &pattern(5000, 1));
            write(r, "OS79XX.TXT", b"P003-8-12-00");
        },
    )
    .await;
    // Hold one image transfer open: request it and never ACK.
    let holder = UdpSocket::bind(any_port()).await.unwrap();
    let rrq = |f: &str| {
        Packet::Rrq(Request {
            filename: f.into(),
            mode: Mode::Octet,
            options: vec![],
        })
        .to_vec()
    };
    holder.send_to(&rrq("a.sb2"), srv.addr).await.unwrap();
    let mut buf = [0u8; 600];
    holder.recv_from(&mut buf).await.unwrap();
    // A second image request gets no answer at all (the phone retries)...
    let other = UdpSocket::bind(any_port()).await.unwrap();
    other.send_to(&rrq("a.sb2"), srv.addr).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(500), other.recv_from(&mut buf))
            .await
            .is_err()
    );
    let ev = srv.next_event().await;
    assert!(
        matches!(&ev.outcome, EventOutcome::Busy(why) if why.contains("image cap")),
        "{:?}",
        ev.outcome
    );
    // ...while config files still flow.
    assert_eq!(
        fetch(srv.addr, any_port(), "OS79XX.TXT", &fast())
            .await
            .unwrap(),
        b"P003-8-12-00"
    );
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_client_rate_limit_paces_transfers() {
    let data = pattern(60_000, 2);
    let d2 = data.clone();
    let srv = start_with(
        |cfg, _| cfg.client_rate = Some(100_000),
        Arc::new(NoVirtualFiles),
        move |r| write(r, "f.bin", &d2),
    )
    .await;
    let t = std::time::Instant::now();
    // The first 100 kB are a burst; ask twice so the second must wait.
    for _ in 0..3 {
        let got = fetch(srv.addr, any_port(), "f.bin", &fast()).await.unwrap();
        assert!(got == data);
    }
    let took = t.elapsed();
    // 180 kB at 100 kB/s with a 100 kB burst: at least ~0.8 s.
    assert!(took >= Duration::from_millis(700), "took {took:?}");
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_rrq_from_same_port_does_not_start_a_second_transfer() {
    let srv = start_with(
        |cfg, _| cfg.limits.default_timeout = Duration::from_millis(50),
        Arc::new(NoVirtualFiles),
        |r| write(r, "f.bin", &pattern(2000, 4)),
    )
    .await;
    let sock = UdpSocket::bind(any_port()).await.unwrap();
    let rrq = Packet::Rrq(Request {
        filename: "f.bin".into(),
        mode: Mode::Octet,
        options: vec![],
    })
    .to_vec();
    sock.send_to(&rrq, srv.addr).await.unwrap();
    sock.send_to(&rrq, srv.addr).await.unwrap();
    let mut buf = [0u8; 600];
    let mut tids = std::collections::HashSet::new();
    while let Ok(Ok((n, from))) =
        tokio::time::timeout(Duration::from_millis(300), sock.recv_from(&mut buf)).await
    {
        if let Ok(Packet::Data { block: 1, .. }) = Packet::parse(&buf[..n]) {
            tids.insert(from);
        }
    }
    assert_eq!(tids.len(), 1, "one transfer, one TID: {tids:?}");
    srv.shutdown().await;
}

/// A client that fetches the same file again from the port it used
/// before (one host fetching thousands of files reuses ports within
/// seconds) is served at once: the request reached the server after the
/// first transfer ended, so it is no late copy of the first request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_request_again_from_the_same_port_is_served() {
    let data = pattern(2000, 9);
    let d2 = data.clone();
    let mut srv = start(move |r| write(r, "f.bin", &d2)).await;
    let port = UdpSocket::bind(any_port())
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let opts = FetchOptions {
        timeout: Duration::from_millis(300),
        max_retries: 2,
        ..FetchOptions::default()
    };
    assert_eq!(fetch(srv.addr, port, "f.bin", &opts).await.unwrap(), data);
    let ev = srv.next_event().await;
    assert_eq!(ev.outcome, EventOutcome::Transfer(Outcome::Success));
    // The transfer is over (its slot freed right after the event).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t = std::time::Instant::now();
    let again = fetch(srv.addr, port, "f.bin", &opts).await;
    assert_eq!(again.unwrap(), data);
    assert!(
        t.elapsed() < Duration::from_millis(250),
        "served without a retransmission: {:?}",
        t.elapsed()
    );
    srv.shutdown().await;
}

async fn next_data(sock: &UdpSocket) -> (u16, std::net::SocketAddr, std::time::Instant) {
    let mut buf = [0u8; 600];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
        .await
        .expect("DATA within 5 s")
        .unwrap();
    match Packet::parse(&buf[..n]) {
        Ok(Packet::Data { block, .. }) => (block, from, std::time::Instant::now()),
        other => panic!("expected DATA, got {other:?}"),
    }
}

/// After backed-off retransmissions, progress brings the timer back to
/// the base timeout at once: the next lost block is resent after 100 ms,
/// not at the backed-off instant armed before the ACK (which made each
/// later loss on a lossy link cost 2 s or more instead of 1 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_after_backoff_resets_the_retransmission_timer() {
    let srv = start_with(
        |cfg, _| cfg.limits.default_timeout = Duration::from_millis(100),
        Arc::new(NoVirtualFiles),
        |r| write(r, "f.bin", &pattern(1200, 10)),
    )
    .await;
    let sock = UdpSocket::bind(any_port()).await.unwrap();
    let rrq = Packet::Rrq(Request {
        filename: "f.bin".into(),
        mode: Mode::Octet,
        options: vec![],
    })
    .to_vec();
    sock.send_to(&rrq, srv.addr).await.unwrap();
    // DATA 1 and three retransmissions, 100, 200 and 400 ms apart: the
    // timer is now backed off to 800 ms.
    let (b, tid, _) = next_data(&sock).await;
    assert_eq!(b, 1);
    for _ in 0..3 {
        assert_eq!(next_data(&sock).await.0, 1);
    }
    let ack = |block: u16| Packet::Ack { block }.to_vec();
    sock.send_to(&ack(1), tid).await.unwrap();
    let (b, _, sent) = next_data(&sock).await;
    assert_eq!(b, 2);
    // DATA 2 "lost": its retransmission comes after the base timeout.
    let (b, _, again) = next_data(&sock).await;
    assert_eq!(b, 2);
    let gap = again.duration_since(sent);
    assert!(
        gap < Duration::from_millis(400),
        "DATA 2 resent after {gap:?}, not the 100 ms base timeout"
    );
    let mut stop = Vec::new();
    phoneflip_tftp::core::packet::write_error(&mut stop, 0, "enough");
    sock.send_to(&stop, tid).await.unwrap();
    srv.shutdown().await;
}

/// A client that asks again from the same port after it got the last
/// block is served at once, even while our side still waits for its final
/// ACK: the transfer in flight is over (a timeout here, since that ACK
/// never came). Before, the request was taken for a duplicate and the
/// client waited a whole retransmission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_request_after_the_last_block_ends_the_transfer_in_flight() {
    let data = pattern(1000, 11);
    let d2 = data.clone();
    let mut srv = start(move |r| write(r, "f.bin", &d2)).await;
    let sock = UdpSocket::bind(any_port()).await.unwrap();
    let rrq = Packet::Rrq(Request {
        filename: "f.bin".into(),
        mode: Mode::Octet,
        options: vec![],
    })
    .to_vec();
    let ack = |block: u16| Packet::Ack { block }.to_vec();
    sock.send_to(&rrq, srv.addr).await.unwrap();
    let (b, tid1, _) = next_data(&sock).await;
    assert_eq!(b, 1);
    sock.send_to(&ack(1), tid1).await.unwrap();
    assert_eq!(next_data(&sock).await.0, 2, "the last block");
    // No final ACK: the same request again.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let asked = std::time::Instant::now();
    sock.send_to(&rrq, srv.addr).await.unwrap();
    let (b, tid2, at) = next_data(&sock).await;
    assert_eq!(b, 1, "a new transfer, not the old one's retransmission");
    assert_ne!(tid2, tid1);
    assert!(at.duration_since(asked) < Duration::from_millis(250));
    sock.send_to(&ack(1), tid2).await.unwrap();
    assert_eq!(next_data(&sock).await.0, 2);
    sock.send_to(&ack(2), tid2).await.unwrap();
    let old = srv.next_event().await;
    assert_eq!(old.outcome, EventOutcome::Transfer(Outcome::Timeout));
    let new = srv.next_event().await;
    assert_eq!(new.outcome, EventOutcome::Transfer(Outcome::Success));
    assert_eq!(new.bytes, 1000);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_transfers_in_flight() {
    let data = pattern(300_000, 6);
    let d2 = data.clone();
    // Rate-limited so the transfer is surely in flight when shutdown starts:
    // 200 kB burst, then 100 kB at 200 kB/s.
    let srv = start_with(
        |cfg, _| cfg.client_rate = Some(200_000),
        Arc::new(NoVirtualFiles),
        move |r| write(r, "P0S3-8-12-00.sb2", &d2),
    )
    .await;
    let addr = srv.addr;
    let fetcher = tokio::spawn(async move {
        let opts = FetchOptions {
            timeout: Duration::from_millis(800),
            ..FetchOptions::default()
        };
        fetch(addr, any_port(), "P0S3-8-12-00.sb2", &opts).await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(!fetcher.is_finished(), "the transfer must still be running");
    srv.shutdown().await;
    assert!(
        fetcher.is_finished(),
        "shutdown returned only after the transfer ended"
    );
    let got = fetcher.await.unwrap().unwrap();
    assert!(got == data);
    // After shutdown the port no longer answers.
    let opts = FetchOptions {
        timeout: Duration::from_millis(100),
        max_retries: 1,
        ..FetchOptions::default()
    };
    let r = fetch(addr, any_port(), "P0S3-8-12-00.sb2", &opts).await;
    assert!(matches!(r, Err(FetchError::Timeout { .. })), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tid_gets_error_5_and_the_transfer_continues() {
    let data = pattern(3000, 8);
    let d2 = data.clone();
    let srv = start(move |r| write(r, "f.bin", &d2)).await;
    let sock = UdpSocket::bind(any_port()).await.unwrap();
    let intruder = UdpSocket::bind(any_port()).await.unwrap();
    let rrq = Packet::Rrq(Request {
        filename: "f.bin".into(),
        mode: Mode::Octet,
        options: vec![],
    })
    .to_vec();
    sock.send_to(&rrq, srv.addr).await.unwrap();
    let mut buf = [0u8; 600];
    let mut got = Vec::new();
    let mut block = 1u16;
    loop {
        let (n, tid) = sock.recv_from(&mut buf).await.unwrap();
        let Packet::Data { block: b, data: d } = Packet::parse(&buf[..n]).unwrap() else {
            panic!()
        };
        assert_eq!(b, block);
        got.extend_from_slice(&d);
        if block == 2 {
            // Another port sends to this transfer's TID: ERROR 5 to it.
            intruder
                .send_to(&Packet::Ack { block: 2 }.to_vec(), tid)
                .await
                .unwrap();
            let (n, from) = intruder.recv_from(&mut buf).await.unwrap();
            assert_eq!(from, tid);
            assert!(matches!(
                Packet::parse(&buf[..n]).unwrap(),
                Packet::Error { code: 5, .. }
            ));
        }
        sock.send_to(&Packet::Ack { block }.to_vec(), tid)
            .await
            .unwrap();
        if d.len() < 512 {
            break;
        }
        block += 1;
    }
    assert!(got == data);
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_storm_of_a_thousand_phones_at_once() {
    // 1,000 client sockets plus 1,000 transfer sockets.
    let limit = phoneflip_tftp::server::raise_fd_limit(4096).unwrap_or(0);
    if limit < 2600 {
        eprintln!("SKIPPED: open-file limit {limit} is too low for 1,000 concurrent transfers");
        return;
    }
    let mut srv = start(|r| {
        for i in 0..1000 {
            write(
                r,
                &format!("SIP{:012X}.cnf", i),
                format!("line1_name: {i}\n").as_bytes(),
            );
        }
    })
    .await;
    let mut tasks = Vec::new();
    for i in 0..1000u64 {
        let addr = srv.addr;
        tasks.push(tokio::spawn(async move {
            let opts = FetchOptions {
                timeout: Duration::from_millis(500),
                max_retries: 10,
                ..FetchOptions::default()
            };
            let d = fetch(addr, any_port(), &format!("SIP{i:012X}.cnf"), &opts)
                .await
                .unwrap();
            assert_eq!(d, format!("line1_name: {i}\n").as_bytes());
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut ok = 0;
    while ok < 1000 {
        let ev = srv.next_event().await;
        assert!(ev.outcome.is_success(), "{ev:?}");
        ok += 1;
    }
    srv.shutdown().await;
}

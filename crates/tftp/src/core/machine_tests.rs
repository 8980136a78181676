//! State-machine tests with injected time: no sockets, no sleeping.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::options::{negotiate, Limits};
use super::packet::{self, Mode, Packet, Request};
use super::read::ReadTransfer;
use super::receive::{ReceiveLimits, Receiver};
use super::Outcome;

fn client() -> SocketAddr {
    "10.1.1.1:50000".parse().unwrap()
}
fn server() -> SocketAddr {
    "10.0.0.1:69".parse().unwrap()
}
fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}
fn file(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}
fn ack(b: u16) -> Vec<u8> {
    Packet::Ack { block: b }.to_vec()
}

/// Drains the machine's sends as parsed packets.
fn sends(m: &mut ReadTransfer<Vec<u8>>) -> Vec<(SocketAddr, Packet)> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while let Some(to) = m.poll_transmit(&mut buf) {
        out.push((to, Packet::parse(&buf).unwrap()));
    }
    out
}

fn start(len: usize, options: &[(&str, &str)], now: Instant) -> ReadTransfer<Vec<u8>> {
    let data = file(len);
    let neg = negotiate(&opts(options), Some(len as u64), &Limits::default());
    ReadTransfer::new(client(), data, &neg, 3, now)
}

#[test]
fn plain_request_gets_data_1_directly_and_completes() {
    let t0 = Instant::now();
    let mut m = start(1000, &[], t0);
    let s = sends(&mut m);
    assert_eq!(s.len(), 1);
    assert!(matches!(&s[0].1, Packet::Data { block: 1, data } if data.len() == 512));
    m.handle_packet(client(), &ack(1), t0);
    let s = sends(&mut m);
    assert!(matches!(&s[0].1, Packet::Data { block: 2, data } if data.len() == 488));
    assert!(m.outcome().is_none());
    m.handle_packet(client(), &ack(2), t0);
    assert_eq!(m.outcome(), Some(&Outcome::Success));
    assert!(sends(&mut m).is_empty());
    assert_eq!(m.bytes_acked(), 1000);
    assert_eq!(m.deadline(), None);
}

#[test]
fn exact_multiple_of_blksize_ends_with_empty_block() {
    let t0 = Instant::now();
    let mut m = start(1024, &[], t0);
    sends(&mut m);
    m.handle_packet(client(), &ack(1), t0);
    sends(&mut m);
    m.handle_packet(client(), &ack(2), t0);
    let s = sends(&mut m);
    assert!(matches!(&s[0].1, Packet::Data { block: 3, data } if data.is_empty()));
    m.handle_packet(client(), &ack(3), t0);
    assert_eq!(m.outcome(), Some(&Outcome::Success));
}

#[test]
fn empty_file_is_one_empty_block() {
    let t0 = Instant::now();
    let mut m = start(0, &[], t0);
    let s = sends(&mut m);
    assert!(matches!(&s[0].1, Packet::Data { block: 1, data } if data.is_empty()));
    m.handle_packet(client(), &ack(1), t0);
    assert!(m.outcome().unwrap().is_success());
}

#[test]
fn options_get_oack_then_data_after_ack_0() {
    let t0 = Instant::now();
    let mut m = start(
        3000,
        &[("blksize", "1428"), ("tsize", "0"), ("foo", "bar")],
        t0,
    );
    let s = sends(&mut m);
    assert_eq!(
        s[0].1,
        Packet::Oack {
            options: opts(&[("blksize", "1428"), ("tsize", "3000")])
        }
    );
    assert_eq!(s.len(), 1);
    // ACK of a data block before ACK 0 is ignored.
    m.handle_packet(client(), &ack(1), t0);
    assert!(sends(&mut m).is_empty());
    m.handle_packet(client(), &ack(0), t0);
    let s = sends(&mut m);
    assert!(matches!(&s[0].1, Packet::Data { block: 1, data } if data.len() == 1428));
}

#[test]
fn client_error_after_tsize_probe_ends_at_once() {
    let t0 = Instant::now();
    let mut m = start(3000, &[("tsize", "0")], t0);
    sends(&mut m);
    let err = Packet::Error {
        code: 8,
        message: "tsize probe".into(),
    }
    .to_vec();
    m.handle_packet(client(), &err, t0);
    assert_eq!(
        m.outcome(),
        Some(&Outcome::PeerError {
            code: 8,
            message: "tsize probe".into()
        })
    );
    assert!(sends(&mut m).is_empty());
    assert_eq!(m.deadline(), None);
    m.handle_timeout(t0 + Duration::from_secs(100));
    assert!(sends(&mut m).is_empty());
}

#[test]
fn duplicate_acks_never_cause_duplicate_sends() {
    let t0 = Instant::now();
    let mut m = start(5000, &[], t0);
    sends(&mut m);
    m.handle_packet(client(), &ack(1), t0);
    assert_eq!(sends(&mut m).len(), 1);
    for _ in 0..5 {
        m.handle_packet(client(), &ack(1), t0);
        assert!(
            sends(&mut m).is_empty(),
            "duplicate ACK 1 must not resend DATA 2"
        );
    }
    // Stale ACK 0 and ACKs of unsent blocks are ignored too.
    m.handle_packet(client(), &ack(0), t0);
    m.handle_packet(client(), &ack(9), t0);
    assert!(sends(&mut m).is_empty());
    m.handle_packet(client(), &ack(2), t0);
    let s = sends(&mut m);
    assert_eq!(s.len(), 1);
    assert!(matches!(s[0].1, Packet::Data { block: 3, .. }));
}

#[test]
fn timeout_retransmits_then_gives_up_after_bounded_retries() {
    let t0 = Instant::now();
    let mut m = start(5000, &[("timeout", "2")], t0);
    sends(&mut m); // OACK
    let dl = m.deadline().unwrap();
    assert_eq!(dl, t0 + Duration::from_secs(2));
    // Early wake-ups do nothing.
    m.handle_timeout(t0 + Duration::from_secs(1));
    assert!(sends(&mut m).is_empty());
    let mut now = dl;
    for _ in 0..3 {
        m.handle_timeout(now);
        let s = sends(&mut m);
        assert!(
            matches!(s[0].1, Packet::Oack { .. }),
            "OACK is retransmitted"
        );
        now = m.deadline().unwrap();
    }
    m.handle_timeout(now);
    assert_eq!(m.outcome(), Some(&Outcome::Timeout));
    assert!(sends(&mut m).is_empty());
    assert_eq!(m.retransmissions(), 3);
}

#[test]
fn retry_budget_resets_on_progress() {
    let t0 = Instant::now();
    let mut m = start(512 * 10, &[], t0);
    let mut now = t0;
    for block in 1..=11u16 {
        // Two timeouts per block, below the budget of 3.
        for _ in 0..2 {
            now = m.deadline().unwrap();
            m.handle_timeout(now);
        }
        let s = sends(&mut m);
        assert!(s
            .iter()
            .all(|(_, p)| matches!(p, Packet::Data { block: b, .. } if *b == block)));
        m.handle_packet(client(), &ack(block), now);
    }
    assert!(m.outcome().unwrap().is_success());
}

#[test]
fn wrong_tid_gets_error_5_and_transfer_continues() {
    let t0 = Instant::now();
    let mut m = start(1000, &[], t0);
    sends(&mut m);
    let stranger: SocketAddr = "10.1.1.1:50001".parse().unwrap();
    m.handle_packet(stranger, &ack(1), t0);
    let s = sends(&mut m);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].0, stranger);
    assert!(matches!(&s[0].1, Packet::Error { code: 5, .. }));
    assert!(m.outcome().is_none());
    m.handle_packet(client(), &ack(1), t0);
    let s = sends(&mut m);
    assert_eq!(s[0].0, client());
    assert!(matches!(s[0].1, Packet::Data { block: 2, .. }));
    // A flood of strangers queues a bounded number of errors.
    for _ in 0..100 {
        m.handle_packet(stranger, &ack(1), t0);
    }
    assert!(sends(&mut m).len() <= 8);
}

#[test]
fn block_numbers_roll_over_to_zero() {
    let t0 = Instant::now();
    let blocks = 65536 + 10;
    let len = (blocks - 1) * 8 + 3;
    let mut m = start(len, &[("blksize", "8")], t0);
    sends(&mut m);
    m.handle_packet(client(), &ack(0), t0);
    let data = file(len);
    let mut got = Vec::new();
    let mut buf = Vec::new();
    let mut wire_blocks = Vec::new();
    while m.outcome().is_none() {
        let to = m.poll_transmit(&mut buf).expect("a data block");
        assert_eq!(to, client());
        let Packet::Data { block, data } = Packet::parse(&buf).unwrap() else {
            panic!()
        };
        assert!(m.poll_transmit(&mut buf).is_none());
        got.extend_from_slice(&data);
        wire_blocks.push(block);
        m.handle_packet(client(), &ack(block), t0);
    }
    assert!(m.outcome().unwrap().is_success());
    assert_eq!(got, data);
    assert_eq!(wire_blocks[65534], 65535);
    assert_eq!(wire_blocks[65535], 0);
    assert_eq!(wire_blocks[65536], 1);
}

#[test]
fn windowsize_sends_a_window_and_resends_from_the_gap() {
    let t0 = Instant::now();
    let mut m = start(512 * 10 + 1, &[("windowsize", "4")], t0);
    sends(&mut m);
    m.handle_packet(client(), &ack(0), t0);
    let s = sends(&mut m);
    let blocks: Vec<u16> = s
        .iter()
        .map(|(_, p)| match p {
            Packet::Data { block, .. } => *block,
            _ => panic!(),
        })
        .collect();
    assert_eq!(blocks, vec![1, 2, 3, 4]);
    // Client lost block 3: it ACKs 2; we resend from 3.
    m.handle_packet(client(), &ack(2), t0);
    let s = sends(&mut m);
    assert!(matches!(s[0].1, Packet::Data { block: 3, .. }));
    assert_eq!(s.len(), 4);
    // A repeated ACK 2 sends nothing.
    m.handle_packet(client(), &ack(2), t0);
    assert!(sends(&mut m).is_empty());
}

#[test]
fn malformed_and_unexpected_packets_are_ignored() {
    let t0 = Instant::now();
    let mut m = start(1000, &[], t0);
    sends(&mut m);
    for junk in [
        &b""[..],
        b"\x00",
        b"\x00\x09zz",
        b"\x00\x03\x00\x01abc",
        b"\x00\x01f\x00octet\x00",
    ] {
        m.handle_packet(client(), junk, t0);
    }
    assert!(m.outcome().is_none());
    assert!(sends(&mut m).is_empty());
}

// ---- receiver (client side) -------------------------------------------

fn rx_sends(r: &mut Receiver) -> Vec<(SocketAddr, Packet)> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    while let Some(to) = r.poll_transmit(&mut buf) {
        out.push((to, Packet::parse(&buf).unwrap()));
    }
    out
}

fn rrq(options: &[(&str, &str)]) -> Request {
    Request {
        filename: "OS79XX.TXT".into(),
        mode: Mode::Octet,
        options: opts(options),
    }
}

#[test]
fn client_plain_fetch_and_server_error() {
    let t0 = Instant::now();
    let mut r = Receiver::client(server(), &rrq(&[]), ReceiveLimits::default(), t0);
    let s = rx_sends(&mut r);
    assert_eq!(s, vec![(server(), Packet::Rrq(rrq(&[])))]);
    let tid: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    r.handle_packet(
        tid,
        &Packet::Data {
            block: 1,
            data: b"P003-8-12-00".to_vec(),
        }
        .to_vec(),
        t0,
    );
    assert_eq!(rx_sends(&mut r), vec![(tid, Packet::Ack { block: 1 })]);
    assert!(r.outcome().unwrap().is_success());
    assert_eq!(r.take_data(), b"P003-8-12-00");

    let mut r = Receiver::client(server(), &rrq(&[]), ReceiveLimits::default(), t0);
    rx_sends(&mut r);
    r.handle_packet(
        tid,
        &Packet::Error {
            code: 1,
            message: "File not found".into(),
        }
        .to_vec(),
        t0,
    );
    assert_eq!(
        r.outcome(),
        Some(&Outcome::PeerError {
            code: 1,
            message: "File not found".into()
        })
    );
}

#[test]
fn client_rejects_oack_with_larger_blksize_and_strangers_get_error_5() {
    let t0 = Instant::now();
    let mut r = Receiver::client(
        server(),
        &rrq(&[("blksize", "1024")]),
        ReceiveLimits::default(),
        t0,
    );
    rx_sends(&mut r);
    let other_host: SocketAddr = "10.9.9.9:40000".parse().unwrap();
    r.handle_packet(other_host, &ack(0), t0);
    assert!(
        rx_sends(&mut r).is_empty(),
        "other hosts are ignored before the TID is known"
    );
    let tid: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    r.handle_packet(
        tid,
        &Packet::Oack {
            options: opts(&[("blksize", "2048")]),
        }
        .to_vec(),
        t0,
    );
    let s = rx_sends(&mut r);
    assert!(matches!(&s[0].1, Packet::Error { code: 8, .. }));
    assert!(matches!(r.outcome(), Some(Outcome::Protocol(_))));

    let mut r = Receiver::client(
        server(),
        &rrq(&[("blksize", "1024")]),
        ReceiveLimits::default(),
        t0,
    );
    rx_sends(&mut r);
    r.handle_packet(
        tid,
        &Packet::Oack {
            options: opts(&[("blksize", "1000")]),
        }
        .to_vec(),
        t0,
    );
    assert_eq!(rx_sends(&mut r), vec![(tid, Packet::Ack { block: 0 })]);
    let stranger: SocketAddr = "10.0.0.1:40001".parse().unwrap();
    r.handle_packet(stranger, &ack(0), t0);
    let s = rx_sends(&mut r);
    assert_eq!(s[0].0, stranger);
    assert!(matches!(&s[0].1, Packet::Error { code: 5, .. }));
    r.handle_packet(
        tid,
        &Packet::Data {
            block: 1,
            data: vec![1; 999],
        }
        .to_vec(),
        t0,
    );
    assert!(r.outcome().unwrap().is_success());
}

#[test]
fn client_times_out_after_bounded_retries() {
    let t0 = Instant::now();
    let lim = ReceiveLimits {
        max_retries: 2,
        ..ReceiveLimits::default()
    };
    let mut r = Receiver::client(server(), &rrq(&[]), lim, t0);
    rx_sends(&mut r);
    for _ in 0..2 {
        let d = r.deadline().unwrap();
        r.handle_timeout(d);
        assert!(matches!(rx_sends(&mut r)[0].1, Packet::Rrq(_)));
    }
    let d = r.deadline().unwrap();
    r.handle_timeout(d);
    assert_eq!(r.outcome(), Some(&Outcome::Timeout));
}

// ---- both machines over a simulated lossy network ----------------------

/// A tiny deterministic PRNG (xorshift) so the "network" is reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Runs a server read transfer against a client receiver over a network
/// that drops, duplicates and delays packets; returns what the client got.
fn simulate(
    len: usize,
    options: &[(&str, &str)],
    seed: u64,
    loss: u64,
    dup: u64,
) -> (Vec<u8>, Outcome, Outcome) {
    let data = file(len);
    let t0 = Instant::now();
    let mut now = t0;
    let mut rng = Rng(seed | 1);
    let srv_tid: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let lim = ReceiveLimits {
        timeout: Duration::from_millis(300),
        max_retries: 50,
        max_size: 1 << 30,
    };
    let mut cl = Receiver::client(srv_tid, &rrq(options), lim, now);
    // The client's RRQ goes to the server's TID directly here: the request
    // port hand-off is the tokio layer's business.
    let mut buf = Vec::new();
    cl.poll_transmit(&mut buf).unwrap();
    let Packet::Rrq(req) = Packet::parse(&buf).unwrap() else {
        panic!()
    };
    let mut neg = negotiate(&req.options, Some(len as u64), &Limits::default());
    neg.timeout = Duration::from_millis(200);
    let mut sv = ReadTransfer::new(client(), data.clone(), &neg, 50, now);
    // In-flight packets: (arrival time, to_client?, bytes)
    let mut wire: Vec<(Instant, bool, Vec<u8>)> = Vec::new();
    let mut steps = 0;
    while sv.outcome().is_none() || cl.outcome().is_none() {
        steps += 1;
        assert!(steps < 2_000_000, "simulation does not converge");
        while let Some(_to) = sv.poll_transmit(&mut buf) {
            if !rng.chance(loss) {
                let delay = Duration::from_millis(rng.next() % 20);
                wire.push((now + delay, true, buf.clone()));
                if rng.chance(dup) {
                    wire.push((now + delay * 2, true, buf.clone()));
                }
            }
        }
        while let Some(_to) = cl.poll_transmit(&mut buf) {
            if !rng.chance(loss) {
                let delay = Duration::from_millis(rng.next() % 20);
                wire.push((now + delay, false, buf.clone()));
                if rng.chance(dup) {
                    wire.push((now + delay * 2, false, buf.clone()));
                }
            }
        }
        // Next event: earliest packet or timer.
        let next_pkt = wire
            .iter()
            .enumerate()
            .min_by_key(|(_, w)| w.0)
            .map(|(i, w)| (i, w.0));
        let timers = [sv.deadline(), cl.deadline()].into_iter().flatten().min();
        match (next_pkt, timers) {
            (Some((i, at)), t) if t.is_none_or(|t| at <= t) => {
                now = now.max(at);
                let (_, to_client, bytes) = wire.swap_remove(i);
                if to_client {
                    cl.handle_packet(srv_tid, &bytes, now);
                } else {
                    sv.handle_packet(client(), &bytes, now);
                }
            }
            (Some(_), Some(t)) | (None, Some(t)) => {
                now = now.max(t);
                sv.handle_timeout(now);
                cl.handle_timeout(now);
            }
            (Some(_), None) | (None, None) => break,
        }
        // The client is done once it has sent its last ACK; a server whose
        // final ACK was lost times out, like any TFTP server.
        if cl.outcome().is_some() && wire.is_empty() && sv.outcome().is_none() {
            let d = sv.deadline().unwrap();
            now = now.max(d);
            sv.handle_timeout(now);
        }
    }
    let got = cl.take_data();
    (
        got,
        sv.outcome().unwrap().clone(),
        cl.outcome().unwrap().clone(),
    )
}

#[test]
fn lossy_network_still_delivers_byte_exact() {
    for (seed, options) in [
        (1, vec![]),
        (2, vec![("blksize", "1428")]),
        (3, vec![("windowsize", "8"), ("blksize", "1024")]),
        (4, vec![("tsize", "0"), ("windowsize", "3")]),
    ] {
        let (got, _sv, cl) = simulate(70_001, &options, seed, 15, 10);
        assert!(cl.is_success(), "seed {seed}: client outcome {cl:?}");
        assert_eq!(got, file(70_001), "seed {seed}: data differs");
    }
}

#[test]
fn lossless_network_succeeds_on_both_sides() {
    let (got, sv, cl) = simulate(10_000, &[("windowsize", "4")], 9, 0, 0);
    assert_eq!(got, file(10_000));
    assert!(sv.is_success() && cl.is_success());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// No sequence of datagrams or timer events panics the server machine,
    /// and everything it sends to the client is a well-formed packet whose
    /// data comes from the file at the right offset.
    #[test]
    fn arbitrary_inputs_never_panic_and_data_is_from_the_file(
        len in 0usize..5000,
        options in prop::collection::vec((prop_oneof![Just("blksize"), Just("windowsize"), Just("tsize"), Just("timeout"), Just("x")], "[0-9]{0,6}"), 0..4),
        events in prop::collection::vec(prop_oneof![
            any::<u16>().prop_map(|b| (0u8, packet::OP_ACK, b, vec![])),
            any::<u16>().prop_map(|b| (1u8, packet::OP_ACK, b, vec![])),
            (any::<u16>(), prop::collection::vec(any::<u8>(), 0..20)).prop_map(|(b, v)| (0u8, 99, b, v)),
            Just((2u8, 0, 0, vec![])),
        ], 0..200),
    ) {
        let data = file(len);
        let options: Vec<(String, String)> = options.into_iter().map(|(a, b)| (a.to_string(), b)).collect();
        let neg = negotiate(&options, Some(len as u64), &Limits::default());
        let t0 = Instant::now();
        let mut m = ReadTransfer::new(client(), data.clone(), &neg, 5, t0);
        let mut now = t0;
        let mut buf = Vec::new();
        for (kind, op, block, raw) in events {
            while let Some(to) = m.poll_transmit(&mut buf) {
                let p = Packet::parse(&buf).unwrap();
                if let Packet::Data { block: _, data: d } = &p {
                    prop_assert_eq!(to, client());
                    prop_assert!(d.len() <= neg.blksize as usize);
                    prop_assert!(d.is_empty() || data.windows(d.len()).any(|w| w == &d[..]));
                }
            }
            match kind {
                0 | 1 => {
                    let from = if kind == 0 { client() } else { "10.1.1.2:1".parse().unwrap() };
                    let bytes = if op == packet::OP_ACK { ack(block) } else { raw };
                    m.handle_packet(from, &bytes, now);
                }
                _ => {
                    if let Some(d) = m.deadline() { now = d; }
                    m.handle_timeout(now);
                }
            }
        }
    }
}

#[test]
fn a_client_acking_every_block_of_a_window_gets_no_duplicate_data() {
    let t0 = Instant::now();
    let blocks = 100u16;
    let mut m = start(512 * (blocks as usize - 1) + 7, &[("windowsize", "8")], t0);
    sends(&mut m);
    m.handle_packet(client(), &ack(0), t0);
    let mut seen = std::collections::BTreeMap::<u16, usize>::new();
    let mut in_flight = std::collections::VecDeque::new();
    loop {
        for (_, p) in sends(&mut m) {
            let Packet::Data { block, .. } = p else {
                panic!("{p:?}")
            };
            *seen.entry(block).or_default() += 1;
            in_flight.push_back(block);
        }
        let Some(b) = in_flight.pop_front() else {
            break;
        };
        m.handle_packet(client(), &ack(b), t0);
    }
    assert!(m.outcome().unwrap().is_success());
    assert_eq!(seen.len(), blocks as usize);
    let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "blocks sent more than once: {dups:?}");
}

#[test]
fn backoff_doubles_the_timer_and_the_deadline_ends_a_trickle() {
    let t0 = Instant::now();
    let neg = negotiate(&[], Some(512 * 50), &Limits::default());
    let mut m = ReadTransfer::new(client(), file(512 * 50), &neg, 6, t0)
        .with_backoff(Duration::from_secs(8))
        .give_up_at(t0 + Duration::from_secs(30));
    sends(&mut m);
    let mut waits = Vec::new();
    let mut now = t0;
    for _ in 0..5 {
        let d = m.deadline().unwrap();
        waits.push((d - now).as_secs());
        now = d;
        m.handle_timeout(now);
        assert_eq!(sends(&mut m).len(), 1);
    }
    assert_eq!(waits, vec![1, 2, 4, 8, 8]);
    // Progress resets the timer to the base.
    m.handle_packet(client(), &ack(1), now);
    sends(&mut m);
    assert_eq!(m.deadline().unwrap() - now, Duration::from_secs(1));
    // A client acknowledging one block per second would take 50 s: the
    // overall deadline stops it at 30 s.
    let mut block = 1;
    while m.outcome().is_none() {
        now += Duration::from_millis(900);
        block += 1;
        m.handle_packet(client(), &ack(block), now);
        sends(&mut m);
        if let Some(d) = m.deadline() {
            if d <= now {
                m.handle_timeout(now);
            }
        }
    }
    assert_eq!(m.outcome(), Some(&Outcome::Timeout));
    assert!(now <= t0 + Duration::from_secs(31), "{:?}", now - t0);
}

#[test]
fn a_late_repeated_ack_resends_once_per_timeout_despite_backoff() {
    let t0 = Instant::now();
    let neg = negotiate(&[], Some(5000), &Limits::default());
    let mut m =
        ReadTransfer::new(client(), file(5000), &neg, 6, t0).with_backoff(Duration::from_secs(32));
    sends(&mut m);
    m.handle_packet(client(), &ack(1), t0);
    assert_eq!(sends(&mut m).len(), 1); // DATA 2, lost
                                        // Our timer backs off to 1, then 2 s, ...
    let mut now = m.deadline().unwrap();
    m.handle_timeout(now);
    assert_eq!(sends(&mut m).len(), 1); // DATA 2 again, lost again
    assert_eq!(m.deadline().unwrap() - now, Duration::from_secs(2));
    // The client's timer fires 1.2 s later: its repeated ACK 1 gets DATA 2
    // now, not at our 2 s deadline...
    now += Duration::from_millis(1200);
    m.handle_packet(client(), &ack(1), now);
    let s = sends(&mut m);
    assert!(
        matches!(s[..], [(_, Packet::Data { block: 2, .. })]),
        "{s:?}"
    );
    // ...and a burst of copies of that ACK gets nothing more.
    for i in 0..5 {
        m.handle_packet(client(), &ack(1), now + Duration::from_millis(i * 40));
        assert!(sends(&mut m).is_empty());
    }
}

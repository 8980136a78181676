//! A server read transfer fed arbitrary datagrams and timer events must
//! not panic and must only send DATA to its peer.
#![no_main]
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use phoneflip_tftp::core::options::{negotiate, Limits};
use phoneflip_tftp::core::packet::Packet;
use phoneflip_tftp::core::read::ReadTransfer;

fuzz_target!(|input: (Vec<(String, String)>, Vec<(bool, bool, Vec<u8>)>)| {
    let (options, events) = input;
    let peer: SocketAddr = "10.1.1.1:5000".parse().unwrap();
    let other: SocketAddr = "10.1.1.2:5000".parse().unwrap();
    let file = vec![7u8; 3000];
    let neg = negotiate(&options, Some(3000), &Limits::default());
    let mut now = Instant::now();
    let mut m = ReadTransfer::new(peer, file, &neg, 3, now);
    let mut buf = Vec::new();
    for (from_peer, tick, datagram) in events {
        while let Some(to) = m.poll_transmit(&mut buf) {
            if let Ok(Packet::Data { .. }) = Packet::parse(&buf) {
                assert_eq!(to, peer);
            }
        }
        if tick {
            now += Duration::from_secs(1);
            m.handle_timeout(now);
        } else {
            m.handle_packet(if from_peer { peer } else { other }, &datagram, now);
        }
    }
});

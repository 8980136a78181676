//! Receiving side of a transfer: the client of a read (RRQ) and the
//! server of a write (WRQ) do the same thing once the first packet is out,
//! so one machine serves both.
//!
//! The phone emulator fetches its files through the client form; the
//! server uses the other form for the optional upload folder.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::options::{Negotiated, DEFAULT_BLKSIZE, MAX_BLKSIZE, MIN_BLKSIZE};
use super::packet::{self, ErrorCode, Packet, Request};
use super::Outcome;

const MAX_QUEUED: usize = 8;

/// Knobs of the receiving side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveLimits {
    pub timeout: Duration,
    pub max_retries: u32,
    /// Larger files are refused with ERROR 3, so a peer cannot make us
    /// buffer without limit.
    pub max_size: u64,
}

impl Default for ReceiveLimits {
    fn default() -> Self {
        ReceiveLimits {
            timeout: Duration::from_secs(1),
            max_retries: 5,
            max_size: 256 << 20,
        }
    }
}

#[derive(Debug)]
pub struct Receiver {
    /// For a client: the server's address (first response may come from
    /// another port of the same host, which then becomes `peer`).
    server: SocketAddr,
    peer: Option<SocketAddr>,
    expect_oack: bool,
    requested: Vec<(String, String)>,
    blksize: usize,
    windowsize: u64,
    timeout: Duration,
    max_retries: u32,
    max_size: u64,
    tsize: Option<u64>,
    data: Vec<u8>,
    received: u64,
    /// Highest block we acknowledged; a window ends `windowsize` blocks later.
    acked_upto: u64,
    gap_acked: bool,
    /// The last datagram we sent, resent on timeout.
    last: Vec<u8>,
    last_to: SocketAddr,
    queue: VecDeque<(SocketAddr, Vec<u8>)>,
    retries: u32,
    /// Expiries of the timer that resent something, over the transfer.
    timeouts: u32,
    deadline: Option<Instant>,
    outcome: Option<Outcome>,
    /// After success, until when a repeated final DATA is acknowledged
    /// again (our final ACK was lost and the sender would otherwise retry
    /// until it gives up and reports a failure).
    dally_until: Option<Instant>,
}

impl Receiver {
    /// A client read: queues the RRQ for `request` to `server`.
    pub fn client(
        server: SocketAddr,
        request: &Request,
        limits: ReceiveLimits,
        now: Instant,
    ) -> Self {
        let rrq = Packet::Rrq(request.clone()).to_vec();
        let mut r = Receiver::base(server, None, limits, now);
        r.expect_oack = !request.options.is_empty();
        r.requested = request.options.clone();
        r.send(server, rrq);
        r
    }

    /// A server write: the request was already accepted with `negotiated`;
    /// queues the OACK (or ACK 0 for a plain request) to `peer`.
    pub fn server_write(
        peer: SocketAddr,
        negotiated: &Negotiated,
        limits: ReceiveLimits,
        now: Instant,
    ) -> Self {
        let mut r = Receiver::base(peer, Some(peer), limits, now);
        r.blksize = negotiated.blksize as usize;
        r.windowsize = negotiated.windowsize.max(1) as u64;
        r.timeout = negotiated.timeout;
        r.tsize = negotiated.tsize;
        r.deadline = Some(now + r.timeout);
        let first = if negotiated.oack.is_empty() {
            let mut v = Vec::new();
            packet::write_ack(&mut v, 0);
            v
        } else {
            Packet::Oack {
                options: negotiated.oack.clone(),
            }
            .to_vec()
        };
        r.send(peer, first);
        r
    }

    fn base(
        server: SocketAddr,
        peer: Option<SocketAddr>,
        limits: ReceiveLimits,
        now: Instant,
    ) -> Self {
        Receiver {
            server,
            peer,
            expect_oack: false,
            requested: Vec::new(),
            blksize: DEFAULT_BLKSIZE as usize,
            windowsize: 1,
            timeout: limits.timeout,
            max_retries: limits.max_retries,
            max_size: limits.max_size,
            tsize: None,
            data: Vec::new(),
            received: 0,
            acked_upto: 0,
            gap_acked: false,
            last: Vec::new(),
            last_to: server,
            queue: VecDeque::new(),
            retries: 0,
            timeouts: 0,
            deadline: Some(now + limits.timeout),
            outcome: None,
            dally_until: None,
        }
    }

    fn send(&mut self, to: SocketAddr, datagram: Vec<u8>) {
        self.last.clone_from(&datagram);
        self.last_to = to;
        if self.queue.len() < MAX_QUEUED {
            self.queue.push_back((to, datagram));
        }
    }

    fn send_ack(&mut self, to: SocketAddr, block: u16) {
        let mut v = Vec::with_capacity(4);
        packet::write_ack(&mut v, block);
        self.send(to, v);
    }

    fn fail_with_error(&mut self, to: SocketAddr, code: ErrorCode, msg: &str, outcome: Outcome) {
        let mut v = Vec::new();
        packet::write_error(&mut v, code.code(), msg);
        if self.queue.len() < MAX_QUEUED {
            self.queue.push_back((to, v));
        }
        self.outcome = Some(outcome);
    }

    pub fn deadline(&self) -> Option<Instant> {
        if self.outcome.is_some() {
            None
        } else {
            self.deadline
        }
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// After a successful transfer: how long to keep feeding packets in so
    /// a repeated final DATA gets its ACK again (RFC 1350's dally, which
    /// tftpd-hpa does for uploads). None when there is nothing to wait for.
    pub fn dally_deadline(&self) -> Option<Instant> {
        match self.outcome {
            Some(Outcome::Success) => self.dally_until,
            _ => None,
        }
    }

    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The size the peer announced (OACK tsize for a read, WRQ tsize for a write).
    pub fn announced_size(&self) -> Option<u64> {
        self.tsize
    }

    pub fn bytes_received(&self) -> u64 {
        self.data.len() as u64
    }

    /// The received file (raw wire bytes: decode netascii yourself).
    pub fn take_data(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.data)
    }

    pub fn handle_packet(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) {
        if self.outcome.is_some() {
            if let (Some(until), Some(peer)) = (self.dally_deadline(), self.peer) {
                if now < until && from == peer {
                    if let Ok(Packet::Data { block, .. }) = Packet::parse(datagram) {
                        if block == self.received as u16 && self.queue.len() < MAX_QUEUED {
                            self.send_ack(peer, block);
                        }
                    }
                }
            }
            return;
        }
        let peer = match self.peer {
            Some(p) => p,
            None if from.ip() == self.server.ip() => from,
            None => return,
        };
        if from != peer {
            if self.queue.len() < MAX_QUEUED {
                let mut v = Vec::new();
                packet::write_error(&mut v, ErrorCode::UnknownTid.code(), "Unknown transfer ID");
                self.queue.push_back((from, v));
            }
            return;
        }
        let Ok(p) = Packet::parse(datagram) else {
            return;
        };
        match p {
            Packet::Error { code, message } => {
                self.peer = Some(peer);
                self.outcome = Some(Outcome::PeerError { code, message });
            }
            Packet::Oack { options } if self.expect_oack && self.received == 0 => {
                if self.peer.is_none() {
                    self.peer = Some(peer);
                    if let Err(msg) = self.apply_oack(&options) {
                        self.fail_with_error(
                            peer,
                            ErrorCode::OptionRefused,
                            &msg,
                            Outcome::Protocol(msg.clone()),
                        );
                        return;
                    }
                }
                // First or repeated OACK (our ACK 0 was lost): ACK 0.
                self.retries = 0;
                self.deadline = Some(now + self.timeout);
                self.send_ack(peer, 0);
            }
            Packet::Data { block, data } => {
                self.peer = Some(peer);
                self.on_data(peer, block, &data, now);
            }
            _ => {}
        }
    }

    fn apply_oack(&mut self, options: &[(String, String)]) -> Result<(), String> {
        for (name, value) in options {
            let lname = name.to_ascii_lowercase();
            let asked = self
                .requested
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name));
            let Some((_, asked_value)) = asked else {
                return Err(format!(
                    "server acknowledged option {name:?} that was not requested"
                ));
            };
            let v: u64 = value.trim().parse().map_err(|_| {
                format!("server sent non-numeric value {value:?} for option {name:?}")
            })?;
            let asked_v: u64 = asked_value.trim().parse().unwrap_or(0);
            match lname.as_str() {
                "blksize" => {
                    if v < MIN_BLKSIZE as u64 || v > MAX_BLKSIZE as u64 || v > asked_v {
                        return Err(format!("server chose blksize {v}, outside 8..={asked_v}"));
                    }
                    self.blksize = v as usize;
                }
                "windowsize" => {
                    if v == 0 || v > asked_v {
                        return Err(format!(
                            "server chose windowsize {v}, outside 1..={asked_v}"
                        ));
                    }
                    self.windowsize = v;
                }
                "tsize" => {
                    if v > self.max_size {
                        return Err(format!(
                            "file of {v} bytes exceeds the limit of {} bytes",
                            self.max_size
                        ));
                    }
                    self.tsize = Some(v);
                }
                "timeout" if (1..=255).contains(&v) => {
                    self.timeout = Duration::from_secs(v);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn on_data(&mut self, peer: SocketAddr, block: u16, data: &[u8], now: Instant) {
        let expected = self.received + 1;
        if block == expected as u16 {
            if data.len() > self.blksize {
                let msg = format!(
                    "DATA block of {} bytes exceeds blksize {}",
                    data.len(),
                    self.blksize
                );
                self.fail_with_error(
                    peer,
                    ErrorCode::IllegalOperation,
                    "Block too large",
                    Outcome::Protocol(msg),
                );
                return;
            }
            if self.data.len() as u64 + data.len() as u64 > self.max_size {
                let msg = format!("transfer exceeds the limit of {} bytes", self.max_size);
                self.fail_with_error(
                    peer,
                    ErrorCode::DiskFull,
                    "Disk full or allocation exceeded",
                    Outcome::Protocol(msg),
                );
                return;
            }
            self.data.extend_from_slice(data);
            self.received = expected;
            self.retries = 0;
            self.gap_acked = false;
            self.deadline = Some(now + self.timeout);
            if data.len() < self.blksize {
                self.send_ack(peer, block);
                self.outcome = Some(Outcome::Success);
                self.dally_until = Some(now + self.timeout * 2);
            } else if self.received - self.acked_upto >= self.windowsize {
                self.acked_upto = self.received;
                self.send_ack(peer, block);
            }
        } else if self.windowsize == 1 {
            // Our ACK was lost: acknowledge the block we hold again.
            if block == self.received as u16 {
                self.send_ack(peer, block);
            }
        } else if !self.gap_acked {
            // RFC 7440: on a gap, acknowledge what arrived in order so the
            // sender restarts its window right after it.
            self.gap_acked = true;
            self.acked_upto = self.received;
            self.send_ack(peer, self.received as u16);
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.outcome.is_some() {
            return;
        }
        match self.deadline {
            Some(d) if now >= d => {}
            _ => return,
        }
        self.retries += 1;
        if self.retries > self.max_retries {
            self.outcome = Some(Outcome::Timeout);
            return;
        }
        self.timeouts += 1;
        self.gap_acked = false;
        if self.received > 0 {
            // Acknowledge what we hold, even mid-window: to the sender this
            // is progress (a repeated old ACK would be ignored as a
            // duplicate) and it restarts the window after it.
            self.acked_upto = self.received;
            let peer = self.peer.unwrap_or(self.server);
            self.send_ack(peer, self.received as u16);
        } else {
            let (to, last) = (self.last_to, self.last.clone());
            if self.queue.len() < MAX_QUEUED {
                self.queue.push_back((to, last));
            }
        }
        self.deadline = Some(now + self.timeout);
    }

    /// How many times the timer expired and something was resent.
    pub fn timeouts(&self) -> u32 {
        self.timeouts
    }

    /// Writes the next datagram into `buf` and returns its destination.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<SocketAddr> {
        let (to, d) = self.queue.pop_front()?;
        buf.clear();
        buf.extend_from_slice(&d);
        Some(to)
    }
}

//! Server side of a read transfer (RRQ): sends a file, block by block.
//!
//! Fed with datagrams and `Instant`s, it queues datagrams to send and says
//! when it next needs to be woken. It does not answer a duplicate ACK with
//! DATA (the Sorcerer's Apprentice bug, RFC 1123 4.2.3.1) unless a quarter
//! of the base timeout has passed since it last sent: then the ACK is the
//! client's retransmission timer speaking, and waiting for our own backed
//! off timer would only stall the transfer. Block indices are
//! kept as u64 and only their low 16 bits go on the wire, so files beyond
//! 65535 blocks roll over to block 0 as tftp-hpa, curl and atftp expect.
//!
//! With a window (RFC 7440) an ACK of the next block slides the window and
//! sends only blocks never sent before, so a client that acknowledges
//! every block gets each block once; an ACK that jumps several blocks but
//! stops short of the window's end reports a gap, and the window restarts
//! right after it, as does the timer: always from the first
//! unacknowledged block. The timer backs off exponentially, as tftpd-hpa
//! does, and an overall deadline bounds a transfer whatever the peer does.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::options::Negotiated;
use super::packet::{self, ErrorCode, Packet};
use super::{BlockSource, Outcome};

/// At most this many ERROR answers to strangers are queued, so spoofed
/// packets cannot make a transfer buffer without limit.
const MAX_QUEUED_ERRORS: usize = 8;

#[derive(Debug)]
pub struct ReadTransfer<S> {
    peer: SocketAddr,
    source: S,
    len: u64,
    blksize: u64,
    windowsize: u64,
    timeout: Duration,
    /// Timer after `retries` consecutive expiries: `timeout` doubled each
    /// time up to `max_timeout`.
    cur_timeout: Duration,
    max_timeout: Duration,
    max_retries: u32,
    /// The transfer fails with [`Outcome::Timeout`] at this instant.
    give_up: Option<Instant>,
    /// Encoded OACK while it is waiting for ACK 0.
    oack: Option<Vec<u8>>,
    send_oack: bool,
    last_block: u64,
    acked: u64,
    /// Highest block ever sent; ACKs above it are bogus.
    sent_high: u64,
    /// Blocks queued for sending now: `next..end`.
    next: u64,
    end: u64,
    retries: u32,
    retransmissions: u64,
    deadline: Option<Instant>,
    /// When data was last queued (progress, or a retransmission).
    queued_at: Instant,
    errors: VecDeque<(SocketAddr, ErrorCode, &'static str)>,
    outcome: Option<Outcome>,
}

impl<S: BlockSource> ReadTransfer<S> {
    /// Starts a transfer to `peer` with negotiated parameters; the first
    /// datagram (OACK, or DATA 1 for a plain request) is queued at once.
    pub fn new(
        peer: SocketAddr,
        source: S,
        negotiated: &Negotiated,
        max_retries: u32,
        now: Instant,
    ) -> Self {
        let len = source.len();
        let blksize = negotiated.blksize.max(1) as u64;
        let oack = (!negotiated.oack.is_empty()).then(|| {
            Packet::Oack {
                options: negotiated.oack.clone(),
            }
            .to_vec()
        });
        let mut t = ReadTransfer {
            peer,
            source,
            len,
            blksize,
            windowsize: negotiated.windowsize.max(1) as u64,
            timeout: negotiated.timeout,
            cur_timeout: negotiated.timeout,
            max_timeout: negotiated.timeout,
            max_retries,
            give_up: None,
            send_oack: oack.is_some(),
            oack,
            last_block: len / blksize + 1,
            acked: 0,
            sent_high: 0,
            next: 1,
            end: 1,
            retries: 0,
            retransmissions: 0,
            deadline: Some(now + negotiated.timeout),
            queued_at: now,
            errors: VecDeque::new(),
            outcome: None,
        };
        if t.oack.is_none() {
            t.queue_window();
        }
        t
    }

    /// Doubles the retransmission timer on each consecutive expiry, up to
    /// `max` (reset by progress): a congested or lossy link gets time to
    /// recover instead of more traffic, and `max_retries` expiries then
    /// cover `timeout * (2^max_retries - 1)` rather than a few seconds.
    pub fn with_backoff(mut self, max: Duration) -> Self {
        self.max_timeout = max.max(self.timeout);
        self
    }

    /// Fails the transfer at `at` even if the peer keeps making progress,
    /// so a trickling client cannot hold a transfer slot for ever.
    pub fn give_up_at(mut self, at: Instant) -> Self {
        self.give_up = Some(at);
        self
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// When to call [`handle_timeout`](Self::handle_timeout); None once finished.
    pub fn deadline(&self) -> Option<Instant> {
        if self.outcome.is_some() {
            None
        } else {
            match (self.deadline, self.give_up) {
                (Some(d), Some(g)) => Some(d.min(g)),
                (d, g) => d.or(g),
            }
        }
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Bytes of the file the client has acknowledged.
    pub fn bytes_acked(&self) -> u64 {
        (self.acked * self.blksize).min(self.len)
    }

    /// Whether every block has been sent at least once.
    pub fn all_sent(&self) -> bool {
        self.sent_high >= self.last_block
    }

    pub fn retransmissions(&self) -> u64 {
        self.retransmissions
    }

    /// Queues the whole window again from the first unacknowledged block
    /// (the OACK was acknowledged, or the timer expired).
    fn queue_window(&mut self) {
        self.next = self.acked + 1;
        self.end = (self.next + self.windowsize).min(self.last_block + 1);
    }

    /// After new progress: the window now ends `windowsize` blocks after
    /// the acknowledged one, and only what was not sent yet is queued (a
    /// retransmission in progress carries on past the ACK).
    fn slide_window(&mut self) {
        self.next = self.next.max(self.acked + 1);
        self.end = (self.acked + 1 + self.windowsize).min(self.last_block + 1);
    }

    fn arm(&mut self, now: Instant) {
        self.deadline = Some(now + self.cur_timeout);
        self.queued_at = now;
    }

    fn fail(&mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
        self.next = self.end;
        self.send_oack = false;
    }

    /// Restarts the retransmission timer from `now`, for callers that
    /// paced the last sends (rate limit) and must not count that delay.
    pub fn restart_timer(&mut self, now: Instant) {
        if self.outcome.is_none() {
            self.arm(now);
        }
    }

    pub fn handle_packet(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) {
        if self.outcome.is_some() {
            return;
        }
        if from != self.peer {
            if self.errors.len() < MAX_QUEUED_ERRORS {
                self.errors
                    .push_back((from, ErrorCode::UnknownTid, "Unknown transfer ID"));
            }
            return;
        }
        match Packet::parse(datagram) {
            Ok(Packet::Ack { block }) => self.on_ack(block, now),
            Ok(Packet::Error { code, message }) => {
                self.fail(Outcome::PeerError { code, message });
            }
            // Anything else from the peer (a repeated RRQ, stray DATA) is
            // ignored: answering could only add traffic.
            Ok(_) | Err(_) => {}
        }
    }

    fn on_ack(&mut self, block: u16, now: Instant) {
        if self.oack.is_some() {
            if block == 0 {
                self.oack = None;
                self.send_oack = false;
                self.retries = 0;
                self.cur_timeout = self.timeout;
                self.queue_window();
                self.arm(now);
            }
            return;
        }
        let delta = block.wrapping_sub(self.acked as u16) as u64;
        if delta == 0 && self.sent_high > self.acked && now >= self.queued_at + self.timeout / 4 {
            // The client repeats its last ACK well after our last sending:
            // its own timer says our data was lost (tftpd-hpa resends on
            // this too). Our timer may be backed off far longer, so resend
            // now. At most once per quarter of the base timeout, so copies
            // of one ACK (network duplication) cannot start the Sorcerer's
            // Apprentice cascade.
            self.retransmissions += 1;
            self.queue_window();
            self.queued_at = now;
            return;
        }
        if delta == 0 || self.acked + delta > self.sent_high {
            // Duplicate or stale ACK: never answer it with data.
            return;
        }
        self.acked += delta;
        self.retries = 0;
        self.cur_timeout = self.timeout;
        if self.acked >= self.last_block {
            self.outcome = Some(Outcome::Success);
            self.next = self.end;
            return;
        }
        if delta == 1 {
            // The next block in order: a window ACK under windowsize 1, or
            // a client acknowledging every block of a window. Either way
            // the blocks after it are on their way already.
            self.slide_window();
        } else {
            // Several blocks at once, short of what was sent: RFC 7440's
            // "this arrived in order, the next did not". Restart there.
            self.queue_window();
        }
        self.arm(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.outcome.is_some() {
            return;
        }
        if self.give_up.is_some_and(|g| now >= g) {
            self.fail(Outcome::Timeout);
            return;
        }
        match self.deadline {
            Some(d) if now >= d => {}
            _ => return,
        }
        self.retries += 1;
        if self.retries > self.max_retries {
            self.fail(Outcome::Timeout);
            return;
        }
        self.retransmissions += 1;
        if self.oack.is_some() {
            self.send_oack = true;
        } else {
            self.queue_window();
        }
        self.cur_timeout = (self.cur_timeout * 2).min(self.max_timeout);
        self.arm(now);
    }

    /// Writes the next datagram to send into `buf` (cleared first) and
    /// returns its destination; None when nothing is queued.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<SocketAddr> {
        buf.clear();
        if let Some((to, code, msg)) = self.errors.pop_front() {
            packet::write_error(buf, code.code(), msg);
            return Some(to);
        }
        if self.send_oack {
            self.send_oack = false;
            buf.extend_from_slice(self.oack.as_deref().unwrap_or_default());
            return Some(self.peer);
        }
        if self.next >= self.end {
            return None;
        }
        let block = self.next;
        self.next += 1;
        let offset = (block - 1) * self.blksize;
        let want = self.len.saturating_sub(offset).min(self.blksize) as usize;
        packet::write_data_header(buf, block as u16);
        buf.resize(4 + want, 0);
        let mut filled = 0;
        while filled < want {
            match self
                .source
                .read_at(offset + filled as u64, &mut buf[4 + filled..])
            {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    buf.clear();
                    packet::write_error(buf, ErrorCode::NotDefined.code(), "Read error");
                    self.fail(Outcome::ReadError(e.to_string()));
                    return Some(self.peer);
                }
            }
        }
        if filled < want {
            buf.clear();
            packet::write_error(
                buf,
                ErrorCode::NotDefined.code(),
                "File changed during transfer",
            );
            self.fail(Outcome::ReadError(format!(
                "file shrank to {} bytes during the transfer",
                offset + filled as u64
            )));
            return Some(self.peer);
        }
        self.sent_high = self.sent_high.max(block);
        Some(self.peer)
    }
}

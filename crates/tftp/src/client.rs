//! Tokio TFTP client for reads, used by the phone emulator to fetch files
//! the way a phone does: plain RFC 1350 by default, options on request.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use crate::core::netascii;
use crate::core::packet::{Mode, Request};
use crate::core::receive::{ReceiveLimits, Receiver};
use crate::core::Outcome;

/// How to fetch. The default is what a 7940/7960 sends: octet, no options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    pub mode: Mode,
    pub blksize: Option<u16>,
    pub windowsize: Option<u16>,
    /// Ask the server for the size (tsize 0).
    pub tsize: bool,
    /// Ask the server to use this retransmission timeout (seconds).
    pub timeout_option: Option<u8>,
    /// Our own retransmission timeout.
    pub timeout: Duration,
    pub max_retries: u32,
    pub max_size: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            mode: Mode::Octet,
            blksize: None,
            windowsize: None,
            tsize: false,
            timeout_option: None,
            timeout: Duration::from_secs(1),
            max_retries: 5,
            max_size: 256 << 20,
        }
    }
}

impl FetchOptions {
    /// The RRQ these options produce.
    pub fn request(&self, filename: &str) -> Request {
        let mut options = Vec::new();
        if let Some(b) = self.blksize {
            options.push(("blksize".to_string(), b.to_string()));
        }
        if self.tsize {
            options.push(("tsize".to_string(), "0".to_string()));
        }
        if let Some(t) = self.timeout_option {
            options.push(("timeout".to_string(), t.to_string()));
        }
        if let Some(w) = self.windowsize {
            options.push(("windowsize".to_string(), w.to_string()));
        }
        Request {
            filename: filename.to_string(),
            mode: self.mode,
            options,
        }
    }
}

/// Why a fetch failed. `Server` carries the server's ERROR packet, so a
/// missing file (code 1) is told apart from an unreachable server.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("TFTP server {server} refused {filename:?}: error {code} ({message})")]
    Server {
        server: SocketAddr,
        filename: String,
        code: u16,
        message: String,
    },
    #[error("TFTP server {server} stopped answering while sending {filename:?} ({received} bytes received); check that it runs and that UDP port {} is reachable", server.port())]
    Timeout {
        server: SocketAddr,
        filename: String,
        received: u64,
    },
    #[error("TFTP transfer of {filename:?} from {server} failed: {reason}")]
    Protocol {
        server: SocketAddr,
        filename: String,
        reason: String,
    },
    #[error("TFTP client socket on {bind}: {source}")]
    Io {
        bind: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl FetchError {
    /// The server answered ERROR 1 (file not found).
    pub fn is_not_found(&self) -> bool {
        matches!(self, FetchError::Server { code: 1, .. })
    }

    pub fn server_code(&self) -> Option<u16> {
        match self {
            FetchError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Fetches `filename` from `server`, from a socket bound to `local_bind`
/// (port 0 for an ephemeral port, like a phone's retry from a new port).
pub async fn fetch(
    server: SocketAddr,
    local_bind: SocketAddr,
    filename: &str,
    opts: &FetchOptions,
) -> Result<Vec<u8>, FetchError> {
    let io = |source| FetchError::Io {
        bind: local_bind,
        source,
    };
    let sock = UdpSocket::bind(local_bind).await.map_err(io)?;
    let limits = ReceiveLimits {
        timeout: opts.timeout,
        max_retries: opts.max_retries,
        max_size: opts.max_size,
    };
    let mut rx = Receiver::client(server, &opts.request(filename), limits, Instant::now());
    let mut out = Vec::with_capacity(1500);
    let mut inbuf = vec![0u8; 65536];
    // Re-armed when it fires, or at once when the deadline moved earlier
    // (see the server's transfer loop).
    let timer = tokio::time::sleep_until(rx.deadline().unwrap_or_else(Instant::now).into());
    tokio::pin!(timer);
    loop {
        while let Some(to) = rx.poll_transmit(&mut out) {
            sock.send_to(&out, to).await.map_err(io)?;
        }
        if let Some(outcome) = rx.outcome() {
            return match outcome.clone() {
                Outcome::Success => {
                    let data = rx.take_data();
                    Ok(if opts.mode == Mode::Netascii {
                        netascii::decode(&data)
                    } else {
                        data
                    })
                }
                Outcome::PeerError { code, message } => Err(FetchError::Server {
                    server,
                    filename: filename.to_string(),
                    code,
                    message,
                }),
                Outcome::Timeout => Err(FetchError::Timeout {
                    server,
                    filename: filename.to_string(),
                    received: rx.bytes_received(),
                }),
                Outcome::ReadError(reason) | Outcome::Protocol(reason) => {
                    Err(FetchError::Protocol {
                        server,
                        filename: filename.to_string(),
                        reason,
                    })
                }
            };
        }
        tokio::select! {
            r = sock.recv_from(&mut inbuf) => {
                // Errors (ICMP port unreachable surfaces here on Linux) are
                // left to the retry budget.
                if let Ok((n, from)) = r {
                    rx.handle_packet(from, &inbuf[..n], Instant::now());
                    if let Some(d) = rx.deadline().map(tokio::time::Instant::from) {
                        if d < timer.deadline() {
                            timer.as_mut().reset(d);
                        }
                    }
                }
            }
            _ = &mut timer => {
                rx.handle_timeout(Instant::now());
                if let Some(d) = rx.deadline() {
                    timer.as_mut().reset(d.into());
                }
            }
        }
    }
}

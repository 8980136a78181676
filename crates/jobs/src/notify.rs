//! Sends a check-sync NOTIFY over UDP, retransmitting per RFC 3261 until
//! the phone answers or Timer F expires. The protocol logic is
//! [`crate::sip::ClientTransaction`]; this is only the socket around it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use crate::sip::{
    CheckSyncNotify, ClientStep, ClientTransaction, NotifyOutcome, SipResponse, Timers,
};

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("cannot open a UDP socket towards {phone} for the check-sync NOTIFY: {source}")]
    Socket {
        phone: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Sip(#[from] crate::sip::SipError),
}

/// Sends a check-sync NOTIFY to `user@phone` from a fresh socket bound to
/// `bind` (port 0 for any) and waits for the outcome.
///
/// The socket is connected to the phone, so the kernel picks the local
/// address the phone can reach (written into Via and Contact) and drops
/// datagrams from anyone else.
pub async fn send_check_sync(
    user: &str,
    phone: SocketAddr,
    bind: Option<SocketAddr>,
    timers: Timers,
    seed: u64,
) -> Result<NotifyOutcome, NotifyError> {
    let io = |source| NotifyError::Socket { phone, source };
    let bind = bind.unwrap_or_else(|| match phone.ip() {
        IpAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        IpAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    });
    let sock = UdpSocket::bind(bind).await.map_err(io)?;
    sock.connect(phone).await.map_err(io)?;
    let local = sock.local_addr().map_err(io)?;
    let req = CheckSyncNotify::new(user, phone, local, seed)?;
    let bytes = req.to_bytes()?;
    let start = Instant::now();
    let mut tx = ClientTransaction::new(timers);
    let mut buf = vec![0u8; 65_535];
    loop {
        let elapsed = start.elapsed().as_millis() as u64;
        let wake = match tx.poll(elapsed) {
            ClientStep::Done(o) => return Ok(o),
            ClientStep::Send { wake_ms } => {
                // A send error (e.g. ICMP port unreachable from an earlier
                // datagram) is like a lost packet: Timer E retries.
                if let Err(e) = sock.send(&bytes).await {
                    tracing::debug!(%phone, error = %e, "NOTIFY send failed; will retransmit");
                }
                wake_ms
            }
            ClientStep::Wait { wake_ms } => wake_ms,
        };
        let deadline = start + Duration::from_millis(wake);
        loop {
            match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
                Err(_) => break,
                Ok(Err(e)) => {
                    tracing::debug!(%phone, error = %e, "NOTIFY receive error");
                    tokio::time::sleep_until(deadline).await;
                    break;
                }
                Ok(Ok(n)) => {
                    let Ok(resp) = SipResponse::parse(&buf[..n]) else {
                        tracing::debug!(%phone, "ignoring an unparsable datagram");
                        continue;
                    };
                    if !req.matches(&resp) {
                        continue;
                    }
                    if let Some(outcome) = tx.on_response(&resp) {
                        return Ok(outcome);
                    }
                }
            }
        }
    }
}

//! The tokio driver: boots a [`Phone`] against a real TFTP server over UDP,
//! from its own loopback address, as plain RFC 1350 reads (octet mode, no
//! options), like the phones.
//!
//! The transfer itself is behind [`Fetcher`] so the core never sees a
//! socket; [`TftpFetcher`] uses `phoneflip_tftp::client::fetch`.
//!
//! [`boot`] runs one boot; [`live`] (and [`LivePhone`] on its own task)
//! keeps a phone up afterwards with a real SIP UDP endpoint, so a server
//! can reset it with a check-sync NOTIFY as it would a real phone.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use phoneflip_firmware::Protocol;
use phoneflip_tftp::client::{self, FetchOptions};
use tokio::net::UdpSocket;
use tokio::sync::{oneshot, watch};

use crate::phone::{Phone, PhoneState};
use crate::run::{FetchError, Outcome, Report, Run, Step};
use crate::sip::{Agent, Heard};

/// Fetches one file for a phone.
pub trait Fetcher: Send + Sync {
    fn fetch(
        &self,
        server: SocketAddr,
        local: IpAddr,
        file: &str,
    ) -> impl Future<Output = Result<Vec<u8>, FetchError>> + Send;
}

/// Fetches with phoneflip's TFTP client, each request from a fresh port
/// on the phone's address. Like the phones, it resends every 4 s, five
/// times, before giving up on a round.
#[derive(Debug, Clone)]
pub struct TftpFetcher {
    pub options: FetchOptions,
}

impl Default for TftpFetcher {
    fn default() -> Self {
        TftpFetcher {
            options: FetchOptions {
                timeout: Duration::from_secs(4),
                max_retries: 5,
                ..FetchOptions::default()
            },
        }
    }
}

impl Fetcher for TftpFetcher {
    async fn fetch(
        &self,
        server: SocketAddr,
        local: IpAddr,
        file: &str,
    ) -> Result<Vec<u8>, FetchError> {
        client::fetch(server, SocketAddr::new(local, 0), file, &self.options)
            .await
            .map_err(|e| match e {
                client::FetchError::Server { code, message, .. } => FetchError { code, message },
                other => FetchError {
                    code: 0,
                    message: other.to_string(),
                },
            })
    }
}

/// How a driven boot behaves.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// The phone's own address (a distinct 127.x.y.z per phone).
    pub local: IpAddr,
    /// How much of the phone's waits (20 s application start, 30 s config
    /// retries) to really sleep: 0 skips them (the emulated clock still
    /// counts them), 1 is real time.
    pub time_scale: f64,
    /// A phone whose request goes unanswered retries it from a new source
    /// port; after this many unanswered rounds the phone is told the
    /// transfer failed (TFTP error 0).
    pub fetch_rounds: u32,
}

impl Default for DriveOptions {
    fn default() -> Self {
        DriveOptions {
            local: IpAddr::V4(Ipv4Addr::LOCALHOST),
            time_scale: 0.0,
            fetch_rounds: 10,
        }
    }
}

/// The loopback address of the `i`-th emulated phone: 127.100.0.1,
/// 127.100.0.2, … 254 to a /24, never .0 or .255.
pub fn loopback_addr(i: u32) -> IpAddr {
    let y = i / 254;
    let z = (i % 254 + 1) as u8;
    IpAddr::V4(Ipv4Addr::new(
        127,
        100u32.saturating_add(y / 256).min(254) as u8,
        (y % 256) as u8,
        z,
    ))
}

/// Boots `phone` until it is stable or failed. The TFTP server is the one
/// the phone's settings select for what it runs, re-evaluated per request
/// (a SIP phone ignores DHCP option 150).
pub async fn boot(phone: Phone, fetcher: &impl Fetcher, opts: &DriveOptions) -> Report {
    let mut run = Run::new(phone);
    let step = run.start();
    drive(&mut run, step, fetcher, opts).await;
    run.report()
}

/// Carries out `step` and the steps that follow until the phone is stable
/// or failed.
async fn drive(run: &mut Run, mut step: Step, fetcher: &impl Fetcher, opts: &DriveOptions) {
    loop {
        step = match step {
            Step::Fetch(file) => {
                let Some(server) = run.phone().tftp_server() else {
                    let e = FetchError {
                        code: 0,
                        message: "no TFTP server: set the alternate TFTP server or DHCP option 66 (SIP) / 150 (SCCP)".into(),
                    };
                    step = run.fetched(&file, Err(e), Duration::ZERO);
                    continue;
                };
                let mut round = 1;
                loop {
                    let started = Instant::now();
                    let result = fetcher.fetch(server, opts.local, &file).await;
                    match result {
                        // No answer at all (a busy server drops requests):
                        // the phone asks again from a new port.
                        Err(e) if e.code == 0 && round < opts.fetch_rounds.max(1) => {
                            run.retrying(&file, &e.message, started.elapsed());
                            round += 1;
                        }
                        result => break run.fetched(&file, result, started.elapsed()),
                    }
                }
            }
            Step::Sleep(d) => {
                if opts.time_scale > 0.0 {
                    tokio::time::sleep(d.mul_f64(opts.time_scale)).await;
                }
                run.slept()
            }
            Step::Done => return,
        }
    }
}

/// The SIP side of a live phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipOptions {
    /// The UDP port the phone's SIP stack listens on (`voip_control_port`,
    /// 5060 by default), on the phone's own address.
    pub port: u16,
}

impl Default for SipOptions {
    fn default() -> Self {
        SipOptions { port: 5060 }
    }
}

/// One datagram on a live phone's SIP port.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SipEntry {
    /// The phone's clock (see [`Run::idle`]).
    pub at_ms: u64,
    pub from: SocketAddr,
    pub heard: Heard,
    /// The status line sent back, if any (`200 OK`).
    pub answered: Option<u16>,
}

/// What a live phone is doing, published after every change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveStatus {
    /// Where the phone's SIP application answers, while it is up and idle.
    pub listening: Option<SocketAddr>,
    /// How the last boot or check-sync ended; `None` while it is under way.
    pub outcome: Option<Outcome>,
    pub reboots: u32,
    /// check-sync NOTIFYs answered 200 OK and acted on.
    pub check_syncs: u32,
}

/// A live phone's whole life: every boot's transcript in one, and its SIP
/// traffic.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LiveReport {
    pub boot: Report,
    pub sip: Vec<SipEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("emulated phone {mac} cannot listen for SIP on {addr}: {source}; pick another --sip-port, or stop whatever holds it")]
    Bind {
        mac: String,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Boots `phone`, then keeps it alive until `stop` resolves: while it runs
/// a SIP load and is stable it answers SIP on its own address at
/// `sip.port` ([`crate::sip::Agent`]), and a check-sync NOTIFY makes it do
/// what the SIP loads do (after idle, fetch `syncinfo.xml`; reboot and
/// fetch its files again when the SYNC differs, else reload the dial
/// plan). `status` is updated on every change.
///
/// The socket is bound the first time the phone is up on SIP and kept
/// until the end, so a test's port cannot be taken by someone else while
/// the phone reboots; what arrives while it is busy or rebooting waits in
/// the socket, and after a reboot what is queued is thrown away unread
/// (as far as the reactor has seen it), as a rebooting phone never sees
/// it. A NOTIFY resent meanwhile is still acted on only once: the agent
/// remembers what it answered.
pub async fn live(
    phone: Phone,
    fetcher: &impl Fetcher,
    opts: &DriveOptions,
    sip: &SipOptions,
    stop: impl Future<Output = ()>,
    status: &watch::Sender<LiveStatus>,
) -> Result<LiveReport, LiveError> {
    tokio::pin!(stop);
    let mut run = Run::new(phone);
    publish(status, &run, None, 0);
    let first = run.start();
    let stopped = tokio::select! {
        _ = &mut stop => true,
        _ = drive(&mut run, first, fetcher, opts) => false,
    };
    if stopped {
        publish(status, &run, None, 0);
        return Ok(LiveReport {
            boot: run.report(),
            sip: Vec::new(),
        });
    }
    stay(run, fetcher, opts, sip, stop, status).await
}

/// Boots `phone` once, like [`boot`], and hands back the [`Run`] so that
/// the phone can [`stay`] up afterwards.
pub async fn booted(phone: Phone, fetcher: &impl Fetcher, opts: &DriveOptions) -> Run {
    let mut run = Run::new(phone);
    let step = run.start();
    drive(&mut run, step, fetcher, opts).await;
    run
}

fn publish(
    status: &watch::Sender<LiveStatus>,
    run: &Run,
    listening: Option<SocketAddr>,
    check_syncs: u32,
) {
    let outcome = match run.phone().state() {
        PhoneState::Stable(s) => Some(Outcome::Stable(s.clone())),
        PhoneState::Failed(f) => Some(Outcome::Failed(f.clone())),
        _ => None,
    };
    status.send_replace(LiveStatus {
        listening,
        outcome,
        reboots: run.phone().reboots(),
        check_syncs,
    });
}

/// Keeps a booted phone up until `stop` resolves: the second half of
/// [`live`].
pub async fn stay(
    mut run: Run,
    fetcher: &impl Fetcher,
    opts: &DriveOptions,
    sip: &SipOptions,
    stop: impl Future<Output = ()>,
    status: &watch::Sender<LiveStatus>,
) -> Result<LiveReport, LiveError> {
    tokio::pin!(stop);
    let mac = run.phone().config().mac.to_string();
    let mut agent = Agent::new(&mac);
    let mut log = Vec::new();
    let mut check_syncs = 0;
    let publish = |run: &Run, listening: Option<SocketAddr>, check_syncs: u32| {
        publish(status, run, listening, check_syncs)
    };
    let mut sock: Option<UdpSocket> = None;
    let mut heard_up_to = run.phone().reboots();
    let mut buf = vec![0u8; 65_535];
    loop {
        let on_sip =
            matches!(run.phone().state(), PhoneState::Stable(s) if s.protocol == Protocol::Sip);
        if !on_sip {
            // Failed, or on SCCP/MGCP: nothing will reach it any more.
            publish(&run, None, check_syncs);
            stop.as_mut().await;
            break;
        }
        let addr = SocketAddr::new(opts.local, sip.port);
        if sock.is_none() {
            let s = UdpSocket::bind(addr)
                .await
                .map_err(|source| LiveError::Bind {
                    mac: mac.clone(),
                    addr,
                    source,
                })?;
            sock = Some(s);
        }
        let Some(s) = sock.as_ref() else { break };
        if run.phone().reboots() != heard_up_to {
            while s.try_recv_from(&mut buf).is_ok() {}
            heard_up_to = run.phone().reboots();
        }
        publish(&run, Some(addr), check_syncs);
        let idle_since = Instant::now();
        let (n, from) = tokio::select! {
            _ = &mut stop => break,
            r = s.recv_from(&mut buf) => match r {
                Ok(x) => x,
                // An ICMP error from an earlier reply: nothing to read.
                Err(_) => continue,
            },
        };
        run.idle(idle_since.elapsed());
        let reply = agent.handle(&buf[..n], from);
        let answered = reply
            .send
            .as_ref()
            .and_then(|b| crate::sip::Response::parse(b).ok().map(|r| r.status));
        if let Some(bytes) = &reply.send {
            if let Err(e) = s.send_to(bytes, from).await {
                tracing::debug!(%mac, %from, error = %e, "SIP answer not sent");
            }
        }
        let check_sync = matches!(reply.heard, Heard::CheckSync { .. });
        log.push(SipEntry {
            at_ms: run.clock().as_millis() as u64,
            from,
            heard: reply.heard,
            answered,
        });
        if check_sync {
            check_syncs += 1;
            publish(&run, None, check_syncs);
            let next = run.notify_check_sync();
            let stopped = tokio::select! {
                _ = &mut stop => true,
                _ = drive(&mut run, next, fetcher, opts) => false,
            };
            if stopped {
                break;
            }
        }
    }
    publish(&run, None, check_syncs);
    Ok(LiveReport {
        boot: run.report(),
        sip: log,
    })
}

/// A [`live`] phone on its own task.
pub struct LivePhone {
    status: watch::Receiver<LiveStatus>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<LiveReport, LiveError>>,
}

impl LivePhone {
    pub fn spawn<F: Fetcher + 'static>(
        phone: Phone,
        fetcher: Arc<F>,
        opts: DriveOptions,
        sip: SipOptions,
    ) -> LivePhone {
        let (tx, rx) = watch::channel(LiveStatus::default());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = stop_rx.await;
            };
            live(phone, fetcher.as_ref(), &opts, &sip, stop, &tx).await
        });
        LivePhone {
            status: rx,
            stop: Some(stop_tx),
            task,
        }
    }

    pub fn status(&self) -> LiveStatus {
        self.status.borrow().clone()
    }

    /// Waits until `pred` holds, at most `timeout`; on timeout (or if the
    /// phone's task ended) returns the last status seen as the error.
    pub async fn wait_for(
        &mut self,
        pred: impl Fn(&LiveStatus) -> bool,
        timeout: Duration,
    ) -> Result<LiveStatus, LiveStatus> {
        let r = tokio::time::timeout(timeout, async {
            self.status.wait_for(|s| pred(s)).await.map(|s| s.clone())
        })
        .await;
        match r {
            Ok(Ok(s)) => Ok(s),
            _ => Err(self.status.borrow().clone()),
        }
    }

    /// Stops the phone and returns its report.
    pub async fn stop(mut self) -> Result<LiveReport, LiveError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.task.await {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// A server that leaves the first `drops` requests of each file
    /// unanswered, as a busy server at its transfer cap does.
    struct Busy {
        files: HashMap<String, Vec<u8>>,
        drops: u32,
        seen: Mutex<HashMap<String, u32>>,
    }

    impl Fetcher for Busy {
        async fn fetch(&self, _: SocketAddr, _: IpAddr, file: &str) -> Result<Vec<u8>, FetchError> {
            let n = {
                let mut seen = self.seen.lock().unwrap();
                let n = seen.entry(file.to_string()).or_insert(0);
                *n += 1;
                *n
            };
            if n <= self.drops {
                return Err(FetchError {
                    code: 0,
                    message: "no answer".into(),
                });
            }
            crate::run::memory_fetch(&self.files, file)
        }
    }

    fn phone() -> Phone {
        use crate::phone::{PhoneConfig, TftpSetting};
        use phoneflip_firmware::Protocol;
        Phone::new(
            PhoneConfig {
                mac: "002094D245CB".parse().unwrap(),
                model: phoneflip_device::Model::Cp7960,
                tftp: TftpSetting::Manual("127.0.0.1:69".parse().unwrap()),
            },
            crate::Flash::with_load(Protocol::Sccp, "5.0(1.1)".parse().unwrap()),
        )
    }

    #[tokio::test]
    async fn unanswered_requests_are_sent_again_then_reported() {
        let mut files = HashMap::new();
        files.insert("OS79XX.TXT".to_string(), b"P00305000101".to_vec());
        let busy = Busy {
            files: files.clone(),
            drops: 2,
            seen: Mutex::default(),
        };
        let r = boot(phone(), &busy, &DriveOptions::default()).await;
        assert!(r.outcome.is_stable(), "{:?}", r.outcome);
        assert_eq!(
            r.retries,
            2 * 3,
            "OS79XX.TXT, SEP and XMLDefault twice each"
        );
        assert!(r
            .transcript
            .iter()
            .any(|e| matches!(e, crate::run::Entry::Retry { file, .. } if file == "OS79XX.TXT")));

        // A server that never answers: the phone hears of it after the
        // last round and runs what it has.
        let dead = Busy {
            files,
            drops: u32::MAX,
            seen: Mutex::default(),
        };
        let opts = DriveOptions {
            fetch_rounds: 3,
            ..DriveOptions::default()
        };
        let r = boot(phone(), &dead, &opts).await;
        assert!(r
            .transcript
            .iter()
            .any(|e| matches!(e, crate::run::Entry::Error { code: 0, .. })));
    }

    #[test]
    fn loopback_addresses_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..70_000 {
            let a = loopback_addr(i);
            match a {
                IpAddr::V4(v4) => {
                    assert_eq!(v4.octets()[0], 127);
                    assert!(v4.octets()[3] != 0 && v4.octets()[3] != 255);
                }
                _ => unreachable!(),
            }
            assert!(seen.insert(a), "{a} twice");
        }
    }
}

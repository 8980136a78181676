//! The tokio driver: boots a [`Phone`] against a real TFTP server over UDP,
//! from its own loopback address, as plain RFC 1350 reads (octet mode, no
//! options), like the phones.
//!
//! The transfer itself is behind [`Fetcher`] so the core never sees a
//! socket; [`TftpFetcher`] uses `phoneflip_tftp::client::fetch`.
//!
//! [`boot`] runs one boot; [`live`] (and [`LivePhone`] on its own task)
//! keeps a phone up afterwards with a real SIP UDP endpoint, so a server
//! can reset it with a check-sync NOTIFY as it would a real phone, and
//! its user agent ([`crate::ua`]) registers its lines with the proxy its
//! files name and places and answers calls ([`Command`]).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use phoneflip_firmware::Protocol;
use phoneflip_tftp::client::{self, FetchOptions};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

use crate::phone::{Phone, PhoneState};
use crate::run::{FetchError, Outcome, Report, Run, Step};
use crate::sip::{Agent, Heard};
use crate::ua::{CallError, CallId, CallStatus, LineStatus, Registration, UaConfig, UserAgent};

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
    /// Every configured line's registration (empty before a SIP boot).
    pub lines: Vec<LineStatus>,
    /// Calls placed or answered since the last boot.
    pub calls: Vec<CallStatus>,
    /// Why the phone's files do not let it register at all (no
    /// `proxy1_address`, …), when they do not.
    pub ua_error: Option<String>,
}

impl LiveStatus {
    /// Whether every configured line is registered (and there is one).
    pub fn all_registered(&self) -> bool {
        !self.lines.is_empty()
            && self
                .lines
                .iter()
                .all(|l| matches!(l.registration, Registration::Registered { .. }))
    }

    /// Whether every line has a verdict: registered, failed or disabled.
    pub fn registration_settled(&self) -> bool {
        self.ua_error.is_some()
            || (self.outcome.is_some()
                && self
                    .lines
                    .iter()
                    .all(|l| !matches!(l.registration, Registration::Trying)))
    }
}

/// What a test or `rehearse` asks a live phone to do.
#[derive(Debug)]
pub enum Command {
    /// Call `user` (at the proxy's domain) from line `line`.
    Call {
        line: u8,
        user: String,
        reply: oneshot::Sender<Result<CallId, CallError>>,
    },
    HangUp {
        call: CallId,
        reply: oneshot::Sender<Result<(), CallError>>,
    },
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
    publish_ua(status, run, listening, check_syncs, None, None)
}

fn publish_ua(
    status: &watch::Sender<LiveStatus>,
    run: &Run,
    listening: Option<SocketAddr>,
    check_syncs: u32,
    ua: Option<&UserAgent>,
    ua_error: Option<&str>,
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
        lines: ua.map(UserAgent::lines).unwrap_or_default(),
        calls: ua.map(UserAgent::calls).unwrap_or_default(),
        ua_error: ua_error.map(str::to_string),
    });
}

/// Keeps a booted phone up until `stop` resolves: the second half of
/// [`live`].
pub async fn stay(
    run: Run,
    fetcher: &impl Fetcher,
    opts: &DriveOptions,
    sip: &SipOptions,
    stop: impl Future<Output = ()>,
    status: &watch::Sender<LiveStatus>,
) -> Result<LiveReport, LiveError> {
    stay_with(run, fetcher, opts, sip, stop, status, None).await
}

/// [`stay`], also taking [`Command`]s (place a call, hang up).
///
/// After every SIP boot the phone's user agent ([`crate::ua`]) is built
/// from the files it just read and registers its lines (when
/// `proxy_register` is 1); its timers run on real time, since a real
/// registrar is on the other side.
pub async fn stay_with(
    mut run: Run,
    fetcher: &impl Fetcher,
    opts: &DriveOptions,
    sip: &SipOptions,
    stop: impl Future<Output = ()>,
    status: &watch::Sender<LiveStatus>,
    mut commands: Option<mpsc::UnboundedReceiver<Command>>,
) -> Result<LiveReport, LiveError> {
    tokio::pin!(stop);
    let mac = run.phone().config().mac.to_string();
    let mut log = Vec::new();
    let mut check_syncs = 0;
    let mut sock: Option<UdpSocket> = None;
    let mut heard_up_to = run.phone().reboots();
    let mut buf = vec![0u8; 65_535];
    let t0 = Instant::now();
    // The user agent of the current boot, rebuilt after every reboot.
    let mut ua: Option<(u32, UserAgent)> = None;
    let mut ua_error: Option<String> = None;
    loop {
        let on_sip =
            matches!(run.phone().state(), PhoneState::Stable(s) if s.protocol == Protocol::Sip);
        if !on_sip {
            // Failed, or on SCCP/MGCP: nothing will reach it any more.
            publish(status, &run, None, check_syncs);
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
        let boot = run.phone().reboots();
        if ua.as_ref().is_none_or(|(b, _)| *b != boot) {
            let seed = format!("{mac}{boot}t{}", t0.elapsed().as_micros());
            let agent = match ua.take() {
                Some((_, old)) => old.into_agent(),
                None => Agent::new(&mac),
            };
            match UaConfig::from_files(&run.phone().sip_files()) {
                Ok(cfg) => {
                    let mut agent = UserAgent::new(cfg, addr, &seed).with_agent(agent);
                    let out = agent.start(t0.elapsed());
                    send_all(s, &mac, &out.send).await;
                    ua = Some((boot, agent));
                    ua_error = None;
                }
                Err(e) => {
                    // No proxy: the phone still answers NOTIFY and OPTIONS.
                    let cfg = UaConfig {
                        proxy: addr,
                        domain: addr.ip().to_string(),
                        register: false,
                        expires: 3600,
                        t1: Duration::from_millis(500),
                        lines: Vec::new(),
                    };
                    ua = Some((boot, UserAgent::new(cfg, addr, &seed).with_agent(agent)));
                    ua_error = Some(e.to_string());
                }
            }
        }
        let Some((_, agent)) = ua.as_mut() else { break };
        publish_ua(
            status,
            &run,
            Some(addr),
            check_syncs,
            Some(agent),
            ua_error.as_deref(),
        );
        let idle_since = Instant::now();
        let deadline = agent.next_deadline();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep(d.saturating_sub(t0.elapsed())).await,
                None => std::future::pending().await,
            }
        };
        let command = async {
            match commands.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        let got = tokio::select! {
            _ = &mut stop => break,
            _ = sleep => None,
            c = command => {
                match c {
                    Some(c) => Some(Err(c)),
                    None => { commands = None; None }
                }
            }
            r = s.recv_from(&mut buf) => match r {
                Ok(x) => Some(Ok(x)),
                // An ICMP error from an earlier reply: nothing to read.
                Err(_) => continue,
            },
        };
        run.idle(idle_since.elapsed());
        let now = t0.elapsed();
        let (n, from) = match got {
            None => {
                let out = agent.tick(now);
                send_all(s, &mac, &out.send).await;
                continue;
            }
            Some(Err(Command::Call { line, user, reply })) => {
                let r = agent.call(now, line, &user).map(|(id, out)| (id, out.send));
                let r = match r {
                    Ok((id, send)) => {
                        send_all(s, &mac, &send).await;
                        Ok(id)
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(r);
                continue;
            }
            Some(Err(Command::HangUp { call, reply })) => {
                let r = agent.hang_up(now, call).map(|out| out.send);
                let r = match r {
                    Ok(send) => {
                        send_all(s, &mac, &send).await;
                        Ok(())
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(r);
                continue;
            }
            Some(Ok(x)) => x,
        };
        let out = agent.handle(now, &buf[..n], from);
        let answered = out
            .send
            .iter()
            .find(|(to, _)| *to == from)
            .and_then(|(_, b)| crate::sip::Response::parse(b).ok().map(|r| r.status));
        send_all(s, &mac, &out.send).await;
        let heard = out.heard.unwrap_or(Heard::Silent {
            what: "nothing to do".into(),
        });
        let check_sync = matches!(heard, Heard::CheckSync { .. });
        log.push(SipEntry {
            at_ms: run.clock().as_millis() as u64,
            from,
            heard,
            answered,
        });
        if check_sync {
            check_syncs += 1;
            publish(status, &run, None, check_syncs);
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
    publish_ua(
        status,
        &run,
        None,
        check_syncs,
        ua.as_ref().map(|(_, a)| a),
        ua_error.as_deref(),
    );
    Ok(LiveReport {
        boot: run.report(),
        sip: log,
    })
}

async fn send_all(s: &UdpSocket, mac: &str, send: &[(SocketAddr, Vec<u8>)]) {
    for (to, bytes) in send {
        if let Err(e) = s.send_to(bytes, to).await {
            tracing::debug!(%mac, %to, error = %e, "SIP datagram not sent");
        }
    }
}

/// A [`live`] phone on its own task.
pub struct LivePhone {
    status: watch::Receiver<LiveStatus>,
    stop: Option<oneshot::Sender<()>>,
    commands: mpsc::UnboundedSender<Command>,
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
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut stop_rx = stop_rx;
            let mut run = Run::new(phone);
            publish(&tx, &run, None, 0);
            let first = run.start();
            let stopped = tokio::select! {
                _ = &mut stop_rx => true,
                _ = drive(&mut run, first, fetcher.as_ref(), &opts) => false,
            };
            if stopped {
                publish(&tx, &run, None, 0);
                return Ok(LiveReport {
                    boot: run.report(),
                    sip: Vec::new(),
                });
            }
            let stop = async {
                let _ = stop_rx.await;
            };
            stay_with(run, fetcher.as_ref(), &opts, &sip, stop, &tx, Some(cmd_rx)).await
        });
        LivePhone {
            status: rx,
            stop: Some(stop_tx),
            commands: cmd_tx,
            task,
        }
    }

    /// Places a call from `line` to `user`; the call's progress shows in
    /// [`LiveStatus::calls`] under the returned id.
    pub async fn call(&self, line: u8, user: &str) -> Result<CallId, CallError> {
        let (reply, rx) = oneshot::channel();
        let gone = CallError::BadTarget("the phone is not running".into());
        self.commands
            .send(Command::Call {
                line,
                user: user.to_string(),
                reply,
            })
            .map_err(|_| gone.clone())?;
        rx.await.unwrap_or(Err(gone))
    }

    /// Ends an established call with BYE.
    pub async fn hang_up(&self, call: CallId) -> Result<(), CallError> {
        let (reply, rx) = oneshot::channel();
        let gone = CallError::NoSuchCall(call);
        self.commands
            .send(Command::HangUp { call, reply })
            .map_err(|_| gone.clone())?;
        rx.await.unwrap_or(Err(gone))
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

//! The tokio TFTP server: one ephemeral socket (a new transfer ID) per
//! transfer, each transfer a task driving a [`ReadTransfer`] or a
//! [`Receiver`].
//!
//! Requests arrive on one socket per worker thread, all bound to the same
//! address with SO_REUSEPORT, so the kernel spreads them over the workers;
//! each worker is a current-thread tokio runtime that runs the transfers
//! of the requests it received from start to end. A packet of a transfer
//! is handled on the thread that waited for it: no work stealing, no
//! wake-ups handed between threads, no lock contended per packet.
//!
//! Built for boot storms: a cap of 1,000 concurrent transfers by default
//! (beyond it requests are dropped silently, so phones simply retry as
//! they do every 4 s), small per-transfer memory (hot files are shared
//! from the cache; big files are read block by block), a separate cap on
//! concurrent firmware image downloads and an optional per-client byte
//! rate so a conversion cannot saturate the network.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::core::options::{negotiate, Limits};
use crate::core::packet::{self, ErrorCode, Mode, Packet, Request};
use crate::core::read::ReadTransfer;
use crate::core::receive::{ReceiveLimits, Receiver};
use crate::core::{netascii, sanitize_name, Outcome};
use crate::log::{Direction, EventOutcome, EventSink, TransferEvent, TransferLog};
use crate::source::{Body, Content, DiskLookup, DiskRoot, FileSource, Resolution, ResolveRequest};

/// Extensions of firmware images, counted against `max_image_transfers`.
pub const IMAGE_EXTENSIONS: &[&str] = &["bin", "sbn", "loads", "sb2", "sbin", "zip"];

pub fn is_image(name: &str) -> bool {
    name.rsplit_once('.')
        .map(|(_, ext)| IMAGE_EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(ext)))
        .unwrap_or(false)
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    pub root: PathBuf,
    /// Concurrent transfers; requests beyond are dropped (clients retry).
    pub max_transfers: usize,
    /// Concurrent firmware image downloads (see [`IMAGE_EXTENSIONS`]).
    pub max_image_transfers: usize,
    /// Bytes per second per client IP address; None for unlimited.
    pub client_rate: Option<u64>,
    /// Enables WRQ, into this folder only (flat names, no overwrite).
    pub upload_dir: Option<PathBuf>,
    pub max_upload: u64,
    pub limits: Limits,
    /// Consecutive retransmissions without progress before a transfer is
    /// abandoned. With the timer doubling each time up to
    /// `max_retry_timeout`, the defaults wait 1+2+4+8+16+32 = 63 s, as
    /// tftpd-hpa does, which outlasts clients that re-ACK only every few
    /// seconds (atftp) or once a minute (curl without --max-time).
    pub max_retries: u32,
    /// Upper bound of the doubling retransmission timer.
    pub max_retry_timeout: Duration,
    /// Overall limit of one transfer, however it progresses: sized for a
    /// 700 KB image over a lossy link at 512-byte blocks, and still
    /// bounds how long one client can hold a transfer slot.
    pub transfer_deadline: Duration,
    /// Files up to this size are cached in memory...
    pub cache_file_max: u64,
    /// ...within this total.
    pub cache_total: u64,
    /// How long shutdown waits for transfers in flight.
    pub drain_timeout: Duration,
    /// Worker threads (each with its own request socket); 0 for one per
    /// core (at most 8).
    pub workers: usize,
    /// A cached file is served without looking at the disk while the
    /// root's inotify watch reports no change, for at most this long;
    /// then it is checked again (a backstop for changes inotify cannot
    /// see, such as a write through a hard link outside the root).
    pub cache_revalidate: Duration,
}

impl ServerConfig {
    pub fn new(bind: SocketAddr, root: impl Into<PathBuf>) -> Self {
        ServerConfig {
            bind,
            root: root.into(),
            max_transfers: 1000,
            max_image_transfers: 250,
            client_rate: None,
            upload_dir: None,
            max_upload: 64 << 20,
            limits: Limits::default(),
            max_retries: 6,
            max_retry_timeout: Duration::from_secs(32),
            transfer_deadline: Duration::from_secs(30 * 60),
            cache_file_max: 64 << 20,
            cache_total: 512 << 20,
            drain_timeout: Duration::from_secs(60),
            workers: 0,
            cache_revalidate: Duration::from_secs(2),
        }
    }
}

#[derive(Clone, Copy)]
struct Ended {
    at: Instant,
    wall: SystemTime,
    request_hash: u64,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

struct Shared {
    cfg: ServerConfig,
    bind_ip: IpAddr,
    disk: Arc<DiskRoot>,
    upload: Option<PathBuf>,
    source: Arc<dyn FileSource>,
    events: Arc<dyn EventSink>,
    log: TransferLog,
    transfers: Arc<Semaphore>,
    images: Arc<Semaphore>,
    active: Mutex<HashMap<SocketAddr, Arc<InFlight>>>,
    /// Transfers that ended lately: client, when (monotonic, for the
    /// window; wall clock, to compare with a datagram's kernel arrival
    /// time), and a hash of the request datagram that started them.
    recent: Mutex<HashMap<SocketAddr, Ended>>,
    rates: Mutex<HashMap<IpAddr, Bucket>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Time to wait before sending `n` more bytes to `ip`.
    fn reserve(&self, ip: IpAddr, n: usize) -> Duration {
        let Some(rate) = self.cfg.client_rate.filter(|r| *r > 0) else {
            return Duration::ZERO;
        };
        let rate = rate as f64;
        let now = Instant::now();
        let mut map = lock(&self.rates);
        if map.len() > 65_536 {
            map.retain(|_, b| now.duration_since(b.last) < Duration::from_secs(10));
        }
        let b = map.entry(ip).or_insert(Bucket {
            tokens: rate,
            last: now,
        });
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(rate);
        b.last = now;
        b.tokens -= n as f64;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / rate)
        }
    }
}

/// How long a finished transfer's request is remembered: a copy of it
/// that reached the request socket before the transfer ended (the client
/// repeated its RRQ during a storm and the copy waited in the socket's
/// queue) would start a second transfer to a client that has its file and
/// is gone, which then retries for a minute holding a transfer slot. The
/// kernel's arrival time of the datagram tells such a copy from the same
/// request sent again after the end: a client asking again from the same
/// port (ports are reused within seconds when one host fetches thousands
/// of files: the same request was then ignored and the client waited a
/// whole retransmission timeout) is served.
const LATE_DUPLICATE_WINDOW: Duration = Duration::from_secs(3);

/// `SIOCGSTAMPNS` (asm-generic/sockios.h; `SIOCGSTAMPNS_OLD`, the same
/// `struct timespec` layout on 64-bit targets): the arrival time of the
/// last datagram read from a socket. Not exported by the libc crate.
#[cfg(target_pointer_width = "64")]
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;

/// When the kernel received the datagram last read from `fd` (wall
/// clock). The first call on a socket turns the time stamps on (the
/// kernel does so in deferred work: datagrams of the next few
/// milliseconds may carry none, and then read as arriving now) and
/// answers None; so does a kernel or target without them.
fn last_arrival(fd: std::os::fd::RawFd) -> Option<SystemTime> {
    #[cfg(target_pointer_width = "64")]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: SIOCGSTAMPNS writes one `struct timespec` to the pointer.
        let r = unsafe { libc::ioctl(fd, SIOCGSTAMPNS as _, &mut ts as *mut libc::timespec) };
        if r != 0 || ts.tv_sec <= 0 {
            return None;
        }
        Some(
            std::time::UNIX_EPOCH
                + Duration::new(ts.tv_sec as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32),
        )
    }
    #[cfg(not(target_pointer_width = "64"))]
    {
        let _ = fd;
        None
    }
}

fn datagram_hash(d: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    d.hash(&mut h);
    h.finish()
}

/// A transfer in flight, as the request sockets see it.
#[derive(Default)]
struct InFlight {
    /// Wall-clock nanoseconds since the epoch just before the last block
    /// first went out; 0 until then.
    all_sent_at: AtomicU64,
    /// Notified when the client sent a request again after that: it has
    /// its file (or gave up) and moved on, so the transfer is over.
    superseded: tokio::sync::Notify,
}

fn wall_nanos(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Forgets `client`'s transfer in flight if it is still `mine` (a newer
/// request may have taken the address over).
fn release(shared: &Shared, client: SocketAddr, mine: &Arc<InFlight>) {
    let mut active = lock(&shared.active);
    if active
        .get(&client)
        .is_some_and(|cur| Arc::ptr_eq(cur, mine))
    {
        active.remove(&client);
    }
}

/// Removes the client from the in-flight set when its transfer ends.
struct ActiveGuard {
    shared: Arc<Shared>,
    client: SocketAddr,
    request_hash: u64,
    inflight: Arc<InFlight>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        release(&self.shared, self.client, &self.inflight);
        let now = Instant::now();
        let ended = Ended {
            at: now,
            wall: SystemTime::now(),
            request_hash: self.request_hash,
        };
        let mut recent = lock(&self.shared.recent);
        if recent.len() >= 65_536 {
            recent.retain(|_, e| now.duration_since(e.at) < LATE_DUPLICATE_WINDOW);
        }
        recent.insert(self.client, ended);
    }
}

/// A bound server; call [`run`](Server::run).
pub struct Server {
    /// One request socket per worker, all on the same address.
    socks: Vec<std::net::UdpSocket>,
    addr: SocketAddr,
    shared: Arc<Shared>,
}

/// Worker threads when [`ServerConfig::workers`] is 0.
fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
}

impl Server {
    pub async fn bind(
        cfg: ServerConfig,
        source: Arc<dyn FileSource>,
        events: Arc<dyn EventSink>,
        log: TransferLog,
    ) -> io::Result<Server> {
        let disk = DiskRoot::new(
            &cfg.root,
            cfg.cache_file_max,
            cfg.cache_total,
            cfg.cache_revalidate,
        )?;
        let upload = match &cfg.upload_dir {
            Some(d) => Some(d.canonicalize().map_err(|e| {
                io::Error::new(e.kind(), format!("upload folder {}: {e}", d.display()))
            })?),
            None => None,
        };
        let workers = if cfg.workers == 0 {
            default_workers()
        } else {
            cfg.workers
        };
        let socks = bind_request_sockets(cfg.bind, workers).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot bind the TFTP socket to {}: {e}", cfg.bind),
            )
        })?;
        let addr = socks[0].local_addr()?;
        let bind_ip = cfg.bind.ip();
        let shared = Shared {
            transfers: Arc::new(Semaphore::new(cfg.max_transfers.max(1))),
            images: Arc::new(Semaphore::new(cfg.max_image_transfers.max(1))),
            cfg,
            bind_ip,
            disk: Arc::new(disk),
            upload,
            source,
            events,
            log,
            active: Mutex::new(HashMap::new()),
            recent: Mutex::new(HashMap::new()),
            rates: Mutex::new(HashMap::new()),
        };
        Ok(Server {
            socks,
            addr,
            shared: Arc::new(shared),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }

    /// The root actually served (canonical).
    pub fn root(&self) -> &std::path::Path {
        self.shared.disk.root()
    }

    /// Serves until `shutdown` completes, then stops taking requests and
    /// waits (up to `drain_timeout`) for transfers in flight to finish.
    ///
    /// The transfers run on the server's own worker threads, whatever
    /// runtime awaits this future.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        // 0 = serving, 1 = stop taking requests, 2 = stop everything.
        let (phase_tx, phase_rx) = tokio::sync::watch::channel(0u8);
        let mut threads = Vec::new();
        let mut exited = Vec::new();
        for (i, sock) in self.socks.into_iter().enumerate() {
            let shared = self.shared.clone();
            let phase = phase_rx.clone();
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<io::Result<()>>();
            let (exit_tx, exit_rx) = tokio::sync::oneshot::channel::<()>();
            let t = std::thread::Builder::new()
                .name(format!("tftp-{i}"))
                .spawn(move || {
                    worker(sock, shared, phase, ready_tx);
                    let _ = exit_tx.send(());
                })?;
            match ready_rx.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    let _ = phase_tx.send(2);
                    return Err(e);
                }
                Err(_) => {
                    let _ = phase_tx.send(2);
                    return Err(io::Error::other("a TFTP worker thread ended at start-up"));
                }
            }
            threads.push(t);
            exited.push(exit_rx);
        }
        shutdown.await;
        let _ = phase_tx.send(1);
        let all = self.shared.cfg.max_transfers.max(1) as u32;
        let in_flight = all as usize - self.shared.transfers.available_permits();
        if in_flight > 0 {
            tracing::info!("TFTP server stopping: waiting for {in_flight} transfers in flight");
        }
        let drained = tokio::time::timeout(
            self.shared.cfg.drain_timeout,
            self.shared.transfers.acquire_many(all),
        )
        .await;
        if drained.is_err() {
            tracing::warn!(
                "TFTP server stopped with transfers still running after {:?}",
                self.shared.cfg.drain_timeout
            );
        }
        let _ = phase_tx.send(2);
        for e in exited {
            let _ = e.await;
        }
        for t in threads {
            let _ = t.join();
        }
        self.shared.log.flush();
        Ok(())
    }
}

/// One worker thread: a current-thread runtime serving the requests of
/// its socket and running their transfers until `phase` says stop.
fn worker(
    sock: std::net::UdpSocket,
    shared: Arc<Shared>,
    mut phase: tokio::sync::watch::Receiver<u8>,
    ready: tokio::sync::oneshot::Sender<io::Result<()>>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    rt.block_on(async move {
        let sock = match UdpSocket::from_std(sock) {
            Ok(s) => s,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        // Turns the kernel's arrival time stamps on (see `last_arrival`).
        let _ = last_arrival(sock.as_raw_fd());
        let _ = ready.send(Ok(()));
        let w = Worker { sock, shared };
        let mut buf = vec![0u8; 2048];
        loop {
            tokio::select! {
                _ = phase.wait_for(|p| *p >= 1) => break,
                r = w.sock.recv_from(&mut buf) => match r {
                    Ok((n, from)) => w.dispatch(&buf[..n], from),
                    Err(e) => tracing::debug!("TFTP request socket: {e}"),
                },
            }
        }
        drop(w);
        // Transfers in flight go on until the server says everything stops.
        let _ = phase.wait_for(|p| *p >= 2).await;
    });
}

/// A worker's request socket and the server's shared state.
struct Worker {
    sock: UdpSocket,
    shared: Arc<Shared>,
}

impl Worker {
    fn dispatch(&self, datagram: &[u8], from: SocketAddr) {
        let (req, write) = match Packet::parse(datagram) {
            Ok(Packet::Rrq(r)) => (r, false),
            Ok(Packet::Wrq(r)) => (r, true),
            Ok(other) => {
                tracing::debug!("ignoring {other} from {from} on the request port");
                return;
            }
            Err(e) => {
                tracing::warn!("bad TFTP request from {from}: {e}");
                if matches!(packet::opcode(datagram), Some(1) | Some(2)) {
                    let mut v = Vec::new();
                    packet::write_error(&mut v, ErrorCode::IllegalOperation.code(), &e.to_string());
                    // Non-blocking: a full send buffer drops this answer,
                    // as the network may.
                    let _ = self.sock.try_send_to(&v, from);
                }
                return;
            }
        };
        let request_hash = datagram_hash(datagram);
        let ended = lock(&self.shared.recent).get(&from).copied();
        if let Some(e) = ended.filter(|e| {
            !write && e.request_hash == request_hash && e.at.elapsed() < LATE_DUPLICATE_WINDOW
        }) {
            // Unknown arrival: a late copy, as before time stamps.
            let sent_again =
                last_arrival(self.sock.as_raw_fd()).is_some_and(|arrived| arrived > e.wall);
            if !sent_again {
                tracing::debug!(
                    "late copy of the request for {:?} from {from} (served {:?} ago) ignored",
                    req.filename,
                    e.at.elapsed()
                );
                return;
            }
        }
        let inflight = Arc::new(InFlight::default());
        {
            let mut active = lock(&self.shared.active);
            if let Some(cur) = active.get(&from) {
                // A request that reached us after the transfer in flight
                // sent its last block comes from a client that is done
                // with it: the same port asking again (one host fetching
                // thousands of files reuses ports while our side still
                // waits for the final ACK). Anything earlier is the client
                // repeating its request before our first answer reached
                // it: the transfer in flight answers it.
                let done = cur.all_sent_at.load(Ordering::Acquire);
                let moved_on = !write
                    && done != 0
                    && last_arrival(self.sock.as_raw_fd())
                        .is_some_and(|arrived| wall_nanos(arrived) > done);
                if !moved_on {
                    tracing::debug!(
                        "duplicate request for {:?} from {from} ignored",
                        req.filename
                    );
                    return;
                }
                tracing::debug!(
                    "{from} asked for {:?} after its transfer in flight sent the last block: that one is over",
                    req.filename
                );
                cur.superseded.notify_one();
            }
            active.insert(from, inflight.clone());
        }
        let permit = match self.shared.transfers.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                release(&self.shared, from, &inflight);
                tracing::warn!(
                    "{} transfers in progress (the --max-transfers cap): dropping request for {:?} from {from}; it will retry",
                    self.shared.cfg.max_transfers,
                    req.filename
                );
                return;
            }
        };
        let guard = ActiveGuard {
            shared: self.shared.clone(),
            client: from,
            request_hash,
            inflight: inflight.clone(),
            _permit: permit,
        };
        let shared = self.shared.clone();
        tokio::spawn(async move {
            if write {
                handle_write(&shared, from, req, &inflight).await;
            } else {
                handle_read(&shared, from, req, &inflight).await;
            }
            drop(guard);
        });
    }
}

/// Size asked for the request socket's receive buffer: a boot storm sends
/// a thousand RRQs at once, and the default (about 200 KB) holds only a few
/// hundred before the kernel drops the rest (the phones would retry only
/// 4 s later). The kernel caps it at net.core.rmem_max.
const REQUEST_RCVBUF: usize = 4 << 20;

/// `n` request sockets on `addr`, sharing it through SO_REUSEPORT (the
/// kernel spreads clients over them by address and port). Before that, a
/// fixed port is probed with a plain socket: a port held by another
/// server (another phoneflip included, which would otherwise join the
/// group and take half the requests) fails here with "address in use".
fn bind_request_sockets(addr: SocketAddr, n: usize) -> io::Result<Vec<std::net::UdpSocket>> {
    if addr.port() != 0 {
        drop(std::net::UdpSocket::bind(addr)?);
    }
    let first = bind_request_socket(addr, n > 1)?;
    let addr = first.local_addr()?;
    let mut socks = vec![first];
    for _ in 1..n {
        match bind_request_socket(addr, true) {
            Ok(s) => socks.push(s),
            Err(e) => {
                tracing::debug!(
                    "TFTP: one more request socket on {addr}: {e}; serving with {}",
                    socks.len()
                );
                break;
            }
        }
    }
    Ok(socks)
}

fn bind_request_socket(addr: SocketAddr, reuse_port: bool) -> io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if reuse_port {
        let one: libc::c_int = 1;
        // SAFETY: setsockopt reads `one` for the given length only.
        let r = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_REUSEPORT,
                &one as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    if let Err(e) = sock.set_recv_buffer_size(REQUEST_RCVBUF) {
        tracing::debug!("cannot enlarge the TFTP request socket buffer: {e}");
    }
    if sock.recv_buffer_size().unwrap_or(0) < REQUEST_RCVBUF {
        // Beyond net.core.rmem_max only with CAP_NET_ADMIN (a server on
        // port 69 usually runs as root); failure just keeps the default.
        let size = REQUEST_RCVBUF as libc::c_int;
        // SAFETY: setsockopt reads `size` for the given length only.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                &size as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    sock.bind(&addr.into())?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

/// Raises the soft limit on open files towards `wanted` (each transfer
/// holds one socket), up to the hard limit; returns the resulting limit.
pub fn raise_fd_limit(wanted: u64) -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < wanted {
        let target = wanted.min(lim.rlim_max);
        if target > lim.rlim_cur {
            let new = libc::rlimit {
                rlim_cur: target,
                rlim_max: lim.rlim_max,
            };
            // SAFETY: as above.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } != 0 {
                return Err(io::Error::last_os_error());
            }
            lim.rlim_cur = target;
        }
    }
    Ok(lim.rlim_cur)
}

struct Finish<'a> {
    shared: &'a Shared,
    file: String,
    client: SocketAddr,
    direction: Direction,
    virtual_file: bool,
    size: Option<u64>,
    started: SystemTime,
}

impl Finish<'_> {
    fn done(self, bytes: u64, outcome: EventOutcome) {
        let ended = SystemTime::now();
        self.shared.log.result(ended, &outcome);
        self.shared.events.record(TransferEvent {
            file: self.file,
            client: self.client,
            direction: self.direction,
            virtual_file: self.virtual_file,
            bytes,
            size: self.size,
            outcome,
            started: self.started,
            ended,
        });
    }
}

async fn new_socket(shared: &Shared) -> Option<UdpSocket> {
    match UdpSocket::bind(SocketAddr::new(shared.bind_ip, 0)).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(
                "cannot open a TFTP transfer socket on {}: {e}",
                shared.bind_ip
            );
            None
        }
    }
}

async fn send_error(sock: &UdpSocket, to: SocketAddr, code: ErrorCode, msg: &str) {
    let mut v = Vec::with_capacity(msg.len() + 5);
    packet::write_error(&mut v, code.code(), msg);
    let _ = sock.send_to(&v, to).await;
}

/// A file of the root: from memory when nothing changed, else walked and
/// read on the blocking pool, off the worker that serves other transfers.
async fn disk_lookup(shared: &Shared, name: &str) -> DiskLookup {
    if let Some(hit) = shared.disk.cached(name) {
        return hit;
    }
    let disk = shared.disk.clone();
    let owned = name.to_string();
    match tokio::task::spawn_blocking(move || disk.lookup(&owned)).await {
        Ok(r) => r,
        Err(e) => DiskLookup::Io(io::Error::other(e.to_string())),
    }
}

async fn handle_read(shared: &Shared, from: SocketAddr, req: Request, inflight: &InFlight) {
    let started = SystemTime::now();
    let Some(sock) = new_socket(shared).await else {
        return;
    };
    let mut fin = Finish {
        shared,
        file: req.filename.clone(),
        client: from,
        direction: Direction::Send,
        virtual_file: false,
        size: None,
        started,
    };
    shared.log.sending(started, &req.filename, from, req.mode);
    let name = match sanitize_name(&req.filename) {
        Ok(n) => n,
        Err(why) => {
            tracing::warn!("refused read from {from}: {why}");
            send_error(&sock, from, ErrorCode::AccessViolation, "Access violation").await;
            fin.done(0, EventOutcome::Refused(why.to_string()));
            return;
        }
    };
    fin.file.clone_from(&name);
    if req.mode == Mode::Mail {
        send_error(
            &sock,
            from,
            ErrorCode::IllegalOperation,
            "Mail mode is not supported",
        )
        .await;
        fin.done(0, EventOutcome::Refused("mail mode".into()));
        return;
    }
    let rr = ResolveRequest {
        filename: &name,
        raw_filename: &req.filename,
        client: from,
        mode: req.mode,
        options: &req.options,
    };
    let resolution = shared.source.resolve(&rr);
    // An alias is looked up under the name it stands for; the log and the
    // events keep the name the phone asked for.
    let disk_name = match &resolution {
        Resolution::RootFile(other) => other.as_str(),
        _ => name.as_str(),
    };
    let content = match resolution {
        Resolution::Virtual(b) => {
            fin.virtual_file = true;
            Content::Mem(b)
        }
        Resolution::Deny { code, message } => {
            send_error(&sock, from, code, &message).await;
            let outcome = if code == ErrorCode::FileNotFound {
                EventOutcome::NotFound
            } else {
                EventOutcome::Refused(message)
            };
            fin.done(0, outcome);
            return;
        }
        Resolution::NotHere | Resolution::RootFile(_) => {
            match disk_lookup(shared, disk_name).await {
                DiskLookup::Found(c) => c,
                DiskLookup::NotFound { case_match } => {
                    if let Some(other) = case_match {
                        let msg = format!(
                        "'{name}' not found, but '{other}' exists: file names are case sensitive and the phones will not find it; rename it"
                    );
                        tracing::warn!("{msg}");
                        shared.log.line(SystemTime::now(), &msg);
                    }
                    // Code 1 and nothing else: the loader stops hunting for
                    // config files on any other error (CSCee31047).
                    send_error(&sock, from, ErrorCode::FileNotFound, "File not found").await;
                    fin.done(0, EventOutcome::NotFound);
                    return;
                }
                DiskLookup::Escapes(target) => {
                    let why = format!("'{name}' resolves to {} outside the root", target.display());
                    tracing::warn!("refused read from {from}: {why}");
                    send_error(&sock, from, ErrorCode::AccessViolation, "Access violation").await;
                    fin.done(0, EventOutcome::Refused(why));
                    return;
                }
                DiskLookup::Io(e) => {
                    let why = format!("cannot read '{name}': {e}");
                    tracing::warn!("{why}");
                    send_error(&sock, from, ErrorCode::AccessViolation, "Access violation").await;
                    fin.done(0, EventOutcome::Refused(why));
                    return;
                }
            }
        }
    };
    let _image_permit = if is_image(&name) {
        match shared.images.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                let why = format!(
                    "{} image downloads in progress (the image cap); '{name}' not sent, the phone will retry",
                    shared.cfg.max_image_transfers
                );
                tracing::warn!("{why}");
                fin.done(0, EventOutcome::Busy(why));
                return;
            }
        }
    } else {
        None
    };
    let content = if req.mode == Mode::Netascii {
        // The counting pass reads the whole file: off the async workers.
        let counted = tokio::task::spawn_blocking(move || netascii::Encoded::new(content)).await;
        match counted {
            Ok(Ok(e)) => Body::Netascii(e),
            Ok(Err(e)) => {
                send_error(&sock, from, ErrorCode::NotDefined, "Read error").await;
                fin.done(0, EventOutcome::Transfer(Outcome::ReadError(e.to_string())));
                return;
            }
            Err(e) => {
                send_error(&sock, from, ErrorCode::NotDefined, "Read error").await;
                fin.done(0, EventOutcome::Transfer(Outcome::ReadError(e.to_string())));
                return;
            }
        }
    } else {
        Body::Octet(content)
    };
    let len = crate::core::BlockSource::len(&content);
    fin.size = Some(len);
    let neg = negotiate(&req.options, Some(len), &shared.cfg.limits);
    let now = Instant::now();
    let mut m = ReadTransfer::new(from, content, &neg, shared.cfg.max_retries, now)
        .with_backoff(shared.cfg.max_retry_timeout)
        .give_up_at(now + shared.cfg.transfer_deadline);
    let mut out = Vec::with_capacity(neg.blksize as usize + 4);
    let mut inbuf = vec![0u8; 1024];
    let rate_limited = shared.cfg.client_rate.is_some();
    // The timer is armed lazily: progress moves the machine's deadline
    // later on every ACK, but the sleep is only re-armed when it fires, so
    // the hot path costs no timer-wheel update per packet. A deadline that
    // moved earlier (progress after a backed-off retransmission resets the
    // timeout to the base) re-arms it at once: waiting for the stale,
    // backed-off instant made every loss after a first one cost 2 s or
    // more instead of 1 s.
    let timer = tokio::time::sleep_until(m.deadline().unwrap_or_else(Instant::now).into());
    tokio::pin!(timer);
    // Images only: the files a phone waits minutes for.
    let mut progress = _image_permit
        .is_some()
        .then(|| crate::log::TransferProgress {
            file: name.clone(),
            client: from,
            bytes: 0,
            size: len,
            started,
        });
    if let Some(p) = &progress {
        shared.events.progress(p);
    }
    let superseded = inflight.superseded.notified();
    tokio::pin!(superseded);
    let mut all_sent = false;
    loop {
        if let Some(p) = progress.as_mut() {
            let acked = m.bytes_acked();
            if acked >= p.bytes + crate::log::PROGRESS_STEP && acked < len {
                p.bytes = acked;
                shared.events.progress(p);
            }
        }
        let mut waited = false;
        while let Some(to) = m.poll_transmit(&mut out) {
            if !all_sent && m.all_sent() {
                // Before the last block leaves: a request the client sends
                // after getting it surely arrives later (see `dispatch`).
                all_sent = true;
                inflight
                    .all_sent_at
                    .store(wall_nanos(SystemTime::now()), Ordering::Release);
            }
            if rate_limited && to == from {
                let wait = shared.reserve(from.ip(), out.len());
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                    waited = true;
                }
            }
            if let Err(e) = sock.send_to(&out, to).await {
                tracing::debug!("sending to {to}: {e}");
            }
        }
        if m.outcome().is_some() {
            break;
        }
        if waited {
            m.restart_timer(Instant::now());
        }
        tokio::select! {
            r = sock.recv_from(&mut inbuf) => {
                if let Ok((n, src)) = r {
                    m.handle_packet(src, &inbuf[..n], Instant::now());
                    if let Some(d) = m.deadline().map(tokio::time::Instant::from) {
                        if d < timer.deadline() {
                            timer.as_mut().reset(d);
                        }
                    }
                }
            }
            _ = &mut timer => {
                m.handle_timeout(Instant::now());
                match m.deadline() {
                    Some(d) => timer.as_mut().reset(d.into()),
                    None => continue,
                }
            }
            _ = &mut superseded => {
                // The client asked again after the last block: its final
                // ACK is usually queued here already; without it the
                // client moved on unacknowledged (a timeout).
                while let Ok((n, src)) = sock.try_recv_from(&mut inbuf) {
                    m.handle_packet(src, &inbuf[..n], Instant::now());
                }
                break;
            }
        }
    }
    let outcome = m.outcome().cloned().unwrap_or(Outcome::Timeout);
    fin.done(m.bytes_acked(), EventOutcome::Transfer(outcome));
}

async fn handle_write(shared: &Shared, from: SocketAddr, req: Request, inflight: &Arc<InFlight>) {
    let started = SystemTime::now();
    let Some(sock) = new_socket(shared).await else {
        return;
    };
    shared.log.receiving(started, &req.filename, from, req.mode);
    let mut fin = Finish {
        shared,
        file: req.filename.clone(),
        client: from,
        direction: Direction::Receive,
        virtual_file: false,
        size: None,
        started,
    };
    let refuse = |why: String| async move {
        tracing::warn!("refused write from {from}: {why}");
        why
    };
    let Some(dir) = shared.upload.clone() else {
        let why = refuse("uploads are disabled (enable them with an upload folder)".into()).await;
        send_error(&sock, from, ErrorCode::AccessViolation, "Access violation").await;
        fin.done(0, EventOutcome::Refused(why));
        return;
    };
    let name = match sanitize_name(&req.filename) {
        Ok(n) if !n.contains('/') && req.mode != Mode::Mail => n,
        Ok(n) => {
            let why = refuse(format!(
                "'{n}': uploads take plain file names in octet or netascii mode"
            ))
            .await;
            send_error(&sock, from, ErrorCode::AccessViolation, "Access violation").await;
            fin.done(0, EventOutcome::Refused(why));
            return;
        }
        Err(e) => {
            let why = refuse(e.to_string()).await;
            send_error(&sock, from, ErrorCode::AccessViolation, "Access violation").await;
            fin.done(0, EventOutcome::Refused(why));
            return;
        }
    };
    fin.file.clone_from(&name);
    let target = dir.join(&name);
    if target.exists() {
        send_error(&sock, from, ErrorCode::FileExists, "File already exists").await;
        fin.done(
            0,
            EventOutcome::Refused(format!("'{name}' already exists in the upload folder")),
        );
        return;
    }
    let neg = negotiate(&req.options, None, &shared.cfg.limits);
    if neg.tsize.is_some_and(|t| t > shared.cfg.max_upload) {
        send_error(
            &sock,
            from,
            ErrorCode::DiskFull,
            "Disk full or allocation exceeded",
        )
        .await;
        fin.done(
            0,
            EventOutcome::Refused(format!(
                "upload larger than {} bytes",
                shared.cfg.max_upload
            )),
        );
        return;
    }
    fin.size = neg.tsize;
    let limits = ReceiveLimits {
        timeout: neg.timeout,
        max_retries: shared.cfg.max_retries,
        max_size: shared.cfg.max_upload,
    };
    let mut rx = Receiver::server_write(from, &neg, limits, Instant::now());
    let mut out = Vec::with_capacity(64);
    let mut inbuf = vec![0u8; neg.blksize as usize + 5];
    loop {
        while let Some(to) = rx.poll_transmit(&mut out) {
            let _ = sock.send_to(&out, to).await;
        }
        if rx.outcome().is_some() {
            break;
        }
        let Some(deadline) = rx.deadline() else { break };
        tokio::select! {
            r = sock.recv_from(&mut inbuf) => {
                if let Ok((n, src)) = r {
                    rx.handle_packet(src, &inbuf[..n], Instant::now());
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => rx.handle_timeout(Instant::now()),
        }
    }
    let outcome = rx.outcome().cloned().unwrap_or(Outcome::Timeout);
    let bytes = rx.bytes_received();
    if outcome.is_success() {
        let data = rx.take_data();
        let data = if req.mode == Mode::Netascii {
            netascii::decode(&data)
        } else {
            data
        };
        let part = dir.join(format!(".{name}.part-{}", from.port()));
        let res = std::fs::write(&part, &data).and_then(|_| {
            if target.exists() {
                Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "appeared during the upload",
                ))
            } else {
                std::fs::rename(&part, &target)
            }
        });
        if let Err(e) = res {
            let _ = std::fs::remove_file(&part);
            fin.done(
                bytes,
                EventOutcome::Transfer(Outcome::ReadError(format!("saving '{name}': {e}"))),
            );
            return;
        }
    }
    fin.done(bytes, EventOutcome::Transfer(outcome));
    // Dally: if our final ACK was lost the client repeats its last DATA;
    // answering it lets the client finish too. The client is free to start
    // its next transfer meanwhile.
    release(shared, from, inflight);
    while let Some(until) = rx.dally_deadline().filter(|d| *d > Instant::now()) {
        tokio::select! {
            r = sock.recv_from(&mut inbuf) => {
                if let Ok((n, src)) = r {
                    rx.handle_packet(src, &inbuf[..n], Instant::now());
                }
            }
            _ = tokio::time::sleep_until(until.into()) => break,
        }
        while let Some(to) = rx.poll_transmit(&mut out) {
            let _ = sock.send_to(&out, to).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's arrival time is the datagram's, not the read's: what
    /// tells a late copy of a request from the same request sent again.
    #[test]
    fn arrival_time_is_when_the_datagram_came_not_when_it_was_read() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!(last_arrival(rx.as_raw_fd()), None, "no datagram yet");
        // The kernel turns its receive time stamps on in deferred work.
        std::thread::sleep(Duration::from_millis(100));
        let sent = SystemTime::now();
        tx.send_to(b"x", rx.local_addr().unwrap()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let mut b = [0u8; 4];
        rx.recv_from(&mut b).unwrap();
        let read = SystemTime::now();
        let Some(arrived) = last_arrival(rx.as_raw_fd()) else {
            panic!("no arrival time stamp on a Linux UDP socket");
        };
        let early = read.duration_since(arrived).unwrap_or_default();
        assert!(
            early >= Duration::from_millis(150),
            "arrived {early:?} before the read"
        );
        assert!(arrived >= sent - Duration::from_millis(50));
    }
}

//! Transfer records: a text log in the style of the reference's TFTP
//! server log, and structured events for the inventory.
//!
//! ```text
//! Wed Nov 06 11:58:51 2002: Sending 'OS79XX.TXT' file to 10.1.1.1 in binary mode
//! Wed Nov 06 11:58:51 2002: Successful.
//! Wed Nov 06 11:58:52 2002: Failed ( State Error ).
//! ```

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::core::packet::Mode;
use crate::core::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The client read a file from us (RRQ).
    Send,
    /// The client wrote a file to the upload folder (WRQ).
    Receive,
}

/// One finished (or refused) transfer, for recording against a phone.
/// The server knows addresses and names only; what a name means and
/// which phone asked is the event sink's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferEvent {
    /// The name as requested (after stripping "./").
    pub file: String,
    /// The phone behind the address is the event sink's to work out.
    pub client: SocketAddr,
    pub direction: Direction,
    /// Served from a [`FileSource`](crate::FileSource) rather than disk.
    pub virtual_file: bool,
    /// Bytes acknowledged by the client (reads) or received (writes).
    pub bytes: u64,
    /// Size of the file, when known.
    pub size: Option<u64>,
    pub outcome: EventOutcome,
    pub started: SystemTime,
    pub ended: SystemTime,
}

/// [`Outcome`] plus the ways a request can end before any transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    Transfer(Outcome),
    NotFound,
    /// Refused (path escape, uploads disabled, denied by the file source).
    Refused(String),
    /// Not answered because the server is busy (the image cap): its own
    /// back-pressure, not the client's fault or the file's. The request
    /// got no reply at all, so the client asks again.
    Busy(String),
}

impl EventOutcome {
    pub fn is_success(&self) -> bool {
        matches!(self, EventOutcome::Transfer(Outcome::Success))
    }
}

/// An image download under way: what a dashboard shows as a progress bar
/// while a phone spends minutes on a 2 MB image over a slow link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferProgress {
    /// The name as served.
    pub file: String,
    pub client: SocketAddr,
    /// Bytes the client acknowledged so far.
    pub bytes: u64,
    /// The whole image.
    pub size: u64,
    pub started: SystemTime,
}

/// How far a download moves between two [`EventSink::progress`] calls:
/// a 2 MB image reports about 32 times, not once per 512-byte block.
pub const PROGRESS_STEP: u64 = 64 * 1024;

/// Receives transfer events. Called from transfer tasks: must not block.
pub trait EventSink: Send + Sync {
    fn record(&self, event: TransferEvent);

    /// An image download moved (at its start, then every
    /// [`PROGRESS_STEP`] bytes); its end comes as a [`record`](Self::record)
    /// with the same client and file. Ignored unless a sink wants it.
    fn progress(&self, _progress: &TransferProgress) {}
}

impl EventSink for () {
    fn record(&self, _: TransferEvent) {}
}

impl EventSink for tokio::sync::mpsc::UnboundedSender<TransferEvent> {
    fn record(&self, event: TransferEvent) {
        let _ = self.send(event);
    }
}

/// The text transfer log; a failing log never fails a transfer.
///
/// Two ways to write: [`file`](Self::file) and [`stderr`](Self::stderr)
/// hand each line to a writer thread through a bounded queue, so a
/// transfer never waits for the disk, a lock or a `write` call: the
/// thread writes lines as they come and flushes when the queue runs dry
/// (a line reaches the file within microseconds on an idle server, one
/// `write` covers a burst under load). When the queue is full (the disk
/// cannot keep up) lines are dropped and counted, and the log says how
/// many ([`dropped`](Self::dropped)). [`writer`](Self::writer) writes each
/// line before the call returns, under a mutex: for callers (and tests)
/// that read the output right away.
///
/// Clones share one output, so the process that hands the log to the
/// server can keep a clone to [`reopen`](Self::reopen) it when logrotate
/// has moved the file away (SIGHUP, as syslog daemons do).
#[derive(Clone)]
pub struct TransferLog {
    out: Out,
    /// The file this log appends to, for [`reopen`](Self::reopen); `None`
    /// for stderr or a caller's writer.
    path: Option<PathBuf>,
}

#[derive(Clone)]
enum Out {
    None,
    Sync(Arc<Mutex<SyncOut>>),
    Queued(Arc<Queue>),
}

struct SyncOut {
    w: Box<dyn Write + Send>,
    stamp: Stamp,
}

/// Lines waiting for the writer thread, at most this many: about 6 MB of
/// lines, a few seconds of a boot storm's worth if the disk stalls.
const QUEUE_LINES: usize = 65_536;

enum Msg {
    Line(SystemTime, String),
    /// Replace the output (reopen after logrotate).
    Swap(Box<dyn Write + Send>),
    /// Answer once everything queued before is written and flushed.
    Flush(std::sync::mpsc::Sender<()>),
}

struct Queue {
    tx: std::sync::mpsc::SyncSender<Msg>,
    /// Lines dropped because the queue was full, not yet reported in the
    /// log itself.
    unreported: Arc<AtomicU64>,
    /// Lines dropped since the log was opened.
    dropped: AtomicU64,
}

/// The formatted timestamp of the last second a line was written in:
/// every line of a busy second reuses it.
#[derive(Default)]
struct Stamp {
    secs: i64,
    text: String,
}

impl Stamp {
    fn get(&mut self, at: SystemTime) -> &str {
        let secs = unix_secs(at);
        if self.text.is_empty() || secs != self.secs {
            self.secs = secs;
            self.text = format_time(at);
        }
        &self.text
    }
}

fn writer_thread(
    mut w: Box<dyn Write + Send>,
    rx: std::sync::mpsc::Receiver<Msg>,
    unreported: Arc<AtomicU64>,
) {
    use std::sync::mpsc::TryRecvError;
    let mut stamp = Stamp::default();
    let mut buf: Vec<u8> = Vec::with_capacity(64 << 10);
    let mut msg = rx.recv().ok();
    while let Some(m) = msg.take() {
        match m {
            Msg::Line(at, line) => {
                let _ = writeln!(buf, "{}: {line}", stamp.get(at));
            }
            Msg::Swap(fresh) => {
                let _ = w.write_all(&buf);
                let _ = w.flush();
                buf.clear();
                w = fresh;
            }
            Msg::Flush(done) => {
                let _ = w.write_all(&buf);
                let _ = w.flush();
                buf.clear();
                let _ = done.send(());
            }
        }
        if buf.len() >= 60 << 10 {
            let _ = w.write_all(&buf);
            buf.clear();
        }
        msg = match rx.try_recv() {
            Ok(m) => Some(m),
            Err(TryRecvError::Empty) => {
                let lost = unreported.swap(0, Ordering::Relaxed);
                if lost > 0 {
                    let _ = writeln!(
                        buf,
                        "{}: {lost} transfer log lines dropped: the log could not be written as fast as transfers ended",
                        stamp.get(SystemTime::now())
                    );
                }
                let _ = w.write_all(&buf);
                let _ = w.flush();
                buf.clear();
                rx.recv().ok()
            }
            Err(TryRecvError::Disconnected) => None,
        };
    }
    let _ = w.write_all(&buf);
    let _ = w.flush();
}

impl TransferLog {
    pub fn none() -> Self {
        TransferLog {
            out: Out::None,
            path: None,
        }
    }

    /// Standard error, through the writer thread.
    pub fn stderr() -> Self {
        Self::queued(Box::new(std::io::stderr()))
    }

    /// Writes each line to `w` before returning, under a mutex.
    pub fn writer(w: Box<dyn Write + Send>) -> Self {
        TransferLog {
            out: Out::Sync(Arc::new(Mutex::new(SyncOut {
                w,
                stamp: Stamp::default(),
            }))),
            path: None,
        }
    }

    /// Hands lines to a writer thread that writes them to `w` (see the
    /// type's documentation). The thread ends when the last clone is
    /// dropped, after writing what is queued.
    pub fn queued(w: Box<dyn Write + Send>) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE_LINES);
        let unreported = Arc::new(AtomicU64::new(0));
        let u = unreported.clone();
        let spawned = std::thread::Builder::new()
            .name("tftp-log".into())
            .spawn(move || writer_thread(w, rx, u));
        if let Err(e) = spawned {
            tracing::error!("cannot start the transfer log writer thread: {e}; no transfer log");
            return Self::none();
        }
        TransferLog {
            out: Out::Queued(Arc::new(Queue {
                tx,
                unreported,
                dropped: AtomicU64::new(0),
            })),
            path: None,
        }
    }

    /// Appends to `path`, creating it, through the writer thread.
    pub fn file(path: &Path) -> std::io::Result<Self> {
        let mut log = Self::queued(Self::open_append(path)?);
        log.path = Some(path.to_path_buf());
        Ok(log)
    }

    fn open_append(path: &Path) -> std::io::Result<Box<dyn Write + Send>> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                std::io::Error::new(e.kind(), format!("transfer log {}: {e}", path.display()))
            })?;
        Ok(Box::new(f))
    }

    /// Opens the log's file again by name (creating it), for logrotate:
    /// after the old file was renamed, lines go to the new one. Lines
    /// written meanwhile went to the old file, whose handle stayed valid,
    /// so none is lost. A log that is not a file has nothing to reopen.
    /// On error the old file stays in use.
    pub fn reopen(&self) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let fresh = Self::open_append(path)?;
        match &self.out {
            Out::None => {}
            Out::Sync(out) => {
                let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
                let _ = o.w.flush();
                o.w = fresh;
            }
            Out::Queued(q) => {
                // Blocks only the caller (the SIGHUP handler), never a
                // transfer.
                let _ = q.tx.send(Msg::Swap(fresh));
            }
        }
        Ok(())
    }

    /// Waits until every line logged before the call is written and
    /// flushed (the server calls it when it stops).
    pub fn flush(&self) {
        match &self.out {
            Out::None => {}
            Out::Sync(out) => {
                let _ = out.lock().unwrap_or_else(|p| p.into_inner()).w.flush();
            }
            Out::Queued(q) => {
                let (tx, rx) = std::sync::mpsc::channel();
                if q.tx.send(Msg::Flush(tx)).is_ok() {
                    let _ = rx.recv();
                }
            }
        }
    }

    /// Lines dropped so far because the writer could not keep up.
    pub fn dropped(&self) -> u64 {
        match &self.out {
            Out::Queued(q) => q.dropped.load(Ordering::Relaxed),
            _ => 0,
        }
    }

    /// The file this log appends to, if it is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Whether lines go anywhere (callers skip building them otherwise).
    pub fn is_on(&self) -> bool {
        !matches!(self.out, Out::None)
    }

    /// Writes one line. Control characters in `msg` are escaped here, so
    /// no caller can break a line in two: the log is read back by
    /// `doctor --log`, and a forged line would be taken for a transfer.
    pub fn line(&self, at: SystemTime, msg: &str) {
        match &self.out {
            Out::None => {}
            Out::Sync(out) => {
                let msg = escape_controls(msg);
                let mut o = out.lock().unwrap_or_else(|p| p.into_inner());
                let o = &mut *o;
                let _ = writeln!(o.w, "{}: {msg}", o.stamp.get(at));
            }
            Out::Queued(q) => {
                let msg = escape_controls(msg).into_owned();
                if let Err(std::sync::mpsc::TrySendError::Full(_)) =
                    q.tx.try_send(Msg::Line(at, msg))
                {
                    q.dropped.fetch_add(1, Ordering::Relaxed);
                    q.unreported.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// `file` is the name exactly as requested, written only escaped
    /// ([`escape_name`]).
    pub fn sending(&self, at: SystemTime, file: &str, client: SocketAddr, mode: Mode) {
        if !self.is_on() {
            return;
        }
        self.line(
            at,
            &format!(
                "Sending '{}' file to {} in {} mode",
                escape_name(file),
                client.ip(),
                mode_word(mode)
            ),
        );
    }

    pub fn receiving(&self, at: SystemTime, file: &str, client: SocketAddr, mode: Mode) {
        if !self.is_on() {
            return;
        }
        self.line(
            at,
            &format!(
                "Receiving '{}' file from {} in {} mode",
                escape_name(file),
                client.ip(),
                mode_word(mode)
            ),
        );
    }

    pub fn result(&self, at: SystemTime, outcome: &EventOutcome) {
        if !self.is_on() {
            return;
        }
        let msg = match outcome {
            EventOutcome::Transfer(Outcome::Success) => "Successful.".to_string(),
            EventOutcome::Transfer(o) => format!("Failed ( {o} )."),
            EventOutcome::NotFound => "Failed ( File not found ).".to_string(),
            EventOutcome::Refused(why) => format!("Failed ( Refused: {why} )."),
            EventOutcome::Busy(why) => format!("Failed ( Busy: {why} )."),
        };
        self.line(at, &msg);
    }
}

/// A requested name as the log shows it: control characters (newline,
/// ESC of an ANSI sequence, DEL, C1) as `\n`, `\x1b`..., and the quote and
/// backslash escaped, so the name cannot end its quotes early or forge a
/// line. Real phone file names have none of these and print unchanged.
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c => push_escaped(&mut out, c),
        }
    }
    out
}

fn escape_controls(msg: &str) -> std::borrow::Cow<'_, str> {
    if !msg.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(msg);
    }
    let mut out = String::with_capacity(msg.len() + 8);
    for c in msg.chars() {
        push_escaped(&mut out, c);
    }
    std::borrow::Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write as _;
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => out.push(c),
    }
}

fn mode_word(mode: Mode) -> &'static str {
    match mode {
        Mode::Octet => "binary",
        Mode::Netascii => "ascii",
        Mode::Mail => "mail",
    }
}

fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64
}

/// `Wed Nov 06 11:58:51 2002`, in UTC: the reference's log format.
pub fn format_time(t: SystemTime) -> String {
    const REFERENCE: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] [year]"
    );
    let secs = unix_secs(t);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(REFERENCE).ok())
        .unwrap_or_else(|| format!("@{secs}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn reference_timestamp() {
        // Wed Nov 06 11:58:51 2002 UTC
        let t = UNIX_EPOCH + Duration::from_secs(1_036_583_931);
        assert_eq!(format_time(t), "Wed Nov 06 11:58:51 2002");
        assert_eq!(format_time(UNIX_EPOCH), "Thu Jan 01 00:00:00 1970");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(format_time(t), "Tue Feb 29 00:00:00 2000");
    }

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn names_are_escaped_and_real_names_unchanged() {
        assert_eq!(escape_name("SIP002094D245CB.cnf"), "SIP002094D245CB.cnf");
        assert_eq!(escape_name("./P0S3-8-12-00.sb2"), "./P0S3-8-12-00.sb2");
        assert_eq!(escape_name("a\nb\x1b[1A\r\u{7f}"), "a\\nb\\x1b[1A\\r\\x7f");
        assert_eq!(escape_name("x' file to 1.2.3.4"), "x\\' file to 1.2.3.4");
        assert_eq!(escape_name("a\\n"), "a\\\\n");
        let buf = Buf::default();
        let log = TransferLog::writer(Box::new(buf.clone()));
        log.line(UNIX_EPOCH, "two\nlines");
        let s = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(s.lines().count(), 1, "{s}");
    }

    /// The writer thread keeps every line, in order, and `flush` waits
    /// for them; `reopen` moves later lines to the new file.
    #[test]
    fn queued_lines_arrive_in_order_and_reopen_moves_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tftp.log");
        let log = TransferLog::file(&path).unwrap();
        let t = UNIX_EPOCH + Duration::from_secs(1_036_583_931);
        for i in 0..2000 {
            log.line(t, &format!("line {i}"));
        }
        log.flush();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2000, "{text}");
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(*l, format!("Wed Nov 06 11:58:51 2002: line {i}"));
        }
        assert_eq!(log.dropped(), 0);
        let moved = dir.path().join("tftp.log.1");
        std::fs::rename(&path, &moved).unwrap();
        log.reopen().unwrap();
        log.line(t, "after");
        log.flush();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "Wed Nov 06 11:58:51 2002: after\n"
        );
        assert_eq!(std::fs::read_to_string(&moved).unwrap(), text);
    }

    #[test]
    fn reference_lines() {
        let buf = Buf::default();
        let log = TransferLog::writer(Box::new(buf.clone()));
        let t = UNIX_EPOCH + Duration::from_secs(1_036_583_931);
        let c: SocketAddr = "10.1.1.1:50000".parse().unwrap();
        log.sending(t, "OS79XX.TXT", c, Mode::Octet);
        log.result(t, &EventOutcome::Transfer(Outcome::Success));
        log.result(t, &EventOutcome::Transfer(Outcome::Protocol("bad".into())));
        let s = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            s,
            "Wed Nov 06 11:58:51 2002: Sending 'OS79XX.TXT' file to 10.1.1.1 in binary mode\n\
             Wed Nov 06 11:58:51 2002: Successful.\n\
             Wed Nov 06 11:58:51 2002: Failed ( State Error: bad ).\n"
        );
    }
}

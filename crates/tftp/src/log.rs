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

/// Receives transfer events. Called from transfer tasks: must not block.
pub trait EventSink: Send + Sync {
    fn record(&self, event: TransferEvent);
}

impl EventSink for () {
    fn record(&self, _: TransferEvent) {}
}

impl EventSink for tokio::sync::mpsc::UnboundedSender<TransferEvent> {
    fn record(&self, event: TransferEvent) {
        let _ = self.send(event);
    }
}

/// The text transfer log. Writes are line-buffered under a mutex; a
/// failing log never fails a transfer.
///
/// Clones share one output, so the process that hands the log to the
/// server can keep a clone to [`reopen`](Self::reopen) it when logrotate
/// has moved the file away (SIGHUP, as syslog daemons do).
#[derive(Clone)]
pub struct TransferLog {
    out: Option<Arc<Mutex<Box<dyn Write + Send>>>>,
    /// The file this log appends to, for [`reopen`](Self::reopen); `None`
    /// for stderr or a caller's writer.
    path: Option<PathBuf>,
}

impl TransferLog {
    pub fn none() -> Self {
        TransferLog {
            out: None,
            path: None,
        }
    }

    pub fn stderr() -> Self {
        Self::writer(Box::new(std::io::stderr()))
    }

    pub fn writer(w: Box<dyn Write + Send>) -> Self {
        TransferLog {
            out: Some(Arc::new(Mutex::new(w))),
            path: None,
        }
    }

    /// Appends to `path`, creating it.
    pub fn file(path: &Path) -> std::io::Result<Self> {
        let mut log = Self::writer(Self::open_append(path)?);
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
        Ok(Box::new(std::io::LineWriter::new(f)))
    }

    /// Opens the log's file again by name (creating it), for logrotate:
    /// after the old file was renamed, lines go to the new one. Lines
    /// written meanwhile went to the old file, whose handle stayed valid,
    /// so none is lost. A log that is not a file has nothing to reopen.
    /// On error the old file stays in use.
    pub fn reopen(&self) -> std::io::Result<()> {
        let (Some(out), Some(path)) = (&self.out, &self.path) else {
            return Ok(());
        };
        let fresh = Self::open_append(path)?;
        let mut w = out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = w.flush();
        *w = fresh;
        Ok(())
    }

    /// The file this log appends to, if it is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Writes one line. Control characters in `msg` are escaped here, so
    /// no caller can break a line in two: the log is read back by
    /// `doctor --log`, and a forged line would be taken for a transfer.
    pub fn line(&self, at: SystemTime, msg: &str) {
        if let Some(out) = &self.out {
            let msg = escape_controls(msg);
            let mut w = out.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(w, "{}: {msg}", format_time(at));
        }
    }

    /// `file` is the name exactly as requested, written only escaped
    /// ([`escape_name`]).
    pub fn sending(&self, at: SystemTime, file: &str, client: SocketAddr, mode: Mode) {
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

/// `Wed Nov 06 11:58:51 2002`, in UTC: the reference's log format.
pub fn format_time(t: SystemTime) -> String {
    const REFERENCE: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day] [hour]:[minute]:[second] [year]"
    );
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
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

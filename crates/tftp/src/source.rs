//! Where the bytes of a requested file come from: first a [`FileSource`]
//! (per-phone virtual files rendered from the inventory), then real files
//! under the root, with hot files cached in memory.
//!
//! Files directly in the root (the phones' configs and loads) are also
//! remembered by name, with the names found absent: while an inotify
//! watch on the root reports no change, a request for one is answered
//! from memory with no system call but the watch's empty read, neither
//! open nor stat. Any change in the root forgets every name.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::core::packet::{ErrorCode, Mode};
use crate::core::BlockSource;
use bytes::Bytes;

/// What the server knows about a read request when it asks a [`FileSource`].
#[derive(Debug, Clone, Copy)]
pub struct ResolveRequest<'a> {
    /// The checked relative name ("./" stripped), e.g. `SIP002094D245CB.cnf`.
    pub filename: &'a str,
    /// The name exactly as the client sent it.
    pub raw_filename: &'a str,
    /// Who asks: which phone that is (a MAC-named file, or the MAC its
    /// address last asked for) is the file source's to work out.
    pub client: SocketAddr,
    pub mode: Mode,
    pub options: &'a [(String, String)],
}

/// Answer of a [`FileSource`].
#[derive(Debug, Clone)]
pub enum Resolution {
    /// Serve these bytes.
    Virtual(Bytes),
    /// Not a virtual file: look under the root.
    NotHere,
    /// Serve this other file of the root, with the same checks as a
    /// request for it: the request names it by an alias (the DOS 8.3 name
    /// SIP 2.1 and earlier must be given for a longer load name), so the
    /// root need not hold a copy.
    RootFile(String),
    /// Refuse with this ERROR. Use code 1 for "absent": the phones' loader
    /// stops hunting on any other code (CSCee31047).
    Deny { code: ErrorCode, message: String },
}

/// Plug-in point for virtual files. Called on the transfer's task for
/// every read request, so it must be quick (render from memory).
pub trait FileSource: Send + Sync {
    fn resolve(&self, req: &ResolveRequest<'_>) -> Resolution;
}

/// Serves only the root.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoVirtualFiles;

impl FileSource for NoVirtualFiles {
    fn resolve(&self, _: &ResolveRequest<'_>) -> Resolution {
        Resolution::NotHere
    }
}

impl<F> FileSource for F
where
    F: Fn(&ResolveRequest<'_>) -> Resolution + Send + Sync,
{
    fn resolve(&self, req: &ResolveRequest<'_>) -> Resolution {
        self(req)
    }
}

/// File contents ready to send: shared memory or an open file read block
/// by block.
#[derive(Debug, Clone)]
pub(crate) enum Content {
    Mem(Bytes),
    File { file: Arc<File>, len: u64 },
}

impl BlockSource for Content {
    fn len(&self) -> u64 {
        match self {
            Content::Mem(b) => b.len() as u64,
            Content::File { len, .. } => *len,
        }
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Content::Mem(b) => BlockSource::read_at(b, offset, buf),
            Content::File { file, len } => {
                let n = buf.len().min(len.saturating_sub(offset) as usize);
                file.read_at(&mut buf[..n], offset)
            }
        }
    }
}

/// What a read transfer sends: the content as is (octet) or converted
/// block by block (netascii).
#[derive(Debug)]
pub(crate) enum Body {
    Octet(Content),
    Netascii(crate::core::netascii::Encoded<Content>),
}

impl BlockSource for Body {
    fn len(&self) -> u64 {
        match self {
            Body::Octet(c) => c.len(),
            Body::Netascii(e) => e.len(),
        }
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Body::Octet(c) => c.read_at(offset, buf),
            Body::Netascii(e) => e.read_at(offset, buf),
        }
    }
}

impl Content {
    #[cfg(test)]
    pub(crate) fn to_bytes(&self) -> io::Result<Bytes> {
        match self {
            Content::Mem(b) => Ok(b.clone()),
            Content::File { file, len } => {
                let mut v = vec![0; *len as usize];
                file.read_exact_at(&mut v, 0)?;
                Ok(Bytes::from(v))
            }
        }
    }
}

pub(crate) enum DiskLookup {
    Found(Content),
    /// Absent, or a name the file system cannot use (too long, a file
    /// used as a folder, a symlink loop): all answered "File not found",
    /// the only error the phones' loader hunts past. `case_match` names a
    /// file that differs only in case.
    NotFound {
        case_match: Option<String>,
    },
    /// Resolves (through a symlink) to somewhere outside the root; the
    /// path is the symlink's target, for the log.
    Escapes(PathBuf),
    Io(io::Error),
}

/// Why a walk under the root did not end on an open handle.
enum WalkError {
    /// A name the file system says is absent or unusable.
    Unusable(io::Error),
    Escapes(PathBuf),
    Io(io::Error),
}

impl From<io::Error> for WalkError {
    fn from(e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(
                libc::ENOENT
                | libc::ENOTDIR
                | libc::ENAMETOOLONG
                | libc::ELOOP
                | libc::EILSEQ
                | libc::EINVAL
                | libc::EISDIR,
            ) => WalkError::Unusable(e),
            _ => WalkError::Io(e),
        }
    }
}

/// Symlinks followed in one lookup before giving up, as the kernel does.
const MAX_SYMLINK_HOPS: u32 = 40;

/// Identity of an opened file: what the cache is keyed on, so cached bytes
/// always belong to the file the walk really opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileId {
    dev: u64,
    ino: u64,
}

struct CacheEntry {
    len: u64,
    mtime: Option<SystemTime>,
    ctime: (i64, i64),
    data: Bytes,
    last_used: u64,
}

/// Files under the root, with an LRU-ish cache bounded in total bytes.
///
/// Every lookup walks the name one component at a time from a handle on
/// the root with `openat(O_NOFOLLOW)`, following symlinks itself only while
/// they stay under the root, and serves from the handle it opened. There is
/// no check-then-open gap: a file swapped for a symlink (or a folder for a
/// link to `/`) between two requests, or during one, is seen by the open
/// itself.
pub(crate) struct DiskRoot {
    root: PathBuf,
    root_fd: OwnedFd,
    max_cached_file: u64,
    max_cache: u64,
    cache: Mutex<Cache>,
    /// Changes in the root folder; None when inotify is unavailable (then
    /// every request walks and stats).
    watch: Option<Watch>,
    /// Longest a name is trusted without a walk, inotify or not.
    revalidate: Duration,
}

#[derive(Default)]
struct Cache {
    map: HashMap<FileId, CacheEntry>,
    total: u64,
    tick: u64,
    /// Single-component names, known through the watch.
    names: HashMap<String, Named>,
    absent: usize,
    /// Bumped each time the watch reported a change: an entry is only
    /// remembered by a lookup that saw no change from its start to its end.
    generation: u64,
}

struct Named {
    what: NamedAs,
    at: Instant,
}

enum NamedAs {
    File { id: FileId, data: Bytes },
    Absent { case_match: Option<String> },
}

/// Names remembered as absent, at most (a client asking for random names
/// cannot grow the map without bound).
const MAX_ABSENT: usize = 4096;

/// An inotify instance watching the root folder for anything that can
/// change what a name there serves.
struct Watch {
    fd: OwnedFd,
}

impl Watch {
    fn new(root: &Path) -> Option<Watch> {
        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            tracing::debug!(
                "no inotify for the TFTP root ({}): files are checked on every request",
                io::Error::last_os_error()
            );
            return None;
        }
        // SAFETY: a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let path = cstring(root.as_os_str().as_bytes()).ok()?;
        let mask = libc::IN_MODIFY
            | libc::IN_ATTRIB
            | libc::IN_CLOSE_WRITE
            | libc::IN_CREATE
            | libc::IN_DELETE
            | libc::IN_MOVED_FROM
            | libc::IN_MOVED_TO
            | libc::IN_DELETE_SELF
            | libc::IN_MOVE_SELF;
        // SAFETY: `path` is NUL-terminated and `fd` open.
        if unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) } < 0 {
            tracing::debug!(
                "cannot watch the TFTP root ({}): files are checked on every request",
                io::Error::last_os_error()
            );
            return None;
        }
        Some(Watch { fd })
    }

    /// Whether anything happened in the root since the last call; drains
    /// the events. The kernel queues an event before the write that caused
    /// it returns, so a change made before a request is always seen.
    fn changed(&self) -> bool {
        let mut buf = [0u8; 4096];
        let mut any = false;
        loop {
            // SAFETY: `buf` is writable for its length.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                )
            };
            if n > 0 {
                any = true;
                continue;
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => return any,
                Some(libc::EINTR) => continue,
                // Cannot tell: say changed, so nothing stale is served.
                _ => return true,
            }
        }
    }
}

impl Cache {
    /// Forgets every name if the root changed; true when it did.
    fn sync(&mut self, watch: &Watch) -> bool {
        if watch.changed() {
            self.names.clear();
            self.absent = 0;
            self.generation += 1;
            true
        } else {
            false
        }
    }

    fn remember(&mut self, name: &str, what: NamedAs) {
        if matches!(what, NamedAs::Absent { .. }) {
            if self.absent >= MAX_ABSENT {
                self.names
                    .retain(|_, n| !matches!(n.what, NamedAs::Absent { .. }));
                self.absent = 0;
            }
            self.absent += 1;
        }
        let old = self.names.insert(
            name.to_string(),
            Named {
                what,
                at: Instant::now(),
            },
        );
        if matches!(
            old,
            Some(Named {
                what: NamedAs::Absent { .. },
                ..
            })
        ) {
            self.absent -= 1;
        }
    }
}

fn cstring(name: &[u8]) -> io::Result<CString> {
    CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// `openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC)`.
fn openat_nofollow(dir: BorrowedFd<'_>, name: &[u8], flags: libc::c_int) -> io::Result<OwnedFd> {
    let c = cstring(name)?;
    loop {
        // SAFETY: `c` is a valid NUL-terminated string and `dir` an open fd
        // for the duration of the call.
        let fd = unsafe {
            libc::openat(
                dir.as_raw_fd(),
                c.as_ptr(),
                flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        if fd >= 0 {
            // SAFETY: openat returned a new descriptor that nothing else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The target of the symlink `name` in `dir`; EINVAL when it is not one.
fn readlinkat(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Vec<u8>> {
    let c = cstring(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: `buf` is writable for its length; readlinkat writes at most that.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            c.as_ptr(),
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(|c| c.to_vec())
}

impl DiskRoot {
    pub(crate) fn new(
        root: &Path,
        max_cached_file: u64,
        max_cache: u64,
        revalidate: Duration,
    ) -> io::Result<DiskRoot> {
        let root = root
            .canonicalize()
            .map_err(|e| io::Error::new(e.kind(), format!("TFTP root {}: {e}", root.display())))?;
        let dir = File::open(&root)
            .map_err(|e| io::Error::new(e.kind(), format!("TFTP root {}: {e}", root.display())))?;
        if !dir.metadata()?.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("TFTP root {} is not a folder", root.display()),
            ));
        }
        let watch = if revalidate.is_zero() {
            None
        } else {
            Watch::new(&root)
        };
        Ok(DiskRoot {
            root,
            root_fd: OwnedFd::from(dir),
            max_cached_file,
            max_cache,
            cache: Mutex::new(Cache::default()),
            watch,
            revalidate,
        })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Opens `rel` under the root without ever leaving it: each component
    /// with O_NOFOLLOW relative to the folder opened before it; a symlink
    /// is read and its target walked the same way, relative (`..` never
    /// above the root) or absolute under the root's canonical path. The
    /// last component is opened with `last_flags` (O_NONBLOCK so a FIFO
    /// cannot hang the transfer task). Also says whether a symlink was
    /// followed on the way.
    fn open_beneath(
        &self,
        rel: &str,
        last_flags: libc::c_int,
    ) -> Result<(OwnedFd, bool), WalkError> {
        let mut todo: std::collections::VecDeque<Vec<u8>> = components(rel.as_bytes()).collect();
        let mut stack: Vec<OwnedFd> = Vec::new();
        let mut hops = 0;
        let mut last_link: Option<PathBuf> = None;
        if todo.is_empty() {
            return Err(WalkError::Unusable(io::Error::from_raw_os_error(
                libc::ENOENT,
            )));
        }
        while let Some(comp) = todo.pop_front() {
            if comp == b".." {
                if stack.pop().is_none() {
                    // Only a symlink can bring a `..` this far up
                    // (`sanitize_name` refuses them in requests).
                    let shown = last_link.take().unwrap_or_else(|| self.root.join(".."));
                    return Err(WalkError::Escapes(shown));
                }
                continue;
            }
            let last = todo.is_empty();
            let dir = stack.last().map_or(self.root_fd.as_fd(), |f| f.as_fd());
            let flags = if last {
                last_flags
            } else {
                libc::O_RDONLY | libc::O_DIRECTORY
            };
            let err = match openat_nofollow(dir, &comp, flags) {
                Ok(fd) if last => return Ok((fd, hops > 0)),
                Ok(fd) => {
                    stack.push(fd);
                    continue;
                }
                Err(e) => e,
            };
            if !matches!(err.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) {
                return Err(err.into());
            }
            // O_NOFOLLOW refused a symlink (or this is not a folder):
            // follow it ourselves, under the root only.
            let target = match readlinkat(dir, &comp) {
                Ok(t) => t,
                Err(_) => return Err(err.into()),
            };
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(WalkError::Unusable(io::Error::from_raw_os_error(
                    libc::ELOOP,
                )));
            }
            let target_path = PathBuf::from(std::ffi::OsString::from_vec(target.clone()));
            let rest: Vec<Vec<u8>> = if target.starts_with(b"/") {
                match target_path.strip_prefix(&self.root) {
                    Ok(inside) => {
                        stack.clear();
                        components(inside.as_os_str().as_bytes()).collect()
                    }
                    Err(_) => return Err(WalkError::Escapes(target_path)),
                }
            } else {
                components(&target).collect()
            };
            last_link = Some(target_path);
            for c in rest.into_iter().rev() {
                todo.push_front(c);
            }
        }
        // A name made only of ".." that stayed inside: the root itself.
        Err(WalkError::Unusable(io::Error::from_raw_os_error(
            libc::EISDIR,
        )))
    }

    /// A file directly in the root found in (or absent from) memory with
    /// nothing changed since: the answer without touching the disk. None
    /// means ask [`lookup`](Self::lookup).
    pub(crate) fn cached(&self, rel: &str) -> Option<DiskLookup> {
        let watch = self.watch.as_ref()?;
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if c.sync(watch) {
            return None;
        }
        c.tick += 1;
        let tick = c.tick;
        let named = c.names.get(rel)?;
        if named.at.elapsed() > self.revalidate {
            return None;
        }
        match &named.what {
            NamedAs::File { id, data } => {
                let (id, data) = (*id, data.clone());
                if let Some(e) = c.map.get_mut(&id) {
                    e.last_used = tick;
                }
                Some(DiskLookup::Found(Content::Mem(data)))
            }
            NamedAs::Absent { case_match } => Some(DiskLookup::NotFound {
                case_match: case_match.clone(),
            }),
        }
    }

    /// Looks up `rel`, a name already checked by `sanitize_name`: walks,
    /// opens and stats (blocking file system work; a first read of a
    /// cacheable file reads it whole).
    pub(crate) fn lookup(&self, rel: &str) -> DiskLookup {
        // Only a plain name in the root can be remembered: the watch
        // covers the root folder, not sub-folders or symlink targets.
        let nameable = !rel.contains('/') && self.watch.is_some();
        let generation = match (&self.watch, nameable) {
            (Some(w), true) => {
                let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                c.sync(w);
                Some(c.generation)
            }
            _ => None,
        };
        // Remembers what `rel` is, unless the root changed meanwhile.
        let remember = |what: NamedAs| {
            if let (Some(g), Some(w)) = (generation, &self.watch) {
                let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                if !c.sync(w) && c.generation == g {
                    c.remember(rel, what);
                }
            }
        };
        let file = match self.open_beneath(rel, libc::O_RDONLY | libc::O_NONBLOCK) {
            Ok((fd, followed)) => {
                if followed {
                    return self.read_opened(File::from(fd), None);
                }
                File::from(fd)
            }
            Err(WalkError::Unusable(e)) => {
                let absent = e.raw_os_error() == Some(libc::ENOENT);
                let case_match = if absent { self.case_match(rel) } else { None };
                if absent {
                    remember(NamedAs::Absent {
                        case_match: case_match.clone(),
                    });
                }
                return DiskLookup::NotFound { case_match };
            }
            Err(WalkError::Escapes(p)) => return DiskLookup::Escapes(p),
            Err(WalkError::Io(e)) => return DiskLookup::Io(e),
        };
        self.read_opened(file, Some(&remember))
    }

    /// Serves an opened file: from the cache, read whole into it, or block
    /// by block when too big; `remember` records a cached file by name.
    fn read_opened(&self, file: File, remember: Option<&dyn Fn(NamedAs)>) -> DiskLookup {
        // Everything below describes the opened handle, not the path.
        let meta = match file.metadata() {
            Ok(m) if m.is_file() => m,
            Ok(_) => return DiskLookup::NotFound { case_match: None },
            Err(e) => return DiskLookup::Io(e),
        };
        let len = meta.len();
        if len > self.max_cached_file {
            return DiskLookup::Found(Content::File {
                file: Arc::new(file),
                len,
            });
        }
        let id = FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        let mtime = meta.modified().ok();
        let ctime = (meta.ctime(), meta.ctime_nsec());
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        c.tick += 1;
        let tick = c.tick;
        if let Some(e) = c.map.get_mut(&id) {
            if e.len == len && e.mtime == mtime && e.ctime == ctime {
                e.last_used = tick;
                let data = e.data.clone();
                drop(c);
                if let Some(r) = remember {
                    r(NamedAs::File {
                        id,
                        data: data.clone(),
                    });
                }
                return DiskLookup::Found(Content::Mem(data));
            }
        }
        drop(c);
        let mut data = Vec::with_capacity(len as usize);
        if let Err(e) = (&file).take(len + 1).read_to_end(&mut data) {
            return DiskLookup::Io(e);
        }
        let data = Bytes::from(data);
        if data.len() as u64 != len {
            // Being rewritten right now: serve this read, cache nothing.
            return DiskLookup::Found(Content::Mem(data));
        }
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = c.map.remove(&id) {
            c.total -= old.len;
        }
        while c.total + len > self.max_cache && !c.map.is_empty() {
            let Some(victim) = c
                .map
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(e) = c.map.remove(&victim) {
                c.total -= e.len;
            }
            c.names
                .retain(|_, n| !matches!(n.what, NamedAs::File { id, .. } if id == victim));
        }
        let cached = c.total + len <= self.max_cache;
        if cached {
            c.total += len;
            c.map.insert(
                id,
                CacheEntry {
                    len,
                    mtime,
                    ctime,
                    data: data.clone(),
                    last_used: tick,
                },
            );
        }
        drop(c);
        if let (true, Some(r)) = (cached, remember) {
            r(NamedAs::File {
                id,
                data: data.clone(),
            });
        }
        DiskLookup::Found(Content::Mem(data))
    }

    /// The phones' names are case sensitive; a near miss is worth a log
    /// line because it is the classic cause of a phone that never upgrades.
    /// The folder is opened with the same walk as a file, so listing it
    /// cannot leave the root either.
    fn case_match(&self, rel: &str) -> Option<String> {
        let (dir, base) = match rel.rsplit_once('/') {
            Some((d, b)) => (Some(d), b),
            None => (None, rel),
        };
        let listing = match dir {
            Some(d) => {
                let fd = self
                    .open_beneath(d, libc::O_RDONLY | libc::O_DIRECTORY)
                    .ok()?
                    .0;
                std::fs::read_dir(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?
            }
            None => {
                std::fs::read_dir(format!("/proc/self/fd/{}", self.root_fd.as_raw_fd())).ok()?
            }
        };
        for entry in listing.take(100_000).flatten() {
            let name = entry.file_name();
            if let Some(n) = name.to_str() {
                if n != base && n.eq_ignore_ascii_case(base) {
                    return Some(match dir {
                        Some(d) => format!("{d}/{n}"),
                        None => n.to_string(),
                    });
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::sanitize_name;
    use proptest::prelude::*;

    fn root_with_secret() -> (tempfile::TempDir, DiskRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("a/f"), b"inside-a").unwrap();
        std::fs::write(root.join("f"), b"inside").unwrap();
        std::fs::write(dir.path().join("f"), b"SECRET").unwrap();
        std::fs::write(dir.path().join("secret"), b"SECRET").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("s")).unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("up")).unwrap();
        let disk = DiskRoot::new(&root, 1 << 20, 1 << 20, Duration::from_secs(2)).unwrap();
        (dir, disk)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Whatever name a client sends, nothing outside the root is served.
        #[test]
        fn nothing_outside_the_root_is_ever_served(parts in prop::collection::vec(
            prop_oneof![Just(".."), Just("."), Just(""), Just("a"), Just("f"), Just("s"), Just("up"), Just("secret"), Just("\\"), Just("/")], 0..6)) {
            let (_dir, disk) = root_with_secret();
            let name = parts.join("/");
            if let Ok(rel) = sanitize_name(&name) {
                if let DiskLookup::Found(c) = disk.lookup(&rel) {
                    let data = c.to_bytes().unwrap();
                    prop_assert!(&data[..] != b"SECRET", "{name:?} served a file outside the root");
                }
            }
        }
    }

    #[test]
    fn cache_serves_new_content_after_a_change() {
        let (_dir, disk) = root_with_secret();
        let DiskLookup::Found(c) = disk.lookup("f") else {
            panic!()
        };
        assert_eq!(&c.to_bytes().unwrap()[..], b"inside");
        std::fs::write(disk.root().join("f"), b"changed!").unwrap();
        let DiskLookup::Found(c) = disk.lookup("f") else {
            panic!()
        };
        assert_eq!(&c.to_bytes().unwrap()[..], b"changed!");
        assert!(matches!(disk.lookup("s"), DiskLookup::Escapes(_)));
        assert!(matches!(disk.lookup("up/secret"), DiskLookup::Escapes(_)));
        assert!(
            matches!(disk.lookup("F"), DiskLookup::NotFound { case_match: Some(ref m) } if m == "f")
        );
        assert!(matches!(disk.lookup("a"), DiskLookup::NotFound { .. }));
    }

    fn cached_bytes(disk: &DiskRoot, name: &str) -> Option<Vec<u8>> {
        match disk.cached(name)? {
            DiskLookup::Found(c) => Some(c.to_bytes().unwrap().to_vec()),
            _ => panic!("{name} remembered as something else"),
        }
    }

    /// A name served once is answered from memory until anything in the
    /// root changes; names outside the watch's reach (symlinks, sub-folders)
    /// are never remembered.
    #[test]
    fn remembered_names_are_forgotten_on_any_change() {
        let (_dir, disk) = root_with_secret();
        if disk.watch.is_none() {
            eprintln!("inotify unavailable here: nothing is remembered, nothing to test");
            return;
        }
        assert!(disk.cached("f").is_none(), "not looked up yet");
        assert!(matches!(disk.lookup("f"), DiskLookup::Found(_)));
        assert_eq!(cached_bytes(&disk, "f").as_deref(), Some(&b"inside"[..]));
        std::fs::write(disk.root().join("f"), b"changed!").unwrap();
        assert!(disk.cached("f").is_none(), "a write is seen at once");
        let DiskLookup::Found(c) = disk.lookup("f") else {
            panic!()
        };
        assert_eq!(&c.to_bytes().unwrap()[..], b"changed!");
        assert_eq!(cached_bytes(&disk, "f").as_deref(), Some(&b"changed!"[..]));

        assert!(matches!(disk.lookup("new"), DiskLookup::NotFound { .. }));
        assert!(matches!(
            disk.cached("new"),
            Some(DiskLookup::NotFound { .. })
        ));
        std::fs::write(disk.root().join("new"), b"here now").unwrap();
        assert!(disk.cached("new").is_none(), "a new file is seen at once");
        assert!(matches!(disk.lookup("new"), DiskLookup::Found(_)));

        std::fs::rename(disk.root().join("new"), disk.root().join("old")).unwrap();
        assert!(disk.cached("new").is_none(), "a rename is seen at once");

        std::os::unix::fs::symlink("a/f", disk.root().join("l")).unwrap();
        assert!(matches!(disk.lookup("l"), DiskLookup::Found(_)));
        assert!(matches!(disk.lookup("a/f"), DiskLookup::Found(_)));
        assert!(disk.cached("l").is_none(), "symlinks are walked every time");
        assert!(
            disk.cached("a/f").is_none(),
            "sub-folders are walked every time"
        );
    }

    #[test]
    fn big_files_are_read_block_by_block() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        std::fs::write(dir.path().join("big"), &data).unwrap();
        let disk = DiskRoot::new(dir.path(), 100, 1000, Duration::from_secs(2)).unwrap();
        let DiskLookup::Found(c @ Content::File { .. }) = disk.lookup("big") else {
            panic!("expected an open file")
        };
        let mut buf = [0u8; 512];
        assert_eq!(c.read_at(9_800, &mut buf).unwrap(), 200);
        assert_eq!(&buf[..200], &data[9_800..]);
    }
}

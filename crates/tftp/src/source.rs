//! Where the bytes of a requested file come from: first a [`FileSource`]
//! (per-phone virtual files rendered from the inventory), then real files
//! under the root, with hot files cached in memory.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

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

impl Content {
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
    /// Absent; `case_match` names a file that differs only in case.
    NotFound {
        case_match: Option<String>,
    },
    /// Resolves (through a symlink) to somewhere outside the root.
    Escapes(PathBuf),
    Io(io::Error),
}

struct CacheEntry {
    len: u64,
    mtime: Option<SystemTime>,
    data: Bytes,
    last_used: u64,
}

/// Files under the root, with an LRU-ish cache bounded in total bytes.
pub(crate) struct DiskRoot {
    root: PathBuf,
    max_cached_file: u64,
    max_cache: u64,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    map: HashMap<PathBuf, CacheEntry>,
    total: u64,
    tick: u64,
}

impl DiskRoot {
    pub(crate) fn new(root: &Path, max_cached_file: u64, max_cache: u64) -> io::Result<DiskRoot> {
        let root = root
            .canonicalize()
            .map_err(|e| io::Error::new(e.kind(), format!("TFTP root {}: {e}", root.display())))?;
        Ok(DiskRoot {
            root,
            max_cached_file,
            max_cache,
            cache: Mutex::new(Cache::default()),
        })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Looks up `rel`, a name already checked by `sanitize_name`.
    pub(crate) fn lookup(&self, rel: &str) -> DiskLookup {
        let path = self.root.join(rel);
        let meta = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return DiskLookup::NotFound { case_match: None },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return DiskLookup::NotFound {
                    case_match: self.case_match(rel),
                }
            }
            Err(e) => return DiskLookup::Io(e),
        };
        // Symlinks may point anywhere: only serve what really lies under
        // the root.
        let is_link = std::fs::symlink_metadata(&path)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(true);
        if is_link || rel.contains('/') {
            match path.canonicalize() {
                Ok(c) if c.starts_with(&self.root) => {}
                Ok(c) => return DiskLookup::Escapes(c),
                Err(e) => return DiskLookup::Io(e),
            }
        }
        let len = meta.len();
        let mtime = meta.modified().ok();
        if len <= self.max_cached_file {
            let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            c.tick += 1;
            let tick = c.tick;
            if let Some(e) = c.map.get_mut(&path) {
                if e.len == len && e.mtime == mtime {
                    e.last_used = tick;
                    return DiskLookup::Found(Content::Mem(e.data.clone()));
                }
            }
            drop(c);
            let data = match std::fs::read(&path) {
                Ok(d) => Bytes::from(d),
                Err(e) => return DiskLookup::Io(e),
            };
            if data.len() as u64 != len {
                // Being rewritten right now: serve this read, cache nothing.
                return DiskLookup::Found(Content::Mem(data));
            }
            let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(old) = c.map.remove(&path) {
                c.total -= old.len;
            }
            while c.total + len > self.max_cache && !c.map.is_empty() {
                let Some(victim) = c
                    .map
                    .iter()
                    .min_by_key(|(_, e)| e.last_used)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                if let Some(e) = c.map.remove(&victim) {
                    c.total -= e.len;
                }
            }
            if c.total + len <= self.max_cache {
                c.total += len;
                c.map.insert(
                    path,
                    CacheEntry {
                        len,
                        mtime,
                        data: data.clone(),
                        last_used: tick,
                    },
                );
            }
            return DiskLookup::Found(Content::Mem(data));
        }
        match File::open(&path) {
            Ok(f) => DiskLookup::Found(Content::File {
                file: Arc::new(f),
                len,
            }),
            Err(e) => DiskLookup::Io(e),
        }
    }

    /// The phones' names are case sensitive; a near miss is worth a log
    /// line because it is the classic cause of a phone that never upgrades.
    fn case_match(&self, rel: &str) -> Option<String> {
        let (dir, base) = match rel.rsplit_once('/') {
            Some((d, b)) => (self.root.join(d), b),
            None => (self.root.clone(), rel),
        };
        let rd = std::fs::read_dir(dir).ok()?;
        for entry in rd.take(100_000).flatten() {
            let name = entry.file_name();
            if let Some(n) = name.to_str() {
                if n != base && n.eq_ignore_ascii_case(base) {
                    return Some(match rel.rsplit_once('/') {
                        Some((d, _)) => format!("{d}/{n}"),
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
        let disk = DiskRoot::new(&root, 1 << 20, 1 << 20).unwrap();
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

    #[test]
    fn big_files_are_read_block_by_block() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        std::fs::write(dir.path().join("big"), &data).unwrap();
        let disk = DiskRoot::new(dir.path(), 100, 1000).unwrap();
        let DiskLookup::Found(c @ Content::File { .. }) = disk.lookup("big") else {
            panic!("expected an open file")
        };
        let mut buf = [0u8; 512];
        assert_eq!(c.read_at(9_800, &mut buf).unwrap(), 200);
        assert_eq!(&buf[..200], &data[9_800..]);
    }
}

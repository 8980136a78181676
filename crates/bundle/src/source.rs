//! Reading a bundle as the user has it: a vendor zip or a folder of
//! extracted files, into memory, refusing anything that is not a plain
//! file at the top (paths, `..`, absolute names, symbolic links) and
//! anything too big to be firmware.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One file of a bundle, byte for byte as the vendor shipped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What a bundle may hold. Real zips hold five files of under 1 MB each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_files: usize,
    pub max_file_bytes: u64,
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_files: 256,
            max_file_bytes: 16 << 20,
            max_total_bytes: 128 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a readable zip: {source}")]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error("{path} holds the entry {entry:?}, which {why}; the phones only read files at the top of the TFTP root, so phoneflip refuses the whole bundle")]
    UnsafeEntry {
        path: PathBuf,
        entry: String,
        why: &'static str,
    },
    #[error("{path} holds {entry:?} twice")]
    Duplicate { path: PathBuf, entry: String },
    #[error("{path}: {entry:?} is {bytes} bytes, more than the {limit} bytes any 7940/7960 firmware file needs; refusing it")]
    TooLarge {
        path: PathBuf,
        entry: String,
        bytes: u64,
        limit: u64,
    },
    #[error("{path} holds more than {limit} files (or bytes in total); it is not a 7940/7960 firmware bundle")]
    TooMany { path: PathBuf, limit: u64 },
}

/// Why a name is not a plain file name at the top of a root, if it is not.
pub fn unsafe_name(name: &str) -> Option<&'static str> {
    let b = name.as_bytes();
    if name.is_empty() {
        Some("has an empty name")
    } else if name.starts_with(['/', '\\']) || (b.len() >= 2 && b[1] == b':') {
        Some("is an absolute path")
    } else if name.split(['/', '\\']).any(|c| c == "..") {
        Some("climbs out of the folder with ..")
    } else if name.contains(['/', '\\']) {
        Some("is in a folder")
    } else if name.starts_with('.') {
        Some("is a hidden file")
    } else if name.chars().any(|c| c.is_control()) {
        Some("has control characters in its name")
    } else {
        None
    }
}

struct Budget<'a> {
    path: &'a Path,
    limits: Limits,
    files: usize,
    total: u64,
}

impl Budget<'_> {
    fn new(path: &Path, limits: Limits) -> Budget<'_> {
        Budget {
            path,
            limits,
            files: 0,
            total: 0,
        }
    }

    fn admit(&mut self, entry: &str, bytes: u64) -> Result<(), SourceError> {
        if bytes > self.limits.max_file_bytes {
            return Err(SourceError::TooLarge {
                path: self.path.to_path_buf(),
                entry: entry.to_string(),
                bytes,
                limit: self.limits.max_file_bytes,
            });
        }
        self.files += 1;
        self.total += bytes;
        if self.files > self.limits.max_files {
            return Err(SourceError::TooMany {
                path: self.path.to_path_buf(),
                limit: self.limits.max_files as u64,
            });
        }
        if self.total > self.limits.max_total_bytes {
            return Err(SourceError::TooMany {
                path: self.path.to_path_buf(),
                limit: self.limits.max_total_bytes,
            });
        }
        Ok(())
    }
}

/// Reads a zip or a folder. Entries keep the source's order.
pub fn read(path: &Path, limits: Limits) -> Result<Vec<Entry>, SourceError> {
    let meta = fs::metadata(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut entries = if meta.is_dir() {
        read_dir(path, limits)?
    } else {
        read_zip(path, limits)?
    };
    let mut seen = std::collections::BTreeSet::new();
    for e in &entries {
        if !seen.insert(e.name.as_str()) {
            return Err(SourceError::Duplicate {
                path: path.to_path_buf(),
                entry: e.name.clone(),
            });
        }
    }
    entries.shrink_to_fit();
    Ok(entries)
}

fn read_zip(path: &Path, limits: Limits) -> Result<Vec<Entry>, SourceError> {
    let zerr = |source| SourceError::Zip {
        path: path.to_path_buf(),
        source,
    };
    let io = |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(io)?;
    let mut archive = zip::ZipArchive::new(file).map_err(zerr)?;
    let mut budget = Budget::new(path, limits);
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let e = archive.by_index(i).map_err(zerr)?;
        let name = e.name().to_string();
        let refuse = |why| SourceError::UnsafeEntry {
            path: path.to_path_buf(),
            entry: name.clone(),
            why,
        };
        if let Some(why) = unsafe_name(name.trim_end_matches('/')) {
            return Err(refuse(why));
        }
        if e.is_dir() {
            continue;
        }
        if e.is_symlink() {
            return Err(refuse("is a symbolic link"));
        }
        budget.admit(&name, e.size())?;
        // The declared size can lie: read at most one byte past the limit.
        let mut bytes = Vec::with_capacity(e.size().min(limits.max_file_bytes) as usize);
        e.take(limits.max_file_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > limits.max_file_bytes {
            budget.admit(&name, bytes.len() as u64)?;
        }
        out.push(Entry { name, bytes });
    }
    Ok(out)
}

fn read_dir(path: &Path, limits: Limits) -> Result<Vec<Entry>, SourceError> {
    let io = |p: &Path| {
        let path = p.to_path_buf();
        move |source| SourceError::Io { path, source }
    };
    let mut names = Vec::new();
    for e in fs::read_dir(path).map_err(io(path))? {
        let e = e.map_err(io(path))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let meta = fs::symlink_metadata(e.path()).map_err(io(&e.path()))?;
        // Hidden files (.DS_Store, a root's own backup folder) and
        // folders are not part of what the vendor shipped.
        if name.starts_with('.') || meta.is_dir() {
            continue;
        }
        let refuse = |why| SourceError::UnsafeEntry {
            path: path.to_path_buf(),
            entry: name.clone(),
            why,
        };
        if meta.file_type().is_symlink() {
            return Err(refuse("is a symbolic link"));
        }
        if !meta.is_file() {
            return Err(refuse("is not a regular file"));
        }
        if let Some(why) = unsafe_name(&name) {
            return Err(refuse(why));
        }
        names.push((name, meta.len()));
    }
    names.sort();
    let mut budget = Budget::new(path, limits);
    let mut out = Vec::new();
    for (name, len) in names {
        budget.admit(&name, len)?;
        let p = path.join(&name);
        let bytes = fs::read(&p).map_err(io(&p))?;
        out.push(Entry { name, bytes });
    }
    Ok(out)
}

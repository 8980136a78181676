//! Backups of files in a TFTP root before phoneflip replaces them:
//! `ROOT/.phoneflip-backup/<timestamp>/NAME`, one folder per run (the
//! doctor's `--fix` and `firmware import` share it).

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The folder under the TFTP root that holds the backups. Never served:
/// the phones only read plain names at the top of the root.
pub const BACKUP_DIR: &str = ".phoneflip-backup";

/// `20261125T150618Z`: sorts by time, valid on every file system.
pub fn timestamp(t: SystemTime) -> String {
    const COMPACT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    time::Duration::try_from(since)
        .ok()
        .and_then(|d| time::OffsetDateTime::UNIX_EPOCH.checked_add(d))
        .and_then(|t| t.format(COMPACT).ok())
        .unwrap_or_else(|| since.as_secs().to_string())
}

/// One run's backup folder, `ROOT/.phoneflip-backup/<timestamp>[-n]/`:
/// a fresh folder per run (`-2`, `-3`… when two runs share a second), so
/// a backup is never overwritten either.
#[derive(Debug)]
pub struct Backup {
    root: PathBuf,
    dir: PathBuf,
    saved: BTreeSet<String>,
}

impl Backup {
    /// Chooses the folder; nothing is created until [`Backup::create`] or
    /// the first [`Backup::save`].
    pub fn new(root: &Path, now: SystemTime) -> Backup {
        let base = root.join(BACKUP_DIR);
        let stamp = timestamp(now);
        let mut dir = base.join(&stamp);
        let mut n = 1;
        while dir.exists() {
            n += 1;
            dir = base.join(format!("{stamp}-{n}"));
        }
        Backup {
            root: root.to_path_buf(),
            dir,
            saved: BTreeSet::new(),
        }
    }

    /// Where the copies go.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the folder.
    pub fn create(&self) -> io::Result<()> {
        fs::create_dir_all(&self.dir)
    }

    /// Copies `ROOT/name` into the folder, once per name. Returns where the
    /// copy is, or `None` when there is no such file to save.
    pub fn save(&mut self, name: &str) -> io::Result<Option<PathBuf>> {
        let src = self.root.join(name);
        let dest = self.dir.join(name);
        if !src.is_file() {
            return Ok(None);
        }
        if self.saved.insert(name.to_string()) {
            self.create()?;
            fs::copy(&src, &dest)?;
        }
        Ok(Some(dest))
    }

    /// The names saved so far.
    pub fn saved(&self) -> impl Iterator<Item = &str> {
        self.saved.iter().map(String::as_str)
    }
}

/// Replaces `ROOT/name` with `bytes` through a temporary file and a
/// rename, so a phone never reads half a file.
pub fn write_atomic(root: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = root.join(format!(".{name}.phoneflip-tmp"));
    fs::write(&tmp, bytes).and_then(|_| fs::rename(&tmp, root.join(name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_file_is_saved_once_and_runs_get_their_own_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("OS79XX.TXT"), "P003-8-12-00").unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_764_083_178);
        let mut b = Backup::new(root, now);
        assert!(b.dir().ends_with(".phoneflip-backup/20251125T150618Z"));
        let copy = b.save("OS79XX.TXT").unwrap().unwrap();
        write_atomic(root, "OS79XX.TXT", b"P0S3-8-12-00").unwrap();
        assert_eq!(b.save("OS79XX.TXT").unwrap().unwrap(), copy);
        assert_eq!(fs::read(&copy).unwrap(), b"P003-8-12-00");
        assert_eq!(b.save("absent").unwrap(), None);
        assert_eq!(b.saved().collect::<Vec<_>>(), ["OS79XX.TXT"]);
        let second = Backup::new(root, now);
        assert!(second.dir().ends_with("20251125T150618Z-2"));
    }
}

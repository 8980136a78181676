//! Importing a bundle into a TFTP root: read it safely ([`crate::source`]),
//! check it ([`crate::check`]), and only when nothing is wrong copy its
//! files byte for byte, backing up every existing file that differs
//! ([`crate::backup`]) and saying what was replaced.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use phoneflip_firmware::BundleName;

use crate::backup::{write_atomic, Backup};
use crate::check::{check, Problem};
use crate::source::{self, Limits, SourceError};

/// How to import.
#[derive(Debug, Clone)]
pub struct Options {
    /// Check and report, write nothing.
    pub dry_run: bool,
    /// Names the backup folder.
    pub now: SystemTime,
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            dry_run: false,
            now: SystemTime::now(),
            limits: Limits::default(),
        }
    }
}

/// What happened (or, in a dry run, would happen) to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// New in the root.
    Added,
    /// The root already held these exact bytes.
    Unchanged,
    /// The root held something else, now in `backup`.
    Replaced { backup: PathBuf },
}

/// What [`import`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The bundle's release, when its name is a vendor bundle name.
    pub bundle: Option<BundleName>,
    /// Every file of the bundle with its size and fate. Empty when the
    /// import was refused.
    pub files: Vec<(String, u64, Action)>,
    /// The names written (added or replaced), in the bundle's order.
    pub written: Vec<String>,
    /// Files that differed, and where their old bytes are.
    pub replaced: Vec<(String, PathBuf)>,
    /// Why the import was refused; empty when it went through. Nothing is
    /// written while there is a problem.
    pub problems: Vec<Problem>,
    pub dry_run: bool,
}

impl ImportReport {
    pub fn refused(&self) -> bool {
        !self.problems.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("reading the TFTP root {path}: {source}")]
    Root {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} exists and is not a regular file (a folder or a symbolic link); phoneflip will not write through it")]
    NotAFile { path: PathBuf },
    #[error("cannot back up {path} before replacing it: {source}; nothing more was written")]
    Backup {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Imports a vendor zip, a folder of extracted files or a synthetic
/// bundle into `root` with the default options.
pub fn import(source: &Path, root: &Path) -> Result<ImportReport, ImportError> {
    import_with(source, root, &Options::default())
}

pub fn import_with(
    source: &Path,
    root: &Path,
    opts: &Options,
) -> Result<ImportReport, ImportError> {
    let entries = source::read(source, opts.limits)?;
    let bundle = source
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse::<BundleName>().ok());
    let root_err = |source| ImportError::Root {
        path: root.to_path_buf(),
        source,
    };
    let in_root: BTreeSet<String> = match fs::read_dir(root) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
        Err(e) => return Err(root_err(e)),
    };
    let mut report = ImportReport {
        bundle,
        files: Vec::new(),
        written: Vec::new(),
        replaced: Vec::new(),
        problems: check(&entries, &in_root),
        dry_run: opts.dry_run,
    };
    if report.refused() {
        return Ok(report);
    }
    let mut backup = Backup::new(root, opts.now);
    // Decide every file's fate before writing any, so a folder or link in
    // the way stops the import before it has begun.
    let mut plan = Vec::new();
    for e in &entries {
        let dest = root.join(&e.name);
        let action = match fs::symlink_metadata(&dest) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Action::Added,
            Err(err) => return Err(root_err(err)),
            Ok(m) if !m.is_file() => return Err(ImportError::NotAFile { path: dest }),
            Ok(_) => match fs::read(&dest) {
                Ok(old) if old == e.bytes => Action::Unchanged,
                Ok(_) => Action::Replaced {
                    backup: backup.dir().join(&e.name),
                },
                Err(err) => return Err(root_err(err)),
            },
        };
        plan.push((e, action));
    }
    if !opts.dry_run {
        fs::create_dir_all(root).map_err(root_err)?;
    }
    for (e, action) in plan {
        let dest = root.join(&e.name);
        if !opts.dry_run {
            if let Action::Replaced { .. } = action {
                backup.save(&e.name).map_err(|source| ImportError::Backup {
                    path: dest.clone(),
                    source,
                })?;
            }
            if action != Action::Unchanged {
                write_atomic(root, &e.name, &e.bytes).map_err(|source| ImportError::Write {
                    path: dest.clone(),
                    source,
                })?;
            }
        }
        if action != Action::Unchanged {
            report.written.push(e.name.clone());
        }
        if let Action::Replaced { backup } = &action {
            report.replaced.push((e.name.clone(), backup.clone()));
        }
        report
            .files
            .push((e.name.clone(), e.bytes.len() as u64, action));
    }
    Ok(report)
}

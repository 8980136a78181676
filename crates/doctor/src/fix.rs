//! `--fix`: applies the fixes that are safe to automate, after copying
//! every file it touches to `ROOT/.phoneflip-backup/<timestamp>/`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use phoneflip_bundle::backup::timestamp;
use phoneflip_bundle::backup::{write_atomic, Backup};

use crate::finding::{Finding, Fix};

/// What `--fix` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// Where the originals are; `None` when nothing was changed.
    pub backup: Option<PathBuf>,
    pub changes: Vec<Fix>,
    /// Fixes left alone, with the reason.
    pub skipped: Vec<(Fix, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("cannot back up {file} to {backup}: {source}; nothing was changed")]
    Backup {
        file: String,
        backup: PathBuf,
        source: std::io::Error,
    },
    #[error("applying `{fix}` failed: {source}; the originals are in {backup}")]
    Apply {
        fix: Fix,
        backup: PathBuf,
        source: std::io::Error,
    },
}

/// The fixes of `findings`, once each, renames first.
pub fn planned(findings: &[Finding]) -> Vec<Fix> {
    let set: BTreeSet<Fix> = findings.iter().filter_map(|f| f.auto_fix.clone()).collect();
    set.into_iter().collect()
}

fn plain_name(n: &str) -> bool {
    !n.is_empty() && !n.contains(['/', '\\']) && n != "." && n != ".."
}

/// Applies the safe fixes of `findings` to the root at `dir`.
pub fn apply(dir: &Path, findings: &[Finding], now: SystemTime) -> Result<Applied, FixError> {
    let mut todo = Vec::new();
    let mut skipped = Vec::new();
    let mut sources = BTreeSet::new();
    let mut targets = BTreeSet::new();
    for fix in planned(findings) {
        let ok = match &fix {
            Fix::Rename { from, to } => {
                if !plain_name(from) || !plain_name(to) {
                    Err("not a plain file name in the root".to_string())
                } else if !sources.insert(from.clone()) || !targets.insert(to.clone()) {
                    Err(format!("another fix already renames {from} or to {to}"))
                } else if dir.join(to).exists() && !same_file_ci(dir, from, to) {
                    Err(format!("{to} exists already"))
                } else {
                    Ok(())
                }
            }
            Fix::Rewrite { file, .. } => {
                if plain_name(file) {
                    Ok(())
                } else {
                    Err("not a plain file name in the root".to_string())
                }
            }
        };
        match ok {
            Ok(()) => todo.push(fix),
            Err(why) => skipped.push((fix, why)),
        }
    }
    if todo.is_empty() {
        return Ok(Applied {
            backup: None,
            changes: todo,
            skipped,
        });
    }
    let mut backup = Backup::new(dir, now);
    let backup_err = |file: &str, backup: &Path| {
        let file = file.to_string();
        let backup = backup.to_path_buf();
        move |source| FixError::Backup {
            file,
            backup,
            source,
        }
    };
    backup
        .create()
        .map_err(backup_err("(the backup folder)", backup.dir()))?;
    for fix in &todo {
        let file = match fix {
            Fix::Rename { from, .. } => from,
            Fix::Rewrite { file, .. } => file,
        };
        let dir = backup.dir().to_path_buf();
        backup.save(file).map_err(backup_err(file, &dir))?;
    }
    let backup = backup.dir().to_path_buf();
    let mut changes = Vec::new();
    for fix in todo {
        let res = match &fix {
            Fix::Rename { from, to } => fs::rename(dir.join(from), dir.join(to)),
            Fix::Rewrite { file, contents } => write_atomic(dir, file, contents.as_bytes()),
        };
        if let Err(source) = res {
            return Err(FixError::Apply {
                fix,
                backup,
                source,
            });
        }
        changes.push(fix);
    }
    Ok(Applied {
        backup: Some(backup),
        changes,
        skipped,
    })
}

/// On a case-insensitive file system `to` "exists" because it is `from`.
fn same_file_ci(dir: &Path, from: &str, to: &str) -> bool {
    from.eq_ignore_ascii_case(to)
        && fs::read_dir(dir)
            .map(|rd| {
                !rd.filter_map(|e| e.ok())
                    .any(|e| e.file_name().to_str() == Some(to))
            })
            .unwrap_or(false)
}

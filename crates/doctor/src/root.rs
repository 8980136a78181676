//! A TFTP root as the checks see it: the names at its top level, their
//! sizes, and the contents of the small control files. Reading a real
//! directory happens only in [`read_root`]; the checks get a [`Root`].

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Control files larger than this are not read: no phone file is that big,
/// and reading an image by mistake would be slow.
pub const MAX_CONTROL_FILE: u64 = 1 << 20;

/// The backup folder `--fix` (and `firmware import`) writes into; never
/// scanned.
pub use phoneflip_bundle::backup::BACKUP_DIR;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// A control file's bytes.
    Bytes(Vec<u8>),
    /// A firmware image or other large file: readable, not read.
    NotRead,
    /// The TFTP server could not read it either.
    Unreadable(String),
    /// A firmware image that is not empty but cannot be what its name
    /// says: a synthetic image failing its checksum, or a vendor image of a
    /// size no real one has. The phone refuses it.
    Damaged(phoneflip_bundle::Problem),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootFile {
    pub name: String,
    pub size: u64,
    pub content: Content,
}

impl RootFile {
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.content {
            Content::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// The files at the top of a TFTP root, indexed by exact and by
/// lower-case name (the phones compare names case-sensitively, people
/// type them in any case).
#[derive(Debug, Clone, Default)]
pub struct Root {
    files: Vec<RootFile>,
    exact: HashMap<String, usize>,
    folded: HashMap<String, Vec<usize>>,
}

/// Whether phoneflip reads the file's content: the phones' text control
/// files, by extension.
pub fn is_control_file(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    [".txt", ".cnf", ".xml", ".cfg", ".dat"]
        .iter()
        .any(|e| l.ends_with(e))
}

impl Root {
    pub fn new(mut files: Vec<RootFile>) -> Root {
        files.sort_by(|a, b| a.name.cmp(&b.name));
        let mut exact = HashMap::with_capacity(files.len());
        let mut folded: HashMap<String, Vec<usize>> = HashMap::with_capacity(files.len());
        for (i, f) in files.iter().enumerate() {
            exact.insert(f.name.clone(), i);
            folded
                .entry(f.name.to_ascii_lowercase())
                .or_default()
                .push(i);
        }
        Root {
            files,
            exact,
            folded,
        }
    }

    /// A root from names and contents, as tests and the fuzzer build them:
    /// control files keep their bytes, other files are taken as readable.
    pub fn from_contents<N: Into<String>>(files: impl IntoIterator<Item = (N, Vec<u8>)>) -> Root {
        Root::new(
            files
                .into_iter()
                .map(|(n, b)| {
                    let name = n.into();
                    let size = b.len() as u64;
                    let content = if is_control_file(&name) {
                        Content::Bytes(b)
                    } else {
                        damaged(&name, size, &mut b.as_slice()).unwrap_or(Content::NotRead)
                    };
                    RootFile {
                        name,
                        size,
                        content,
                    }
                })
                .collect(),
        )
    }

    pub fn files(&self) -> &[RootFile] {
        &self.files
    }

    pub fn get(&self, name: &str) -> Option<&RootFile> {
        self.exact.get(name).map(|&i| &self.files[i])
    }

    pub fn has(&self, name: &str) -> bool {
        self.exact.contains_key(name)
    }

    /// Files whose name differs from `name` only in case.
    pub fn other_case(&self, name: &str) -> Vec<&RootFile> {
        self.folded
            .get(&name.to_ascii_lowercase())
            .map(|v| {
                v.iter()
                    .map(|&i| &self.files[i])
                    .filter(|f| f.name != name)
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot list the TFTP root {path}: {source}; check the path and that you may read the folder"
)]
pub struct RootError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Lists and reads a real TFTP root. Only a root that cannot be listed is
/// an error: a file that cannot be read is recorded as
/// [`Content::Unreadable`], which the checks report.
pub fn read_root(dir: &Path) -> Result<Root, RootError> {
    let err = |source| RootError {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(err)? {
        let entry = entry.map_err(err)?;
        let name = match entry.file_name().into_string() {
            Ok(n) => n,
            Err(raw) => {
                files.push(RootFile {
                    name: raw.to_string_lossy().into_owned(),
                    size: 0,
                    content: Content::Unreadable(
                        "the name is not valid UTF-8; no phone can ask for it".into(),
                    ),
                });
                continue;
            }
        };
        if name == BACKUP_DIR {
            continue;
        }
        files.extend(read_file(name, &entry.path()));
    }
    Ok(Root::new(files))
}

/// Reads a root kept in sub-folders and served through a tftpd-hpa map
/// file: each file under the name a phone asks for it by
/// ([`phoneflip_config::phone_view`]), so the checks judge what the
/// phones are served.
pub fn read_root_mapped(dir: &Path, map: &phoneflip_config::MapFile) -> Result<Root, RootError> {
    let mut tree = Vec::new();
    walk(dir, dir, &mut tree).map_err(|source| RootError {
        path: dir.to_path_buf(),
        source,
    })?;
    let files = phoneflip_config::phone_view(Some(map), &tree)
        .into_iter()
        .filter_map(|(asked, path)| read_file(asked, &dir.join(path)))
        .collect();
    Ok(Root::new(files))
}

/// Every file under `dir`, relative to `base` and `/`-separated; the
/// backup folder and names that are not UTF-8 (no phone can ask for
/// them) left out.
fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name == BACKUP_DIR {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            walk(base, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(base) {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// One file of the root as a phone asking for `name` gets it; `None` for
/// what is not a file (folders).
fn read_file(name: String, path: &Path) -> Option<RootFile> {
    // Follow symlinks: the TFTP server does.
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            return Some(RootFile {
                name,
                size: 0,
                content: Content::Unreadable(e.to_string()),
            })
        }
    };
    if !meta.is_file() {
        return None;
    }
    let size = meta.len();
    if let Some(why) = hidden_from_daemon(&meta) {
        return Some(RootFile {
            name,
            size,
            content: Content::Unreadable(why),
        });
    }
    let content = match fs::File::open(path) {
        Err(e) => Content::Unreadable(e.to_string()),
        Ok(mut f) if is_control_file(&name) && size <= MAX_CONTROL_FILE => {
            let mut b = Vec::with_capacity(size as usize);
            match f.read_to_end(&mut b) {
                Ok(_) => Content::Bytes(b),
                Err(e) => Content::Unreadable(e.to_string()),
            }
        }
        Ok(mut f) => damaged(&name, size, &mut f).unwrap_or(Content::NotRead),
    };
    Some(RootFile {
        name,
        size,
        content,
    })
}

/// Images larger than this are judged by size alone: no synthetic image
/// is that big.
const MAX_IMAGE: u64 = 64 << 20;

/// The verdict on a non-empty image (an empty one is its own check): read
/// whole only when it starts with the synthetic magic, since only a
/// synthetic image can be verified; a vendor image is judged by its size.
/// `None` when nothing is wrong or the name is no image's.
fn damaged(name: &str, size: u64, file: &mut impl Read) -> Option<Content> {
    use phoneflip_bundle::check::image_problem;
    use phoneflip_bundle::image::MAGIC;
    let image = name.parse::<phoneflip_firmware::ImageFile>().is_ok()
        || name.parse::<phoneflip_firmware::GkImage>().is_ok();
    if size == 0 || !image {
        return None;
    }
    let mut bytes = Vec::new();
    let read = Read::take(&mut *file, MAGIC.len() as u64)
        .read_to_end(&mut bytes)
        .and_then(|_| {
            if bytes.as_slice() == MAGIC && size <= MAX_IMAGE {
                file.read_to_end(&mut bytes).map(|_| true)
            } else {
                Ok(false)
            }
        });
    match read {
        Err(e) => Some(Content::Unreadable(e.to_string())),
        Ok(synthetic) => {
            image_problem(name, size, synthetic.then_some(&bytes[..])).map(Content::Damaged)
        }
    }
}

/// A file others may not read: tftpd-hpa runs as `tftp` and dnsmasq as
/// `nobody`/`dnsmasq`, not as the file's owner, so they cannot serve it,
/// even though the doctor (often run as root) can open it.
#[cfg(unix)]
fn hidden_from_daemon(meta: &fs::Metadata) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    (mode & 0o004 == 0).then(|| {
        format!(
            "its permissions are {mode:04o}, without read access for others, and the TFTP daemon runs as its own user (tftp for tftpd-hpa, nobody or dnsmasq for dnsmasq)"
        )
    })
}

#[cfg(not(unix))]
fn hidden_from_daemon(_: &fs::Metadata) -> Option<String> {
    None
}

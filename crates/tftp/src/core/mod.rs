//! The sans-IO core: packet codec, option negotiation, netascii, file-name
//! checks and the transfer state machines. No sockets, no tokio, no clock:
//! callers pass datagrams and `Instant`s in and take datagrams out.

pub mod netascii;
pub mod options;
pub mod packet;
pub mod read;
pub mod receive;

use std::fmt;

/// Random access to the bytes being sent, so a transfer holds one block
/// buffer rather than the whole file (a 700 KB .sb2 times 1,000 phones).
pub trait BlockSource {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Reads up to `buf.len()` bytes at `offset`; 0 means end of data.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize>;
}

impl BlockSource for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = (offset.min(<[u8]>::len(self) as u64)) as usize;
        let n = buf.len().min(<[u8]>::len(self) - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

impl BlockSource for bytes::Bytes {
    fn len(&self) -> u64 {
        self.as_ref().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.as_ref().read_at(offset, buf)
    }
}

impl BlockSource for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
}

/// How a transfer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The peer stopped answering within the retry budget.
    Timeout,
    /// The peer sent an ERROR packet (e.g. code 8 after a tsize probe).
    PeerError {
        code: u16,
        message: String,
    },
    /// Our side could not read the data.
    ReadError(String),
    /// The peer broke the protocol.
    Protocol(String),
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Success => f.write_str("Successful"),
            Outcome::Timeout => f.write_str("Timeout"),
            Outcome::PeerError { code, message } => {
                write!(f, "Peer sent error {code}: {message}")
            }
            Outcome::ReadError(e) => write!(f, "Read error: {e}"),
            Outcome::Protocol(e) => write!(f, "State Error: {e}"),
        }
    }
}

/// Why a requested file name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameRefusal {
    #[error("empty file name")]
    Empty,
    #[error("absolute path {0:?}: file names are relative to the TFTP root")]
    Absolute(String),
    #[error("{0:?} contains '..': paths outside the TFTP root are refused")]
    ParentDir(String),
    #[error("{0:?} contains a backslash: use '/' (backslashes are refused to avoid Windows-style escapes)")]
    Backslash(String),
    #[error("{0:?} contains a NUL or control character")]
    Control(String),
}

/// Turns a requested name into a safe relative path ("a/b"), or refuses it.
///
/// A leading "./" is legitimate: SIP 8.x phones prefix `tftp_cfg_dir`, e.g.
/// `./SIP002094D245CB.cnf`. Everything that could leave the root is
/// refused rather than cleaned up, so the log shows the attempt.
pub fn sanitize_name(name: &str) -> Result<String, NameRefusal> {
    if name.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(NameRefusal::Control(name.to_string()));
    }
    if name.contains('\\') {
        return Err(NameRefusal::Backslash(name.to_string()));
    }
    if name.starts_with('/') {
        return Err(NameRefusal::Absolute(name.to_string()));
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => continue,
            ".." => return Err(NameRefusal::ParentDir(name.to_string())),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err(NameRefusal::Empty);
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            sanitize_name("./SIP002094D245CB.cnf").unwrap(),
            "SIP002094D245CB.cnf"
        );
        assert_eq!(sanitize_name("OS79XX.TXT").unwrap(), "OS79XX.TXT");
        assert_eq!(sanitize_name("dir/./x").unwrap(), "dir/x");
        assert!(matches!(
            sanitize_name("../etc/passwd"),
            Err(NameRefusal::ParentDir(_))
        ));
        assert!(matches!(
            sanitize_name("a/../../b"),
            Err(NameRefusal::ParentDir(_))
        ));
        assert!(matches!(
            sanitize_name("/etc/passwd"),
            Err(NameRefusal::Absolute(_))
        ));
        assert!(matches!(
            sanitize_name("..\\x"),
            Err(NameRefusal::Backslash(_))
        ));
        assert!(matches!(
            sanitize_name("a\0b"),
            Err(NameRefusal::Control(_))
        ));
        assert!(matches!(sanitize_name("./"), Err(NameRefusal::Empty)));
        assert!(matches!(sanitize_name(""), Err(NameRefusal::Empty)));
    }

    proptest::proptest! {
        #[test]
        fn sanitized_names_never_escape(name in "[./a\\\\\u{0}]{0,12}") {
            if let Ok(p) = sanitize_name(&name) {
                proptest::prop_assert!(!p.starts_with('/'));
                proptest::prop_assert!(p.split('/').all(|c| !c.is_empty() && c != "." && c != ".."));
                proptest::prop_assert!(!p.contains('\\') && !p.contains('\0'));
            }
        }
    }
}
#[cfg(test)]
mod machine_tests;

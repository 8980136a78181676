//! Root files beside the boot path that still stop or endanger a phone:
//! `syncinfo.xml` (remote reset), RINGLIST.DAT's line endings, a junk
//! `CTLSEP<MAC>.tlv` trust list, and default SSH credentials in SCCP XML
//! files. Reads them only through `phoneflip-config`'s parsers and
//! classifiers; judges, never rewrites beyond what `render` would write.

use phoneflip_config::filename::{RINGLIST_DAT, SYNCINFO_XML};
use phoneflip_config::{FileKind, RingList, SyncInfo};

use crate::finding::{section, Check, Finding, Fix, Severity, Symptom};

use super::Ctx;

/// A real CTL file is a signed trust list of several kilobytes; anything
/// this small is a placeholder or a broken copy.
const CTL_MIN: u64 = 64;

impl Ctx<'_> {
    pub(super) fn control_files(&mut self) {
        self.syncinfo();
        self.ringlist_line_endings();
        self.ctl_files();
        self.ssh_defaults();
    }

    fn syncinfo(&mut self) {
        let Some(bytes) = self.root.get(SYNCINFO_XML).and_then(|f| f.bytes()) else {
            return;
        };
        if let Err(e) = SyncInfo::parse(SYNCINFO_XML, bytes) {
            self.push(
                Finding::new(Check::SyncInfoUnreadable, Severity::Warning, section::ENABLE_SIP)
                    .file(SYNCINFO_XML)
                    .problem(format!(
                        "syncinfo.xml cannot be read: {}; a phone told to check-sync finds no IMAGE line for its load and never reboots to pick up a new configuration",
                        e.problem
                    ))
                    .fix(e.fix.clone()),
            );
        }
    }

    fn ringlist_line_endings(&mut self) {
        let Some(bytes) = self.root.get(RINGLIST_DAT).and_then(|f| f.bytes()) else {
            return;
        };
        let Some(at) = bytes.iter().position(|&b| b == b'\r') else {
            return;
        };
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        // --fix writes exactly what render writes: the same rings, LF only.
        // A parsed list writes its source back unchanged (CRLF included),
        // so the rings go into a fresh list, which render's writer makes.
        let fix = RingList::parse(RINGLIST_DAT, bytes)
            .ok()
            .and_then(|l| RingList::new(l.rings).to_bytes().ok())
            .and_then(|b| String::from_utf8(b).ok())
            .map(|contents| Fix::Rewrite {
                file: RINGLIST_DAT.into(),
                contents,
            });
        self.push(
            Finding::new(Check::RingListLineEnding, Severity::Warning, section::ENABLE_SIP)
                .file(RINGLIST_DAT)
                .line(line)
                .problem("RINGLIST.DAT has DOS line endings (CR LF): the phone takes the CR as part of the ring file's name and asks for a file that does not exist")
                .fix("save RINGLIST.DAT with Unix line endings (LF only)")
                .auto(fix),
        );
    }

    fn ctl_files(&mut self) {
        for f in self.root.files() {
            let FileKind::CtlSep(mac) = FileKind::of(&f.name) else {
                continue;
            };
            if f.size >= CTL_MIN {
                continue;
            }
            self.push(
                Finding::new(Check::CtlJunk, Severity::Error, section::TROUBLESHOOTING_TIPS)
                    .phone(mac)
                    .file(&f.name)
                    .symptom(Symptom::ProtocolApplicationInvalid)
                    .problem(format!(
                        "{} is {} bytes, no trust list: the loader asks for it first, gets a file instead of \"File not found\", and cannot verify its configuration files with it",
                        f.name, f.size
                    ))
                    .fix(format!(
                        "delete {} (phones without a CTL file are answered File not found and go on)",
                        f.name
                    )),
            );
        }
    }

    /// `sshUserId`/`sshPassword` left at `cisco` in a file a phone reads:
    /// the SCCP parsers drop these fields on purpose, so the raw text is
    /// searched for the two exact elements.
    fn ssh_defaults(&mut self) {
        for f in self.root.files() {
            let kind = FileKind::of(&f.name);
            if !matches!(kind, FileKind::SepMac(_) | FileKind::XmlDefault) {
                continue;
            }
            let Some(text) = f.bytes().and_then(|b| std::str::from_utf8(b).ok()) else {
                continue;
            };
            let squashed: String = text.split_whitespace().collect();
            if !(squashed.contains("<sshUserId>cisco</sshUserId>")
                && squashed.contains("<sshPassword>cisco</sshPassword>"))
            {
                continue;
            }
            let mut finding =
                Finding::new(Check::DefaultSshCredentials, Severity::Warning, section::TFTP_ACCESSIBILITY)
                    .file(&f.name)
                    .problem(format!(
                        "{} sets the phones' SSH login to the vendor default cisco/cisco: anyone on the network can log in to every phone that reads it",
                        f.name
                    ))
                    .fix("remove sshUserId/sshPassword (phoneflip's render never writes them) or set a password of your own");
            if let FileKind::SepMac(m) = kind {
                finding = finding.phone(m);
            }
            self.push(finding);
        }
    }
}

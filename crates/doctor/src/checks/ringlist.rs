//! "Enable SIP Functionality": RINGLIST.DAT and the audio files it lists.

use phoneflip_config::filename::RINGLIST_DAT;
use phoneflip_config::RingList;

use crate::finding::{section, Check, Finding, Severity};

use super::Ctx;

impl Ctx<'_> {
    /// RINGLIST.DAT's audio files must be in the root too.
    pub(super) fn ringlist(&mut self) {
        let Some(bytes) = self.root.get(RINGLIST_DAT).and_then(|f| f.bytes()) else {
            return;
        };
        let list = match RingList::parse(RINGLIST_DAT, bytes) {
            Ok(l) => l,
            Err(e) => {
                self.push(
                    Finding::new(Check::RingList, Severity::Warning, section::ENABLE_SIP)
                        .file(RINGLIST_DAT)
                        .line(e.line)
                        .problem(format!("RINGLIST.DAT cannot be read: {}", e.problem))
                        .fix(e.fix.clone()),
                );
                return;
            }
        };
        for ring in &list.rings {
            if self.root.has(&ring.file) {
                continue;
            }
            let (found, fix) = self.rename_fix(&ring.file);
            let found = found.map(str::to_string);
            self.push(
                Finding::new(Check::RingList, Severity::Warning, section::ENABLE_SIP)
                    .file(RINGLIST_DAT)
                    .problem(match &found {
                        Some(f) => format!("RINGLIST.DAT lists {} ({}), which the root has only as {f}", ring.file, ring.name),
                        None => format!("RINGLIST.DAT lists {} ({}), which is not in the root", ring.file, ring.name),
                    })
                    .fix(match &found {
                        Some(f) => format!("rename {f} to {}", ring.file),
                        None => format!("copy {} into the root (the audio files listed in RINGLIST.DAT must be in the root directory of the TFTP server), or remove the line", ring.file),
                    })
                    .auto(fix),
            );
        }
    }
}

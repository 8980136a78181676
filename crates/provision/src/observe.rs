//! Learning which load a phone runs from what it fetched.
//!
//! A phone that fetched an application image and then comes back asking
//! for a configuration file of that image's protocol has rebooted into it:
//! that is the only evidence the inventory's `observed_load` is set from.
//! An image fetched and never followed by the new protocol's files (a
//! failed flash, "Image Authentication Failed") changes nothing.

use std::collections::HashMap;
use std::sync::Mutex;

use phoneflip_config::{FileKind, FileName};
use phoneflip_device::Mac;
use phoneflip_firmware::{ImageFile, ImageKind, LoadName, Protocol};

/// What one successful transfer tells about a phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Nothing new.
    None,
    /// The phone now runs this load.
    Runs(LoadName),
}

/// Per-phone memory of the last application image fetched.
#[derive(Default)]
pub struct Observer {
    pending: Mutex<HashMap<Mac, LoadName>>,
}

/// The protocol whose application asks for this file, if the file is
/// specific to one protocol.
fn protocol_of_request(name: &str) -> Option<Protocol> {
    match FileName::classify(name).kind {
        FileKind::SipDefault | FileKind::SipMac(_) => Some(Protocol::Sip),
        FileKind::SepMac(_) | FileKind::XmlDefault => None,
        _ => None,
    }
}

impl Observer {
    /// Feeds one successfully served file.
    pub fn served(&self, mac: Mac, file: &str) -> Observation {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(img) = file.parse::<ImageFile>() {
            // The application image; a loader (.sbn, P003-…bin of a dashed
            // release) is only the first stage of a two-stage upgrade.
            let app = match img.kind {
                ImageKind::Sb2 => true,
                ImageKind::Bin => !img.load.is_universal_loader(),
                ImageKind::Loads | ImageKind::Sbn => false,
            };
            if app {
                pending.insert(mac, img.load);
            }
            return Observation::None;
        }
        let Some(load) = pending.get(&mac) else {
            return Observation::None;
        };
        let back_on = match protocol_of_request(file) {
            Some(p) => p == load.protocol(),
            // SEP<MAC>.cnf.xml is asked for by the SCCP application and by
            // every universal loader hunt, so only an SCCP load is confirmed
            // by it, and only a pre-loader SCCP load (which has no hunt).
            None => {
                matches!(FileName::classify(file).kind, FileKind::SepMac(_))
                    && load.protocol() == Protocol::Sccp
            }
        };
        if back_on {
            let load = pending.remove(&mac).expect("checked above");
            Observation::Runs(load)
        } else {
            Observation::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac() -> Mac {
        "0019AA000001".parse().unwrap()
    }

    #[test]
    fn two_stage_sip_upgrade_is_seen_only_when_the_sip_files_are_asked_for() {
        let o = Observer::default();
        let m = mac();
        for f in [
            "SEP0019AA000001.cnf.xml",
            "P0S3-8-12-00.loads",
            "P003-8-12-00.sbn",
            "SEP0019AA000001.cnf.xml",
            "P0S3-8-12-00.loads",
            "P0S3-8-12-00.sb2",
        ] {
            assert_eq!(o.served(m, f), Observation::None, "{f}");
        }
        assert_eq!(
            o.served(m, "SIPDefault.cnf"),
            Observation::Runs("P0S3-8-12-00".parse().unwrap())
        );
        assert_eq!(o.served(m, "SIP0019AA000001.cnf"), Observation::None);
    }

    #[test]
    fn original_boot_sip_image() {
        let o = Observer::default();
        assert_eq!(o.served(mac(), "POS30203.bin"), Observation::None);
        assert_eq!(
            o.served(mac(), "SIPDefault.cnf"),
            Observation::Runs("POS30203".parse().unwrap())
        );
    }

    #[test]
    fn sccp_revert_is_seen_on_the_sep_file() {
        let o = Observer::default();
        assert_eq!(o.served(mac(), "P00305000101.bin"), Observation::None);
        assert_eq!(o.served(mac(), "SIPDefault.cnf"), Observation::None);
        assert_eq!(
            o.served(mac(), "SEP0019AA000001.cnf.xml"),
            Observation::Runs("P00305000101".parse().unwrap())
        );
    }
}

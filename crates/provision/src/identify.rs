//! Identify: which phone a request comes from.
//!
//! A per-phone file name (`SIP<MAC>.cnf`, `SEP<MAC>.cnf.xml`,
//! `CTLSEP<MAC>.tlv`, `MGC<MAC>.cnf`) names the phone; a shared file
//! (`OS79XX.TXT`, `SIPDefault.cnf`, the loads) is tied to the MAC its
//! client address last asked for. This is the only address→MAC memory:
//! the TFTP server knows addresses, the jobs and the dashboard read the
//! MAC recorded on each event.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use phoneflip_config::FileName;
use phoneflip_device::Mac;

/// Beyond this many addresses the memory starts over (a phone that asks
/// again is identified again by its next per-phone file).
const MAX_ADDRESSES: usize = 1_000_000;

/// Client address → the MAC it last asked for.
#[derive(Debug, Default)]
pub struct AddressBook {
    macs: Mutex<HashMap<IpAddr, Mac>>,
}

impl AddressBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// The phone asking for `name` from `client`: the MAC in the name
    /// (remembered for the address), else the MAC the address last asked
    /// for.
    pub fn identify(&self, client: IpAddr, name: &FileName) -> Option<Mac> {
        let mut macs = self.macs.lock().unwrap_or_else(|p| p.into_inner());
        match name.kind.mac() {
            Some(mac) => {
                if macs.len() >= MAX_ADDRESSES && !macs.contains_key(&client) {
                    macs.clear();
                }
                macs.insert(client, mac);
                Some(mac)
            }
            None => macs.get(&client).copied(),
        }
    }

    /// The MAC `client` last asked for, if any.
    pub fn known(&self, client: IpAddr) -> Option<Mac> {
        self.macs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&client)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// The SCCP 8.1 loader's hunt names the phone; `OS79XX.TXT` and the
    /// loads from the same address are that phone's, another address's
    /// are not.
    #[test]
    fn a_phone_named_by_its_file_is_known_by_its_address() {
        let book = AddressBook::new();
        let mac: Mac = "000DBDBEEF01".parse().unwrap();
        let a = ip("10.1.1.5");
        let f = |n: &str| FileName::classify(n);
        assert_eq!(book.identify(a, &f("OS79XX.TXT")), None);
        assert_eq!(book.identify(a, &f("CTLSEP000DBDBEEF01.tlv")), Some(mac));
        assert_eq!(book.identify(a, &f("OS79XX.TXT")), Some(mac));
        assert_eq!(book.identify(a, &f("P0S3-8-12-00.loads")), Some(mac));
        assert_eq!(book.identify(a, &f("./SIP000DBDBEEF01.cnf")), Some(mac));
        assert_eq!(book.identify(ip("10.1.1.6"), &f("OS79XX.TXT")), None);
        assert_eq!(book.known(a), Some(mac));
        // The address is handed to another phone.
        let other: Mac = "0019AA000001".parse().unwrap();
        assert_eq!(book.identify(a, &f("SEP0019AA000001.cnf.xml")), Some(other));
        assert_eq!(book.identify(a, &f("SIPDefault.cnf")), Some(other));
    }
}

//! The round-trip promise of every parser, as one check shared by the
//! cargo-fuzz target and the proptest run in `cargo test`: no parser may
//! panic, and whatever parses must write back to something that parses to
//! the same value (byte for byte for the lossless formats). Panics on a
//! broken promise, which is what both callers want.

use crate::{
    DialPlan, FileName, GkDefault, ImageRef, Os79xx, RingList, SepDevice, SipCnf, SyncInfo,
    XmlDefault, XmlDoc,
};

/// Checks every parser on `data`; panics when one breaks its promise.
pub fn check_all(data: &[u8]) {
    if let Ok(f) = Os79xx::parse(data) {
        assert_eq!(Os79xx::parse(&f.to_bytes()).unwrap(), f);
    }
    if let Ok(c) = SipCnf::parse("fuzz.cnf", data) {
        assert_eq!(c.to_bytes(), data);
    }
    // A bad line spoils only itself: the lossy parse always writes back.
    let (c, _) = SipCnf::parse_lossy("fuzz.cnf", data);
    assert_eq!(c.to_bytes(), data);
    if let Ok(d) = XmlDoc::parse("fuzz.xml", data) {
        assert_eq!(d.to_bytes(), data);
        if let Ok(s) = SepDevice::from_doc(&d) {
            assert_eq!(SepDevice::parse("SEP.cnf.xml", data).unwrap(), s);
        }
    }
    if let Ok(o) = Os79xx::parse(data) {
        assert_eq!(o.to_bytes(), data, "OS79XX.TXT writes back byte for byte");
    }
    if let Ok(r) = RingList::parse("RINGLIST.DAT", data) {
        assert_eq!(
            r.to_bytes().unwrap(),
            data,
            "unchanged, the list is the file"
        );
    }
    if let Ok(p) = DialPlan::parse("dialplan.xml", data) {
        assert_eq!(p.to_bytes(), data, "unchanged, the plan is the file");
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = crate::check::check_file(s.get(..s.len().min(40)).unwrap_or("f"), data);
    }
    let _ = crate::check::check_file("SEPBASE.cnf.xml", data);
    if let Ok(g) = GkDefault::parse("gkdefault.txt", data) {
        assert_eq!(g.to_bytes(), data);
    }
    if let Ok(d) = SepDevice::parse("SEP.cnf.xml", data) {
        assert_eq!(SepDevice::parse("SEP.cnf.xml", &d.to_bytes()).unwrap(), d);
    }
    if let Ok(d) = XmlDefault::parse("XMLDefault.cnf.xml", data) {
        assert_eq!(
            XmlDefault::parse("XMLDefault.cnf.xml", &d.to_bytes()).unwrap(),
            d
        );
    }
    if let Ok(r) = RingList::parse("RINGLIST.DAT", data) {
        if let Ok(b) = r.to_bytes() {
            assert_eq!(RingList::parse("RINGLIST.DAT", &b).unwrap(), r);
        }
    }
    if let Ok(p) = DialPlan::parse("dialplan.xml", data) {
        assert_eq!(DialPlan::parse("dialplan.xml", &p.to_bytes()).unwrap(), p);
    }
    if let Ok(s) = SyncInfo::parse("syncinfo.xml", data) {
        if let Ok(b) = s.to_bytes() {
            assert_eq!(SyncInfo::parse("syncinfo.xml", &b).unwrap(), s);
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = FileName::classify(s);
        let _ = s.parse::<ImageRef>();
    }
}

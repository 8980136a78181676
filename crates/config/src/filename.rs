//! The names phones ask for, and what each one is: the TFTP server routes
//! a read request with [`FileName::classify`].

use phoneflip_device::Mac;
use phoneflip_firmware::{ImageFile, ImageKind};

use crate::image_ref::is_alias;

pub const OS79XX_TXT: &str = "OS79XX.TXT";
pub const SIP_DEFAULT: &str = "SIPDefault.cnf";
pub const XML_DEFAULT: &str = "XMLDefault.cnf.xml";
pub const RINGLIST_DAT: &str = "RINGLIST.DAT";
pub const SYNCINFO_XML: &str = "syncinfo.xml";
pub const GKDEFAULT_TXT: &str = "gkdefault.txt";
pub const GKDEFAULT_CFG: &str = "gkdefault.cfg";

/// `SIP<MAC>.cnf`: MAC in capitals, `.cnf` in lower case (the reference).
pub fn sip_mac_name(mac: Mac) -> String {
    format!("SIP{mac}.cnf")
}

/// `SEP<MAC>.cnf.xml`.
pub fn sep_mac_name(mac: Mac) -> String {
    format!("SEP{mac}.cnf.xml")
}

/// What a requested file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// `OS79XX.TXT`.
    Os79xx,
    /// `SIPDefault.cnf`.
    SipDefault,
    /// `SIP<MAC>.cnf`.
    SipMac(Mac),
    /// `SEP<MAC>.cnf.xml`.
    SepMac(Mac),
    /// `CTLSEP<MAC>.tlv`: the security trust list; phoneflip never has one.
    CtlSep(Mac),
    /// `MGC<MAC>.cnf`: MGCP configuration, asked for during the hunt.
    MgcMac(Mac),
    /// `XMLDefault.cnf.xml`.
    XmlDefault,
    /// `gkdefault.cfg` (binary, made by cfgfmt).
    GkDefaultCfg,
    /// `gkdefault.txt` (its source).
    GkDefaultTxt,
    /// `RINGLIST.DAT`.
    RingList,
    /// `syncinfo.xml`.
    SyncInfo,
    /// Another `.xml`: the dial plan named by `dial_template`.
    DialPlan,
    /// A ring tone (`.pcm`, `.raw`) listed in RINGLIST.DAT.
    Ring,
    /// A firmware file (`P0S3-8-12-00.sb2`).
    Image(ImageFile),
    /// A firmware file asked for by its 8.3 alias (`C0500A1F.bin`); the
    /// caller resolves it with the plan's copies or
    /// [`crate::image_ref::alias_of`].
    AliasImage(String, ImageKind),
    /// Anything else, including wrong-case spellings of the names above:
    /// the phones never ask for those, so they are not ours.
    Other,
}

/// A requested name, its last path segment, and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    pub requested: String,
    /// The name without directories (`./SIP…cnf` and `tftp_cfg_dir`
    /// prefixes removed).
    pub base: String,
    pub kind: FileKind,
}

fn mac_between(base: &str, prefix: &str, suffix: &str) -> Option<Mac> {
    let digits = base.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.len() == 12
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
    {
        digits.parse().ok()
    } else {
        None
    }
}

impl FileKind {
    /// The phone a per-phone file belongs to.
    pub fn mac(&self) -> Option<Mac> {
        match *self {
            FileKind::SipMac(m)
            | FileKind::SepMac(m)
            | FileKind::CtlSep(m)
            | FileKind::MgcMac(m) => Some(m),
            _ => None,
        }
    }

    /// Whether [`render`](crate::render) can produce this kind of file
    /// (the control files), as opposed to files served as they are
    /// (images, rings, dial plans) or never had (CTLSEP).
    pub fn is_rendered(&self) -> bool {
        matches!(
            self,
            FileKind::Os79xx
                | FileKind::SipDefault
                | FileKind::SipMac(_)
                | FileKind::SepMac(_)
                | FileKind::XmlDefault
                | FileKind::SyncInfo
                | FileKind::GkDefaultTxt
        )
    }
}

impl FileName {
    pub fn classify(requested: &str) -> FileName {
        let base = requested
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(requested)
            .to_string();
        let b = base.as_str();
        let kind = match b {
            OS79XX_TXT => FileKind::Os79xx,
            SIP_DEFAULT => FileKind::SipDefault,
            XML_DEFAULT => FileKind::XmlDefault,
            RINGLIST_DAT => FileKind::RingList,
            SYNCINFO_XML => FileKind::SyncInfo,
            GKDEFAULT_TXT => FileKind::GkDefaultTxt,
            GKDEFAULT_CFG => FileKind::GkDefaultCfg,
            _ => {
                if let Some(m) = mac_between(b, "SIP", ".cnf") {
                    FileKind::SipMac(m)
                } else if let Some(m) = mac_between(b, "SEP", ".cnf.xml") {
                    FileKind::SepMac(m)
                } else if let Some(m) = mac_between(b, "CTLSEP", ".tlv") {
                    FileKind::CtlSep(m)
                } else if let Some(m) = mac_between(b, "MGC", ".cnf") {
                    FileKind::MgcMac(m)
                } else if let Ok(img) = b.parse::<ImageFile>() {
                    FileKind::Image(img)
                } else if let Some((a, kind)) = b.rsplit_once('.').and_then(|(stem, ext)| {
                    Some((
                        is_alias(stem).then(|| stem.to_string())?,
                        ImageKind::from_ext(ext)?,
                    ))
                }) {
                    FileKind::AliasImage(a, kind)
                } else if b.ends_with(".xml") && b.len() > 4 && !b.starts_with("SEP") {
                    FileKind::DialPlan
                } else if (b.ends_with(".pcm") || b.ends_with(".raw")) && b.len() > 4 {
                    FileKind::Ring
                } else {
                    FileKind::Other
                }
            }
        };
        FileName {
            requested: requested.to_string(),
            base,
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kind(s: &str) -> FileKind {
        FileName::classify(s).kind
    }

    #[test]
    fn every_name_in_the_boot_logs() {
        let mac: Mac = "002094D245CB".parse().unwrap();
        assert_eq!(sip_mac_name(mac), "SIP002094D245CB.cnf");
        assert_eq!(sep_mac_name(mac), "SEP002094D245CB.cnf.xml");
        assert_eq!(kind("OS79XX.TXT"), FileKind::Os79xx);
        assert_eq!(kind("SIPDefault.cnf"), FileKind::SipDefault);
        assert_eq!(kind("SIP002094D245CB.cnf"), FileKind::SipMac(mac));
        assert_eq!(kind("./SIP002094D245CB.cnf"), FileKind::SipMac(mac));
        assert_eq!(kind("phones/SIP002094D245CB.cnf"), FileKind::SipMac(mac));
        assert_eq!(kind("SEP002094D245CB.cnf.xml"), FileKind::SepMac(mac));
        assert_eq!(kind("CTLSEP002094D245CB.tlv"), FileKind::CtlSep(mac));
        assert_eq!(kind("MGC002094D245CB.cnf"), FileKind::MgcMac(mac));
        assert_eq!(kind("XMLDefault.cnf.xml"), FileKind::XmlDefault);
        assert_eq!(kind("RINGLIST.DAT"), FileKind::RingList);
        assert_eq!(kind("syncinfo.xml"), FileKind::SyncInfo);
        assert_eq!(kind("dialplan.xml"), FileKind::DialPlan);
        assert_eq!(kind("ringer1.pcm"), FileKind::Ring);
        assert_eq!(kind("gkdefault.cfg"), FileKind::GkDefaultCfg);
        assert!(matches!(kind("P0S3-8-12-00.sb2"), FileKind::Image(_)));
        assert!(matches!(kind("P003-8-12-00.sbn"), FileKind::Image(_)));
        assert!(matches!(kind("POS30203.bin"), FileKind::Image(_)));
        let load = "P00305000101".parse().unwrap();
        let alias = crate::ImageRef::for_phone(Some(&"POS30201".parse().unwrap()), &load);
        match kind(&format!("{alias}.bin")) {
            FileKind::AliasImage(a, ImageKind::Bin) => {
                assert!(crate::image_ref::alias_of(&a, &load))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(kind("SIP002094D245CB.CNF"), FileKind::Other);
        assert_eq!(kind("SIP002094d245cb.cnf"), FileKind::Other);
        assert_eq!(kind("sipdefault.cnf"), FileKind::Other);
        assert_eq!(kind("os79xx.txt"), FileKind::Other);
        assert_eq!(FileKind::SipMac(mac).mac(), Some(mac));
        assert_eq!(FileKind::SipDefault.mac(), None);
    }

    proptest! {
        #[test]
        fn per_phone_names_round_trip(bytes in any::<[u8; 6]>()) {
            let mac = Mac::new(bytes);
            prop_assert_eq!(kind(&sip_mac_name(mac)), FileKind::SipMac(mac));
            prop_assert_eq!(kind(&sep_mac_name(mac)), FileKind::SepMac(mac));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = FileName::classify(&s);
        }
    }
}

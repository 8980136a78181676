//! The names phones ask for, and what each one is: the one classifier of
//! requested file names. The request pipeline classifies every request
//! with [`FileName::classify`] and records the [`FileKind`]; the jobs, the
//! doctor and the inventory read that kind instead of parsing names again.
//! Load-name syntax is `phoneflip-firmware`'s, MAC syntax
//! `phoneflip-device`'s.

use phoneflip_device::Mac;
use phoneflip_firmware::{ImageFile, ImageKind, LoadName, Protocol};

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

/// `MGC<MAC>.cnf`.
pub fn mgc_mac_name(mac: Mac) -> String {
    format!("MGC{mac}.cnf")
}

/// `CTLSEP<MAC>.tlv`.
pub fn ctlsep_mac_name(mac: Mac) -> String {
    format!("CTLSEP{mac}.tlv")
}

/// The phone a requested name belongs to (`SIP<MAC>.cnf`,
/// `SEP<MAC>.cnf.xml`, `CTLSEP<MAC>.tlv`, `MGC<MAC>.cnf`, also behind a
/// `tftp_cfg_dir` prefix such as `./`). Only the upper-case spelling
/// matches: a phone never asks for a lower-case name, and a lower-case
/// file on disk is exactly the mistake the reference warns about.
pub fn mac_in(name: &str) -> Option<Mac> {
    FileName::classify(name).kind.mac()
}

/// What a requested file is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// `gk<MAC>`: the per-phone binary profile the loader asks for before
    /// `gkdefault.cfg` (the 7905/7912 naming of Cisco's other documents).
    GkMac(Mac),
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
    #[default]
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
            | FileKind::MgcMac(m)
            | FileKind::GkMac(m) => Some(m),
            _ => None,
        }
    }

    /// What `name` is (see [`FileName::classify`]).
    pub fn of(name: &str) -> FileKind {
        FileName::classify(name).kind
    }

    /// The firmware file, for an image asked for by its load name.
    pub fn image(&self) -> Option<&ImageFile> {
        match self {
            FileKind::Image(i) => Some(i),
            _ => None,
        }
    }

    /// The load of an image asked for by its load name.
    pub fn load(&self) -> Option<&LoadName> {
        self.image().map(|i| &i.load)
    }

    /// Whether this is a firmware file (by name or by 8.3 alias).
    pub fn is_image(&self) -> bool {
        matches!(self, FileKind::Image(_) | FileKind::AliasImage(..))
    }

    /// The protocol whose application (or whose loader's hunt) reads this
    /// configuration file: `SIPDefault.cnf` and `SIP<MAC>.cnf` are SIP's,
    /// `SEP<MAC>.cnf.xml` and `XMLDefault.cnf.xml` SCCP's, `MGC<MAC>.cnf`
    /// MGCP's.
    pub fn config_of(&self) -> Option<Protocol> {
        match self {
            FileKind::SipDefault | FileKind::SipMac(_) => Some(Protocol::Sip),
            FileKind::SepMac(_) | FileKind::XmlDefault => Some(Protocol::Sccp),
            FileKind::MgcMac(_) => Some(Protocol::Mgcp),
            _ => None,
        }
    }

    /// One of the files the universal application loader hunts for, in
    /// turn, when one is missing: `CTLSEP`, `SEP`, `SIP`, `MGC`,
    /// `XMLDefault`.
    pub fn is_hunt(&self) -> bool {
        matches!(
            self,
            FileKind::CtlSep(_)
                | FileKind::SepMac(_)
                | FileKind::SipMac(_)
                | FileKind::MgcMac(_)
                | FileKind::XmlDefault
        )
    }

    /// A "File not found" for this kind is part of every normal boot, not a
    /// fault: no phone needs `RINGLIST.DAT` or `dialplan.xml`, and `CTLSEP`
    /// files exist only where security is set up. Dashboards show such
    /// misses quietly instead of as failures.
    pub fn miss_is_normal(&self) -> bool {
        matches!(
            self,
            FileKind::CtlSep(_) | FileKind::RingList | FileKind::DialPlan
        )
    }

    /// A stable name of the kind, as stored and shown (`sip_mac`, `image`).
    pub fn tag(&self) -> &'static str {
        match self {
            FileKind::Os79xx => "os79xx",
            FileKind::SipDefault => "sip_default",
            FileKind::SipMac(_) => "sip_mac",
            FileKind::SepMac(_) => "sep_mac",
            FileKind::CtlSep(_) => "ctl_sep",
            FileKind::MgcMac(_) => "mgc_mac",
            FileKind::XmlDefault => "xml_default",
            FileKind::GkDefaultCfg => "gkdefault_cfg",
            FileKind::GkDefaultTxt => "gkdefault_txt",
            FileKind::GkMac(_) => "gk_mac",
            FileKind::RingList => "ring_list",
            FileKind::SyncInfo => "sync_info",
            FileKind::DialPlan => "dial_plan",
            FileKind::Ring => "ring",
            FileKind::Image(_) => "image",
            FileKind::AliasImage(..) => "alias_image",
            FileKind::Other => "other",
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

/// Shown as its [`tag`](FileKind::tag); the name it came from is kept
/// beside it wherever it is stored.
impl serde::Serialize for FileKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.tag())
    }
}

/// In the OpenAPI document: the string it is (de)serialised as.
impl utoipa::PartialSchema for FileKind {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("what the requested file is (FileKind::tag)"))
            .examples(["sip_mac"])
            .into()
    }
}

impl utoipa::ToSchema for FileKind {}

/// The image extension of a name that looks like a firmware file, in
/// any case (`.bin`, `.SB2`): for diagnosing requests for images that are
/// not there, whatever their spelling.
pub fn image_extension(name: &str) -> Option<ImageKind> {
    let (_, ext) = name.rsplit_once('.')?;
    ImageKind::from_ext(&ext.to_ascii_lowercase())
}

/// The name without directories: `./SIP…cnf` and `tftp_cfg_dir`
/// prefixes removed.
pub fn base_name(requested: &str) -> &str {
    requested.rsplit(['/', '\\']).next().unwrap_or(requested)
}

impl FileName {
    pub fn classify(requested: &str) -> FileName {
        let base = base_name(requested).to_string();
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
                } else if let Some(m) = mac_between(b, "gk", "") {
                    FileKind::GkMac(m)
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
        assert_eq!(kind("gk002094D245CB"), FileKind::GkMac(mac));
        assert_eq!(kind("gk002094d245cb"), FileKind::Other);
        assert_eq!(FileKind::SipDefault.mac(), None);
    }

    /// Names from the real-world corpus (`/work/shared/corpus/real-world`,
    /// julianhead's tftplog and the sample roots) and the boot sequences
    /// of the domain facts.
    #[test]
    fn real_world_names() {
        let m = |s: &str| s.parse::<Mac>().unwrap();
        assert_eq!(
            kind("./SIP000DBDBEEF01.cnf"),
            FileKind::SipMac(m("000DBDBEEF01"))
        );
        assert_eq!(
            kind("CTLSEP0011BB73AD61.tlv"),
            FileKind::CtlSep(m("0011BB73AD61"))
        );
        assert_eq!(
            kind("SEP0023EBC6D13E.cnf.xml"),
            FileKind::SepMac(m("0023EBC6D13E"))
        );
        assert_eq!(
            kind("MGC0015F92EC692.cnf"),
            FileKind::MgcMac(m("0015F92EC692"))
        );
        assert_eq!(
            kind("SIP0014A3712E61.cnf"),
            FileKind::SipMac(m("0014A3712E61"))
        );
        for (name, load, ext) in [
            ("P0S3-8-12-00.loads", "P0S3-8-12-00", ImageKind::Loads),
            ("P0S3-8-12-00.sb2", "P0S3-8-12-00", ImageKind::Sb2),
            ("P003-8-12-00.sbn", "P003-8-12-00", ImageKind::Sbn),
            ("P003-8-12-00.bin", "P003-8-12-00", ImageKind::Bin),
            ("P0030801SR02.sb2", "P0030801SR02", ImageKind::Sb2),
            ("P0030801SR02.loads", "P0030801SR02", ImageKind::Loads),
            ("POS30203.bin", "POS30203", ImageKind::Bin),
            ("P00305000101.bin", "P00305000101", ImageKind::Bin),
        ] {
            let k = kind(name);
            let img = k.image().unwrap_or_else(|| panic!("{name}: {k:?}"));
            assert_eq!(img.load.as_str(), load, "{name}");
            assert_eq!(img.kind, ext, "{name}");
            assert_eq!(k.load().map(|l| l.as_str()), Some(load));
            assert!(k.is_image() && k.mac().is_none(), "{name}");
        }
        assert_eq!(
            kind("C0401E29.bin"),
            FileKind::AliasImage("C0401E29".into(), ImageKind::Bin)
        );
        assert!(kind("C0401E29.bin").is_image());
        assert_eq!(kind("XMLDefault.cnf.xml"), FileKind::XmlDefault);
        assert_eq!(kind("dialplan.xml"), FileKind::DialPlan);
        assert_eq!(kind("RINGLIST.DAT"), FileKind::RingList);
        assert_eq!(kind("syncinfo.xml"), FileKind::SyncInfo);
        assert_eq!(kind("gkdefault.cfg"), FileKind::GkDefaultCfg);
        // Not what a phone asks for: wrong case, sample placeholders.
        for other in [
            "OS79XX.txt",
            "SEPBASE.cnf.xml",
            "SEPMAC.cnf.xml",
            "SIPDefault.cnf2",
            "SEP0015F92EC692.cnf",
        ] {
            assert_eq!(kind(other), FileKind::Other, "{other}");
        }
        // What each protocol's application (or the loader's hunt) reads.
        assert_eq!(kind("SIPDefault.cnf").config_of(), Some(Protocol::Sip));
        assert_eq!(
            kind("./SIP000DBDBEEF01.cnf").config_of(),
            Some(Protocol::Sip)
        );
        assert_eq!(kind("XMLDefault.cnf.xml").config_of(), Some(Protocol::Sccp));
        assert_eq!(
            kind("MGC0015F92EC692.cnf").config_of(),
            Some(Protocol::Mgcp)
        );
        assert_eq!(kind("RINGLIST.DAT").config_of(), None);
        for hunt in [
            "CTLSEP0011BB73AD61.tlv",
            "SEP0011BB73AD61.cnf.xml",
            "SIP0011BB73AD61.cnf",
            "MGC0011BB73AD61.cnf",
            "XMLDefault.cnf.xml",
        ] {
            assert!(kind(hunt).is_hunt(), "{hunt}");
        }
        assert!(!kind("SIPDefault.cnf").is_hunt());
        let mac = m("0011BB73AD61");
        assert_eq!(mgc_mac_name(mac), "MGC0011BB73AD61.cnf");
        assert_eq!(ctlsep_mac_name(mac), "CTLSEP0011BB73AD61.tlv");
    }

    #[test]
    fn image_extensions_in_any_case() {
        assert_eq!(image_extension("P0S3-8-12-00.SB2"), Some(ImageKind::Sb2));
        assert_eq!(image_extension("POS30300.bin"), Some(ImageKind::Bin));
        assert_eq!(image_extension("x.loads"), Some(ImageKind::Loads));
        assert_eq!(image_extension("OS79XX.TXT"), None);
        assert_eq!(image_extension("bin"), None);
    }

    /// Was `Mac::from_file_name` in `phoneflip-device`.
    #[test]
    fn finds_the_mac_in_phone_file_names() {
        let mac: Mac = "002094D245CB".parse().unwrap();
        for n in [
            "SIP002094D245CB.cnf",
            "./SIP002094D245CB.cnf",
            "SEP002094D245CB.cnf.xml",
            "CTLSEP002094D245CB.tlv",
            "MGC002094D245CB.cnf",
        ] {
            assert_eq!(mac_in(n), Some(mac), "{n}");
        }
        for n in [
            "SIP002094d245cb.cnf",
            "SIPDefault.cnf",
            "OS79XX.TXT",
            "SEP0020.cnf.xml",
        ] {
            assert_eq!(mac_in(n), None, "{n}");
        }
    }

    proptest! {
        #[test]
        fn mac_in_never_panics(s in ".{0,40}") {
            let _ = mac_in(&s);
        }

        #[test]
        fn per_phone_names_round_trip(bytes in any::<[u8; 6]>()) {
            let mac = Mac::new(bytes);
            prop_assert_eq!(kind(&sip_mac_name(mac)), FileKind::SipMac(mac));
            prop_assert_eq!(kind(&sep_mac_name(mac)), FileKind::SepMac(mac));
            prop_assert_eq!(kind(&mgc_mac_name(mac)), FileKind::MgcMac(mac));
            prop_assert_eq!(kind(&ctlsep_mac_name(mac)), FileKind::CtlSep(mac));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = FileName::classify(&s);
        }
    }
}

//! Which releases exist and which files each consists of.
//!
//! The built-in catalogue holds the releases the reference and the domain
//! facts name, each marked with where it is documented; a catalogue built
//! from a TFTP root's file names holds what is really there, so a plan can
//! say "latest SCCP 4.x present" and which files are still missing.

use std::collections::{BTreeMap, BTreeSet};

use phoneflip_firmware::{
    GkImage, GkVersionCode, ImageFile, ImageKind, LoadForm, LoadName, Protocol, Release, Version,
};
use serde::Serialize;

use crate::rules::{generation, section, Generation};

/// One release the catalogue knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub release: Release,
    /// The application load name, as the control files must spell it.
    pub load: LoadName,
    /// The files the release consists of (see [`release_files`]).
    pub files: Vec<String>,
    /// Where the release is named: a reference section title, the domain
    /// facts, or phoneflip's own interpretation. `None` for a release only
    /// known from a TFTP root.
    pub documented_in: Option<String>,
    /// The gkdefault version code of the release's image, when known: the
    /// SIP 5.x/6.x → SCCP revert cannot be written without it.
    pub gk_code: Option<GkVersionCode>,
    /// Whether the catalogue was built from a TFTP root holding (some of)
    /// the release's files.
    pub in_root: bool,
}

/// The files a release consists of.
///
/// Loads before the universal application loader are a single `NAME.bin`.
/// SIP (and MGCP) universal-loader releases are the application
/// `NAME.loads`/`NAME.sb2` plus the loader `P003….bin`/`.sbn` (the zip's
/// five files minus OS79XX.TXT, which phoneflip writes). SCCP releases
/// from 6.x on carry all four extensions under one name (`P0030801SR02`).
pub fn release_files(load: &LoadName) -> Vec<String> {
    let name = load.as_str();
    match generation(load.protocol(), load.version()) {
        Generation::OriginalBoot => vec![format!("{name}.bin")],
        Generation::UniversalLoader if load.form() == LoadForm::Dashed => {
            let loader = load.loader();
            vec![
                format!("{name}.loads"),
                format!("{name}.sb2"),
                format!("{loader}.bin"),
                format!("{loader}.sbn"),
            ]
        }
        Generation::UniversalLoader => ImageKind::ALL
            .iter()
            .map(|k| format!("{name}.{}", k.ext()))
            .collect(),
    }
}

/// The image file a phone on an original-boot load fetches through
/// OS79XX.TXT for this release: the release's own `.bin`, or for a SIP or
/// MGCP universal-loader release the loader the zip's OS79XX.TXT names.
pub fn first_image(load: &LoadName) -> LoadName {
    if generation(load.protocol(), load.version()) == Generation::UniversalLoader
        && load.form() == LoadForm::Dashed
    {
        load.loader()
    } else {
        load.clone()
    }
}

/// A deterministic DOS 8.3 name for a load file that SIP 2.1 and earlier
/// would refuse: a protocol letter (C = SCCP, S = SIP, M = MGCP), two digits
/// of major and of minor version, and three hex digits of a hash of the
/// full name, so two loads of the same train never share an alias. Names
/// that already fit are returned unchanged.
pub fn alias_8_3(load: &LoadName) -> String {
    if load.fits_8_3() {
        return load.as_str().to_string();
    }
    let letter = match load.protocol() {
        Protocol::Sccp => 'C',
        Protocol::Sip => 'S',
        Protocol::Mgcp => 'M',
    };
    // FNV-1a: stable across platforms and releases, unlike std's hasher.
    let mut h: u32 = 0x811c_9dc5;
    for b in load.as_str().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    let v = load.version();
    format!(
        "{letter}{:02}{:02}{:03X}",
        v.major % 100,
        v.minor % 100,
        h & 0xfff
    )
}

/// A set of known releases, optionally tied to the files of a TFTP root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Catalogue {
    entries: Vec<Entry>,
    /// The file names of the TFTP root, when built from one.
    root: Option<BTreeSet<String>>,
    /// gkdefault images found in the root (`CP7940080001SCCP051117A.sbin`).
    gk_images: Vec<String>,
}

struct Known {
    release: &'static str,
    load: &'static str,
    documented_in: &'static str,
    gk_code: Option<&'static str>,
}

/// The releases named in the reference and the domain facts.
const KNOWN: &[Known] = &[
    Known {
        release: "sip:1.0",
        load: "POS30100",
        documented_in: section::ENABLE_SIP,
        gk_code: None,
    },
    Known {
        release: "sip:2.2",
        load: "POS30202",
        documented_in: section::UNPROVISIONED,
        gk_code: None,
    },
    Known {
        release: "sip:2.3",
        load: "POS30203",
        documented_in: section::ENABLE_SIP,
        gk_code: None,
    },
    // The State Error log shows SIP 3.0 as POS30300.bin, in the compact
    // form the text reserves for 2.3 and earlier; the log is what the
    // phone asked for, so it wins.
    Known {
        release: "sip:3.0",
        load: "POS30300",
        documented_in: section::ENABLE_SIP,
        gk_code: None,
    },
    Known {
        release: "sip:7.1",
        load: "POS3-07-1-00",
        documented_in: section::SCCP_OLD_TO_SIP_7,
        gk_code: None,
    },
    Known {
        release: "sip:7.4",
        load: "POS3-07-4-00",
        documented_in: section::PROTOCOL_APPLICATION_INVALID,
        gk_code: None,
    },
    Known {
        release: "sip:8.12",
        load: "P0S3-8-12-00",
        documented_in: "domain facts: last SIP release",
        gk_code: None,
    },
    Known {
        release: "sccp:5.0(1.1)",
        load: "P00305000101",
        documented_in: section::SIP_OLD_TO_SCCP_OLD,
        gk_code: None,
    },
    Known {
        release: "sccp:6.0(2)",
        load: "P00306000200",
        documented_in: section::SIP_7_TO_SCCP,
        gk_code: None,
    },
    Known {
        release: "sccp:6.0(3)",
        load: "P00306000300",
        documented_in: "interpretation of the reference's \"6.3 image\" (SIP Images 4.x/Earlier to SCCP Images 6.x/Later)",
        gk_code: None,
    },
    Known {
        release: "sccp:7.2(3)",
        load: "P00307020300",
        documented_in: section::UNPROVISIONED,
        gk_code: None,
    },
    Known {
        release: "sccp:8.0(4)",
        load: "P00308000400",
        documented_in: section::SIP_5_6_TO_SCCP,
        gk_code: Some("0x051117a"),
    },
    Known {
        release: "sccp:8.0(5)",
        load: "P00308000500",
        documented_in: "domain facts: sizes of a real SCCP load",
        gk_code: None,
    },
    Known {
        release: "sccp:8.1(2)SR2",
        load: "P0030801SR02",
        documented_in: "domain facts: last SCCP release",
        gk_code: None,
    },
];

impl Catalogue {
    /// The releases the two documents name, none of them tied to a root.
    pub fn builtin() -> Catalogue {
        let entries = KNOWN
            .iter()
            .map(|k| {
                let load: LoadName = k.load.parse().expect("built-in load names parse");
                Entry {
                    release: k.release.parse().expect("built-in releases parse"),
                    files: release_files(&load),
                    load,
                    documented_in: Some(k.documented_in.to_string()),
                    gk_code: k
                        .gk_code
                        .map(|c| c.parse().expect("built-in gk codes parse")),
                    in_root: false,
                }
            })
            .collect();
        Catalogue {
            entries,
            root: None,
            gk_images: Vec::new(),
        }
    }

    /// The releases whose files are in a TFTP root, from its file names.
    ///
    /// Names that are not firmware files are ignored (a root holds config
    /// files, ring tones…). A universal loader `P003-x-y-zz.bin` belongs to
    /// the SIP release with the same digits and does not make a release by
    /// itself. What the built-in catalogue knows about a release (where it
    /// is documented, its gkdefault code) is kept.
    pub fn from_file_names<I, S>(names: I) -> Catalogue
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let builtin = Catalogue::builtin();
        let mut root = BTreeSet::new();
        let mut gk_images = Vec::new();
        let mut loads: BTreeMap<String, LoadName> = BTreeMap::new();
        for name in names {
            let name = name.as_ref();
            root.insert(name.to_string());
            if let Ok(g) = name.parse::<GkImage>() {
                gk_images.push(g.to_string());
                continue;
            }
            let Ok(file) = name.parse::<ImageFile>() else {
                continue;
            };
            if file.load.is_universal_loader() {
                continue;
            }
            loads.insert(file.load.as_str().to_string(), file.load);
        }
        let mut entries: Vec<Entry> = loads
            .into_values()
            .map(|load| {
                let known = builtin.entries.iter().find(|e| e.load == load);
                let release =
                    known.map_or(Release::new(load.protocol(), load.version()), |k| k.release);
                Entry {
                    release,
                    files: release_files(&load),
                    documented_in: known.and_then(|k| k.documented_in.clone()),
                    gk_code: known.and_then(|k| k.gk_code.clone()),
                    load,
                    in_root: true,
                }
            })
            .collect();
        // The gkdefault image's name carries its version code but not its
        // release: it is tied to a release only when the root holds exactly
        // one image and one release of that protocol.
        for protocol in [Protocol::Sccp, Protocol::Mgcp] {
            let images: Vec<GkImage> = gk_images
                .iter()
                .filter_map(|g| g.parse::<GkImage>().ok())
                .filter(|g| g.protocol == protocol)
                .collect();
            let mut of_protocol = entries
                .iter_mut()
                .filter(|e| e.release.protocol == protocol)
                .collect::<Vec<_>>();
            if let ([image], [entry]) = (images.as_slice(), of_protocol.as_mut_slice()) {
                if entry.gk_code.is_none() {
                    entry.gk_code = Some(image.code.clone());
                }
            }
        }
        Catalogue {
            entries,
            root: Some(root),
            gk_images,
        }
    }

    /// Records the gkdefault version code of a release's image (it is
    /// printed in the SCCP package, not derivable from the version).
    pub fn with_gk_code(mut self, release: &Release, code: GkVersionCode) -> Catalogue {
        for e in &mut self.entries {
            if e.release == *release {
                e.gk_code = Some(code.clone());
            }
        }
        self
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// gkdefault image names found in the root.
    pub fn gk_images(&self) -> &[String] {
        &self.gk_images
    }

    /// Whether this catalogue reflects a real TFTP root.
    pub fn is_root(&self) -> bool {
        self.root.is_some()
    }

    /// Whether a file is in the root; `None` when the catalogue is not
    /// tied to one.
    pub fn has_file(&self, name: &str) -> Option<bool> {
        self.root.as_ref().map(|r| r.contains(name))
    }

    /// The entry for a release: the same protocol and a load that denotes
    /// the version (so `sccp:8.1(2)SR2` finds `P0030801SR02`).
    pub fn find(&self, release: &Release) -> Option<&Entry> {
        self.entries.iter().find(|e| {
            e.release.protocol == release.protocol
                && (e.release.version == release.version || e.load.denotes(&release.version))
        })
    }

    /// The entry spelled exactly like this load name.
    pub fn find_load(&self, load: &LoadName) -> Option<&Entry> {
        self.entries.iter().find(|e| e.load == *load)
    }

    /// The highest release of a protocol's major train (`latest SCCP 4.x`).
    pub fn latest(&self, protocol: Protocol, major: u8) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.release.protocol == protocol && e.release.version.major == major)
            .max_by_key(|e| e.release.version)
    }

    /// The lowest release of a protocol at or above a version.
    pub fn lowest_at_least(&self, protocol: Protocol, floor: Version) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.release.protocol == protocol && e.release.version >= floor)
            .min_by_key(|e| e.release.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(s: &str) -> LoadName {
        s.parse().unwrap()
    }

    #[test]
    fn files_of_each_generation() {
        assert_eq!(release_files(&load("POS30203")), vec!["POS30203.bin"]);
        assert_eq!(
            release_files(&load("P0S3-8-12-00")),
            vec![
                "P0S3-8-12-00.loads",
                "P0S3-8-12-00.sb2",
                "P003-8-12-00.bin",
                "P003-8-12-00.sbn"
            ]
        );
        assert_eq!(
            release_files(&load("P0030801SR02")),
            vec![
                "P0030801SR02.bin",
                "P0030801SR02.sbn",
                "P0030801SR02.loads",
                "P0030801SR02.sb2"
            ]
        );
        assert_eq!(
            release_files(&load("P00305000101")),
            vec!["P00305000101.bin"]
        );
        assert_eq!(first_image(&load("P0S3-8-12-00")).as_str(), "P003-8-12-00");
        assert_eq!(first_image(&load("P00306000300")).as_str(), "P00306000300");
    }

    #[test]
    fn builtin_knows_the_documents() {
        let c = Catalogue::builtin();
        let find = |r: &str| c.find(&r.parse().unwrap()).map(|e| e.load.to_string());
        assert_eq!(find("sip:2.3").as_deref(), Some("POS30203"));
        assert_eq!(find("sccp:8.1(2)SR2").as_deref(), Some("P0030801SR02"));
        assert_eq!(find("sip:8.12").as_deref(), Some("P0S3-8-12-00"));
        assert!(
            c.latest(Protocol::Sccp, 4).is_none(),
            "no SCCP 4.x is named"
        );
        assert_eq!(
            c.latest(Protocol::Sccp, 8).unwrap().load.as_str(),
            "P0030801SR02"
        );
        for e in c.entries() {
            assert!(e.documented_in.is_some() && !e.in_root);
        }
    }

    #[test]
    fn from_a_root() {
        let c = Catalogue::from_file_names([
            "OS79XX.TXT",
            "SIPDefault.cnf",
            "P00304010200.bin",
            "P00304020100.bin",
            "P0S3-8-12-00.loads",
            "P0S3-8-12-00.sb2",
            "P003-8-12-00.bin",
            "P003-8-12-00.sbn",
            "CP7940080001SCCP051117A.sbin",
            "ringer1.pcm",
        ]);
        assert!(c.is_root());
        assert_eq!(c.entries().len(), 3);
        assert_eq!(
            c.latest(Protocol::Sccp, 4).unwrap().load.as_str(),
            "P00304020100"
        );
        let sip = c.find(&"sip:8.12".parse().unwrap()).unwrap();
        assert!(sip.in_root && sip.documented_in.is_some());
        assert_eq!(c.has_file("P003-8-12-00.sbn"), Some(true));
        assert_eq!(c.has_file("P0030801SR02.bin"), Some(false));
        assert_eq!(c.gk_images(), ["CP7940080001SCCP051117A.sbin"]);
        assert_eq!(Catalogue::builtin().has_file("x"), None);
    }

    #[test]
    fn aliases_fit_8_3_and_differ() {
        let a = alias_8_3(&load("P00305000101"));
        let b = alias_8_3(&load("P00305000100"));
        assert_eq!(a.len(), 8);
        assert!(a.starts_with("C0500"), "{a}");
        assert_ne!(a, b);
        assert_eq!(alias_8_3(&load("POS30203")), "POS30203");
        assert_eq!(alias_8_3(&load("P00305000101")), a, "deterministic");
    }
}

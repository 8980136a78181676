//! Synthetic firmware bundles with the vendor's file names and layout, for
//! tests, rehearsals and the demo. Their images are phoneflip's own format
//! ([`crate::image`]), never Cisco's: they boot the emulator, not a phone.
//!
//! Layout per generation (the planner's [`phoneflip_plan::rules::generation`]):
//! - universal loads (SCCP 6.x+, SIP 7.x+): `APP.loads`, `APP.sb2`,
//!   `LOADER.bin` (unsigned loader, for phones below 5.x), `LOADER.sbn`
//!   (signed loader, for phones on 5.x+); SIP bundles add `OS79XX.TXT`
//!   holding the loader name. For SIP the loader is `P003-…` (`P0S3-8-12-00`
//!   → `P003-8-12-00`), for SCCP it has the application's name
//!   (`P0030801SR02.bin`).
//! - pre-loader loads (SCCP 5.x and older, SIP 6.x and older): a single
//!   `NAME.bin` combined image; SIP bundles add `OS79XX.TXT` naming it, and
//!   SIP 5.x/6.x add `gkdefault.txt` and their `.sbin` (see below).
//! - gkdefault: SIP 5.x/6.x revert through `gkdefault.cfg`'s `upgradecode`,
//!   which names a `CP7940080001<PROTO><CODE>.sbin` image. Real version codes
//!   are build dates we cannot derive, so synthetic ones are
//!   `MMmmPP` + `a` (SCCP 8.0(4) → `0x080004a`, see [`gk_code`]). SIP 5.x/6.x
//!   bundles and SCCP 5.x+ bundles carry such a `.sbin` (a combined image
//!   for pre-loader loads, the loader for universal ones).
//!
//! Bundle names follow [`phoneflip_firmware::BundleName`]:
//! `cmterm-7940-7960-sccp.8-1-2SR2.zip` for SCCP/MGCP, `P0S3-8-12-00.zip`
//! (the application's load name) for SIP.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use phoneflip_config::{GkDefault, UpgradeCode};
use phoneflip_firmware::{GkImage, GkVersionCode, LoadName, Protocol, Version};
use phoneflip_plan::rules::{generation, Generation};

use crate::image::{Image, ImageHeader, LoadsIndex, Role};

/// How big the synthetic images are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SizeProfile {
    /// Close to the real files (loader ~130 kB, application ~700 kB), so
    /// rehearsals move realistic amounts of data.
    #[default]
    Real,
    /// A few kB each: for fast tests.
    Small,
}

impl SizeProfile {
    fn size(self, role: Role) -> usize {
        match (self, role) {
            (_, Role::Index) => 0,
            (SizeProfile::Real, Role::Loader) => 129_824,
            (SizeProfile::Real, Role::Application) => 705_536,
            (SizeProfile::Real, Role::Combined) => 835_000,
            (SizeProfile::Small, Role::Loader) => 1_500,
            (SizeProfile::Small, _) => 3_000,
        }
    }
}

/// A bundle in memory: the zip's name and its files, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub name: String,
    pub files: Vec<(String, Vec<u8>)>,
}

impl Bundle {
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("{protocol} {version} cannot be synthesized: {why}")]
    Unsupported {
        protocol: Protocol,
        version: Version,
        why: &'static str,
    },
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing the zip {path}: {source}")]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
}

/// The synthetic gkdefault version code of a release: major, minor and
/// maintenance number as two digits each, then `a`.
pub fn gk_code(version: Version) -> GkVersionCode {
    let s = format!(
        "{:02}{:02}{:02}a",
        version.major.min(99),
        version.minor.min(99),
        version.maint.unwrap_or(0).min(99)
    );
    GkVersionCode::new(&s).expect("six digits and a letter")
}

/// The `.sbin` name gkdefault's `upgradecode` uses for a release.
pub fn gk_image(protocol: Protocol, version: Version) -> GkImage {
    GkImage::new("7940", "080001", protocol, gk_code(version))
}

/// The gkdefault.txt a SIP 5.x/6.x bundle ships: one `upgradecode` line
/// naming the bundle's own image, as in the reference's step 4.
pub fn gkdefault_txt(protocol: Protocol, version: Version) -> String {
    let file = GkDefault::new(UpgradeCode::new(gk_image(protocol, version)));
    String::from_utf8(file.to_bytes()).expect("gkdefault.txt is ASCII")
}

fn filler(name: &str, len: usize) -> Vec<u8> {
    let seed = name.as_bytes();
    (0..len)
        .map(|i| seed[i % seed.len().max(1)].wrapping_add((i / 251) as u8))
        .collect()
}

fn image(
    role: Role,
    protocol: Protocol,
    version: Version,
    load: &str,
    size: SizeProfile,
) -> Vec<u8> {
    let payload = match role {
        Role::Index => Vec::new(),
        _ => filler(load, size.size(role)),
    };
    Image::new(
        ImageHeader {
            role,
            protocol,
            signed: signed(version),
            version,
            load: load.to_string(),
        },
        payload,
    )
    .to_bytes()
}

/// Images of 5.0 and later are signed; below that they are not (the
/// planner's no-downgrade floor).
pub fn signed(version: Version) -> bool {
    version >= phoneflip_plan::SIGNED_FLOOR
}

/// The universal loader's name for an application load.
pub fn loader_name(app: &LoadName) -> LoadName {
    if app.protocol() == Protocol::Sip {
        app.loader()
    } else {
        app.clone()
    }
}

/// The zip name the vendor would give this release.
pub fn bundle_name(protocol: Protocol, version: Version) -> String {
    match protocol {
        Protocol::Sip => format!("{}.zip", LoadName::canonical(protocol, version)),
        _ => {
            let mut v = format!(
                "{}-{}-{}",
                version.major,
                version.minor,
                version.maint.unwrap_or(0)
            );
            if let Some(sr) = version.sr {
                v.push_str(&format!("SR{sr}"));
            }
            format!("cmterm-7940-7960-{protocol}.{v}.zip")
        }
    }
}

/// Builds the bundle of one release.
pub fn synth(
    protocol: Protocol,
    version: Version,
    size: SizeProfile,
) -> Result<Bundle, SynthError> {
    let unsupported = |why: &'static str| SynthError::Unsupported {
        protocol,
        version,
        why,
    };
    if version.major == 0 || version.major > 99 {
        return Err(unsupported("7940/7960 loads have major versions 1 to 9"));
    }
    if protocol == Protocol::Sip
        && version.major < 3
        && (version.maint.is_some() || version.sr.is_some())
    {
        return Err(unsupported(
            "SIP 2.x and earlier versions are major.minor only (2.3)",
        ));
    }
    let app = LoadName::canonical(protocol, version);
    let mut files = Vec::new();
    match generation(protocol, version) {
        Generation::OriginalBoot => {
            let name = app.as_str();
            files.push((
                format!("{name}.bin"),
                image(Role::Combined, protocol, version, name, size),
            ));
            if protocol == Protocol::Sip {
                files.push(("OS79XX.TXT".to_string(), format!("{name}\n").into_bytes()));
                if version.major >= 5 {
                    files.push((
                        "gkdefault.txt".to_string(),
                        gkdefault_txt(protocol, version).into_bytes(),
                    ));
                }
            }
            if version.major >= 5 {
                files.push((
                    gk_image(protocol, version).to_string(),
                    image(Role::Combined, protocol, version, name, size),
                ));
            }
        }
        Generation::UniversalLoader => {
            let loader = loader_name(&app);
            let (a, l) = (app.as_str(), loader.as_str());
            let index = LoadsIndex {
                loader: l.to_string(),
                application: a.to_string(),
            };
            let loads = Image::new(
                ImageHeader {
                    role: Role::Index,
                    protocol,
                    signed: true,
                    version,
                    load: a.to_string(),
                },
                index.to_payload(),
            );
            files.push((format!("{a}.loads"), loads.to_bytes()));
            files.push((
                format!("{a}.sb2"),
                image(Role::Application, protocol, version, a, size),
            ));
            let mut unsigned_loader =
                Image::parse(&image(Role::Loader, protocol, version, l, size))
                    .expect("a fresh image parses");
            unsigned_loader.header.signed = false;
            files.push((format!("{l}.bin"), unsigned_loader.to_bytes()));
            files.push((
                format!("{l}.sbn"),
                image(Role::Loader, protocol, version, l, size),
            ));
            if protocol == Protocol::Sip {
                files.push(("OS79XX.TXT".to_string(), format!("{l}\n").into_bytes()));
            } else {
                files.push((
                    gk_image(protocol, version).to_string(),
                    image(Role::Loader, protocol, version, l, size),
                ));
            }
        }
    }
    Ok(Bundle {
        name: bundle_name(protocol, version),
        files,
    })
}

/// Writes the bundle as a zip into `dir`, returning the zip's path.
pub fn write_zip(bundle: &Bundle, dir: &Path) -> Result<PathBuf, SynthError> {
    let path = dir.join(&bundle.name);
    let io = |source| SynthError::Io {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(dir).map_err(io)?;
    let file = fs::File::create(&path).map_err(io)?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let zerr = |source| SynthError::Zip {
        path: path.clone(),
        source,
    };
    for (name, bytes) in &bundle.files {
        zip.start_file(name.as_str(), opts).map_err(zerr)?;
        zip.write_all(bytes).map_err(io)?;
    }
    zip.finish().map_err(zerr)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn names(b: &Bundle) -> Vec<&str> {
        b.files.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn sip_8_12_has_the_real_layout() {
        let b = synth(Protocol::Sip, v("8.12"), SizeProfile::Small).unwrap();
        assert_eq!(b.name, "P0S3-8-12-00.zip");
        assert_eq!(
            names(&b),
            [
                "P0S3-8-12-00.loads",
                "P0S3-8-12-00.sb2",
                "P003-8-12-00.bin",
                "P003-8-12-00.sbn",
                "OS79XX.TXT"
            ]
        );
        assert_eq!(b.file("OS79XX.TXT").unwrap(), b"P003-8-12-00\n");
        let ix = Image::parse(b.file("P0S3-8-12-00.loads").unwrap()).unwrap();
        assert_eq!(ix.header.role, Role::Index);
        let ix = LoadsIndex::from_payload(&ix.payload).unwrap();
        assert_eq!(
            (ix.loader.as_str(), ix.application.as_str()),
            ("P003-8-12-00", "P0S3-8-12-00")
        );
        let bin = Image::parse(b.file("P003-8-12-00.bin").unwrap()).unwrap();
        assert!(!bin.header.signed);
        let sbn = Image::parse(b.file("P003-8-12-00.sbn").unwrap()).unwrap();
        assert!(sbn.header.signed);
        assert_eq!(
            b.name
                .parse::<phoneflip_firmware::BundleName>()
                .unwrap()
                .version,
            v("8.12")
        );
    }

    #[test]
    fn sccp_and_pre_loader_layouts() {
        let b = synth(Protocol::Sccp, v("8.1(2)SR2"), SizeProfile::Small).unwrap();
        assert_eq!(b.name, "cmterm-7940-7960-sccp.8-1-2SR2.zip");
        let n = names(&b);
        for f in [
            "P0030801SR02.loads",
            "P0030801SR02.sb2",
            "P0030801SR02.bin",
            "P0030801SR02.sbn",
        ] {
            assert!(n.contains(&f), "{f} in {n:?}");
        }
        let parsed: phoneflip_firmware::BundleName = b.name.parse().unwrap();
        assert_eq!(parsed.protocol, Protocol::Sccp);

        let b = synth(Protocol::Sip, v("2.3"), SizeProfile::Small).unwrap();
        assert_eq!(names(&b), ["POS30203.bin", "OS79XX.TXT"]);
        let img = Image::parse(b.file("POS30203.bin").unwrap()).unwrap();
        assert_eq!(
            (img.header.role, img.header.signed),
            (Role::Combined, false)
        );

        let b = synth(Protocol::Sccp, v("3.3"), SizeProfile::Small).unwrap();
        assert_eq!(names(&b), ["P00303030000.bin"]);

        let b = synth(Protocol::Sip, v("6.4"), SizeProfile::Small).unwrap();
        let n = names(&b);
        assert!(
            n.contains(&"gkdefault.txt") && n.contains(&"CP7940080001SIP060400A.sbin"),
            "{n:?}"
        );
        let gk = GkDefault::parse("gkdefault.txt", b.file("gkdefault.txt").unwrap()).unwrap();
        assert_eq!(
            gk.upgrade().unwrap().image.to_string(),
            "CP7940080001SIP060400A.sbin"
        );
    }
}

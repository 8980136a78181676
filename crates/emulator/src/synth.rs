//! Synthetic firmware bundles with the vendor's file names and layout, and
//! importing a bundle into a TFTP root.
//!
//! Layout per generation (see [`crate::Generation`]):
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
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use phoneflip_firmware::{GkImage, GkVersionCode, LoadName, Protocol, Version};

use crate::image::{Image, ImageError, ImageHeader, LoadsIndex, Role};
use crate::Generation;

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
        why: String,
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
    format!(
        "#txt\nupgradecode:3,0x601,0x0400,0x0100,0.0.0.0,69,{},{}\n",
        gk_code(version),
        gk_image(protocol, version)
    )
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
    let unsupported = |why: &str| SynthError::Unsupported {
        protocol,
        version,
        why: why.to_string(),
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
    match Generation::of(protocol, version) {
        Generation::PreLoader => {
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
        Generation::Universal => {
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

/// Something the loader will need that the root lacks or cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{needed} is missing from the TFTP root: {why}")]
    Missing { needed: String, why: String },
    #[error("{file} is corrupted ({error}); re-extract it from the vendor zip in binary mode")]
    Corrupt { file: String, error: ImageError },
}

/// What [`import`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub written: Vec<String>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a readable zip: {source}")]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error("{path} holds the entry {entry:?}, which is not a plain file name; the phones only read files at the top of the TFTP root, so phoneflip refuses folders and .. in a bundle")]
    UnsafeEntry { path: PathBuf, entry: String },
}

/// Unzips a bundle into the TFTP root and checks that every piece the
/// loader needs is there and intact. Problems are reported, not raised:
/// the files are written either way, so the user can see and fix them.
pub fn import(zip_path: &Path, root: &Path) -> Result<ImportReport, ImportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Io { path, source }
    };
    let file = fs::File::open(zip_path).map_err(io(zip_path))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|source| ImportError::Zip {
        path: zip_path.to_path_buf(),
        source,
    })?;
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let mut e = archive.by_index(i).map_err(|source| ImportError::Zip {
            path: zip_path.to_path_buf(),
            source,
        })?;
        if e.is_dir() {
            continue;
        }
        let name = e.name().to_string();
        if name.is_empty()
            || name.contains(['/', '\\'])
            || name.starts_with('.')
            || name.contains("..")
        {
            return Err(ImportError::UnsafeEntry {
                path: zip_path.to_path_buf(),
                entry: name,
            });
        }
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).map_err(io(zip_path))?;
        entries.push((name, bytes));
    }
    fs::create_dir_all(root).map_err(io(root))?;
    let mut written = Vec::new();
    for (name, bytes) in &entries {
        let dest = root.join(name);
        fs::write(&dest, bytes).map_err(io(&dest))?;
        written.push(name.clone());
    }
    let names: Vec<String> = entries.iter().map(|(n, _)| n.clone()).collect();
    let problems = check_root(root, &names);
    Ok(ImportReport { written, problems })
}

/// Checks, for the given files of a root, that each piece they lead the
/// loader to is present and intact.
pub fn check_root(root: &Path, names: &[String]) -> Vec<Problem> {
    let read = |n: &str| fs::read(root.join(n)).ok();
    let mut problems = Vec::new();
    let need = |needed: String, why: String, problems: &mut Vec<Problem>| {
        if !root.join(&needed).is_file() {
            problems.push(Problem::Missing { needed, why });
        }
    };
    for name in names {
        let Some(bytes) = read(name) else { continue };
        let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        if matches!(ext, "bin" | "sbn" | "sb2" | "loads" | "sbin") {
            match Image::parse(&bytes) {
                Err(error) => problems.push(Problem::Corrupt {
                    file: name.clone(),
                    error,
                }),
                Ok(img) if ext == "loads" => match LoadsIndex::from_payload(&img.payload) {
                    Ok(ix) => {
                        for (file, what) in [
                            (format!("{}.sb2", ix.application), "the application image"),
                            (
                                format!("{}.sbn", ix.loader),
                                "the signed loader, for phones on 5.x or later",
                            ),
                            (
                                format!("{}.bin", ix.loader),
                                "the unsigned loader, for phones below 5.x",
                            ),
                        ] {
                            need(
                                file,
                                format!("{name} names it as {what}; without it the phone shows \"Protocol Application Invalid\" (extract the whole vendor zip)"),
                                &mut problems,
                            );
                        }
                    }
                    Err(error) => problems.push(Problem::Corrupt {
                        file: name.clone(),
                        error,
                    }),
                },
                Ok(_) => {}
            }
        } else if name == "OS79XX.TXT" {
            if let Ok(image) = crate::cfgread::os79xx(&bytes) {
                if !root.join(format!("{image}.bin")).is_file()
                    && !root.join(format!("{image}.sbn")).is_file()
                {
                    need(
                        format!("{image}.bin"),
                        "OS79XX.TXT names it; phones on pre-loader loads fetch it first"
                            .to_string(),
                        &mut problems,
                    );
                }
            }
        } else if name == "gkdefault.txt" {
            if let Some((_, image)) = crate::cfgread::gk_upgradecode(&bytes) {
                need(
                    image,
                    "gkdefault.txt's upgradecode names it".to_string(),
                    &mut problems,
                );
            }
        }
    }
    problems
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
        assert_eq!(
            crate::cfgread::gk_upgradecode(b.file("gkdefault.txt").unwrap())
                .unwrap()
                .1,
            "CP7940080001SIP060400A.sbin"
        );
    }

    #[test]
    fn import_checks_every_piece() {
        let dir = tempfile::tempdir().unwrap();
        let b = synth(Protocol::Sip, v("8.12"), SizeProfile::Small).unwrap();
        let zip = write_zip(&b, dir.path()).unwrap();
        let root = dir.path().join("root");
        let r = import(&zip, &root).unwrap();
        assert_eq!(r.written.len(), 5);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(
            fs::read(root.join("P0S3-8-12-00.sb2")).unwrap(),
            b.file("P0S3-8-12-00.sb2").unwrap()
        );

        // A bundle without its application: the loader would fail.
        let mut partial = b.clone();
        partial.files.retain(|(n, _)| n != "P0S3-8-12-00.sb2");
        partial.name = "P0S3-8-12-00-partial.zip".into();
        let zip = write_zip(&partial, dir.path()).unwrap();
        let root2 = dir.path().join("root2");
        let r = import(&zip, &root2).unwrap();
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        let msg = r.problems[0].to_string();
        assert!(
            msg.contains("P0S3-8-12-00.sb2") && msg.contains("Protocol Application Invalid"),
            "{msg}"
        );

        // A corrupted image is named.
        let mut bad = b.clone();
        bad.files[1].1[100] ^= 1;
        bad.name = "bad.zip".into();
        let zip = write_zip(&bad, dir.path()).unwrap();
        let r = import(&zip, &dir.path().join("root3")).unwrap();
        assert!(
            matches!(&r.problems[0], Problem::Corrupt { file, .. } if file == "P0S3-8-12-00.sb2")
        );
    }

    #[test]
    fn import_refuses_paths() {
        let dir = tempfile::tempdir().unwrap();
        let b = Bundle {
            name: "evil.zip".into(),
            files: vec![("../x.bin".into(), vec![1])],
        };
        let zip = write_zip(&b, dir.path()).unwrap();
        let e = import(&zip, &dir.path().join("root")).unwrap_err();
        assert!(e.to_string().contains("../x.bin"), "{e}");
    }
}

//! What can be checked of a bundle before it reaches the root, without
//! pretending to understand Cisco's images: names, completeness of each
//! release by the planner's file list, plausible sizes, and the control
//! files' references. Vendor images are opaque bytes; only files that
//! carry phoneflip's synthetic magic are decoded (and must then be intact).

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use phoneflip_config::{GkDefault, ImageRef, Os79xx};
use phoneflip_firmware::{GkImage, GkImageError, ImageFile, ImageKind, LoadNameError};
use phoneflip_plan::release_files;
use phoneflip_plan::rules::{generation, Generation};

use crate::image::{Image, ImageError, LoadsIndex, Role, MAGIC};
use crate::source::Entry;

/// Something that would make phones fail if the bundle were imported:
/// each one refuses the import.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{needed} is missing (neither in the bundle nor in the TFTP root): {why}")]
    Missing { needed: String, why: String },
    #[error("{file} is corrupted ({error}); re-extract it from the vendor zip in binary mode")]
    Corrupt { file: String, error: ImageError },
    #[error("{file} is empty; re-extract it from the vendor zip in binary mode")]
    Empty { file: String },
    #[error("{file} is {bytes} bytes, but a real {what} is {} to {} bytes; it was truncated, or is not what its name says", expected.start(), expected.end())]
    ImplausibleSize {
        file: String,
        bytes: u64,
        what: &'static str,
        expected: RangeInclusive<u64>,
    },
    #[error("{file} has a firmware extension but is not a 7940/7960 image name: {error}")]
    NotAnImageName { file: String, error: LoadNameError },
    #[error("{file} has the .sbin extension but is not a gkdefault image name: {error}")]
    NotAGkImageName { file: String, error: GkImageError },
}

/// Whether a file is one of phoneflip's synthetic images.
pub fn is_synthetic(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The sizes a real vendor file of this kind has (a real SCCP 8.0(5): .bin
/// 129,824 B, .loads 458 B, .sb2 705,536 B, .sbn 130,228 B), with a wide
/// margin either side.
fn plausible(kind: ImageKind) -> (&'static str, RangeInclusive<u64>) {
    match kind {
        ImageKind::Loads => (".loads index", 64..=64 << 10),
        ImageKind::Sb2 => (".sb2 application image", 100 << 10..=16 << 20),
        ImageKind::Bin => (".bin image", 32 << 10..=16 << 20),
        ImageKind::Sbn => (".sbn loader", 32 << 10..=16 << 20),
    }
}

const SBIN: (&str, RangeInclusive<u64>) = (".sbin image", 32 << 10..=16 << 20);

fn extension(name: &str) -> Option<String> {
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())
}

/// Checks `entries` as they would sit in a root that already holds
/// `in_root` (names). Problems come in the bundle's order.
pub fn check(entries: &[Entry], in_root: &BTreeSet<String>) -> Vec<Problem> {
    let present = |n: &str| in_root.contains(n) || entries.iter().any(|e| e.name == n);
    let mut problems = Vec::new();
    let need = |needed: String, why: String, problems: &mut Vec<Problem>| {
        let dup = problems
            .iter()
            .any(|p| matches!(p, Problem::Missing { needed: n, .. } if *n == needed));
        if !present(&needed) && !dup {
            problems.push(Problem::Missing { needed, why });
        }
    };
    for Entry { name, bytes } in entries {
        let file = || name.clone();
        let synthetic = is_synthetic(bytes);
        match extension(name).as_deref() {
            Some("bin" | "sbn" | "sb2" | "loads") => {
                let image: ImageFile = match name.parse() {
                    Ok(i) => i,
                    Err(error) => {
                        problems.push(Problem::NotAnImageName {
                            file: file(),
                            error,
                        });
                        continue;
                    }
                };
                if let Some(p) = image_problem(name, bytes.len() as u64, synthetic.then_some(bytes))
                {
                    problems.push(p);
                    continue;
                }
                let load = &image.load;
                let anchors_release = matches!(image.kind, ImageKind::Loads | ImageKind::Sb2)
                    || (!load.is_universal_loader()
                        && generation(load.protocol(), load.version())
                            == Generation::UniversalLoader);
                if anchors_release {
                    for needed in release_files(load) {
                        let why = format!(
                            "{} {load} is made of {}; without it the phone shows \"Protocol Application Invalid\" (extract the whole vendor zip)",
                            load.protocol(),
                            release_files(load).join(", ")
                        );
                        need(needed, why, &mut problems);
                    }
                }
            }
            Some("sbin") => {
                if let Err(error) = name.parse::<GkImage>() {
                    problems.push(Problem::NotAGkImageName {
                        file: file(),
                        error,
                    });
                } else if let Some(p) =
                    image_problem(name, bytes.len() as u64, synthetic.then_some(bytes))
                {
                    problems.push(p);
                }
            }
            _ if name == "OS79XX.TXT" => {
                if bytes.is_empty() {
                    problems.push(Problem::Empty { file: file() });
                } else if let Ok(os) = Os79xx::parse(bytes) {
                    let image = os.image.as_str();
                    if !present(&format!("{image}.bin")) && !present(&format!("{image}.sbn")) {
                        let why = match os.image {
                            ImageRef::Load(_) => "OS79XX.TXT names it; phones on pre-loader loads fetch it first",
                            ImageRef::Alias(_) => "OS79XX.TXT names this 8.3 alias; SIP 2.1 and earlier fetch it first",
                        };
                        need(format!("{image}.bin"), why.to_string(), &mut problems);
                    }
                }
            }
            _ if name == "gkdefault.txt" => {
                if let Some(up) = GkDefault::parse(name, bytes)
                    .ok()
                    .and_then(|g| g.upgrade().cloned())
                {
                    need(
                        up.image.to_string(),
                        "gkdefault.txt's upgradecode names it".to_string(),
                        &mut problems,
                    );
                }
            }
            _ => {}
        }
    }
    problems
}

/// What is wrong with one image file on its own (`.bin`, `.sbn`, `.sb2`,
/// `.loads`, `.sbin`), from what can be known of it: a synthetic image
/// (`synthetic`, its whole bytes) must decode, its checksum standing for
/// the signature; a vendor image is opaque, so only a size no real image
/// of its kind has says it was cut short. `None` for a name that is not an
/// image's, and for an image with nothing wrong.
pub fn image_problem(name: &str, size: u64, synthetic: Option<&[u8]>) -> Option<Problem> {
    let range = match extension(name).as_deref() {
        Some("sbin") => SBIN,
        Some("bin" | "sbn" | "sb2" | "loads") => plausible(name.parse::<ImageFile>().ok()?.kind),
        _ => return None,
    };
    match synthetic {
        Some(bytes) => check_synthetic(bytes).err().map(|error| Problem::Corrupt {
            file: name.to_string(),
            error,
        }),
        None => size_problem(name, size, range),
    }
}

fn size_problem(
    name: &str,
    bytes: u64,
    (what, expected): (&'static str, RangeInclusive<u64>),
) -> Option<Problem> {
    if bytes == 0 {
        Some(Problem::Empty {
            file: name.to_string(),
        })
    } else if !expected.contains(&bytes) {
        Some(Problem::ImplausibleSize {
            file: name.to_string(),
            bytes,
            what,
            expected,
        })
    } else {
        None
    }
}

/// A synthetic image must decode, and a synthetic `.loads` must name its
/// loader and application.
fn check_synthetic(bytes: &[u8]) -> Result<(), ImageError> {
    let img = Image::parse(bytes)?;
    if img.header.role == Role::Index {
        LoadsIndex::from_payload(&img.payload)?;
    }
    Ok(())
}
